"""Indexes for "comes to you": outreach services by kind near a point, and drawn service areas apart from radii.

Measured at 1M synthetic locations: testing the family's point against every radius polygon that overlaps it
(15k near Moscow) took over a second; a radius is now checked as a geodesic distance on the outreach services of
the asked kinds found through `ix_sal_outreach_type_geog`, and only drawn areas are tested as polygons.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE INDEX ix_sal_outreach_type_geog ON service_at_location USING gist (type_code, geog)
          WHERE searchable AND delivery = 'outreach';
        CREATE INDEX ix_service_area_radius ON service_area (radius_km) WHERE radius_km IS NOT NULL;
        CREATE INDEX ix_service_area_drawn ON service_area USING gist (area)
          WHERE radius_km IS NULL AND area IS NOT NULL;
    """)


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_sal_outreach_type_geog, ix_service_area_radius, ix_service_area_drawn")
