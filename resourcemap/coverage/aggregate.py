"""The figures of one kind of help per group (the whole country, a region, a district) from its measured
settlements (data/coverage.py `measured`): settlements, people and children, those beyond each threshold, and the
median and 90th-percentile distance per child.

Why here and not in SQL: every read of the figures and every keeping of them (after each drain) needs all three
levels for the whole country, for the public's distances and the staff's. In SQL that was six scans of the kind's
167,000 settlements with a sort per level (≈ 3 s per set of figures at the census' size); here it is one fetch of
the rows and a sort per level in NumPy (docs/benchmarks.md, issue 21).

The groups: a district crossed by a region border is one group per region it lies in (so that a region's districts
add up to the region); where a region has no district outlines (Якутия, Красноярский край) the census' municipality
stands for the district. A settlement with no such help in its country counts as beyond every threshold.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The columns of data.measured and the key of each level (column names).
COLUMNS = ("id", "country", "region_code", "district_id", "municipality", "distance_m", "public_distance_m",
           "people", "children", "children_unknown")
LEVELS = {"country": ("country",), "region": ("country", "region_code"),
          "district": ("country", "region_code", "district_id", "municipality")}


@dataclass
class Settlements:
    """The measured settlements as columns; `d`: the distance the figures are of (inf: no such help)."""

    keys: dict[str, list]
    ids: np.ndarray
    d: np.ndarray
    people: np.ndarray
    children: np.ndarray
    unknown: np.ndarray

    @classmethod
    def of(cls, rows: list[tuple], public: bool) -> Settlements:
        cols = list(zip(*rows)) if rows else [()] * len(COLUMNS)
        by = dict(zip(COLUMNS, cols))
        distance = by["public_distance_m" if public else "distance_m"]
        return cls(keys={k: list(by[k]) for k in ("country", "region_code", "district_id", "municipality")},
                   ids=np.array(by["id"], dtype=np.int64),
                   d=np.array([np.inf if v is None else v for v in distance], dtype=np.float64),
                   people=np.array(by["people"], dtype=np.int64),
                   children=np.array(by["children"], dtype=np.int64),
                   unknown=np.array(by["children_unknown"], dtype=bool))

    def where(self, mask: np.ndarray) -> Settlements:
        return Settlements(keys={k: [v for v, m in zip(vs, mask) if m] for k, vs in self.keys.items()},
                           ids=self.ids[mask], d=self.d[mask], people=self.people[mask],
                           children=self.children[mask], unknown=self.unknown[mask])


def key_order(key: tuple) -> tuple:
    """Keys in SQL's order: ascending, NULLs last."""
    return tuple((value is None, value if value is not None else 0) for value in key)


def _percentile(d: np.ndarray, children: np.ndarray, num: int, den: int) -> float | None:
    """The smallest distance within which at least num/den of the children live, `d` and `children` in order of
    distance (inf: that share lives beyond any such help; None: no children)."""
    total = int(children.sum())
    if total == 0:
        return None
    cum = np.cumsum(children)
    return float(d[int(np.argmax(cum * den >= total * num))])


def groups(st: Settlements, level: str, thresholds_m: list[float]) -> list[dict]:
    """Per group of `level`, in key order: its key columns, settlements, people, children, children_unknown,
    without_any, median_m, p90_m and `beyond` {threshold_m: {settlements, people, children}}."""
    names = LEVELS[level]
    keys = list(zip(*(st.keys[n] for n in names))) if len(st.ids) else []
    index: dict[tuple, int] = {}
    gid = np.fromiter((index.setdefault(k, len(index)) for k in keys), dtype=np.int64, count=len(keys))
    n = len(index)
    order = np.lexsort((st.ids, st.d, gid))  # by group, then distance (inf last), then id
    bounds = np.searchsorted(gid[order], np.arange(n + 1))
    count = np.bincount(gid, minlength=n)
    people = np.bincount(gid, weights=st.people, minlength=n)
    children = np.bincount(gid, weights=st.children, minlength=n)
    unknown = np.bincount(gid, weights=st.unknown, minlength=n)
    without = np.bincount(gid, weights=np.isinf(st.d), minlength=n)
    beyond = {}
    for t in thresholds_m:
        far = st.d > t
        beyond[t] = (np.bincount(gid, weights=far, minlength=n), np.bincount(gid, weights=far * st.people, minlength=n),
                     np.bincount(gid, weights=far * st.children, minlength=n))
    out = []
    for key, g in sorted(index.items(), key=lambda item: key_order(item[0])):
        rows = order[bounds[g]:bounds[g + 1]]
        d, kids = st.d[rows], st.children[rows]
        out.append({**dict(zip(names, key)), "settlements": int(count[g]), "people": int(people[g]),
                    "children": int(children[g]), "children_unknown": int(unknown[g]),
                    "without_any": int(without[g]),
                    "median_m": _percentile(d, kids, 1, 2), "p90_m": _percentile(d, kids, 9, 10),
                    "beyond": {t: {"settlements": int(b[0][g]), "people": int(b[1][g]), "children": int(b[2][g])}
                               for t, b in beyond.items()}})
    return out
