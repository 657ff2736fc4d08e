"""service_at_location's copies refreshed once per statement, and only for the rows whose copied values changed.

The nearest-help rows copy their service's kind, delivery, ages and activity, their location's point, time zone
and activity, and their organization's status (0001, 0008). Until now a row-level trigger on each of the three
tables refreshed the copies with one `UPDATE service_at_location ... WHERE service_id = NEW.id` per changed row,
whenever the statement named a copied column, changed or not. Each of those inner statements fired the statement
triggers of service_at_location again (the history's diff, the map's marks), so re-importing 16,134 changed
services cost 6.8 s in the UPDATE of `service` alone (~420 µs a row), the locations 7.8 s, the organizations 3.3 s.

Now one statement-level trigger per table (its old and new rows as transition tables, which the history triggers
of 0008 already capture) refreshes, in one UPDATE, the copies of the rows whose copied values differ; an update
that changes none (a new phone, a name, a version bump) touches no service_at_location row.

Statements over transition tables are run with EXECUTE, planned each time for the rows at hand: a PL/pgSQL
statement is planned once per connection and its plan kept, with the row count of that first call. The map's
`rm_map_mark` (0009) did so: planned for the one row an editor's save changes, it kept a nested loop over the old
and new rows, and a 20,000-row update of service_at_location later on the same connection compared 400 million
pairs (39 s). It now runs its statements the same way (the downgrade puts back 0009's form).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""
from alembic import op

from resourcemap.migrations import ddl

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


# rm_map_mark of 0009: the locations whose map point may have changed, per table and operation. `dynamic` runs each
# statement with EXECUTE (0014); without, as 0009 wrote it (the downgrade).
_MARKS = (
    ("TG_TABLE_NAME = 'location'", """INSERT INTO map_dirty (location_id)
      SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
      WHERE (n.geog::text, n.confidential, n.active, n.organization_id, n.approximate, n.settlement_id)
            IS DISTINCT FROM (o.geog::text, o.confidential, o.active, o.organization_id, o.approximate, o.settlement_id)
      ON CONFLICT DO NOTHING"""),
    ("TG_TABLE_NAME = 'organization'", """INSERT INTO map_dirty (location_id)
      SELECT l.id FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN location l ON l.organization_id = n.id
      WHERE (n.name, n.is_synthetic) IS DISTINCT FROM (o.name, o.is_synthetic)
      ON CONFLICT DO NOTHING"""),
    ("TG_TABLE_NAME = 'settlement'", """INSERT INTO map_dirty (location_id)
      SELECT l.id FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN location l ON l.settlement_id = n.id
      WHERE n.name_ru IS DISTINCT FROM o.name_ru
      ON CONFLICT DO NOTHING"""),
    ("TG_OP = 'INSERT'", """INSERT INTO map_dirty (location_id) SELECT DISTINCT location_id FROM new_rows WHERE searchable
      ON CONFLICT DO NOTHING"""),
    ("TG_OP = 'DELETE'", """INSERT INTO map_dirty (location_id) SELECT DISTINCT location_id FROM old_rows WHERE searchable
      ON CONFLICT DO NOTHING"""),
    (None, """INSERT INTO map_dirty (location_id)
      SELECT DISTINCT unnest(ARRAY[o.location_id, n.location_id]) FROM new_rows n JOIN old_rows o ON o.id = n.id
      WHERE (o.searchable OR n.searchable)
        AND (o.searchable, o.type_code, o.location_id) IS DISTINCT FROM (n.searchable, n.type_code, n.location_id)
      ON CONFLICT DO NOTHING"""),
)


def _map_mark(dynamic: bool) -> str:
    branches = []
    for n, (condition, statement) in enumerate(_MARKS):
        keyword = "ELSE" if condition is None else ("IF" if n == 0 else "ELSIF") + f" {condition} THEN"
        branches.append(f"  {keyword}\n    " + (f"EXECUTE $q${statement}$q$;" if dynamic else f"{statement};"))
    return ("CREATE OR REPLACE FUNCTION rm_map_mark() RETURNS trigger LANGUAGE plpgsql AS $$\nDECLARE\n"
            "  marked bigint;\nBEGIN\n" + "\n".join(branches) + "\n  END IF;\n"
            "  GET DIAGNOSTICS marked = ROW_COUNT;\n  IF marked > 0 THEN\n"
            "    INSERT INTO map_flush DEFAULT VALUES ON CONFLICT DO NOTHING;\n  END IF;\n  RETURN NULL;\nEND $$;\n")


# Per source table: the columns the copies take from it.
_REFRESHES = (
    ("service", "type_code, delivery, age_min_months, age_max_months, active"),
    ("location", "geog::text, timezone, active"),
    ("organization", "status"),
)


def _refresh(table: str, copied: str) -> str:
    """The statement trigger refreshing the copies of the rows of `table` whose copied columns changed."""
    return f"\nDROP TRIGGER {table}_refresh_sal ON {table};\n" + ddl.sal_refresh_function(table, copied) + f"""
CREATE TRIGGER {table}_refresh_sal AFTER UPDATE ON {table}
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rm_sal_refresh_{table}s();
"""


UPGRADE = "".join(_refresh(*r) for r in _REFRESHES) + _map_mark(dynamic=True)

# The row-level triggers of 0001 (location: as 0008 left it, with `active`).
DOWNGRADE = r"""
DROP TRIGGER service_refresh_sal ON service;
DROP TRIGGER location_refresh_sal ON location;
DROP TRIGGER organization_refresh_sal ON organization;
DROP FUNCTION rm_sal_refresh_services, rm_sal_refresh_locations, rm_sal_refresh_organizations;
CREATE TRIGGER service_refresh_sal
  AFTER UPDATE OF type_code, delivery, age_min_months, age_max_months, active ON service
  FOR EACH ROW EXECUTE FUNCTION rm_sal_refresh_service();
CREATE TRIGGER location_refresh_sal AFTER UPDATE OF geog, timezone, active ON location
  FOR EACH ROW EXECUTE FUNCTION rm_sal_refresh_location();
CREATE TRIGGER organization_refresh_sal AFTER UPDATE OF status ON organization
  FOR EACH ROW EXECUTE FUNCTION rm_sal_refresh_organization();
""" + _map_mark(dynamic=False)


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
