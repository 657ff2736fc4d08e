"""The dispatch console for phone consultants (issue 6): `/dispatch` (one keyboard-first screen), its JSON calls
under `/dispatch/api/`, the printable referral card and the gaps report from the anonymous request log.
Staff only (auth/policy.py): pages send the public to sign-in, the JSON calls answer 401."""
from flask import Blueprint

bp = Blueprint("dispatch", __name__, url_prefix="/dispatch")

from . import routes  # noqa: E402,F401  (registers the views)
