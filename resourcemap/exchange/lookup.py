"""What the registry holds now for the rows of an import: entries matched by external id, and their stored values
to compare with the file. Each question is one set-based query over arrays of keys or ids.

External ids: a service, location or organization is matched by its `external_id`, or, when it has none, by the
id an export wrote for it (`rm-s<id>`, `rm-l<id>`, `rm-o<id>`), so that an exported region imports back onto
itself unchanged."""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.orm import Session

from .columns import Phone

EXPORT_PREFIX = {"organization": "rm-o", "location": "rm-l", "service": "rm-s"}


def int_array(values) -> str:
    """A PostgreSQL array literal of integers (NULL for None): far cheaper to send than a list of Python ints."""
    return "{" + ",".join(["NULL" if v is None else str(int(v)) for v in values]) + "}"


def float_array(values) -> str:
    return "{" + ",".join([repr(float(v)) for v in values]) + "}"


_QUOTED = str.maketrans({"\\": "\\\\", '"': '\\"'})


def text_array(values) -> str:
    """A PostgreSQL array literal of strings (NULL for None), each quoted with backslashes and quotes escaped: a
    tenth of the cost of psycopg adapting a list of 100,000 strings."""
    return "{" + ",".join(["NULL" if v is None else '"' + v.translate(_QUOTED) + '"' for v in values]) + "}"


def records(result, **extra) -> Iterator[dict]:
    """The rows of a result as dicts (column -> value), each with the extra items: what dict(row) of .mappings()
    gives, at half the cost."""
    columns = tuple(result.keys())
    for row in result.fetchall():  # one fetch: iterating the result fetches row by row
        yield dict(zip(columns, row), **extra)


def export_key(entity: str, row_id: int, external_id: str | None) -> str:
    """The external id an export writes for a row: its own, else rm-<letter><id>."""
    return external_id or f"{EXPORT_PREFIX[entity]}{row_id}"


# A service's (first) location. Written as an aggregate so that the planner uses the index on service_id: with
# "ORDER BY sal.id LIMIT 1" (or min(sal.id)) it may walk the primary key instead, which right after a bulk insert
# (no statistics yet) reads the whole table for every service.
FIRST_PLACE = ("(SELECT (array_agg(sal.location_id ORDER BY sal.id))[1] FROM service_at_location sal"
               " WHERE sal.service_id = {service})")


def _match_sql(table: str, columns: str, joins: str = "") -> str:
    prefix = EXPORT_PREFIX[table]
    return f"""
WITH k AS (SELECT DISTINCT key FROM unnest(CAST(:keys AS text[])) AS k(key))
SELECT k.key, true AS own, {columns} FROM k JOIN {table} t ON t.external_id = k.key {joins}
UNION ALL
SELECT k.key, false AS own, {columns} FROM k JOIN {table} t
  ON k.key ~ '^{prefix}[0-9]{{1,9}}$' AND t.id = CAST(substr(k.key, {len(prefix) + 1}) AS int) {joins}
WHERE t.external_id IS NULL
"""


_MATCH_SERVICES = text(_match_sql(
    "service", f"t.id, t.organization_id, o.region_code, {FIRST_PLACE.format(service='t.id')} AS location_id",
    "JOIN organization o ON o.id = t.organization_id"))
_MATCH_ORGANIZATIONS = text(_match_sql("organization", "t.id, t.region_code"))
_MATCH_LOCATIONS = text(_match_sql("location", "t.id, t.organization_id, t.region_code"))


def _match(session: Session, sql, keys) -> dict[str, dict]:
    found: dict[str, dict] = {}
    if not keys:
        return found
    for row in records(session.execute(sql, {"keys": text_array(sorted(set(keys)))})):
        if row["key"] not in found or row["own"]:  # a row's own external id wins over an export id
            found[row["key"]] = row
    return found


def match_services(session: Session, keys) -> dict[str, dict]:
    """key -> {id, organization_id, region_code (its organization's), location_id}."""
    return _match(session, _MATCH_SERVICES, keys)


def match_organizations(session: Session, keys) -> dict[str, dict]:
    """key -> {id, region_code}."""
    return _match(session, _MATCH_ORGANIZATIONS, keys)


def match_locations(session: Session, keys) -> dict[str, dict]:
    """key -> {id, organization_id, region_code}."""
    return _match(session, _MATCH_LOCATIONS, keys)


def lock_organizations(session: Session, ids) -> None:
    """Row locks on the organizations an import will write (in id order, so two imports cannot deadlock); an
    editor's save of the same organization waits, then meets a moved version."""
    if ids:
        session.execute(text("SELECT id FROM organization WHERE id = ANY(CAST(:ids AS int[])) ORDER BY id FOR UPDATE"),
                        {"ids": int_array(sorted(ids))})


_ORGANIZATIONS = text("""
SELECT o.id, o.external_id, o.name, o.legal_form, o.description, o.website, o.email, o.status, o.verified_at,
       o.region_code,
       coalesce((SELECT array_agg(array[p.number, p.kind, p.extension, p.id::text] ORDER BY p.id) FROM phone p
                 WHERE p.organization_id = o.id AND p.location_id IS NULL AND p.service_id IS NULL),
                '{}') AS phones
FROM organization o WHERE o.id = ANY(CAST(:ids AS int[]))
""")
# Phones are found through their organization (phone has no index on location_id).
_LOCATIONS = text("""
WITH wanted AS (SELECT l.* FROM location l WHERE l.id = ANY(CAST(:ids AS int[]))),
     phones AS (SELECT p.location_id, array_agg(array[p.number, p.kind, p.extension, p.id::text] ORDER BY p.id) AS list
                FROM phone p
                WHERE p.organization_id IN (SELECT organization_id FROM wanted) AND p.location_id IS NOT NULL
                  AND p.service_id IS NULL
                GROUP BY p.location_id)
SELECT l.id, l.organization_id, l.external_id, l.name, l.address, l.settlement_id, st.name_ru AS settlement,
       l.timezone, ST_Y(l.geog::geometry) AS lat, ST_X(l.geog::geometry) AS lon, l.confidential, l.accessibility,
       l.active, l.region_code, coalesce(phones.list, '{}') AS phones
FROM wanted l LEFT JOIN settlement st ON st.id = l.settlement_id LEFT JOIN phones ON phones.location_id = l.id
""")
_SERVICES = text(f"""
SELECT s.id, s.organization_id, s.external_id, s.type_code AS type, s.name, s.description, s.eligibility,
       s.age_min_months, s.age_max_months, s.delivery, s.capacity_total, s.capacity_free, s.active,
       s.conditions, s.cost, s.cost_basis,
       {FIRST_PLACE.format(service="s.id")} AS location_id,
       s.hours::text AS hours,
       (SELECT min(a.radius_km) FROM service_area a WHERE a.service_id = s.id AND a.radius_km IS NOT NULL)
         AS radius_km,
       EXISTS (SELECT 1 FROM service_area a WHERE a.service_id = s.id AND a.radius_km IS NULL
               AND a.area IS NOT NULL) AS drawn_area,
       EXISTS (SELECT 1 FROM service_area a WHERE a.service_id = s.id AND a.region_code IS NOT NULL)
         AS region_area
FROM service s WHERE s.id = ANY(CAST(:ids AS int[]))
""")


def _phones(rows) -> tuple[list[Phone], list[int]]:
    return [Phone(r[0], r[1], r[2]) for r in rows], [int(r[3]) for r in rows]


def organizations(session: Session, ids) -> dict[int, dict]:
    out = {}
    for org in records(session.execute(_ORGANIZATIONS, {"ids": int_array(sorted(ids))})):
        org["phones"], org["phone_ids"] = _phones(org["phones"])
        out[org["id"]] = org
    return out


def locations(session: Session, ids) -> dict[int, dict]:
    out = {}
    for loc in records(session.execute(_LOCATIONS, {"ids": int_array(sorted(ids))})):
        loc["phones"], loc["phone_ids"] = _phones(loc["phones"])
        out[loc["id"]] = loc
    return out


def services(session: Session, ids) -> dict[int, dict]:
    out = {}
    for svc in records(session.execute(_SERVICES, {"ids": int_array(sorted(ids))})):
        out[svc["id"]] = svc
    return out


def taxonomy(session: Session) -> list[tuple[str, str, str]]:
    rows = session.execute(text("SELECT code, name_ru, name_en FROM taxonomy_term ORDER BY position"))
    return [tuple(r) for r in rows]


def region(session: Session, code: str) -> dict | None:
    row = session.execute(text("SELECT code, name_ru, country, timezone FROM region WHERE code = :c"),
                          {"c": code}).mappings().first()
    return dict(row) if row else None


def region_names(session: Session) -> dict[str, str]:
    return dict(session.execute(text("SELECT code, name_ru FROM region")).all())
