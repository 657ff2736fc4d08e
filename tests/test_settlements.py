"""Settlement search finds places as people type them, in the right district and region."""
from __future__ import annotations

import pytest

from resourcemap.search.settlements import clean_query

# (what is typed, expected name, expected district (None: not checked), expected region code)
NAMED_PLACES = [
    ("Электросталь", "Электросталь", None, "RU-MOS"),
    ("Сергиев Посад", "Сергиев Посад", None, "RU-MOS"),
    ("Кратово", "Кратово", "Раменский", "RU-MOS"),
    ("Демидов", "Демидов", "Демидовский район", "RU-SMO"),
    ("Караганда", "Караганда", None, "KZ-35"),
    ("Атырау", "Атырау", None, "KZ-23"),
    ("Экибастуз", "Экибастуз", None, "KZ-55"),
    ("Туркестан", "Туркестан", None, "KZ-61"),
    ("Уральск", "Уральск", None, "KZ-27"),
]


def first(client, q, **params):
    response = client.get("/api/v1/settlements", query_string={"q": q, **params})
    assert response.status_code == 200, response.json
    results = response.json["results"]
    assert results, f"nothing found for {q!r}"
    return results[0]


@pytest.mark.parametrize("q, name, district, region", NAMED_PLACES)
def test_named_places_are_found_in_the_right_district_and_region(client, q, name, district, region):
    hit = first(client, q)
    assert hit["name"] == name
    assert hit["region"]["code"] == region
    if district:
        assert district in (hit["district"] or "")
    assert hit["label"].startswith(f"{name} — ")
    assert hit["region"]["name"] in hit["label"]


def test_elektrostal_is_where_it_should_be(client):
    hit = first(client, "Электросталь")
    assert hit["lat"] == pytest.approx(55.79, abs=0.02) and hit["lon"] == pytest.approx(38.45, abs=0.02)
    assert hit["region"]["name"] == "Московская область"


@pytest.mark.parametrize("typed, name", [
    ("г. Демидов", "Демидов"),
    ("ДЕМИДОВ", "Демидов"),
    ("демидов", "Демидов"),
    ("Демидав", "Демидов"),          # a typo
    ("Електросталь", "Электросталь"),  # е for э
    ("Элекростал", "Электросталь"),   # letters missing
    ("Elektrostal", "Электросталь"),  # Latin transliteration
    ("пос. Кратово", "Кратово"),
    ("пгт Кратово", "Кратово"),
    ("Королёв", "Королёв"),
    ("Королев", "Королёв"),           # е for ё
    ("Сергиев-Посад", "Сергиев Посад"),
    ("Электрост", "Электросталь"),    # a prefix, as typed
    ("Орал", "Уральск"),              # the Kazakh name
])
def test_typed_variants(client, typed, name):
    assert first(client, typed)["name"] == name


def test_region_filter_and_namesakes(client):
    everywhere = client.get("/api/v1/settlements", query_string={"q": "Ивановка", "limit": 20}).json["results"]
    assert len({r["region"]["code"] for r in everywhere}) > 1  # namesakes told apart by district and region
    only = client.get("/api/v1/settlements", query_string={"q": "Ивановка", "region": everywhere[0]["region"]["code"],
                                                           "limit": 20}).json["results"]
    assert only and {r["region"]["code"] for r in only} == {everywhere[0]["region"]["code"]}


def test_ties_in_similarity_go_to_the_bigger_place(client):
    results = client.get("/api/v1/settlements", query_string={"q": "Караганда", "limit": 5}).json["results"]
    exact = [r for r in results if r["name"] == "Караганда"]
    assert exact[0]["population"] == max(r["population"] or 0 for r in exact)


@pytest.mark.parametrize("raw, cleaned", [
    ("г. Демидов", "Демидов"), ("с.Ивановка", "Ивановка"), ("Демидовский р-н", "Демидовский"),
    ("пос. Кратово", "Кратово"), ("деревня Горки", "Горки"), ("г", "г"), ("Гагарин", "Гагарин"),
])
def test_clean_query(raw, cleaned):
    assert clean_query(raw) == cleaned
