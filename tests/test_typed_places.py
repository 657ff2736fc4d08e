"""A typed place that is not one settlement is never swapped for another (issue 18): the public page, the API and
the dispatch console say "not found, did you mean …" or "several places have this name, choose", with district
and region; kind words («деревня», «с.») and a region or district typed with the name narrow the search.

The names are those of the loaded gazetteer (data/regions): there is no Кукуево (Кукуштан is in Пермский край);
two Лукино, in Нижегородская and Псковская области, none in Московская; six Родники, one in Раменский городской
округ; eighteen Каменка, one in Московская область; three Марфино, two of them in Московская область; six
Богородское, none in Раменский."""
from __future__ import annotations

import html as html_lib
import re

import pytest

from resourcemap.search.settlements import parse_query


def nearest(client, q: str, **params):
    return client.get("/api/v1/nearest", query_string={"q": q, "service": "early_help", **params})


def place_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    error = response.json["error"]
    assert error["code"] == code and error["field"] == "q" and error["message"]
    for c in error["candidates"]:  # each with its district and region
        where = ", ".join(part for part in (c["district"], c["region"]["name"]) if part)
        assert c["label"] == f"{c['name']} — {where}"
    return error


# --- the query parser --------------------------------------------------------------------------------------
@pytest.mark.parametrize("typed, kinds, words", [
    ("с. Богородское, Раменский р-н", ("с",), ("Богородское", "Раменский")),
    ("Деревня Лукино", ("Деревня",), ("Лукино",)),
    ("Моск. обл., Лукино", (), ("Моск", "Лукино")),
    ("пгт Кратово", ("пгт",), ("Кратово",)),
    ("ст-ца Смоленская", ("ст-ца",), ("Смоленская",)),
    ("Сергиев-Посад", (), ("Сергиев", "Посад")),
    ("Марфино Московской области", (), ("Марфино", "Московской")),
])
def test_the_parser_tells_kind_words_from_the_name_and_its_qualifiers(typed, kinds, words):
    query = parse_query(typed)
    assert query.kinds == kinds and query.words == words


# --- the API ---------------------------------------------------------------------------------------------------
def test_settlements_say_how_each_name_matches_and_keep_the_best_first(client):
    def results(q):
        return client.get("/api/v1/settlements", query_string={"q": q}).json["results"]

    assert results("Электросталь")[0]["match"] == "exact"
    assert results("Электрост")[0]["name"] == "Электросталь" and results("Электрост")[0]["match"] == "prefix"
    assert results("Элекростал")[0]["name"] == "Электросталь" and results("Элекростал")[0]["match"] == "fuzzy"
    order = {"exact": 3, "prefix": 2, "fuzzy": 1}
    ranks = [order[r["match"]] for r in results("Кратово")]
    assert ranks == sorted(ranks, reverse=True)


def test_an_exact_name_resolves_in_one_step(client):
    response = nearest(client, "Электросталь")
    assert response.status_code == 200, response.json
    origin = response.json["origin"]
    assert origin["settlement"]["name"] == "Электросталь" and origin["region"] == "RU-MOS"
    assert origin["alternatives"] and all(a["name"] != "Электросталь" for a in origin["alternatives"])
    assert {a["match"] for a in origin["alternatives"]} <= {"prefix", "fuzzy"}
    by_id = nearest(client, "", settlement=origin["settlement"]["id"])  # q is empty: the id alone
    assert by_id.status_code == 400 and by_id.json["error"]["field"] == "q"


def test_an_unknown_name_is_not_found_with_the_closest_names(client):
    error = place_error(nearest(client, "Кукуштаново"), 404, "not_found")  # (the census has 8 «Кукуево»)
    assert error["name"] == "Кукуштаново" and error["area"] == []
    kukushtan = [c for c in error["candidates"] if c["name"] == "Кукуштан"]
    assert kukushtan and kukushtan[0]["label"] == "Кукуштан — Пермский район, Пермский край"
    assert all(c["match"] != "exact" for c in error["candidates"])
    assert place_error(nearest(client, "Щщщщщщщщ"), 404, "not_found")["candidates"] == []


def test_namesakes_are_asked_about_biggest_first(client):
    error = place_error(nearest(client, "Деревня Алакаевка"), 409, "ambiguous")  # the kind word spoils nothing
    assert error["name"] == "Алакаевка"
    assert [(c["name"], c["region"]["name"]) for c in error["candidates"]] == [
        ("Алакаевка", "Самарская область"), ("Алакаевка", "Ульяновская область")]
    rodniki = place_error(nearest(client, "Родники"), 409, "ambiguous")["candidates"]
    assert len(rodniki) >= 6 and rodniki[0]["region"]["name"] == "Ивановская область"  # the town of 24 000
    populations = [c["population"] or 0 for c in rodniki]
    assert populations == sorted(populations, reverse=True)


@pytest.mark.parametrize("typed, district", [
    ("с. Родники, Раменский р-н", "Раменский городской округ"),
    ("Родники Раменский", "Раменский городской округ"),
    ("Родники Раменского района", "Раменский городской округ"),
    ("Кривцово Московская", "городской округ Солнечногорск"),  # one of 34
    ("Моск. обл., Кривцово", "городской округ Солнечногорск"),
    ("Кривцово Масковская", "городской округ Солнечногорск"),  # a misspelt region
])
def test_a_region_or_district_typed_with_the_name_narrows_to_one(client, typed, district):
    response = nearest(client, typed)
    assert response.status_code == 200, response.json
    assert response.json["origin"]["settlement"]["district"] == district


def test_a_region_narrows_namesakes_to_those_in_it(client):
    error = place_error(nearest(client, "Марфино Московская"), 409, "ambiguous")
    assert error["area"] == ["Московская"]
    assert [c["region"]["name"] for c in error["candidates"]] == ["Московская область"] * 3  # of 24 in Russia


def test_a_name_absent_from_the_region_typed_is_not_found_there(client):
    """«Лукино Московская» once gave a village in Kazakhstan when there was no Лукино in Московская область (the
    census has 7 there now): «Алакаевка» has none there either."""
    error = place_error(nearest(client, "Алакаевка Московская"), 404, "not_found")
    assert error["name"] == "Алакаевка" and error["area"] == ["Московская"]
    first = error["candidates"][:3]
    assert {(c["name"], c["region"]["name"]) for c in error["candidates"] if c["name"] == "Алакаевка"} == {
        ("Алакаевка", "Самарская область"), ("Алакаевка", "Ульяновская область")}
    assert all(c["region"]["code"].startswith("RU-") for c in first)
    error = place_error(nearest(client, "с. Богородское Раменский"), 404, "not_found")
    namesakes = [c for c in error["candidates"] if c["match"] == "exact"]
    assert namesakes == error["candidates"][:len(namesakes)] and {c["name"] for c in namesakes} == {"Богородское"}
    assert all("Раменский" not in (c["district"] or "") for c in error["candidates"])  # none there, none taken


@pytest.mark.parametrize("query", [
    {"q": "Электросталь", "settlement": "1"}, {"q": "Электросталь", "lat": "55", "lon": "37"},
    {"q": "Электросталь", "lat": "55"}, {"q": "я" * 101},
])
def test_q_goes_alone(client, query):
    response = client.get("/api/v1/nearest", query_string={"service": "early_help", **query})
    assert response.status_code == 400
    assert response.json["error"]["field"] in ("q", "settlement") and response.json["error"]["message"]


def test_the_document_describes_q_and_the_place_errors(client):
    spec = client.get("/api/v1/openapi.json").json
    operation = spec["paths"]["/api/v1/nearest"]["get"]
    assert "q" in [p["name"] for p in operation["parameters"]]
    for status in ("404", "409"):
        assert operation["responses"][status]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/PlaceErrorOut")
    body = spec["components"]["schemas"]["PlaceErrorBody"]["properties"]
    assert {"code", "message", "field", "name", "area", "candidates"} <= set(body)
    assert "match" in spec["components"]["schemas"]["SettlementMatchOut"]["properties"]


# --- the public page without JavaScript ---------------------------------------------------------------------
def choice_links(html: str) -> list[tuple[str, str]]:
    nav = re.search(r'<nav id="place-choice"[^>]*>(.*?)</nav>', html, re.S).group(1)
    return [(html_lib.unescape(href), text) for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', nav)]


def error_text(html: str) -> str:
    return re.search(r'<div id="error" class="error" role="alert"[^>]*>([^<]*)</div>', html).group(1)


def test_page_not_found_offers_the_closest_places(client):
    response = client.get("/", query_string={"q": "Кукуштаново", "service": "early_help"})
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert error_text(html) == "Не нашли «Кукуштаново». Возможно, вы имели в виду:"
    links = choice_links(html)
    assert ("Кукуштан — Пермский район, Пермский край" in [text for _, text in links])
    assert all(re.fullmatch(r"/\?settlement=\d+&service=early_help", href) for href, _ in links)
    assert 'id="result-list"' not in html  # nothing is shown for a place taken in its stead


def test_page_namesakes_are_a_choice_not_a_guess(client):
    response = client.get("/", query_string={"q": "Деревня Алакаевка"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Найдено несколько мест «Алакаевка» — выберите:" in html and error_text(html) == ""
    assert [text for _, text in choice_links(html)] == ["Алакаевка — Кинельский район, Самарская область",
                                                        "Алакаевка — Новоспасский район, Ульяновская область"]
    assert "допишите к названию район или область" in html
    assert 'id="result-list"' not in html


def test_page_found_with_qualifiers_and_not_the_right_place(client):
    html = client.get("/", query_string={"q": "с. Родники, Раменский р-н"}).get_data(as_text=True)
    assert "Ближайшая помощь: Родники" in html and "Родники — Раменский городской округ, Московская область" in html
    assert re.search(r'<nav id="place-choice"[^>]* hidden>\s*</nav>', html)  # nothing to choose
    html = client.get("/", query_string={"q": "Электросталь"}).get_data(as_text=True)
    assert "Ближайшая помощь: Электросталь" in html and "Не то место?" in html


def test_page_in_english(client):
    html = client.get("/", query_string={"q": "Кукуштаново", "lang": "en"}).get_data(as_text=True)
    assert error_text(html) == "We found no place called “Кукуштаново”. Did you mean:"
    html = client.get("/", query_string={"q": "Лукино", "lang": "en"}).get_data(as_text=True)
    assert "Several places are called “Лукино” — choose one:" in html


# --- the dispatch console's suggestions ---------------------------------------------------------------------
def test_console_suggestions_say_found_several_or_only_look_alikes(console):
    client, _ = console

    def suggest(q):
        return client.get("/dispatch/api/settlements", query_string={"q": q}).json

    found = suggest("Электросталь")
    assert found["place"] == {"status": "found", "message": None}
    assert found["results"][0]["name"] == "Электросталь" and found["results"][0]["match"] == "exact"
    several = suggest("Деревня Алакаевка")
    assert several["place"] == {"status": "ambiguous", "message": "Несколько мест «Алакаевка» — выберите:"}
    assert [r["label"] for r in several["results"][:2]] == ["Алакаевка — Кинельский район, Самарская область",
                                                           "Алакаевка — Новоспасский район, Ульяновская область"]
    unknown = suggest("Кукуштаново")
    assert unknown["place"] == {"status": "not_found", "message": "Нет места «Кукуштаново». Похожие:"}
    assert "Кукуштан — Пермский район, Пермский край" in [r["label"] for r in unknown["results"]]
    narrowed = suggest("Родники Раменский")
    assert narrowed["place"]["status"] == "found" and narrowed["results"][0]["district"] == "Раменский городской округ"
