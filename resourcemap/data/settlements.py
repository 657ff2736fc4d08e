"""Settlement names and places: the settlements whose names are, begin with or look like a typed name (exact and
prefix from the btree `ix_settlement_name_prefix`, look-alikes from pg_trgm's GIN index on the distinct names,
migration 0018), the settlements as shown, one by id, and the region and nearest settlement of a point. How a typed
place is read and which reading wins is search/settlements.py's."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

# In every area the qualifiers name (each qualifier: {"regions": [code], "districts": [id]}); true without any.
_IN_AREA = """NOT EXISTS (SELECT 1 FROM jsonb_array_elements(CAST(:areas AS jsonb)) AS a(area)
                   WHERE NOT coalesce(a.area->'regions' ? region_code
                                      OR a.area->'districts' @> to_jsonb(district_id), false))"""
# Exact and prefix names (rank 3, 2) from the btree `ix_settlement_name_prefix` alone: its byte range holds every
# name that begins with the typed one, and it carries the settlement's population, region and district (copies,
# migration 0018), so thousands of prefix matches («Нов») are ranked without reading a settlement.
_NAMES_SQL = text(f"""
WITH hits AS (
  SELECT sn.settlement_id, sn.population, sn.region_code, sn.district_id,
         max(CASE WHEN sn.name_norm = :q THEN 3 ELSE 2 END) AS rank
  FROM settlement_name sn
  WHERE sn.name_norm ~>=~ CAST(:q AS text) AND sn.name_norm ~<~ (CAST(:q AS text) || chr(1114111))
    AND (CAST(:region AS text) IS NULL OR sn.region_code = CAST(:region AS text))
  GROUP BY sn.settlement_id, sn.population, sn.region_code, sn.district_id
)
SELECT settlement_id, rank, {_IN_AREA} AS in_area
FROM hits
ORDER BY in_area DESC, rank DESC, region_code = CAST(:prefer AS text) DESC NULLS LAST, population DESC NULLS LAST,
         settlement_id
LIMIT :fetch
""")

# Names only like the typed one (rank 1): pg_trgm's GIN index on the distinct names (place_name), similar as a
# whole (`%`) or as a word of a longer name (`<%`: «Посад» in «Сергиев Посад»), at the thresholds set before it
# (_FUZZY_THRESHOLDS); then their settlements from the btree.
_FUZZY_SQL = text(f"""
WITH names AS (
  SELECT p.name_norm,
         greatest(similarity(p.name_norm, CAST(:q AS text)), word_similarity(CAST(:q AS text), p.name_norm)) AS similarity
  FROM place_name p
  WHERE p.name_norm % CAST(:q AS text) OR CAST(:q AS text) <% p.name_norm
),
hits AS (
  SELECT sn.settlement_id, sn.population, sn.region_code, sn.district_id, max(n.similarity) AS similarity
  FROM names n JOIN settlement_name sn ON sn.name_norm = n.name_norm
  WHERE (CAST(:region AS text) IS NULL OR sn.region_code = CAST(:region AS text))
    AND sn.settlement_id <> ALL(CAST(:found AS integer[]))
  GROUP BY sn.settlement_id, sn.population, sn.region_code, sn.district_id
)
SELECT settlement_id, 1 AS rank, {_IN_AREA} AS in_area
FROM hits
ORDER BY in_area DESC, similarity DESC, region_code = CAST(:prefer AS text) DESC NULLS LAST,
         population DESC NULLS LAST, settlement_id
LIMIT :fetch
""")

# A one-letter typo in a name of 5–8 letters keeps about half its trigrams; pg_trgm's default (0.3) also takes every
# name that merely shares an ending («-овка»: 12,000 candidates to recheck for «Козловка»).
_FUZZY_THRESHOLDS = text("SELECT set_config('pg_trgm.similarity_threshold', '0.45', true),"
                         " set_config('pg_trgm.word_similarity_threshold', '0.6', true)")

# The settlements found, as shown: names, type, district, region, point; `score` how close the name is.
_DETAILS_SQL = text("""
SELECT s.id, s.name_ru AS name, s.name_kk, s.kind, s.census_type, s.population, s.timezone,
       ST_Y(s.geog::geometry) AS lat, ST_X(s.geog::geometry) AS lon,
       d.name_ru AS district, r.code AS region_code, r.name_ru AS region_name,
       (SELECT max(greatest(similarity(sn.name_norm, CAST(:q AS text)), word_similarity(CAST(:q AS text), sn.name_norm)))
        FROM settlement_name sn WHERE sn.settlement_id = s.id) AS similarity
FROM settlement s
JOIN region r ON r.code = s.region_code
LEFT JOIN district d ON d.id = s.district_id
WHERE s.id = ANY(CAST(:ids AS integer[]))
""")

_NORMALIZE_SQL = text("SELECT rm_name_norm(:name)")


def normalized_name(session: Session, name: str) -> str | None:
    """A name as the database normalizes every spelling (rm_name_norm: unaccent, ё -> е, Kazakh letters folded)."""
    return session.execute(_NORMALIZE_SQL, {"name": name}).scalar()


def name_hits(session: Session, params: dict) -> list[dict]:
    """Settlements whose names are or begin with the normalized name :q (rank 3, 2), best first: [{settlement_id,
    rank, in_area}]. params: q, areas (JSON of the qualifiers' areas), region (only there), prefer (that region's
    first), fetch (at most)."""
    return [dict(r) for r in session.execute(_NAMES_SQL, params).mappings()]


def fuzzy_name_hits(session: Session, params: dict) -> list[dict]:
    """Settlements whose names only look like :q (rank 1), best first, leaving out the ids in params["found"]
    (otherwise as name_hits). Sets the transaction's pg_trgm thresholds first (_FUZZY_THRESHOLDS)."""
    session.execute(_FUZZY_THRESHOLDS)
    return [dict(r) for r in session.execute(_FUZZY_SQL, params).mappings()]


def settlements_shown(session: Session, name: str, ids: list[int]) -> dict[int, dict]:
    """{id: row} of these settlements as shown (names, type, district, region, point), each with the
    `similarity` of its closest name to the normalized `name`."""
    return {r["id"]: dict(r) for r in session.execute(_DETAILS_SQL, {"q": name, "ids": ids}).mappings()}


_BY_ID_SQL = text("""
SELECT s.id, s.name_ru AS name, s.name_kk, s.kind, s.census_type, s.population, s.timezone,
       ST_Y(s.geog::geometry) AS lat, ST_X(s.geog::geometry) AS lon,
       d.name_ru AS district, r.code AS region_code, r.name_ru AS region_name
FROM settlement s JOIN region r ON r.code = s.region_code LEFT JOIN district d ON d.id = s.district_id
WHERE s.id = :id
""")


def settlement_by_id(session: Session, settlement_id: int) -> dict | None:
    """One settlement as shown (names, type, district, region, point), or None."""
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


def region_and_settlement_at(session: Session, lat: float, lon: float) -> dict:
    """{region_code, settlement_id} of a point: its region and the nearest settlement (or None) within 30 km."""
    return dict(session.execute(_PLACE_OF_POINT_SQL, {"lat": lat, "lon": lon}).mappings().one())
