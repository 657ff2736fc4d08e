"""Where help is missing: how far each settlement is from the nearest published help of each kind, and the figures
per country, region and district counted in settlements, people and children (issue 21).

The distances are kept by the database and data/coverage.py (migration 0021; how they are computed and kept fresh
is written there). This module runs the refreshes and puts the figures together.

What the public may be shown (`public=True`): aggregates per district, region and country only — never a
settlement's distance — computed from the public's distances (`coverage.public_distance_m`), where a confidential
place stands at its public point (migration 0015), the only point of it the public may know: no count beyond a
threshold, no median, no order rests on its exact point. The distances per child are further rounded to
PUBLIC_ROUND_KM. Staff answers are computed from the exact points, carry distances to 0.1 km and the
worst-served settlements.
"""
from __future__ import annotations

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Engine

from ..data import coverage as data
from . import aggregate

DEFAULT_THRESHOLDS_KM = (30.0, 60.0, 100.0)
DEFAULT_SET = frozenset(DEFAULT_THRESHOLDS_KM)
UNSERVED_KM = 60.0        # the worst-served: the largest settlements with nothing within this distance
PUBLIC_ROUND_KM = 5.0     # the public's distances per child: to this step (the confidential cell, 0015)
STAFF_ROUND_KM = 0.1


def refresh(engine: Engine, kinds: list[str] | None = None, region: str | None = None,
            workers: int = 1) -> dict[str, int]:
    """Compute the kinds (all when None) for every settlement (of `region` only when given), each kind in a
    transaction of its own, `workers` kinds at a time; the settlements measured per kind."""
    with engine.connect() as conn:
        codes = kinds or data.kinds(conn)

    def one(code: str) -> int:
        with engine.begin() as conn:
            return data.refresh_kind(conn, code, region)

    def one_kept(code: str) -> int:
        measured = one(code)
        if region is None:
            keep_figures(engine, code)
        return measured

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return dict(zip(codes, pool.map(one_kept, codes)))


def bring_up_to_date(engine: Engine, kinds: list[str] | None = None, wait: bool = True) -> data.Drained | None:
    """Apply the edits noted since the last refresh (to `kinds` only, when given): first the kinds to compute in
    full, each in a transaction of its own (so that, on the first start, each kind's figures appear as soon as it
    is done), then the rest in one transaction (None without `wait` when another one is at it); then keep the
    figures of the kinds it changed."""
    with engine.connect() as conn:
        whole = data.whole_waiting(conn, kinds)
    if whole:
        refresh(engine, whole)
    with engine.begin() as conn:
        drained = data.refresh_pending(conn, kinds=kinds, wait=wait)
    for code in sorted({*drained["full"], *drained["measured"]}) if drained else ():
        keep_figures(engine, code)
    if drained is not None:
        drained["full"] = whole + [code for code in drained["full"] if code not in whole]
    return drained


def keep_figures(engine: Engine, code: str) -> None:
    """Compute the figures of kind `code` for every region at the default thresholds, as the public and as staff
    see them, in one snapshot with the version they are valid for, and keep them (data.store_figures): reads at
    those thresholds are then one row."""
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        at = data.version(conn, code)
        if at is None:
            return
        bodies = _compute(conn, code, None, list(DEFAULT_THRESHOLDS_KM), (True, False))
        conn.rollback()
    with engine.begin() as conn:
        for public, body in bodies.items():
            data.store_figures(conn, code, public, at, json.dumps(plain(body)))


def plain(value):
    """Figures as JSON has them: times as ISO 8601 (the rest are numbers, text and None already)."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value.isoformat() if hasattr(value, "isoformat") else value


def watch(engine: Engine, kinds: list[str] | None = None, *, rounds: int | None = None, idle_s: float = 60.0,
          settle_s: float = 0.2, echo=None) -> None:
    """Keep the figures (of `kinds` only, when given) fresh: apply what is waiting, then again after each commit
    that noted edits (the triggers' NOTIFY, delivered at commit; a burst of edits is applied together after
    `settle_s`), and every `idle_s` in any case. `rounds`: stop after that many (None: never)."""
    listener = data.listen(engine)
    try:
        done = 0
        while rounds is None or done < rounds:
            drained = bring_up_to_date(engine, kinds)
            done += 1
            if echo and drained["notes"]:
                echo(f"{drained['notes']} edits applied; in full: {', '.join(drained['full']) or 'none'}; "
                     f"settlements measured again: {sum(drained['measured'].values())}")
            if rounds is not None and done >= rounds:
                break
            for _ in listener.notifies(timeout=idle_s, stop_after=1):
                time.sleep(settle_s)
            for _ in listener.notifies(timeout=0.001):
                pass  # the burst's other notifications: this round applies their edits too
    finally:
        listener.close()


def _km(metres: float | None, step_km: float) -> float | str | None:
    """A distance in km to `step_km`; 'none' for no such help in the country (Infinity); None for nothing."""
    if metres is None:
        return None
    if math.isinf(metres):
        return "none"
    return round(round(metres / 1000.0 / step_km) * step_km, 1)


@dataclass
class Figures:
    """The figures of one kind of help: per country, region and district (groups of aggregate.LEVELS), with the
    settlements, people and children beyond each threshold; the worst-served settlements (staff only); when the
    figures were computed and how many edits wait."""

    service: str
    region: str | None
    thresholds_km: list[float]
    public: bool
    country: list[dict] = field(default_factory=list)
    regions: list[dict] = field(default_factory=list)
    districts: list[dict] = field(default_factory=list)
    unserved: list[dict] = field(default_factory=list)
    state: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"service": self.service, "region": self.region, "thresholds_km": self.thresholds_km,
                "public": self.public, "state": self.state, "country": self.country, "regions": self.regions,
                "districts": self.districts, "unserved": self.unserved}


def _rounded(groups: list[dict], thresholds_km: list[float], public: bool) -> list[dict]:
    """Groups of aggregate.groups as the figures give them: distances in km to the viewer's step, thresholds by
    their number of km."""
    step_km = PUBLIC_ROUND_KM if public else STAFF_ROUND_KM
    out = []
    for group in groups:
        group = dict(group)
        group["median_km"], group["p90_km"] = _km(group.pop("median_m"), step_km), _km(group.pop("p90_m"), step_km)
        group["beyond"] = {f"{t:g}": group["beyond"][t * 1000.0] for t in thresholds_km}
        out.append(group)
    return out


def _compute(conn, code: str, region: str | None, thresholds: list[float], publics=(False,)) -> dict[bool, dict]:
    """Per public (True) or staff (False) view: the groups of every level (the whole country's; of `region` and
    its districts, or all) with their names, from one read of the kind's measured settlements."""
    rows = data.measured(conn, code)
    metres = [t * 1000.0 for t in thresholds]
    names = data.region_names(conn)
    bodies = {}
    for public in publics:
        everywhere = aggregate.Settlements.of(rows, public)
        local = everywhere if region is None else everywhere.where(
            np.array([code_ == region for code_ in everywhere.keys["region_code"]], dtype=bool))
        bodies[public] = {level: _rounded(aggregate.groups(st, key, metres), thresholds, public)
                          for level, key, st in (("country", "country", everywhere), ("regions", "region", local),
                                                 ("districts", "district", local))}
    districts = data.district_names(conn, sorted({g["district_id"] for body in bodies.values()
                                                  for g in body["districts"] if g["district_id"]}))
    for body in bodies.values():
        for group in body["regions"] + body["districts"]:
            group["region_name"] = names.get(group["region_code"], "")
        for group in body["districts"]:
            group["district_name"] = districts.get(group["district_id"]) or group["municipality"] or ""
    return bodies


def _at_thresholds(kept: dict, thresholds: list[float]) -> dict:
    """The figures kept (the default thresholds) with only `thresholds` (some of them), as _compute gives them."""
    keys = [f"{t:g}" for t in thresholds]
    return {level: [{**g, "beyond": {k: g["beyond"][k] for k in keys}} for g in kept[level]]
            for level in ("country", "regions", "districts")}


def figures(engine: Engine, code: str, region: str | None = None, thresholds_km=DEFAULT_THRESHOLDS_KM, *,
            public: bool = False, unserved_in: list[str] | None = None, unserved_limit: int = 20,
            fresh: bool = False, kept_ok: bool = True) -> Figures:
    """The figures of kind `code`: the whole country's (every country's), and those of `region` and its districts
    (every region's and district's when None). `public`: see the module's docstring. `fresh`: first apply the
    kind's waiting edits (unless another transaction is applying them). At the default thresholds (or some of them)
    the figures kept by keep_figures are read when they are those of the distances as they are (`kept_ok`), else
    computed. Staff get the worst-served settlements of `region`, else of `unserved_in` (None: every region)."""
    if fresh:
        bring_up_to_date(engine, [code], wait=False)
    thresholds = sorted(float(t) for t in thresholds_km)
    out = Figures(service=code, region=region, thresholds_km=thresholds, public=public)
    with engine.connect() as conn:
        states = {s["type_code"]: s for s in data.state(conn)}
        if code not in states:
            raise ValueError(f"not a kind of help: {code!r}")
        out.state = dict(states[code])
        kept = (data.stored_figures(conn, code, public, region) if kept_ok and set(thresholds) <= DEFAULT_SET
                else None)
        if kept is not None and out.state["updated_at"] is not None and kept[0] == out.state["updated_at"]:
            body = _at_thresholds(kept[1], thresholds)
        else:
            body = _compute(conn, code, region, thresholds, (public,))[public]
        out.country, out.regions, out.districts = body["country"], body["regions"], body["districts"]
        online = data.online_services(conn, code)  # counted apart (never coverage), and never kept: always as is
        for group in out.country:
            group["online_services"] = online.get(group["country"], 0)
        for group in out.regions:
            group["online_services"] = online.get(group["region_code"], 0)
        if not public:
            regions = [region] if region else unserved_in
            out.unserved = [_unserved(row) for row in data.unserved(conn, code, UNSERVED_KM * 1000.0, regions,
                                                                    unserved_limit)]
    return out


def _unserved(row: data.Unserved) -> dict:
    out = dict(row)
    metres = out.pop("distance_m")
    out["distance_km"] = "none" if metres is None else _km(metres, STAFF_ROUND_KM)
    return out
