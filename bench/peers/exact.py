"""The exact answer, computed apart from every approach: pyproj.Geod on the WGS84 ellipsoid, brute force over all
places of the kind, and the check of each approach's ten against it.

Brute force without measuring every pair on the ellipsoid: the great-circle distance on a sphere of the mean radius
is within 0.6 % of the ellipsoidal one, so every place whose spherical distance is within 2 % of the tenth smallest
spherical distance is measured with Geod; the ten smallest of those are the exact ten.

An approach's answer agrees when, rank by rank, its places are at the exact distances (to 1 cm: two services at the
same place are a tie, either may come first). Otherwise the difference is named:
  order    the same ten places in another order;
  sphere   rank by rank within 1 % of the exact distance: the ten nearest on a sphere, whose near-ties (and the
           tenth place) can differ from the ellipsoid's;
  radius   fewer than ten, each within 1 % of the exact distance of its rank, and the next exact place lies beyond
           the approach's radius (Ohana, Food Oasis: answers bounded by a radius);
  differ   anything else (a planar order keeps a place farther than the exact tenth, ...).
"""
from __future__ import annotations

import numpy as np

MEAN_RADIUS_M = 6371008.8
SPHERE_MARGIN = 1.02
TIE_M = 0.01
SPHERE_TOLERANCE = 1.01  # a sphere's distances are within 0.6 % of the ellipsoid's


class ExactNearest:
    def __init__(self, frame):
        from pyproj import Geod

        self.geod = Geod(ellps="WGS84")
        self._by_kind = {}
        for code, part in frame.groupby("type_code"):
            self._by_kind[str(code)] = (part["id"].to_numpy(), part["latitude"].to_numpy(),
                                        part["longitude"].to_numpy())
        ids = frame["id"].to_numpy()
        order = np.argsort(ids)
        self._ids, self._lat, self._lon = ids[order], frame["latitude"].to_numpy()[order], \
            frame["longitude"].to_numpy()[order]

    def top(self, lat: float, lon: float, kind: str, k: int = 10) -> list[tuple[int, float]]:
        """The k places of `kind` nearest to (lat, lon) on the ellipsoid: [(id, metres)], nearest first."""
        ids, lats, lons = self._by_kind.get(kind, (np.empty(0, dtype=np.int64), np.empty(0), np.empty(0)))
        if len(ids) == 0:
            return []
        phi1, phi2 = np.radians(lat), np.radians(lats)
        dphi, dlmb = phi2 - phi1, np.radians(lons - lon)
        a = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
        sphere = 2 * MEAN_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
        kth = np.partition(sphere, min(k, len(sphere)) - 1)[min(k, len(sphere)) - 1]
        near = np.nonzero(sphere <= kth * SPHERE_MARGIN + 1.0)[0]
        _, _, dist = self.geod.inv(np.full(len(near), lon), np.full(len(near), lat), lons[near], lats[near])
        order = np.lexsort((ids[near], dist))[:k]
        return [(int(ids[near][i]), float(dist[i])) for i in order]

    def distances(self, lat: float, lon: float, ids: list[int]) -> list[float]:
        """Ellipsoidal distances (m) from (lat, lon) to these places (ids of bench_peers.place)."""
        if not ids:
            return []
        pos = np.searchsorted(self._ids, ids)
        if np.any(pos >= len(self._ids)) or np.any(self._ids[np.minimum(pos, len(self._ids) - 1)] != ids):
            raise KeyError(f"unknown place ids among {ids[:10]}")
        _, _, dist = self.geod.inv(np.full(len(ids), lon), np.full(len(ids), lat), self._lon[pos], self._lat[pos])
        return [float(d) for d in dist]


def classify(got_d: list[float], want_d: list[float], radius_m: float | None) -> str:
    """How an answer (the exact distances of its places, in its order) compares with the exact ten (`want_d`):
    agree, order, sphere, radius or differ (see the module's docstring)."""
    near = [g <= w * SPHERE_TOLERANCE + TIE_M for g, w in zip(sorted(got_d), want_d)]
    if len(got_d) == len(want_d):
        if all(abs(a - b) <= TIE_M for a, b in zip(got_d, want_d)):
            return "agree"
        if all(abs(a - b) <= TIE_M for a, b in zip(sorted(got_d), want_d)):
            return "order"
        return "sphere" if all(near) else "differ"
    if len(got_d) < len(want_d) and radius_m is not None and all(near) \
            and want_d[len(got_d)] >= radius_m / SPHERE_TOLERANCE:
        return "radius"
    return "differ"


def api_comparable(results: list[dict], sal_ids: list[int]) -> tuple[list[int], int]:
    """The API's results that rank by their distance (not moved up by the outreach rule), and how many were moved:
    services that come to the family rank as if they stood at most 15 km away (OUTREACH_EQUIVALENT_KM), so they
    may precede nearer places; the others must be the exact nearest, in order."""
    kept = [sid for r, sid in zip(results, sal_ids) if not r["reaches_you"]]
    return kept, len(results) - len(kept)
