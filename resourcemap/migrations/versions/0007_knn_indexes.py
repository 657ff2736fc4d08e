"""One small planar GiST index per kind of help, for the nearest-help candidate scan.

Measured at 1M synthetic locations: a KNN scan on the geography index costs ~9 ms for a rare kind near Moscow
(every entry's distance is a spherical computation, and a (type_code, geog) index cannot prune by kind because its
inner keys are ranges of codes); on a per-kind partial index of `geog::geometry` it costs ~0.4 ms. The planar
order is only used to pick k candidates; search/nearest.py then bounds and ranks them on the spheroid.

A kind of help added later needs its index too: `rm_create_knn_index(code)` makes it (tests check that every
kind has one).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION rm_create_knn_index(code text) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
          EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON service_at_location USING gist ((geog::geometry))'
                         ' WHERE searchable AND type_code = %L', 'ix_sal_knn_' || code, code);
        END $$;
        SELECT rm_create_knn_index(code) FROM taxonomy_term;
    """)


def downgrade() -> None:
    op.execute("""
        DO $$ DECLARE c text; BEGIN
          FOR c IN SELECT code FROM taxonomy_term LOOP EXECUTE format('DROP INDEX IF EXISTS %I', 'ix_sal_knn_' || c);
          END LOOP; END $$;
        DROP FUNCTION IF EXISTS rm_create_knn_index;
    """)
