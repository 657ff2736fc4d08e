"""The coverage figures as a viewer may have them (the API and the /coverage page): the public gets aggregates per
district, region and country with the public rounding; staff get staff precision and, for the regions they study
(auth/policy.py coverage_regions), the worst-served settlements."""
from __future__ import annotations

from sqlalchemy import Engine

from ..auth.policy import Viewer, coverage_regions
from . import DEFAULT_THRESHOLDS_KM, figures, plain

MAX_THRESHOLDS = 5


def for_viewer(engine: Engine, viewer: Viewer, service: str, region: str | None,
               thresholds_km=DEFAULT_THRESHOLDS_KM) -> dict:
    """The figures of kind `service` (in `region` and its districts, else everywhere) as `viewer` may see them.
    ValueError for an unknown kind."""
    allowed = coverage_regions(viewer)  # a curator over every region: the worst served of their own
    body = figures(engine, service, region, thresholds_km, public=not viewer.is_staff, unserved_in=allowed).as_dict()
    body["unserved"] = [row for row in body["unserved"] if allowed is None or row["region_code"] in allowed]
    return plain(body)
