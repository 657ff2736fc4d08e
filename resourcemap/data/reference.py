"""Reference lists: the kinds of help, the regions (with their time zones and names), and the words of region and
district names. They change only with migrations or a regions load (search/reference.py caches them)."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

_SERVICE_TYPES_SQL = text("SELECT code, name_ru, name_en, description_ru FROM taxonomy_term ORDER BY position, code")

_REGIONS_SQL = text(
    "SELECT r.code, r.name_ru, r.name_en, r.country, r.timezone,"
    " (SELECT count(*) FROM settlement s WHERE s.region_code = r.code) AS settlement_count"
    " FROM region r ORDER BY r.country DESC, r.name_ru")

_AREA_NAME_WORDS_SQL = text("""
            SELECT w.word, array_agg(DISTINCT w.region_code) FILTER (WHERE w.district_id IS NULL) AS regions,
                   array_agg(DISTINCT w.district_id) FILTER (WHERE w.district_id IS NOT NULL) AS districts
            FROM (SELECT word, code AS region_code, NULL::integer AS district_id
                    FROM region, regexp_split_to_table(rm_name_norm(name_ru), ' ') AS word
                  UNION ALL
                  SELECT word, region_code, id FROM district, regexp_split_to_table(rm_name_norm(name_ru), ' ') AS word
                 ) w
            WHERE w.word <> ''
            GROUP BY w.word""")

_REGION_TIMEZONES_SQL = text("SELECT code, timezone FROM region WHERE code = ANY(CAST(:c AS text[]))")


def service_types(session: Session) -> list[dict]:
    """The kinds of help in the taxonomy's order: [{code, name_ru, name_en, description_ru}]."""
    return [dict(r) for r in session.execute(_SERVICE_TYPES_SQL).mappings()]


def regions(session: Session) -> list[dict]:
    """The regions, each country's together: [{code, name_ru, name_en, country, timezone, settlement_count}]."""
    return [dict(r) for r in session.execute(_REGIONS_SQL).mappings()]


def area_name_words(session: Session) -> list[dict]:
    """Each word of a region's or district's name, normalized (rm_name_norm), with the regions and districts whose
    names hold it: [{"word", "regions": [code], "districts": [id]}]."""
    return [dict(r) for r in session.execute(_AREA_NAME_WORDS_SQL).mappings()]


def region_timezones(session: Session, codes: list[str]) -> dict[str, str]:
    """{code: time zone} of those of these regions that exist."""
    return dict(session.execute(_REGION_TIMEZONES_SQL, {"c": codes}).all())
