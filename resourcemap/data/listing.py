"""The curators' list of organizations (/curate): search by name, filters, one page at a time; and where the
editor's map opens for a place not placed yet.

Read-only (the organization documents themselves come from registry/edit.py). The name
filter is a substring match on `rm_name_norm` (ё/е, case), cheap enough for a region's registry; the region filter
uses `ix_organization_region_code`."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..limits import STALE_AFTER_DAYS, is_id

PER_PAGE = 25

_LIST_SQL = """
SELECT o.id, o.name, o.status, o.region_code, r.name_ru AS region_name, o.verified_at, o.updated_at,
       o.is_synthetic, o.external_id, o.recheck_since,
       (o.verified_at IS NULL OR o.verified_at < current_date - :stale_days OR o.recheck_since IS NOT NULL) AS stale,
       (SELECT count(*) FROM problem_report p WHERE p.organization_id = o.id AND p.resolution IS NULL) AS open_reports,
       (SELECT array_agg(DISTINCT t.name_ru) FROM service s JOIN taxonomy_term t ON t.code = s.type_code
         WHERE s.organization_id = o.id AND s.active) AS kinds,
       (SELECT array_agg(DISTINCT s.type_code) FROM service s
         WHERE s.organization_id = o.id AND s.active) AS kind_codes,
       (SELECT string_agg(DISTINCT st.name_ru, ', ') FROM location l JOIN settlement st ON st.id = l.settlement_id
         WHERE l.organization_id = o.id) AS places,
       count(*) OVER () AS total
FROM organization o JOIN region r ON r.code = o.region_code
WHERE {where}
ORDER BY o.name, o.id
LIMIT :limit OFFSET :offset
"""


@dataclass
class ListFilter:
    """What the curator asked for; `regions` None means every region (admins)."""

    q: str = ""
    region: str | None = None
    kind: str | None = None
    status: str | None = None
    stale: bool = False
    page: int = 1


def registry_page(session: Session, f: ListFilter, regions: list[str] | None,
                  per_page: int = PER_PAGE) -> tuple[list[dict], int]:
    """One page of organizations (any status) matching the filter, by name; and how many match in all."""
    where = ["TRUE"]
    params: dict = {"limit": per_page, "offset": (f.page - 1) * per_page, "stale_days": STALE_AFTER_DAYS}
    if regions is not None:
        where.append("o.region_code = ANY(CAST(:regions AS text[]))")
        params["regions"] = regions
    if f.region:
        where.append("o.region_code = :region")
        params["region"] = f.region
    if f.q:
        q = f.q.strip()
        if is_id(q):
            where.append("(o.id = CAST(:q AS int) OR o.external_id = :q)")
        else:
            where.append("(strpos(rm_name_norm(o.name), rm_name_norm(:q)) > 0 OR o.external_id = :q)")
        params["q"] = q
    if f.kind:
        where.append("EXISTS (SELECT 1 FROM service s WHERE s.organization_id = o.id AND s.active"
                     " AND s.type_code = :kind)")
        params["kind"] = f.kind
    if f.status:
        where.append("o.status = :status")
        params["status"] = f.status
    if f.stale:
        where.append("(o.verified_at IS NULL OR o.verified_at < current_date - :stale_days"
                     " OR o.recheck_since IS NOT NULL)")
    rows = [dict(r) for r in session.execute(text(_LIST_SQL.format(where=" AND ".join(where))), params).mappings()]
    total = rows[0]["total"] if rows else _count(session, where, params)
    return rows, total


def _count(session: Session, where: list[str], params: dict) -> int:
    """The total when the page is empty (a page past the end)."""
    return session.execute(text(_COUNT_SQL.format(where=" AND ".join(where))), params).scalar_one()


_COUNT_SQL = "SELECT count(*) FROM organization o WHERE {where}"

_REGION_VIEW_SQL = text("""
SELECT ST_YMin(b) AS south, ST_XMin(b) AS west, ST_YMax(b) AS north, ST_XMax(b) AS east
FROM (SELECT ST_Envelope(boundary) AS b FROM region WHERE code = :code) r
""")


def region_center(session: Session, code: str | None) -> dict | None:
    """The bounds of a region's boundary ({"south", "west", "north", "east"}), where the editor's map opens for
    a place not placed yet."""
    if not code:
        return None
    row = session.execute(_REGION_VIEW_SQL, {"code": code}).mappings().first()
    return {k: round(float(v), 5) for k, v in row.items()} if row else None
