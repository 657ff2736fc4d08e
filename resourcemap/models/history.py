"""The registry's field-level change history, written by database triggers (migration 0008) for every write path:
the editor, the API, spreadsheet imports. Read through registry/history.py."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Integer, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

ENTITIES = ("organization", "location", "service", "service_at_location", "phone", "schedule", "service_area")
OPS = ("insert", "update", "delete")


class Change(Base):
    """One recorded change: a whole record inserted or deleted (`field` None), or one field updated.

    `change_set` groups the rows of one user action (one transaction); `account_id` and `actor_email` say who,
    `note` why (a region exception's reason lands here too). No foreign keys: history outlives its subjects."""

    __tablename__ = "change"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    change_set: Mapped[int] = mapped_column(BigInteger)
    account_id: Mapped[int | None] = mapped_column(Integer)
    actor_email: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    organization_id: Mapped[int | None] = mapped_column(Integer)
    entity: Mapped[str] = mapped_column(Text)
    entity_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(Text)
    old: Mapped[dict | None] = mapped_column(JSONB)
    new: Mapped[dict | None] = mapped_column(JSONB)
    op: Mapped[str] = mapped_column(Text)
