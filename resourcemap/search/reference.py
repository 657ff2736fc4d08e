"""Reference lists that change only with migrations or a regions load: kinds of help, regions, and the words of
region and district names. Cached per app process; `forget()` after loading regions."""
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


def area_name_words(session: Session) -> list[dict]:
    """Each word of a region's or district's name, normalized as settlement names are (rm_name_norm), with the
    regions and districts whose names hold it: [{"word", "regions": [code], "districts": [id]}]. For reading
    «Московская», «Раменский р-н» in a typed place (search/settlements.py)."""
    cache = current_app.extensions.setdefault("resourcemap.reference", {})
    if "area_name_words" not in cache:
        cache["area_name_words"] = [dict(r) for r in session.execute(text("""
            SELECT w.word, array_agg(DISTINCT w.region_code) FILTER (WHERE w.district_id IS NULL) AS regions,
                   array_agg(DISTINCT w.district_id) FILTER (WHERE w.district_id IS NOT NULL) AS districts
            FROM (SELECT word, code AS region_code, NULL::integer AS district_id
                    FROM region, regexp_split_to_table(rm_name_norm(name_ru), ' ') AS word
                  UNION ALL
                  SELECT word, region_code, id FROM district, regexp_split_to_table(rm_name_norm(name_ru), ' ') AS word
                 ) w
            WHERE w.word <> ''
            GROUP BY w.word""")).mappings()]
    return cache["area_name_words"]


def forget() -> None:
    current_app.extensions.pop("resourcemap.reference", None)
