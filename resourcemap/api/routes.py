"""API v1 views: parse, call one function from search/, shape the answer for the viewer."""
from __future__ import annotations

from dataclasses import replace

from flask import current_app, jsonify, request, url_for
from sqlalchemy.exc import SQLAlchemyError

from ..data.health import ping
from ..data.organizations import find_organizations, organization_by_id
from ..db import get_read_session, get_session, read_routing
from ..errors import ApiError
from ..limits import MAX_ID
from ..question import Wording, parse_nearest
from ..search import reference
from ..search.map import BadBox, Box, parse_bbox
from ..search.nearest import far_limits, helplines, mark_far, nearest_services
from ..gazetteer.place_types import type_name
from ..search.settlements import AMBIGUOUS, FOUND, PlaceMatch, find_place, search_settlements
from ..auth import audit
from ..auth.policy import Viewer, current_viewer
from ..search.phones import phone_view
from ..search.redaction import location_view, nearest_result_view, organization_phones
from . import bp
from . import schemas as s

ERRORS = [400, 404]
PLACE_CANDIDATES = 10   # places offered when a typed place is not one settlement
ALTERNATIVES = 5        # other places a typed place may have meant, offered with the one taken
PLACE_ERRORS = {
    400: "Bad input",
    404: {"description": "No settlement with this id, or (code not_found) no place named q: the closest names are "
                         "the error's `candidates`", "content": {"application/json": {"schema": s.PlaceErrorOut}}},
    409: {"description": "(code ambiguous) Several settlements have the name typed in q: the error's `candidates`, "
                         "biggest first", "content": {"application/json": {"schema": s.PlaceErrorOut}}},
}


def audit_confidential_views(viewer: Viewer, location_ids: set[int]) -> None:
    """Staff saw the exact address of these confidential locations: say so in the audit log."""
    if viewer.sees_confidential and location_ids:
        session = get_session()
        audit.record(session, "confidential_view", account_id=viewer.account_id, email=viewer.email,
                     location_ids=sorted(location_ids), path=request.path)
        session.commit()


def _known_codes(vocabulary) -> str:
    return ", ".join(t.code for t in vocabulary)


def _printable(code: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in code[:50])


WHAT = {"condition": "condition of the child", "cost": "cost"}
# The API's words for a question it cannot take (question.py); what the schema (schemas.NearestArgs) checks first
# (types, ranges, where the family is) it words itself.
API = Wording(says={
    "kinds.unknown": lambda code, **_v: f"Unknown kind of help: {code[:50]}. See /api/v1/service-types.",
    "kinds.none": lambda **_v: "Choose at least one kind of help.",
    "needs.empty": lambda name, known, **_v: f"{name}: empty value; give one of: {_known_codes(known)}.",
    "needs.unknown": lambda what, code, known, **_v: (f"Unknown {WHAT[what]}: {_printable(code)}; give one of: "
                                                      f"{_known_codes(known)}."),
    "place.bad": lambda **_v: "Type at least one letter of the place name.",
}, codes={"kinds.unknown": "unknown_service", "needs.empty": "empty_filter", "needs.unknown": "unknown_{name}"},
    options=("open_now", "limit", "within_km", "abroad"))
KINDS_FILTER = replace(API, order=("kinds",), says={k: v for k, v in API.says.items() if k != "kinds.none"})


def _known_kinds() -> set[str]:
    return {t["code"] for t in reference.service_types(get_read_session())}


def _region_param(raw: str | None, field: str = "region") -> str | None:
    if not raw:
        return None
    code = raw.strip().upper()
    if code not in {r["code"] for r in reference.regions(get_read_session())}:
        raise ApiError(f"Unknown region: {raw[:20]}. See /api/v1/regions.", field, code="unknown_region")
    return code


def _bbox_param(raw: str | None) -> Box | None:
    if not raw:
        return None
    try:
        return parse_bbox(raw)
    except BadBox as bad:
        raise ApiError(str(bad), "bbox") from None


def settlement_view(row: dict) -> dict:
    district = row.get("district")
    label = f"{row['name']} — {district}, {row['region_name']}" if district else f"{row['name']} — {row['region_name']}"
    return {"id": row["id"], "name": row["name"], "name_kk": row.get("name_kk") or None, "kind": row["kind"],
            "type": row.get("census_type"), "type_name": type_name(row.get("census_type"), row["kind"]),
            "district": district, "region": {"code": row["region_code"], "name": row["region_name"]},
            "label": label, "lat": round(row["lat"], 6), "lon": round(row["lon"], 6),
            "population": row["population"]}


def settlement_match_view(row: dict) -> dict:
    """A settlement found by a typed name, with how its name matches: exact, prefix or fuzzy."""
    return {**settlement_view(row), "match": row["match"]}


def place_error(place: PlaceMatch) -> ApiError:
    """A typed place that is not one settlement: 409 ambiguous with the namesakes, or 404 not_found with the
    closest names, as the error's `candidates`."""
    name, area = place.reading.name, " ".join(place.reading.area)
    details = {"name": name, "area": list(place.reading.area),
               "candidates": [settlement_match_view(r) for r in place.candidates[:PLACE_CANDIDATES]]}
    if place.status == AMBIGUOUS:
        return ApiError(f"Several places are named «{name}»: choose one of the candidates (settlement=<id>), or "
                        "add its district or region to q.", "q", code="ambiguous", status=409, details=details)
    return ApiError(f"No place is named «{name}»" + (f" in «{area}»" if area else "") +
                    "; the candidates are the closest names (settlement=<id>).", "q", code="not_found", status=404,
                    details=details)


def _typed_place(raw: str) -> tuple[int, list[dict]]:
    """The settlement a typed place names, and the other places it may have meant; an ApiError unless it names
    exactly one."""
    place = find_place(get_read_session(), raw, None, PLACE_CANDIDATES)
    if place.status != FOUND:
        raise place_error(place)
    return place.settlement["id"], [settlement_match_view(r) for r in place.candidates[:ALTERNATIVES]]


@bp.get("/health")
@bp.output(s.HealthOut, description="The service and its database are up; with replicas configured, also when "
                                    "only a replica answers (`database: read_only`: reads are served, writes 503)",
           status_code=200)
@bp.doc(responses={503: "The database is unreachable"})
def health():
    try:
        ping(get_session())
    except SQLAlchemyError as error:
        from ..errors import DATABASE_UNAVAILABLE, database_failure

        if read_routing().replica_for() is not None:  # a load balancer keeps this instance for the reads
            return jsonify({"status": "degraded", "database": "read_only"})
        response = jsonify({"status": "degraded", "database": "unavailable"})
        response.status_code = 503
        response.headers["Retry-After"] = str((database_failure(error) or DATABASE_UNAVAILABLE).retry_after_s)
        return response
    return jsonify({"status": "ok", "database": "ok"})


@bp.get("/service-types")
@bp.output(s.ServiceTypesOut)
def service_types():
    return jsonify({"results": reference.service_types(get_read_session())})


@bp.get("/regions")
@bp.output(s.RegionsOut)
def regions():
    return jsonify({"results": reference.regions(get_read_session())})


@bp.get("/settlements")
@bp.input(s.SettlementsQuery, location="query", arg_name="query")
@bp.output(s.SettlementsOut, links=s.SETTLEMENT_LINKS)
@bp.doc(responses=ERRORS)
def settlements(query):
    q = query["q"].strip()
    if not q:
        raise ApiError("Type at least one letter of the place name.", "q")
    rows = search_settlements(get_read_session(), q, _region_param(query.get("region")), query["limit"],
                              _region_param(query.get("prefer_region"), "prefer_region"))
    return jsonify({"results": [settlement_match_view(r) for r in rows]})


@bp.get("/nearest")
@bp.input(s.NearestArgs, location="query", arg_name="query")
@bp.output(s.NearestOut)
@bp.doc(responses=PLACE_ERRORS)
def nearest(query):
    asked = parse_nearest(query, API, _known_kinds())
    types, settlement_id, alternatives = asked.kinds, asked.settlement_id, []
    if asked.place is not None:
        settlement_id, alternatives = _typed_place(asked.place)
    q = asked.query(asked.lat or 0.0, asked.lon or 0.0,
                    outreach_equivalent_km=current_app.config["OUTREACH_EQUIVALENT_KM"])
    viewer = current_viewer()
    session = get_read_session()
    answer = nearest_services(session, q, locate=True, settlement_id=settlement_id, exact=viewer.sees_confidential)
    if answer is None:
        raise ApiError("No settlement with this id.", "settlement", code="not_found", status=404)
    mark_far(answer, far_limits(types, current_app.config["FAR_KM"], current_app.config["FAR_KM_BY_KIND"]))
    lines = (helplines(session, q, answer.region_code, exact=viewer.sees_confidential,
                       leave_out=frozenset(r["sal_id"] for r in answer.online)) if answer.nothing_near else [])
    audit_confidential_views(viewer, {r["location_id"] for r in answer.results + answer.online + lines
                                      if r["confidential"]})
    return jsonify({
        "origin": {"lat": answer.lat, "lon": answer.lon, "region": answer.region_code,
                   "settlement": settlement_view(answer.settlement) if answer.settlement else None,
                   "alternatives": alternatives},
        "results": [nearest_result_view(r, viewer) for r in answer.results],
        "online": [nearest_result_view(r, viewer) for r in answer.online],
        "nothing_near": answer.nothing_near, "far_km": answer.far_km, "abroad": answer.abroad,
        "helplines": [nearest_result_view(r, viewer) for r in lines],
    })


def organization_view(org: dict, viewer: Viewer) -> dict:
    """An organization with its locations (redacted for the viewer), services and phones."""
    phones = organization_phones(org, viewer)
    return {
        "id": org["id"], "name": org["name"], "legal_form": org["legal_form"], "description": org["description"],
        "website": org["website"], "email": org["email"],
        "verified_at": org["verified_at"].isoformat() if org["verified_at"] else None,
        "region": org["region_code"], "synthetic": org["is_synthetic"],
        "recheck": org.get("recheck_since") is not None,  # a family's report was confirmed: being checked again
        "locations": [location_view(loc, viewer) for loc in org["locations"]],
        "services": [{
            "id": sv["id"], "type": sv["type_code"], "type_name": sv["type_name"], "name": sv["name"] or None,
            "description": sv["description"], "delivery": sv["delivery"], "age_min_months": sv["age_min_months"],
            "age_max_months": sv["age_max_months"], "eligibility": sv["eligibility"],
            "capacity_total": sv["capacity_total"], "capacity_free": sv["capacity_free"],
            "capacity_updated_at": sv["capacity_updated_at"].isoformat() if sv["capacity_updated_at"] else None,
            "location_ids": sv["location_ids"] or [], "schedule": sv["schedule"],
            "outreach_radius_km": sv["outreach_radius_km"],
            "conditions": list(sv["conditions"] or []), "cost": sv["cost"], "cost_basis": list(sv["cost_basis"] or []),
        } for sv in org["services"]],
        "phones": [phone_view(p) for p in phones],
    }


def _feature(org: dict, viewer: Viewer) -> dict:
    view = organization_view(org, viewer)
    coords = [[loc["lon"], loc["lat"]] for loc in view["locations"]]
    geometry = ({"type": "Point", "coordinates": coords[0]} if len(coords) == 1
                else {"type": "MultiPoint", "coordinates": coords} if coords else None)
    return {"type": "Feature", "id": org["id"], "geometry": geometry, "properties": view}


@bp.get("/organizations")
@bp.input(s.OrganizationsQuery, location="query", arg_name="query")
@bp.output(s.FeatureCollectionOut, description="A GeoJSON FeatureCollection of published organizations",
           content_type="application/geo+json", links=s.ORGANIZATIONS_LINKS)
@bp.doc(responses=ERRORS)
def organizations(query):
    session = get_read_session()
    types = list(parse_nearest(query, KINDS_FILTER, _known_kinds()).kinds)
    region = _region_param(query.get("region"))
    bbox = _bbox_param(query.get("bbox"))
    limit, offset = query["limit"], query["offset"]
    viewer = current_viewer()
    orgs = find_organizations(session, region=region, service_types=types, bbox=bbox, limit=limit + 1,
                              offset=offset, exact=viewer.sees_confidential)
    audit_confidential_views(viewer, {loc["location_id"] for o in orgs[:limit] for loc in o["locations"]
                                      if loc["confidential"]})
    links = []
    if len(orgs) > limit:
        orgs = orgs[:limit]
        args = {k: v for k, v in request.args.items() if k != "offset"}
        links.append({"rel": "next", "type": "application/geo+json",
                      "href": url_for("api.organizations", _external=False, **args, offset=offset + limit)})
    body = {"type": "FeatureCollection", "features": [_feature(o, viewer) for o in orgs],
            "links": links, "numberReturned": len(orgs)}
    response = jsonify(body)
    response.mimetype = "application/geo+json"
    return response


@bp.get("/organizations/<int:org_id>")
@bp.output(s.OrganizationOut)
@bp.doc(responses=ERRORS)
def organization(org_id: int):
    if org_id > MAX_ID:
        raise ApiError("No organization with this id.", "id", code="not_found", status=404)
    org = organization_by_id(get_read_session(), org_id)
    if org is None:
        raise ApiError("No organization with this id.", "id", code="not_found", status=404)
    viewer = current_viewer()
    audit_confidential_views(viewer, {loc["location_id"] for loc in org["locations"] if loc["confidential"]})
    return jsonify(organization_view(org, viewer))
