"""What a dry run (or an apply) says about a file: per row create | update | unchanged | error, with the columns an
update changes, and every problem; as lines of text for the command line."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from .columns import BY_NAME
from .rows import Problem

ACTIONS = ("create", "update", "unchanged", "error")


class RowResult(NamedTuple):
    row: int
    action: str  # create | update | unchanged | error
    external_id: str
    organization: str
    changes: tuple[str, ...] = ()  # canonical columns whose stored value the row changes


@dataclass
class ImportPlan:
    filename: str
    region_code: str
    rows: list[RowResult]
    problems: list[Problem]
    empty_rows: int = 0
    change_set: int | None = None  # the history's change set, once applied
    writes: object = field(default=None, repr=False, compare=False)
    headers: dict[str, str] = field(default_factory=dict)  # canonical column -> the file's own header

    def changed_columns(self, row: RowResult) -> list[str]:
        """The columns an update changes, named as the file names them (the template's header otherwise)."""
        columns = ("location_external_id" if c == "location" else c for c in row.changes)  # a service moved
        return [self.headers.get(c) or (BY_NAME[c].header if c in BY_NAME else c) for c in columns]

    def problem_kinds(self) -> list[dict]:
        """The row problems grouped by kind and column, errors first, then the most frequent: how many rows, their
        numbers and the first one's problem as an example — what a curator reads first in a long file."""
        groups: dict[tuple, dict] = {}
        for p in sorted((p for p in self.problems if p.row is not None), key=lambda p: p.row):
            group = groups.setdefault((p.code, p.column), {"column": p.column, "blocking": p.blocking, "rows": [],
                                                           "example": p})
            if not group["rows"] or group["rows"][-1] != p.row:
                group["rows"].append(p.row)
        return sorted(groups.values(), key=lambda g: (not g["blocking"], -len(g["rows"]), g["rows"][0]))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.blocking]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.blocking]

    @property
    def ok(self) -> bool:
        """May be applied: no problem that blocks."""
        return not self.errors

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(r.action for r in self.rows)
        return {action: counted.get(action, 0) for action in ACTIONS}

    def problems_of(self, row: int) -> list[Problem]:
        return [p for p in self.problems if p.row == row]

    def report(self) -> list[str]:
        """The plan as lines of text, for the command line."""
        counts = self.counts
        lines = [f"{self.filename} → {self.region_code}: создать {counts['create']}, обновить {counts['update']}, "
                 f"без изменений {counts['unchanged']}, с ошибками {counts['error']}"
                 + (f", пустых строк пропущено {self.empty_rows}" if self.empty_rows else "")]
        by_row: dict[int | None, list[Problem]] = {}
        for p in self.problems:
            by_row.setdefault(p.row, []).append(p)
        for p in by_row.pop(None, []):
            lines.append(f"  файл: {p.message}")
        for r in self.rows:
            if r.action in ("create", "update") or r.row in by_row:
                detail = f" ({', '.join(self.changed_columns(r))})" if r.action == "update" and r.changes else ""
                lines.append(f"  строка {r.row}: {r.action}{detail} {r.external_id} {r.organization}".rstrip())
            for p in by_row.pop(r.row, []):
                mark = "ошибка" if p.blocking else "внимание"
                lines.append(f"    {mark} [{p.column or '-'}] {p.code}: {p.message}")
        for row in sorted(k for k in by_row if k is not None):
            for p in by_row[row]:
                lines.append(f"  строка {row}: {'ошибка' if p.blocking else 'внимание'} [{p.column or '-'}] "
                             f"{p.code}: {p.message}")
        return lines
