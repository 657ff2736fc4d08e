"""How registry rows are shown to a viewer: exact for those who may see confidential places, redacted for
everyone else. Every public response goes through `location_view`, so a confidential location's exact point
and street address cannot leak from one endpoint while another hides them."""
from __future__ import annotations

import functools
import math

import phonenumbers

from ..auth.policy import PUBLIC, Viewer  # noqa: F401  (PUBLIC re-exported for callers of the views)
from .nearest import country_of

CONFIDENTIAL_GRID_KM = 5.0  # a confidential point is snapped to a grid this coarse (>= 2 km everywhere)
KM_PER_DEGREE_LAT = 111.32


def snap_point(lat: float, lon: float, grid_km: float = CONFIDENTIAL_GRID_KM) -> tuple[float, float]:
    """The centre of the grid cell (grid_km on a side, north-south and east-west) that holds the point."""
    dlat = grid_km / KM_PER_DEGREE_LAT
    slat = (math.floor(lat / dlat) + 0.5) * dlat
    dlon = grid_km / (KM_PER_DEGREE_LAT * max(math.cos(math.radians(slat)), 0.05))
    slon = (math.floor(lon / dlon) + 0.5) * dlon
    return round(slat, 4), round(slon, 4)


@functools.lru_cache(maxsize=65536)
def national_format(number: str) -> str:
    """The national format of an E.164 number (parsing costs ~60 us; answers repeat the same phones)."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        return number


def phone_view(phone: dict) -> dict:
    """A phone as E.164 and in the national format people dial."""
    number = phone["number"]
    return {"number": number, "display": national_format(number), "kind": phone.get("kind", "main"),
            "note": phone.get("note", "")}


def _public_phones(phones: list[dict]) -> list[dict]:
    """For a confidential place, the public gets only the intake phone (or the first phone if none is marked)."""
    intake = [p for p in phones if p.get("kind") == "intake"]
    return intake or phones[:1]


def location_view(row: dict, viewer: Viewer) -> dict:
    """The location part of a row (keys: location_id, location_name, address, settlement_*, lat, lon,
    confidential, approximate)."""
    hidden = row["confidential"] and not viewer.sees_confidential
    if hidden:
        lat, lon = snap_point(row["lat"], row["lon"])
        return {"id": row["location_id"], "name": None, "address": None,
                "settlement": _settlement(row), "lat": lat, "lon": lon,
                "confidential": True, "approximate": True, "region": row.get("region_code")}
    return {"id": row["location_id"], "name": row["location_name"] or None, "address": row["address"] or None,
            "settlement": _settlement(row), "lat": round(row["lat"], 6), "lon": round(row["lon"], 6),
            "confidential": row["confidential"], "approximate": row["approximate"],
            "region": row.get("region_code")}


def _settlement(row: dict) -> dict | None:
    if row.get("settlement_id") is None:
        return None
    return {"id": row["settlement_id"], "name": row["settlement_name"], "name_kk": row.get("settlement_name_kk") or None}


def nearest_result_view(row: dict, viewer: Viewer) -> dict:
    """One nearest-help result as the API shows it to `viewer`."""
    hidden = row["confidential"] and not viewer.sees_confidential
    distance_km = row["distance_m"] / 1000.0
    phones = _public_phones(row["phones"]) if hidden else row["phones"]
    return {
        "distance_km": float(round(distance_km)) if hidden else round(distance_km, 3),
        "reaches_you": row["reaches_you"],
        "beyond_radius": row["beyond_radius"],
        "far": row.get("far", False),
        "country": country_of(row["region_code"]),
        "service": {
            "id": row["service_id"], "type": row["type_code"], "name": row["service_name"] or None,
            "delivery": row["delivery"], "age_min_months": row["age_min_months"],
            "age_max_months": row["age_max_months"], "open_now": row["open_now"],
            "capacity_free": row["capacity_free"],
            "capacity_updated_at": row["capacity_updated_at"].isoformat() if row["capacity_updated_at"] else None,
            "conditions": list(row.get("conditions") or []), "cost": row.get("cost"),
            "cost_basis": list(row.get("cost_basis") or []),
        },
        "organization": {"id": row["organization_id"], "name": row["organization_name"],
                         "verified_at": row["verified_at"].isoformat() if row["verified_at"] else None,
                         "synthetic": row["is_synthetic"]},
        "location": location_view(row, viewer),
        "phones": [phone_view(p) for p in phones],
    }
