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

from resourcemap.migrations import ddl

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_RECORD_CHANGE = ddl.change_organization_function("rm_org.organization_id") + r"""
-- The rows of a statement (a transition table) as t, joined with what the organization is read from.
CREATE OR REPLACE FUNCTION rm_change_rows_sql(entity text, rows text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN entity IN ('organization', 'location', 'service', 'phone') THEN rows || ' t'
    ELSE rows || ' t LEFT JOIN service rm_org ON rm_org.id = t.service_id' END
$$;
""" + ddl.record_change_function("rm_change_rows_sql(TG_TABLE_NAME, 'new_rows')",
                                    "rm_change_rows_sql(TG_TABLE_NAME, 'old_rows')")

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

""" + ddl.change_organization_function("(SELECT s.organization_id FROM service s WHERE s.id = t.service_id)") + \
    ddl.record_change_function("'new_rows t'", "'old_rows t'") + r"""
DROP FUNCTION IF EXISTS rm_change_rows_sql;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
