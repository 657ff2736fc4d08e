"""Reference lists that change only with migrations or a regions load: kinds of help and regions.
Cached per app process; `forget()` after loading regions."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import text
from sqlalchemy.orm import Session


def service_types(session: Session) -> list[dict]:
    cache = current_app.extensions.setdefault("resourcemap.reference", {})
    if "service_types" not in cache:
        cache["service_types"] = [dict(r) for r in session.execute(text(
            "SELECT code, name_ru, name_en, description_ru FROM taxonomy_term ORDER BY position, code")).mappings()]
    return cache["service_types"]


def regions(session: Session) -> list[dict]:
    cache = current_app.extensions.setdefault("resourcemap.reference", {})
    if "regions" not in cache:
        cache["regions"] = [dict(r) for r in session.execute(text(
            "SELECT r.code, r.name_ru, r.name_en, r.country, r.timezone,"
            " (SELECT count(*) FROM settlement s WHERE s.region_code = r.code) AS settlement_count"
            " FROM region r ORDER BY r.country DESC, r.name_ru")).mappings()]
    return cache["regions"]


def forget() -> None:
    current_app.extensions.pop("resourcemap.reference", None)
