"""Reading families' problem reports: the open ones of some regions, how many per region, one to resolve under its
row lock (registry/reports.py). Filing and resolving them are writes of data/writes.py."""
from __future__ import annotations

import datetime as dt
from typing import TypedDict

from sqlalchemy import text
from sqlalchemy.orm import Session


class OpenReportRow(TypedDict):
    id: int
    organization_id: int
    organization_name: str
    region_code: str
    kind: str
    body: str
    created_at: dt.datetime
    verified_at: dt.date | None
    recheck_since: dt.datetime | None


class ReportToResolveRow(TypedDict):
    id: int
    organization_id: int
    kind: str
    resolution: str | None
    region_code: str


_OPEN = text("""
SELECT p.id, p.organization_id, o.name AS organization_name, o.region_code, p.kind, p.body, p.created_at,
       o.verified_at, o.recheck_since
FROM problem_report p JOIN organization o ON o.id = p.organization_id
WHERE p.resolution IS NULL AND (CAST(:regions AS text[]) IS NULL OR o.region_code = ANY(CAST(:regions AS text[])))
ORDER BY p.id
""")

_OPEN_COUNTS = text("""
SELECT o.region_code, count(*) AS n
FROM problem_report p JOIN organization o ON o.id = p.organization_id
WHERE p.resolution IS NULL AND (CAST(:regions AS text[]) IS NULL OR o.region_code = ANY(CAST(:regions AS text[])))
GROUP BY o.region_code
""")

_TO_RESOLVE = text("""
SELECT p.id, p.organization_id, p.kind, p.resolution, o.region_code FROM problem_report p
JOIN organization o ON o.id = p.organization_id WHERE p.id = :id FOR UPDATE OF p
""")


def open_reports(session: Session, regions: list[str] | None) -> list[OpenReportRow]:
    """The open reports of organizations of these regions (all when None), oldest first."""
    return [OpenReportRow(**r) for r in session.execute(_OPEN, {"regions": regions}).mappings()]


def open_counts(session: Session, regions: list[str] | None) -> dict[str, int]:
    """How many reports are open, per region of these (all when None)."""
    return {r["region_code"]: r["n"] for r in session.execute(_OPEN_COUNTS, {"regions": regions}).mappings()}


def report_to_resolve(session: Session, report_id: int) -> ReportToResolveRow | None:
    """One report with its organization's region, its row locked until the transaction ends; None when none."""
    row = session.execute(_TO_RESOLVE, {"id": report_id}).mappings().first()
    return ReportToResolveRow(**row) if row else None
