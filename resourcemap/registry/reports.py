"""Problems families report about an organization ("the phone does not answer", …), and their resolution.

A report keeps the organization, the kind of problem and the text the person wrote (at most 500 characters):
nothing else about the person, not even the address it came from (the rate limiter keeps its own short-lived
counters). Curators of the organization's region see the open reports and resolve each as confirmed or rejected with
a note; a confirmed one marks the organization for re-checking (`organization.recheck_since`, migration 0020), which
"checked today" (edit.mark_verified) clears. Resolving is written to the audit log, and the mark to the history."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..auth import audit
from ..models.registry import PROBLEM_KINDS, RESOLUTIONS
from .edit import Forbidden, NotFound
from .history import as_actor

MAX_TEXT = 500
MAX_NOTE = 2000

_FILE = text("""
INSERT INTO problem_report (organization_id, kind, body)
SELECT o.id, :kind, :body FROM organization o WHERE o.id = :org AND o.status = 'published'
RETURNING id
""")

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


class BadReport(ValueError):
    """A report that cannot be taken: the field at fault and a message for the person."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def file_report(session: Session, org_id: int, kind: str, body: str) -> int | None:
    """Store a family's report about a published organization; its id, or None when there is no such organization.
    BadReport for an unknown kind, a text over 500 characters, or "other" without a text."""
    body = (body or "").strip()
    if kind not in PROBLEM_KINDS:
        raise BadReport("kind", "Выберите, что не так.")
    if len(body) > MAX_TEXT:
        raise BadReport("body", f"Не больше {MAX_TEXT} знаков, сейчас {len(body)}.")
    if kind == "other" and not body:
        raise BadReport("body", "Напишите, что не так.")
    return session.execute(_FILE, {"org": org_id, "kind": kind, "body": body}).scalar()


def open_reports(session: Session, region_codes) -> list[dict]:
    """The open reports of organizations of these regions (all when None), oldest first."""
    regions = None if region_codes is None else list(region_codes)
    return [dict(r) for r in session.execute(_OPEN, {"regions": regions}).mappings()]


def open_counts(session: Session, region_codes) -> dict[str, int]:
    """How many reports are open, per region of these (all when None)."""
    regions = None if region_codes is None else list(region_codes)
    return {r["region_code"]: r["n"] for r in session.execute(_OPEN_COUNTS, {"regions": regions}).mappings()}


def resolve_report(session: Session, report_id: int, resolution: str, note: str, actor) -> dict:
    """Resolve an open report as confirmed or rejected with a note (the actor must edit its region). A confirmed
    report marks its organization for re-checking. Returns {"organization_id", "resolution"}."""
    row = session.execute(text(
        "SELECT p.id, p.organization_id, p.kind, p.resolution, o.region_code FROM problem_report p"
        " JOIN organization o ON o.id = p.organization_id WHERE p.id = :id FOR UPDATE OF p"),
        {"id": report_id}).mappings().first()
    if row is None:
        raise NotFound("Такого сообщения нет.")
    if not actor.may_edit_region(row["region_code"]):
        raise Forbidden()
    if row["resolution"] is not None:
        raise BadReport("report", "Это сообщение уже разобрано.")
    if resolution not in RESOLUTIONS:
        raise BadReport("resolution", "Выберите: подтвердилось или не подтвердилось.")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise BadReport("note", f"Заметка — не больше {MAX_NOTE} знаков.")
    session.execute(text(
        "UPDATE problem_report SET resolution = :r, resolution_note = :note, resolved_at = now(), resolved_by = :by"
        " WHERE id = :id"), {"r": resolution, "note": note, "by": actor.account_id, "id": report_id})
    if resolution == "confirmed":
        with session.begin_nested():
            as_actor(session, actor, f"Сообщение семьи № {report_id} подтвердилось: {note}"[:2000])
            session.execute(text("UPDATE organization SET recheck_since = now() WHERE id = :id"
                                 " AND recheck_since IS NULL"), {"id": row["organization_id"]})
    audit.record(session, "problem_report_resolved", account_id=actor.account_id, email=actor.email,
                 report_id=report_id, organization_id=row["organization_id"], kind=row["kind"],
                 resolution=resolution, note=note)
    return {"organization_id": row["organization_id"], "resolution": resolution}
