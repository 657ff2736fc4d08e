"""Two spatial indexes that no query reads any more, dropped: every write paid for them.

- `ix_sal_type_geog` (0001), GiST (type_code, geog) of the searchable service_at_location rows: nearest help reads
  the per-kind planar indexes `ix_sal_knn_<code>` (0007) for the services at a place, `ix_sal_outreach_type_geog`
  (0006) for outreach and `ix_sal_online_type` (0005) for online services.
- `ix_service_area_area` (0001), GiST of every service area: the one spatial question on areas, "does a drawn
  outreach area cover the family", reads the partial `ix_service_area_drawn` (0006); radius areas are found by
  their service and the radius (`ix_service_area_radius`).

Counted with pg_stat_user_indexes on a 100,000-row import, after the nearest-help API (60 settlements, one to
three kinds, with age, open-now and distance filters), the public map's data and the organizations API: 0 scans
of either, while every other index of these tables was read. Each new service of an import still wrote an entry
into both (the GiST insert of a point and of a 65-vertex circle): 1.5 to 1.8 s of a 100,000-row import.

The benchmarks' "floor" (bench/nearest.py, bench/peers) is the bare KNN on a (kind, point) GiST index; the bench
makes that index in its own databases.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_sal_type_geog, ix_service_area_area")


def downgrade() -> None:
    op.execute("""
        CREATE INDEX IF NOT EXISTS ix_sal_type_geog ON service_at_location USING gist (type_code, geog)
          WHERE searchable;
        CREATE INDEX IF NOT EXISTS ix_service_area_area ON service_area USING gist (area);
    """)
