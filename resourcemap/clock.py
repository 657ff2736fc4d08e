"""The current instant, and the calendar date where a family, a service or a region is. One place to ask for
"now", so that tests can fix it (monkeypatch `clock.utc_now`): a date printed on a card or in a file name is the
local one, never the server's UTC date (07.12 in Moscow is still 06.12 in UTC until 03:00)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MOSCOW = "Europe/Moscow"  # the consultants' and curators' zone, and the date of a place whose zone is unknown


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def local_date(timezone: str | None, at: dt.datetime | None = None) -> dt.date:
    """The date in `timezone` (Moscow when none or unknown) at the instant `at` (now)."""
    try:
        zone = ZoneInfo(timezone or MOSCOW)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(MOSCOW)
    return (at or utc_now()).astimezone(zone).date()
