"""A location's point is one field of the history: `point` {"lat", "lon"}, no longer `lat` and `lon` apart.

The history (0008) recorded a location's point as two fields, so moving a marker wrote two rows (latitude,
longitude), and reverting one of them put the place at a point nobody had entered: the old latitude with the new
longitude. The image of a location row (rm_change_record_sql) now carries its point as one value, so a move is one
row with the old and the new point, shown and reverted as one.

Rows written before stay as they were: registry/history.py reads the `lat` and `lon` rows of one location in one
change set as one `point` change, so they too are shown and reverted as a pair (and a whole record's lat and lon as
its point). The downgrade records lat and lon apart again.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# rm_change_record_sql of 0008, the image of a location row left open (alias t).
_RECORD_SQL = r"""
CREATE OR REPLACE FUNCTION rm_change_record_sql(entity text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE entity
    WHEN 'organization' THEN $r$to_jsonb(t) - '{version,created_at,updated_at}'::text[]$r$
    WHEN 'location' THEN $r$LOCATION_IMAGE$r$
    WHEN 'service' THEN $r$to_jsonb(t) - 'capacity_updated_at'$r$
    WHEN 'service_at_location' THEN
      $r$jsonb_build_object('id', t.id, 'service_id', t.service_id, 'location_id', t.location_id)$r$
    WHEN 'service_area' THEN $r$jsonb_build_object('id', t.id, 'service_id', t.service_id, 'radius_km', t.radius_km,
        'region_code', t.region_code,
        'area', CASE WHEN t.radius_km IS NULL AND t.area IS NOT NULL THEN ST_AsGeoJSON(t.area)::jsonb END)$r$
    ELSE 'to_jsonb(t)' END
$$;
"""
_LAT_LON = "'lat', ST_Y(t.geog::geometry), 'lon', ST_X(t.geog::geometry)"
POINT_IMAGE = f"to_jsonb(t) - 'geog' || jsonb_build_object('point', jsonb_build_object({_LAT_LON}))"
LAT_LON_IMAGE = f"to_jsonb(t) - 'geog' || jsonb_build_object({_LAT_LON})"  # 0008

UPGRADE = _RECORD_SQL.replace("LOCATION_IMAGE", POINT_IMAGE)
DOWNGRADE = _RECORD_SQL.replace("LOCATION_IMAGE", LAT_LON_IMAGE)


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
