"""Typed SQLAlchemy models. The schema itself is made by the Alembic migrations in resourcemap/migrations."""
from .base import Base
from .places import District, Region, Settlement, SettlementName
from .registry import (
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    TaxonomyTerm,
)

__all__ = [
    "Base", "Region", "District", "Settlement", "SettlementName", "TaxonomyTerm", "Organization",
    "Location", "Service", "ServiceAtLocation", "ServiceArea", "Schedule", "Phone",
]
