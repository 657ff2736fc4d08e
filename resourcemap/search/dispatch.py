"""The dispatch console's questions: the nearest services of several kinds at once (each kind ranked on its own, so
a kind with many services nearby cannot crowd out another), their weekly hours and next opening in each
service's own time zone, the chosen services of a referral card, and where a search came from (for the
anonymous request log).

The ranking is nearest.py's, unchanged: one `nearest_services` call per kind of help, with exact points (the
console is for staff only). Rows are exact (unredacted);
the dispatch views decide what to show (staff see confidential addresses; the referral card for the family
does not carry them)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ..data.nearest import referral_rows, schedule_rows
from ..data import request_log
from . import nearest
from .nearest import NearestQuery, nearest_services


@dataclass
class DispatchAnswer:
    by_kind: dict[str, list[dict]] = field(default_factory=dict)  # kind -> rows, nearest first
    online: list[dict] = field(default_factory=list)


def nearest_by_kind(session: Session, q: NearestQuery, region_code: str | None) -> DispatchAnswer:
    """For each kind in `q.service_types`, its `q.limit` nearest services (nearest.nearest_services, outreach
    rule included); plus the online services of `region_code` of any of the kinds (one query)."""
    answer = DispatchAnswer()
    if q.at is None:
        q = replace(q, at=dt.datetime.now(dt.timezone.utc))  # one "now" for every query of the answer
    for kind in q.service_types:
        one = NearestQuery(lat=q.lat, lon=q.lon, service_types=(kind,), age_months=q.age_months,
                           open_now=q.open_now, limit=q.limit, within_km=None, at=q.at, conditions=q.conditions,
                           costs=q.costs,
                           outreach_equivalent_km=q.outreach_equivalent_km)
        answer.by_kind[kind] = nearest_services(session, one, region_code, exact=True, with_online=False).results
    if region_code and q.service_types:
        answer.online = online_services(session, q, region_code)
    return answer


def online_services(session: Session, q: NearestQuery, region_code: str, per_kind: int = 3) -> list[dict]:
    """The console lists at most `per_kind` online services of each kind (nearest.online_services)."""
    return nearest.online_services(session, q, region_code, per_kind, exact=True)


# --- hours ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Slot:
    weekday: int  # ISO: 1 Monday .. 7 Sunday
    opens: int    # minutes after local midnight
    closes: int


def schedules(session: Session, service_ids: list[int] | set[int]) -> dict[int, list[Slot]]:
    """The weekly hours of these services, one query: {service_id: [Slot, ...]} (absent: no hours known)."""
    out: dict[int, list[Slot]] = {}
    if not service_ids:
        return out
    for service_id, weekday, opens, closes in schedule_rows(session, sorted(set(service_ids))):
        out.setdefault(service_id, []).append(Slot(weekday, opens, closes))
    return out


@dataclass(frozen=True)
class Opening:
    """Open now, and when that changes, in the service's own time zone (local, aware datetimes)."""

    known: bool                      # False: no hours in the registry
    open_now: bool = False
    closes_at: dt.datetime | None = None   # when open now
    next_open: dt.datetime | None = None   # the next opening after now (after closing, when open now)


def _at(day: dt.date, minute: int, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=tz) + dt.timedelta(minutes=minute)


def opening(slots: list[Slot], timezone: str, now: dt.datetime) -> Opening:
    """Open or closed at `now` (aware) judged in `timezone`, the closing time when open, and the next opening.
    Slots that run into each other (…–24:00 then 00:00–…) count as one stretch."""
    if not slots:
        return Opening(known=False)
    tz = ZoneInfo(timezone)
    local = now.astimezone(tz)
    today = local.date()
    # Every slot occurrence from yesterday to eight days ahead, in time order.
    spans = sorted((_at(day, s.opens, tz), _at(day, s.closes, tz))
                   for offset in range(-1, 9)
                   for day in [today + dt.timedelta(days=offset)]
                   for s in slots if s.weekday == day.isoweekday())
    merged: list[list[dt.datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    current = next((m for m in merged if m[0] <= local < m[1]), None)
    upcoming = next((m[0] for m in merged if m[0] > local), None)
    if current:
        return Opening(known=True, open_now=True, closes_at=current[1], next_open=upcoming)
    return Opening(known=True, open_now=False, next_open=upcoming)


# --- the services of a referral card ------------------------------------------------------------------------
def referral_services(session: Session, sal_ids: list[int], lat: float, lon: float) -> list[dict]:
    """The published services at these service_at_location ids, in the order given, with the geodesic
    distance from (lat, lon) and `reaches_you`. Unknown or unpublished ids are left out."""
    if not sal_ids:
        return []
    rows = referral_rows(session, list(dict.fromkeys(sal_ids)), lat, lon, dt.datetime.now(dt.timezone.utc))
    for row in rows:
        row["beyond_radius"] = False
    return rows


# --- where a search came from (for the request log) ----------------------------------------------------------
def log_place(session: Session, *, settlement_id: int | None = None, lat: float | None = None,
              lon: float | None = None) -> dict:
    """{settlement_id, district_id, region_code} of a settlement, or of a point (its district, the nearest
    settlement within 30 km). The point itself is never kept."""
    if settlement_id is not None:
        row = request_log.place_of_settlement(session, settlement_id)
        return row if row else {"settlement_id": None, "district_id": None, "region_code": None}
    return request_log.place_of_point(session, lat, lon)
