"""Nearest help for the public: the confidential outreach services that come to the family, found by kind.

The public measures a confidential place from its public point (0015). Whether a confidential outreach service
reaches the family was a KNN scan of 0015's `ix_sal_public_geog`, which holds every confidential row of every kind
at its public point (mostly the crisis apartments' sites): for early help it walked ~900 of them to find 3 (1.5 ms
of a 6 ms statement at 100k locations). `ix_sal_public_reach` is 0006's `ix_sal_outreach_type_geog` for the public
points: (kind, public point) of the confidential outreach rows only (issue 24).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""
from alembic import op

revision = "0023"
down_revision = "0022"


def upgrade() -> None:
    op.execute("CREATE INDEX ix_sal_public_reach ON service_at_location USING gist (type_code, public_geog)"
               " WHERE searchable AND confidential AND delivery = 'outreach'")


def downgrade() -> None:
    op.execute("DROP INDEX ix_sal_public_reach")
