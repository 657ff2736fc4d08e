"""Problems families report about an organization ("the phone does not answer", …), and their resolution.

A report keeps the organization, the kind of problem and the text the person wrote (at most 500 characters):
nothing else about the person, not even the address it came from (the rate limiter keeps its own short-lived
counters). Curators of the organization's region see the open reports and resolve each as confirmed or rejected with
a note; a confirmed one marks the organization for re-checking (`organization.recheck_since`, migration 0020), which
"checked today" (edit.mark_verified) clears. Resolving is written to the audit log, and the mark to the history."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..auth import audit
from ..auth.policy import require_region_edit
from ..data import problem_reports as data
from ..data import writes
from ..models.registry import PROBLEM_KINDS, RESOLUTIONS
from .edit import NotFound
from .history import as_actor

MAX_TEXT = 500
MAX_NOTE = 2000

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
    return writes.file_problem_report(session, org_id, kind, body)


def open_reports(session: Session, region_codes) -> list[dict]:
    """The open reports of organizations of these regions (all when None), oldest first."""
    regions = None if region_codes is None else list(region_codes)
    return data.open_reports(session, regions)


def open_counts(session: Session, region_codes) -> dict[str, int]:
    """How many reports are open, per region of these (all when None)."""
    regions = None if region_codes is None else list(region_codes)
    return data.open_counts(session, regions)


def resolve_report(session: Session, report_id: int, resolution: str, note: str, actor) -> dict:
    """Resolve an open report as confirmed or rejected with a note (the actor must edit its region). A confirmed
    report marks its organization for re-checking. Returns {"organization_id", "resolution"}."""
    row = data.report_to_resolve(session, report_id)
    if row is None:
        raise NotFound("Такого сообщения нет.")
    require_region_edit(actor, row["region_code"])
    if row["resolution"] is not None:
        raise BadReport("report", "Это сообщение уже разобрано.")
    if resolution not in RESOLUTIONS:
        raise BadReport("resolution", "Выберите: подтвердилось или не подтвердилось.")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise BadReport("note", f"Заметка — не больше {MAX_NOTE} знаков.")
    writes.resolve_problem_report(session, report_id, resolution, note, actor.account_id)
    if resolution == "confirmed":
        with session.begin_nested():
            as_actor(session, actor, f"Сообщение семьи № {report_id} подтвердилось: {note}"[:2000])
            writes.mark_for_recheck(session, row["organization_id"])
    audit.record(session, "problem_report_resolved", account_id=actor.account_id, email=actor.email,
                 report_id=report_id, organization_id=row["organization_id"], kind=row["kind"],
                 resolution=resolution, note=note)
    return {"organization_id": row["organization_id"], "resolution": resolution}
