"""The tree's own rules (issue 20), read from the source: SQL only in the data layer, permission decisions only in
the rulebook, one definition of each limit, no function too long to read in one sitting.

These read the code as Python syntax trees (not by running it): a rule broken anywhere names the file and line."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "resourcemap"
# Where SQL may be written: the data layer, the migrations (the schema) and the models (column defaults in DDL).
SQL_HOMES = (PACKAGE / "data", PACKAGE / "migrations", PACKAGE / "models")
SQL_START = re.compile(r"^\s*\(?\s*(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|WITH \w+ AS|CREATE |ALTER |DROP |"
                       r"TRUNCATE|ANALYZE|VACUUM|COPY |LOCK TABLE|SET (LOCAL|SESSION|ROLE)|RESET |NOTIFY |LISTEN )")
ROLES = {"admin", "curator", "dispatcher"}
MAX_FUNCTION_LINES = 60


def _modules(*roots: Path, skip: tuple[Path, ...] = ()) -> list[Path]:
    files = [p for root in roots for p in sorted(root.rglob("*.py"))]
    return [p for p in files if not any(p.is_relative_to(s) for s in skip)]


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the string constants that are docstrings (prose, not SQL)."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno}"


def sql_outside_the_data_layer(files: list[Path]) -> list[str]:
    """Each place outside the SQL homes that sends or writes SQL: sqlalchemy's text(), exec_driver_sql, a raw
    execute of a string, or a string constant that starts like a statement."""
    found = []
    for path in files:
        tree = _tree(path)
        prose = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "sqlalchemy" and any(
                    alias.name == "text" for alias in node.names):
                found.append(f"{_where(path, node)} imports sqlalchemy.text")
            elif isinstance(node, ast.Attribute) and node.attr == "exec_driver_sql":
                found.append(f"{_where(path, node)} calls exec_driver_sql")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
                    "execute", "executemany") and node.args and isinstance(node.args[0], (ast.Constant, ast.JoinedStr)):
                found.append(f"{_where(path, node)} executes a SQL string")
            elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose
                  and SQL_START.match(node.value)):
                found.append(f"{_where(path, node)} writes SQL: {node.value.strip()[:60]!r}")
    return found


def test_no_sql_outside_the_data_layer():
    files = _modules(PACKAGE, skip=SQL_HOMES)
    assert sql_outside_the_data_layer(files) == []


def test_the_sql_finder_finds_sql():
    """The rule above can fail: the data layer itself is full of what it looks for."""
    found = sql_outside_the_data_layer(_modules(PACKAGE / "data"))
    assert any("imports sqlalchemy.text" in f for f in found)
    assert any("writes SQL" in f for f in found)


def _role_names(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Constant) and node.value in ROLES:
        return {node.value}
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return set().union(*(_role_names(e) for e in node.elts)) if node.elts else set()
    return set()


def permission_decisions(files: list[Path]) -> list[str]:
    """Each comparison with a role's name (`role == "curator"`, `role in ("admin", "curator")`) and each role tuple
    bound to a name: the shapes a permission decision takes."""
    found = []
    for path in files:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Compare) and any(_role_names(c) for c in [node.left, *node.comparators]):
                found.append(f"{_where(path, node)} compares a role")
            elif isinstance(node, ast.Assign) and len(_role_names(node.value)) >= 2:
                found.append(f"{_where(path, node)} lists roles")
    return found


def test_permission_decisions_only_in_the_rulebook():
    rulebook = PACKAGE / "auth" / "policy.py"
    others = _modules(PACKAGE, skip=(rulebook, PACKAGE / "migrations"))
    assert permission_decisions(others) == []
    assert permission_decisions([rulebook]), "the rulebook itself decides by role: the finder must see it"


LIMIT_LITERALS = {216: "the oldest age in months (18 years)", 2**31 - 1: "the largest id (PostgreSQL integer)"}


def limit_literals(files: list[Path]) -> list[str]:
    found = []
    for path in files:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Constant) and type(node.value) is int and node.value in LIMIT_LITERALS:
                found.append(f"{_where(path, node)} {LIMIT_LITERALS[node.value]}")
            elif (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and isinstance(node.left, ast.Constant)
                  and node.left.value == 2 and isinstance(node.right, ast.Constant) and node.right.value == 31):
                found.append(f"{_where(path, node)} 2**31")
    return found


def test_each_limit_defined_once():
    limits = PACKAGE / "limits.py"
    assert limit_literals(_modules(PACKAGE, skip=(limits, PACKAGE / "migrations"))) == []
    assert len(limit_literals([limits])) >= len(LIMIT_LITERALS)


def long_functions(files: list[Path], most: int = MAX_FUNCTION_LINES) -> list[str]:
    found = []
    for path in files:
        for node in ast.walk(_tree(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > most:
                    found.append(f"{_where(path, node)} {node.name}: {lines} lines")
    return found


def test_no_function_over_sixty_lines():
    """Outside scripts/ and bench/ (one-off tools), and the region build in scripts/ too: it is split into steps."""
    files = _modules(PACKAGE, ROOT / "tests", skip=(PACKAGE / "migrations",)) + [ROOT / "scripts" / "build_regions.py"]
    assert long_functions(files) == []
