"""The curators' registry pages (issue 7): `/curate` — the list of organizations, the editor with its map, the
conflict page, the history with one-click revert, spreadsheet import and export, and the families' problem reports.

Curators see and edit only their regions (checked on every request, per organization), admins everything;
dispatchers get 403 and the public goes to sign-in (auth/policy.py). The writing itself is registry/edit.py and
exchange/; the views here parse, call one of those, and render."""
from flask import Blueprint

bp = Blueprint("curate", __name__, url_prefix="/curate")

from . import editor, reports, routes, spreadsheets  # noqa: E402,F401  (registers the views)
