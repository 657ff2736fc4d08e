"""Open now from hours already read: `rm_hours_open(hours, timezone, at)` (issue 24).

`rm_open_at(service_id, timezone, at)` (0011) reads the service's row itself. A SQL function with a FROM is not
inlined: called for each listed service of a nearest-help answer it cost ~0.28 ms a row at 1M locations (the
statement's EXPLAIN ANALYZE from Moscow: 7.1 ms with it, 2.8 ms without). `rm_hours_open` is the same judgement on
hours the caller has joined already; a single expression, so the planner writes it into the query. `rm_open_at`
now calls it, so the rule is written once.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-08
"""
from alembic import op

revision = "0024"
down_revision = "0023"

UPGRADE = """
-- Are these weekly hours open at an instant, judged in this time zone? NULL when there are no hours.
CREATE FUNCTION rm_hours_open(hours int4multirange, timezone text, at timestamptz) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT hours @> rm_week_minute(at AT TIME ZONE timezone)
$$;

CREATE OR REPLACE FUNCTION rm_open_at(p_service_id integer, p_timezone text, p_at timestamptz) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT rm_hours_open(s.hours, p_timezone, p_at) FROM service s WHERE s.id = p_service_id
$$;
"""

# 0011's rm_open_at.
DOWNGRADE = """
CREATE OR REPLACE FUNCTION rm_open_at(p_service_id integer, p_timezone text, p_at timestamptz) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT s.hours @> rm_week_minute(p_at AT TIME ZONE p_timezone) FROM service s WHERE s.id = p_service_id
$$;

DROP FUNCTION rm_hours_open(int4multirange, text, timestamptz);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
