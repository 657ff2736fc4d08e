from apiflask import APIBlueprint
from flask import current_app

from ..extensions import limiter

bp = APIBlueprint("api", __name__, url_prefix="/api/v1", tag="API v1")
# Per client address; the figure is read from the app's config on each request (RESOURCEMAP_API_RATE_LIMIT).
limiter.limit(lambda: current_app.config["API_RATE_LIMIT"])(bp)

from . import routes, staff  # noqa: E402,F401  (routes register themselves on bp)
