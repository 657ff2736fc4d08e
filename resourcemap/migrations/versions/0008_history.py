"""The curators' registry: field-level change history kept by triggers, deactivation of locations, external ids.

Every insert, update and delete of organization, location, service, service_at_location, phone, schedule and
service_area writes rows to `change`, whatever wrote it (the editor, the API, a spreadsheet import, psql). The
triggers are statement-level with transition tables, so a bulk INSERT ... SELECT of 10 000 rows costs one
INSERT ... SELECT into `change`, not 10 000 trigger calls:

- an insert is one row (field NULL, `new` = the whole record), a delete one row (`old` = the whole record);
- an update is one row per changed field, with `old` and `new` values as jsonb.

Who and why come from transaction-local settings that registry/history.py `as_actor` sets:
`resourcemap.actor_id`, `resourcemap.actor_email`, `resourcemap.note`, `resourcemap.change_set` (one id per user
action; the first trigger of a transaction draws one from `change_set_seq` when none is set).
`resourcemap.history = 'off'` (SET LOCAL) skips recording, for the synthetic demo generator only.

A location's point is recorded as `lat` and `lon` (the fields the editor shows), a service area's drawn polygon
as GeoJSON (a radius area is derived from the location and not recorded, its radius is), and of an organization
the bookkeeping columns version, created_at and updated_at are left out.

Nearest help: a deactivated location is no longer searchable (service_at_location.searchable now also needs
location.active; it was service.active and organization.status = 'published').

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""
from alembic import op

from resourcemap.migrations import ddl

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_CHANGE_TABLE = r"""
ALTER TABLE location ADD COLUMN active boolean NOT NULL DEFAULT true;
ALTER TABLE location ADD COLUMN external_id text UNIQUE;
ALTER TABLE service ADD COLUMN external_id text UNIQUE;
-- The per-region list of entries not checked for 180 days (registry/edit.py stale_organizations).
CREATE INDEX ix_organization_region_verified ON organization (region_code, verified_at);

CREATE SEQUENCE change_set_seq;

CREATE TABLE change (
  id               bigserial PRIMARY KEY,
  at               timestamptz NOT NULL DEFAULT now(),
  change_set       bigint NOT NULL,
  -- No foreign keys: the history outlives what it describes (accounts are disabled, phones deleted).
  account_id       integer,
  actor_email      text NOT NULL DEFAULT '',
  note             text NOT NULL DEFAULT '',
  organization_id  integer,
  entity           text NOT NULL CHECK (entity IN ('organization', 'location', 'service', 'service_at_location',
                                                   'phone', 'schedule', 'service_area')),
  entity_id        integer NOT NULL,
  field            text,
  old              jsonb,
  new              jsonb,
  op               text NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
  CHECK ((op = 'update') = (field IS NOT NULL))
);
-- An organization's history, newest first.
CREATE INDEX ix_change_organization_id ON change (organization_id, id);
CREATE INDEX ix_change_change_set ON change (change_set);

-- Who is changing the registry in this transaction, and the transaction's change set.
CREATE FUNCTION rm_change_context(OUT change_set bigint, OUT account_id integer, OUT actor_email text,
                                  OUT note text)
LANGUAGE plpgsql AS $$
DECLARE
  cs text := nullif(current_setting('resourcemap.change_set', true), '');
BEGIN
  IF cs IS NULL THEN
    cs := nextval('change_set_seq')::text;
    PERFORM set_config('resourcemap.change_set', cs, true);
  END IF;
  change_set := cs::bigint;
  account_id := nullif(current_setting('resourcemap.actor_id', true), '')::integer;
  actor_email := coalesce(current_setting('resourcemap.actor_email', true), '');
  note := coalesce(current_setting('resourcemap.note', true), '');
END $$;

"""

# How a location is recorded (0016 records one point instead).
LAT_LON_IMAGE = ("to_jsonb(t) - 'geog' || jsonb_build_object('lat', ST_Y(t.geog::geometry),\n" + " " * 71
                 + "'lon', ST_X(t.geog::geometry))")

# How a row of each table is recorded (alias t), and its organization; then the trigger on every table.
UPGRADE = (_CHANGE_TABLE + ddl.change_record_function(LAT_LON_IMAGE)
           + ddl.change_organization_function("(SELECT s.organization_id FROM service s WHERE s.id = t.service_id)")
           + ddl.record_change_function("'new_rows t'", "'old_rows t'") + ddl.history_triggers(*ddl.HISTORY_TABLES)
           # Nearest help: searchable = service active, organization published, and now location active too.
           + ddl.sal_fill_function() + r"""
DROP TRIGGER location_refresh_sal ON location;
CREATE TRIGGER location_refresh_sal AFTER UPDATE OF geog, timezone, active ON location
  FOR EACH ROW EXECUTE FUNCTION rm_sal_refresh_location();
""")

DOWNGRADE = ddl.SAL_FILL_0001 + r"""
DROP TRIGGER location_refresh_sal ON location;
CREATE TRIGGER location_refresh_sal AFTER UPDATE OF geog, timezone ON location
  FOR EACH ROW EXECUTE FUNCTION rm_sal_refresh_location();
""" + ddl.drop_history_triggers(*ddl.HISTORY_TABLES) + r"""
DROP FUNCTION IF EXISTS rm_record_change, rm_change_record_sql, rm_change_organization_sql, rm_change_context;
DROP TABLE IF EXISTS change;
DROP SEQUENCE IF EXISTS change_set_seq;
DROP INDEX IF EXISTS ix_organization_region_verified;
ALTER TABLE service DROP COLUMN IF EXISTS external_id;
ALTER TABLE location DROP COLUMN IF EXISTS external_id, DROP COLUMN IF EXISTS active;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
