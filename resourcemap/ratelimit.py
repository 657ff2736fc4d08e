"""Rate-limit storage for a single process: limits' memory storage without a thread per request.

limits' MemoryStorage expires old counters on a `threading.Timer` of 10 ms that it starts again on every hit once
the last one has run — with requests more than 10 ms apart, a new thread per API request, whose start (waiting for
the thread under the GIL) cost 1–4 ms of a 3 ms request (bench/nearest.py, profile in docs/benchmarks.md). This
one expires them inline, at most once a second; the counts are the same (a counter past its expiry is read as
zero either way), only the memory of stale keys is freed a little later. With REDIS_URL configured the limits are
kept in Redis and shared between processes instead."""
from __future__ import annotations

import time

from limits.storage import MemoryStorage

SCHEME = "rm-memory"


class InlineExpiryMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = [SCHEME]
    EXPIRE_EVERY_S = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_expiry = 0.0

    # MemoryStorage calls its private __schedule_expiry before every hit; this replaces it (name-mangled).
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self._next_expiry:
            self._next_expiry = now + self.EXPIRE_EVERY_S
            self._MemoryStorage__expire_events()
