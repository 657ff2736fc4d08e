"""The public map's precomputed answer: every published location at its public point, and counts on fixed grids.

The map (search/map.py) asks two things of a visible box: which published locations are in it, and, when there are
too many to draw, how many there are per grid cell. Computed from the registry on every request this cost a scan
of every location in a widened box (confidential places are filtered by their public point, so the index
envelope had to grow by a 5 km cell for everyone) and, for wide views, of the whole table.

- `map_point`: one row per published location (a searchable service there: service active, organization
  published, location active; see 0008) at its PUBLIC point — the exact point, or for a confidential location the
  centre of its 5 km cell (views.snap_point, as `rm_public_lat`/`rm_public_lon` here) — with the sorted kinds of
  help offered there and what the map shows of it (organization name, town, flags), so that a view's points are
  one index scan. The exact point, name and address of a confidential location are never copied here.
- `map_grid_cell`: per stored grid size (`map_grid_level`: every other size search/map.py grid_size can choose;
  the map sums 2 x 2 cells for the others) and cell, one row for all its points (kinds '{}') and one per set of
  kinds offered together (a filter on kinds sums the sets that meet it, so a location is counted once whatever it
  offers), with how many points and the sums of their coordinates in nanodegrees (integers: adding and removing
  the same point cancels exactly, the mean never drifts).

Kept exact by triggers. Statement-level triggers on service_at_location (whose trigger-maintained copies already
carry service.active, organization.status, location.active and the kind), on location (point, flags, activity,
organization, settlement), organization (name, synthetic) and settlement (name) note the touched locations in
`map_dirty`; at COMMIT a deferred constraint trigger
(on `map_flush`, queued once per transaction) recomputes those locations and applies the differences to every
grid, under one transaction-level advisory lock: flushes run one at a time, each sees the ones before it (READ
COMMITTED), and the shared coarse cells are never locked in two orders (no deadlocks). A bulk import pays once,
at commit; one that touches more than half the map rebuilds it. TRUNCATE of the registry empties the map tables.
`rm_map_rebuild()` recomputes everything from the registry (each power-of-two grid from the next finer one).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# search/map.py STORED_SIZES: the confidential cell (5 km of latitude), then every other power of two from 1/16 to
# 16 degrees (the map reads 1/8, 1/2, 2, 8 and 32 as 2 x 2 cells of these: half the writes of storing all eleven).
# repr() keeps the exact binary value, so the lookup by Python's float matches.
STORED_SIZES = [5.0 / 111.32] + [2.0 ** k for k in range(-4, 5, 2)]

UPGRADE = r"""
-- The public point of a location: views.snap_point without its rounding (same float8 arithmetic).
CREATE FUNCTION rm_public_lat(lat float8, confidential boolean) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN confidential
    THEN (floor(lat / (5::float8 / 111.32::float8)) + 0.5) * (5::float8 / 111.32::float8) ELSE lat END
$$;
CREATE FUNCTION rm_public_lon(lat float8, lon float8, confidential boolean) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN confidential THEN
    (floor(lon / (5::float8 / (111.32::float8 * greatest(cos(radians(rm_public_lat(lat, true))), 0.05::float8))))
     + 0.5) * (5::float8 / (111.32::float8 * greatest(cos(radians(rm_public_lat(lat, true))), 0.05::float8)))
  ELSE lon END
$$;
-- Degrees as integer nanodegrees, for sums that cancel exactly.
CREATE FUNCTION rm_nano(deg float8) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT round(deg * 1e9::float8)::bigint
$$;

CREATE TABLE map_grid_level (
  level     smallint PRIMARY KEY,
  cell_deg  float8 NOT NULL UNIQUE
);

CREATE TABLE map_point (
  location_id        integer PRIMARY KEY,  -- no foreign key: a deleted location's row waits for the flush
  organization_id    integer NOT NULL,
  lat                float8 NOT NULL,      -- the public point
  lon                float8 NOT NULL,
  kinds              text[] NOT NULL,      -- sorted, distinct, not empty
  -- What the map shows of it, so that a view's points are one index scan (copies, kept like the rest).
  confidential       boolean NOT NULL,
  approximate        boolean NOT NULL,
  organization_name  text NOT NULL,
  is_synthetic       boolean NOT NULL,
  settlement_id      integer,
  settlement_name    text,
  geom               geometry(Point, 4326) NOT NULL
);
-- The visible box (search/map.py); the exact test is on lat/lon, the index boxes are float4.
CREATE INDEX ix_map_point_geom ON map_point USING gist (geom);

CREATE TABLE map_grid_cell (
  level      smallint NOT NULL,  -- map_grid_level (no foreign key: its check would lock a level row per new cell)
  cx         integer NOT NULL,   -- floor(lon / cell_deg)
  cy         integer NOT NULL,   -- floor(lat / cell_deg)
  kinds      text[] NOT NULL,    -- '{}': every point of the cell; else the points offering exactly these kinds
  locations  integer NOT NULL,
  sum_lat    bigint NOT NULL,    -- nanodegrees (rm_nano)
  sum_lon    bigint NOT NULL,
  PRIMARY KEY (level, cx, cy, kinds)
) WITH (fillfactor = 70);  -- the counts change in place (HOT updates: no index entries per flush)
-- A view without a filter reads only the cells' totals.
CREATE INDEX ix_map_grid_cell_all ON map_grid_cell (level, cx, cy) WHERE kinds = '{}';

-- Locations touched by the current transaction (rows live only until its flush) and the flush's queue entry.
CREATE UNLOGGED TABLE map_dirty (
  txid         bigint NOT NULL DEFAULT txid_current(),
  location_id  integer NOT NULL,
  PRIMARY KEY (txid, location_id)
);
CREATE UNLOGGED TABLE map_flush (
  txid  bigint PRIMARY KEY DEFAULT txid_current()
);

-- What map_point should hold.
CREATE VIEW map_point_due AS
  SELECT l.id AS location_id, l.organization_id,
         rm_public_lat(ST_Y(l.geog::geometry), l.confidential) AS lat,
         rm_public_lon(ST_Y(l.geog::geometry), ST_X(l.geog::geometry), l.confidential) AS lon, k.kinds,
         l.confidential, l.approximate, o.name AS organization_name, o.is_synthetic, l.settlement_id,
         st.name_ru AS settlement_name
  FROM location l
  CROSS JOIN LATERAL (SELECT array_agg(DISTINCT sal.type_code ORDER BY sal.type_code) AS kinds
                      FROM service_at_location sal WHERE sal.location_id = l.id AND sal.searchable) k
  JOIN organization o ON o.id = l.organization_id
  LEFT JOIN settlement st ON st.id = l.settlement_id
  WHERE k.kinds IS NOT NULL;

-- Recompute the map points of `ids` and move their counts on every grid.
CREATE FUNCTION rm_map_apply(ids integer[]) RETURNS void LANGUAGE plpgsql SET work_mem = '64MB' AS $$
DECLARE
  emptied map_grid_cell[];
BEGIN
  WITH due AS MATERIALIZED (SELECT * FROM map_point_due WHERE location_id = ANY(ids)),
  was AS MATERIALIZED (SELECT location_id, lat, lon, kinds FROM map_point WHERE location_id = ANY(ids)),
  delta AS (
    SELECT g.level, floor(x.lon / g.cell_deg)::int AS cx, floor(x.lat / g.cell_deg)::int AS cy, r.kinds,
           sum(x.n)::int AS n, sum(x.n * rm_nano(x.lat)) AS lat, sum(x.n * rm_nano(x.lon)) AS lon
    FROM (SELECT 1 AS n, lat, lon, kinds FROM due UNION ALL SELECT -1, lat, lon, kinds FROM was) x
    CROSS JOIN LATERAL (VALUES ('{}'::text[]), (x.kinds)) r (kinds)
    CROSS JOIN map_grid_level g
    GROUP BY 1, 2, 3, 4
    HAVING sum(x.n) <> 0 OR sum(x.n * rm_nano(x.lat)) <> 0 OR sum(x.n * rm_nano(x.lon)) <> 0),
  counted AS (
    INSERT INTO map_grid_cell AS c (level, cx, cy, kinds, locations, sum_lat, sum_lon)
    SELECT level, cx, cy, kinds, n, lat, lon FROM delta ORDER BY level, cx, cy, kinds
    ON CONFLICT (level, cx, cy, kinds) DO UPDATE
      SET locations = c.locations + excluded.locations, sum_lat = c.sum_lat + excluded.sum_lat,
          sum_lon = c.sum_lon + excluded.sum_lon
    RETURNING c.*),
  unpublished AS (
    DELETE FROM map_point p WHERE p.location_id = ANY(ids)
      AND NOT EXISTS (SELECT 1 FROM due WHERE due.location_id = p.location_id)),
  published AS (
    INSERT INTO map_point AS p
    SELECT *, ST_SetSRID(ST_MakePoint(lon, lat), 4326) FROM due
    ON CONFLICT (location_id) DO UPDATE
      SET organization_id = excluded.organization_id, lat = excluded.lat, lon = excluded.lon,
          kinds = excluded.kinds, confidential = excluded.confidential, approximate = excluded.approximate,
          organization_name = excluded.organization_name, is_synthetic = excluded.is_synthetic,
          settlement_id = excluded.settlement_id, settlement_name = excluded.settlement_name, geom = excluded.geom)
  SELECT array_agg(ROW(level, cx, cy, kinds, locations, sum_lat, sum_lon)::map_grid_cell) INTO emptied
  FROM counted WHERE locations = 0;
  IF emptied IS NOT NULL THEN
    DELETE FROM map_grid_cell c USING unnest(emptied) e
    WHERE (c.level, c.cx, c.cy, c.kinds) = (e.level, e.cx, e.cy, e.kinds) AND c.locations = 0;
  END IF;
END $$;

-- Everything from the registry: the points, then each grid from the points or, when a finer grid's cell divides
-- its cell by a power of two 2^k, from that grid (floor(floor(x / c) / 2^k) = floor(x / (2^k c))).
CREATE FUNCTION rm_map_rebuild() RETURNS void LANGUAGE plpgsql SET work_mem = '256MB' AS $$
DECLARE
  g record;
  finer smallint;
  shift integer;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('resourcemap.map_grid'));
  DELETE FROM map_point;
  DELETE FROM map_grid_cell;
  -- In geohash order: a view's points then lie on few pages (later changes append, a rebuild reorders).
  INSERT INTO map_point SELECT *, ST_SetSRID(ST_MakePoint(lon, lat), 4326) FROM map_point_due
  ORDER BY ST_GeoHash(ST_SetSRID(ST_MakePoint(lon, lat), 4326), 12);
  FOR g IN SELECT level, cell_deg FROM map_grid_level ORDER BY cell_deg LOOP
    SELECT f.level, p.k INTO finer, shift
    FROM map_grid_level f
    CROSS JOIN LATERAL (SELECT round(log(2.0, (g.cell_deg / f.cell_deg)::numeric))::int AS k) p
    WHERE f.cell_deg < g.cell_deg AND f.cell_deg * 2::float8 ^ p.k = g.cell_deg
    ORDER BY f.cell_deg DESC LIMIT 1;
    IF finer IS NOT NULL THEN
      INSERT INTO map_grid_cell (level, cx, cy, kinds, locations, sum_lat, sum_lon)
      SELECT g.level, c.cx >> shift, c.cy >> shift, c.kinds, sum(c.locations), sum(c.sum_lat), sum(c.sum_lon)
      FROM map_grid_cell c WHERE c.level = finer
      GROUP BY 2, 3, 4 ORDER BY 2, 3, 4;
    ELSE
      INSERT INTO map_grid_cell (level, cx, cy, kinds, locations, sum_lat, sum_lon)
      SELECT g.level, floor(p.lon / g.cell_deg)::int, floor(p.lat / g.cell_deg)::int, r.kinds, count(*),
             sum(rm_nano(p.lat)), sum(rm_nano(p.lon))
      FROM map_point p CROSS JOIN LATERAL (VALUES ('{}'::text[]), (p.kinds)) r (kinds)
      GROUP BY 2, 3, 4 ORDER BY 2, 3, 4;
    END IF;
  END LOOP;
END $$;

-- Statement-level: note the locations whose map point may have changed, and queue the flush once.
CREATE FUNCTION rm_map_mark() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  marked bigint;
BEGIN
  IF TG_TABLE_NAME = 'location' THEN
    INSERT INTO map_dirty (location_id)
    SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE (n.geog::text, n.confidential, n.active, n.organization_id, n.approximate, n.settlement_id)
          IS DISTINCT FROM (o.geog::text, o.confidential, o.active, o.organization_id, o.approximate, o.settlement_id)
    ON CONFLICT DO NOTHING;
  ELSIF TG_TABLE_NAME = 'organization' THEN
    INSERT INTO map_dirty (location_id)
    SELECT l.id FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN location l ON l.organization_id = n.id
    WHERE (n.name, n.is_synthetic) IS DISTINCT FROM (o.name, o.is_synthetic)
    ON CONFLICT DO NOTHING;
  ELSIF TG_TABLE_NAME = 'settlement' THEN
    INSERT INTO map_dirty (location_id)
    SELECT l.id FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN location l ON l.settlement_id = n.id
    WHERE n.name_ru IS DISTINCT FROM o.name_ru
    ON CONFLICT DO NOTHING;
  ELSIF TG_OP = 'INSERT' THEN
    INSERT INTO map_dirty (location_id) SELECT DISTINCT location_id FROM new_rows WHERE searchable
    ON CONFLICT DO NOTHING;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO map_dirty (location_id) SELECT DISTINCT location_id FROM old_rows WHERE searchable
    ON CONFLICT DO NOTHING;
  ELSE
    INSERT INTO map_dirty (location_id)
    SELECT DISTINCT unnest(ARRAY[o.location_id, n.location_id]) FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE (o.searchable OR n.searchable)
      AND (o.searchable, o.type_code, o.location_id) IS DISTINCT FROM (n.searchable, n.type_code, n.location_id)
    ON CONFLICT DO NOTHING;
  END IF;
  GET DIAGNOSTICS marked = ROW_COUNT;
  IF marked > 0 THEN
    INSERT INTO map_flush DEFAULT VALUES ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$;

-- At commit (deferred), once per transaction.
CREATE FUNCTION rm_map_flush() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ids integer[];
  plans text := current_setting('plan_cache_mode');
BEGIN
  DELETE FROM map_flush WHERE txid = txid_current();
  WITH done AS (DELETE FROM map_dirty WHERE txid = txid_current() RETURNING location_id)
  SELECT array_agg(location_id ORDER BY location_id) INTO ids FROM done;
  IF ids IS NULL THEN
    RETURN NULL;
  END IF;
  -- One flush at a time until commit: the next statement's snapshot holds every earlier flush.
  PERFORM pg_advisory_xact_lock(hashtext('resourcemap.map_grid'));
  IF cardinality(ids) > 1000 AND cardinality(ids) * 2 > (SELECT count(*) FROM map_point) THEN
    PERFORM rm_map_rebuild();  -- e.g. a first bulk load: cheaper than a difference twice the map's size
  ELSE
    -- A save touches a few locations: reuse the session's plan of rm_map_apply (planning it costs more than
    -- running it); a batch gets a plan for its size.
    PERFORM set_config('plan_cache_mode',
                       CASE WHEN cardinality(ids) <= 200 THEN 'force_generic_plan' ELSE 'force_custom_plan' END, true);
    PERFORM rm_map_apply(ids);
    PERFORM set_config('plan_cache_mode', plans, true);
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION rm_map_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE map_point, map_grid_cell;
  DELETE FROM map_dirty;  -- not TRUNCATE: map_flush may have a queued (deferred) trigger event
  DELETE FROM map_flush;
  RETURN NULL;
END $$;

CREATE TRIGGER sal_map_insert AFTER INSERT ON service_at_location REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rm_map_mark();
CREATE TRIGGER sal_map_update AFTER UPDATE ON service_at_location
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_map_mark();
CREATE TRIGGER sal_map_delete AFTER DELETE ON service_at_location REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rm_map_mark();
CREATE TRIGGER location_map_update AFTER UPDATE ON location
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_map_mark();
CREATE TRIGGER organization_map_update AFTER UPDATE ON organization
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_map_mark();
CREATE TRIGGER settlement_map_update AFTER UPDATE ON settlement
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_map_mark();
-- TRUNCATE of location, service or organization must cascade to service_at_location, so this one is enough.
CREATE TRIGGER sal_map_truncate AFTER TRUNCATE ON service_at_location
  FOR EACH STATEMENT EXECUTE FUNCTION rm_map_forget();
CREATE CONSTRAINT TRIGGER map_flush_at_commit AFTER INSERT ON map_flush DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION rm_map_flush();
"""

DOWNGRADE = r"""
DROP TRIGGER IF EXISTS sal_map_insert ON service_at_location;
DROP TRIGGER IF EXISTS sal_map_update ON service_at_location;
DROP TRIGGER IF EXISTS sal_map_delete ON service_at_location;
DROP TRIGGER IF EXISTS sal_map_truncate ON service_at_location;
DROP TRIGGER IF EXISTS location_map_update ON location;
DROP TRIGGER IF EXISTS organization_map_update ON organization;
DROP TRIGGER IF EXISTS settlement_map_update ON settlement;
DROP TABLE IF EXISTS map_flush, map_dirty, map_grid_cell, map_point, map_grid_level CASCADE;
DROP VIEW IF EXISTS map_point_due;
DROP FUNCTION IF EXISTS rm_map_mark, rm_map_flush, rm_map_forget, rm_map_apply, rm_map_rebuild, rm_nano,
  rm_public_lon, rm_public_lat;
"""


def upgrade() -> None:
    op.execute(UPGRADE)
    levels = ", ".join(f"({level}, {cell!r})" for level, cell in enumerate(STORED_SIZES))
    op.execute(f"INSERT INTO map_grid_level (level, cell_deg) VALUES {levels}")
    op.execute("SELECT rm_map_rebuild()")
    op.execute("ANALYZE map_grid_level, map_point, map_grid_cell")


def downgrade() -> None:
    op.execute(DOWNGRADE)
