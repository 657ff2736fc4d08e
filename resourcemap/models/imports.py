"""A curator's spreadsheet between its dry run and "apply" (migration 0022): in the database, so that any app
instance can apply what another checked."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, LargeBinary, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class PendingImport(Base):
    __tablename__ = "pending_import"

    token_hash: Mapped[str] = mapped_column(Text, primary_key=True)  # SHA-256 of the page's token
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    region_code: Mapped[str] = mapped_column(String(8), ForeignKey("region.code"))
    filename: Mapped[str] = mapped_column(Text)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
