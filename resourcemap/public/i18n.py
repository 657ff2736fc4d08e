"""Russian first, English on request: `?lang=en` (or `?lang=ru`) switches and is remembered in a cookie.

Messages are written in Russian in the templates and code (`_("…")`); translations/en/LC_MESSAGES/messages.po
holds the English. The compiled messages.mo is committed next to it (rebuild: see translations/README.md)."""
from __future__ import annotations

from flask import Flask, request
from flask_babel import Babel

from ..config import PROJECT_ROOT

LANGUAGES = ("ru", "en")
DEFAULT = "ru"
COOKIE = "lang"


def select_locale() -> str:
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    remembered = request.cookies.get(COOKIE)
    return remembered if remembered in LANGUAGES else DEFAULT


def remember_locale(response):
    """after_request of the public pages: keep a `?lang=` choice in a cookie."""
    asked = request.args.get("lang")
    if asked in LANGUAGES and request.cookies.get(COOKIE) != asked:
        response.set_cookie(COOKIE, asked, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                            secure=request.is_secure)
    return response


def init_babel(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(PROJECT_ROOT / "translations"))
    Babel(app, locale_selector=select_locale)
