"""Published organizations for the map and the organization page: by region, kind of help and bounding box.
Deactivated locations and services are left out (curators see them in their editor).

The bbox filter (data/map.py's in_box) reads the public points of map_point (migration 0009), so a confidential
place is found in a box only by its public point; for staff (`exact`) confidential places are found by their exact
point (ix_location_confidential_geom, migration 0015)."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from .map import Box, in_box

# The organizations with a published location in a box: at its public point, or (staff) a confidential one at its
# exact point.
_IN_BOX = {
    False: "o.id IN (SELECT p.organization_id FROM map_point p WHERE {points})",
    True: "(o.id IN (SELECT p.organization_id FROM map_point p WHERE NOT p.confidential AND {points})"
          " OR o.id IN (SELECT l.organization_id FROM location l WHERE l.confidential AND l.active AND {exact}))",
}

_LOCATIONS_SQL = """
SELECT l.id AS location_id, l.organization_id, l.name AS location_name, l.address, l.confidential,
       l.approximate, l.timezone, l.region_code, ST_Y(l.geog::geometry) AS lat, ST_X(l.geog::geometry) AS lon,
       st.id AS settlement_id, st.name_ru AS settlement_name, st.name_kk AS settlement_name_kk
FROM location l LEFT JOIN settlement st ON st.id = l.settlement_id
WHERE l.organization_id = ANY(CAST(:org_ids AS int[])) AND l.active
ORDER BY l.organization_id, l.id
"""

_SERVICES_SQL = """
SELECT s.id, s.organization_id, s.type_code, t.name_ru AS type_name, s.name, s.description, s.delivery,
       s.age_min_months, s.age_max_months, s.eligibility, s.capacity_total, s.capacity_free,
       s.capacity_updated_at, s.conditions, s.cost, s.cost_basis,
       (SELECT array_agg(sal.location_id ORDER BY sal.location_id) FROM service_at_location sal
         WHERE sal.service_id = s.id) AS location_ids,
       (SELECT coalesce(json_agg(json_build_object('weekday', sc.weekday, 'opens_minute', sc.opens_minute,
                                                   'closes_minute', sc.closes_minute)
                                 ORDER BY sc.weekday, sc.opens_minute), '[]')
          FROM schedule sc WHERE sc.service_id = s.id) AS schedule,
       (SELECT max(a.radius_km) FROM service_area a WHERE a.service_id = s.id) AS outreach_radius_km
FROM service s JOIN taxonomy_term t ON t.code = s.type_code
WHERE s.organization_id = ANY(CAST(:org_ids AS int[])) AND s.active
ORDER BY s.organization_id, t.position, s.id
"""

_PHONES_SQL = """
SELECT p.organization_id, p.service_id, p.location_id, p.number, p.kind, p.note
FROM phone p WHERE p.organization_id = ANY(CAST(:org_ids AS int[]))
ORDER BY p.organization_id, p.kind <> 'intake', p.id
"""


def find_organizations(session: Session, *, region: str | None, service_types: list[str] | None,
                       bbox: Box | None, limit: int, offset: int, regions: list[str] | None = None,
                       statuses: tuple[str, ...] = ("published",), exact: bool = False) -> list[dict]:
    """Organizations of the given statuses (published by default), ordered by id, with their locations,
    services and phones; `regions` narrows to a set of regions (a curator's). `bbox` finds them by their
    locations' public points, or with `exact` (staff) by their exact points."""
    where = ["o.status = ANY(CAST(:statuses AS text[]))"]
    params: dict = {"limit": limit, "offset": offset, "statuses": list(statuses)}
    if region:
        where.append("o.region_code = :region")
        params["region"] = region
    if regions is not None:
        where.append("o.region_code = ANY(CAST(:regions AS text[]))")
        params["regions"] = regions
    if service_types:
        where.append("EXISTS (SELECT 1 FROM service s WHERE s.organization_id = o.id AND s.active"
                     " AND s.type_code = ANY(CAST(:types AS text[])))")
        params["types"] = service_types
    if bbox:
        box_params, points = in_box(bbox)
        exact_points = in_box(bbox, "CAST(l.geog AS geometry)", "ST_X(CAST(l.geog AS geometry))",
                              "ST_Y(CAST(l.geog AS geometry))")[1]
        where.append(_IN_BOX[exact].format(points=points, exact=exact_points))
        params.update(box_params)
    sql = (f"SELECT o.id, o.name, o.legal_form, o.description, o.website, o.email, o.verified_at, o.region_code,"
           f" o.is_synthetic, o.status, o.recheck_since FROM organization o WHERE {' AND '.join(where)} ORDER BY o.id LIMIT :limit OFFSET :offset")
    orgs = [dict(r) for r in session.execute(text(sql), params).mappings()]
    return _with_parts(session, orgs)


def organization_by_id(session: Session, org_id: int, published_only: bool = True) -> dict | None:
    """One organization with its parts (only a published one unless `published_only` is False), or None."""
    row = session.execute(text(
        "SELECT o.id, o.name, o.legal_form, o.description, o.website, o.email, o.verified_at, o.region_code,"
        " o.is_synthetic, o.status, o.recheck_since FROM organization o"
        " WHERE o.id = :id AND (o.status = 'published' OR NOT :published_only)"),
        {"id": org_id, "published_only": published_only}).mappings().first()
    return _with_parts(session, [dict(row)])[0] if row else None


def _with_parts(session: Session, orgs: list[dict]) -> list[dict]:
    ids = [o["id"] for o in orgs]
    by_id = {o["id"]: o for o in orgs}
    for o in orgs:
        o.update(locations=[], services=[], phones=[])
    if not ids:
        return orgs
    for part, sql in (("locations", _LOCATIONS_SQL), ("services", _SERVICES_SQL), ("phones", _PHONES_SQL)):
        for r in session.execute(text(sql), {"org_ids": ids}).mappings():
            by_id[r["organization_id"]][part].append(dict(r))
    return orgs
