"""Is the database there? The health check's one question."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

_PING = text("SELECT 1")


def ping(session: Session) -> None:
    """A round trip to the database; raises SQLAlchemyError when it does not answer."""
    session.execute(_PING)
