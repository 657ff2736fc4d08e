"""Nearest help, checked against an independent geodesic computation (pyproj.Geod on WGS84)."""
from __future__ import annotations

import datetime as dt
import math
import random

import pytest
from pyproj import Geod
from sqlalchemy import text

from resourcemap.search.nearest import NearestQuery, nearest_services
from tests.factories import add_service, geodesic_km, nearest, random_points_in

GEOD = Geod(ellps="WGS84")
POSTGIS_SPHERE_RADIUS_M = 6371008.7714  # the sphere behind geography's <-> and use_spheroid => false


def sphere_km(lat1, lon1, lat2, lon2) -> float:
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * POSTGIS_SPHERE_RADIUS_M * math.asin(math.sqrt(h)) / 1000.0


def test_matches_brute_force_geodesic_on_random_registries(client, registry, engine):
    rng = random.Random(20261123)
    points = {}
    # Central Russia, and the far east (Primorsky), where longitudes and the spheroid differ most from Moscow.
    for region, count in (("RU-MOS", 120), ("RU-TUL", 60), ("RU-TVE", 60), ("RU-PRI", 120)):
        for lat, lon in random_points_in(engine, region, count, seed=len(points) + 1):
            kind = rng.choice(["early_help", "rehabilitation", "legal_help"])
            ids = add_service(registry, lat, lon, kind)
            points[ids["location_id"]] = (lat, lon, kind)
    registry.commit()

    origins = [(rng.uniform(53.5, 57.5), rng.uniform(34, 42)) for _ in range(12)]
    origins += [(rng.uniform(43, 46), rng.uniform(131, 136)) for _ in range(8)]
    origins.append((43.1155, 131.8855))  # Vladivostok
    for lat, lon in origins:
        for kinds in (["early_help"], ["early_help", "rehabilitation"]):
            expected = sorted(
                ((geodesic_km(lat, lon, p[0], p[1]), loc_id) for loc_id, p in points.items() if p[2] in kinds))[:10]
            got = nearest(client, lat=lat, lon=lon, service=",".join(kinds), limit=10)["results"]
            assert [r["location"]["id"] for r in got] == [loc_id for _, loc_id in expected]
            for r, (km, _) in zip(got, expected):
                assert r["distance_km"] == pytest.approx(km, abs=0.0015)
                assert r["reaches_you"] is False and r["beyond_radius"] is False


def test_matches_brute_force_in_the_arctic_and_across_the_antimeridian(client, registry, engine):
    # Few services over huge northern regions: the bound of step 2 is hundreds of kilometres wide, so its
    # longitude box widens fast with latitude, reaches the pole (Severnaya Zemlya, Franz Josef Land) or wraps
    # over 180° (Chukotka). The answer must still be the geodesic one.
    rng = random.Random(71)
    points = {}
    for region, count in (("RU-KYA", 25), ("RU-CHU", 25), ("RU-ARK", 15), ("RU-SAK", 10)):
        for lat, lon in random_points_in(engine, region, count, seed=100 + len(points)):
            ids = add_service(registry, lat, lon, "early_help")
            points[ids["location_id"]] = (lat, lon)
    registry.commit()
    origins = random_points_in(engine, "RU-CHU", 6, seed=7) + random_points_in(engine, "RU-KYA", 6, seed=8)
    origins += [(80.6, 58.0), (79.5, 100.0), (66.0, 179.99), (66.0, -179.99), (rng.uniform(64, 70), -172.0)]
    for lat, lon in origins:
        expected = sorted((geodesic_km(lat, lon, p[0], p[1]), loc_id) for loc_id, p in points.items())[:10]
        got = nearest(client, lat=lat, lon=lon, service="early_help", limit=10)["results"]
        assert [r["location"]["id"] for r in got] == [loc_id for _, loc_id in expected], (lat, lon)
        for r, (km, _) in zip(got, expected):
            assert r["distance_km"] == pytest.approx(km, abs=0.0015)


def test_near_tie_is_ranked_on_the_spheroid_not_the_sphere(client, registry):
    # At 60° N a kilometre east is "longer" on the spheroid than a kilometre north (prime-vertical radius
    # 6394 km, meridional 6383 km, sphere 6371 km). East is nearer on the sphere, north on the spheroid.
    lat0, lon0 = 60.0, 30.0
    east_lon, east_lat, _ = GEOD.fwd(lon0, lat0, 90, 10_000)
    north_lon, north_lat, _ = GEOD.fwd(lon0, lat0, 0, 10_000 * 1.0006)
    east_sphere, north_sphere = sphere_km(lat0, lon0, east_lat, east_lon), sphere_km(lat0, lon0, north_lat, north_lon)
    east_geo, north_geo = geodesic_km(lat0, lon0, east_lat, east_lon), geodesic_km(lat0, lon0, north_lat, north_lon)
    assert east_sphere < north_sphere and north_geo > east_geo or (east_sphere > north_sphere and north_geo < east_geo)
    east = add_service(registry, east_lat, east_lon)
    north = add_service(registry, north_lat, north_lon)
    registry.commit()
    expected_first = north if north_geo < east_geo else east
    for limit in (1, 2):
        got = nearest(client, lat=lat0, lon=lon0, service="early_help", limit=limit)["results"]
        assert got[0]["location"]["id"] == expected_first["location_id"]
    got = nearest(client, lat=lat0, lon=lon0, service="early_help", limit=2)["results"]
    assert [r["distance_km"] for r in got] == sorted([round(north_geo, 3), round(east_geo, 3)])


def test_family_near_a_region_border_gets_the_closer_service_across_it(client, registry, engine):
    with engine.connect() as conn:
        # A point 3 km inside Moscow oblast and one 3 km inside Tver oblast, across their common border.
        row = conn.execute(text("""
            WITH a AS (SELECT boundary FROM region WHERE code = 'RU-MOS'),
                 b AS (SELECT boundary FROM region WHERE code = 'RU-TVE'),
                 edge AS (SELECT ST_ClosestPoint(ST_Boundary(a.boundary), ST_PointOnSurface(b.boundary)) AS p
                          FROM a, b),
                 around AS (SELECT ST_Project(edge.p::geography, 3000, radians(az))::geometry AS q
                            FROM edge, generate_series(0, 350, 10) az)
            SELECT (SELECT ST_Y(q) FROM around, a WHERE ST_Covers(a.boundary, q) LIMIT 1) AS a_lat,
                   (SELECT ST_X(q) FROM around, a WHERE ST_Covers(a.boundary, q) LIMIT 1) AS a_lon,
                   (SELECT ST_Y(q) FROM around, b WHERE ST_Covers(b.boundary, q) LIMIT 1) AS b_lat,
                   (SELECT ST_X(q) FROM around, b WHERE ST_Covers(b.boundary, q) LIMIT 1) AS b_lon
        """)).mappings().one()
    across = add_service(registry, row["b_lat"], row["b_lon"], "rehabilitation")
    home_lon, home_lat, _ = GEOD.fwd(row["a_lon"], row["a_lat"], 0, 40_000)
    add_service(registry, home_lat, home_lon, "rehabilitation")
    registry.commit()
    answer = nearest(client, lat=row["a_lat"], lon=row["a_lon"], service="rehabilitation", limit=2)
    assert answer["origin"]["region"] == "RU-MOS"
    assert answer["results"][0]["location"]["id"] == across["location_id"]
    assert answer["results"][0]["location"]["region"] == "RU-TVE"
    assert answer["results"][0]["distance_km"] < 10


def test_across_the_antimeridian(client, registry):
    # Chukotka spans 180°: a family at 179.95° E is 4.5 km from a service at 179.95° W.
    west = add_service(registry, 65.0, -179.95)
    add_service(registry, 65.0, 179.5)
    registry.commit()
    got = nearest(client, lat=65.0, lon=179.95, service="early_help", limit=2)["results"]
    assert got[0]["location"]["id"] == west["location_id"]
    assert got[0]["distance_km"] == pytest.approx(geodesic_km(65.0, 179.95, 65.0, -179.95), abs=0.0015)


def test_beyond_radius(client, registry):
    lat0, lon0 = 55.0, 37.0
    lon, lat, _ = GEOD.fwd(lon0, lat0, 45, 50_000)
    add_service(registry, lat, lon)
    registry.commit()
    far = nearest(client, lat=lat0, lon=lon0, service="early_help", within_km=10)["results"]
    assert len(far) == 1 and far[0]["beyond_radius"] is True and far[0]["distance_km"] == pytest.approx(50, abs=0.01)
    near = nearest(client, lat=lat0, lon=lon0, service="early_help", within_km=100)["results"]
    assert len(near) == 1 and near[0]["beyond_radius"] is False


def test_within_km_keeps_only_services_inside_when_there_are_some(client, registry):
    lat0, lon0 = 55.0, 37.0
    for km in (5, 20, 80):
        lon, lat, _ = GEOD.fwd(lon0, lat0, 10, km * 1000)
        add_service(registry, lat, lon)
    registry.commit()
    got = nearest(client, lat=lat0, lon=lon0, service="early_help", within_km=30)["results"]
    assert [round(r["distance_km"]) for r in got] == [5, 20]


def test_outreach_service_that_covers_the_family_ranks_by_the_rule(client, registry):
    lat0, lon0 = 54.0, 36.0
    site_lon, site_lat, _ = GEOD.fwd(lon0, lat0, 90, 40_000)
    team_lon, team_lat, _ = GEOD.fwd(lon0, lat0, 270, 60_000)
    site = add_service(registry, site_lat, site_lon, "early_help")
    team = add_service(registry, team_lat, team_lon, "early_help", delivery="outreach", radius_km=100)
    for km in (20, 25, 30):  # nearer sites, so the team is outside a plain k-nearest with k = 1..3
        lon, lat, _ = GEOD.fwd(lon0, lat0, 180, km * 1000)
        add_service(registry, lat, lon, "early_help")
    registry.commit()
    got = nearest(client, lat=lat0, lon=lon0, service="early_help", limit=1)["results"]
    assert got[0]["location"]["id"] == team["location_id"]
    assert got[0]["reaches_you"] is True
    assert got[0]["distance_km"] == pytest.approx(60, abs=0.01)
    got = nearest(client, lat=lat0, lon=lon0, service="early_help", limit=10)["results"]
    assert [r["location"]["id"] for r in got][0] == team["location_id"]
    assert site["location_id"] in [r["location"]["id"] for r in got]
    # 150 km west of the team, outside its 100 km radius: the team no longer "comes to you".
    far_lon, far_lat, _ = GEOD.fwd(team_lon, team_lat, 270, 150_000)
    got = nearest(client, lat=far_lat, lon=far_lon, service="early_help", limit=10)["results"]
    team_rows = [r for r in got if r["location"]["id"] == team["location_id"]]
    assert team_rows and team_rows[0]["reaches_you"] is False


def test_a_site_in_the_familys_own_town_beats_a_team_that_comes(client, registry):
    lat0, lon0 = 54.0, 36.0
    lon, lat, _ = GEOD.fwd(lon0, lat0, 90, 3_000)
    site = add_service(registry, lat, lon, "early_help")
    lon, lat, _ = GEOD.fwd(lon0, lat0, 270, 30_000)
    add_service(registry, lat, lon, "early_help", delivery="outreach", radius_km=80)
    registry.commit()
    got = nearest(client, lat=lat0, lon=lon0, service="early_help")["results"]
    assert got[0]["location"]["id"] == site["location_id"] and got[1]["reaches_you"] is True


WORKDAYS_9_TO_18 = [{"weekday": d, "opens": "09:00", "closes": "18:00"} for d in range(1, 6)]


@pytest.mark.parametrize("utc_hour, open_in_vladivostok, open_in_kaliningrad", [
    (5, True, False),   # Wednesday 15:00 in Vladivostok (UTC+10), 07:00 in Kaliningrad (UTC+2)
    (12, False, True),  # 22:00 in Vladivostok, 14:00 in Kaliningrad
    (20, False, False),
])
def test_open_now_is_judged_in_the_services_own_time_zone(app, registry, utc_hour, open_in_vladivostok,
                                                         open_in_kaliningrad):
    vla = add_service(registry, 43.1155, 131.8855, timezone="Asia/Vladivostok", schedule=WORKDAYS_9_TO_18)
    kgd = add_service(registry, 54.7104, 20.4522, timezone="Europe/Kaliningrad", schedule=WORKDAYS_9_TO_18)
    add_service(registry, 55.75, 37.62, timezone="Europe/Moscow", schedule=[])  # no hours known
    registry.commit()
    at = dt.datetime(2026, 11, 25, utc_hour, 0, tzinfo=dt.timezone.utc)  # a Wednesday
    q = NearestQuery(lat=50.0, lon=80.0, service_types=("early_help",), limit=10, at=at)
    with app.app_context():
        rows = {r["location_id"]: r for r in nearest_services(registry, q, None).results}
        assert rows[vla["location_id"]]["open_now"] is open_in_vladivostok
        assert rows[kgd["location_id"]]["open_now"] is open_in_kaliningrad
        assert len([r for r in rows.values() if r["open_now"] is None]) == 1
        q_open = NearestQuery(lat=50.0, lon=80.0, service_types=("early_help",), limit=10, at=at, open_now=True)
        open_ids = {r["location_id"] for r in nearest_services(registry, q_open, None).results}
    assert open_ids == ({vla["location_id"]} if open_in_vladivostok else set()) | (
        {kgd["location_id"]} if open_in_kaliningrad else set())


def test_open_now_in_the_api_follows_the_local_clock(client, registry):
    from zoneinfo import ZoneInfo

    today_in = {tz: dt.datetime.now(ZoneInfo(tz)).isoweekday() for tz in ("Asia/Kamchatka", "Europe/Samara")}
    # Open all day on the weekday it is now in Kamchatka; open all day on another weekday in Samara.
    kam = add_service(registry, 53.0195, 158.6505, timezone="Asia/Kamchatka",
                      schedule=[{"weekday": today_in["Asia/Kamchatka"], "opens": "00:00", "closes": "24:00"}])
    other_day = today_in["Europe/Samara"] % 7 + 1
    sam = add_service(registry, 53.1959, 50.1002, timezone="Europe/Samara",
                      schedule=[{"weekday": other_day, "opens": "00:00", "closes": "24:00"}])
    registry.commit()
    got = {r["location"]["id"]: r for r in nearest(client, lat=53.0, lon=100.0, service="early_help")["results"]}
    assert got[kam["location_id"]]["service"]["open_now"] is True
    assert got[sam["location_id"]]["service"]["open_now"] is False
    only_open = nearest(client, lat=53.0, lon=100.0, service="early_help", open_now="true")["results"]
    assert [r["location"]["id"] for r in only_open] == [kam["location_id"]]


def test_age_filter(client, registry):
    baby = add_service(registry, 55.0, 37.0, age_min=0, age_max=36)
    older = add_service(registry, 55.01, 37.0, age_min=36, age_max=84)
    anyone = add_service(registry, 55.02, 37.0)
    registry.commit()
    ids = lambda age: {r["location"]["id"] for r in nearest(client, lat=55.0, lon=37.0, service="early_help",
                                                              age_months=age)["results"]}
    assert ids(24) == {baby["location_id"], anyone["location_id"]}
    assert ids(60) == {older["location_id"], anyone["location_id"]}
    assert ids(36) == {baby["location_id"], older["location_id"], anyone["location_id"]}


def test_unpublished_and_other_kinds_are_not_found(client, registry):
    add_service(registry, 55.0, 37.0, status="draft")
    add_service(registry, 55.0, 37.01, "legal_help")
    shown = add_service(registry, 56.0, 37.0)
    registry.commit()
    got = nearest(client, lat=55.0, lon=37.0, service="early_help")["results"]
    assert [r["location"]["id"] for r in got] == [shown["location_id"]]


def test_online_services_of_the_familys_region_are_listed_apart(client, registry, engine):
    online = add_service(registry, 55.809, 37.958, "psychological_help", delivery="online")  # Балашиха
    onsite = add_service(registry, 55.7, 37.5, "psychological_help")
    registry.commit()
    with engine.connect() as conn:
        elektrostal = conn.execute(text("SELECT id FROM settlement WHERE name_ru = 'Электросталь'")).scalar()
        demidov = conn.execute(text("SELECT id FROM settlement WHERE name_ru = 'Демидов'")).scalar()
    answer = nearest(client, settlement=elektrostal, service="psychological_help")
    assert [r["location"]["id"] for r in answer["online"]] == [online["location_id"]]
    assert [r["location"]["id"] for r in answer["results"]] == [onsite["location_id"]]
    assert answer["origin"]["region"] == "RU-MOS"  # Электросталь is in Moscow oblast, the online service's region
    answer = nearest(client, settlement=demidov, service="psychological_help")
    assert answer["online"] == [] and answer["origin"]["region"] == "RU-SMO"

    # The service becomes legal help: its region's online list follows the kind (migration 0013's copy).
    registry.execute(text("UPDATE service SET type_code = 'legal_help' WHERE id = :s"), {"s": online["service_id"]})
    registry.commit()
    assert nearest(client, settlement=elektrostal, service="psychological_help")["online"] == []
    answer = nearest(client, settlement=elektrostal, service="legal_help")
    assert [r["location"]["id"] for r in answer["online"]] == [online["location_id"]]
    with engine.connect() as conn:  # a derived copy: not a change of the registry
        assert conn.execute(text("SELECT count(*) FROM change WHERE entity = 'service_area'"
                                 " AND op = 'update'")).scalar() == 0


def _settlements(engine) -> list[tuple[int, float, float]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT id, ST_Y(geog::geometry), ST_X(geog::geometry) FROM settlement"))]


def _expected_origin_settlement(settlements, lat: float, lon: float) -> int | None:
    """The settlement nearest on the sphere among those within 30 km on the spheroid (pyproj, every settlement)."""
    within = [(sphere_km(lat, lon, s_lat, s_lon), sid) for sid, s_lat, s_lon in settlements
              if geodesic_km(lat, lon, s_lat, s_lon) <= 30.0]
    return min(within)[1] if within else None


def test_the_familys_settlement_is_the_nearest_within_30_km(client, engine):
    """The answer's origin settlement, checked against every settlement by pyproj: at random points (towns and
    empty land), and just inside and just outside 30 km of lone settlements of the north, where the statement's
    first KNN settlement is near the limit and the slower path decides."""
    settlements = _settlements(engine)
    rng = random.Random(30)
    points = [(rng.uniform(50, 58), rng.uniform(30, 60)) for _ in range(25)]
    points += [(rng.uniform(60, 72), rng.uniform(90, 170)) for _ in range(15)]
    lone = []
    for sid, s_lat, s_lon in settlements:
        if 62 < s_lat < 70 and 100 < s_lon < 160 and all(
                geodesic_km(s_lat, s_lon, o_lat, o_lon) > 80 for oid, o_lat, o_lon in settlements if oid != sid
                and abs(o_lat - s_lat) < 1.5):
            lone.append((s_lat, s_lon))
        if len(lone) == 4:
            break
    assert lone, "the test needs settlements with no other within 80 km"
    for s_lat, s_lon in lone:
        for metres in (29_900.0, 29_990.0, 30_010.0, 30_100.0):
            lon2, lat2, _ = GEOD.fwd(s_lon, s_lat, rng.uniform(0, 360), metres)
            points.append((lat2, lon2))
    decided = {"found": 0, "none": 0}
    for lat, lon in points:
        expected = _expected_origin_settlement(settlements, lat, lon)
        got = nearest(client, lat=round(lat, 6), lon=round(lon, 6), service="early_help")["origin"]["settlement"]
        assert (got["id"] if got else None) == expected, (lat, lon)
        decided["found" if expected else "none"] += 1
    assert decided["found"] >= 10 and decided["none"] >= 8


def test_the_outreach_rule_matches_brute_force_in_dense_and_sparse_places(client, registry):
    """Sites and teams that come within their radius, around a town (dense: the tenth site is a few km away, within
    the outreach distance) and over the land around it (sparse: farther), ranked by the rule — a team that reaches
    the family counts as if at most 15 km away — checked against pyproj over every service."""
    rng = random.Random(2412)
    lat0, lon0 = 54.19, 37.62  # Tula
    services = {}
    for i in range(110):
        dense = i < 50
        km = rng.uniform(0.2, 8) if dense else rng.uniform(8, 120)
        lon, lat, _ = GEOD.fwd(lon0, lat0, rng.uniform(0, 360), km * 1000)
        team = i % 3 == 0
        radius = round(rng.uniform(5, 90), 1) if team else None
        ids = add_service(registry, lat, lon, "early_help", delivery="outreach" if team else "on_site",
                          radius_km=radius)
        services[ids["location_id"]] = (lat, lon, radius)
    registry.commit()
    checked = 0
    for _ in range(40):
        km = rng.choice([rng.uniform(0, 5), rng.uniform(5, 100)])
        lon, lat, _ = GEOD.fwd(lon0, lat0, rng.uniform(0, 360), km * 1000)
        lat, lon = round(lat, 6), round(lon, 6)
        rows = []
        for loc_id, (s_lat, s_lon, radius) in services.items():
            d = geodesic_km(lat, lon, s_lat, s_lon)
            if radius is not None and abs(d - radius) < 0.05:
                break  # on the edge of a radius: left out (the API rounds nothing there, but pyproj and PostGIS may differ by mm)
            reaches = radius is not None and d <= radius
            rows.append((min(d, 15.0) if reaches else d, d, loc_id, reaches))
        else:
            rows.sort()
            if abs(rows[9][0] - rows[10][0]) < 0.001:
                continue  # a tie at the tenth place
            got = nearest(client, lat=lat, lon=lon, service="early_help", limit=10)["results"]
            assert [(r["location"]["id"], r["reaches_you"]) for r in got] == [(x[2], x[3]) for x in rows[:10]]
            checked += 1
    assert checked >= 30
