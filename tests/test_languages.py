"""Languages (issue 22): Russian, Kazakh and English for the family's pages, Russian and English for the staff's.
The committed catalogues hold every message (English: all; Kazakh: all a family sees), with the same
placeholders; the language is chosen by ?lang=, then the cookie, then Accept-Language; places, regions and kinds
of help are named in Kazakh where a Kazakh name is known, in Russian otherwise."""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from sqlalchemy import text

from resourcemap.public.i18n import browser_language, place_name, region_display_name
from resourcemap.public.kazakh import KIND_NAMES_KK, REGION_NAMES_KK
from resourcemap.registry.demo import load_demo_registry
from tests.factories import add_service
from tests.staff import client_as

ROOT = Path(__file__).resolve().parent.parent
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
KAZAKH_ONLY = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
# Messages whose Kazakh is rightly the same text (a number and a unit, an abbreviation, a loanword).
SAME_IN_KAZAKH = {"%(m)s м", "%(km)s км", "%(km)d км", "Карта", "Тел.", "Тел.: %(p)s", "МСК", "куратор", "Ср"}


def _build():
    spec = importlib.util.spec_from_file_location("translations_build", ROOT / "translations" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def catalogues():
    build = _build()
    found = build.messages()
    compiled = {}
    for lang in build.LANGUAGES:
        with (ROOT / "translations" / lang / "LC_MESSAGES" / "messages.mo").open("rb") as fh:
            compiled[lang] = read_mo(fh)
    return build, found, compiled


@pytest.mark.parametrize("lang", ["en", "kk"])
def test_the_committed_catalogue_has_every_required_message(catalogues, lang):
    build, found, compiled = catalogues
    catalog = compiled[lang]
    missing = sorted(m for m in build.required(lang, found) if not (catalog.get(m) and catalog.get(m).string))
    assert missing == [], f"no {lang} (run translations/build.py): " + "; ".join(missing)
    assert len(build.required(lang, found)) > (150 if lang == "kk" else 300)


@pytest.mark.parametrize("lang", ["en", "kk"])
def test_translations_keep_the_placeholders(catalogues, lang):
    _build_, _found, compiled = catalogues
    for message in compiled[lang]:
        if message.id and message.string:
            assert sorted(PLACEHOLDER.findall(message.id)) == sorted(PLACEHOLDER.findall(message.string)), message.id


def test_kazakh_is_written_in_kazakh(catalogues):
    """Each Kazakh message is translated (not the Russian left in), no word mixes Latin and Cyrillic letters (a
    homoglyph typed by mistake), and the catalogue uses the letters of Kazakh, not only the Russian ones."""
    build, found, compiled = catalogues
    kazakh = {m.id: m.string for m in compiled["kk"] if m.id and m.string}
    for msgid in build.required("kk", found):
        assert kazakh[msgid] != msgid or msgid in SAME_IN_KAZAKH, msgid
    texts = list(kazakh.values()) + list(REGION_NAMES_KK.values()) + [t for pair in KIND_NAMES_KK.values() for t in pair]
    for value in texts:
        for word in re.findall(r"\w+", PLACEHOLDER.sub("", value)):
            assert not (CYRILLIC.search(word) and re.search(r"[A-Za-z]", word)), (word, value)
    used = {c for value in texts for c in value}
    assert KAZAKH_ONLY - {"һ", "Һ", "Ә", "Ғ", "Ң", "Ө", "Ү", "І"} <= used  # һ is rare; capitals need not occur


def test_every_kind_of_help_and_kazakh_region_has_a_kazakh_name(app, engine):
    with engine.connect() as conn:
        kinds = set(conn.execute(text("SELECT code FROM taxonomy_term")).scalars())
        regions = set(conn.execute(text("SELECT code FROM region WHERE country = 'KZ'")).scalars())
    assert kinds == set(KIND_NAMES_KK) and regions == set(REGION_NAMES_KK)


@pytest.mark.parametrize("header, lang", [
    ("kk-KZ,kk;q=0.9,ru;q=0.8", "kk"), ("kk", "kk"), ("ru-RU,ru;q=0.9,en;q=0.8", "ru"), ("en-US,en;q=0.9", "en"),
    ("de-DE,de;q=0.9", "ru"), ("", "ru"), ("fr;q=0.9, kk;q=0.5, en;q=0.7", "en"), ("kk;q=0, en", "en"),
    ("ru;q=abc, kk", "kk"), ("*", "ru"),
])
def test_the_browser_language(header, lang):
    assert browser_language(header) == lang


def test_the_language_is_asked_then_remembered_then_the_browsers(client):
    def lang_of(response):
        return re.search(r'<html lang="(\w+)"', response.get_data(as_text=True)).group(1)

    assert lang_of(client.get("/", headers={"Accept-Language": "kk-KZ"})) == "kk"
    response = client.get("/", headers={"Accept-Language": "kk-KZ"})
    assert "Accept-Language" in response.headers["Vary"] and "Cookie" in response.headers["Vary"]
    assert lang_of(client.get("/?lang=en", headers={"Accept-Language": "kk-KZ"})) == "en"  # asked
    assert lang_of(client.get("/", headers={"Accept-Language": "kk-KZ"})) == "en"  # remembered
    assert lang_of(client.get("/?lang=xx")) == "en"  # an unknown choice changes nothing
    html = client.get("/?lang=kk").get_data(as_text=True)
    assert 'lang="kk"' in html and "Көмек табу" in html and ">Русский</a>" in html and ">English</a>" in html
    assert json.dumps("нүктелер түзетілді")[1:-1] in html  # the map's attribution, in folium's escaped script


def test_place_and_region_names_fall_back_to_russian():
    assert place_name({"name": "Экибастуз", "name_kk": "Экібастуз"}, "kk") == "Экібастуз"
    assert place_name({"name": "Экибастуз", "name_kk": "Экібастуз"}, "ru") == "Экибастуз"
    assert place_name({"name": "Экибастуз", "name_kk": "Экібастуз"}, "en") == "Экибастуз"
    assert place_name({"name": "Старый Экибастуз", "name_kk": None}, "kk") == "Старый Экибастуз"
    assert place_name({"name": "Старый Экибастуз", "name_kk": ""}, "kk") == "Старый Экибастуз"
    assert place_name(None, "kk") == ""
    moscow = {"code": "RU-MOS", "name_ru": "Московская область", "name_en": "Moscow Oblast"}
    pavlodar = {"code": "KZ-55", "name_ru": "Павлодарская область", "name_en": "Pavlodar Region"}
    assert region_display_name(moscow, "kk") == "Московская область"
    assert region_display_name(pavlodar, "kk") == "Павлодар облысы"
    assert region_display_name(pavlodar, "en") == "Pavlodar Region"


@pytest.fixture
def demo(app, engine, registry):
    load_demo_registry(engine, Path(app.config["DEMO_REGISTRY"]))
    return registry


def test_the_public_pages_in_kazakh_name_places_in_kazakh(client, demo):
    html = client.get("/?q=Экибастуз&service=early_help&lang=kk").get_data(as_text=True)
    assert '<html lang="kk">' in html
    assert 'value="Экібастуз"' in html and "Ең жақын көмек: Экібастуз" in html
    assert "Экібастуз — Экибастуз, Павлодар облысы" in html  # district: no Kazakh name in the gazetteer
    card = re.findall(r'<li class="card">(.*?)</li>', html, re.S)[0]
    assert "Служба ранней поддержки детей (Экибастуз)" in card
    assert '<span class="kind-name">Ерте көмек</span>' in card and '<span class="fact place">Экібастуз</span>' in card
    assert "Жасы: 0 – 3 жас" in card and "Толығырақ" in card
    org = re.search(r'href="(/org/\d+)', card).group(1)
    page = client.get(org + "?lang=kk").get_data(as_text=True)
    assert "Өңір: Павлодар облысы" in page and "Ерте көмек" in page and "Мұнда қандай көмек көрсетеді" in page
    nearest = client.get("/api/v1/nearest?q=Экибастуз&service=early_help").get_json()
    assert nearest["results"][0]["location"]["settlement"]["name_kk"] == "Экібастуз"
    assert nearest["origin"]["settlement"]["name_kk"] == "Экібастуз"
    # the same page in Russian keeps the Russian names
    html = client.get("/?q=Экибастуз&service=early_help&lang=ru").get_data(as_text=True)
    assert "Ближайшая помощь: Экибастуз" in html and "Павлодарская область" in html


def test_the_error_pages_speak_the_pages_language(client):
    response = client.get("/no-such-page?lang=kk")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and '<html lang="kk">' in html
    assert "Бет табылмады" in html and "Мұндай бет жоқ." in html and "Көмек табу" in html
    html = client.get("/org/999999").get_data(as_text=True)
    assert "Мұндай ұйым тізілімде жоқ." in html
    html = client.get("/?settlement=abc&lang=en").get_data(as_text=True)
    assert "We could not tell which place was chosen" in html
    html = client.get("/no-such-page?lang=ru").get_data(as_text=True)
    assert "Такой страницы нет." in html


def _visible_text(html: str) -> str:
    html = re.sub(r"<script\b.*?</script>|<style\b.*?</style>", " ", html, flags=re.S)
    html = re.sub(r'<select id="card-lang">.*?</select>', " ", html, flags=re.S)  # each language in its own
    html = re.sub(r'<a [^>]*hreflang="\w+"[^>]*>[^<]*</a>', " ", html)  # the other languages, each named in its own
    html = html.replace("«Если быть точным»", "")  # the census data's publisher, a proper name (the footer)
    html = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", html)


def test_the_dispatch_console_in_english(app, console):
    client, _token = console
    html = client.get("/dispatch?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert CYRILLIC.findall(_visible_text(html)) == [], _visible_text(html)
    words = re.search(r'<script type="application/json" id="console-text"[^>]*>(.*?)</script>', html, re.S).group(1)
    assert not CYRILLIC.search(words) and "New call. Where does the family live?" in words
    places = client.get("/dispatch/api/settlements?q=Экибастуз").get_json()["results"]
    assert places[0]["region"]["name"] == "Pavlodar Region" and places[0]["label"].endswith(", Pavlodar Region")
    gaps = client.get("/dispatch/gaps").get_data(as_text=True)  # remembered
    assert '<html lang="en">' in gaps and "Where help is missing" in gaps
    assert CYRILLIC.findall(_visible_text(gaps)) == [], _visible_text(gaps)


def test_staff_pages_read_a_kazakh_choice_as_russian(app, console):
    client, _token = console
    client.get("/?lang=kk")
    html = client.get("/dispatch").get_data(as_text=True)
    assert '<html lang="ru">' in html and "Новый звонок" in html


def test_the_referral_card_in_the_familys_language(app, engine, demo, console):
    client, _token = console
    with engine.connect() as conn:
        sal, settlement = conn.execute(text(
            "SELECT sal.id, l.settlement_id FROM service_at_location sal JOIN location l ON l.id = sal.location_id"
            " JOIN organization o ON o.id = l.organization_id"
            " WHERE o.name = 'Служба ранней поддержки детей (Экибастуз)'")).one()
    answer = client.get(f"/dispatch/api/referral?sal={sal}&settlement={settlement}&card_lang=kk").get_json()
    card = answer["text"]
    assert card.startswith("Қайда хабарласу керек — Экібастуз\n")
    assert "ерте көмек" in card and "Мекенжай: Экібастуз" in card and "Жұмыс уақыты: Дс–Жм 09:00–18:00" in card
    assert "Қашықтық:" in card and "card_lang=kk" in answer["print_url"]
    page = client.get(answer["print_url"]).get_data(as_text=True)
    assert '<html lang="kk">' in page and "Қайда хабарласу керек" in page and "Басып шығару (Enter)" in page
    russian = client.get(f"/dispatch/api/referral?sal={sal}&settlement={settlement}").get_json()["text"]
    assert russian.startswith("Куда обратиться — Экибастуз\n")
    html = client.get("/dispatch").get_data(as_text=True)
    assert '<html lang="ru">' in html  # the card's language is not the console's


def test_the_curators_pages_in_english(app, engine, registry, world):
    """Every curator's page in English has no Russian left but the registry's own data (names of organizations,
    places and settlements)."""
    org = add_service(registry, 55.0794, 38.7783, "early_help", name="Kolomna Early Help", address="Lenin St. 1",
                      phones=[{"number": "+74966100001", "kind": "intake"}])
    registry.commit()
    with engine.connect() as conn:
        data = set(conn.execute(text(
            "SELECT name FROM organization UNION SELECT name FROM location UNION SELECT st.name_ru FROM location l"
            " JOIN settlement st ON st.id = l.settlement_id")).scalars())
    client = client_as(app, "curator_mos")
    client.get("/curate?lang=en")
    pages = ["/curate?q=Kolomna", "/curate/stale", "/curate/org/new", f"/curate/org/{org['organization_id']}",
             f"/curate/org/{org['organization_id']}/history", "/curate/import", "/curate/export",
             "/curate/org/999999", "/account"]
    for url in pages:
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert '<html lang="en">' in html, url
        shown = _visible_text(html)
        for value in sorted(data, key=len, reverse=True):
            shown = shown.replace(value, "")
        assert CYRILLIC.findall(shown) == [], (url, shown)
    editor = client.get(f"/curate/org/{org['organization_id']}").get_data(as_text=True)
    assert "Save and publish" in editor or "Back to drafts" in editor
    assert "Moscow Oblast" in editor and "Early help" in editor and "Monday" in editor
    words = re.search(r'<script type="application/json" id="editor-text"[^>]*>(.*?)</script>', editor, re.S).group(1)
    assert not CYRILLIC.search(words)
    point = client.get("/curate/check/point?lat=54.78&lon=32.05").get_json()
    assert "is not your region" in point["message"]
    assert client.get("/curate/check/phone?number=12").get_json()["message"].startswith("This does not look like")
