"""Read routing (issue 23): which server answers a read-only request — a streaming replica when one is healthy and
has replayed what this reader must see, else the primary.

The rule is small on purpose. Writers always use the primary (`db.get_session()`); read-only requests ask
`db.get_read_session()`, which asks `ReadRouting.replica_for(needs_wal)`:

- a replica is *healthy* when it answered its last check (at most `REPLICA_CHECK_EVERY_S` ago) and its replay is
  not more than `REPLICA_MAX_LAG_SECONDS` behind; a replica that did not answer (down, restarting, refusing) is
  left alone for `REPLICA_SKIP_S`, and so is one whose connection failed during a request;
- *read-your-writes*: a staff member who committed something in the last `READ_YOUR_WRITES_SECONDS` carries the
  primary's WAL position after that commit in their signed session cookie (`db.remember_own_write`); a replica
  serves their reads only once it has replayed up to that position (checked afresh when the last check says it
  has not), else the primary does;
- replicas take turns; none usable: the primary. The user never sees a replica's trouble.

Each worker keeps its own view of the replicas (a cache of facts any worker can ask again, not state another
worker needs): the cookie carries what must follow a person from one instance to another. Threads of a worker
share the view without a lock: each field is replaced whole, and a stale value at worst costs one more check.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from .data.replication import replay_state
from .limits import REPLICA_CHECK_EVERY_S, REPLICA_SKIP_S

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Replica:
    """One streaming replica as this worker last saw it."""
    name: str  # where it is, for the log (host and port, no password)
    engine: Engine
    sessions: sessionmaker
    replayed: int = -1  # WAL bytes replayed at the last check
    lag_s: float = 0.0  # how far behind its replay was
    checked_at: float = field(default=float("-inf"))
    skipped_until: float = 0.0


class ReadRouting:
    def __init__(self, replicas: list[Replica], max_lag_s: float, *, check_every_s: float = REPLICA_CHECK_EVERY_S,
                 skip_s: float = REPLICA_SKIP_S, clock: Callable[[], float] = time.monotonic):
        self.replicas = replicas
        self.max_lag_s = max_lag_s
        self.check_every_s = check_every_s
        self.skip_s = skip_s
        self.clock = clock
        self._turn = 0

    def replica_for(self, needs_wal: int | None = None) -> Replica | None:
        """A healthy replica that has replayed WAL position `needs_wal` (None: any position), taking turns; None
        when no replica will do, so the primary answers."""
        count = len(self.replicas)
        if not count:
            return None
        self._turn = (self._turn + 1) % count
        for i in range(count):
            replica = self.replicas[(self._turn + i) % count]
            if self._will_do(replica, needs_wal):
                return replica
        return None

    def _will_do(self, replica: Replica, needs_wal: int | None) -> bool:
        now = self.clock()
        if now < replica.skipped_until:
            return False
        behind = needs_wal is not None and replica.replayed < needs_wal
        if now - replica.checked_at >= self.check_every_s or behind:
            self.check(replica)
        return (self.clock() >= replica.skipped_until and replica.lag_s <= self.max_lag_s
                and (needs_wal is None or replica.replayed >= needs_wal))

    def check(self, replica: Replica) -> None:
        """Ask the replica how far it has replayed; one that does not answer is skipped for a while."""
        try:
            with replica.engine.connect() as conn:
                state = replay_state(conn)
        except SQLAlchemyError as error:
            self.skip(replica, error)
            return
        replica.replayed, replica.lag_s, replica.checked_at = state.replayed, state.lag_s, self.clock()
        if state.lag_s > self.max_lag_s:
            log.warning("replica %s is %.1f s behind (limit %.1f s): reads go elsewhere", replica.name,
                        state.lag_s, self.max_lag_s)

    def skip(self, replica: Replica, error: BaseException | None = None) -> None:
        """Leave the replica alone for `skip_s`: it failed a check or a request's connection."""
        if self.clock() >= replica.skipped_until:
            reason = (str(getattr(error, "orig", error) or "").strip().splitlines() or [""])[0][:200]
            log.warning("replica %s skipped for %.0f s: %s", replica.name, self.skip_s, reason)
        replica.skipped_until = self.clock() + self.skip_s
        replica.checked_at = float("-inf")
