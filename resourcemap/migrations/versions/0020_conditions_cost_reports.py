"""The child's condition and the cost of a service, searchable; problem reports from families (issue 22).

- `service.conditions` (text[]: hearing, vision, motor, autism, down_syndrome, developmental_delay, complex_needs;
  empty: not stated), `service.cost` (free, partly_paid, paid; NULL: not stated) and `service.cost_basis` (text[]:
  state_programme, referral). The codes are registry/vocabulary.py's, kept here by CHECK constraints.
- service_at_location copies `conditions` and `cost`, kept like the other copies (rm_sal_fill, the service refresh
  of 0014, and the bulk writer's _INSERT_SERVICE_AT_LOCATION in data/bulk.py), so that the nearest-help KNN scans filter on them in their own
  WHERE clause: the index order scan then goes on until enough rows match, and the answer stays the true nearest
  matching services (search/nearest.py), with no join before the LIMIT.
- `problem_report`: what a family reported about an organization (the phone does not answer, the address is wrong,
  the service closed, other) with the text it wrote (at most 500 characters) and nothing else about the person; a
  curator resolves it as confirmed or rejected with a note.
- `organization.recheck_since`: a report was confirmed, the record is to be checked again; "checked today"
  (registry/edit.py mark_verified) clears it, and the stale list holds such records whatever their date.

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-07
"""
from alembic import op

from resourcemap.migrations import ddl

revision = "0020"
down_revision = "0018"
branch_labels = None
depends_on = None

CONDITIONS = ("hearing", "vision", "motor", "autism", "down_syndrome", "developmental_delay", "complex_needs")
COSTS = ("free", "partly_paid", "paid")
COST_BASES = ("state_programme", "referral")


def _array(codes) -> str:
    return "ARRAY[" + ", ".join(f"'{c}'" for c in codes) + "]::text[]"


UPGRADE = f"""
ALTER TABLE service
  ADD COLUMN conditions text[] NOT NULL DEFAULT '{{}}'
    CONSTRAINT service_conditions_check CHECK (conditions <@ {_array(CONDITIONS)}),
  ADD COLUMN cost text CONSTRAINT service_cost_check CHECK (cost IN ({", ".join(f"'{c}'" for c in COSTS)})),
  ADD COLUMN cost_basis text[] NOT NULL DEFAULT '{{}}'
    CONSTRAINT service_cost_basis_check CHECK (cost_basis <@ {_array(COST_BASES)});
-- Every service has the defaults, so the copies' defaults are already right.
ALTER TABLE service_at_location ADD COLUMN conditions text[] NOT NULL DEFAULT '{{}}', ADD COLUMN cost text;

ALTER TABLE organization ADD COLUMN recheck_since timestamptz;

CREATE TABLE problem_report (
  id               serial PRIMARY KEY,
  organization_id  integer NOT NULL REFERENCES organization (id),
  kind             text NOT NULL CHECK (kind IN ('no_answer', 'wrong_address', 'closed', 'other')),
  body             text NOT NULL DEFAULT '' CHECK (char_length(body) <= 500),
  created_at       timestamptz NOT NULL DEFAULT now(),
  resolution       text CHECK (resolution IN ('confirmed', 'rejected')),
  resolution_note  text NOT NULL DEFAULT '' CHECK (char_length(resolution_note) <= 2000),
  resolved_at      timestamptz,
  resolved_by      integer REFERENCES account (id),
  CHECK ((resolution IS NULL) = (resolved_at IS NULL))
);
-- The open reports of an organization (the queue joins organizations of the curator's regions).
CREATE INDEX ix_problem_report_open ON problem_report (organization_id, id) WHERE resolution IS NULL;
""" + ddl.sal_fill_function(("confidential",), ("conditions", "cost")) + ddl.sal_refresh_function(
    "service", "type_code, delivery, age_min_months, age_max_months, active, conditions, cost")

DOWNGRADE = ddl.sal_fill_function(("confidential",)) + ddl.sal_refresh_function(
    "service", "type_code, delivery, age_min_months, age_max_months, active") + """
DROP TABLE problem_report;
ALTER TABLE organization DROP COLUMN recheck_since;
ALTER TABLE service_at_location DROP COLUMN conditions, DROP COLUMN cost;
ALTER TABLE service DROP COLUMN conditions, DROP COLUMN cost, DROP COLUMN cost_basis;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
