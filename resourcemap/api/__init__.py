from apiflask import APIBlueprint
from flask import current_app, request

from ..extensions import limiter

bp = APIBlueprint("api", __name__, url_prefix="/api/v1", tag="API v1")
# Per client address; the figure is read from the app's config on each request (RESOURCEMAP_API_RATE_LIMIT).
# Health is not limited: monitors poll it, and it must answer also for an address that is over its limit.
limiter.limit(lambda: current_app.config["API_RATE_LIMIT"],
              exempt_when=lambda: request.endpoint == "api.health")(bp)

from . import routes, staff  # noqa: E402,F401  (routes register themselves on bp)
from . import coverage  # noqa: E402,F401  (GET /api/v1/coverage, issue 21)
