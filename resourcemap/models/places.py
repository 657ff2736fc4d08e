"""The gazetteer: regions, districts and settlements (loaded from data/regions/)."""
from __future__ import annotations

from geoalchemy2 import Geography, Geometry
from sqlalchemy import ARRAY, ForeignKey, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Region(Base):
    """A federal subject of Russia or a region (oblast / city) of Kazakhstan, keyed by ISO 3166-2 code."""

    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name_ru: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(Text)
    boundary = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False)


class District(Base):
    """A municipal district / okrug (Russia) or district (Kazakhstan)."""

    __tablename__ = "district"

    id: Mapped[int] = mapped_column(primary_key=True)
    ext_id: Mapped[str] = mapped_column(Text, unique=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    name_ru: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(Text, default="")
    boundary = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False)


class Settlement(Base):
    """A city, town, urban-type settlement or village: where a family lives."""

    __tablename__ = "settlement"

    id: Mapped[int] = mapped_column(primary_key=True)
    ext_id: Mapped[str] = mapped_column(Text, unique=True)
    name_ru: Mapped[str] = mapped_column(Text)
    name_kk: Mapped[str] = mapped_column(Text, default="")
    alt_names: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    kind: Mapped[str] = mapped_column(Text)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id"), index=True)
    population: Mapped[int | None] = mapped_column(Integer)
    population_year: Mapped[int | None] = mapped_column(SmallInteger)
    geog = mapped_column(Geography("POINT", srid=4326, spatial_index=False), nullable=False)
    timezone: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    source_id: Mapped[str] = mapped_column(Text)
    # What the 2021 census says of it (migration 0017, gazetteer/census.py), and its source row's faults.
    census_id: Mapped[int | None] = mapped_column(Integer)  # unique (ix_settlement_census_id)
    census_type: Mapped[str | None] = mapped_column(Text)
    children: Mapped[int | None] = mapped_column(Integer)
    oktmo: Mapped[str | None] = mapped_column(Text)
    municipality: Mapped[str | None] = mapped_column(Text)
    quality: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)


class SettlementName(Base):
    """One normalized spelling of a settlement's name (Russian, Kazakh, alternates, Latin), with copies of the
    settlement's population, region and district that the suggestions rank by (migration 0018, kept by triggers)."""

    __tablename__ = "settlement_name"

    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlement.id", ondelete="CASCADE"), primary_key=True)
    name_norm: Mapped[str] = mapped_column(Text, primary_key=True)
    population: Mapped[int | None] = mapped_column(Integer)
    region_code: Mapped[str | None] = mapped_column(String(8))
    district_id: Mapped[int | None] = mapped_column(Integer)


class PlaceName(Base):
    """Each distinct normalized spelling once, trigram-indexed: where look-alikes of a typed name are found
    (migration 0018, kept by triggers on settlement_name)."""

    __tablename__ = "place_name"

    name_norm: Mapped[str] = mapped_column(Text, primary_key=True)


class RegionPart(Base):
    """A small piece of a region's boundary (ST_Subdivide) for fast point-in-region lookups."""

    __tablename__ = "region_part"
    __mapper_args__ = {"primary_key": ["region_code", "geom"]}

    region_code: Mapped[str] = mapped_column(ForeignKey("region.code", ondelete="CASCADE"), index=True)
    geom = mapped_column(Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False)


class DistrictPart(Base):
    """A small piece of a district's boundary (ST_Subdivide)."""

    __tablename__ = "district_part"
    __mapper_args__ = {"primary_key": ["district_id", "geom"]}

    district_id: Mapped[int] = mapped_column(ForeignKey("district.id", ondelete="CASCADE"), index=True)
    geom = mapped_column(Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False)
