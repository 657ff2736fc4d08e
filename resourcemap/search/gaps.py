"""The anonymous request log of the dispatch console, and the gaps report made from it.

Each console search records (migration 0005): the settlement, district and region asked from, the kinds of help,
the child's age band, how many services of each kind lay within 30 and 100 km, and the hour. Never anything
about the caller or the consultant: no account, no IP address, no coordinates, no free text.

A consultation is one row: while the consultant refines a search for the same family (adds a kind, changes the
age), `record_request` is given the row's id and updates it instead of adding another, so the report counts
families, not keystrokes.

The gaps report: per region, the districts with the most requests that found nothing within 30 (or 100) km."""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..data import request_log

DISTANCES_KM = (30, 100)
AGE_BANDS = ("0-3", "3-7", "7-18")


def age_band(age_months: int | None) -> str | None:
    """The coarse band of a child's age in years (0-3, 3-7, 7-18); None when not given."""
    if age_months is None:
        return None
    if age_months < 36:
        return "0-3"
    if age_months < 84:
        return "3-7"
    return "7-18"


def count_within(rows: list[dict]) -> tuple[int, int]:
    """(within 30 km, within 100 km) among nearest-help rows; a service that comes to the family counts."""
    near = [r for r in rows if r["reaches_you"] or r["distance_m"] <= 30_000]
    far = [r for r in rows if r["reaches_you"] or r["distance_m"] <= 100_000]
    return len(near), len(far)


def record_request(session: Session, *, origin: str, place: dict, age_months: int | None,
                   found: dict[str, tuple[int, int]], continue_id: int | None = None) -> int:
    """Write (or, for the same consultation and place, update) the log row of a search; returns its id.
    `found`: kind -> (within 30 km, within 100 km). The caller commits."""
    return request_log.record_request(session, origin=origin, place=place, age_band=age_band(age_months),
                                      found=found, continue_id=continue_id)


# --- the gaps report -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GapsQuery:
    within_km: int = 30                # 30 or 100
    days: int | None = 90              # the period: the last `days` days; None: all time
    region_code: str | None = None
    service_type: str | None = None    # only requests for this kind (and its gaps); None: any kind
    top: int = 10                      # districts per region


def gaps_report(session: Session, q: GapsQuery, now: dt.datetime | None = None) -> list[dict]:
    """Rows of the gaps report (data/request_log.py's gaps_rows): region, district (None: outside any known
    district), requests, unmet requests, the settlements and the kinds behind them."""
    if q.within_km not in DISTANCES_KM:
        raise ValueError(f"within_km must be one of {DISTANCES_KM}")
    since = None
    if q.days is not None:
        since = (now or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(days=q.days)
    return request_log.gaps_rows(session, within_km=q.within_km, since=since, region_code=q.region_code,
                                 service_type=q.service_type, top=q.top)


# --- CSV -------------------------------------------------------------------------------------------------------
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A cell that a spreadsheet will not run as a formula: text starting with = + - @ (or tab / CR) gets a
    leading apostrophe."""
    s = "" if value is None else str(value)
    return "'" + s if s.startswith(_FORMULA_START) else s


def gaps_csv(rows: list[dict], header: list[str]) -> str:
    """The report as CSV (comma-separated, UTF-8 with BOM for spreadsheet programs), every cell made safe."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in header])
    for r in rows:
        writer.writerow([csv_cell(c) for c in (
            r["region_code"], r["region_name"], r["district_name"] or "", r["requests"], r["unmet"],
            f"{100.0 * r['unmet'] / r['requests']:.0f}" if r["requests"] else "",
            "; ".join(f"{s['name']} ({s['unmet']})" for s in r["settlements"]),
            "; ".join(f"{k['name']} ({k['unmet']})" for k in r["kinds"]),
        )])
    return out.getvalue()
