"""Cheaper bulk writes (a 100,000-row spreadsheet import), same records and history.

- History (0008): the organization of a schedule, service_at_location or service_area row is found by one join of
  the statement's rows with `service`, not by a lookup per row (a 550,000-row schedule insert made 550,000 index
  probes).
- service_at_location copies (0001, 0008): the per-row fill is skipped when the INSERT supplies the copies itself
  (`searchable` not NULL). Only a bulk writer that computes them by joining the rows it inserts in the same
  transaction does so (exchange/applying.py; tests/test_import.py checks the copies against the sources). An
  UPDATE is always refilled, as before; every other writer inserts (service_id, location_id) only.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The organization of a change: its own column, or (0010) for rows of a service, `rm_org` joined in by the FROM clause.
def _organization_sql(rest: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION rm_change_organization_sql(entity text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE entity
    WHEN 'organization' THEN 't.id'
    WHEN 'location' THEN 't.organization_id'
    WHEN 'service' THEN 't.organization_id'
    WHEN 'phone' THEN 't.organization_id'
    ELSE '{rest}' END
$$;
"""


# rm_record_change of 0008, its FROM clauses given as PL/pgSQL text expressions (0008: the transition table as t).
def _record_change_sql(new_rows: str, old_rows: str) -> str:
    return r"""
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
    EXECUTE format(
      'INSERT INTO change (change_set, account_id, actor_email, note, organization_id, entity, entity_id, new, op)'
      ' SELECT $1, $2, $3, $4, %s, %L, t.id, %s, ''insert'' FROM %s',
      org, TG_TABLE_NAME, rec, {new_rows})
      USING ctx.change_set, ctx.account_id, ctx.actor_email, ctx.note;
  ELSIF TG_OP = 'DELETE' THEN
    EXECUTE format(
      'INSERT INTO change (change_set, account_id, actor_email, note, organization_id, entity, entity_id, old, op)'
      ' SELECT $1, $2, $3, $4, %s, %L, t.id, %s, ''delete'' FROM %s',
      org, TG_TABLE_NAME, rec, {old_rows})
      USING ctx.change_set, ctx.account_id, ctx.actor_email, ctx.note;
  ELSE
    EXECUTE format(
      'INSERT INTO change (change_set, account_id, actor_email, note, organization_id, entity, entity_id,'
      '                    field, old, new, op)'
      ' WITH n AS MATERIALIZED (SELECT t.id, %s AS org, %s AS r FROM %s),'
      '      o AS MATERIALIZED (SELECT t.id, %s AS r FROM old_rows t)'
      ' SELECT $1, $2, $3, $4, n.org, %L, n.id, f.key, o.r -> f.key, f.value, ''update'''
      ' FROM n JOIN o ON o.id = n.id CROSS JOIN LATERAL jsonb_each(n.r) f'
      ' WHERE f.value IS DISTINCT FROM o.r -> f.key'
      ' ORDER BY n.id, f.key', org, rec, {new_rows}, rec, TG_TABLE_NAME)
      USING ctx.change_set, ctx.account_id, ctx.actor_email, ctx.note;
  END IF;
  RETURN NULL;
END $$;
""".format(new_rows=new_rows, old_rows=old_rows)


_RECORD_CHANGE = _organization_sql("rm_org.organization_id") + r"""
-- The rows of a statement (a transition table) as t, joined with what the organization is read from.
CREATE OR REPLACE FUNCTION rm_change_rows_sql(entity text, rows text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN entity IN ('organization', 'location', 'service', 'phone') THEN rows || ' t'
    ELSE rows || ' t LEFT JOIN service rm_org ON rm_org.id = t.service_id' END
$$;
""" + _record_change_sql("rm_change_rows_sql(TG_TABLE_NAME, 'new_rows')", "rm_change_rows_sql(TG_TABLE_NAME, 'old_rows')")

UPGRADE = _RECORD_CHANGE + r"""
DROP TRIGGER sal_fill ON service_at_location;
CREATE TRIGGER sal_fill_insert BEFORE INSERT ON service_at_location
  FOR EACH ROW WHEN (NEW.searchable IS NULL) EXECUTE FUNCTION rm_sal_fill();
CREATE TRIGGER sal_fill_update BEFORE UPDATE ON service_at_location
  FOR EACH ROW EXECUTE FUNCTION rm_sal_fill();
"""

# 0008's functions as they were.
DOWNGRADE = r"""
DROP TRIGGER sal_fill_insert ON service_at_location;
DROP TRIGGER sal_fill_update ON service_at_location;
CREATE TRIGGER sal_fill BEFORE INSERT OR UPDATE ON service_at_location
  FOR EACH ROW EXECUTE FUNCTION rm_sal_fill();

""" + _organization_sql("(SELECT s.organization_id FROM service s WHERE s.id = t.service_id)") + \
    _record_change_sql("'new_rows t'", "'old_rows t'") + r"""
DROP FUNCTION IF EXISTS rm_change_rows_sql;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
