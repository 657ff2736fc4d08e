"""The anonymous request log of the dispatch console, and the gaps report made from it.

Each console search records (migration 0005): the settlement, district and region asked from, the kinds of help,
the child's age band, how many services of each kind lay within 30 and 100 km, and the hour. Never anything
about the caller or the consultant: no account, no IP address, no coordinates, no free text.

A consultation is one row: while the consultant refines a search for the same family (adds a kind, changes the
age), `record_request` is given the row's id and updates it instead of adding another, so the report counts
families, not keystrokes.

The gaps report: per region, the districts with the most requests that found nothing within 30 (or 100) km."""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

DISTANCES_KM = (30, 100)
AGE_BANDS = ("0-3", "3-7", "7-18")


def age_band(age_months: int | None) -> str | None:
    """The coarse band of a child's age in years (0-3, 3-7, 7-18); None when not given."""
    if age_months is None:
        return None
    if age_months < 36:
        return "0-3"
    if age_months < 84:
        return "3-7"
    return "7-18"


def count_within(rows: list[dict]) -> tuple[int, int]:
    """(within 30 km, within 100 km) among nearest-help rows; a service that comes to the family counts."""
    near = [r for r in rows if r["reaches_you"] or r["distance_m"] <= 30_000]
    far = [r for r in rows if r["reaches_you"] or r["distance_m"] <= 100_000]
    return len(near), len(far)


_INSERT_SQL = text("""
INSERT INTO request_log (at, origin, settlement_id, district_id, region_code, age_band)
VALUES (date_trunc('hour', now()), :origin, :settlement_id, :district_id, :region_code, :age_band)
RETURNING id
""")

_UPDATE_SQL = text("""
UPDATE request_log SET age_band = :age_band
WHERE id = :id AND origin = :origin AND settlement_id IS NOT DISTINCT FROM :settlement_id
  AND district_id IS NOT DISTINCT FROM :district_id AND at >= date_trunc('hour', now()) - interval '1 hour'
RETURNING id
""")

_KINDS_SQL = text("""
INSERT INTO request_log_kind (request_id, type_code, within_30_km, within_100_km)
SELECT :id, k.code, k.n30, k.n100
FROM unnest(CAST(:codes AS text[]), CAST(:n30 AS smallint[]), CAST(:n100 AS smallint[])) AS k(code, n30, n100)
ON CONFLICT (request_id, type_code)
DO UPDATE SET within_30_km = EXCLUDED.within_30_km, within_100_km = EXCLUDED.within_100_km
""")


def record_request(session: Session, *, origin: str, place: dict, age_months: int | None,
                   found: dict[str, tuple[int, int]], continue_id: int | None = None) -> int:
    """Write (or, for the same consultation and place, update) the log row of a search; returns its id.
    `found`: kind -> (within 30 km, within 100 km). The caller commits."""
    params = {"origin": origin, "settlement_id": place.get("settlement_id"),
              "district_id": place.get("district_id"), "region_code": place.get("region_code"),
              "age_band": age_band(age_months)}
    request_id = None
    if continue_id is not None:
        request_id = session.execute(_UPDATE_SQL, {**params, "id": continue_id}).scalar()
    if request_id is None:
        request_id = session.execute(_INSERT_SQL, params).scalar_one()
    codes = list(found)
    session.execute(_KINDS_SQL, {"id": request_id, "codes": codes,
                                 "n30": [min(found[c][0], 32767) for c in codes],
                                 "n100": [min(found[c][1], 32767) for c in codes]})
    return request_id


# --- the gaps report -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GapsQuery:
    within_km: int = 30                # 30 or 100
    days: int | None = 90              # the period: the last `days` days; None: all time
    region_code: str | None = None
    service_type: str | None = None    # only requests for this kind (and its gaps); None: any kind
    top: int = 10                      # districts per region


# A request "found nothing" for a kind when no service of it lay within the distance; a request is unmet when
# any kind it asked for (or the chosen kind) found nothing. Per region, the districts ranked by unmet requests,
# with the settlements and kinds behind them.
GAPS_SQL = text("""
WITH req AS (
  SELECT l.id, l.region_code, l.district_id, l.settlement_id,
         k.type_code, CASE WHEN :km = 30 THEN k.within_30_km ELSE k.within_100_km END AS found
  FROM request_log l
  JOIN request_log_kind k ON k.request_id = l.id
  WHERE (CAST(:since AS timestamptz) IS NULL OR l.at >= CAST(:since AS timestamptz))
    AND (CAST(:region AS text) IS NULL OR l.region_code = CAST(:region AS text))
    AND (CAST(:kind AS text) IS NULL OR k.type_code = CAST(:kind AS text))
    AND l.region_code IS NOT NULL
),
per_request AS (
  SELECT id, region_code, district_id, settlement_id, bool_or(found = 0) AS unmet,
         array_agg(type_code) FILTER (WHERE found = 0) AS missing
  FROM req GROUP BY id, region_code, district_id, settlement_id
),
per_district AS (
  SELECT region_code, district_id, count(*) AS requests, count(*) FILTER (WHERE unmet) AS unmet
  FROM per_request GROUP BY region_code, district_id
),
ranked AS (
  SELECT *, row_number() OVER (PARTITION BY region_code ORDER BY unmet DESC, requests DESC, district_id) AS n
  FROM per_district WHERE unmet > 0
)
SELECT rg.code AS region_code, rg.name_ru AS region_name, r.district_id, d.name_ru AS district_name,
       r.requests, r.unmet, r.n AS rank,
       (SELECT coalesce(json_agg(json_build_object('name', x.name, 'unmet', x.c) ORDER BY x.c DESC, x.name), '[]')
          FROM (SELECT coalesce(s.name_ru, '?') AS name, count(*) AS c
                  FROM per_request p LEFT JOIN settlement s ON s.id = p.settlement_id
                 WHERE p.unmet AND p.region_code = r.region_code
                   AND p.district_id IS NOT DISTINCT FROM r.district_id
                 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5) x) AS settlements,
       (SELECT coalesce(json_agg(json_build_object('code', y.code, 'name', y.name, 'unmet', y.c)
                                 ORDER BY y.c DESC, y.code), '[]')
          FROM (SELECT m.code, t.name_ru AS name, count(*) AS c
                  FROM per_request p CROSS JOIN unnest(p.missing) AS m(code)
                  JOIN taxonomy_term t ON t.code = m.code
                 WHERE p.unmet AND p.region_code = r.region_code
                   AND p.district_id IS NOT DISTINCT FROM r.district_id
                 GROUP BY m.code, t.name_ru) y) AS kinds
FROM ranked r
JOIN region rg ON rg.code = r.region_code
LEFT JOIN district d ON d.id = r.district_id
WHERE r.n <= :top
ORDER BY rg.name_ru, r.n
""")


def gaps_report(session: Session, q: GapsQuery, now: dt.datetime | None = None) -> list[dict]:
    """Rows of the gaps report (see GAPS_SQL): region, district (None: outside any known district), requests,
    unmet requests, the settlements and the kinds behind them."""
    if q.within_km not in DISTANCES_KM:
        raise ValueError(f"within_km must be one of {DISTANCES_KM}")
    since = None
    if q.days is not None:
        since = (now or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(days=q.days)
    params = {"km": q.within_km, "since": since, "region": q.region_code, "kind": q.service_type, "top": q.top}
    return [dict(r) for r in session.execute(GAPS_SQL, params).mappings()]


# --- CSV -------------------------------------------------------------------------------------------------------
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A cell that a spreadsheet will not run as a formula: text starting with = + - @ (or tab / CR) gets a
    leading apostrophe."""
    s = "" if value is None else str(value)
    return "'" + s if s.startswith(_FORMULA_START) else s


def gaps_csv(rows: list[dict], header: list[str]) -> str:
    """The report as CSV (comma-separated, UTF-8 with BOM for spreadsheet programs), every cell made safe."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in header])
    for r in rows:
        writer.writerow([csv_cell(c) for c in (
            r["region_code"], r["region_name"], r["district_name"] or "", r["requests"], r["unmet"],
            f"{100.0 * r['unmet'] / r['requests']:.0f}" if r["requests"] else "",
            "; ".join(f"{s['name']} ({s['unmet']})" for s in r["settlements"]),
            "; ".join(f"{k['name']} ({k['unmet']})" for k in r["kinds"]),
        )])
    return out.getvalue()
