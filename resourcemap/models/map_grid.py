"""The public map's precomputed answer (migration 0009): published locations at their public points, and counts
on fixed grids. Written only by database triggers (flushed at commit); read by search/map.py."""
from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, Boolean, Double, Integer, SmallInteger, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class MapGridLevel(Base):
    """A grid size the map uses (search/map.py grid_size): cells of `cell_deg` degrees, aligned on 0°."""

    __tablename__ = "map_grid_level"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    cell_deg: Mapped[float] = mapped_column(Double, unique=True)


class MapPoint(Base):
    """A published location as the public map places it: the exact point, or for a confidential location the
    centre of its 5 km cell (search/redaction.py snap_point); the sorted kinds of help of its searchable services; and copies of
    what the map shows of it (organization name, town, flags)."""

    __tablename__ = "map_point"

    location_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    organization_id: Mapped[int] = mapped_column(Integer)
    lat: Mapped[float] = mapped_column(Double)
    lon: Mapped[float] = mapped_column(Double)
    kinds: Mapped[list[str]] = mapped_column(ARRAY(Text))
    confidential: Mapped[bool] = mapped_column(Boolean)
    approximate: Mapped[bool] = mapped_column(Boolean)
    organization_name: Mapped[str] = mapped_column(Text)
    is_synthetic: Mapped[bool] = mapped_column(Boolean)
    settlement_id: Mapped[int | None] = mapped_column(Integer)
    settlement_name: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)


class MapGridCell(Base):
    """How many map points lie in cell (cx, cy) of a grid — all of them (kinds {}) or those offering exactly
    `kinds` — and the sums of their public coordinates in nanodegrees (their mean is where the map draws the
    count)."""

    __tablename__ = "map_grid_cell"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)  # map_grid_level
    cx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    cy: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kinds: Mapped[list[str]] = mapped_column(ARRAY(Text), primary_key=True)
    locations: Mapped[int] = mapped_column(Integer)
    sum_lat: Mapped[int] = mapped_column(BigInteger)
    sum_lon: Mapped[int] = mapped_column(BigInteger)


class MapDirty(Base):
    """A location touched by a transaction, until that transaction's flush at commit."""

    __tablename__ = "map_dirty"
    __table_args__ = {"prefixes": ["UNLOGGED"]}

    txid: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    location_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class MapFlush(Base):
    """A transaction whose map flush is queued (deferred constraint trigger map_flush_at_commit)."""

    __tablename__ = "map_flush"
    __table_args__ = {"prefixes": ["UNLOGGED"]}

    txid: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
