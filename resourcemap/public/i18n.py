"""Russian first, Kazakh and English on request, and names in the page's language.

The language: `?lang=ru|kk|en` switches and is remembered in a cookie; without either, the browser's
Accept-Language chooses (kk-KZ → Kazakh), else Russian. Messages are written in Russian in the templates and code
(`_("…")`); translations/<lang>/LC_MESSAGES/messages.po holds the others, compiled to messages.mo and committed
next to it (rebuild: see translations/README.md).

Names of places, regions and kinds of help are data, not messages: `place_name`, `region_display_name` and
`kind_display` give them in the page's language — a settlement's Kazakh name (`name_kk`) where the gazetteer has
one, a Kazakh region's or kind's Kazakh name from kazakh.py, Russian otherwise."""
from __future__ import annotations

from flask import Flask, request
from flask_babel import Babel, get_locale

from .. import maps
from ..config import PROJECT_ROOT
from ..db import get_read_session
from ..search import reference
from .kazakh import KIND_NAMES_KK, REGION_NAMES_KK

LANGUAGES = ("ru", "kk", "en")
DEFAULT = "ru"
COOKIE = "lang"
LANGUAGE_NAMES = {"ru": "Русский", "kk": "Қазақша", "en": "English"}  # each in its own language


STAFF_BLUEPRINTS = ("dispatch", "curate")  # staff pages speak Russian and English; a Kazakh choice reads Russian


def select_locale() -> str:
    lang = chosen_language()
    if lang == "kk" and request.blueprint in STAFF_BLUEPRINTS:
        return DEFAULT
    return lang


def chosen_language() -> str:
    """The asked (`?lang=`), remembered (cookie) or browser's language, in that order."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    remembered = request.cookies.get(COOKIE)
    if remembered in LANGUAGES:
        return remembered
    return browser_language(request.headers.get("Accept-Language", ""))


def browser_language(header: str) -> str:
    """The first of the browser's languages (by weight) that the pages speak, by its primary tag: «kk-KZ,
    ru;q=0.8» → kk; Russian when none is spoken here."""
    weighted = []
    for i, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        weighted.append((-q, i, tag.strip().split("-")[0].lower()))
    for q, _i, primary in sorted(weighted):
        if q < 0 and primary in LANGUAGES:
            return primary
    return DEFAULT


def remember_locale(response):
    """after_request of every page: keep a `?lang=` choice in a cookie; pages chosen by Accept-Language vary by it."""
    asked = request.args.get("lang")
    if asked in LANGUAGES and request.cookies.get(COOKIE) != asked:
        response.set_cookie(COOKIE, asked, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                            secure=request.is_secure)
    if response.mimetype == "text/html":
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
    return response


def page_lang() -> str:
    return str(get_locale() or DEFAULT)


def place_name(place: dict | None, lang: str | None = None) -> str:
    """A settlement's name in the page's language: its Kazakh name for Kazakh where the gazetteer has one
    (`name_kk`), else its Russian name (`name`)."""
    if not place:
        return ""
    if (lang or page_lang()) == "kk" and place.get("name_kk"):
        return place["name_kk"]
    return place.get("name") or ""


def place_label(place: dict, lang: str | None = None) -> str:
    """A settlement view (api.routes.settlement_view) as «name — district, region» in the page's language."""
    from ..db import get_read_session
    from ..search import reference

    code = place["region"]["code"]
    region = next((region_display_name(r, lang) for r in reference.regions(get_read_session()) if r["code"] == code),
                  place["region"]["name"])
    return f"{place_name(place, lang)} — " + ", ".join(part for part in (place.get("district"), region) if part)


def region_display_name(region: dict, lang: str | None = None) -> str:
    """A region's name (a row of search/reference.regions) in the page's language; Russian where no Kazakh is
    known (the regions of Russia)."""
    lang = lang or page_lang()
    if lang == "en":
        return region["name_en"] or region["name_ru"]
    if lang == "kk":
        return REGION_NAMES_KK.get(region["code"], region["name_ru"])
    return region["name_ru"]


def kind_display(kind: dict, lang: str | None = None) -> tuple[str, str]:
    """(name, description) of a kind of help (a row of search/reference.service_types) in the page's language."""
    lang = lang or page_lang()
    if lang == "en":
        return kind["name_en"], ""
    if lang == "kk" and kind["code"] in KIND_NAMES_KK:
        return KIND_NAMES_KK[kind["code"]]
    return kind["name_ru"], kind["description_ru"]


# The kinds of help families ask for most: marked on the page, first in the console.
MAIN_KINDS = ("early_help", "rehabilitation", "family_support", "crisis_apartment", "rental_point",
              "psychological_help")


def kinds() -> list[dict]:
    """Every kind of help in the page's language, in the reference's order: {code, name, description, main} with
    its icon and colour (maps.kind_style)."""
    return [{"code": t["code"], "name": kind_display(t)[0], "description": kind_display(t)[1],
             "main": t["code"] in MAIN_KINDS, **maps.kind_style(t["code"])}
            for t in reference.service_types(get_read_session())]


def init_babel(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(PROJECT_ROOT / "translations"))
    Babel(app, locale_selector=select_locale)
    app.after_request(remember_locale)
