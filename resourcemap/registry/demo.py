"""Demo data: the organizations named in the programme texts (data/demo/registry.json), and a generator of
synthetic organizations at real settlements, weighted by population, for demos and benchmarks.

Every record here is marked `is_synthetic`: the demo registry's phones and hours are invented even where the
organization is real, and pages that show such a record show a "demo data" banner."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from .write import SAL_WITH_COPIES, create_organization

SYNTHETIC_SOURCE = "synthetic"


def load_demo_registry(engine: Engine, path: Path) -> tuple[int, int]:
    """Add the demo organizations that are not in the database yet (matched by external id `demo:<key>`).
    Returns (added, already there). All or nothing."""
    orgs = json.loads(Path(path).read_text("utf-8"))
    added = present = 0
    with Session(engine) as session, session.begin():
        existing = set(session.execute(text(
            "SELECT external_id FROM organization WHERE external_id LIKE 'demo:%'")).scalars())
        for org in orgs:
            external_id = f"demo:{org['key']}"
            if external_id in existing:
                present += 1
                continue
            create_organization(session, {**org, "external_id": external_id, "synthetic": True,
                                          "locations": [{**loc, "approximate": True} for loc in org["locations"]],
                                          "services": [demo_needs(svc, n) for n, svc in enumerate(org["services"])]})
            added += 1
    return added, present


# The child's conditions and the cost shown by the demo (invented like the demo's phones and hours; every demo record
# carries the "demo data" banner): per kind of help, the conditions such services usually work with and the cost.
_DEMO_NEEDS = {
    "early_help": (("developmental_delay", "hearing", "vision", "motor", "autism", "down_syndrome", "complex_needs"),
                   "free", ("state_programme",)),
    "rehabilitation": (("motor", "complex_needs", "developmental_delay", "down_syndrome"), "free", ("referral",)),
    "psychological_help": (("autism", "developmental_delay"), "free", ()),
    "mobile_team": (("complex_needs", "motor"), "free", ("state_programme",)),
    "rental_point": (("motor", "complex_needs"), "free", ()),
    "family_support": ((), "free", ()), "legal_help": ((), "free", ()), "hotline": ((), "free", ()),
    "crisis_apartment": ((), "free", ()), "humanitarian_aid": ((), "free", ()), "parent_club": ((), "free", ()),
}


def demo_needs(svc: dict, n: int) -> dict:
    """A demo service with the conditions and cost of its kind (_DEMO_NEEDS) unless it names its own; every third
    psychological or rehabilitation service partly paid and with fewer conditions, so that the filters show a
    difference."""
    if "conditions" in svc or "cost" in svc or svc["type"] not in _DEMO_NEEDS:
        return svc
    conditions, cost, basis = _DEMO_NEEDS[svc["type"]]
    if svc["type"] in ("psychological_help", "rehabilitation") and n % 3 == 2:
        conditions, cost, basis = conditions[:1], "partly_paid", ()
    return {**svc, "conditions": list(conditions), "cost": cost, "cost_basis": list(basis)}


# Kinds of help and how common they are among synthetic services (rough shares of a real registry).
_TYPE_WEIGHTS = [
    ("family_support", 14), ("psychological_help", 14), ("rehabilitation", 10), ("early_help", 9),
    ("legal_help", 8), ("day_care", 7), ("parent_club", 6), ("humanitarian_aid", 6), ("social_nanny", 5),
    ("respite_care", 4), ("rental_point", 4), ("mobile_team", 4), ("palliative_care", 3), ("hotline", 2),
    ("crisis_apartment", 2), ("addiction_rehab", 2),
]

_GENERATE_SQL = """
CREATE TEMP TABLE syn_place ON COMMIT DROP AS
  SELECT id, geog, region_code, timezone,
         sum(greatest(coalesce(population, 300), 100)::float8) OVER (ORDER BY id) AS cum
  FROM settlement {region_filter};
CREATE INDEX ON syn_place (cum);
CREATE TEMP TABLE syn_type ON COMMIT DROP AS
  SELECT code, sum(weight) OVER (ORDER BY ord) / sum(weight) OVER () AS cum
  FROM unnest(CAST(:type_codes AS text[]), CAST(:type_weights AS float8[])) WITH ORDINALITY AS t(code, weight, ord);
CREATE TEMP TABLE syn ON COMMIT DROP AS
  SELECT g.n, nextval('organization_id_seq') AS org_id, nextval('location_id_seq') AS loc_id,
         p.id AS settlement_id, p.region_code, p.timezone,
         ST_Project(p.geog, 4000 * sqrt(g.r_dist), 2 * pi() * g.r_az) AS geog,
         g.r_services
  FROM (SELECT n, random() AS r_pick, random() AS r_dist, random() AS r_az, random() AS r_services
        FROM generate_series(1, :n) AS n) g
  CROSS JOIN LATERAL (SELECT * FROM syn_place WHERE syn_place.cum >= g.r_pick * :total ORDER BY cum LIMIT 1) p;
INSERT INTO organization (id, name, description, status, verified_at, source, external_id, region_code, is_synthetic)
  SELECT org_id, 'Демо-организация №' || n, 'Синтетическая запись для демонстрации и тестов.', 'published',
         current_date - (n % 400), :source, 'synthetic:' || n, region_code, true
  FROM syn;
INSERT INTO location (id, organization_id, name, address, settlement_id, geog, confidential, approximate,
                      timezone, region_code)
  SELECT loc_id, org_id, 'Отделение №' || n, 'ул. Демонстрационная, ' || (n % 97 + 1), settlement_id, geog,
         false, false, timezone, region_code
  FROM syn;
CREATE TEMP TABLE syn_service ON COMMIT DROP AS
  SELECT nextval('service_id_seq') AS service_id, s.org_id, s.loc_id, s.n, k, t.code,
         CASE WHEN t.code IN ('mobile_team', 'palliative_care') OR r.r_delivery < 0.06 THEN 'outreach'
              WHEN t.code = 'hotline' OR r.r_delivery > 0.98 THEN 'online' ELSE 'on_site' END AS delivery,
         r.r_age
  FROM syn s
  CROSS JOIN LATERAL generate_series(1, 1 + (s.r_services < 0.35)::int + (s.r_services < 0.10)::int) AS k
  CROSS JOIN LATERAL (SELECT random() AS r_type, random() AS r_delivery, random() AS r_age
                      WHERE k IS NOT NULL AND s.n IS NOT NULL) r
  CROSS JOIN LATERAL (SELECT code FROM syn_type WHERE syn_type.cum >= r.r_type ORDER BY cum LIMIT 1) t;
INSERT INTO service (id, organization_id, type_code, name, description, age_min_months, age_max_months, delivery,
                     capacity_total, capacity_free, capacity_updated_at, hours, conditions, cost)
  SELECT service_id, org_id, code, '', '', CASE WHEN r_age < 0.3 THEN 0 END,
         CASE WHEN r_age < 0.3 THEN 36 WHEN r_age < 0.6 THEN 84 END, delivery,
         CASE WHEN code IN ('crisis_apartment', 'rental_point') THEN 5 + (n % 20) END,
         CASE WHEN code IN ('crisis_apartment', 'rental_point') THEN n % 5 END,
         CASE WHEN code IN ('crisis_apartment', 'rental_point') THEN now() - make_interval(days => n % 30) END,
         -- every second service: Monday to Friday 09:00-18:00 (registry/hours.py)
         CASE WHEN n % 2 = 0 THEN '{{[540,1080),[1980,2520),[3420,3960),[4860,5400),[6300,6840)}}'::int4multirange END,
         -- the child's conditions: two or three of the seven for the kinds that work with them (registry/vocabulary)
         CASE WHEN code IN ('early_help', 'rehabilitation', 'day_care', 'respite_care', 'mobile_team',
                            'palliative_care', 'social_nanny', 'psychological_help')
              THEN ARRAY(SELECT c FROM unnest(ARRAY['hearing', 'vision', 'motor', 'autism', 'down_syndrome',
                                                    'developmental_delay', 'complex_needs']) WITH ORDINALITY u(c, i)
                         WHERE (service_id * 5 + i * 3) % 7 < 3 ORDER BY i)
              ELSE '{{}}' END,
         CASE WHEN service_id % 10 < 5 THEN 'free' WHEN service_id % 10 < 7 THEN 'partly_paid'
              WHEN service_id % 10 < 9 THEN 'paid' END
  FROM syn_service;
UPDATE location l SET confidential = true
  FROM syn_service s WHERE s.loc_id = l.id AND s.code = 'crisis_apartment';
{sal_with_copies};
INSERT INTO service_area (service_id, radius_km, area)
  SELECT s.service_id, 20 + (s.n % 5) * 20, ST_Buffer(l.geog, (20 + (s.n % 5) * 20) * 1000.0, 'quad_segs=8')
  FROM syn_service s JOIN location l ON l.id = s.loc_id WHERE s.delivery = 'outreach';
INSERT INTO service_area (service_id, region_code)
  SELECT s.service_id, l.region_code FROM syn_service s JOIN location l ON l.id = s.loc_id
  WHERE s.delivery = 'online';
INSERT INTO phone (organization_id, number, kind)
  SELECT org_id,
         CASE WHEN region_code LIKE 'KZ-%' THEN '+77172' || lpad((n % 1000000)::text, 6, '0')
              ELSE '+7495' || lpad((n % 10000000)::text, 7, '0') END,
         'main'
  FROM syn;
"""


def generate_synthetic(engine: Engine, locations: int, seed: float = 0.42, regions: list[str] | None = None) -> int:
    """Add `locations` synthetic organizations (one location each, one to three services) at real settlements,
    chosen with probability proportional to population, points scattered within 4 km. Returns the count."""
    if locations <= 0:
        return 0
    region_filter = "WHERE region_code = ANY(CAST(:regions AS text[]))" if regions else ""
    with engine.begin() as conn:
        conn.execute(text("SELECT setseed(:seed)"), {"seed": seed})
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        conn.execute(text("SET LOCAL statement_timeout = 0"))
        # Generated filler is not curators' work: the change history (migration 0008) does not record it.
        conn.execute(text("SELECT set_config('resourcemap.history', 'off', true)"))
        params = {"regions": regions, "n": locations, "source": SYNTHETIC_SOURCE,
                  "type_codes": [c for c, _ in _TYPE_WEIGHTS], "type_weights": [float(w) for _, w in _TYPE_WEIGHTS]}
        sal_with_copies = SAL_WITH_COPIES.format(pairs="(SELECT service_id, loc_id AS location_id FROM syn_service)")
        script = _GENERATE_SQL.format(region_filter=region_filter, sal_with_copies=sal_with_copies.strip())
        statements = [s.strip() for s in script.split(";\n") if s.strip()]
        for statement in statements:
            if "syn_place WHERE syn_place.cum >= g.r_pick * :total" in statement:
                params["total"] = conn.execute(text("SELECT max(cum) FROM syn_place")).scalar()
                if params["total"] is None:
                    raise ValueError("no settlements loaded for the chosen regions")
            conn.execute(text(statement), params)
        conn.execute(text("ANALYZE organization; ANALYZE location; ANALYZE service; ANALYZE service_at_location;"
                          " ANALYZE service_area; ANALYZE phone"))
    return locations


def delete_synthetic(engine: Engine) -> int:
    """Remove every generated synthetic organization (not the demo registry). Returns how many."""
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL statement_timeout = 0"))
        conn.execute(text("SELECT set_config('resourcemap.history', 'off', true)"))
        org_ids = f"SELECT id FROM organization WHERE source = '{SYNTHETIC_SOURCE}'"
        conn.execute(text(f"DELETE FROM service_at_location WHERE location_id IN "
                          f"(SELECT id FROM location WHERE organization_id IN ({org_ids}))"))
        conn.execute(text(f"DELETE FROM service WHERE organization_id IN ({org_ids})"))
        conn.execute(text(f"DELETE FROM phone WHERE organization_id IN ({org_ids})"))
        conn.execute(text(f"DELETE FROM location WHERE organization_id IN ({org_ids})"))
        return conn.execute(text(f"DELETE FROM organization WHERE source = '{SYNTHETIC_SOURCE}'")).rowcount
