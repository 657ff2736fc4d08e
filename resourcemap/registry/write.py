"""Writing one organization with its locations, services, hours, areas and phones (demo loader, tests,
later the curators' editor and import). The nearest-help copies in service_at_location are kept by triggers."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from .phones import to_e164

_REGION_OF_POINT = text("SELECT rm_region_at(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 20000)")

_SETTLEMENT_NEAR = text("""
SELECT s.id, s.region_code, s.timezone FROM settlement s
WHERE ST_DWithin(s.geog, CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography), :radius_m)
ORDER BY (CAST(:name AS text) IS NOT NULL AND rm_name_norm(s.name_ru) = rm_name_norm(CAST(:name AS text))) DESC,
         s.geog <-> CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography)
LIMIT 1
""")


def region_of_point(session: Session, lat: float, lon: float) -> str | None:
    return session.execute(_REGION_OF_POINT, {"lat": lat, "lon": lon}).scalar()


def settlement_near(session: Session, lat: float, lon: float, name: str | None = None,
                    radius_m: float = 30000) -> dict | None:
    """The settlement called `name` nearest the point, else the nearest settlement, within radius_m."""
    row = session.execute(_SETTLEMENT_NEAR, {"lat": lat, "lon": lon, "name": name, "radius_m": radius_m}).mappings().first()
    return dict(row) if row else None


def create_organization(session: Session, org: dict) -> int:
    """Insert an organization described as in data/demo/registry.json; returns its id. Flushes, does not commit."""
    locations = []
    for loc in org["locations"]:
        settlement = settlement_near(session, loc["lat"], loc["lon"], loc.get("settlement"))
        region = region_of_point(session, loc["lat"], loc["lon"]) or (settlement or {}).get("region_code")
        if region is None:
            raise ValueError(f"{org['name']}: location {loc['lat']}, {loc['lon']} lies in no known region")
        timezone = loc.get("timezone") or (settlement or {}).get("timezone") or "Europe/Moscow"
        locations.append((loc, settlement, region, timezone))
    org_id = session.execute(text("""
        INSERT INTO organization (name, legal_form, description, website, email, status, verified_at, source,
                                  external_id, region_code, is_synthetic)
        VALUES (:name, :legal_form, :description, :website, :email, :status, :verified_at, :source,
                :external_id, :region, :synthetic) RETURNING id"""), {
        "name": org["name"], "legal_form": org.get("legal_form", ""), "description": org.get("description", ""),
        "website": org.get("website", ""), "email": org.get("email", ""), "status": org.get("status", "published"),
        "verified_at": org.get("verified_at"), "source": org.get("source", ""),
        "external_id": org.get("external_id"), "region": locations[0][2], "synthetic": org.get("synthetic", False),
    }).scalar_one()
    location_ids = []
    for loc, settlement, region, timezone in locations:
        location_ids.append(session.execute(text("""
            INSERT INTO location (organization_id, name, address, settlement_id, geog, confidential, approximate,
                                  accessibility, timezone, region_code)
            VALUES (:org, :name, :address, :settlement,
                    CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography), :confidential, :approximate,
                    :accessibility, :timezone, :region) RETURNING id"""), {
            "org": org_id, "name": loc.get("name", ""), "address": loc.get("address", ""),
            "settlement": settlement["id"] if settlement else None, "lat": loc["lat"], "lon": loc["lon"],
            "confidential": loc.get("confidential", False), "approximate": loc.get("approximate", False),
            "accessibility": loc.get("accessibility", ""), "timezone": timezone, "region": region,
        }).scalar_one())
    for svc in org["services"]:
        _create_service(session, org_id, svc, location_ids, locations)
    for phone in org.get("phones", []):
        country = "KZ" if locations[0][2].startswith("KZ") else "RU"
        loc_index = phone.get("location")
        session.execute(text("""
            INSERT INTO phone (organization_id, location_id, number, kind, note)
            VALUES (:org, :loc, :number, :kind, :note)"""), {
            "org": org_id, "loc": location_ids[loc_index] if loc_index is not None else None,
            "number": to_e164(phone["number"], country), "kind": phone.get("kind", "main"),
            "note": phone.get("note", ""),
        })
    return org_id


def _create_service(session: Session, org_id: int, svc: dict, location_ids: list[int], locations: list) -> int:
    service_id = session.execute(text("""
        INSERT INTO service (organization_id, type_code, name, description, age_min_months, age_max_months,
                             eligibility, delivery, capacity_total, capacity_free, capacity_updated_at)
        VALUES (:org, :type, :name, :description, :age_min, :age_max, :eligibility, :delivery, :cap_total,
                :cap_free, CASE WHEN CAST(:cap_free AS int) IS NULL THEN NULL ELSE now() END) RETURNING id"""), {
        "org": org_id, "type": svc["type"], "name": svc.get("name", ""), "description": svc.get("description", ""),
        "age_min": svc.get("age_min_months"), "age_max": svc.get("age_max_months"),
        "eligibility": svc.get("eligibility", ""), "delivery": svc.get("delivery", "on_site"),
        "cap_total": svc.get("capacity_total"), "cap_free": svc.get("capacity_free"),
    }).scalar_one()
    index = svc.get("location", 0)
    location_id = location_ids[index]
    session.execute(text("INSERT INTO service_at_location (service_id, location_id) VALUES (:s, :l)"),
                    {"s": service_id, "l": location_id})
    for slot in svc.get("schedule", []):
        opens, closes = _minutes(slot["opens"]), _minutes(slot["closes"])
        session.execute(text("INSERT INTO schedule (service_id, weekday, opens_minute, closes_minute)"
                             " VALUES (:s, :w, :o, :c)"), {"s": service_id, "w": slot["weekday"], "o": opens, "c": closes})
    if svc.get("delivery") == "outreach" and (svc.get("outreach_radius_km") or svc.get("area_geojson")):
        if svc.get("area_geojson"):
            area_sql = "CAST(ST_SetSRID(ST_GeomFromGeoJSON(:area), 4326) AS geography)"
        else:
            area_sql = "ST_Buffer((SELECT geog FROM location WHERE id = :loc), :radius_km * 1000.0, 'quad_segs=16')"
        session.execute(text(f"INSERT INTO service_area (service_id, radius_km, area) VALUES (:s, :radius_km, {area_sql})"),
                        {"s": service_id, "loc": location_id, "radius_km": svc.get("outreach_radius_km"),
                         "area": svc.get("area_geojson")})
    if svc.get("delivery") == "online":
        for region in svc.get("regions") or [locations[index][2]]:
            session.execute(text("INSERT INTO service_area (service_id, region_code) VALUES (:s, :r)"),
                            {"s": service_id, "r": region})
    return service_id


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)
