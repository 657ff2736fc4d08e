"""load-regions and import-gazetteer: bulk, idempotent, places put in the right region and district."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from resourcemap.gazetteer.importer import GazetteerError, import_gazetteer, russian_name
from resourcemap.gazetteer.load import load_regions

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def forget_imported_places(engine):
    """Each test starts from the shipped gazetteer: places imported by a test are removed after it."""
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM settlement WHERE source IN ('geonames', 'osm') AND"
                          " (ext_id LIKE 'gn-900000%' OR ext_id LIKE 'osm-%')"))


def counts(engine) -> tuple:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT (SELECT count(*) FROM region), (SELECT count(*) FROM district),"
            " (SELECT count(*) FROM settlement), (SELECT count(*) FROM settlement_name),"
            " (SELECT md5(string_agg(ext_id || name_ru || coalesce(district_id::text, '') || ST_AsText(geog), ','"
            "  ORDER BY ext_id)) FROM settlement)")).one()


def test_load_regions_twice_changes_nothing(engine):
    before = counts(engine)
    report = load_regions(engine, ROOT / "data" / "regions")
    assert report.regions == {"inserted": 0, "updated": 0, "unchanged": 105}
    assert report.settlements["inserted"] == 0 and report.settlements["updated"] == 0
    assert report.districts["inserted"] == 0 and report.districts["updated"] == 0
    assert report.names_changed == 0
    assert counts(engine) == before


def test_load_regions_cli_reports_counts(runner):
    result = runner.invoke(args=["load-regions", "RU-SMO", "KZ-35"])
    assert result.exit_code == 0, result.output
    assert "regions: 0 inserted, 0 updated, 2 unchanged" in result.output
    result = runner.invoke(args=["load-regions", "RU-NOWHERE"])
    assert result.exit_code != 0 and "unknown region" in result.output


def test_loaded_geometries_are_valid_and_settlements_inside_their_region(engine):
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM region WHERE NOT ST_IsValid(boundary)")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM district WHERE NOT ST_IsValid(boundary)")).scalar() == 0
        # Every settlement within 5 km of its region, but the census' points flagged as lying outside it
        # (docs/geodata.md); the boundaries' subdivided parts keep this quick at 170,000 settlements.
        far = conn.execute(text(
            "WITH outside AS MATERIALIZED (SELECT s.* FROM settlement s WHERE NOT 'outside_region' = ANY(s.quality)"
            "  AND NOT EXISTS (SELECT 1 FROM region_part rp WHERE rp.region_code = s.region_code"
            "                  AND ST_Intersects(rp.geom, s.geog::geometry)))"
            "SELECT count(*) FROM outside s WHERE NOT EXISTS (SELECT 1 FROM region_part rp"
            " WHERE rp.region_code = s.region_code AND ST_DWithin(rp.geom::geography, s.geog, 5000))")).scalar()
        assert far == 0
        row = conn.execute(text(
            "SELECT d.name_ru, s.region_code FROM settlement s JOIN district d ON d.id = s.district_id"
            " WHERE s.name_ru = 'Демидов' AND s.source <> 'census'")).one()
        assert row == ("Демидовский район", "RU-SMO")


GEONAMES_ROWS = [
    # geonameid, name, asciiname, alternatenames, lat, lon, class, code, cc, cc2, a1, a2, a3, a4, pop, elev, dem, tz, mod
    ("9000001", "Pokrovka Test", "Pokrovka Test", "Pokrovka Test,Покровка-Тестовая,Pokrovka-Testovaya",
     "{demidovsky_lat}", "{demidovsky_lon}", "P", "PPL", "RU", "", "69", "", "", "", "120", "", "180", "Europe/Moscow", "2024-01-01"),
    ("9000002", "Demidov", "Demidov", "Demidov,Демидов", "55.2710", "31.5150", "P", "PPL", "RU", "", "69", "",
     "", "", "6000", "", "180", "Europe/Moscow", "2024-01-01"),  # a duplicate of the shipped Демидов
    ("9000003", "Some Lake", "Some Lake", "Озеро", "55.2", "31.7", "H", "LK", "RU", "", "69", "", "", "", "0",
     "", "180", "Europe/Moscow", "2024-01-01"),  # not a populated place
    ("9000004", "Faraway", "Faraway", "Далёкое", "10.0", "10.0", "P", "PPL", "NG", "", "", "", "", "", "10",
     "", "", "Africa/Lagos", "2024-01-01"),  # outside every region
]


@pytest.fixture(scope="module")
def demidovsky_point(engine) -> dict:
    """A point inside Демидовский район (Smolensk oblast), from the loaded district boundary."""
    with engine.connect() as conn:
        row = conn.execute(text("SELECT ST_Y(p) AS lat, ST_X(p) AS lon FROM (SELECT ST_PointOnSurface(boundary) p"
                                " FROM district WHERE name_ru = 'Демидовский район') x")).one()
    return {"demidovsky_lat": f"{row.lat:.5f}", "demidovsky_lon": f"{row.lon:.5f}"}


def write_geonames(path: Path, point: dict, rows=GEONAMES_ROWS) -> Path:
    path.write_text("".join("\t".join(c.format(**point) for c in r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_import_geonames_dump(engine, tmp_path, demidovsky_point):
    path = write_geonames(tmp_path / "RU.txt", demidovsky_point)
    report = import_gazetteer(engine, path, "geonames")
    assert (report.read, report.added, report.duplicates, report.outside) == (3, 1, 1, 1)
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT s.name_ru, s.region_code, d.name_ru AS district, s.source FROM settlement s"
            " LEFT JOIN district d ON d.id = s.district_id WHERE s.ext_id = 'gn-9000001'")).one()
        assert row == ("Покровка-Тестовая", "RU-SMO", "Демидовский район", "geonames")
        assert conn.execute(text("SELECT count(*) FROM settlement WHERE ext_id = 'gn-9000002'")).scalar() == 0
    again = import_gazetteer(engine, path, "geonames")
    assert (again.added, again.already) == (0, 1)


def test_imported_village_is_found_by_search(client, engine, tmp_path, demidovsky_point):
    import_gazetteer(engine, write_geonames(tmp_path / "RU.txt", demidovsky_point), "geonames")
    hit = client.get("/api/v1/settlements", query_string={"q": "Покровка-Тестовая"}).json["results"][0]
    assert hit["name"] == "Покровка-Тестовая" and "Демидовский район" in hit["label"]
    hit = client.get("/api/v1/settlements", query_string={"q": "Pokrovka-Testovaya"}).json["results"][0]
    assert hit["name"] == "Покровка-Тестовая"


def test_import_csv_of_osm_places_with_region_filter(engine, tmp_path):
    path = tmp_path / "places.csv"
    path.write_text(
        "osm_id,name,name:ru,name:kk,place,lat,lon,population\n"
        "n101,Жаңаауыл,Новоаульское,Жаңаауыл,village,49.9000,73.3000,340\n"          # Karaganda region
        "n102,Каменка-Тест,,,hamlet,54.9000,32.2000,\n"                              # Smolensk region
        "n103,Электросталь,Электросталь,,city,55.7900,38.4500,150000\n"              # duplicate
        ",,,,village,55.0,37.0,\n",                                                  # no name: skipped
        encoding="utf-8")
    report = import_gazetteer(engine, path, "csv", region="KZ-35")
    assert report.added == 1 and report.outside == 2
    with engine.connect() as conn:
        row = conn.execute(text("SELECT name_ru, name_kk, region_code, kind FROM settlement WHERE ext_id = 'osm-n101'")).one()
        assert row == ("Новоаульское", "Жаңаауыл", "KZ-35", "village")
    report = import_gazetteer(engine, path, "csv")
    assert (report.added, report.already, report.duplicates) == (1, 1, 1)
    assert import_gazetteer(engine, path, "csv").added == 0


def test_import_gazetteer_cli(runner, tmp_path, demidovsky_point):
    path = write_geonames(tmp_path / "RU.txt", demidovsky_point, GEONAMES_ROWS[:1])
    result = runner.invoke(args=["import-gazetteer", str(path), "--format", "geonames"])
    assert result.exit_code == 0, result.output
    assert "added:" in result.output


@pytest.mark.parametrize("content, fmt, message", [
    ("a\tb\tc\n", "geonames", "19 tab-separated columns"),
    ("name,x,y\nA,1,2\n", "csv", "header needs lat, lon"),
    ("name,lat,lon\nA,north,2\n", "csv", "line 2: bad lat/lon"),
    ("name,lat,lon\nA,95,2\n", "csv", "out of range"),
])
def test_bad_gazetteer_files_are_refused_whole(engine, tmp_path, content, fmt, message):
    before = counts(engine)
    path = tmp_path / "bad.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(GazetteerError, match=message):
        import_gazetteer(engine, path, fmt)
    assert counts(engine) == before


def test_russian_name_choice():
    assert russian_name(["Demidov", "Дземідаў", "Демидов"]) == "Демидов"
    assert russian_name(["Oral", "Орал", "Уральск"]) in ("Орал", "Уральск")
    assert russian_name(["Karagandy", "Қарағанды"]) is None
