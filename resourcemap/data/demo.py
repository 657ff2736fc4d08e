"""The demo data's SQL (registry/demo.py): which demo organizations are loaded already, and the synthetic
generator's draw — settlements weighted by population, kinds of help by their shares — made in temporary tables
(syn_*) and turned into the bulk path's staging tables (data/bulk.py), which write the registry."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from . import bulk

_DEMO_EXTERNAL_IDS = text("SELECT external_id FROM organization WHERE external_id LIKE 'demo:%'")
_SEED = text("SELECT setseed(:seed)")

# Settlements with their cumulative population weight (villages without a count weigh 300, none under 100).
_PLACES = """
CREATE TEMP TABLE syn_place ON COMMIT DROP AS
  SELECT id, geog, region_code, timezone,
         sum(greatest(coalesce(population, 300), 100)::float8) OVER (ORDER BY id) AS cum
  FROM settlement {region_filter}
"""
_PLACES_ALL = text(_PLACES.format(region_filter=""))
_PLACES_OF_REGIONS = text(_PLACES.format(region_filter="WHERE region_code = ANY(CAST(:regions AS text[]))"))
_PLACES_INDEX = text("CREATE INDEX ON syn_place (cum)")
_PLACES_TOTAL = text("SELECT max(cum) FROM syn_place")
_TYPES = text("""
CREATE TEMP TABLE syn_type ON COMMIT DROP AS
  SELECT code, sum(weight) OVER (ORDER BY ord) / sum(weight) OVER () AS cum
  FROM unnest(CAST(:type_codes AS text[]), CAST(:type_weights AS float8[])) WITH ORDINALITY AS t(code, weight, ord)
""")
# One organization with one location per n, at a settlement drawn by weight, scattered within 4 km of it.
_DRAW = text("""
CREATE TEMP TABLE syn ON COMMIT DROP AS
  SELECT g.n, nextval('organization_id_seq') AS org_id, nextval('location_id_seq') AS loc_id,
         p.id AS settlement_id, p.region_code, p.timezone,
         ST_Project(p.geog, 4000 * sqrt(g.r_dist), 2 * pi() * g.r_az) AS geog,
         g.r_services
  FROM (SELECT n, random() AS r_pick, random() AS r_dist, random() AS r_az, random() AS r_services
        FROM generate_series(1, :n) AS n) g
  CROSS JOIN LATERAL (SELECT * FROM syn_place WHERE syn_place.cum >= g.r_pick * :total ORDER BY cum LIMIT 1) p
""")
# One to three services per location, their kind drawn by share, their delivery by kind (or by chance).
_DRAW_SERVICES = text("""
CREATE TEMP TABLE syn_service ON COMMIT DROP AS
  SELECT nextval('service_id_seq') AS service_id, s.org_id, s.loc_id, s.n, k, t.code,
         CASE WHEN t.code IN ('mobile_team', 'palliative_care') OR r.r_delivery < 0.06 THEN 'outreach'
              WHEN t.code = 'hotline' OR r.r_delivery > 0.98 THEN 'online' ELSE 'on_site' END AS delivery,
         r.r_age
  FROM syn s
  CROSS JOIN LATERAL generate_series(1, 1 + (s.r_services < 0.35)::int + (s.r_services < 0.10)::int) AS k
  CROSS JOIN LATERAL (SELECT random() AS r_type, random() AS r_delivery, random() AS r_age
                      WHERE k IS NOT NULL AND s.n IS NOT NULL) r
  CROSS JOIN LATERAL (SELECT code FROM syn_type WHERE syn_type.cum >= r.r_type ORDER BY cum LIMIT 1) t
""")

# The staging tables' rows (data/bulk.py STAGING, columns in order).
_ORGANIZATIONS = """
SELECT org_id, 'synthetic:' || n, 'Демо-организация №' || n, '', 'Синтетическая запись для демонстрации и тестов.',
       '', '', 'published', current_date - (n % 400), :source, region_code, true
FROM syn
"""
# A location offering a crisis apartment is confidential.
_LOCATIONS = """
SELECT syn.loc_id, org_id, NULL, 'Отделение №' || n, 'ул. Демонстрационная, ' || (n % 97 + 1), settlement_id,
       ST_Y(geog::geometry), ST_X(geog::geometry), crisis.loc_id IS NOT NULL, false, '', timezone, region_code, true
FROM syn LEFT JOIN (SELECT DISTINCT loc_id FROM syn_service WHERE code = 'crisis_apartment') crisis
     ON crisis.loc_id = syn.loc_id
"""
_SERVICES = """
SELECT service_id, org_id, loc_id, NULL, code, '', '', CASE WHEN r_age < 0.3 THEN 0 END,
       CASE WHEN r_age < 0.3 THEN 36 WHEN r_age < 0.6 THEN 84 END, '', delivery,
       CASE WHEN code IN ('crisis_apartment', 'rental_point') THEN 5 + (n % 20) END,
       CASE WHEN code IN ('crisis_apartment', 'rental_point') THEN n % 5 END,
       CASE WHEN code IN ('crisis_apartment', 'rental_point') THEN now() - make_interval(days => n % 30) END,
       true,
       -- the child's conditions: two or three of the seven for the kinds that work with them (registry/vocabulary)
       CASE WHEN code IN ('early_help', 'rehabilitation', 'day_care', 'respite_care', 'mobile_team',
                          'palliative_care', 'social_nanny', 'psychological_help')
            THEN ARRAY(SELECT c FROM unnest(ARRAY['hearing', 'vision', 'motor', 'autism', 'down_syndrome',
                                                  'developmental_delay', 'complex_needs']) WITH ORDINALITY u(c, i)
                       WHERE (service_id * 5 + i * 3) % 7 < 3 ORDER BY i)
            ELSE '{}' END,
       CASE WHEN service_id % 10 < 5 THEN 'free' WHEN service_id % 10 < 7 THEN 'partly_paid'
            WHEN service_id % 10 < 9 THEN 'paid' END,
       '{}',
       -- every second service: Monday to Friday 09:00-18:00 (registry/hours.py)
       CASE WHEN n % 2 = 0 THEN '{[540,1080),[1980,2520),[3420,3960),[4860,5400),[6300,6840)}' END
FROM syn_service
"""
# Outreach: a radius of 20 to 100 km; online: the location's region.
_AREAS = """
SELECT s.service_id, s.loc_id, s.delivery, CASE WHEN s.delivery = 'outreach' THEN 20 + (s.n % 5) * 20 END,
       l.region_code, true
FROM syn_service s JOIN location l ON l.id = s.loc_id WHERE s.delivery IN ('outreach', 'online')
"""
_PHONES = """
SELECT n, org_id, NULL,
       CASE WHEN region_code LIKE 'KZ-%' THEN '+77172' || lpad((n % 1000000)::text, 6, '0')
            ELSE '+7495' || lpad((n % 10000000)::text, 7, '0') END,
       'main', ''
FROM syn
"""


def demo_external_ids(session: Session) -> set[str]:
    """The external ids (demo:<key>) of the demo organizations loaded already."""
    return set(session.execute(_DEMO_EXTERNAL_IDS).scalars())


def draw_synthetic(session: Session, n: int, seed: float, regions: list[str] | None,
                   type_weights: list[tuple[str, float]]) -> None:
    """The random draw of n synthetic organizations (syn, syn_service), repeatable for a seed. ValueError when no
    settlement is loaded for the regions."""
    session.execute(_SEED, {"seed": seed})
    session.execute(_PLACES_OF_REGIONS if regions else _PLACES_ALL, {"regions": regions})
    session.execute(_PLACES_INDEX)
    session.execute(_TYPES, {"type_codes": [c for c, _ in type_weights],
                             "type_weights": [float(w) for _, w in type_weights]})
    total = session.execute(_PLACES_TOTAL).scalar()
    if total is None:
        raise ValueError("no settlements loaded for the chosen regions")
    session.execute(_DRAW, {"n": n, "total": total})
    session.execute(_DRAW_SERVICES)


def stage_organizations(session: Session, source: str) -> None:
    """The drawn organizations (with their ids) in the bulk path's staging table."""
    bulk.stage_query(session, "staged_organization", _ORGANIZATIONS, {"source": source})


def stage_locations(session: Session) -> None:
    """The drawn locations in the bulk path's staging table."""
    bulk.stage_query(session, "staged_location", _LOCATIONS, {})


def stage_services(session: Session) -> None:
    """The drawn services in the bulk path's staging table."""
    bulk.stage_query(session, "staged_service", _SERVICES, {})


def stage_areas(session: Session) -> None:
    """The drawn services' areas (outreach radius, online region) in the bulk path's staging table."""
    bulk.stage_query(session, "staged_area", _AREAS, {})


def stage_phones(session: Session) -> None:
    """One phone per drawn organization in the bulk path's staging table."""
    bulk.stage_query(session, "staged_phone", _PHONES, {})
