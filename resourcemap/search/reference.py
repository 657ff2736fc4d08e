"""Reference lists that change only with migrations or a regions load: kinds of help, regions, and the words of
region and district names. Cached per app process; `forget()` after loading regions."""
from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from ..data import reference as queries


def service_types(session: Session) -> list[dict]:
    cache = current_app.extensions.setdefault("resourcemap.reference", {})
    if "service_types" not in cache:
        cache["service_types"] = queries.service_types(session)
    return cache["service_types"]


def regions(session: Session) -> list[dict]:
    cache = current_app.extensions.setdefault("resourcemap.reference", {})
    if "regions" not in cache:
        cache["regions"] = queries.regions(session)
    return cache["regions"]


def area_name_words(session: Session) -> list[dict]:
    """Each word of a region's or district's name, normalized as settlement names are (rm_name_norm), with the
    regions and districts whose names hold it: [{"word", "regions": [code], "districts": [id]}]. For reading
    «Московская», «Раменский р-н» in a typed place (search/settlements.py)."""
    cache = current_app.extensions.setdefault("resourcemap.reference", {})
    if "area_name_words" not in cache:
        cache["area_name_words"] = queries.area_name_words(session)
    return cache["area_name_words"]


def forget() -> None:
    current_app.extensions.pop("resourcemap.reference", None)
