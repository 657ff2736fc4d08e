"""Staff accounts, their regions, API tokens and the audit log.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE account (
  id               serial PRIMARY KEY,
  email            text NOT NULL UNIQUE CHECK (email = lower(email) AND email LIKE '%_@_%'),
  password_hash    text NOT NULL,
  role             text NOT NULL CHECK (role IN ('admin', 'curator', 'dispatcher')),
  active           boolean NOT NULL DEFAULT true,
  session_token    text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  last_sign_in_at  timestamptz
);

CREATE TABLE account_region (
  account_id   integer NOT NULL REFERENCES account(id) ON DELETE CASCADE,
  region_code  varchar(8) NOT NULL REFERENCES region(code),
  PRIMARY KEY (account_id, region_code)
);

CREATE TABLE api_token (
  id          serial PRIMARY KEY,
  account_id  integer NOT NULL REFERENCES account(id) ON DELETE CASCADE,
  token_hash  text NOT NULL UNIQUE,
  name        text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);
CREATE INDEX ix_api_token_account_id ON api_token (account_id);

CREATE TABLE audit_event (
  id           bigserial PRIMARY KEY,
  at           timestamptz NOT NULL DEFAULT now(),
  account_id   integer REFERENCES account(id) ON DELETE SET NULL,
  email        text NOT NULL DEFAULT '',
  action       text NOT NULL,
  remote_addr  text NOT NULL DEFAULT '',
  details      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX ix_audit_event_at ON audit_event (at);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS audit_event, api_token, account_region, account")
