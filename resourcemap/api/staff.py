"""The staff side of API v1: the registry as its keepers see it (drafts, deactivated entries, exact addresses).
Dispatchers and admins read every region; a curator only the regions assigned to them (403 otherwise)."""
from __future__ import annotations

from flask import jsonify

from ..auth.policy import EDITOR_ROLES, Viewer, current_viewer, readable_regions, require_region_access, staff_api
from ..db import get_session
from ..errors import ApiError, error_body
from ..limits import MAX_ID
from ..registry import edit
from ..registry.history import change_by_id, history
from ..registry.validate import WRONG_TYPE
from ..data.organizations import find_organizations, organization_by_id
from . import bp
from . import schemas as s
from .routes import _region_param, audit_confidential_views, organization_view

STAFF_ERRORS = [400, 401, 403, 404]


@bp.get("/registry/organizations")
@bp.input(s.RegistryQuery, location="query", arg_name="query")
@bp.output(s.RegistryOrganizationsOut, links=s.REGISTRY_LINKS)
@bp.doc(responses=STAFF_ERRORS, security="BearerAuth")
@staff_api()
def registry_organizations(query):
    """Organizations of any status, for staff; a curator sees their regions only."""
    viewer = current_viewer()
    region = _region_param(query.get("region"))
    if region:
        require_region_access(viewer, region)
    regions = readable_regions(viewer)
    orgs = find_organizations(get_session(), region=region, service_types=None, bbox=None, limit=query["limit"],
                              offset=query["offset"], regions=regions, statuses=("published", "draft", "inactive"))
    audit_confidential_views(viewer, {loc["location_id"] for o in orgs for loc in o["locations"] if loc["confidential"]})
    return jsonify({"results": [{**organization_view(o, viewer), "status": o["status"]} for o in orgs]})


@bp.get("/registry/organizations/<int:org_id>")
@bp.output(s.RegistryOrganizationOut)
@bp.doc(responses=STAFF_ERRORS, security="BearerAuth")
@staff_api()
def registry_organization(org_id: int):
    """One organization of any status, exact, for staff allowed to see its region."""
    org = organization_by_id(get_session(), org_id, published_only=False) if org_id <= MAX_ID else None
    if org is None:
        raise ApiError("No organization with this id.", "id", code="not_found", status=404)
    viewer = current_viewer()
    require_region_access(viewer, org["region_code"])
    audit_confidential_views(viewer, {loc["location_id"] for loc in org["locations"] if loc["confidential"]})
    return jsonify({**organization_view(org, viewer), "status": org["status"]})


# --- the curators' editing API: one call per user action, one transaction each (registry/edit.py) -------------

EDIT_ERRORS = [400, 401, 403, 404, 409, 422]


def _editing(method: str, rule: str, out, body=None, **output_options):
    """An editing action of the API: for the editor roles (checked before the body is read), the JSON body read by
    the schema `body` as the view's `body`, answered as `out`, and documented with the errors an edit can meet."""
    def register(view):
        view = bp.output(out, **output_options)(bp.doc(responses=EDIT_ERRORS, security="BearerAuth")(view))
        if body is not None:
            view = bp.input(body, arg_name="body")(view)
        return bp.route(rule, methods=[method])(staff_api(*EDITOR_ROLES)(view))
    return register


def _edit_failure(error: edit.EditError):
    """A refused editing action as JSON: 404, 403, 409 with the current document, 400 naming the first value of
    the wrong JSON type (a malformed document), or else 422; both with every problem."""
    if isinstance(error, edit.NotFound):
        raise ApiError(str(error) or "Not found.", "id", code="not_found", status=404)
    if isinstance(error, edit.Forbidden):
        raise ApiError(error.message, None, code="forbidden", status=403)
    if isinstance(error, edit.Conflict):
        audit_document_view(current_viewer(), error.current)
        return _json({**error_body("conflict", "Запись уже изменил другой пользователь: сравните версии и сохраните "
                                               "снова.", "version"), "current": error.current}, 409)
    problems = [p.to_dict() for p in error.problems]
    malformed = [p for p in problems if p["code"] == WRONG_TYPE]
    first = (malformed or problems or [{"field": None, "message": "Invalid document."}])[0]
    return _json(error_body("invalid", first["message"], first["field"], problems=problems), 400 if malformed else 422)


def _json(body: dict, status: int):
    """A JSON response with its status (a (response, status) tuple would be re-serialized by @bp.output)."""
    response = jsonify(body)
    response.status_code = status
    return response


def _document_answer(session, org_id: int, status: int = 200):
    """The saved document, exact, as the answer of an editing action; audited like any staff view of it."""
    doc = edit.organization_document(session, org_id)
    audit_document_view(current_viewer(), doc)
    return _json({"id": org_id, "version": doc["version"], "document": doc}, status)


def _run_edit(write, answer):
    """Run `write(session)` (an edit of registry/edit.py) and commit it, then `answer(session, result)`; an edit
    refused (not found, a conflict, an invalid document, another region) is answered as its error, nothing saved."""
    session = get_session()
    try:
        result = write(session)
    except edit.EditError as error:
        return _edit_failure(error)
    session.commit()
    return answer(session, result)


def _org_id_or_404(org_id: int) -> int:
    if org_id > MAX_ID:
        raise ApiError("No organization with this id.", "id", code="not_found", status=404)
    return org_id


def audit_document_view(viewer: Viewer, doc: dict) -> None:
    """Staff saw the organization's document (its editor, its history): exact, confidential places included."""
    audit_confidential_views(viewer, {loc["id"] for loc in doc["locations"] if loc["confidential"]})


def _readable_document(org_id: int) -> dict:
    """The organization's document for staff allowed to see its region (404, 403 otherwise); audited."""
    doc = edit.organization_document(get_session(), _org_id_or_404(org_id))
    if doc is None:
        raise ApiError("No organization with this id.", "id", code="not_found", status=404)
    viewer = current_viewer()
    require_region_access(viewer, doc["region_code"])
    audit_document_view(viewer, doc)
    return doc


def _options(body: dict) -> tuple[dict, str | None, str]:
    body = dict(body)
    reason = body.pop("region_exception_reason", None) or None
    note = body.pop("change_note", None) or ""
    return body, reason, note


@_editing("POST", "/registry/organizations", s.DocumentOut, s.OrganizationDocumentIn, status_code=201)
def registry_create(body):
    """Create an organization from a document (draft unless it says otherwise); curators in their regions."""
    doc, reason, note = _options(body)
    return _run_edit(lambda session: edit.create_document(session, doc, current_viewer(), region_exception_reason=reason,
                                                          change_note=note),
                     lambda session, org_id: _document_answer(session, org_id, 201))


@bp.get("/registry/organizations/<int:org_id>/document")
@staff_api()
@bp.output(s.DocumentOut)
@bp.doc(responses=STAFF_ERRORS, security="BearerAuth")
def registry_document(org_id: int):
    """The organization as the editor's document, with the version to send back when saving."""
    doc = _readable_document(org_id)
    return _json({"id": org_id, "version": doc["version"], "document": doc}, 200)


@_editing("PUT", "/registry/organizations/<int:org_id>", s.DocumentOut, s.SavedDocumentIn)
def registry_save(org_id: int, body):
    """Save a document read at `version`: only what changed is written; 409 with the current document when
    someone saved in between."""
    doc, reason, note = _options(body)
    return _run_edit(lambda session: edit.save_document(session, _org_id_or_404(org_id), doc, doc["version"],
                                                        current_viewer(), region_exception_reason=reason,
                                                        change_note=note),
                     lambda session, _version: _document_answer(session, org_id))


@_editing("POST", "/registry/organizations/<int:org_id>/status", s.VersionOut, s.StatusIn)
def registry_status(org_id: int, body):
    """Publish, back to draft, or deactivate (nothing is deleted)."""
    return _run_edit(lambda session: edit.set_status(session, _org_id_or_404(org_id), body["status"], body["version"],
                                                     current_viewer()),
                     lambda _session, version: jsonify({"id": org_id, "version": version}))


@_editing("POST", "/registry/organizations/<int:org_id>/verify", s.VerifiedOut)
def registry_verify(org_id: int):
    """"Checked today": the verification date becomes today."""
    return _run_edit(lambda session: edit.mark_verified(session, _org_id_or_404(org_id), current_viewer()),
                     lambda session, _none: jsonify({
                         "id": org_id, "verified_at": edit.organization_document(session, org_id)["verified_at"]}))


@bp.get("/registry/organizations/<int:org_id>/history")
@staff_api()
@bp.input(s.HistoryQuery, location="query", arg_name="query")
@bp.output(s.HistoryOut)
@bp.doc(responses=STAFF_ERRORS, security="BearerAuth")
def registry_history(org_id: int, query):
    """Every recorded change of the organization, newest first (who, when, which field, old and new value)."""
    _readable_document(org_id)
    rows = history(get_session(), org_id, limit=query["limit"], before_id=query.get("before"))
    return jsonify({"results": [{**r, "at": r["at"].isoformat()} for r in rows]})


@_editing("POST", "/registry/changes/<int:change_id>/revert", s.DocumentOut, s.VersionIn)
def registry_revert(change_id: int, body):
    """Set the field of one change back (recorded as a new change); `version` is the organization's."""
    return _run_edit(lambda session: edit.revert_change(session, change_id, body["version"], current_viewer()),
                     lambda session, _version: _document_answer(
                         session, change_by_id(session, change_id)["organization_id"]))


@bp.get("/registry/stale")
@staff_api()
@bp.input(s.StaleQuery, location="query", arg_name="query")
@bp.output(s.StaleOut)
@bp.doc(responses=STAFF_ERRORS, security="BearerAuth")
def registry_stale(query):
    """Organizations not checked for `days` days (180 by default), of a region or of all the viewer may read."""
    viewer = current_viewer()
    region = _region_param(query.get("region"))
    if region:
        require_region_access(viewer, region)
        regions = [region]
    else:
        regions = readable_regions(viewer)
    return jsonify({"results": edit.stale_organizations(get_session(), regions, query["days"])})
