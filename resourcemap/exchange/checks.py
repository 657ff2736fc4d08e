"""The spatial questions of an import's dry run, each one set-based over all rows at once:

- is each point in the region being imported (and if not: where is it, and would swapping latitude and longitude
  put it there);
- which settlement each new or moved location belongs to (by the settlement's name near the point, else the
  nearest one);
- which new locations look like a duplicate: an organization with a similar name (pg_trgm) within 200 m, in the
  registry or elsewhere in the same file.

The queries are data/import_checks.py's; here, which points to ask about and what the answers mean."""
from __future__ import annotations

import math

from sqlalchemy.orm import Session

from ..data import import_checks as data

REGION_TOLERANCE_M = 20000  # as the editor: a point this close to the region (simplified coasts) is in it
SETTLEMENT_RADIUS_M = 30000
DUPLICATE_RADIUS_M = 200
DUPLICATE_SIMILARITY = 0.5


def points_outside(session: Session, region_code: str, points: dict[int, tuple[float, float]]) -> dict[int, dict]:
    """For the points (index -> (lat, lon)) not in the region: {"here": the region they are in or None,
    "swapped": the region the swapped point is in or None}. Points within 20 km of the region count as in it."""
    if not points:
        return {}
    ids = list(points)
    inside_range = [i for i in ids if abs(points[i][0]) <= 90 and abs(points[i][1]) <= 180]
    candidates = data.points_outside_region(session, region_code, inside_range, (points[i][0] for i in inside_range),
                                            (points[i][1] for i in inside_range)) if inside_range else set()
    candidates |= set(ids) - set(inside_range)
    if not candidates:
        return {}
    order = sorted(candidates)
    rows = data.regions_of_points(session, order, (points[i][0] for i in order), (points[i][1] for i in order),
                                  REGION_TOLERANCE_M)
    out = {}
    for i, here, swapped in rows:
        lat, lon = points[i]
        valid = abs(lat) <= 90 and abs(lon) <= 180
        if valid and here == region_code:
            continue
        out[i] = {"here": here if valid else None, "swapped": swapped}
    return out


def settlements(session: Session, places: dict[int, tuple[float, float, str]]) -> dict[int, dict]:
    """index -> {"id", "timezone", "name_ru", "by_name": bool}: the settlement of that name nearest the point within
    30 km, else the nearest settlement within 30 km (missing when there is none)."""
    if not places:
        return {}
    ids = list(places)
    found = {row["i"]: row for row in data.settlements_by_name(
        session, ids, (places[i][0] for i in ids), (places[i][1] for i in ids), (places[i][2] for i in ids),
        SETTLEMENT_RADIUS_M)}
    rest = [i for i in ids if i not in found]
    if rest:
        found.update({row["i"]: row for row in data.nearest_settlements(
            session, rest, (places[i][0] for i in rest), (places[i][1] for i in rest), SETTLEMENT_RADIUS_M)})
    return found


def likely_duplicates(session: Session, places: list[tuple[int, int, int | None, float, float, str]]
                      ) -> tuple[dict[int, dict], dict[int, dict]]:
    """For new places (index, group, existing organization id or None, lat, lon, organization name): those near an
    entry of the registry with a similar name (index -> {id, name, metres}) and those near an earlier place of
    another group in the file with a similar name (index -> {other, metres})."""
    if not places:
        return {}, {}
    i, grp, org, lat, lon, name = zip(*places)
    cell_lat = 1.05 * DUPLICATE_RADIUS_M / 111_000  # a degree of latitude is at least 110.5 km
    widest = min(max(abs(x) for x in lat), 85.0)
    cell_lon = cell_lat / math.cos(math.radians(widest))  # wide enough at the file's most poleward point
    data.stage_new_places(session, {"i": i, "grp": grp, "org": org, "lat": lat, "lon": lon, "name": name},
                          cell_lat, cell_lon,
                          # the fewest metres a degree of longitude has anywhere in the file
                          111_320 * math.cos(math.radians(widest)))
    in_registry = {row["i"]: row for row in data.duplicates_in_registry(session, DUPLICATE_RADIUS_M,
                                                                        DUPLICATE_SIMILARITY)}
    in_file = {row["i"]: row for row in data.duplicates_in_file(session, DUPLICATE_RADIUS_M, DUPLICATE_SIMILARITY)}
    data.drop_new_places(session)
    return in_registry, in_file
