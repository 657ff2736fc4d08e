"""Settlement suggestions at the census' size (migration 0018, search/settlements.py): exact and prefix names from
the btree with the settlements' copies, look-alikes from the distinct names, Kazakh letters folded, namesakes told
apart by type, district and population, the family's region first among equals.

The expectations are computed here from the settlement table itself (plain SQL over settlement and its names, no
search code), so a wrong ranking or a stale copy fails."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from resourcemap.gazetteer.place_types import type_name
from tests.conftest import CENSUS_WHEEL

needs_census = pytest.mark.skipif(CENSUS_WHEEL is None, reason="the census is not loaded: no wheel in "
                                  "var/cache/census/ (scripts/install fetches it), or RESOURCEMAP_TEST_CENSUS=0")


def _suggest(client, **params) -> list[dict]:
    response = client.get("/api/v1/settlements", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


def test_kazakh_letters_fold_onto_russian_ones(engine):
    with engine.connect() as conn:
        assert conn.execute(text("SELECT rm_name_norm('ӘӨҮҰҚҒҢҺІ әөүұқғңһі Ёлка')")).scalar() == \
            "аоуукгнхи аоуукгнхи елка"
        assert conn.execute(text("SELECT rm_name_norm('Екібастұз') = rm_name_norm('Екибастуз')")).scalar()


@pytest.mark.parametrize("typed", ["Екібастұз", "Екибастуз", "Экибастуз", "Экібастуз", "екибаст"])
def test_ekibastuz_found_by_russian_and_kazakh_spellings(client, engine, typed):
    """Экибастуз (Kazakh «Екібастұз»), typed in Kazakh, as a Russian keyboard types the Kazakh name, or in
    Russian."""
    with engine.connect() as conn:
        wanted = conn.execute(text("SELECT id FROM settlement WHERE name_ru = 'Экибастуз' AND region_code = 'KZ-55'"
                                   )).scalar()
    assert wanted is not None
    assert wanted in [r["id"] for r in _suggest(client, q=typed, limit=5)]


def test_copies_and_distinct_names_agree_with_the_settlements(engine):
    """The copies the suggestions rank by are the settlements' own values; place_name holds each spelling once and
    nothing else."""
    with engine.connect() as conn:
        stale = conn.execute(text(
            "SELECT count(*) FROM settlement_name sn JOIN settlement s ON s.id = sn.settlement_id"
            " WHERE (sn.population, sn.region_code, sn.district_id)"
            "       IS DISTINCT FROM (s.population, s.region_code, s.district_id)")).scalar()
        missing, orphans = conn.execute(text(
            "SELECT (SELECT count(*) FROM (SELECT DISTINCT name_norm FROM settlement_name) n"
            "        WHERE NOT EXISTS (SELECT 1 FROM place_name p WHERE p.name_norm = n.name_norm)),"
            "       (SELECT count(*) FROM place_name p"
            "        WHERE NOT EXISTS (SELECT 1 FROM settlement_name sn WHERE sn.name_norm = p.name_norm))")).one()
    assert (stale, missing, orphans) == (0, 0, 0)


def test_copies_follow_a_changed_settlement_and_names_follow_their_rows(engine):
    with engine.connect() as conn, conn.begin() as tx:
        sid, district = conn.execute(text(
            "SELECT s.id, (SELECT d.id FROM district d WHERE d.region_code = 'RU-TVE' AND d.id <> s.district_id LIMIT 1)"
            " FROM settlement s WHERE s.region_code = 'RU-TVE' AND s.district_id IS NOT NULL"
            " ORDER BY s.id LIMIT 1")).one()
        conn.execute(text("UPDATE settlement SET population = 4321, district_id = :d WHERE id = :id"),
                     {"id": sid, "d": district})
        copies = conn.execute(text("SELECT DISTINCT population, district_id FROM settlement_name"
                                   " WHERE settlement_id = :id"), {"id": sid}).all()
        assert copies == [(4321, district)]
        conn.execute(text("INSERT INTO settlement_name (settlement_id, name_norm) VALUES (:id, 'тестовое имя 19')"),
                     {"id": sid})
        row = conn.execute(text("SELECT population, region_code FROM settlement_name"
                                " WHERE name_norm = 'тестовое имя 19'")).one()
        assert tuple(row) == (4321, "RU-TVE")
        assert conn.execute(text("SELECT count(*) FROM place_name WHERE name_norm = 'тестовое имя 19'")).scalar() == 1
        conn.execute(text("UPDATE settlement_name SET name_norm = 'другое имя 19' WHERE name_norm = 'тестовое имя 19'"))
        assert conn.execute(text("SELECT array_agg(name_norm ORDER BY name_norm) FROM place_name"
                                 " WHERE name_norm LIKE '%имя 19'")).scalar() == ["другое имя 19"]
        conn.execute(text("DELETE FROM settlement_name WHERE name_norm = 'другое имя 19'"))
        assert conn.execute(text("SELECT count(*) FROM place_name WHERE name_norm LIKE '%имя 19'")).scalar() == 0
        tx.rollback()


def _expected_order(engine, name: str, prefer: str | None) -> list[int]:
    """Settlements named exactly `name` (any spelling), the preferred region's first, then the bigger."""
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text(
            "SELECT s.id FROM settlement s WHERE EXISTS (SELECT 1 FROM settlement_name sn"
            "   WHERE sn.settlement_id = s.id AND sn.name_norm = rm_name_norm(:name))"
            " ORDER BY s.region_code = :prefer DESC NULLS LAST, s.population DESC NULLS LAST, s.id"),
            {"name": name, "prefer": prefer})]


@pytest.mark.parametrize("prefer", [None, "RU-PNZ", "RU-ORE"])
def test_namesakes_exact_first_then_the_familys_region_then_the_bigger(client, engine, prefer):
    params = {"q": "Каменка", "limit": 50}
    if prefer:
        params["prefer_region"] = prefer
    rows = _suggest(client, **params)
    expected = _expected_order(engine, "Каменка", prefer)
    exact = [r for r in rows if r["match"] == "exact"]
    assert len(expected) >= 20 and rows[:len(exact)] == exact  # exact names before any other
    assert [r["id"] for r in exact] == expected[:len(exact)] and len(exact) == min(50, len(expected))
    if prefer:
        assert exact[0]["region"]["code"] == prefer


def test_prefix_matches_rank_the_bigger_place_first(client, engine):
    rows = _suggest(client, q="Новосиб", limit=10)
    assert rows[0]["name"] == "Новосибирск" and rows[0]["match"] == "prefix"
    populations = [r["population"] or 0 for r in rows if r["match"] == "prefix"]
    assert populations == sorted(populations, reverse=True)


def test_prefer_region_must_be_a_region(client):
    response = client.get("/api/v1/settlements", query_string={"q": "Каменка", "prefer_region": "XX-YYY"})
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "prefer_region"


def test_typos_still_find_the_place(client):
    for typed, meant in [("Коноваловко", "Коноваловка"), ("Электрастль", "Электросталь"), ("Сергиев Пасад", "Сергиев Посад")]:
        assert meant in [r["name"] for r in _suggest(client, q=typed, limit=10)], typed


def test_type_names():
    assert type_name("д", "village") == "деревня"
    assert type_name("ст-ца", "village") == "станица"
    assert type_name("c", "village") == "село"  # a Latin "c" in the table
    assert type_name(None, "city") == "город"
    assert type_name("урочище", "village") == "урочище"  # rare types as written


@needs_census
@pytest.mark.parametrize("params", [{"q": "Лукино Московская"}, {"q": "Лукино", "prefer_region": "RU-MOS"},
                                    {"q": "д. Лукино", "region": "RU-MOS"}])
def test_the_seven_lukino_of_moscow_oblast_are_told_apart_in_suggestions(client, params):
    rows = _suggest(client, limit=10, **params)[:7]
    assert [r["region"]["code"] for r in rows] == ["RU-MOS"] * 7 and {r["name"] for r in rows} == {"Лукино"}
    assert all(r["type_name"] and r["district"] and r["type"] for r in rows)
    told_apart = {(r["type_name"], r["district"], r["population"]) for r in rows}
    assert len(told_apart) == 7
