#!/usr/bin/env python
"""Extract the pages' messages, write translations/<lang>/LC_MESSAGES/messages.po for English (en.py) and Kazakh
(kk.py) and compile messages.mo (committed, so installs need no build step). Exits 1 if a message has no
translation where one is required: English for every message, Kazakh for every message a family sees (the
public pages, the error pages, the sign-in page and the referral card; not the staff-only console and registry
pages, which speak Russian and English).

Importable: the test suite checks the committed catalogues with `messages()` and `required()`."""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# (glob under ROOT, extraction method); every file with messages.
SOURCES = [
    ("resourcemap/public/*.py", "python"), ("resourcemap/auth/*.py", "python"), ("resourcemap/errors.py", "python"),
    ("resourcemap/__init__.py", "python"), ("resourcemap/dispatch/*.py", "python"),
    ("resourcemap/curate/*.py", "python"), ("resourcemap/maps.py", "python"),
    ("templates/*.html", "jinja2"), ("templates/auth/*.html", "jinja2"), ("templates/dispatch/*.html", "jinja2"),
    ("templates/curate/*.html", "jinja2"),
    ("resourcemap/coverage/*.py", "python"), ("templates/coverage/*.html", "jinja2"),
]
# Files only staff see: their messages need English, not Kazakh.
STAFF_ONLY = ("resourcemap/curate/", "templates/curate/", "resourcemap/dispatch/routes.py",
              "templates/dispatch/console.html", "templates/dispatch/gaps.html", "templates/dispatch/layout.html",
              "resourcemap/coverage/", "templates/coverage/")
KEYWORDS = {"_": None, "gettext": None, "N_": None}
LANGUAGES = ("en", "kk")


def messages() -> dict[str, set[str]]:
    """Every message id, with the files (relative to ROOT) it is in."""
    from babel.messages.extract import extract_from_file

    found: dict[str, set[str]] = {}
    for pattern, method in SOURCES:
        for path in sorted(ROOT.glob(pattern)):
            for _lineno, message, _comments, _context in extract_from_file(method, path, keywords=KEYWORDS):
                if message:
                    found.setdefault(message, set()).add(str(path.relative_to(ROOT)))
    return found


def required(lang: str, found: dict[str, set[str]]) -> set[str]:
    """The message ids `lang` must translate."""
    if lang == "en":
        return set(found)
    return {m for m, files in found.items() if any(not f.startswith(STAFF_ONLY) for f in files)}


def translations(lang: str) -> dict[str, str]:
    sys.path.insert(0, str(HERE))
    module = __import__(lang)
    return getattr(module, lang.upper())


def build(lang: str, found: dict[str, set[str]]) -> list[str]:
    """Write and compile `lang`'s catalogue; the required messages it lacks."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import write_po

    texts = translations(lang)
    catalog = Catalog(locale=lang, project="resourcemap", charset="utf-8")
    for message in sorted(found):
        catalog.add(message, texts.get(message, ""))
    out = HERE / lang / "LC_MESSAGES"
    out.mkdir(parents=True, exist_ok=True)
    with (out / "messages.po").open("wb") as fh:
        write_po(fh, catalog, omit_header=False, no_location=True)
    with (out / "messages.mo").open("wb") as fh:
        write_mo(fh, catalog)
    return sorted(m for m in required(lang, found) if not texts.get(m))


def main() -> None:
    found = messages()
    failed = False
    for lang in LANGUAGES:
        missing = build(lang, found)
        print(f"{lang}: {len(found)} messages, {len(required(lang, found))} required, {len(missing)} missing")
        if missing:
            failed = True
            print(f"no {lang} for: " + "; ".join(missing), file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
