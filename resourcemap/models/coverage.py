"""Coverage (migration 0021): per kind of help and settlement, the distance to the nearest published help of that
kind; the edits waiting to be applied; when each kind was computed. Written only by data/coverage.py and the
database's triggers."""
from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geography, Geometry
from sqlalchemy import BigInteger, Boolean, DateTime, Double, ForeignKey, Integer, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Coverage(Base):
    """How far settlement `settlement_id` is from the nearest published help of kind `type_code` in its country
    (NULL: none there); 0 when an outreach service comes to it (`reached`)."""

    __tablename__ = "coverage"

    type_code: Mapped[str] = mapped_column(
        ForeignKey("taxonomy_term.code", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True)
    settlement_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # no foreign key
    distance_m: Mapped[float | None] = mapped_column(Double)
    nearest_sal_id: Mapped[int | None] = mapped_column(Integer)
    confidential: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    reached: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    public_distance_m: Mapped[float | None] = mapped_column(Double)  # confidential places at their public point
    public_sal_id: Mapped[int | None] = mapped_column(Integer)
    reach_box = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=False))


class CoverageDirty(Base):
    """An edit's note: settlements to measure again for kind `type_code` (see migration 0021)."""

    __tablename__ = "coverage_dirty"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    type_code: Mapped[str] = mapped_column(Text)
    whole: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    sal_id: Mapped[int | None] = mapped_column(Integer)
    point = mapped_column(Geography("POINT", srid=4326, spatial_index=False))
    reach_m: Mapped[float | None] = mapped_column(Double)
    area = mapped_column(Geography("GEOMETRY", srid=4326, spatial_index=False))


class CoverageState(Base):
    """When kind `type_code` was last computed in full, and last brought up to date."""

    __tablename__ = "coverage_state"

    type_code: Mapped[str] = mapped_column(
        ForeignKey("taxonomy_term.code", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True)
    refreshed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class CoverageFigures(Base):
    """The figures of kind `type_code` at the default thresholds, as the public or staff see them, while `version`
    is the kind's coverage_state.updated_at."""

    __tablename__ = "coverage_figures"

    type_code: Mapped[str] = mapped_column(
        ForeignKey("taxonomy_term.code", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True)
    public: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    version: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    body = mapped_column(JSONB, nullable=False)
