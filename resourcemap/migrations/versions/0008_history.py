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

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UPGRADE = r"""
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

-- How a row of each table is recorded (alias t), and its organization. The update diff materializes the records
-- first: inlined, each would be rebuilt once per field compared.
CREATE FUNCTION rm_change_record_sql(entity text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE entity
    WHEN 'organization' THEN $r$to_jsonb(t) - '{version,created_at,updated_at}'::text[]$r$
    WHEN 'location' THEN $r$to_jsonb(t) - 'geog' || jsonb_build_object('lat', ST_Y(t.geog::geometry),
                                                                       'lon', ST_X(t.geog::geometry))$r$
    WHEN 'service' THEN $r$to_jsonb(t) - 'capacity_updated_at'$r$
    WHEN 'service_at_location' THEN
      $r$jsonb_build_object('id', t.id, 'service_id', t.service_id, 'location_id', t.location_id)$r$
    WHEN 'service_area' THEN $r$jsonb_build_object('id', t.id, 'service_id', t.service_id, 'radius_km', t.radius_km,
        'region_code', t.region_code,
        'area', CASE WHEN t.radius_km IS NULL AND t.area IS NOT NULL THEN ST_AsGeoJSON(t.area)::jsonb END)$r$
    ELSE 'to_jsonb(t)' END
$$;

CREATE FUNCTION rm_change_organization_sql(entity text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE entity
    WHEN 'organization' THEN 't.id'
    WHEN 'location' THEN 't.organization_id'
    WHEN 'service' THEN 't.organization_id'
    WHEN 'phone' THEN 't.organization_id'
    ELSE '(SELECT s.organization_id FROM service s WHERE s.id = t.service_id)' END
$$;

CREATE FUNCTION rm_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ctx record;
  rec text := rm_change_record_sql(TG_TABLE_NAME);
  org text := rm_change_organization_sql(TG_TABLE_NAME);
BEGIN
  IF current_setting('resourcemap.history', true) = 'off' THEN
    RETURN NULL;
  END IF;
  ctx := rm_change_context();
  IF TG_OP = 'INSERT' THEN
    EXECUTE format(
      'INSERT INTO change (change_set, account_id, actor_email, note, organization_id, entity, entity_id, new, op)'
      ' SELECT $1, $2, $3, $4, %s, %L, t.id, %s, ''insert'' FROM new_rows t', org, TG_TABLE_NAME, rec)
      USING ctx.change_set, ctx.account_id, ctx.actor_email, ctx.note;
  ELSIF TG_OP = 'DELETE' THEN
    EXECUTE format(
      'INSERT INTO change (change_set, account_id, actor_email, note, organization_id, entity, entity_id, old, op)'
      ' SELECT $1, $2, $3, $4, %s, %L, t.id, %s, ''delete'' FROM old_rows t', org, TG_TABLE_NAME, rec)
      USING ctx.change_set, ctx.account_id, ctx.actor_email, ctx.note;
  ELSE
    EXECUTE format(
      'INSERT INTO change (change_set, account_id, actor_email, note, organization_id, entity, entity_id,'
      '                    field, old, new, op)'
      ' WITH n AS MATERIALIZED (SELECT t.id, %s AS org, %s AS r FROM new_rows t),'
      '      o AS MATERIALIZED (SELECT t.id, %s AS r FROM old_rows t)'
      ' SELECT $1, $2, $3, $4, n.org, %L, n.id, f.key, o.r -> f.key, f.value, ''update'''
      ' FROM n JOIN o ON o.id = n.id CROSS JOIN LATERAL jsonb_each(n.r) f'
      ' WHERE f.value IS DISTINCT FROM o.r -> f.key'
      ' ORDER BY n.id, f.key', org, rec, rec, TG_TABLE_NAME)
      USING ctx.change_set, ctx.account_id, ctx.actor_email, ctx.note;
  END IF;
  RETURN NULL;
END $$;

DO $$
DECLARE tbl text;
BEGIN
  FOREACH tbl IN ARRAY ARRAY['organization', 'location', 'service', 'service_at_location', 'phone', 'schedule',
                             'service_area'] LOOP
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows'
                   ' FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change()', tbl || '_history_insert', tbl);
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows'
                   ' FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change()', tbl || '_history_update', tbl);
    EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows'
                   ' FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change()', tbl || '_history_delete', tbl);
  END LOOP;
END $$;

-- Nearest help: searchable = service active, organization published, and now location active too.
CREATE OR REPLACE FUNCTION rm_sal_fill() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  location_active boolean;
BEGIN
  SELECT l.geog, l.timezone, l.active INTO NEW.geog, NEW.timezone, location_active
    FROM location l WHERE l.id = NEW.location_id;
  SELECT s.type_code, s.delivery, s.age_min_months, s.age_max_months,
         s.active AND o.status = 'published' AND coalesce(location_active, false)
    INTO NEW.type_code, NEW.delivery, NEW.age_min_months, NEW.age_max_months, NEW.searchable
    FROM service s JOIN organization o ON o.id = s.organization_id WHERE s.id = NEW.service_id;
  RETURN NEW;
END $$;
DROP TRIGGER location_refresh_sal ON location;
CREATE TRIGGER location_refresh_sal AFTER UPDATE OF geog, timezone, active ON location
  FOR EACH ROW EXECUTE FUNCTION rm_sal_refresh_location();
"""

DOWNGRADE = r"""
CREATE OR REPLACE FUNCTION rm_sal_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT l.geog, l.timezone INTO NEW.geog, NEW.timezone FROM location l WHERE l.id = NEW.location_id;
  SELECT s.type_code, s.delivery, s.age_min_months, s.age_max_months, s.active AND o.status = 'published'
    INTO NEW.type_code, NEW.delivery, NEW.age_min_months, NEW.age_max_months, NEW.searchable
    FROM service s JOIN organization o ON o.id = s.organization_id WHERE s.id = NEW.service_id;
  RETURN NEW;
END $$;
DROP TRIGGER location_refresh_sal ON location;
CREATE TRIGGER location_refresh_sal AFTER UPDATE OF geog, timezone ON location
  FOR EACH ROW EXECUTE FUNCTION rm_sal_refresh_location();

DO $$
DECLARE tbl text;
BEGIN
  FOREACH tbl IN ARRAY ARRAY['organization', 'location', 'service', 'service_at_location', 'phone', 'schedule',
                             'service_area'] LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', tbl || '_history_insert', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', tbl || '_history_update', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', tbl || '_history_delete', tbl);
  END LOOP;
END $$;
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
