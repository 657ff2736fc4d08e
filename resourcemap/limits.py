"""The registry's limits, each written once: how old a child, how big an id, how long a text, how many per page.
The editor, the import, the API and the pages read them from here."""
from __future__ import annotations

MAX_AGE_MONTHS = 216  # a child's age: 18 years
MAX_ID = 2**31 - 1  # the largest id (a PostgreSQL integer)
MIN_INTEGER = -2**31  # the smallest PostgreSQL integer
MAX_ID_DIGITS = 10  # decimal digits of MAX_ID
MAX_VERSION = MAX_ID - 1  # the last version an organization's row can still move on from
MAX_RADIUS_KM = 500  # how far an outreach service travels
SHORT_TEXT, LONG_TEXT = 1000, 20000  # characters of a short field (an address) and of a long one (a description)
MAX_NOTE = 2000  # characters of a change's note or a reason given for it
MAX_PAGE_SIZE = 500  # organizations in one page of the API's lists
MAX_OFFSET = 10_000_000  # how far the API's lists page on
STALE_AFTER_DAYS = 180  # a record not checked for longer is stale
REPLICA_CHECK_EVERY_S = 1.0  # how often a worker asks a replica how far it has replayed (read_routing.py)
REPLICA_SKIP_S = 5.0  # how long a replica that did not answer is left alone before it is tried again
REPLICA_CONNECT_TIMEOUT_S = 2  # a replica that does not accept a connection by then is down


def is_id(raw: str) -> bool:
    """Whether a text is an id: decimal digits, at most MAX_ID (0 included: no row has it)."""
    return raw.isdecimal() and len(raw) <= MAX_ID_DIGITS and int(raw) <= MAX_ID
