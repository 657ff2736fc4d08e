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

from resourcemap.migrations import ddl

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_LAT_LON = "'lat', ST_Y(t.geog::geometry), 'lon', ST_X(t.geog::geometry)"
POINT_IMAGE = f"to_jsonb(t) - 'geog' || jsonb_build_object('point', jsonb_build_object({_LAT_LON}))"
LAT_LON_IMAGE = f"to_jsonb(t) - 'geog' || jsonb_build_object({_LAT_LON})"  # 0008

UPGRADE = ddl.change_record_function(POINT_IMAGE)
DOWNGRADE = ddl.change_record_function(LAT_LON_IMAGE)


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
