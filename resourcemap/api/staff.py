"""The staff side of API v1: the registry as its keepers see it (drafts, deactivated entries, exact addresses).
Dispatchers and admins read every region; a curator only the regions assigned to them (403 otherwise)."""
from __future__ import annotations

from flask import jsonify

from ..auth.policy import current_viewer, require_region_access, staff_api
from ..db import get_session
from ..errors import ApiError
from ..search.organizations import find_organizations, organization_by_id
from . import bp
from . import schemas as s
from .routes import _region_param, audit_confidential_views, organization_view

STAFF_ERRORS = [400, 401, 403, 404]


@bp.get("/registry/organizations")
@bp.input(s.RegistryQuery, location="query", arg_name="query")
@bp.doc(responses=STAFF_ERRORS, security="BearerAuth")
@staff_api()
def registry_organizations(query):
    """Organizations of any status, for staff; a curator sees their regions only."""
    viewer = current_viewer()
    region = _region_param(query.get("region"))
    if region:
        require_region_access(viewer, region)
    regions = None if viewer.role in ("admin", "dispatcher") else sorted(viewer.regions)
    orgs = find_organizations(get_session(), region=region, service_types=None, bbox=None, limit=query["limit"],
                              offset=query["offset"], regions=regions, statuses=("published", "draft", "inactive"))
    audit_confidential_views(viewer, {loc["location_id"] for o in orgs for loc in o["locations"] if loc["confidential"]})
    return jsonify({"results": [{**organization_view(o, viewer), "status": o["status"]} for o in orgs]})


@bp.get("/registry/organizations/<int:org_id>")
@bp.doc(responses=STAFF_ERRORS, security="BearerAuth")
@staff_api()
def registry_organization(org_id: int):
    """One organization of any status, exact, for staff allowed to see its region."""
    org = organization_by_id(get_session(), org_id, published_only=False) if org_id <= 2**31 - 1 else None
    if org is None:
        raise ApiError("No organization with this id.", "id", code="not_found", status=404)
    viewer = current_viewer()
    require_region_access(viewer, org["region_code"])
    audit_confidential_views(viewer, {loc["location_id"] for loc in org["locations"] if loc["confidential"]})
    return jsonify({**organization_view(org, viewer), "status": org["status"]})
