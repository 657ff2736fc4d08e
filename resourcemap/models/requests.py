"""The dispatch console's anonymous request log (migration 0005). Nothing about the caller or the consultant:
the place asked from (settlement, district, region), the kinds of help, the child's age band, how many services
lay within 30 and 100 km, and the hour."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, ForeignKey, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base


class RequestLog(Base):
    """One consultation: where from, the age band, when (to the hour)."""

    __tablename__ = "request_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    origin: Mapped[str] = mapped_column(Text)  # 'settlement' or 'point'
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlement.id", ondelete="SET NULL"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id", ondelete="SET NULL"))
    region_code: Mapped[str | None] = mapped_column(String(8), ForeignKey("region.code"))
    age_band: Mapped[str | None] = mapped_column(Text)  # '0-3', '3-7', '7-18' (years)

    kinds: Mapped[list[RequestLogKind]] = relationship(cascade="all, delete-orphan")


class RequestLogKind(Base):
    """One kind of help asked in a consultation, and how many services of it lay within 30 and 100 km."""

    __tablename__ = "request_log_kind"

    request_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("request_log.id", ondelete="CASCADE"),
                                            primary_key=True)
    type_code: Mapped[str] = mapped_column(ForeignKey("taxonomy_term.code"), primary_key=True)
    within_30_km: Mapped[int] = mapped_column(SmallInteger)
    within_100_km: Mapped[int] = mapped_column(SmallInteger)
