"""The peers of bench/suite.py: other ways to answer "the 10 nearest services of this kind to this point",
each on the same PostgreSQL and the same data as the service itself.

  postgis.py    the floor: the bare PostGIS KNN query; the same on a per-kind geography index (what the floor could
                be); the planar per-kind KNN, for reference
  ohana.py      Ohana API (codeforamerica/ohana-api): float latitude/longitude with a B-tree index, the geocoder
                gem's bounding box and haversine ORDER BY, bounded by a radius in miles
  foodoasis.py  Food Oasis (hackforla/food-oasis): the earthdistance `<@>` point operator, no spatial index; and
                earthdistance's own indexed form (GiST on ll_to_earth, earth_box) for comparison
  dataframe.py  what a data scientist writes: geopandas/shapely STRtree in Web Mercator, data in memory
  exact.py      the exact answer (pyproj.Geod on the WGS84 ellipsoid, brute force) and the verdicts
  agreement.py  every approach's answers to a sample of the requests, against the exact ones
  schema.py     the peers' own tables (schema bench_peers), made in the bench database only, never by the app's
                migrations
  load.py       throughput under concurrency: wrk (HTTP), pgbench (SQL), forked processes (in memory)
  hotpaths.py   the other hot paths: settlement suggestions, the map's bbox, the organization page
  report.py     Markdown tables and the growth plot
"""
