"""The public map's precomputed points and grid counts (migration 0009, search/map.py) against a brute force.

The brute force reads only the registry's own rows (locations with their exact points, flags and organization;
services with kind, activity and organization; organization status; the service–location links — not the
trigger-maintained copies) and computes in Python which locations are published, where the public sees them
(views.snap_point's arithmetic), and what the map must answer for a box: the grid's cells meeting the box with
their counts and mean points, or the points in it. It is compared with the whole of map_point and map_grid_cell,
with search.map.map_clusters at every grid size, and with GET /map-data/locations, after inserts (one by one and in
bulk), moves, status changes, deactivation, confidential flips, kind changes, unlinking, deletion, a rollback, two
flushes in one transaction, concurrent transactions, and TRUNCATE; for views from the world down to a street, and
across the antimeridian (Chukotka)."""
from __future__ import annotations

import itertools
import math
import random
import threading
from collections import defaultdict

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from resourcemap.registry.demo import delete_synthetic, generate_synthetic
from resourcemap.registry.write import create_organization
from resourcemap.data import map as data_map
from resourcemap.search import map as search_map
from resourcemap.search.redaction import snap_point

KINDS = ("early_help", "rehabilitation", "crisis_apartment", "family_support", "psychological_help")
FILTERS = (None, ["early_help"], ["crisis_apartment"], ["early_help", "crisis_apartment"],
           ["rehabilitation", "family_support", "psychological_help"])
# Views: world, Russia, a region, Moscow, a street, Chukotka across the antimeridian and as the map's script
# clamps it today, Almaty, and a box whose edges fall on grid lines and on a point.
VIEWS = [(-180.0, -85.0, 180.0, 85.0), (20.0, 40.0, 180.0, 80.0), (35.0, 54.5, 40.5, 57.0),
         (37.4, 55.6, 37.8, 55.9), (37.60, 55.74, 37.64, 55.76), (170.0, 62.0, -168.0, 68.0),
         (170.0, 62.0, 180.0, 68.0), (-180.0, 62.0, -168.0, 68.0), (76.5, 43.0, 77.2, 43.5),
         (38.0, 56.0, 38.5, 56.25)]
CENTRES = {"moscow": (55.75, 37.62), "elektrostal": (55.79, 38.44), "almaty": (43.24, 76.89),
           "anadyr": (64.73, 177.51), "egvekinot": (66.32, -179.12), "lavrentiya": (65.58, -171.02),
           "kaliningrad": (54.71, 20.51)}
_names = itertools.count(1)


# --- the brute force ------------------------------------------------------------------------------------------
def public_point(lat: float, lon: float, confidential: bool) -> tuple[float, float]:
    """views.snap_point without its rounding: what the public map places, filters and counts by."""
    if not confidential:
        return lat, lon
    dlat = 5.0 / 111.32
    slat = (math.floor(lat / dlat) + 0.5) * dlat
    dlon = 5.0 / (111.32 * max(math.cos(math.radians(slat)), 0.05))
    return slat, (math.floor(lon / dlon) + 0.5) * dlon


def published(conn) -> dict[int, dict]:
    """{location_id: {lat, lon (public), kinds, organization_id, confidential, exact, and what the map shows}}
    from the raw rows."""
    orgs = dict(conn.execute(text("SELECT id, status FROM organization")).all())
    org_info = {r.id: r for r in conn.execute(text("SELECT id, name, is_synthetic FROM organization"))}
    towns = dict(conn.execute(text("SELECT id, name_ru FROM settlement WHERE id IN"
                                   " (SELECT settlement_id FROM location)")).all())
    services = {r.id: r for r in conn.execute(text("SELECT id, organization_id, type_code, active FROM service"))}
    kinds: dict[int, set] = defaultdict(set)
    for service_id, location_id in conn.execute(text("SELECT service_id, location_id FROM service_at_location")):
        s = services[service_id]
        if s.active and orgs[s.organization_id] == "published":
            kinds[location_id].add(s.type_code)
    points = {}
    for r in conn.execute(text("SELECT id, organization_id, ST_Y(geog::geometry) AS lat, ST_X(geog::geometry) AS lon,"
                               " confidential, approximate, active, settlement_id FROM location")):
        if r.active and kinds[r.id]:
            lat, lon = public_point(r.lat, r.lon, r.confidential)
            org = org_info[r.organization_id]
            points[r.id] = {"lat": lat, "lon": lon, "kinds": sorted(kinds[r.id]), "organization_id": r.organization_id,
                            "confidential": r.confidential, "exact": (r.lat, r.lon), "approximate": r.approximate,
                            "organization_name": org.name, "is_synthetic": org.is_synthetic,
                            "settlement_id": r.settlement_id, "settlement_name": towns.get(r.settlement_id)}
    return points


def parts(bbox):
    minlon, minlat, maxlon, maxlat = bbox
    return [bbox] if minlon <= maxlon else [(minlon, minlat, 180.0, maxlat), (-180.0, minlat, maxlon, maxlat)]


def chosen(points: dict, kinds) -> dict:
    return {i: p for i, p in points.items() if not kinds or set(kinds) & set(p["kinds"])}


def inside(points: dict, bbox) -> dict:
    return {i: p for i, p in points.items()
            if any(b[0] <= p["lon"] <= b[2] and b[1] <= p["lat"] <= b[3] for b in parts(bbox))}


def cells(points: dict, bbox, cell: float) -> dict[tuple[int, int], tuple[int, float, float]]:
    """{(cx, cy): (count, mean lat, mean lon)} of the global grid's cells that meet bbox."""
    def meets(cx: int, cy: int) -> bool:
        return any(math.floor(b[0] / cell) <= cx <= math.floor(b[2] / cell)
                   and math.floor(b[1] / cell) <= cy <= math.floor(b[3] / cell) for b in parts(bbox))

    members = defaultdict(list)
    for p in points.values():
        key = (math.floor(p["lon"] / cell), math.floor(p["lat"] / cell))
        if meets(*key):
            members[key].append(p)
    return {k: (len(v), math.fsum(p["lat"] for p in v) / len(v), math.fsum(p["lon"] for p in v) / len(v))
            for k, v in members.items()}


def grid_size(bbox) -> float:
    """The map's rule: about 8 cells across the wider side (height counts 1.5 times), a power of two, no finer
    than the 5 km confidential cell, no coarser than 32 degrees."""
    minlon, minlat, maxlon, maxlat = bbox
    width = maxlon - minlon if minlon <= maxlon else maxlon - minlon + 360
    span = max(width, (maxlat - minlat) * 1.5, 1e-6) / 8
    return min(max(2.0 ** round(math.log2(span)), 5.0 / 111.32), 32.0)


def expected_answer(points: dict, bbox, kinds, limit: int) -> tuple[str, object]:
    """What /map-data/locations must answer: ("points", {id: point}) or ("clusters", {(cx, cy): ...})."""
    mine = chosen(points, kinds)
    cell = grid_size(bbox)
    grid = cells(mine, bbox, cell)
    found = inside(mine, bbox)
    if sum(c[0] for c in grid.values()) > limit and (cell >= 0.5 or len(found) > limit):
        return "clusters", grid
    return "points", found


# --- the comparisons ------------------------------------------------------------------------------------------
def check_tables(conn, points: dict) -> None:
    """map_point and every row of map_grid_cell equal the brute force (sums in nanodegrees, exactly)."""
    stored = {r.location_id: r
              for r in conn.execute(text("SELECT *, ST_X(geom) AS gx, ST_Y(geom) AS gy FROM map_point"))}
    assert set(stored) == set(points)
    fields = ("lat", "lon", "kinds", "organization_id", "confidential", "approximate", "organization_name",
              "is_synthetic", "settlement_id", "settlement_name")
    for i, p in points.items():
        row = stored[i]._mapping
        assert {f: row[f] for f in fields} == {f: p[f] for f in fields}, i
        assert (stored[i].gx, stored[i].gy) == (p["lon"], p["lat"])
    want = defaultdict(lambda: [0, 0, 0])
    levels = dict(conn.execute(text("SELECT level, cell_deg FROM map_grid_level")).all())
    for level, cell in levels.items():
        for p in points.values():
            for kinds in ((), tuple(p["kinds"])):
                w = want[(level, math.floor(p["lon"] / cell), math.floor(p["lat"] / cell), kinds)]
                w[0] += 1
                w[1] += round(p["lat"] * 1e9)
                w[2] += round(p["lon"] * 1e9)
    got = {(r.level, r.cx, r.cy, tuple(r.kinds)): [r.locations, r.sum_lat, r.sum_lon]
           for r in conn.execute(text("SELECT * FROM map_grid_cell"))}
    assert got == dict(want)


def check_clusters(session: Session, points: dict) -> None:
    """search.map.map_clusters at every grid size, for every view and filter (means to 2e-9 degrees: the sums
    are kept in nanodegrees)."""
    for bbox, kinds, cell in itertools.product(VIEWS, FILTERS, data_map.CELL_SIZES):
        want = cells(chosen(points, kinds), bbox, cell)
        got = {(c["cx"], c["cy"]): c for c in data_map.map_clusters(session, bbox, kinds, cell)}
        assert set(got) == set(want), (bbox, kinds, cell)
        for key, (n, lat, lon) in want.items():
            c = got[key]
            assert c["count"] == n and abs(c["lat"] - lat) < 2e-9 and abs(c["lon"] - lon) < 2e-9, (bbox, kinds, key)


def check_endpoint(client, points: dict, limits=(1500, 4)) -> None:
    """GET /map-data/locations answers what the brute force expects, with the points limit as shipped and tiny."""
    from resourcemap.public import routes

    saved = routes.MAP_POINTS_LIMIT
    try:
        for limit, bbox, kinds in itertools.product(limits, VIEWS, FILTERS):
            routes.MAP_POINTS_LIMIT = limit
            url = "/map-data/locations?bbox=" + ",".join(repr(v) for v in bbox)
            body = client.get(url + (f"&service={','.join(kinds)}" if kinds else "")).get_json()
            mode, want = expected_answer(points, bbox, kinds, limit)
            assert body["mode"] == mode, (bbox, kinds, limit)
            if mode == "points":
                assert sorted(i["id"] for i in body["items"]) == sorted(want), (bbox, kinds)
                for item in body["items"]:
                    p = want[item["id"]]
                    if p["confidential"]:
                        assert (item["lat"], item["lon"]) == snap_point(*p["exact"]) and item["approximate"]
                    else:
                        assert (item["lat"], item["lon"]) == (round(p["exact"][0], 6), round(p["exact"][1], 6))
                    assert item["types"] == [k for k in p["kinds"] if not kinds or k in kinds]
                    assert (item["org"], item["name"], item["place"], item["synthetic"]) == (
                        p["organization_id"], p["organization_name"], p["settlement_name"], p["is_synthetic"])
                    assert item["approximate"] == (p["confidential"] or p["approximate"])
            else:
                remaining = list(want.values())
                assert len(body["items"]) == len(remaining), (bbox, kinds)
                for c in body["items"]:
                    match = next(w for w in remaining if w[0] == c["count"] and abs(w[1] - c["lat"]) <= 1e-4
                                 and abs(w[2] - c["lon"]) <= 1e-4)
                    remaining.remove(match)
    finally:
        routes.MAP_POINTS_LIMIT = saved


def check_all(engine, client) -> dict:
    with engine.connect() as conn:
        points = published(conn)
        check_tables(conn, points)
    with Session(engine) as session:
        check_clusters(session, points)
    check_endpoint(client, points)
    return points


# --- building the registry ------------------------------------------------------------------------------------
def add_org(session, places: list[tuple[float, float, bool]], services: list[tuple[str, int]],
            status: str = "published") -> int:
    n = next(_names)
    return create_organization(session, {
        "name": f"Карта {n}", "status": status,
        "locations": [{"name": f"Точка {n}.{i}", "lat": lat, "lon": lon, "confidential": conf}
                      for i, (lat, lon, conf) in enumerate(places)],
        "services": [{"type": kind, "location": loc} for kind, loc in services],
        "phones": [],
    })


def scatter(rng: random.Random, centre: str, spread: float) -> tuple[float, float]:
    lat, lon = CENTRES[centre]
    lon = lon + rng.uniform(-spread, spread) * 2
    lon = lon - 360 if lon > 180 else lon + 360 if lon < -180 else lon
    return round(lat + rng.uniform(-spread, spread), 6), round(lon, 6)


@pytest.fixture
def mapped(registry, engine):
    """About 120 organizations in Moscow and its region, Almaty, Kaliningrad and Chukotka (both sides of 180°),
    some confidential, one to three kinds at a location, some with two locations, a few drafts."""
    rng = random.Random(11)
    weights = {"moscow": 40, "elektrostal": 15, "almaty": 15, "anadyr": 12, "egvekinot": 8, "lavrentiya": 8,
               "kaliningrad": 6}
    for _ in range(104):
        centre = rng.choices(list(weights), list(weights.values()))[0]
        places = [(*scatter(rng, centre, 0.15), rng.random() < 0.2) for _ in range(1 if rng.random() < 0.8 else 2)]
        services = [(kind, rng.randrange(len(places))) for kind in rng.sample(KINDS, rng.choice([1, 1, 2, 3]))]
        add_org(registry, places, services, status="draft" if rng.random() < 0.1 else "published")
    # On grid lines and on the edges of a view; one location with two services of the same kind.
    add_org(registry, [(56.0, 38.0, False), (56.25, 38.5, False)], [("early_help", 0), ("rehabilitation", 1)])
    add_org(registry, [(55.9, 38.2, False)], [("early_help", 0), ("early_help", 0), ("crisis_apartment", 0)])
    registry.commit()
    return registry


def _ids(engine, sql: str, **params) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).scalars())


# --- the tests ------------------------------------------------------------------------------------------------
def test_grid_sizes_are_precomputed(engine):
    """Every grid size the map can choose is stored (map_grid_level) or is twice a stored one, and grid_size
    picks only those."""
    with engine.connect() as conn:
        stored = sorted(conn.execute(text("SELECT cell_deg FROM map_grid_level")).scalars())
    assert stored == sorted(data_map.STORED_SIZES)
    assert all(c in stored or c / 2 in stored for c in data_map.CELL_SIZES)
    levels = data_map.CELL_SIZES
    rng = random.Random(3)
    for _ in range(2000):
        lon, lat = rng.uniform(-180, 180), rng.uniform(-80, 80)
        w, h = 10 ** rng.uniform(-4, 2.6), 10 ** rng.uniform(-4, 2.3)
        bbox = (lon, lat, min(lon + w, 180), min(lat + h, 85))
        assert search_map.grid_size(bbox, 8) == grid_size(bbox) and grid_size(bbox) in levels


def test_counts_follow_every_kind_of_change(mapped, engine, client):
    registry = mapped
    points = check_all(engine, client)
    assert len(points) > 90 and any(p["lon"] < 0 for p in points.values()) and any(p["confidential"] for p in
                                                                                    points.values())
    _move_locations(registry, points)
    check_all(engine, client)
    orgs = _change_organization_status(registry, engine)
    check_all(engine, client)
    locs = _deactivate_locations_and_services(registry)
    check_all(engine, client)
    _flip_confidential(registry, engine)
    check_all(engine, client)
    _change_kinds_and_links(registry, engine, locs)
    check_all(engine, client)
    _change_what_the_map_shows(registry, engine, client)
    check_all(engine, client)
    _delete_an_organization(registry, orgs[-1])
    check_all(engine, client)


def _move_locations(registry, points) -> None:
    """Moves: within a cell, across cells, and across the antimeridian."""
    rng = random.Random(12)
    targets = [scatter(rng, c, 0.2) for c in CENTRES] + [(65.0, 179.9)]
    for loc, (lat, lon) in zip(rng.sample(sorted(points), 8), targets):
        registry.execute(text("UPDATE location SET geog = CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography)"
                              " WHERE id = :id"), {"id": loc, "lat": lat, "lon": lon})
    registry.commit()


def _change_organization_status(registry, engine) -> list[int]:
    """Organization status: unpublish, deactivate, publish a draft."""
    orgs = _ids(engine, "SELECT id FROM organization WHERE status = 'published' ORDER BY id")
    drafts = _ids(engine, "SELECT id FROM organization WHERE status = 'draft' ORDER BY id")
    registry.execute(text("UPDATE organization SET status = 'draft' WHERE id = ANY(:ids)"), {"ids": orgs[:5]})
    registry.execute(text("UPDATE organization SET status = 'inactive' WHERE id = ANY(:ids)"), {"ids": orgs[5:9]})
    registry.execute(text("UPDATE organization SET status = 'published' WHERE id = ANY(:ids)"), {"ids": drafts[:3]})
    registry.commit()
    return orgs


def _deactivate_locations_and_services(registry) -> list[int]:
    """Deactivation of locations and of services; one reactivated."""
    locs = sorted(published(registry.connection()))
    registry.execute(text("UPDATE location SET active = false WHERE id = ANY(:ids)"), {"ids": locs[:6]})
    registry.execute(text("UPDATE service SET active = false WHERE id IN (SELECT service_id FROM service_at_location"
                          " WHERE location_id = ANY(:ids))"), {"ids": locs[10:14]})
    registry.commit()
    registry.execute(text("UPDATE location SET active = true WHERE id = :id"), {"id": locs[0]})
    registry.commit()
    return locs


def _flip_confidential(registry, engine) -> None:
    """Confidential flips both ways."""
    secret = _ids(engine, "SELECT id FROM location WHERE confidential ORDER BY id")
    open_ = _ids(engine, "SELECT id FROM location WHERE NOT confidential ORDER BY id")
    registry.execute(text("UPDATE location SET confidential = NOT confidential WHERE id = ANY(:ids)"),
                     {"ids": secret[:3] + open_[:5]})
    registry.commit()


def _change_kinds_and_links(registry, engine, locs) -> None:
    """A kind changes, a link is removed, a service is offered at a second location."""
    sals = _ids(engine, "SELECT id FROM service_at_location WHERE searchable ORDER BY id")
    registry.execute(text("UPDATE service SET type_code = 'crisis_apartment' WHERE id IN"
                          " (SELECT service_id FROM service_at_location WHERE id = ANY(:ids))"), {"ids": sals[:4]})
    registry.execute(text("DELETE FROM service_at_location WHERE id = ANY(:ids)"), {"ids": sals[4:8]})
    registry.execute(text("INSERT INTO service_at_location (service_id, location_id)"
                          " SELECT s.service_id, l.id FROM service_at_location s, location l"
                          " WHERE s.id = :sal AND l.id = :loc"), {"sal": sals[9], "loc": locs[-1]})
    registry.commit()


def _change_what_the_map_shows(registry, engine, client) -> None:
    """What the map shows: an organization renamed and marked synthetic, a location marked approximate and moved to
    another settlement, a settlement renamed (and back: the gazetteer is shared by the whole run)."""
    shown = sorted(published(registry.connection()))
    loc_a, loc_b, loc_c = shown[0], shown[1], shown[-1]
    town = registry.execute(text("SELECT settlement_id FROM location WHERE id = :id"), {"id": loc_b}).scalar()
    other = registry.execute(text("SELECT id FROM settlement WHERE id <> :t ORDER BY id LIMIT 1"), {"t": town}).scalar()
    old_name = registry.execute(text("SELECT name_ru FROM settlement WHERE id = :t"), {"t": town}).scalar()
    registry.execute(text("UPDATE organization SET name = name || ' (новое имя)', is_synthetic = NOT is_synthetic"
                          " WHERE id = (SELECT organization_id FROM location WHERE id = :id)"), {"id": loc_c})
    registry.execute(text("UPDATE location SET approximate = NOT approximate, settlement_id = :s WHERE id = :id"),
                     {"id": loc_a, "s": other})
    registry.execute(text("UPDATE settlement SET name_ru = name_ru || '-Карта' WHERE id = :t"), {"t": town})
    registry.commit()
    try:
        assert published(registry.connection())[loc_b]["settlement_name"] == old_name + "-Карта"
        check_all(engine, client)
    finally:
        registry.execute(text("UPDATE settlement SET name_ru = :n WHERE id = :t"), {"n": old_name, "t": town})
        registry.commit()


def _delete_an_organization(registry, org: int) -> None:
    """A whole organization deleted (as delete_synthetic does)."""
    for table, column in [("service_at_location",
                           "location_id IN (SELECT id FROM location WHERE organization_id = :o)"),
                          ("service", "organization_id = :o"), ("location", "organization_id = :o"),
                          ("organization", "id = :o")]:
        registry.execute(text(f"DELETE FROM {table} WHERE {column}"), {"o": org})
    registry.commit()


def test_bulk_inserts_and_deletes_are_counted_at_commit(mapped, engine, client):
    """The synthetic generator inserts with one INSERT ... SELECT per table; delete_synthetic deletes in bulk. The
    first batch is applied as a difference; the second touches more than half the map, which is then rebuilt."""
    before = check_all(engine, client)
    generate_synthetic(engine, 300, 0.3, regions=["RU-MOW", "RU-CHU"])
    assert len(check_all(engine, client)) > len(before) + 250
    delete_synthetic(engine)
    assert set(check_all(engine, client)) == set(before)
    generate_synthetic(engine, 1500, 0.4, regions=["RU-MOW", "RU-MOS", "RU-CHU", "KZ-75"])
    assert len(check_all(engine, client)) > len(before) + 1400
    delete_synthetic(engine)
    assert set(check_all(engine, client)) == set(before)


def test_one_transaction_flushes_once_at_commit_and_a_rollback_changes_nothing(mapped, engine, client):
    registry = mapped
    points = check_all(engine, client)
    loc = sorted(points)[0]
    with engine.connect() as conn:
        grid = conn.execute(text("SELECT * FROM map_grid_cell ORDER BY 1, 2, 3, 4")).all()
    # Uncommitted changes are not seen by others, and a rollback leaves nothing behind.
    registry.execute(text("UPDATE location SET confidential = NOT confidential, active = false WHERE id = :id"),
                     {"id": loc})
    with engine.connect() as conn:
        assert conn.execute(text("SELECT * FROM map_grid_cell ORDER BY 1, 2, 3, 4")).all() == grid
    registry.rollback()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT * FROM map_grid_cell ORDER BY 1, 2, 3, 4")).all() == grid
        assert conn.execute(text("SELECT count(*) FROM map_dirty")).scalar() == 0
    # Flushed early (SET CONSTRAINTS ... IMMEDIATE), then changed again: both changes counted at commit.
    plans = registry.execute(text("SHOW plan_cache_mode")).scalar()
    registry.execute(text("UPDATE location SET confidential = true WHERE id = :id"), {"id": loc})
    registry.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    assert registry.execute(text("SELECT count(*) FROM map_dirty")).scalar() == 0  # flushed
    assert registry.execute(text("SHOW plan_cache_mode")).scalar() == plans  # the flush's own setting undone
    registry.execute(text("SET CONSTRAINTS ALL DEFERRED"))
    registry.execute(text("UPDATE location SET geog = CAST(ST_SetSRID(ST_MakePoint(37.9, 55.61), 4326) AS geography)"
                          " WHERE id = :id"), {"id": loc})
    registry.commit()
    points = check_all(engine, client)
    assert points[loc]["confidential"] and points[loc]["exact"] == (55.61, 37.9)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM map_dirty")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM map_flush")).scalar() == 0
        # The incremental state is what a rebuild from scratch makes.
        grid = conn.execute(text("SELECT * FROM map_grid_cell ORDER BY 1, 2, 3, 4")).all()
    with engine.begin() as conn:
        conn.execute(text("SELECT rm_map_rebuild()"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT * FROM map_grid_cell ORDER BY 1, 2, 3, 4")).all() == grid


def test_concurrent_writers_to_one_location_both_count(mapped, engine, client):
    """Two transactions add different kinds at the same location. The second to commit waits for the first's
    flush and then sees it, so the location ends with both kinds (without the flush lock it would keep one)."""
    points = check_all(engine, client)
    loc = next(i for i, p in sorted(points.items()) if "rehabilitation" not in p["kinds"]
               and "family_support" not in p["kinds"])
    org = points[loc]["organization_id"]
    add = text("WITH s AS (INSERT INTO service (organization_id, type_code) VALUES (:o, :k) RETURNING id)"
               " INSERT INTO service_at_location (service_id, location_id) SELECT id, :l FROM s")
    first, second = engine.connect(), engine.connect()
    try:
        first.execute(add, {"o": org, "k": "rehabilitation", "l": loc})
        first.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))  # flushed now: holds the flush lock until commit
        second.execute(add, {"o": org, "k": "family_support", "l": loc})
        done = threading.Event()

        def commit_second():
            second.commit()
            done.set()

        worker = threading.Thread(target=commit_second)
        worker.start()
        assert not done.wait(1.0)  # waiting for the first transaction's flush lock
        first.commit()
        worker.join(30)
        assert done.is_set()
    finally:
        first.close()
        second.close()
    points = check_all(engine, client)
    assert {"rehabilitation", "family_support"} <= set(points[loc]["kinds"])


def test_concurrent_writers_in_shared_cells_do_not_deadlock(mapped, engine, client):
    """Eight threads change locations all over the map at once (every change touches the world-wide cells)."""
    locs = sorted(check_all(engine, client))
    errors = []

    def writer(n: int):
        rng = random.Random(n)
        try:
            for _ in range(6):
                with engine.begin() as conn:
                    # In id order, as the registry's writers lock rows: two writers taking the same two rows in
                    # opposite orders would deadlock on the rows themselves, whatever the map does.
                    for loc in sorted(rng.sample(locs, 3)):
                        conn.execute(text("UPDATE location SET confidential = NOT confidential WHERE id = :id"),
                                     {"id": loc})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    check_all(engine, client)


def test_confidential_points_are_never_stored_exactly(mapped, engine):
    with engine.connect() as conn:
        points = published(conn)
        rows = conn.execute(text("SELECT location_id, lat, lon, ST_X(geom) AS gx, ST_Y(geom) AS gy FROM map_point")
                            ).all()
    secret = {i: p for i, p in points.items() if p["confidential"]}
    assert secret
    for row in rows:
        if row.location_id in secret:
            exact = secret[row.location_id]["exact"]
            assert (row.lat, row.lon) == (row.gy, row.gx) != exact
            assert snap_point(row.lat, row.lon) == snap_point(*exact)


def test_truncating_the_registry_empties_the_map(mapped, engine, client):
    assert check_all(engine, client)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE service_at_location, service, phone, service_area, location,"
                          " organization RESTART IDENTITY CASCADE"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT (SELECT count(*) FROM map_point) + (SELECT count(*) FROM map_grid_cell)")
                            ).scalar() == 0
    assert check_all(engine, client) == {}


def test_antimeridian_box_is_two_boxes(mapped, engine, client):
    """A view from 170° E to 168° W (Chukotka) holds the places on both sides; the map's script today clamps
    at 180°, and that box holds the eastern half only."""
    with engine.connect() as conn:
        points = published(conn)
    across = client.get("/map-data/locations?bbox=170,62,-168,68").get_json()
    clamped = client.get("/map-data/locations?bbox=170,62,180,68").get_json()
    assert across["mode"] == clamped["mode"] == "points"
    lons = [i["lon"] for i in across["items"]]
    assert any(lon < 0 for lon in lons) and any(lon > 0 for lon in lons)
    assert {i["id"] for i in clamped["items"]} == {i["id"] for i in across["items"] if i["lon"] > 0}
    assert len(across["items"]) == len(inside(points, (170, 62, -168, 68)))
    assert client.get("/map-data/locations?bbox=170,68,-168,62").status_code == 400
