"""An attacker who wants the door of a confidential place (a crisis apartment), with only what the service answers.

Each attack asks one public route many times and estimates the place's point from the answers, as the hostile probe
of issue 17 did: distances from many origins (trilateration), the `within_km` flip (bisection of the radius at which
the place enters the answer), and box halving on the organizations API and on the map layer, and the distances
printed on the public page. `get(url) -> (status, text)` is the caller's client (anonymous, or a dispatcher's).

Distances are compared on the WGS84 spheroid with pyproj (independent of PostGIS); the estimator is a least-squares
fit on a local plane (equirectangular, exact to well under 10 m over these few kilometres).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
from pyproj import Geod

GEOD = Geod(ellps="WGS84")
KM_PER_DEG = 111.32

Get = Callable[[str], tuple[int, str]]


@dataclass
class Estimate:
    route: str
    requests: int
    lat: float
    lon: float

    def error_km(self, lat: float, lon: float) -> float:
        return km_between(self.lat, self.lon, lat, lon)


def km_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return GEOD.inv(lon1, lat1, lon2, lat2)[2] / 1000.0


def offset(lat: float, lon: float, north_km: float, east_km: float) -> tuple[float, float]:
    """A point north_km / east_km from (lat, lon) (geodesic, for origins and test points)."""
    lon1, lat1, _ = GEOD.fwd(lon, lat, 0.0, north_km * 1000.0)
    lon2, lat2, _ = GEOD.fwd(lon1, lat1, 90.0, east_km * 1000.0)
    return lat2, lon2


def ring(lat: float, lon: float, radii_km: tuple[float, ...], bearings: int) -> list[tuple[float, float]]:
    points = []
    for r in radii_km:
        for i in range(bearings):
            lon2, lat2, _ = GEOD.fwd(lon, lat, 360.0 * i / bearings + 7.0 * r, r * 1000.0)
            points.append((lat2, lon2))
    return points


def trilaterate(observations: list[tuple[float, float, float]], near: tuple[float, float]) -> tuple[float, float]:
    """The point whose distances to the origins best fit the observed ones (least squares): a 50 m grid over
    ±10 km around `near`, then a 5 m grid around the best cell. observations: (lat, lon, km)."""
    lat0, lon0 = near
    kx = KM_PER_DEG * math.cos(math.radians(lat0))
    ox = np.array([(lon - lon0) * kx for _, lon, _ in observations])
    oy = np.array([(lat - lat0) * KM_PER_DEG for lat, _, _ in observations])
    d = np.array([km for _, _, km in observations])

    def best(cx: float, cy: float, half: float, step: float) -> tuple[float, float]:
        xs = np.arange(cx - half, cx + half + step / 2, step)
        ys = np.arange(cy - half, cy + half + step / 2, step)
        gx, gy = np.meshgrid(xs, ys)
        px, py = gx.ravel()[:, None], gy.ravel()[:, None]
        cost = ((np.hypot(px - ox[None, :], py - oy[None, :]) - d[None, :]) ** 2).sum(axis=1)
        i = int(cost.argmin())
        return float(px[i, 0]), float(py[i, 0])

    x, y = best(0.0, 0.0, 10.0, 0.05)
    x, y = best(x, y, 0.1, 0.005)
    return lat0 + y / KM_PER_DEG, lon0 + x / kx


def _nearest(get: Get, lat: float, lon: float, extra: str = "") -> list[dict]:
    status, body = get(f"/api/v1/nearest?lat={lat:.6f}&lon={lon:.6f}&service=crisis_apartment&limit=10{extra}")
    assert status == 200, body[:300]
    return json.loads(body)["results"]


def _target(results: list[dict], location_id: int) -> dict | None:
    return next((r for r in results if r["location"]["id"] == location_id), None)


def by_distances(get: Get, location_id: int, published: tuple[float, float]) -> Estimate:
    """Distances to the place from 121 origins around its published point, trilaterated."""
    observations = []
    origins = [published] + ring(*published, radii_km=(1.0, 2.5, 4.0, 6.0, 9.0), bearings=24)
    for lat, lon in origins:
        row = _target(_nearest(get, lat, lon), location_id)
        if row is not None:
            observations.append((lat, lon, row["distance_km"]))
    return Estimate("nearest: distance_km", len(origins), *trilaterate(observations, published))


def by_within_flip(get: Get, location_id: int, published: tuple[float, float], steps: int = 13) -> Estimate:
    """From 8 origins, the radius at which the place enters the answer of `within_km` (bisection between 0 and
    16 km, to 2 m), trilaterated."""
    observations, requests = [], 0
    for lat, lon in ring(*published, radii_km=(4.0,), bearings=8):
        low, high = 0.0, 16.0
        for _ in range(steps):
            mid = (low + high) / 2
            row = _target(_nearest(get, lat, lon, f"&within_km={mid:.4f}"), location_id)
            requests += 1
            if row is not None and not row["beyond_radius"]:
                high = mid
            else:
                low = mid
        observations.append((lat, lon, (low + high) / 2))
    return Estimate("nearest: within_km flip", requests, *trilaterate(observations, published))


def _halve(holds: Callable[[tuple[float, float, float, float]], bool], box: tuple[float, float, float, float],
           steps: int) -> tuple[float, float, int]:
    """Box halving: keep the half that still holds the place, the longer side first. Returns the box's centre
    (lat, lon) and the requests made."""
    minlon, minlat, maxlon, maxlat = box
    requests = 0
    for _ in range(steps):
        requests += 1
        if (maxlon - minlon) * math.cos(math.radians(minlat)) >= maxlat - minlat:  # wider than tall: halve west-east
            mid = (minlon + maxlon) / 2
            west = (minlon, minlat, mid, maxlat)
            minlon, minlat, maxlon, maxlat = west if holds(west) else (mid, minlat, maxlon, maxlat)
        else:  # halve south-north
            mid = (minlat + maxlat) / 2
            south = (minlon, minlat, maxlon, mid)
            minlon, minlat, maxlon, maxlat = south if holds(south) else (minlon, mid, maxlon, maxlat)
    return (minlat + maxlat) / 2, (minlon + maxlon) / 2, requests


def _start_box(published: tuple[float, float]) -> tuple[float, float, float, float]:
    lat, lon = published
    return lon - 0.1, lat - 0.1, lon + 0.1, lat + 0.1


def _bbox(box) -> str:
    return ",".join(f"{v:.7f}" for v in box)


def by_organizations_bbox(get: Get, organization_id: int, published: tuple[float, float], steps: int = 40) -> Estimate:
    """Box halving on GET /api/v1/organizations?bbox=."""
    def holds(box) -> bool:
        status, body = get(f"/api/v1/organizations?bbox={_bbox(box)}&service=crisis_apartment")
        assert status == 200, body[:300]
        return any(f["id"] == organization_id for f in json.loads(body)["features"])

    lat, lon, requests = _halve(holds, _start_box(published), steps)
    return Estimate("organizations: bbox", requests, lat, lon)


def by_map_layer_bbox(get: Get, location_id: int, published: tuple[float, float], steps: int = 40) -> Estimate:
    """Box halving on GET /map-data/locations?bbox= (the public map's layer)."""
    def holds(box) -> bool:
        status, body = get(f"/map-data/locations?bbox={_bbox(box)}&service=crisis_apartment")
        assert status == 200, body[:300]
        data = json.loads(body)
        return data["mode"] == "points" and any(item["id"] == location_id for item in data["items"])

    lat, lon, requests = _halve(holds, _start_box(published), steps)
    return Estimate("map layer: bbox", requests, lat, lon)


_CARD = re.compile(r'<li class="card">(.*?)</li>', re.S)
_DISTANCE = re.compile(r'class="fact distance">(?:≈\s*)?([\d,.]+)\s*(км|м)<')


def by_public_page(get: Get, organization_id: int, published: tuple[float, float]) -> Estimate:
    """The distance printed on the card of the public page (no JavaScript) from 49 origins, trilaterated."""
    observations = []
    origins = [published] + ring(*published, radii_km=(1.5, 3.0, 5.0, 8.0), bearings=12)
    for lat, lon in origins:
        status, html = get(f"/?lat={lat:.6f}&lon={lon:.6f}&service=crisis_apartment")
        assert status == 200, html[:300]
        for card in _CARD.findall(html):
            if f"/org/{organization_id}" in card:
                value, unit = _DISTANCE.search(card).groups()
                km = float(value.replace(",", "."))
                observations.append((lat, lon, km / 1000.0 if unit == "м" else km))
    return Estimate("public page: distance", len(origins), *trilaterate(observations, published))
