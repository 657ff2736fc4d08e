"""Who may do what, in one place. Every route and API call asks these rules through `current_viewer()` and the
decorators below; object-level checks (a curator and another region's organization) live here too.

- the public: reads published entries; confidential places only approximately;
- dispatcher: reads everything, confidential addresses included; edits nothing;
- curator: reads everything a dispatcher reads, and edits / exports the registry of the regions assigned to them;
- admin: everything.

Every permission decision is a function or a Viewer method here: the roles (EDITOR_ROLES, READ_ALL_ROLES), the
region rules, and the refusals (`Forbidden`) that the editor, the import and the export raise. Actors are passed as
callers have them: a Viewer, the signed-in user, an account, or None (the system, or nobody): `viewer_from`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import wraps

from flask import abort, g, redirect, request, url_for
from flask_login import current_user

from ..errors import ApiError
from ..models.accounts import Account

ROLES = ("admin", "curator", "dispatcher")  # the staff roles an account may have (account.role)
STAFF = ROLES
EDITOR_ROLES = ("admin", "curator")  # keep the registry (edit, import, export): admins all, curators their regions
READ_ALL_ROLES = ("admin", "dispatcher")  # read every region's registry (drafts, history, exact data)


@dataclass(frozen=True)
class Viewer:
    """Who is asking. `role` None is the public."""

    role: str | None = None
    account_id: int | None = None
    email: str = ""
    regions: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def sees_confidential(self) -> bool:
        return self.role in STAFF

    def may_read_registry_of(self, region_code: str) -> bool:
        """Drafts, history, exact data of a region's registry: staff; a curator only of their regions."""
        return self.role in READ_ALL_ROLES or (self.role == "curator" and region_code in self.regions)

    def may_edit_region(self, region_code: str) -> bool:
        return self.role == "admin" or (self.role == "curator" and region_code in self.regions)


PUBLIC = Viewer()


def viewer_of(account) -> Viewer:
    return Viewer(role=account.role, account_id=account.id, email=account.email,
                  regions=frozenset(r.region_code for r in account.regions))


def current_viewer() -> Viewer:
    """The viewer of this request: a bearer token's account, the signed-in account, or the public.
    A bearer token that is wrong or revoked is refused (401), never quietly treated as the public."""
    if "viewer" in g:
        return g.viewer
    header = request.headers.get("Authorization", "")
    if header:
        from ..db import get_session
        from .accounts import account_for_token

        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError("Authorization must be 'Bearer <token>'.", "Authorization", code="unauthorized", status=401)
        account = account_for_token(get_session(), token.strip())
        if account is None:
            raise ApiError("The API token is unknown or revoked.", "Authorization", code="unauthorized", status=401)
        g.viewer = viewer_of(account)
    elif current_user.is_authenticated:
        g.viewer = current_user.viewer
    else:
        g.viewer = PUBLIC
    return g.viewer


def _role_gate(roles: tuple[str, ...], on_public, on_forbidden):
    """A decorator that lets only these staff roles (all staff when none named) through."""
    allowed = roles or STAFF

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            viewer = current_viewer()
            if not viewer.is_staff:
                return on_public()
            if viewer.role not in allowed:
                return on_forbidden()
            return view(*args, **kwargs)
        return wrapper
    return decorate


def _api_unauthorized():
    raise ApiError("Sign in or send an API token.", None, code="unauthorized", status=401)


def _api_forbidden():
    raise ApiError("Your role may not do this.", None, code="forbidden", status=403)


def _to_signin():
    return redirect(url_for("auth.signin", next=request.full_path.rstrip("?")))


def staff_api(*roles: str):
    """An API view for these staff roles: 401 for the public, 403 for other roles."""
    return _role_gate(roles, _api_unauthorized, _api_forbidden)


def staff_page(*roles: str):
    """A page for these staff roles: the public goes to sign-in, other roles get 403."""
    return _role_gate(roles, _to_signin, lambda: abort(403))


def require_region_access(viewer: Viewer, region_code: str, *, edit: bool = False) -> None:
    """Object-level check: 403 unless the viewer may read (or edit) this region's registry."""
    allowed = viewer.may_edit_region(region_code) if edit else viewer.may_read_registry_of(region_code)
    if not allowed:
        raise ApiError("This entry belongs to a region you do not curate.", None, code="forbidden", status=403)


# --- refusals and the registry's rules ----------------------------------------------------------------------------
class Refused(Exception):
    """An action that was refused; nothing was written (registry/edit.py's EditError: not found, a conflict, an
    invalid document, or not allowed)."""


class Forbidden(Refused):
    """The actor may not do this: not their region, or not their role. `message` is for people."""

    def __init__(self, message: str = "Эта запись относится к региону, который вы не курируете."):
        super().__init__(message)
        self.message = message


def viewer_from(actor) -> Viewer:
    """The Viewer whose rights `actor` has: a Viewer itself, the signed-in user's or an account's; the public for
    None (the system acting, or nobody) and anything else."""
    if isinstance(actor, Viewer):
        return actor
    if isinstance(getattr(actor, "viewer", None), Viewer):
        return actor.viewer
    if isinstance(actor, Account):
        return viewer_of(actor)
    return PUBLIC


def may_keep_registry(actor) -> bool:
    """Whether the actor's role keeps the registry (edits, imports, exports it)."""
    return viewer_from(actor).role in EDITOR_ROLES


def may_edit_region(actor, region_code: str) -> bool:
    """Whether the actor may edit this region's registry: an admin any, a curator their own."""
    return viewer_from(actor).may_edit_region(region_code)


def sees_unpublished(actor) -> bool:
    """Whether the actor sees drafts and deactivated entries (staff), not only what is published."""
    return viewer_from(actor).is_staff


def may_choose_coverage_thresholds(actor) -> bool:
    """Whether the actor may ask coverage figures at distances of their own (staff). The public gets the fixed
    thresholds only: counts at distances chosen freely, 1 km apart, would draw rings around a confidential place's
    exact point, finer than its published cell."""
    return viewer_from(actor).is_staff


def may_edit_every_region(actor) -> bool:
    """Whether the actor edits every region's registry (admins), rather than a list of their own."""
    return viewer_from(actor).role == "admin"


def role_needs_regions(role: str) -> bool:
    """Whether an account of this role must be given regions (a curator keeps only theirs)."""
    return role == "curator"


def may_export_all(actor) -> bool:
    """Whether the actor may export every region at once (admins)."""
    return may_edit_every_region(actor)


def readable_regions(actor) -> list[str] | None:
    """The regions whose registry the actor reads: None for every region (READ_ALL_ROLES), else their own, sorted."""
    viewer = viewer_from(actor)
    return None if viewer.role in READ_ALL_ROLES else sorted(viewer.regions)


def coverage_regions(actor) -> list[str] | None:
    """The regions whose coverage the actor studies on /coverage, with the worst-served settlements named (issue 21):
    None for every region (admins, dispatchers), a curator's own (sorted), none for the public (aggregates only)."""
    viewer = viewer_from(actor)
    if not viewer.is_staff:
        return []
    return None if viewer.role in READ_ALL_ROLES else sorted(viewer.regions)


def may_study_coverage_of(actor, region_code: str) -> bool:
    """Whether the actor sees a region's coverage in staff detail (coverage_regions)."""
    regions = coverage_regions(actor)
    return regions is None or region_code in regions


def require_editor(actor) -> None:
    """Forbidden unless the actor's role edits the registry."""
    if not may_keep_registry(actor):
        raise Forbidden("Ваша роль не позволяет редактировать реестр.")


def require_region_edit(actor, region_code: str) -> None:
    """Forbidden unless the actor may edit this region's registry."""
    if not may_edit_region(actor, region_code):
        raise Forbidden()


def require_import_rights(actor, region_code: str) -> None:
    """Imports into a region's registry belong to its curators and admins."""
    if not may_keep_registry(actor):
        raise Forbidden("Ваша роль не позволяет загружать данные в реестр.")
    if not may_edit_region(actor, region_code):
        raise Forbidden("Этот регион вы не курируете: загрузка в него недоступна.")


def require_export_rights(actor, region_codes: list[str] | None) -> None:
    """Curators export their own regions, dispatchers and admins any region, only admins all at once; the public
    (no role) gets the published entries of the regions it names."""
    viewer = viewer_from(actor)
    if region_codes is None:
        if not may_export_all(viewer):
            raise Forbidden("Выгрузить все регионы сразу может только администратор.")
        return
    if viewer.is_staff:
        for code in region_codes:
            if not viewer.may_read_registry_of(code):
                raise Forbidden(f"Регион {code} вы не курируете: выгрузка недоступна.")
