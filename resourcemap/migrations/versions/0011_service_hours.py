"""Weekly hours as one value per service: `service.hours`, an int4multirange of minutes of the week.

Until now a service's hours were rows of `schedule` (one per day and interval, 5.5 per service on average), each
with its own history rows: a curator's change of hours read as a list of slot deletions and insertions, and a
100,000-row import wrote 550,000 schedule rows and as many history rows (half of its database time). Now:

- `service.hours` (registry/hours.py): minute of the week = (ISO weekday - 1) * 1440 + minutes after local midnight
  in the location's time zone; Monday 09:00–18:00 is [540,1080). NULL: hours not known. A change of hours is one
  field of the service in the history, with the old and new hours.
- `schedule` becomes a view giving the same columns as the table did (service_id, weekday, opens_minute,
  closes_minute), a range split at midnight, for the readers that list hours by day (exports, the console).
- `rm_open_at` reads the service's hours: open when they contain the local minute of the week.
Existing hours are carried over; the history rows of entity 'schedule' stay as they were.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""
from alembic import op

from resourcemap.migrations import ddl

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# The slots of service.hours, split at midnight (registry/hours.py `slots` does the same in Python).
_SLOTS = """
SELECT s.id AS service_id, d.day + 1 AS weekday, lower(p.slot) - d.day * 1440 AS opens_minute,
       upper(p.slot) - d.day * 1440 AS closes_minute
FROM service s
CROSS JOIN LATERAL unnest(s.hours) AS r(week_range)
CROSS JOIN LATERAL generate_series(lower(r.week_range) / 1440, (upper(r.week_range) - 1) / 1440) AS d(day)
CROSS JOIN LATERAL (SELECT r.week_range * int4range(d.day * 1440, (d.day + 1) * 1440) AS slot) p
WHERE s.hours IS NOT NULL
"""

UPGRADE = f"""
ALTER TABLE service ADD COLUMN hours int4multirange
  CONSTRAINT service_hours_in_week CHECK (NOT isempty(hours) AND hours <@ int4multirange(int4range(0, 10080)));

-- The same hours in their new form: not a curator's change, so not in the history.
SELECT set_config('resourcemap.history', 'off', true);
UPDATE service s SET hours = h.hours
FROM (SELECT service_id,
             range_agg(int4range((weekday - 1) * 1440 + opens_minute, (weekday - 1) * 1440 + closes_minute)) AS hours
      FROM schedule GROUP BY service_id) h
WHERE h.service_id = s.id;
SELECT set_config('resourcemap.history', 'on', true);

DROP TABLE schedule;
CREATE VIEW schedule AS {_SLOTS};
COMMENT ON VIEW schedule IS 'Weekly hours by day (service.hours split at midnight), as the table of 0001 had them';

-- The local minute of the week of a local time.
CREATE FUNCTION rm_week_minute(local timestamp) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ((extract(isodow FROM local) - 1) * 1440 + extract(hour FROM local) * 60 + extract(minute FROM local))::int
$$;

-- Is a service open at an instant, judged in its location's own time zone? NULL when it has no hours.
CREATE OR REPLACE FUNCTION rm_open_at(p_service_id integer, p_timezone text, p_at timestamptz) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT s.hours @> rm_week_minute(p_at AT TIME ZONE p_timezone) FROM service s WHERE s.id = p_service_id
$$;
"""

DOWNGRADE = ddl.OPEN_AT_BY_SCHEDULE + """
DROP FUNCTION rm_week_minute(timestamp);

CREATE TEMP TABLE schedule_slots ON COMMIT DROP AS SELECT * FROM schedule;
DROP VIEW schedule;
""" + ddl.SCHEDULE_TABLE + """
INSERT INTO schedule (service_id, weekday, opens_minute, closes_minute)
  SELECT service_id, weekday, opens_minute, closes_minute FROM schedule_slots ORDER BY service_id, weekday, opens_minute;
DROP TABLE schedule_slots;
""" + ddl.history_triggers("schedule") + """
ALTER TABLE service DROP COLUMN hours;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
