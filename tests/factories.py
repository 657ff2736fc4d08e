"""Test data: registry rows written through the same code the demo loader uses (registry.write), organization
documents for the editing code and API, spreadsheet rows for the import, and the places and lookups the tests
share (a settlement's id, random points in a region, geodesic distance, the public nearest call)."""
from __future__ import annotations

import csv
import io
import itertools

from pyproj import Geod
from sqlalchemy import text

from resourcemap.auth.policy import Viewer
from resourcemap.registry.write import create_organization

_numbers = itertools.count(1000000)
GEOD = Geod(ellps="WGS84")

# Places of the documents (tests/test_edit*.py, test_edit_api.py).
ELEKTROSTAL = (55.79, 38.45)  # RU-MOS
NOGINSK = (55.855, 38.44)  # RU-MOS, ~7 km north
SMOLENSK = (54.78, 32.05)  # RU-SMO
KOLOMNA = (55.0794, 38.7783)  # RU-MOS: the curators' organization of tests/conftest.py `world`
# Электросталь's settlement point in data/regions/RU-MOS: where the import's rows are.
ELEKTROSTAL_SETTLEMENT = (55.78959, 38.44671)

# A confidential crisis apartment in Электросталь (tests/test_confidential.py, test_public_pages.py).
SECRET_ADDRESS = "ул. Тайная, д. 7, кв. 12"
SECRET_LAT, SECRET_LON = 55.80123, 38.43987

# The spreadsheet import's curator (tests/test_import*.py).
REGION = "RU-MOS"
CURATOR = Viewer(role="curator", email="curator@example.org", regions=frozenset({REGION}))


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


def add_crisis_apartment(session) -> dict:
    """The confidential crisis apartment at SECRET_LAT, SECRET_LON with an intake and a main phone; its ids
    (add_service's). Flushes, does not commit."""
    return add_service(session, SECRET_LAT, SECRET_LON, "crisis_apartment", name="Кризисная квартира «Тест»",
                       confidential=True, address=SECRET_ADDRESS,
                       phones=[{"number": "+7 496 570-11-22", "kind": "intake", "location": 0},
                               {"number": "+7 496 570-33-44", "kind": "main", "location": 0}])


def new_document(point=ELEKTROSTAL, **over) -> dict:
    """An organization document (one place, two services, one phone) at `point`, with `over` replacing keys."""
    lat, lon = point
    doc = {
        "name": "Центр ранней помощи «Радуга»", "status": "published", "website": "https://raduga.example.ru",
        "email": "info@raduga.example.ru",
        "locations": [{"name": "Главное здание", "address": "ул. Мира, 1", "lat": lat, "lon": lon}],
        "services": [
            {"type": "early_help", "name": "Служба ранней помощи", "age_min_months": 0, "age_max_months": 36,
             "location": 0, "schedule": [{"weekday": d, "opens": "09:00", "closes": "18:00"} for d in (1, 2, 3)]},
            {"type": "mobile_team", "delivery": "outreach", "outreach_radius_km": 30, "location": 0},
        ],
        "phones": [{"number": "8 (496) 570-00-00", "kind": "intake", "location": 0}],
    }
    doc.update(over)
    return doc


HEADER = ["external_id", "organization_external_id", "organization", "kind", "service_name", "address",
          "settlement", "lat", "lon", "phones", "hours", "age_min_months", "age_max_months", "delivery",
          "outreach_radius_km", "confidential", "website", "email", "description", "capacity_total",
          "capacity_free", "status"]


def row(n: int, *, lat=None, lon=None, org=None, kind="early_help", phones=None, **more) -> dict:
    """Spreadsheet row `n` of the import (a service near Электросталь), with `more` replacing columns."""
    base_lat, base_lon = ELEKTROSTAL_SETTLEMENT
    values = {
        "external_id": f"svc-{n}", "organization_external_id": f"org-{n}",
        "organization": org or f"Центр помощи семье «Радуга-{n}»", "kind": kind, "service_name": f"Услуга {n}",
        "address": f"ул. Мира, {n}", "settlement": "Электросталь",
        "lat": f"{base_lat + 0.01 * (n % 7) if lat is None else lat}",
        "lon": f"{base_lon + 0.013 * (n % 5) if lon is None else lon}",
        "phones": phones if phones is not None else f"+7 496 57{n % 10}-{n % 100:02d}-{n % 97:02d}",
        "hours": "пн-пт 9:00-18:00; сб 10-14", "age_min_months": "0", "age_max_months": "36",
        "delivery": "на месте", "outreach_radius_km": "", "confidential": "нет", "website": "https://example.org",
        "email": f"info{n}@example.org", "description": "Помощь семьям", "capacity_total": "",
        "capacity_free": "", "status": "опубликовано",
    }
    values.update(more)
    return values


def csv_bytes(rows: list[dict], header=HEADER, *, delimiter=",", encoding="utf-8", bom=False) -> bytes:
    """The rows as a CSV file in `encoding` (a UTF-8 BOM first when `bom`)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for r in rows:
        writer.writerow([r.get(h, "") for h in header])
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def settlement_id(engine, name: str, region: str) -> int:
    """The id of the most populous settlement called `name` in `region`."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM settlement WHERE name_ru = :n AND region_code = :r ORDER BY population"
                                 " DESC NULLS LAST LIMIT 1"), {"n": name, "r": region}).scalar_one()


def random_points_in(engine, region: str, count: int, seed: int) -> list[tuple[float, float]]:
    """`count` random (lat, lon) inside `region`'s boundary, the same for the same seed."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT ST_Y(g.geom), ST_X(g.geom) FROM region r, ST_Dump(ST_GeneratePoints(r.boundary, :n, :seed)) g"
            " WHERE r.code = :code"), {"n": count, "seed": seed, "code": region})]


def geodesic_km(lat1, lon1, lat2, lon2) -> float:
    """The WGS84 geodesic distance in km."""
    return GEOD.inv(lon1, lat1, lon2, lat2)[2] / 1000.0


def nearest(client, **params):
    """The public API's nearest-help answer (asserting a 200)."""
    response = client.get("/api/v1/nearest", query_string=params)
    assert response.status_code == 200, response.json
    return response.json
