"""Region and district boundaries cut into small parts (ST_Subdivide) so that "which region / district holds this
point" is an index lookup on a few hundred vertices instead of a test against a whole oblast.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE region_part (
  region_code  varchar(8) NOT NULL REFERENCES region(code) ON DELETE CASCADE,
  geom         geometry(Polygon, 4326) NOT NULL
);
CREATE INDEX ix_region_part_geom ON region_part USING gist (geom);
CREATE INDEX ix_region_part_region_code ON region_part (region_code);

CREATE TABLE district_part (
  district_id  integer NOT NULL REFERENCES district(id) ON DELETE CASCADE,
  geom         geometry(Polygon, 4326) NOT NULL
);
CREATE INDEX ix_district_part_geom ON district_part USING gist (geom);
CREATE INDEX ix_district_part_district_id ON district_part (district_id);

INSERT INTO region_part SELECT code, (ST_Dump(ST_Subdivide(boundary, 128))).geom FROM region;
INSERT INTO district_part SELECT id, (ST_Dump(ST_Subdivide(boundary, 128))).geom FROM district;

-- The region holding a point; else, since boundaries are simplified along coasts and borders, the nearest region
-- within tolerance_m metres; else NULL.
CREATE FUNCTION rm_region_at(p geometry, tolerance_m float8 DEFAULT 5000) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(
    (SELECT rp.region_code FROM region_part rp WHERE ST_Intersects(rp.geom, p) LIMIT 1),
    (SELECT near.region_code
       FROM (SELECT rp.region_code, rp.geom FROM region_part rp ORDER BY rp.geom <-> p LIMIT 16) near
      WHERE ST_DWithin(near.geom::geography, p::geography, tolerance_m)
      ORDER BY ST_Distance(near.geom::geography, p::geography) LIMIT 1))
$$;

-- The district of `region` that holds a point, or NULL.
CREATE FUNCTION rm_district_at(p geometry, region text) RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT dp.district_id FROM district_part dp JOIN district d ON d.id = dp.district_id
  WHERE ST_Intersects(dp.geom, p) AND d.region_code = region
  ORDER BY dp.district_id LIMIT 1
$$;
"""

DOWNGRADE = """
DROP FUNCTION IF EXISTS rm_region_at, rm_district_at;
DROP TABLE IF EXISTS region_part, district_part;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
