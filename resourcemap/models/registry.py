"""The registry, named after Open Referral HSDS 3.0: organization, location, service,
service_at_location, service_area, phone, taxonomy_term (weekly hours: Service.hours)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import (Boolean, Computed, DateTime, ForeignKey, Integer, SmallInteger, Text, UniqueConstraint, func,
                        text)
from sqlalchemy.dialects.postgresql import ARRAY, INT4MULTIRANGE
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base

ORG_STATUSES = ("published", "draft", "inactive")
DELIVERIES = ("on_site", "outreach", "online")
PHONE_KINDS = ("main", "intake", "hotline", "fax")


class TaxonomyTerm(Base):
    """A kind of help (service type) with Russian and English names."""

    __tablename__ = "taxonomy_term"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name_ru: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    description_ru: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(SmallInteger, default=0)


class Organization(Base):
    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    legal_form: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    website: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(Text, default="published")
    verified_at: Mapped[dt.date | None]
    source: Mapped[str] = mapped_column(Text, default="")
    external_id: Mapped[str | None] = mapped_column(Text, unique=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    is_synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # A family's report was confirmed: the record is to be checked again ("checked today" clears it; 0020).
    recheck_since: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    locations: Mapped[list[Location]] = relationship(back_populates="organization", order_by="Location.id")
    services: Mapped[list[Service]] = relationship(back_populates="organization", order_by="Service.id")
    phones: Mapped[list[Phone]] = relationship(back_populates="organization", order_by="Phone.id")


class Location(Base):
    __tablename__ = "location"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    name: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(Text, default="")
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlement.id"), index=True)
    geog = mapped_column(Geography("POINT", srid=4326, spatial_index=False), nullable=False)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    approximate: Mapped[bool] = mapped_column(Boolean, default=False)
    accessibility: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(Text)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # deactivated, never deleted (migration 0008)
    external_id: Mapped[str | None] = mapped_column(Text, unique=True)  # a spreadsheet's row key

    organization: Mapped[Organization] = relationship(back_populates="locations")


class Service(Base):
    __tablename__ = "service"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    type_code: Mapped[str] = mapped_column(ForeignKey("taxonomy_term.code"))
    name: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    age_min_months: Mapped[int | None] = mapped_column(SmallInteger)
    age_max_months: Mapped[int | None] = mapped_column(SmallInteger)
    eligibility: Mapped[str] = mapped_column(Text, default="")
    delivery: Mapped[str] = mapped_column(Text, default="on_site")
    capacity_total: Mapped[int | None] = mapped_column(Integer)
    capacity_free: Mapped[int | None] = mapped_column(Integer)
    capacity_updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    external_id: Mapped[str | None] = mapped_column(Text, unique=True)  # a spreadsheet's row key (migration 0008)
    # Weekly hours (migration 0011, registry/hours.py): minutes of the week in the location's time zone, Monday
    # 09:00-18:00 = [540,1080); NULL: not known. The `schedule` view lists them by day.
    hours: Mapped[Any | None] = mapped_column(INT4MULTIRANGE)
    # The child's conditions it works with, what it costs and on what grounds (registry/vocabulary.py, 0020).
    conditions: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default=text("'{}'"))
    cost: Mapped[str | None] = mapped_column(Text)
    cost_basis: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default=text("'{}'"))

    organization: Mapped[Organization] = relationship(back_populates="services")
    areas: Mapped[list[ServiceArea]] = relationship()


class ServiceAtLocation(Base):
    """A service offered at a location: the row the nearest-help search ranks.

    It carries copies of its location's point, time zone and confidential flag and of its service's type,
    delivery, ages, conditions, cost and searchability, kept by database triggers (migrations 0001, 0015, 0020), so that nearest help is a
    GiST KNN scan of this table (per kind of help: `ix_sal_knn_<code>`, migration 0007) with no join before the LIMIT.
    """

    __tablename__ = "service_at_location"
    __table_args__ = (UniqueConstraint("service_id", "location_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), index=True)
    # Copies maintained by triggers; never written by application code.
    geog = mapped_column(Geography("POINT", srid=4326, spatial_index=False))
    type_code: Mapped[str | None] = mapped_column(Text)
    delivery: Mapped[str | None] = mapped_column(Text)
    age_min_months: Mapped[int | None] = mapped_column(SmallInteger)
    age_max_months: Mapped[int | None] = mapped_column(SmallInteger)
    timezone: Mapped[str | None] = mapped_column(Text)
    searchable: Mapped[bool | None] = mapped_column(Boolean)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    conditions: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default=text("'{}'"))  # 0020
    cost: Mapped[str | None] = mapped_column(Text)
    # What the public may know of a confidential row's place (migration 0015): the centre of its 5 km cell.
    public_geog = mapped_column(Geography("POINT", srid=4326, spatial_index=False),
                                Computed("CASE WHEN confidential THEN rm_public_geog(geog) END"))


class ServiceArea(Base):
    """Where an outreach service goes (a radius around its location, or a drawn polygon) or the region an
    online service serves."""

    __tablename__ = "service_area"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    radius_km: Mapped[float | None]
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    area = mapped_column(Geography("GEOMETRY", srid=4326, spatial_index=False))
    # For a region (online) area, a copy of its service's kind kept by triggers (migration 0013); never written by
    # application code.
    type_code: Mapped[str | None] = mapped_column(Text)


class Phone(Base):
    """A phone in E.164, of an organization, optionally of one of its services or locations."""

    __tablename__ = "phone"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(Text)  # E.164, e.g. +74965700000
    extension: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(Text, default="main")
    note: Mapped[str] = mapped_column(Text, default="")

    organization: Mapped[Organization] = relationship(back_populates="phones")


PROBLEM_KINDS = ("no_answer", "wrong_address", "closed", "other")
RESOLUTIONS = ("confirmed", "rejected")


class ProblemReport(Base):
    """What a family reported about an organization (migration 0020): a kind and the text it wrote, nothing else
    about the person; resolved by a curator of the organization's region with a note."""

    __tablename__ = "problem_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    kind: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolution: Mapped[str | None] = mapped_column(Text)
    resolution_note: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
