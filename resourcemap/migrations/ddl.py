"""Trigger functions and triggers that several migrations write: the form one migration gives a function is the
form a later migration's downgrade restores, so each is written once here and both call it.

Every helper returns SQL text. A migration must stay what it was when it ran: change a helper only by adding a
parameter whose default keeps the text it returns today, and compare `pg_dump --schema-only` of a database
migrated before and after the change (function bodies are dumped as written, so the dumps show any difference).
"""
from __future__ import annotations

HISTORY_TABLES = ("organization", "location", "service", "service_at_location", "phone", "schedule", "service_area")

# Per source table of the service_at_location copies: how its changed rows (n) reach the copies (sal).
_COPY_JOINS = {
    "service": "WHERE sal.service_id = n.id",
    "location": "WHERE sal.location_id = n.id",
    "organization": "JOIN service s ON s.organization_id = n.id WHERE sal.service_id = s.id",
}


def _copies(alias: str, columns: tuple[str, ...]) -> str:
    return "".join(f", {alias}.{c}" for c in columns)


# rm_sal_fill as 0001 wrote it (0008's downgrade restores it).
SAL_FILL_0001 = """
CREATE OR REPLACE FUNCTION rm_sal_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT l.geog, l.timezone INTO NEW.geog, NEW.timezone FROM location l WHERE l.id = NEW.location_id;
  SELECT s.type_code, s.delivery, s.age_min_months, s.age_max_months, s.active AND o.status = 'published'
    INTO NEW.type_code, NEW.delivery, NEW.age_min_months, NEW.age_max_months, NEW.searchable
    FROM service s JOIN organization o ON o.id = s.organization_id WHERE s.id = NEW.service_id;
  RETURN NEW;
END $$;
"""


def sal_fill_function(location_copies: tuple[str, ...] = (), service_copies: tuple[str, ...] = ()) -> str:
    """rm_sal_fill since 0008 (searchable also needs the location active), copying besides these columns of the
    location (0015: confidential) and of the service (0020: conditions, cost) into the same-named columns."""
    from_location, into_location = _copies("l", location_copies), _copies("NEW", location_copies)
    from_service, into_service = _copies("s", service_copies), _copies("NEW", service_copies)
    return f"""
CREATE OR REPLACE FUNCTION rm_sal_fill() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  location_active boolean;
BEGIN
  SELECT l.geog, l.timezone, l.active{from_location} INTO NEW.geog, NEW.timezone, location_active{into_location}
    FROM location l WHERE l.id = NEW.location_id;
  SELECT s.type_code, s.delivery, s.age_min_months, s.age_max_months,
         s.active AND o.status = 'published' AND coalesce(location_active, false){from_service}
    INTO NEW.type_code, NEW.delivery, NEW.age_min_months, NEW.age_max_months, NEW.searchable{into_service}
    FROM service s JOIN organization o ON o.id = s.organization_id WHERE s.id = NEW.service_id;
  RETURN NEW;
END $$;
"""


def sal_refresh_function(table: str, copied: str) -> str:
    """The statement trigger function of 0014 for `table` (service, location, organization): refresh the copies
    of its updated rows whose copied columns (`copied`, comma-separated expressions) changed."""
    old, new = (", ".join(f"{alias}.{c}" for c in copied.split(", ")) for alias in ("o", "n"))
    return f"""
CREATE OR REPLACE FUNCTION rm_sal_refresh_{table}s() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE 'UPDATE service_at_location sal SET id = sal.id
           FROM new_rows n JOIN old_rows o ON o.id = n.id {_COPY_JOINS[table]}
             AND ({new}) IS DISTINCT FROM ({old})';
  RETURN NULL;
END $$;
"""


# The weekly hours of a service as rows, one per day and interval: 0001's table, which 0011 replaces by a view of
# service.hours and its downgrade makes again.
SCHEDULE_TABLE = """
CREATE TABLE schedule (
  id             serial PRIMARY KEY,
  service_id     integer NOT NULL REFERENCES service(id) ON DELETE CASCADE,
  weekday        smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
  opens_minute   smallint NOT NULL CHECK (opens_minute BETWEEN 0 AND 1439),
  closes_minute  smallint NOT NULL CHECK (closes_minute BETWEEN 1 AND 1440),
  CHECK (opens_minute < closes_minute)
);
CREATE INDEX ix_schedule_service_id ON schedule (service_id);
"""


# rm_open_at as 0001 wrote it, reading the schedule table (0011's downgrade restores it).
OPEN_AT_BY_SCHEDULE = """
CREATE OR REPLACE FUNCTION rm_open_at(p_service_id integer, p_timezone text, p_at timestamptz) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN count(*) = 0 THEN NULL
              ELSE bool_or(sc.weekday = extract(isodow FROM local.t)
                           AND extract(hour FROM local.t) * 60 + extract(minute FROM local.t)
                               >= sc.opens_minute
                           AND extract(hour FROM local.t) * 60 + extract(minute FROM local.t)
                               < sc.closes_minute) END
  FROM schedule sc, (SELECT p_at AT TIME ZONE p_timezone AS t) local
  WHERE sc.service_id = p_service_id
$$;
"""


# The image of a row of each table in the history (alias t); the location's is the argument.
def change_record_function(location_image: str) -> str:
    """rm_change_record_sql: how a row of each table is recorded in `change`, as SQL text over alias t (a location
    as lat and lon in 0008, as one point since 0016)."""
    return r"""
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
""".replace("LOCATION_IMAGE", location_image)


def change_organization_function(of_service_rows: str) -> str:
    """rm_change_organization_sql: the organization of a change, its own column or, for the rows of a service
    (schedule, service_at_location, service_area), `of_service_rows` (0008: a lookup per row; 0010: the column
    of `rm_org`, joined in by rm_change_rows_sql)."""
    return f"""
CREATE OR REPLACE FUNCTION rm_change_organization_sql(entity text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE entity
    WHEN 'organization' THEN 't.id'
    WHEN 'location' THEN 't.organization_id'
    WHEN 'service' THEN 't.organization_id'
    WHEN 'phone' THEN 't.organization_id'
    ELSE '{of_service_rows}' END
$$;
"""


def _whole_row_change(column: str, op: str, rows: str) -> str:
    """The EXECUTE of an insert (`new`) or a delete (`old`): one change row per table row, the whole record."""
    return f"""    EXECUTE format(
      'INSERT INTO change (change_set, account_id, actor_email, note, organization_id, entity, entity_id, {column}, op)'
      ' SELECT $1, $2, $3, $4, %s, %L, t.id, %s, ''{op}'' FROM %s',
      org, TG_TABLE_NAME, rec, {rows})
      USING ctx.change_set, ctx.account_id, ctx.actor_email, ctx.note;
"""


_RECORD_CHANGE_HEAD = r"""
CREATE OR REPLACE FUNCTION rm_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
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
"""

# One change row per changed field: the records are materialized first (inlined, each would be rebuilt once per
# field compared).
_FIELD_CHANGES = r"""  ELSE
    EXECUTE format(
      'INSERT INTO change (change_set, account_id, actor_email, note, organization_id, entity, entity_id,'
      '                    field, old, new, op)'
      ' WITH n AS MATERIALIZED (SELECT t.id, %s AS org, %s AS r FROM %s),'
      '      o AS MATERIALIZED (SELECT t.id, %s AS r FROM old_rows t)'
      ' SELECT $1, $2, $3, $4, n.org, %L, n.id, f.key, o.r -> f.key, f.value, ''update'''
      ' FROM n JOIN o ON o.id = n.id CROSS JOIN LATERAL jsonb_each(n.r) f'
      ' WHERE f.value IS DISTINCT FROM o.r -> f.key'
      ' ORDER BY n.id, f.key', org, rec, NEW_ROWS, rec, TG_TABLE_NAME)
      USING ctx.change_set, ctx.account_id, ctx.actor_email, ctx.note;
  END IF;
  RETURN NULL;
END $$;
"""


def record_change_function(new_rows: str, old_rows: str) -> str:
    """rm_record_change, the statement trigger of the history; its FROM clauses given as PL/pgSQL text
    expressions (0008: the transition tables as t; 0010: rm_change_rows_sql, joining the service in).

    0008 first wrote its FROM clauses inline (`FROM new_rows t`); it now makes the form 0010's downgrade always
    restored, the same statements with the table passed to format(), so only that function's text differs in a
    database at revision 0008 or 0009 migrated before and after this module."""
    return (_RECORD_CHANGE_HEAD + _whole_row_change("new", "insert", new_rows)
            + "  ELSIF TG_OP = 'DELETE' THEN\n" + _whole_row_change("old", "delete", old_rows)
            + _FIELD_CHANGES.replace("NEW_ROWS", new_rows))


def history_triggers(*tables: str) -> str:
    """The three statement triggers (insert, update, delete) that record the changes of each table."""
    return "".join(f"""
CREATE TRIGGER {t}_history_insert AFTER INSERT ON {t} REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change();
CREATE TRIGGER {t}_history_update AFTER UPDATE ON {t} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change();
CREATE TRIGGER {t}_history_delete AFTER DELETE ON {t} REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change();
""" for t in tables)


def drop_history_triggers(*tables: str) -> str:
    """Drop what history_triggers made."""
    return "".join(f"DROP TRIGGER IF EXISTS {t}_history_{op} ON {t};\n"
                   for t in tables for op in ("insert", "update", "delete"))
