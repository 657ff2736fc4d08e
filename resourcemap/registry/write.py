"""Writing the registry's rows: an organization with its locations, services, hours, areas and phones.

The SQL that inserts and updates registry rows lives here, shared by the demo loader (`create_organization`, which
reads the shape of data/demo/registry.json), the curators' editor (registry/edit.py) and tests. The nearest-help
copies in service_at_location and the change history are kept by database triggers (migrations 0001, 0008;
bulk writers may supply the copies with SAL_WITH_COPIES, 0010).
Nothing here commits."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from .hours import to_multirange
from .phones import to_e164
from .vocabulary import CONDITIONS, COST_BASES, ordered

_REGION_OF_POINT = text("SELECT rm_region_at(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 20000)")

_SETTLEMENT_NEAR = text("""
SELECT s.id, s.region_code, s.timezone FROM settlement s
WHERE ST_DWithin(s.geog, CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography), :radius_m)
ORDER BY (CAST(:name AS text) IS NOT NULL AND rm_name_norm(s.name_ru) = rm_name_norm(CAST(:name AS text))) DESC,
         s.geog <-> CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography)
LIMIT 1
""")

_POINT = "CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography)"

# Bulk writers (the spreadsheet import, the synthetic generator): service_at_location rows for the (service_id,
# location_id) pairs of `pairs` (a table or subquery, alias p), with the nearest-help copies computed here by one
# join, as rm_sal_fill would compute them row by row (migration 0010 skips it when `searchable` is given).
SAL_WITH_COPIES = """
INSERT INTO service_at_location (service_id, location_id, geog, timezone, confidential, type_code, delivery,
                                 age_min_months, age_max_months, conditions, cost, searchable)
SELECT s.id, l.id, l.geog, l.timezone, l.confidential, s.type_code, s.delivery, s.age_min_months, s.age_max_months,
       s.conditions, s.cost, s.active AND o.status = 'published' AND l.active
FROM {pairs} p JOIN service s ON s.id = p.service_id JOIN location l ON l.id = p.location_id
     JOIN organization o ON o.id = s.organization_id
ORDER BY p.service_id
"""

# The columns the editor may set, per table (update_row builds its SET clause from these names only).
EDITABLE_COLUMNS = {
    "organization": {"name", "legal_form", "description", "website", "email", "status", "verified_at", "source",
                     "external_id", "region_code"},
    "location": {"name", "address", "settlement_id", "confidential", "approximate", "accessibility", "timezone",
                 "region_code", "active", "external_id"},
    "service": {"type_code", "name", "description", "age_min_months", "age_max_months", "eligibility", "delivery",
                "capacity_total", "capacity_free", "active", "external_id", "hours", "conditions", "cost", "cost_basis"},
    "phone": {"number", "extension", "kind", "note", "location_id", "service_id"},
}

# Columns whose value is given as text: the weekly hours (registry/hours.py).
_CAST = {"hours": "int4multirange", "conditions": "text[]", "cost_basis": "text[]"}


def region_of_point(session: Session, lat: float, lon: float) -> str | None:
    """The region holding the point (or within 20 km of it, for simplified coasts and borders), else None."""
    return session.execute(_REGION_OF_POINT, {"lat": lat, "lon": lon}).scalar()


def settlement_near(session: Session, lat: float, lon: float, name: str | None = None,
                    radius_m: float = 30000) -> dict | None:
    """The settlement called `name` nearest the point, else the nearest settlement, within radius_m."""
    row = session.execute(_SETTLEMENT_NEAR, {"lat": lat, "lon": lon, "name": name, "radius_m": radius_m}).mappings().first()
    return dict(row) if row else None


def insert_organization(session: Session, org: dict) -> int:
    """One organization row (version 1); `region_code` is its first location's region. Returns the id."""
    return session.execute(text("""
        INSERT INTO organization (name, legal_form, description, website, email, status, verified_at, source,
                                  external_id, region_code, is_synthetic)
        VALUES (:name, :legal_form, :description, :website, :email, :status, :verified_at, :source,
                :external_id, :region, :synthetic) RETURNING id"""), {
        "name": org["name"], "legal_form": org.get("legal_form") or "", "description": org.get("description") or "",
        "website": org.get("website") or "", "email": org.get("email") or "", "status": org.get("status") or "published",
        "verified_at": org.get("verified_at"), "source": org.get("source") or "",
        "external_id": org.get("external_id"), "region": org["region_code"], "synthetic": org.get("synthetic", False),
    }).scalar_one()


def insert_location(session: Session, org_id: int, loc: dict) -> int:
    """One location; `loc` carries lat, lon, region_code and timezone already resolved. Returns the id."""
    return session.execute(text(f"""
        INSERT INTO location (organization_id, name, address, settlement_id, geog, confidential, approximate,
                              accessibility, timezone, region_code, active, external_id)
        VALUES (:org, :name, :address, :settlement, {_POINT}, :confidential, :approximate,
                :accessibility, :timezone, :region, :active, :external_id) RETURNING id"""), {
        "org": org_id, "name": loc.get("name") or "", "address": loc.get("address") or "",
        "settlement": loc.get("settlement_id"), "lat": loc["lat"], "lon": loc["lon"],
        "confidential": bool(loc.get("confidential")), "approximate": bool(loc.get("approximate")),
        "accessibility": loc.get("accessibility") or "", "timezone": loc["timezone"], "region": loc["region_code"],
        "active": loc.get("active", True) is not False, "external_id": loc.get("external_id"),
    }).scalar_one()


def move_location(session: Session, location_id: int, lat: float, lon: float) -> None:
    """A location's point (its region_code is set apart, by the caller)."""
    session.execute(text(f"UPDATE location SET geog = {_POINT} WHERE id = :id"),
                    {"id": location_id, "lat": lat, "lon": lon})


def insert_service(session: Session, org_id: int, svc: dict, location_id: int, location_region: str) -> int:
    """One service of the document shape (type, ages, delivery, schedule "HH:MM", outreach radius or drawn area,
    online regions) offered at one location. Returns the id."""
    service_id = session.execute(text("""
        INSERT INTO service (organization_id, type_code, name, description, age_min_months, age_max_months,
                             eligibility, delivery, capacity_total, capacity_free, capacity_updated_at, active,
                             external_id, hours, conditions, cost, cost_basis)
        VALUES (:org, :type, :name, :description, :age_min, :age_max, :eligibility, :delivery, :cap_total,
                :cap_free, CASE WHEN CAST(:cap_free AS int) IS NULL THEN NULL ELSE now() END, :active, :external_id,
                CAST(:hours AS int4multirange), CAST(:conditions AS text[]), :cost, CAST(:cost_basis AS text[]))
        RETURNING id"""), {
        "org": org_id, "type": svc["type"], "name": svc.get("name") or "", "description": svc.get("description") or "",
        "age_min": svc.get("age_min_months"), "age_max": svc.get("age_max_months"),
        "eligibility": svc.get("eligibility") or "", "delivery": svc.get("delivery") or "on_site",
        "cap_total": svc.get("capacity_total"), "cap_free": svc.get("capacity_free"),
        "active": svc.get("active", True) is not False, "external_id": svc.get("external_id"),
        "hours": to_multirange(svc.get("schedule") or []),
        # in the vocabulary's order, as the editor and the import write them: a save changes no order
        "conditions": _in_order(svc.get("conditions"), CONDITIONS), "cost": svc.get("cost") or None,
        "cost_basis": _in_order(svc.get("cost_basis"), COST_BASES),
    }).scalar_one()
    session.execute(text("INSERT INTO service_at_location (service_id, location_id) VALUES (:s, :l)"),
                    {"s": service_id, "l": location_id})
    for area in service_areas_of(svc, location_region):
        insert_service_area(session, service_id, location_id, area)
    return service_id


def _in_order(codes, vocabulary) -> list[str]:
    """Codes in the vocabulary's order; unknown ones kept after them, for the database's CHECK to refuse."""
    known = {t.code for t in vocabulary}
    return ordered(codes, vocabulary) + [c for c in codes or () if c not in known]


def service_areas_of(svc: dict, location_region: str) -> list[dict]:
    """The service_area rows a service of the document shape needs: a radius or a drawn area for outreach, the
    regions served for online (its location's region by default), none on site."""
    delivery = svc.get("delivery") or "on_site"
    if delivery == "outreach":
        if svc.get("area_geojson"):
            return [{"radius_km": None, "region_code": None, "area_geojson": svc["area_geojson"]}]
        if svc.get("outreach_radius_km"):
            return [{"radius_km": float(svc["outreach_radius_km"]), "region_code": None, "area_geojson": None}]
    if delivery == "online":
        return [{"radius_km": None, "region_code": r, "area_geojson": None}
                for r in (svc.get("regions") or [location_region])]
    return []


def insert_service_area(session: Session, service_id: int, location_id: int, area: dict) -> None:
    """A radius area is the buffer of the location's point; a drawn one comes as GeoJSON."""
    if area.get("area_geojson"):
        area_sql = "CAST(ST_SetSRID(ST_GeomFromGeoJSON(:area), 4326) AS geography)"
    elif area.get("radius_km"):
        area_sql = "ST_Buffer((SELECT geog FROM location WHERE id = :loc), :radius_km * 1000.0, 'quad_segs=16')"
    else:
        area_sql = "NULL"
    geojson = area.get("area_geojson")
    if geojson is not None and not isinstance(geojson, str):
        import json
        geojson = json.dumps(geojson)
    session.execute(text(f"INSERT INTO service_area (service_id, radius_km, region_code, area)"
                         f" VALUES (:s, :radius_km, :region, {area_sql})"),
                    {"s": service_id, "loc": location_id, "radius_km": area.get("radius_km"),
                     "region": area.get("region_code"), "area": geojson})


def redraw_radius_areas(session: Session, service_id: int) -> None:
    """Radius areas follow their service's location when it moves or the service moves to another location."""
    session.execute(text("""
        UPDATE service_area a SET area = ST_Buffer(l.geog, a.radius_km * 1000.0, 'quad_segs=16')
        FROM service_at_location sal JOIN location l ON l.id = sal.location_id
        WHERE a.service_id = :s AND a.radius_km IS NOT NULL AND sal.service_id = a.service_id
          AND sal.id = (SELECT min(id) FROM service_at_location WHERE service_id = :s)"""), {"s": service_id})


def insert_phone(session: Session, org_id: int, phone: dict, location_id: int | None,
                 service_id: int | None = None) -> int:
    """One phone; `phone["number"]` must be E.164 already."""
    return session.execute(text("""
        INSERT INTO phone (organization_id, location_id, service_id, number, extension, kind, note)
        VALUES (:org, :loc, :svc, :number, :extension, :kind, :note) RETURNING id"""), {
        "org": org_id, "loc": location_id, "svc": service_id, "number": phone["number"],
        "extension": phone.get("extension") or "", "kind": phone.get("kind") or "main", "note": phone.get("note") or "",
    }).scalar_one()


def update_row(session: Session, table: str, row_id: int, changes: dict) -> None:
    """Set these columns of one registry row (names checked against EDITABLE_COLUMNS)."""
    if not changes:
        return
    allowed = EDITABLE_COLUMNS[table]
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"not an editable column of {table}: {sorted(unknown)}")
    sets = ", ".join(f"{column} = CAST(:{column} AS {_CAST[column]})" if column in _CAST else f"{column} = :{column}"
                     for column in changes)
    extra = ", capacity_updated_at = now()" if table == "service" and "capacity_free" in changes else ""
    session.execute(text(f"UPDATE {table} SET {sets}{extra} WHERE id = :_id"), {**changes, "_id": row_id})


def refresh_organization_region(session: Session, org_id: int) -> None:
    """An organization's region follows its first active location (kept when it has none active)."""
    session.execute(text("""
        UPDATE organization o SET region_code = first.region_code
        FROM (SELECT region_code FROM location WHERE organization_id = :id AND active ORDER BY id LIMIT 1) first
        WHERE o.id = :id AND o.region_code IS DISTINCT FROM first.region_code"""), {"id": org_id})


def create_organization(session: Session, org: dict) -> int:
    """Insert an organization described as in data/demo/registry.json (locations name their settlement; phones
    may be written any way `phonenumbers` reads); returns its id. No validation beyond the database's checks
    (the demo loader and tests); curators go through registry/edit.py. Flushes, does not commit."""
    locations = []
    for loc in org["locations"]:
        settlement = settlement_near(session, loc["lat"], loc["lon"], loc.get("settlement"))
        region = region_of_point(session, loc["lat"], loc["lon"]) or (settlement or {}).get("region_code")
        if region is None:
            raise ValueError(f"{org['name']}: location {loc['lat']}, {loc['lon']} lies in no known region")
        timezone = loc.get("timezone") or (settlement or {}).get("timezone") or "Europe/Moscow"
        locations.append({**loc, "settlement_id": settlement["id"] if settlement else None, "region_code": region,
                          "timezone": timezone})
    org_id = insert_organization(session, {**org, "region_code": locations[0]["region_code"]})
    location_ids = [insert_location(session, org_id, loc) for loc in locations]
    for svc in org["services"]:
        index = svc.get("location", 0)
        insert_service(session, org_id, svc, location_ids[index], locations[index]["region_code"])
    country = "KZ" if locations[0]["region_code"].startswith("KZ") else "RU"
    for phone in org.get("phones", []):
        index = phone.get("location")
        insert_phone(session, org_id, {**phone, "number": to_e164(phone["number"], country)},
                     location_ids[index] if index is not None else None)
    return org_id
