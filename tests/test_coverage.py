"""Coverage (issue 21) against an independent brute force: pyproj's WGS84 geodesic over every settlement × service
pair of a random registry in a few regions, read from the registry's own tables (published: service active,
organization published, location active; online never counts; an outreach radius or drawn area makes 0; only help
in the settlement's country) — the distances, the figures per country, region and district (one district made to
cross a region border), a settlement that only an outreach area covers, and edits applied incrementally equal to a
computation in full."""
from __future__ import annotations

import json
import random
import time

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from resourcemap import coverage
from resourcemap.coverage import aggregate
from resourcemap.data import coverage as data
from resourcemap.registry.write import create_organization
from tests.conftest import REGISTRY_TABLES
from tests.factories import GEOD, add_service, random_points_in

KINDS = ["early_help", "crisis_apartment"]
REGIONS = ["RU-MOS", "RU-MOW", "RU-TUL", "RU-ORE", "KZ-15"]
THRESHOLDS_M = [30000.0, 60000.0, 100000.0]
# A drawn area: a box (lon/lat degrees) in Тульская область, 0.3° by 0.2°, chosen with no settlement within EDGE
# of its edges (the area's edges are great circles: the parallels bulge by under 0.0001° over 0.3°), so that
# whether a settlement lies inside needs no spherical geometry in the brute force.
EDGE = 0.001


def _children(engine) -> list[int]:
    """Give every settlement without a children count one (deterministic); the ids given, to take back."""
    with engine.begin() as conn:
        return list(conn.execute(text(
            "UPDATE settlement SET children = (id * 7919) % 900 WHERE children IS NULL RETURNING id")).scalars())


def _cross_a_border(engine) -> tuple[int, int, int | None]:
    """Put a Moscow settlement into the nearest district of Moscow oblast: that district now lies in two regions.
    (settlement id, the district, its district before)."""
    with engine.begin() as conn:
        sid, district, before = conn.execute(text("""
            SELECT s.id, d.id, s.district_id FROM settlement s, district d
            WHERE s.region_code = 'RU-MOW' AND d.region_code = 'RU-MOS'
            ORDER BY ST_Distance(s.geog::geometry, d.boundary), s.id, d.id LIMIT 1""")).one()
        conn.execute(text("UPDATE settlement SET district_id = :d WHERE id = :s"), {"d": district, "s": sid})
    return sid, district, before


def _box(engine) -> tuple[float, float, float, float]:
    """The first box (west, south, east, north) of a grid near Тула with settlements inside, none near its edges."""
    with engine.connect() as conn:
        points = np.array(conn.execute(text("SELECT ST_X(geog::geometry), ST_Y(geog::geometry) FROM settlement"
                                            " WHERE ST_Y(geog::geometry) BETWEEN 53.4 AND 54.6"
                                            " AND ST_X(geog::geometry) BETWEEN 36.4 AND 38.6")).all())
    lon, lat = points[:, 0], points[:, 1]
    for w in np.arange(36.5, 38.2, 0.037):
        for s in np.arange(53.5, 54.3, 0.029):
            e, n = w + 0.3, s + 0.2

            def inside(m: float):
                return (lon > w - m) & (lon < e + m) & (lat > s - m) & (lat < n + m)
            if inside(0).sum() >= 3 and not (inside(EDGE) & ~inside(-EDGE)).any():
                return float(w), float(s), float(e), float(n)
    raise AssertionError("no box without a settlement on its edges")


def _drawn(session, engine, lat: float, lon: float) -> dict:
    """An outreach early-help service at (lat, lon) whose drawn area is _box()."""
    w, s, e, n = _box(engine)
    area = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
    org = create_organization(session, {
        "name": "Выездная служба (область)", "status": "published",
        "locations": [{"name": "База", "address": "", "lat": lat, "lon": lon}],
        "services": [{"type": "early_help", "delivery": "outreach", "area_geojson": json.dumps(area)}],
        "phones": [{"number": "+74872000000", "kind": "main"}]})
    return {"organization_id": org}


def _clear_radius(session, made: dict) -> None:
    """Give a confidential outreach service a radius between 25 and 35 km that no settlement lies within 5 m of,
    around its exact point or its public one (the brute force cannot tell which side of the edge such a one is)."""
    lat, lon, public_lat, public_lon = session.execute(text(
        "SELECT ST_Y(geog::geometry), ST_X(geog::geometry), ST_Y(public_geog::geometry), ST_X(public_geog::geometry)"
        " FROM service_at_location WHERE id = :id"), {"id": made["sal_id"]}).one()
    st = _settlements(session.connection())
    n = len(st["id"])
    d = np.concatenate([GEOD.inv(np.full(n, x), np.full(n, y), st["lon"], st["lat"])[2]
                        for y, x in ((lat, lon), (public_lat, public_lon))])
    radius_m = next(r for r in np.arange(30000.0, 35000.0, 10.0) if np.abs(d - r).min() > 5.0)
    session.execute(text("UPDATE service_area SET radius_km = :km WHERE service_id = :s"),
                    {"km": radius_m / 1000.0, "s": made["service_id"]})


def _registry(session, engine, rng: random.Random) -> dict:
    """The random registry: sites, outreach radii, confidential crisis apartments, and what must not count (online,
    drafts); its notable rows by name."""
    places = {code: random_points_in(engine, code, 40, seed=len(code) * 7 + i)
              for i, code in enumerate(REGIONS)}
    made = {}
    for code, points in places.items():
        for n, (lat, lon) in enumerate(points[:8]):
            made[f"{code}-site-{n}"] = add_service(session, lat, lon, "early_help")
        for lat, lon in points[8:10]:
            add_service(session, lat, lon, "early_help", delivery="outreach", radius_km=rng.choice([15, 25, 40]))
        for lat, lon in points[10:13]:
            add_service(session, lat, lon, "crisis_apartment", confidential=True)
        lat, lon = points[13]
        add_service(session, lat, lon, "early_help", delivery="online")
        lat, lon = points[14]
        add_service(session, lat, lon, "early_help", status="draft")
        add_service(session, *points[15], "crisis_apartment")
        # a confidential outreach service and site of early help: the public measures them at their public point
        hidden = add_service(session, *points[16], "early_help", delivery="outreach", radius_km=30,
                             confidential=True)
        _clear_radius(session, hidden)
        add_service(session, *points[17], "early_help", confidential=True)
    made["drawn"] = _drawn(session, engine, 53.2, 36.4)  # the base stands far from its area
    session.commit()
    return made


@pytest.fixture(scope="module")
def world(engine):
    """The random registry, computed in full for KINDS; afterwards the registry emptied and the settlements as
    they were."""
    given = _children(engine)
    crossed = _cross_a_border(engine)
    with Session(engine) as session:
        made = _registry(session, engine, random.Random(21))
    coverage.refresh(engine, KINDS)
    yield {"made": made, "crossed": crossed}
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {REGISTRY_TABLES} RESTART IDENTITY CASCADE"))
        conn.execute(text("UPDATE settlement SET children = NULL WHERE id = ANY(:ids)"), {"ids": given})
        conn.execute(text("UPDATE settlement SET district_id = :d WHERE id = :s"),
                     {"d": crossed[2], "s": crossed[0]})


# --- the brute force ------------------------------------------------------------------------------------------------
def _settlements(conn) -> dict:
    rows = conn.execute(text("SELECT id, ST_Y(geog::geometry), ST_X(geog::geometry), region_code, district_id,"
                             " coalesce(population, 0), coalesce(children, 0),"
                             " CASE WHEN district_id IS NULL THEN municipality END FROM settlement ORDER BY id")).all()
    cols = list(zip(*rows))
    return {"id": np.array(cols[0]), "lat": np.array(cols[1]), "lon": np.array(cols[2]),
            "region": np.array(cols[3]), "country": np.array([r[:3] for r in cols[3]]),
            "district": list(cols[4]), "people": np.array(cols[5]), "children": np.array(cols[6]),
            "municipality": list(cols[7])}


def _services(conn, code: str) -> list[dict]:
    """The published services of kind `code` that are not online, from the registry's own tables, with their
    radius areas and drawn areas' boxes."""
    return [dict(r) for r in conn.execute(text("""
        SELECT s.id AS service_id, l.id AS location_id, ST_Y(l.geog::geometry) AS lat, ST_X(l.geog::geometry) AS lon,
               left(l.region_code, 3) AS country, s.delivery, l.confidential,
               ST_Y(sal.public_geog::geometry) AS public_lat, ST_X(sal.public_geog::geometry) AS public_lon,
               (SELECT array_agg(a.radius_km) FROM service_area a WHERE a.service_id = s.id
                 AND a.radius_km IS NOT NULL) AS radii,
               (SELECT array_agg(ST_AsText(ST_Envelope(a.area::geometry))) FROM service_area a
                 WHERE a.service_id = s.id AND a.radius_km IS NULL AND a.area IS NOT NULL) AS drawn
        FROM service s JOIN organization o ON o.id = s.organization_id
        JOIN service_at_location sal ON sal.service_id = s.id JOIN location l ON l.id = sal.location_id
        WHERE s.type_code = :code AND s.active AND o.status = 'published' AND l.active AND s.delivery <> 'online'
    """), {"code": code}).mappings()]


def _in_box(st: dict, wkt: str) -> np.ndarray:
    xs, ys = zip(*[tuple(map(float, p.split())) for p in wkt[wkt.index("((") + 2:-2].split(",")])
    w, e, s, n = min(xs), max(xs), min(ys), max(ys)

    def inside(m: float) -> np.ndarray:
        return (st["lon"] > w - m) & (st["lon"] < e + m) & (st["lat"] > s - m) & (st["lat"] < n + m)

    assert not (inside(EDGE) & ~inside(-EDGE)).any(), "a settlement lies on a drawn area's edge"
    return inside(0.0)


_BRUTE: dict[tuple, tuple] = {}


def brute_force(engine, code: str, public: bool = False) -> tuple[dict, np.ndarray, np.ndarray]:
    """(settlements, distance in metres per settlement (inf: none in its country), reached per settlement). The
    public's: every confidential place at its public point (the map's), its outreach radius drawn around it.
    Remembered for the same registry and settlements (with the census, one computation is 50 million geodesics)."""
    with engine.connect() as conn:
        st, services = _settlements(conn), _services(conn, code)
    key = (code, public, json.dumps(services, sort_keys=True, default=str),
           hash((st["id"].tobytes(), st["lat"].tobytes(), st["lon"].tobytes(), st["children"].tobytes(),
                 st["people"].tobytes(), tuple(st["district"]), tuple(st["region"]))))
    if key not in _BRUTE:
        _BRUTE[key] = _brute_force(st, services, public)
    return _BRUTE[key]


def _brute_force(st: dict, services: list[dict], public: bool) -> tuple[dict, np.ndarray, np.ndarray]:
    best = np.full(len(st["id"]), np.inf)
    reached = np.zeros(len(st["id"]), dtype=bool)
    for svc in services:
        same = st["country"] == svc["country"]
        hidden = public and svc["confidential"]
        lat, lon = (svc["public_lat"], svc["public_lon"]) if hidden else (svc["lat"], svc["lon"])
        d = GEOD.inv(np.full(len(st["id"]), lon), np.full(len(st["id"]), lat), st["lon"], st["lat"])[2]
        best = np.where(same & (d < best), d, best)
        if svc["delivery"] == "outreach":  # a confidential radius: around the public point, for the public
            for radius in svc["radii"] or []:
                assert np.abs(d - radius * 1000.0).min() > 1.0, "a settlement on a radius' edge"
                reached |= same & (d <= radius * 1000.0)
            for wkt in svc["drawn"] or []:
                reached |= same & _in_box(st, wkt)
    return st, np.where(reached, 0.0, best), reached


def stored(engine, code: str) -> dict[int, tuple]:
    with engine.connect() as conn:
        return {r[0]: tuple(r[1:]) for r in conn.execute(text(
            "SELECT settlement_id, distance_m, reached, confidential, nearest_sal_id, public_distance_m FROM coverage"
            " WHERE type_code = :code"), {"code": code})}


def assert_agrees(engine, code: str) -> None:
    """The staff's distances and the public's agree with the brute force, settlement by settlement."""
    st, expected, reached = brute_force(engine, code)
    _st, public, _reached = brute_force(engine, code, public=True)
    got = stored(engine, code)
    assert len(got) == len(st["id"])
    for i, sid in enumerate(st["id"]):
        d, was_reached, public_d = got[int(sid)][0], got[int(sid)][1], got[int(sid)][4]
        for value, want in ((d, expected[i]), (public_d, public[i])):
            if np.isinf(want):
                assert value is None, (int(sid), value)
            else:
                assert value is not None and abs(value - want) < 0.5, (int(sid), value, want)
        assert was_reached == bool(reached[i]), int(sid)


# --- the tests ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("code", KINDS)
def test_distances_agree_with_the_brute_force(world, engine, code):
    assert_agrees(engine, code)
    moved = [row for row in stored(engine, code).values()
             if row[0] is not None and abs(row[0] - row[4]) > 100.0]
    assert len(moved) >= 5  # the public's figure rests on public points, not on the exact ones


def test_a_settlement_only_an_outreach_area_covers_is_reached(world, engine):
    st, expected, reached = brute_force(engine, "early_help")
    with engine.connect() as conn:
        sites = [s for s in _services(conn, "early_help") if s["delivery"] == "on_site"]
    only_outreach = []
    for i in np.nonzero(reached)[0]:
        nearest_site = min(GEOD.inv(s["lon"], s["lat"], st["lon"][i], st["lat"][i])[2] for s in sites
                           if s["country"] == st["country"][i])
        if nearest_site > 10000:
            only_outreach.append(int(st["id"][i]))
    assert len(only_outreach) >= 3  # by radius and inside the drawn area
    got = stored(engine, "early_help")
    assert all(got[sid][0] == 0.0 and got[sid][1] for sid in only_outreach)


def test_help_abroad_does_not_count(world, engine):
    """Оренбургская область borders Актюбинская: a settlement nearer to help across the border is measured to the
    help of its own country."""
    st, expected, _reached = brute_force(engine, "early_help")
    with engine.connect() as conn:
        services = _services(conn, "early_help")
    nearer_abroad = 0
    for i in np.nonzero(st["country"] == "RU-")[0]:
        foreign = [GEOD.inv(s["lon"], s["lat"], st["lon"][i], st["lat"][i])[2] for s in services
                   if s["country"] == "KZ-"]
        nearer_abroad += min(foreign) < expected[i]
    assert nearer_abroad > 0
    assert_agrees(engine, "early_help")


# --- the figures ----------------------------------------------------------------------------------------------------
def _percentile(d: np.ndarray, ids: np.ndarray, children: np.ndarray, num: int, den: int):
    """The smallest distance within which at least num/den of the children live (inf: beyond any help; None: no
    children)."""
    total = int(children.sum())
    if total == 0:
        return None
    order = np.lexsort((ids, d))
    cum = np.cumsum(children[order])
    return float(d[order][np.argmax(cum * den >= total * num)])


def brute_groups(st: dict, dist: np.ndarray, level: str) -> dict[tuple, dict]:
    keys = {"country": lambda i: (st["region"][i][:2],),
            "region": lambda i: (st["region"][i][:2], st["region"][i]),
            "district": lambda i: (st["region"][i][:2], st["region"][i], st["district"][i], st["municipality"][i])
            }[level]
    members: dict[tuple, list[int]] = {}
    for i in range(len(st["id"])):
        members.setdefault(keys(i), []).append(i)
    out = {}
    for key, idx in members.items():
        idx = np.array(idx)
        d, kids = dist[idx], st["children"][idx]
        out[key] = {"settlements": len(idx), "people": int(st["people"][idx].sum()), "children": int(kids.sum()),
                    "without_any": int(np.isinf(d).sum()),
                    "median_m": _percentile(d, st["id"][idx], kids, 1, 2),
                    "p90_m": _percentile(d, st["id"][idx], kids, 9, 10),
                    "beyond": {t: (int((d > t).sum()), int(st["people"][idx][d > t].sum()), int(kids[d > t].sum()))
                               for t in THRESHOLDS_M}}
    return out


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return (np.isinf(a) and np.isinf(b)) or abs(a - b) < 0.5


@pytest.mark.parametrize("level, code, public", [
    ("country", "early_help", False), ("region", "early_help", False), ("district", "early_help", False),
    ("district", "early_help", True), ("district", "crisis_apartment", False), ("region", "crisis_apartment", True)])
def test_figures_agree_with_the_brute_force(world, engine, level, code, public):
    st, dist, _reached = brute_force(engine, code, public)
    expected = brute_groups(st, dist, level)
    with engine.connect() as conn:
        rows = data.measured(conn, code)
    groups = aggregate.groups(aggregate.Settlements.of(rows, public), level, THRESHOLDS_M)
    names = aggregate.LEVELS[level]
    assert [tuple(row[k] for k in names) for row in groups] == sorted(expected, key=aggregate.key_order)
    for row in groups:
        want = expected[tuple(row[k] for k in names)]
        assert {k: row[k] for k in ("settlements", "people", "children", "without_any")} == \
            {k: want[k] for k in ("settlements", "people", "children", "without_any")}
        assert _close(row["median_m"], want["median_m"]) and _close(row["p90_m"], want["p90_m"]), (row, want)
        assert {t: tuple(b.values()) for t, b in row["beyond"].items()} == want["beyond"]


def test_a_district_across_a_region_border_is_counted_in_each_region(world, engine):
    """The district given a Moscow settlement is a group in each region; each region's districts add up to it."""
    sid, district, _before = world["crossed"]
    out = coverage.figures(engine, "early_help")
    parts = [g for g in out.districts if g["district_id"] == district]
    assert {g["region_code"] for g in parts} == {"RU-MOS", "RU-MOW"}
    for region in out.regions:
        own = [g for g in out.districts if g["region_code"] == region["region_code"]]
        for key in ("settlements", "people", "children"):
            assert sum(g[key] for g in own) == region[key]
        for t in ("30", "60", "100"):
            assert sum(g["beyond"][t]["children"] for g in own) == region["beyond"][t]["children"]
    assert sum(r["children"] for r in out.regions) == sum(c["children"] for c in out.country)


def test_the_public_sees_aggregates_with_rounded_distances(world, engine):
    staff = coverage.figures(engine, "crisis_apartment", "RU-MOS")
    public = coverage.figures(engine, "crisis_apartment", "RU-MOS", public=True)
    assert staff.unserved and not public.unserved  # no settlement's own distance for the public
    for group in public.country + public.regions + public.districts:
        for value in (group["median_km"], group["p90_km"]):
            assert value in (None, "none") or value % coverage.PUBLIC_ROUND_KM == 0
    assert "distance_m" not in json.dumps(public.as_dict(), default=str)
    assert [g["children"] for g in public.districts] == [g["children"] for g in staff.districts]


@pytest.mark.parametrize("region, public", [(None, True), (None, False), ("RU-MOS", True), ("RU-TUL", False)])
def test_the_figures_kept_are_those_computed(world, engine, region, public):
    """The figures a refresh keeps (every region, the default thresholds), cut to a region and to some thresholds,
    are those computed for them."""
    with engine.connect() as conn:
        assert data.stored_figures(conn, "early_help", public)[0] == data.version(conn, "early_help")
    for thresholds in ([30.0, 60.0, 100.0], [60.0], [30.0, 100.0]):
        kept = coverage.figures(engine, "early_help", region, thresholds, public=public)
        computed = coverage.figures(engine, "early_help", region, thresholds, public=public, kept_ok=False)
        assert coverage.plain(kept.as_dict()) == coverage.plain(computed.as_dict())


def test_figures_kept_for_other_distances_are_not_read(world, engine):
    """Distances measured again without keeping the figures (another version): the figures are computed."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE coverage SET public_distance_m = public_distance_m + 50000"
                          " WHERE type_code = 'early_help' AND settlement_id IN"
                          " (SELECT id FROM settlement WHERE region_code = 'RU-TUL')"))
        data.refresh_kind(conn, "early_help", "RU-TUL")  # a new version, and the true distances again
        conn.execute(text("UPDATE coverage SET public_distance_m = public_distance_m + 50000"
                          " WHERE type_code = 'early_help' AND settlement_id IN"
                          " (SELECT id FROM settlement WHERE region_code = 'RU-TUL')"))
    try:
        with engine.connect() as conn:
            assert data.stored_figures(conn, "early_help", True)[0] != data.version(conn, "early_help")
        read = coverage.figures(engine, "early_help", "RU-TUL", public=True)
        computed = coverage.figures(engine, "early_help", "RU-TUL", public=True, kept_ok=False)
        assert coverage.plain(read.as_dict()) == coverage.plain(computed.as_dict())
        st, dist, _reached = brute_force(engine, "early_help", public=True)
        tula = brute_groups(st, dist + 50000.0, "region")[("RU", "RU-TUL")]
        assert read.regions[0]["beyond"]["30"]["children"] == tula["beyond"][30000.0][2]
    finally:
        with engine.begin() as conn:
            data.refresh_kind(conn, "early_help", "RU-TUL")
        coverage.keep_figures(engine, "early_help")


# --- kept fresh after edits -----------------------------------------------------------------------------------------
def _edit(engine, made: dict) -> None:
    """Edits of every sort that can change a figure, each in its own transaction as editors make them."""
    moved, unpublished, deleted = made["RU-MOS-site-0"], made["RU-TUL-site-1"], made["RU-ORE-site-2"]
    statements = [
        ("UPDATE location SET geog = ST_Project(geog, 30000, radians(45)) WHERE id = :id",
         {"id": moved["location_id"]}),
        ("UPDATE organization SET status = 'draft' WHERE id = :id", {"id": unpublished["organization_id"]}),
        ("DELETE FROM service WHERE id = :id", {"id": deleted["service_id"]}),
        ("DELETE FROM service_area WHERE service_id IN (SELECT id FROM service WHERE organization_id = :org)",
         {"org": made["drawn"]["organization_id"]}),
        ("UPDATE service_area SET radius_km = radius_km * 2 WHERE id = (SELECT min(id) FROM service_area"
         " WHERE radius_km IS NOT NULL)", {}),
        ("UPDATE location SET confidential = false WHERE id = (SELECT min(id) FROM location WHERE confidential)", {}),
    ]
    for sql, params in statements:
        with engine.begin() as conn:
            assert conn.execute(text(sql), params).rowcount == 1
    with Session(engine) as session:
        add_service(session, 50.9, 57.6, "early_help")        # Актобе's side of the border
        add_service(session, 51.75, 55.1, "crisis_apartment")  # Оренбург
        session.commit()


def test_edits_are_noted_and_applied_only_where_they_matter(world, engine):
    before = {code: stored(engine, code) for code in KINDS}
    _edit(engine, world["made"])
    assert {code: stored(engine, code) for code in KINDS} == before  # an edit's transaction computes nothing
    with engine.connect() as conn:
        assert {s["type_code"]: s["pending"] for s in data.state(conn)}["early_help"] > 0
    drained = coverage.bring_up_to_date(engine, KINDS)
    assert drained["full"] == [] and set(drained["measured"]) == set(KINDS)
    assert 0 < drained["measured"]["early_help"] < len(before["early_help"]) / 4  # not the country
    incremental = {code: stored(engine, code) for code in KINDS}
    assert incremental != before
    for code in KINDS:
        assert_agrees(engine, code)
    coverage.refresh(engine, KINDS, workers=2)
    assert {code: stored(engine, code) for code in KINDS} == incremental  # the same as computed in full
    with engine.connect() as conn:
        assert all(s["pending"] == 0 for s in data.state(conn) if s["type_code"] in KINDS)


def test_a_truncated_registry_is_computed_again_in_full(engine, registry):
    """(The registry fixture empties the registry afterwards: every kind is then noted whole.)"""
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {REGISTRY_TABLES} RESTART IDENTITY CASCADE"))
    drained = coverage.bring_up_to_date(engine, ["crisis_apartment"])
    assert drained["full"] == ["crisis_apartment"]
    assert set(v[0] for v in stored(engine, "crisis_apartment").values()) == {None}


def test_the_command_refreshes_and_reports(engine, runner, registry):
    add_service(registry, 55.0794, 38.7783, "early_help")
    registry.commit()
    result = runner.invoke(args=["coverage", "refresh", "--service", "early_help"])
    assert result.exit_code == 0, result.output
    assert "early_help:" in result.output and "settlements measured" in result.output
    result = runner.invoke(args=["coverage", "refresh"])
    assert result.exit_code == 0 and "edits noted" in result.output, result.output
    result = runner.invoke(args=["coverage", "report", "--service", "early_help", "--region", "ru-mos", "--json",
                                 "--threshold", "45"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["region"] == "RU-MOS" and out["thresholds_km"] == [45.0]
    assert [g["region_code"] for g in out["regions"]] == ["RU-MOS"] and out["districts"] and out["unserved"]
    result = runner.invoke(args=["coverage", "report", "--service", "early_help", "--region", "RU-MOS"])
    assert result.exit_code == 0 and "Московская область" in result.output, result.output
    result = runner.invoke(args=["coverage", "report", "--service", "no_such_kind"])
    assert result.exit_code != 0 and "not a kind of help" in result.output


def test_the_watcher_is_woken_by_an_edit_s_commit(engine, registry):
    """The watcher applies an edit when its commit notifies it, not on its idle round (an hour away here): no
    timing is asserted (the machine is shared); the time until fresh is measured by bench/coverage.py."""
    import threading

    for lat, lon in ((54.78, 32.05), (55.75, 37.62), (59.93, 30.31), (56.84, 60.6)):
        add_service(registry, lat, lon, "rental_point")
    registry.commit()
    coverage.refresh(engine, ["rental_point"])
    watcher = threading.Thread(target=coverage.watch, args=(engine, ["rental_point"]),
                               kwargs={"rounds": 2, "idle_s": 3600.0})
    watcher.start()
    time.sleep(1.0)  # its first round has applied what was waiting; it listens
    add_service(registry, 54.70, 32.20, "rental_point")  # 12 km from Смоленск's: its own few settlements
    registry.commit()
    watcher.join(timeout=600)
    assert not watcher.is_alive(), "the commit's notification did not wake the watcher"
    with engine.connect() as conn:
        new_sal = conn.execute(text("SELECT max(id) FROM service_at_location")).scalar_one()
    assert any(v[3] == new_sal for v in stored(engine, "rental_point").values())


def test_every_kind_of_help_has_its_coverage_indexes(engine):
    """data/coverage.py relies on ix_sal_cov_<code>, ix_sal_reach_<code> and ix_sal_hidden_<code>
    (rm_create_knn_index, migration 0021)."""
    with engine.connect() as conn:
        missing = conn.execute(text(
            "SELECT t.code || ':' || p.prefix"
            " FROM taxonomy_term t, unnest(ARRAY['ix_sal_cov_', 'ix_sal_reach_', 'ix_sal_hidden_']) p(prefix)"
            " WHERE NOT EXISTS (SELECT 1 FROM pg_indexes WHERE tablename = 'service_at_location'"
            " AND indexname = p.prefix || t.code)")).scalars().all()
    assert missing == []
