"""Settlement search: where does the family live? Russian names with typos, ё/е, "г."/"с."/"пос." prefixes,
any case, Kazakh names and Latin transliteration. Uses pg_trgm's GIN index `ix_settlement_name_trgm` on
settlement_name(name_norm) and the database's own normalization `rm_name_norm` (unaccent, ё -> е)."""
from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.orm import Session

# Words people type before or after a place name that are not part of it.
_KIND_WORDS = (
    "г", "гор", "город", "с", "село", "п", "пос", "поселок", "посёлок", "пгт", "рп", "дп", "д", "дер", "деревня",
    "ст", "ст-ца", "станица", "х", "хутор", "аул", "а", "мкр", "р-н", "район", "обл", "область", "городской",
    "округ", "го", "ауыл", "қ", "қала", "кент",
)
_KIND_RE = re.compile(
    r"(?<![\w-])(" + "|".join(sorted((re.escape(w) for w in _KIND_WORDS), key=len, reverse=True)) + r")(?![\w-])\.?",
    re.IGNORECASE,
)


def clean_query(raw: str) -> str:
    """The place name in what was typed: kind words such as "г.", "пос.", "р-н" removed."""
    stripped = _KIND_RE.sub(" ", raw)
    stripped = re.sub(r"\s+", " ", stripped).strip(" ,.")
    return stripped or raw.strip()


_SEARCH_SQL = text("""
WITH q AS (SELECT rm_name_norm(:q) AS q),
hits AS (
  SELECT sn.settlement_id,
         max(greatest(similarity(sn.name_norm, q.q), word_similarity(q.q, sn.name_norm))
             + CASE WHEN sn.name_norm = q.q THEN 1.0
                    WHEN sn.name_norm LIKE q.q || '%' THEN 0.5 ELSE 0 END) AS score
  FROM settlement_name sn, q
  WHERE q.q <> ''  -- typed only punctuation ("!±"): no letters to match, and LIKE '%' would take every name
    AND (sn.name_norm % q.q OR q.q <% sn.name_norm OR sn.name_norm LIKE q.q || '%')
  GROUP BY sn.settlement_id
)
SELECT s.id, s.name_ru AS name, s.name_kk, s.kind, s.population, s.timezone,
       ST_Y(s.geog::geometry) AS lat, ST_X(s.geog::geometry) AS lon,
       d.name_ru AS district, r.code AS region_code, r.name_ru AS region_name, h.score
FROM hits h
JOIN settlement s ON s.id = h.settlement_id
JOIN region r ON r.code = s.region_code
LEFT JOIN district d ON d.id = s.district_id
WHERE (CAST(:region AS text) IS NULL OR s.region_code = CAST(:region AS text))
ORDER BY h.score DESC, s.population DESC NULLS LAST, s.id
LIMIT :limit
""")


def search_settlements(session: Session, raw_query: str, region: str | None = None, limit: int = 10) -> list[dict]:
    """Settlements whose names resemble `raw_query`, best match first, then the most populous."""
    return [dict(r) for r in session.execute(
        _SEARCH_SQL, {"q": clean_query(raw_query), "region": region, "limit": limit}).mappings()]


_BY_ID_SQL = text("""
SELECT s.id, s.name_ru AS name, s.name_kk, s.kind, s.population, s.timezone,
       ST_Y(s.geog::geometry) AS lat, ST_X(s.geog::geometry) AS lon,
       d.name_ru AS district, r.code AS region_code, r.name_ru AS region_name
FROM settlement s JOIN region r ON r.code = s.region_code LEFT JOIN district d ON d.id = s.district_id
WHERE s.id = :id
""")


def settlement_by_id(session: Session, settlement_id: int) -> dict | None:
    row = session.execute(_BY_ID_SQL, {"id": settlement_id}).mappings().first()
    return dict(row) if row else None


# Where is a point? Its region (rm_region_at: the boundary that covers it, or the nearest within 20 km, since
# boundaries are simplified along coasts) and the nearest settlement within 30 km, for the consultant's orientation.
_PLACE_OF_POINT_SQL = text("""
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom)
SELECT rm_region_at(p.geom, 20000) AS region_code,
       (SELECT s.id FROM settlement s
         WHERE ST_DWithin(s.geog, p.geom::geography, 30000)
         ORDER BY s.geog <-> p.geom::geography LIMIT 1) AS settlement_id
FROM p
""")


def place_of_point(session: Session, lat: float, lon: float) -> tuple[str | None, dict | None]:
    """The region code of a point and the nearest settlement (or None) within 30 km."""
    row = session.execute(_PLACE_OF_POINT_SQL, {"lat": lat, "lon": lon}).mappings().one()
    settlement = settlement_by_id(session, row["settlement_id"]) if row["settlement_id"] else None
    return row["region_code"], settlement
