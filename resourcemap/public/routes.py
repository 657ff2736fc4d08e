"""The public pages. The full map for parents comes with issue 5; this is its front door."""
from flask import render_template

from . import bp


@bp.get("/")
def index():
    return render_template("index.html")
