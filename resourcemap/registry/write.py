"""Writing the registry's rows: an organization with its locations, services, hours, areas and phones.

The document shape (data/demo/registry.json, the editor's clean document) turned into rows for the single-edit path
of the data layer (data/writes.py), shared by the demo loader (`create_organization`), the curators' editor
(registry/edit.py) and tests. The nearest-help copies in service_at_location and the change history are kept by
database triggers (migrations 0001, 0008). Nothing here commits."""
from __future__ import annotations

import json

from sqlalchemy.orm import Session

from ..data import writes
from ..data.validation import region_of_point, settlement_near
from .hours import to_multirange
from .phones import to_e164
from .vocabulary import CONDITIONS, COST_BASES, ordered


def insert_organization(session: Session, org: dict) -> int:
    """One organization row (version 1); `region_code` is its first location's region. Returns the id."""
    return writes.insert_organization(session, {
        "name": org["name"], "legal_form": org.get("legal_form") or "", "description": org.get("description") or "",
        "website": org.get("website") or "", "email": org.get("email") or "", "status": org.get("status") or "published",
        "verified_at": org.get("verified_at"), "source": org.get("source") or "",
        "external_id": org.get("external_id"), "region": org["region_code"], "synthetic": org.get("synthetic", False),
    })


def insert_location(session: Session, org_id: int, loc: dict) -> int:
    """One location; `loc` carries lat, lon, region_code and timezone already resolved. Returns the id."""
    return writes.insert_location(session, {
        "org": org_id, "name": loc.get("name") or "", "address": loc.get("address") or "",
        "settlement": loc.get("settlement_id"), "lat": loc["lat"], "lon": loc["lon"],
        "confidential": bool(loc.get("confidential")), "approximate": bool(loc.get("approximate")),
        "accessibility": loc.get("accessibility") or "", "timezone": loc["timezone"], "region": loc["region_code"],
        "active": loc.get("active", True) is not False, "external_id": loc.get("external_id"),
    })


def insert_service(session: Session, org_id: int, svc: dict, location_id: int, location_region: str) -> int:
    """One service of the document shape (type, ages, delivery, schedule "HH:MM", outreach radius or drawn area,
    online regions) offered at one location. Returns the id."""
    service_id = writes.insert_service(session, {
        "org": org_id, "type": svc["type"], "name": svc.get("name") or "", "description": svc.get("description") or "",
        "age_min": svc.get("age_min_months"), "age_max": svc.get("age_max_months"),
        "eligibility": svc.get("eligibility") or "", "delivery": svc.get("delivery") or "on_site",
        "cap_total": svc.get("capacity_total"), "cap_free": svc.get("capacity_free"),
        "active": svc.get("active", True) is not False, "external_id": svc.get("external_id"),
        "hours": to_multirange(svc.get("schedule") or []),
        # in the vocabulary's order, as the editor and the import write them: a save changes no order
        "conditions": _in_order(svc.get("conditions"), CONDITIONS), "cost": svc.get("cost") or None,
        "cost_basis": _in_order(svc.get("cost_basis"), COST_BASES),
    })
    writes.place_service(session, service_id, location_id)
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
    """A radius area is the buffer of the location's point; a drawn one comes as GeoJSON (text or parsed)."""
    geojson = area.get("area_geojson")
    if geojson is not None and not isinstance(geojson, str):
        geojson = json.dumps(geojson)
    writes.insert_service_area(session, service_id, location_id, radius_km=area.get("radius_km"),
                               region_code=area.get("region_code"), area_geojson=geojson)


def insert_phone(session: Session, org_id: int, phone: dict, location_id: int | None,
                 service_id: int | None = None) -> int:
    """One phone; `phone["number"]` must be E.164 already."""
    return writes.insert_phone(session, {
        "org": org_id, "loc": location_id, "svc": service_id, "number": phone["number"],
        "extension": phone.get("extension") or "", "kind": phone.get("kind") or "main", "note": phone.get("note") or "",
    })


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
