"""Weekly hours as one value per service (migration 0011): `service.hours`, a PostgreSQL int4multirange of minutes
of the week in the location's own time zone, (ISO weekday - 1) * 1440 + minutes after local midnight. Monday and
Tuesday 09:00–18:00 are `{[540,1080),[1980,2520)}`; NULL means "hours not known".

One value makes a change of hours one change in the history (old and new hours side by side) and one row to write
instead of one per day. Readers that want slots (weekday, opens, closes) read the `schedule` view, which splits the
ranges at midnight exactly as `slots()` here does.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

DAY = 1440

_RANGE = re.compile(r"\[(\d+),(\d+)\)")


def to_multirange(slots: Iterable) -> str | None:
    """Slots (weekday, opens_minute, closes_minute), or the document's {"weekday", "opens", "closes"} with "HH:MM"
    times, as the multirange's text in PostgreSQL's own canonical form (ranges sorted, overlapping and touching
    ones merged); None for no slots."""
    ranges = []
    for slot in slots:
        if isinstance(slot, dict):
            weekday, opens, closes = slot["weekday"], minutes(slot["opens"]), minutes(slot["closes"])
        else:
            weekday, opens, closes = slot
        start = (int(weekday) - 1) * DAY
        ranges.append((start + int(opens), start + int(closes)))
    merged: list[list[int]] = []
    for lower, upper in sorted(ranges):
        if merged and lower <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], upper)
        else:
            merged.append([lower, upper])
    if not merged:
        return None
    return "{" + ",".join(f"[{lo},{up})" for lo, up in merged) + "}"


def slots(value: str | None) -> list[tuple[int, int, int]]:
    """The multirange's text as slots (weekday, opens_minute, closes_minute), split at midnight, in week order."""
    out = []
    for match in _RANGE.finditer(value or ""):
        lower, upper = int(match.group(1)), int(match.group(2))
        while lower < upper:
            day_end = (lower // DAY + 1) * DAY
            end = min(upper, day_end)
            out.append((lower // DAY + 1, lower % DAY, end - (lower // DAY) * DAY))
            lower = end
    return out


def document_slots(value: str | None) -> list[dict]:
    """The multirange's text in the editor document's shape: [{"weekday", "opens": "HH:MM", "closes": "HH:MM"}]."""
    return [{"weekday": w, "opens": hhmm(o), "closes": hhmm(c)} for w, o, c in slots(value)]


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def minutes(hhmm: str) -> int:
    """'09:30' -> 570; '24:00' -> 1440 (midnight at the end of the day)."""
    hours, mins = hhmm.split(":")
    return int(hours) * 60 + int(mins)
