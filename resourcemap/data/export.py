"""The rows of a registry export (exchange/exporting.py): one per service at its first location, with its hours,
areas, place, organization and phones, unredacted (search/redaction.py hides what the viewer may not see)."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from .writes import FIRST_PLACE

# One pass over the regions' phones (phone has no index on location_id: a subquery per location would scan it
# for every row).
_ROWS = text(f"""
WITH org AS (SELECT * FROM organization o
             WHERE CAST(:regions AS text[]) IS NULL OR o.region_code = ANY(CAST(:regions AS text[]))),
     phones AS (SELECT p.organization_id, p.location_id,
                       array_agg(array[p.number, p.kind, p.extension, p.note, p.id::text] ORDER BY p.id) AS list
                FROM phone p WHERE p.organization_id IN (SELECT id FROM org) AND p.service_id IS NULL
                GROUP BY p.organization_id, p.location_id)
SELECT s.id AS service_id, s.external_id AS service_external_id, s.type_code, s.name AS service_name,
       s.description, s.eligibility, s.age_min_months, s.age_max_months, s.delivery, s.capacity_total,
       s.capacity_free, s.active AS service_active, s.conditions, s.cost, s.cost_basis,
       coalesce((SELECT array_agg(array[sc.weekday, sc.opens_minute, sc.closes_minute]
                                  ORDER BY sc.weekday, sc.opens_minute, sc.closes_minute)
                 FROM schedule sc WHERE sc.service_id = s.id), '{{}}') AS slots,
       (SELECT min(a.radius_km) FROM service_area a WHERE a.service_id = s.id AND a.radius_km IS NOT NULL)
         AS radius_km,
       (SELECT ST_AsGeoJSON((array_agg(a.area ORDER BY a.id))[1], 6) FROM service_area a
         WHERE a.service_id = s.id AND a.radius_km IS NULL AND a.area IS NOT NULL) AS drawn_area,
       coalesce((SELECT array_agg(a.region_code ORDER BY a.region_code) FROM service_area a
                 WHERE a.service_id = s.id AND a.region_code IS NOT NULL), '{{}}') AS area_regions,
       l.id AS location_id, l.external_id AS location_external_id, l.name AS location_name, l.address,
       st.name_ru AS settlement, ST_Y(l.geog::geometry) AS lat, ST_X(l.geog::geometry) AS lon, l.confidential,
       l.accessibility, l.active AS location_active, l.region_code AS location_region, l.timezone,
       coalesce(location_phones.list, '{{}}') AS location_phones,
       o.id AS organization_id, o.external_id AS organization_external_id, o.name AS organization,
       o.legal_form, o.description AS organization_description, o.website, o.email, o.status, o.verified_at,
       o.region_code,
       coalesce(organization_phones.list, '{{}}') AS organization_phones
FROM org o
JOIN service s ON s.organization_id = o.id
JOIN location l ON l.id = {FIRST_PLACE.format(service="s.id")}
LEFT JOIN settlement st ON st.id = l.settlement_id
LEFT JOIN phones location_phones ON location_phones.location_id = l.id
LEFT JOIN phones organization_phones
  ON organization_phones.organization_id = o.id AND organization_phones.location_id IS NULL
WHERE :everything OR (o.status = 'published' AND s.active AND l.active)
ORDER BY o.id, l.id, s.id
""")


def registry_rows(session: Session, region_codes: list[str] | None, everything: bool) -> list[dict]:
    """The export rows of these regions (all when None), by organization, location, service: published and active
    entries only, unless `everything` (staff: drafts and deactivated entries too)."""
    return [dict(r) for r in session.execute(_ROWS, {"regions": region_codes, "everything": everything}).mappings()]
