"""Registry rows for tests, written through the same code the demo loader uses (registry.write)."""
from __future__ import annotations

import itertools

from sqlalchemy import text

from resourcemap.registry.write import create_organization

_numbers = itertools.count(1000000)


def add_service(session, lat: float, lon: float, service_type: str = "early_help", *, name: str | None = None,
                delivery: str = "on_site", radius_km: float | None = None, confidential: bool = False,
                address: str = "", schedule: list[dict] | None = None, timezone: str | None = None,
                age_min: int | None = None, age_max: int | None = None, phones: list[dict] | None = None,
                status: str = "published", conditions: list[str] | None = None, cost: str | None = None,
                cost_basis: list[str] | None = None) -> dict:
    """One organization with one location and one service; returns their ids. Flushes, does not commit."""
    n = next(_numbers)
    org_id = create_organization(session, {
        "name": name or f"Тестовая организация {n}",
        "status": status,
        "locations": [{"name": f"Отделение {n}", "address": address, "lat": lat, "lon": lon,
                       "confidential": confidential, "timezone": timezone}],
        "services": [{"type": service_type, "delivery": delivery, "outreach_radius_km": radius_km,
                      "schedule": schedule or [], "age_min_months": age_min, "age_max_months": age_max,
                      "conditions": conditions or [], "cost": cost, "cost_basis": cost_basis or []}],
        "phones": phones if phones is not None else [{"number": f"+7495{n:07d}", "kind": "main"}],
    })
    ids = session.execute(
        text(
            "SELECT l.id AS location_id, s.id AS service_id, sal.id AS sal_id FROM location l"
            " JOIN service_at_location sal ON sal.location_id = l.id JOIN service s ON s.id = sal.service_id"
            " WHERE l.organization_id = :o"), {"o": org_id}).mappings().one()
    return {"organization_id": org_id, **ids}
