"""A curator's spreadsheet between its dry run and "apply", kept in the database (issue 23).

Until now the file waited under var/curate-imports/ on the instance that made the dry run, so "apply" failed on any
other instance behind a load balancer. `pending_import` holds the file, who uploaded it for which region and when;
the page carries a random token of which only the SHA-256 is kept (like api_token's); "apply" takes the row in the
same transaction as the import, so a file is applied once or, when the import is refused, stays for another try.
Rows older than a day are deleted at the next dry run, as the files were.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE pending_import (
  token_hash   text PRIMARY KEY,
  account_id   integer NOT NULL REFERENCES account(id) ON DELETE CASCADE,
  region_code  varchar(8) NOT NULL REFERENCES region(code),
  filename     text NOT NULL,
  data         bytea NOT NULL,
  uploaded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_pending_import_uploaded_at ON pending_import (uploaded_at);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP TABLE pending_import")
