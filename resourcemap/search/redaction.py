"""Redaction of confidential places (crisis apartments): every decision on what of such a place a viewer is shown.
A viewer who may see confidential places (auth/policy.py: `viewer.sees_confidential`) gets them exact; anyone
else gets the place snapped to the CONFIDENTIAL_GRID_KM grid, without its name, address or accessibility note,
with only its intake phone and whole kilometres of distance. The API, the pages, the dispatch console's referral
card and the exports all show rows through this module, so one endpoint cannot leak what another hides.

The SQL side keeps to the same rule: nearest help and the map find and measure a confidential place by its public
point for the public (data/nearest.py, data/map.py; `rm_public_lat`/`rm_public_lon` are snap_point in SQL)."""
from __future__ import annotations

import math

from ..auth.policy import PUBLIC, Viewer  # noqa: F401  (PUBLIC re-exported for the pages)
from .nearest import country_of
from .phones import phone_view

CONFIDENTIAL_GRID_KM = 5.0  # a confidential point is snapped to a grid this coarse (>= 2 km everywhere)
KM_PER_DEGREE_LAT = 111.32


def snap_point(lat: float, lon: float, grid_km: float = CONFIDENTIAL_GRID_KM) -> tuple[float, float]:
    """The centre of the grid cell (grid_km on a side, north-south and east-west) that holds the point."""
    dlat = grid_km / KM_PER_DEGREE_LAT
    slat = (math.floor(lat / dlat) + 0.5) * dlat
    dlon = grid_km / (KM_PER_DEGREE_LAT * max(math.cos(math.radians(slat)), 0.05))
    slon = (math.floor(lon / dlon) + 0.5) * dlon
    return round(slat, 4), round(slon, 4)


def hidden(row: dict, viewer: Viewer) -> bool:
    """Is this row's place confidential and the viewer one who may not see it?"""
    return row["confidential"] and not viewer.sees_confidential


def public_phones(phones: list) -> list:
    """Of a confidential place, only the intake phone (or the first phone if none is marked). Phones are dicts or
    records with a `kind`."""
    intake = [p for p in phones if (p.get("kind") if isinstance(p, dict) else p.kind) == "intake"]
    return intake or phones[:1]


def public_km(km: float) -> float:
    """A distance to a confidential place in whole kilometres: from its public point, never "10 m"."""
    return float(round(km))


def location_view(row: dict, viewer: Viewer) -> dict:
    """The location part of a row (keys: location_id, location_name, address, settlement_*, lat, lon,
    confidential, approximate)."""
    if hidden(row, viewer):
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
    hide = hidden(row, viewer)
    distance_km = row["distance_m"] / 1000.0
    phones = public_phones(row["phones"]) if hide else row["phones"]
    return {
        "distance_km": public_km(distance_km) if hide else round(distance_km, 3),
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


def organization_phones(org: dict, viewer: Viewer) -> list[dict]:
    """An organization's phones for `viewer`: of a confidential place hidden from the viewer, only intake phones."""
    hidden_places = {loc["location_id"] for loc in org["locations"] if hidden(loc, viewer)}
    return [p for p in org["phones"] if p["location_id"] not in hidden_places or p["kind"] == "intake"]


def export_row(row: dict, viewer: Viewer) -> dict:
    """An export row (exchange/exporting.py) as `viewer` may get it, in place: for a hidden place (row["hidden"])
    the point snapped, no place name, address, accessibility note or drawn area, and of its phones and the
    organization's only the intake phone (or the first). The HSDS export (exchange/hsds.py) reads the mark:
    no outreach circle drawn around a hidden place, and a note that its address is withheld."""
    row["hidden"] = hidden(row, viewer)
    if row["hidden"]:
        row["lat"], row["lon"] = snap_point(row["lat"], row["lon"])
        row["location_name"] = row["address"] = row["accessibility"] = ""
        row["location_phones"] = public_phones(row["location_phones"] + row["organization_phones"])
        row["organization_phones"] = []
        row["drawn_area"] = None
    return row


def card_hides(row: dict) -> bool:
    """The dispatch console's referral card goes to the family (read out, SMS, print), whoever makes it: a
    confidential place is on it without its address, at whole kilometres, with only its intake phone."""
    return bool(row["confidential"])


def card_phones(row: dict) -> list[dict]:
    """The phones of a referral card's row (card_hides)."""
    return public_phones(row["phones"]) if card_hides(row) else row["phones"]
