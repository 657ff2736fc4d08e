from apiflask import APIBlueprint

bp = APIBlueprint("api", __name__, url_prefix="/api/v1", tag="API v1")

from . import routes, staff  # noqa: E402,F401  (routes register themselves on bp)
