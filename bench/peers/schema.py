"""The peers' table in a bench database: schema `bench_peers`, made by the bench only.

`bench_peers.place` holds every row the nearest-help question ranks — the searchable, located (not online)
service-at-location rows — the way the peers store a place: its id, its kind of help and float8 latitude and
longitude columns. A confidential place stands at its public point (migration 0015): the question every approach
answers is the anonymous API's, which may not rank such a place by its door. Indexes, each as its project has it:

  ix_place_lat_lon      B-tree (latitude, longitude): Ohana API's `add_index :locations, [:latitude, :longitude]`
  ix_place_earth        GiST (ll_to_earth(latitude, longitude)): earthdistance's documented index (Food Oasis itself
                        has none: its schema indexes only primary keys)

`bench_peers.knn_place` holds the same rows for the kinds the requests ask, with one partial GiST index per kind
on the point as geography (`ix_knn_geog_<kind>`): the bare KNN on an index that holds one kind only (the floor's
`ix_sal_type_geog` mixes the kinds, and its inner pages cannot prune by kind), to show what the floor could be.
It is a table apart so that the peers' queries cannot use those indexes to read one kind only (a planner given
the kind as a value would), which the peers' own schemas do not allow.

The kind is a column of the same table (Ohana joins services and categories, Food Oasis a category table): that
spares the peers a join and favours them. The table is rebuilt when the service's rows change (count and a
checksum of ids), and when SCHEMA_VERSION changes.
"""
from __future__ import annotations

import re
import time

import psycopg

SCHEMA_VERSION = "2"  # 2: confidential rows at their public point

_BUILD = """
DROP SCHEMA IF EXISTS bench_peers CASCADE;
CREATE SCHEMA bench_peers;
CREATE EXTENSION IF NOT EXISTS cube;
CREATE EXTENSION IF NOT EXISTS earthdistance;
CREATE TABLE bench_peers.place AS
  SELECT sal.id, sal.type_code, ST_Y(coalesce(sal.public_geog, sal.geog)::geometry)::float8 AS latitude,
         ST_X(coalesce(sal.public_geog, sal.geog)::geometry)::float8 AS longitude
  FROM service_at_location sal
  WHERE sal.searchable AND sal.delivery <> 'online'
  ORDER BY sal.id;
ALTER TABLE bench_peers.place ADD PRIMARY KEY (id);
CREATE INDEX ix_place_lat_lon ON bench_peers.place (latitude, longitude);
CREATE INDEX ix_place_earth ON bench_peers.place USING gist (ll_to_earth(latitude, longitude));
CREATE TABLE bench_peers.built (version text, rows bigint, fingerprint bigint, seconds float8, built_at timestamptz);
"""

_SOURCE_STATE = """
SELECT count(*), coalesce(sum(id), 0) FROM service_at_location WHERE searchable AND delivery <> 'online'
"""


GEOG = "CAST(ST_SetSRID(ST_MakePoint(longitude, latitude), 4326) AS geography)"
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def ensure_peer_tables(dsn: str, log=print, kinds: tuple[str, ...] = ()) -> dict:
    """Make (or reuse) bench_peers.place and its indexes, and bench_peers.knn_place for `kinds`; returns rows,
    sizes and whether it was built now."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext('bench_peers'))")
        try:
            rows, fingerprint = conn.execute(_SOURCE_STATE).fetchone()
            built = None
            if conn.execute("SELECT to_regclass('bench_peers.built')").fetchone()[0]:
                built = conn.execute("SELECT version, rows, fingerprint FROM bench_peers.built").fetchone()
            created = built != (SCHEMA_VERSION, rows, fingerprint)
            if created:
                log(f"[peers] building bench_peers.place from {rows:,} located searchable rows ...")
                t0 = time.perf_counter()
                with conn.transaction():
                    conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
                    for statement in (s.strip() for s in _BUILD.split(";\n") if s.strip()):
                        conn.execute(statement)
                    seconds = time.perf_counter() - t0
                    conn.execute("INSERT INTO bench_peers.built VALUES (%s, %s, %s, %s, now())",
                                  (SCHEMA_VERSION, rows, fingerprint, seconds))
                conn.execute("VACUUM ANALYZE bench_peers.place")
                log(f"[peers] built in {time.perf_counter() - t0:.1f} s")
            wanted = sorted(set(kinds))
            have = sorted(r[0].removeprefix("ix_knn_geog_") for r in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'bench_peers' AND tablename = 'knn_place'"
                " AND indexname LIKE 'ix_knn_geog_%'").fetchall())
            if created or have != wanted:
                t0 = time.perf_counter()
                with conn.transaction():
                    conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
                    conn.execute("DROP TABLE IF EXISTS bench_peers.knn_place")
                    conn.execute("CREATE TABLE bench_peers.knn_place AS SELECT * FROM bench_peers.place"
                                 " WHERE type_code = ANY(%s) ORDER BY id", (wanted,))
                    for kind in wanted:
                        if not _KIND.match(kind):
                            raise ValueError(f"not a kind of help: {kind!r}")
                        conn.execute(f"CREATE INDEX ix_knn_geog_{kind} ON bench_peers.knn_place USING gist (({GEOG}))"
                                     f" WHERE type_code = '{kind}'")
                conn.execute("VACUUM ANALYZE bench_peers.knn_place")
                log(f"[peers] bench_peers.knn_place ({', '.join(wanted)}) in {time.perf_counter() - t0:.1f} s")
            sizes = dict(conn.execute(
                "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'bench_peers' AND c.relkind IN ('r', 'i')").fetchall())
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('bench_peers'))")
    return {"rows": rows, "created": created, "relation_bytes": sizes, "total_bytes": sum(sizes.values())}
