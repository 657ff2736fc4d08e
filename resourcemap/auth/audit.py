"""The audit log: sign-ins, role changes, tokens, and each view of a confidential address."""
from __future__ import annotations

from flask import has_request_context, request
from sqlalchemy.orm import Session

from ..models import AuditEvent


def record(session: Session, action: str, *, account=None, account_id: int | None = None, email: str = "",
           **details) -> None:
    """Add an audit event to the session (committed with the caller's transaction)."""
    session.add(AuditEvent(
        account_id=account_id or getattr(account, "id", None), email=email or getattr(account, "email", "") or "",
        action=action, remote_addr=(request.remote_addr or "") if has_request_context() else "cli",
        details=details,
    ))
