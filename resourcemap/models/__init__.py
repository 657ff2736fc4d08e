"""Typed SQLAlchemy models. The schema itself is made by the Alembic migrations in resourcemap/migrations."""
from .accounts import Account, AccountRegion, ApiToken, AuditEvent
from .base import Base
from .requests import RequestLog, RequestLogKind  # noqa: F401  (dispatch request log)
from .places import District, DistrictPart, Region, RegionPart, Settlement, SettlementName
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
    "Account", "AccountRegion", "ApiToken", "AuditEvent",
    "Base", "Region", "RegionPart", "District", "DistrictPart", "Settlement", "SettlementName", "TaxonomyTerm", "Organization",
    "Location", "Service", "ServiceAtLocation", "ServiceArea", "Schedule", "Phone",
]
