"""Coverage: how far every settlement is from the nearest published help of each kind (issue 21).

- `coverage`: per kind of help and settlement, the geodesic distance on the WGS84 spheroid to the nearest published
  service of that kind in the settlement's country, measured as nearest help measures (data/coverage.py): published
  is `service_at_location.searchable`; an outreach service whose radius or drawn area holds the settlement makes it
  0 (`reached`); online services never count. Confidential places count from their exact point (`confidential`
  says the nearest is one). NULL: the country has no such help. `public_distance_m` is the public's figure: the
  same with every confidential place at its public point (`public_geog`, 0015), so that nothing public rests on an
  exact point. `nearest_sal_id` and `public_sal_id` are the rows the figures rest on (the nearest, or the outreach
  row that reaches): when one changes or goes, the settlement is measured again. `reach_box` is a longitude/latitude
  box holding the geodesic circles through both (the public one widened by the distance between a public point
  and its exact one; the whole world when there is no such help; NULL when both are 0): a service that appears
  inside a settlement's circle may be nearer, and the GiST index finds those settlements from the service's point.
- `coverage_dirty`: what edits changed, noted by statement triggers on service_at_location (its copies carry the
  service's kind, delivery, activity, the organization's status and the location's point and activity) and on
  service_area (outreach radii and drawn areas); whole kinds after a TRUNCATE of the registry, a change of the
  settlements or a new kind. Drained after commit by data/coverage.py; each note also NOTIFYs
  `resourcemap_coverage` (delivered at commit) for a process that keeps the figures fresh.
- `coverage_state`: per kind, when the figures were last computed in full and last brought up to date.
- `coverage_figures`: per kind, the figures of every country, region and district at the default thresholds, as the
  public and as staff may see them, written by whoever brought the distances up to date (after its commit) and
  valid while `version` equals the kind's `coverage_state.updated_at`: a read of them (the page, the API; on a
  replica too) is one row, where computing them reads every settlement of the kind (seconds with the census).
- `rm_geodesic_box(g, r)`: the box of nearest help's bound (search/nearest.py), as a function.
- `rm_create_knn_index(code)` also makes two planar indexes of the kind for coverage: `ix_sal_cov_<code>`, its
  published rows that are not online, confidential ones included (nearest help's `ix_sal_knn_<code>` holds the
  online rows and not the confidential ones: a KNN scan of it for a kind that is mostly online, such as the
  hotlines, walked thousands of online rows per settlement; its condition is written `delivery IN ('on_site',
  'outreach')` so that nearest help's statements, which say `delivery <> 'online'`, keep their own indexes), and
  `ix_sal_reach_<code>`, its outreach rows (whether one comes to a settlement: the (type_code, geog) index of 0006
  prunes poorly by kind; measured with the census' 167k settlements and 100k synthetic locations, ~140 us a
  settlement, half with this index), and `ix_sal_hidden_<code>`, its confidential rows at their public point (the
  public's figures; 0015's `ix_sal_public_geog` holds every kind's, and a KNN scan of it for a kind walked the crisis
  apartments).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# 0015's rm_create_knn_index and the form 0021 gives it (with the confidential rows' index).
_KNN_0015 = """
CREATE OR REPLACE FUNCTION rm_create_knn_index(code text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON service_at_location USING gist ((geog::geometry))'
                 ' WHERE searchable AND type_code = %L AND NOT confidential', 'ix_sal_knn_' || code, code);
END $$;
"""
_KNN_0021 = """
CREATE OR REPLACE FUNCTION rm_create_knn_index(code text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON service_at_location USING gist ((geog::geometry))'
                 ' WHERE searchable AND type_code = %L AND NOT confidential', 'ix_sal_knn_' || code, code);
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON service_at_location USING gist ((geog::geometry))'
                 ' WHERE searchable AND type_code = %L AND delivery IN (''on_site'', ''outreach'')',
                 'ix_sal_cov_' || code, code);
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON service_at_location USING gist ((geog::geometry))'
                 ' WHERE searchable AND type_code = %L AND delivery = ''outreach''', 'ix_sal_reach_' || code, code);
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON service_at_location USING gist ((public_geog::geometry))'
                 ' WHERE searchable AND confidential AND type_code = %L AND delivery IN (''on_site'', ''outreach'')',
                 'ix_sal_hidden_' || code, code);
END $$;
"""

# Whole kinds to measure again (not queued twice).
_MARK_ALL = """
CREATE FUNCTION rm_coverage_mark_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO coverage_dirty (type_code, whole)
    SELECT t.code, true FROM taxonomy_term t
    WHERE NOT EXISTS (SELECT 1 FROM coverage_dirty d WHERE d.whole AND d.type_code = t.code);
  PERFORM pg_notify('resourcemap_coverage', '');
  RETURN NULL;
END $$;
"""

# service_at_location: the old rows (their settlements are measured again) and the new rows (a point, and the
# areas of an outreach row), of the rows that count (searchable, not online) and whose counted values changed.
_MARK_SAL = r"""
CREATE FUNCTION rm_coverage_mark_sal() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed text := '';
BEGIN
  IF TG_OP = 'UPDATE' THEN
    changed := ' AND EXISTS (SELECT 1 FROM old_rows o2 JOIN new_rows n2 ON n2.id = o2.id WHERE o2.id = %s.id'
               ' AND (o2.searchable, o2.type_code, o2.delivery, o2.geog::text, o2.confidential, o2.service_id)'
               ' IS DISTINCT FROM (n2.searchable, n2.type_code, n2.delivery, n2.geog::text, n2.confidential,'
               ' n2.service_id))';
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    EXECUTE 'INSERT INTO coverage_dirty (type_code, sal_id) SELECT o.type_code, o.id FROM old_rows o'
            ' WHERE o.searchable AND o.delivery <> ''online''' || format(changed, 'o');
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    EXECUTE 'INSERT INTO coverage_dirty (type_code, sal_id, point) SELECT n.type_code, n.id, n.geog FROM new_rows n'
            ' WHERE n.searchable AND n.delivery <> ''online''' || format(changed, 'n');
    EXECUTE 'INSERT INTO coverage_dirty (type_code, sal_id, point, reach_m, area)'
            ' SELECT n.type_code, n.id, n.geog, a.radius_km * 1000.0, CASE WHEN a.radius_km IS NULL THEN a.area END'
            ' FROM new_rows n JOIN service_area a ON a.service_id = n.service_id'
            ' WHERE n.searchable AND n.delivery = ''outreach'' AND (a.radius_km IS NOT NULL OR a.area IS NOT NULL)'
            || format(changed, 'n');
  END IF;
  PERFORM pg_notify('resourcemap_coverage', '');
  RETURN NULL;
END $$;
"""

# service_area: the outreach rows of the area's service, with the area (old and new).
_MARK_AREA = r"""
CREATE FUNCTION rm_coverage_mark_area() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY CASE TG_OP WHEN 'INSERT' THEN ARRAY['new_rows'] WHEN 'DELETE' THEN ARRAY['old_rows']
                                ELSE ARRAY['old_rows', 'new_rows'] END LOOP
    EXECUTE format('INSERT INTO coverage_dirty (type_code, sal_id, point, reach_m, area)'
                   ' SELECT sal.type_code, sal.id, sal.geog, a.radius_km * 1000.0,'
                   '        CASE WHEN a.radius_km IS NULL THEN a.area END'
                   ' FROM %I a JOIN service_at_location sal ON sal.service_id = a.service_id'
                   ' WHERE sal.searchable AND sal.delivery = ''outreach'''
                   '   AND (a.radius_km IS NOT NULL OR a.area IS NOT NULL)', t);
  END LOOP;
  PERFORM pg_notify('resourcemap_coverage', '');
  RETURN NULL;
END $$;
"""

_BOX = r"""
-- A longitude/latitude box holding every point within `r` metres (geodesic) of `g`: nearest help's bound
-- (search/nearest.py), the whole world for NULL, near a pole or across the antimeridian the full width. One
-- expression (no FROM), so that the planner inlines it into the statements that call it per row.
CREATE FUNCTION rm_geodesic_box(g geography, r float8) RETURNS geometry LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
      WHEN r IS NULL OR abs(ST_Y(CAST(g AS geometry))) + degrees(r * 1.01 / 6356752.0) >= 89.9
           OR sin(r * 1.01 / 6356752.0) >= cos(radians(ST_Y(CAST(g AS geometry)))) THEN
        ST_MakeEnvelope(-180, -90, 180, 90, 4326)
      WHEN abs(ST_X(CAST(g AS geometry)))
           + degrees(asin(sin(r * 1.01 / 6356752.0) / cos(radians(ST_Y(CAST(g AS geometry)))))) > 180 THEN
        ST_MakeEnvelope(-180, ST_Y(CAST(g AS geometry)) - degrees(r * 1.01 / 6356752.0),
                        180, ST_Y(CAST(g AS geometry)) + degrees(r * 1.01 / 6356752.0), 4326)
      ELSE ST_Expand(CAST(g AS geometry),
                     degrees(asin(sin(r * 1.01 / 6356752.0) / cos(radians(ST_Y(CAST(g AS geometry)))))),
                     degrees(r * 1.01 / 6356752.0))
    END
$$;
"""

UPGRADE = _BOX + r"""
CREATE TABLE coverage (
  type_code       text NOT NULL REFERENCES taxonomy_term (code) ON DELETE CASCADE ON UPDATE CASCADE,
  settlement_id   integer NOT NULL,                -- no foreign key (a check per row of a computation in full
                                                   -- costs a quarter of it): the figures join the settlements, a
                                                   -- computation in full forgets the settlements gone
  distance_m      float8,                          -- NULL: no such help in the settlement's country
  nearest_sal_id  integer,                         -- no foreign key: a deleted row's settlements wait for the drain
  confidential    boolean NOT NULL DEFAULT false,  -- the nearest is a confidential place
  reached         boolean NOT NULL DEFAULT false,  -- an outreach service comes to the settlement (distance 0)
  public_distance_m float8,                        -- the same, confidential places at their public point
  public_sal_id   integer,                         -- the row the public's figure rests on
  reach_box       geometry(Geometry, 4326),        -- holds the circles through both; NULL when both are 0
  PRIMARY KEY (type_code, settlement_id)
);
CREATE INDEX ix_coverage_nearest ON coverage (nearest_sal_id);
CREATE INDEX ix_coverage_public_nearest ON coverage (public_sal_id);
CREATE INDEX ix_coverage_reach_box ON coverage USING gist (type_code, reach_box) WHERE reach_box IS NOT NULL;

CREATE TABLE coverage_dirty (
  id         bigserial PRIMARY KEY,
  type_code  text NOT NULL,
  whole      boolean NOT NULL DEFAULT false,  -- every settlement
  sal_id     integer,                         -- the settlements whose figure rests on this row
  point      geography(Point, 4326),          -- a point where such help now is
  reach_m    float8,                          -- an outreach radius around `point`
  area       geography(Geometry, 4326)        -- a drawn outreach area
);

CREATE TABLE coverage_state (
  type_code     text PRIMARY KEY REFERENCES taxonomy_term (code) ON DELETE CASCADE ON UPDATE CASCADE,
  refreshed_at  timestamptz,  -- the last full computation
  updated_at    timestamptz   -- the last time edits were applied
);

CREATE TABLE coverage_figures (
  type_code  text NOT NULL REFERENCES taxonomy_term (code) ON DELETE CASCADE ON UPDATE CASCADE,
  public     boolean NOT NULL,
  version    timestamptz NOT NULL,  -- the kind's coverage_state.updated_at they were computed at
  body       jsonb NOT NULL,        -- {"thresholds_km", "country", "regions", "districts"} (resourcemap/coverage)
  PRIMARY KEY (type_code, public)
);
""" + _MARK_ALL + _MARK_SAL + _MARK_AREA + r"""
CREATE TRIGGER sal_coverage_insert AFTER INSERT ON service_at_location REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rm_coverage_mark_sal();
CREATE TRIGGER sal_coverage_update AFTER UPDATE ON service_at_location
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_coverage_mark_sal();
CREATE TRIGGER sal_coverage_delete AFTER DELETE ON service_at_location REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rm_coverage_mark_sal();
CREATE TRIGGER sal_coverage_truncate AFTER TRUNCATE ON service_at_location
  FOR EACH STATEMENT EXECUTE FUNCTION rm_coverage_mark_all();
CREATE TRIGGER service_area_coverage_insert AFTER INSERT ON service_area REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rm_coverage_mark_area();
CREATE TRIGGER service_area_coverage_update AFTER UPDATE ON service_area
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_coverage_mark_area();
CREATE TRIGGER service_area_coverage_delete AFTER DELETE ON service_area REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rm_coverage_mark_area();
CREATE TRIGGER settlement_coverage AFTER INSERT OR DELETE OR UPDATE OF geog, region_code ON settlement
  FOR EACH STATEMENT EXECUTE FUNCTION rm_coverage_mark_all();
CREATE TRIGGER taxonomy_term_coverage AFTER INSERT ON taxonomy_term
  FOR EACH STATEMENT EXECUTE FUNCTION rm_coverage_mark_all();

INSERT INTO coverage_dirty (type_code, whole) SELECT code, true FROM taxonomy_term;
""" + _KNN_0021 + r"""
SELECT rm_create_knn_index(code) FROM taxonomy_term;
ANALYZE service_at_location;
"""

DOWNGRADE = r"""
DO $$ DECLARE c text; BEGIN
  FOR c IN SELECT code FROM taxonomy_term LOOP
    EXECUTE format('DROP INDEX IF EXISTS %I, %I, %I', 'ix_sal_cov_' || c, 'ix_sal_reach_' || c,
                   'ix_sal_hidden_' || c);
  END LOOP; END $$;
""" + _KNN_0015 + r"""
DROP TRIGGER sal_coverage_insert ON service_at_location;
DROP TRIGGER sal_coverage_update ON service_at_location;
DROP TRIGGER sal_coverage_delete ON service_at_location;
DROP TRIGGER sal_coverage_truncate ON service_at_location;
DROP TRIGGER service_area_coverage_insert ON service_area;
DROP TRIGGER service_area_coverage_update ON service_area;
DROP TRIGGER service_area_coverage_delete ON service_area;
DROP TRIGGER settlement_coverage ON settlement;
DROP TRIGGER taxonomy_term_coverage ON taxonomy_term;
DROP FUNCTION rm_coverage_mark_sal, rm_coverage_mark_area, rm_coverage_mark_all, rm_geodesic_box;
DROP TABLE coverage, coverage_dirty, coverage_state, coverage_figures;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
