"""Typed SQLAlchemy models. The schema itself is made by the Alembic migrations in resourcemap/migrations."""
from .accounts import Account, AccountRegion, ApiToken, AuditEvent
from .base import Base
from .history import Change  # noqa: F401  (the registry's change history, migration 0008)
from .coverage import Coverage, CoverageDirty, CoverageFigures, CoverageState  # noqa: F401  (coverage, 0021)
from .imports import PendingImport  # noqa: F401  (a spreadsheet between dry run and apply, 0022)
from .map_grid import MapDirty, MapFlush, MapGridCell, MapGridLevel, MapPoint  # noqa: F401  (public map, 0009)
from .requests import RequestLog, RequestLogKind  # noqa: F401  (dispatch request log)
from .places import District, DistrictPart, Region, RegionPart, Settlement, SettlementName
from .registry import (
    Location,
    Organization,
    Phone,
    ProblemReport,
    Service,
    ServiceArea,
    ServiceAtLocation,
    TaxonomyTerm,
)

__all__ = [
    "Account", "AccountRegion", "ApiToken", "AuditEvent",
    "Base", "Region", "RegionPart", "District", "DistrictPart", "Settlement", "SettlementName", "TaxonomyTerm", "Organization",
    "Location", "Service", "ServiceAtLocation", "ServiceArea", "Phone", "ProblemReport",
]
