"""What the public map draws for a box: the published locations in it (data/map.py's `map_locations`) when at
most `points_limit` are there, else the counts per grid cell (`map_clusters`); and the one bbox rule of the map
and the API (`parse_bbox`). A confidential place is drawn, filtered and counted by its public point only."""
from __future__ import annotations

import math

from sqlalchemy.orm import Session

from ..data.map import CELL_SIZES, Box, map_clusters, map_locations


class BadBox(ValueError):
    """A bbox that the map and the API refuse; str() is the message they show."""


def parse_bbox(raw: str) -> Box:
    """The one bbox rule of the map layer and the API: "minlon,minlat,maxlon,maxlat", finite degrees within
    -180..180 and -90..90 with minlat <= maxlat; minlon > maxlon is a box across the antimeridian (data/map.py's
    boxes())."""
    parts = (raw or "").split(",")
    if len(parts) != 4:
        raise BadBox("bbox must be four numbers: minlon,minlat,maxlon,maxlat.")
    try:
        minlon, minlat, maxlon, maxlat = (float(p) for p in parts)
    except ValueError:
        raise BadBox("bbox must be four numbers: minlon,minlat,maxlon,maxlat.") from None
    if not all(math.isfinite(v) for v in (minlon, minlat, maxlon, maxlat)):
        raise BadBox("bbox must be finite numbers.")
    if not (-180 <= minlon <= 180 and -180 <= maxlon <= 180 and -90 <= minlat <= 90 and -90 <= maxlat <= 90):
        raise BadBox("bbox is outside -180..180, -90..90.")
    if minlat > maxlat:
        raise BadBox("bbox: minlat is greater than maxlat.")
    return minlon, minlat, maxlon, maxlat


def grid_size(bbox: Box, cells_across: int) -> float:
    """The grid (degrees, one of CELL_SIZES) for about `cells_across` cells across the wider side of the view:
    the nearest power of two, at least one confidential cell. Fixed sizes, so that counts can be precomputed."""
    minlon, minlat, maxlon, maxlat = bbox
    width = maxlon - minlon if minlon <= maxlon else maxlon - minlon + 360.0
    span = max(width, (maxlat - minlat) * 1.5, 1e-6) / cells_across
    return min(max(2.0 ** round(math.log2(span)), CELL_SIZES[0]), CELL_SIZES[-1])


def map_view(session: Session, bbox: Box, service_types: list[str] | None, *, points_limit: int,
             cells_across: int, wide_grid_deg: float) -> dict:
    """What the map draws for bbox: {"mode": "points", "rows": map_locations} when at most `points_limit`
    published locations are in it, else {"mode": "clusters", "cells": map_clusters}. The grid's sum over the cells
    meeting the box is an upper bound: at or below the limit the points are read; above it a view whose grid is
    `wide_grid_deg` or coarser gets the grid, a narrower one reads up to points_limit + 1 points to know."""
    cell = grid_size(bbox, cells_across)
    cells = map_clusters(session, bbox, service_types, cell)
    if sum(c["count"] for c in cells) <= points_limit:
        return {"mode": "points", "rows": map_locations(session, bbox, service_types)}
    if cell < wide_grid_deg:
        rows = map_locations(session, bbox, service_types, points_limit + 1)
        if len(rows) <= points_limit:
            return {"mode": "points", "rows": rows}
    return {"mode": "clusters", "cells": cells}
