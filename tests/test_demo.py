"""The demo registry from the programme texts, and the synthetic generator."""
from __future__ import annotations

from pathlib import Path

from pyproj import Geod
from sqlalchemy import text

from resourcemap.registry.demo import delete_synthetic, generate_synthetic, load_demo_registry

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo" / "registry.json"


def settlement_id(engine, name: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM settlement WHERE name_ru = :n ORDER BY population DESC NULLS LAST"
                                 " LIMIT 1"), {"n": name}).scalar()


def test_zolotoy_klyuchik_is_the_nearest_early_help_for_elektrostal(client, engine, registry):
    added, present = load_demo_registry(engine, DEMO)
    assert added >= 25 and present == 0
    answer = client.get(f"/api/v1/nearest?settlement={settlement_id(engine, 'Электросталь')}&service=early_help").json
    first = answer["results"][0]
    assert "Золотой ключик" in first["organization"]["name"]
    assert first["location"]["approximate"] is True and first["organization"]["synthetic"] is True
    assert first["distance_km"] < 5 and first["phones"][0]["number"].startswith("+7496")
    assert load_demo_registry(engine, DEMO) == (0, added)  # loading again adds nothing


def test_demo_registry_places_the_named_organizations_in_their_towns(client, engine, registry):
    load_demo_registry(engine, DEMO)
    expected = {"Оптимист": "Сергиев Посад", "Ковчег": "Кратово", "Наши дети": "Демидов"}
    with engine.connect() as conn:
        for org, town in expected.items():
            row = conn.execute(text(
                "SELECT st.name_ru FROM organization o JOIN location l ON l.organization_id = o.id"
                " JOIN settlement st ON st.id = l.settlement_id WHERE o.name LIKE :p"), {"p": f"%{org}%"}).scalar()
            assert row == town, org
        kz = conn.execute(text("SELECT count(DISTINCT o.region_code) FROM organization o JOIN service s"
                               " ON s.organization_id = o.id WHERE o.region_code LIKE 'KZ-%'"
                               " AND s.type_code = 'early_help'")).scalar()
        assert kz == 5  # Караганда, Атырау, Экибастуз, Туркестан, Уральск
        assert conn.execute(text("SELECT count(*) FROM organization WHERE NOT is_synthetic")).scalar() == 0


def test_no_confidential_place_of_the_demo_registry_stands_where_another_place_is_shown():
    """A crisis apartment's stored point must not be another organization's public point (issue 17): whoever reads
    that organization's address would know the door."""
    import json

    geod = Geod(ellps="WGS84")
    points = [(org["key"], loc) for org in json.loads(DEMO.read_text("utf-8")) for loc in org["locations"]]
    confidential = [(key, loc) for key, loc in points if loc.get("confidential")]
    assert confidential
    for key, secret in confidential:
        for other_key, loc in points:
            if loc is not secret:
                metres = geod.inv(secret["lon"], secret["lat"], loc["lon"], loc["lat"])[2]
                assert metres > 1000, (key, other_key, metres)


def test_synthetic_generator_places_organizations_at_real_settlements(engine, registry):
    generate_synthetic(engine, 3000, seed=0.1, regions=["RU-SMO", "RU-MOS"])
    geod = Geod(ellps="WGS84")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM organization WHERE is_synthetic AND source = 'synthetic'")).scalar() == 3000
        rows = conn.execute(text(
            "SELECT ST_Y(l.geog::geometry), ST_X(l.geog::geometry), ST_Y(s.geog::geometry), ST_X(s.geog::geometry),"
            " l.region_code, s.region_code FROM location l JOIN settlement s ON s.id = l.settlement_id")).all()
        assert len(rows) == 3000
        for lat, lon, slat, slon, region, sregion in rows:
            assert geod.inv(lon, lat, slon, slat)[2] <= 4000.5
            assert region == sregion and region in ("RU-SMO", "RU-MOS")
        # Weighted by population: the biggest town gets far more than a village.
        per_place = dict(conn.execute(text(
            "SELECT s.name_ru, count(*) FROM location l JOIN settlement s ON s.id = l.settlement_id"
            " WHERE s.region_code = 'RU-SMO' GROUP BY s.name_ru")).all())
        assert per_place["Смоленск"] > 10 * per_place.get("Демидов", 0)
        kinds = conn.execute(text("SELECT count(DISTINCT type_code) FROM service")).scalar()
        assert kinds == 16
        confidential = conn.execute(text(
            "SELECT bool_and(l.confidential) FROM location l JOIN service_at_location sal ON sal.location_id = l.id"
            " WHERE sal.type_code = 'crisis_apartment'")).scalar()
        assert confidential is True
        assert conn.execute(text("SELECT count(*) FROM service_at_location WHERE geog IS NULL")).scalar() == 0
    assert delete_synthetic(engine) == 3000
