"""The single-process rate-limit storage (resourcemap/ratelimit.py): the same counts as limits' memory storage,
without starting a thread per request."""
import threading
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from resourcemap.ratelimit import SCHEME, InlineExpiryMemoryStorage


def test_the_scheme_gives_the_inline_storage():
    assert isinstance(storage_from_string(f"{SCHEME}://"), InlineExpiryMemoryStorage)


def test_limits_are_counted_and_no_thread_is_started_per_hit(monkeypatch):
    storage = InlineExpiryMemoryStorage()
    started = []
    start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda thread: started.append(thread) or start(thread))
    for strategy in (FixedWindowRateLimiter(storage), MovingWindowRateLimiter(storage)):
        limit = parse("3 per 2 seconds")
        results = []
        for _ in range(4):
            results.append(strategy.hit(limit, "203.0.113.7"))
            time.sleep(0.02)  # past limits' 10 ms expiry timer, which its memory storage would start again
        assert results == [True, True, True, False]
        assert strategy.hit(limit, "198.51.100.1")  # another address has its own count
    assert started == []


def test_expired_counters_are_forgotten():
    storage = InlineExpiryMemoryStorage()
    storage.EXPIRE_EVERY_S = 0.0
    strategy = FixedWindowRateLimiter(storage)
    limit = parse("1 per 1 second")
    assert strategy.hit(limit, "203.0.113.7") and not strategy.hit(limit, "203.0.113.7")
    time.sleep(1.1)
    assert strategy.hit(limit, "203.0.113.7")  # a new window
    storage.incr("other", 1)  # any hit past the interval expires stale keys inline
    time.sleep(1.1)
    storage.incr("another", 60)
    assert "other" not in storage.storage and "another" in storage.storage
