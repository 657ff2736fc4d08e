"""Who is asking: staff accounts, sign-in and sign-out, API tokens, roles and the audit log."""
from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import routes  # noqa: E402,F401
