"""What a data scientist would write: the places in a GeoDataFrame, projected to Web Mercator, a spatial index per
kind of help, and the ten nearest found in memory.

    frame = pandas.read_csv(COPY of bench_peers.place)           # once: id, kind, latitude, longitude
    gdf = GeoDataFrame(frame, geometry=points_from_xy(lon, lat), crs=4326).to_crs(3857)
    tree = gdf[gdf.type_code == kind].sindex                       # shapely STRtree, built once per kind
    tree.query(point, predicate="dwithin", distance=r)             # r = 2 km, x4 until ten are inside
    then the ten smallest planar distances among those

`geopandas.sjoin_nearest` and `STRtree.query_nearest` return only the nearest geometry (and its ties), not ten,
hence the widening `dwithin` query. Distances in EPSG:3857 are stretched by 1/cos(latitude), so the planar order
differs from the order on the ground when candidates lie at different latitudes (and is wrong across the
antimeridian, in Chukotka); the agreement check counts how often.
"""
from __future__ import annotations

import io

import numpy as np

MERCATOR = 3857
FIRST_RADIUS_M = 2_000.0
MAX_RADIUS_M = 40_000_000.0


def load_places(dsn: str, kinds: list[str]):
    """bench_peers.place rows of these kinds as a pandas DataFrame (id, type_code, latitude, longitude)."""
    import pandas as pd
    import psycopg

    buf = io.BytesIO()
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        query = ("COPY (SELECT id, type_code, latitude, longitude FROM bench_peers.place"
                 " WHERE type_code = ANY({kinds}) ORDER BY id) TO STDOUT WITH (FORMAT csv)")
        literal = "ARRAY[" + ",".join("'" + k.replace("'", "''") + "'" for k in kinds) + "]::text[]"
        with cur.copy(query.format(kinds=literal)) as copy:
            for block in copy:
                buf.write(block)
    buf.seek(0)
    return pd.read_csv(buf, names=["id", "type_code", "latitude", "longitude"],
                       dtype={"id": "int64", "type_code": "string", "latitude": "float64", "longitude": "float64"})


class DataFrameNearest:
    """Ten nearest per kind from in-memory STRtrees in EPSG:3857 (built once, queried per request)."""

    label = "data scientist: geopandas STRtree, EPSG:3857, in memory"

    def __init__(self, frame):
        import geopandas as gpd
        from pyproj import Transformer

        gdf = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["longitude"], frame["latitude"]),
                               crs=4326).to_crs(MERCATOR)
        self._to_mercator = Transformer.from_crs(4326, MERCATOR, always_xy=True)
        self._by_kind = {}
        for code, part in gdf.groupby("type_code"):
            part = part.reset_index(drop=True)
            part.sindex  # build the STRtree now, not on the first request
            self._by_kind[str(code)] = (part.sindex, part["id"].to_numpy(), part.geometry.x.to_numpy(),
                                        part.geometry.y.to_numpy())

    def nearest(self, lat: float, lon: float, kind: str, k: int = 10) -> list[int]:
        import shapely

        entry = self._by_kind.get(kind)
        if entry is None:
            return []
        tree, ids, xs, ys = entry
        x, y = self._to_mercator.transform(lon, lat)
        point = shapely.Point(x, y)
        radius = FIRST_RADIUS_M
        while True:
            hits = tree.query(point, predicate="dwithin", distance=radius)
            if len(hits) >= k or radius >= MAX_RADIUS_M:
                break
            radius *= 4
        d2 = (xs[hits] - x) ** 2 + (ys[hits] - y) ** 2
        order = np.lexsort((ids[hits], d2))[:k]
        return ids[hits][order].tolist()

    def ids(self, req: dict) -> list[int]:
        return self.nearest(req["lat"], req["lon"], req["types"][0])
