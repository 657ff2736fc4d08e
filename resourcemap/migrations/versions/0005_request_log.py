"""The dispatch console's anonymous request log: where families asked from and for what, never who asked.

One row per consultation (a call), one row per kind of help asked in it with how many services lay within 30 and
100 km. No account, no address, no free text, no coordinates; the time only to the hour. And three small partial
indexes for the console's online-services question.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE request_log (
  id             bigserial PRIMARY KEY,
  at             timestamptz NOT NULL DEFAULT date_trunc('hour', now()),
  origin         text NOT NULL CHECK (origin IN ('settlement', 'point')),
  settlement_id  integer REFERENCES settlement(id) ON DELETE SET NULL,
  district_id    integer REFERENCES district(id) ON DELETE SET NULL,
  region_code    varchar(8) REFERENCES region(code),
  age_band       text CHECK (age_band IN ('0-3', '3-7', '7-18')),
  CHECK (at = date_trunc('hour', at))
);
CREATE INDEX ix_request_log_at ON request_log (at);
CREATE INDEX ix_request_log_region_district ON request_log (region_code, district_id);

CREATE TABLE request_log_kind (
  request_id     bigint NOT NULL REFERENCES request_log(id) ON DELETE CASCADE,
  type_code      text NOT NULL REFERENCES taxonomy_term(code),
  within_30_km   smallint NOT NULL CHECK (within_30_km >= 0),
  within_100_km  smallint NOT NULL CHECK (within_100_km >= within_30_km),
  PRIMARY KEY (request_id, type_code)
);

-- The console's online services of a region (search/dispatch.py, online_services): small partial indexes that
-- answer it with index-only scans instead of reading every online row of the asked kinds from the heap.
CREATE INDEX ix_service_area_region ON service_area (region_code, service_id) WHERE region_code IS NOT NULL;
CREATE INDEX ix_service_area_regional ON service_area (service_id) WHERE region_code IS NOT NULL;
CREATE INDEX ix_sal_online_type ON service_at_location (type_code)
  INCLUDE (id, service_id, location_id, age_min_months, age_max_months) WHERE searchable AND delivery = 'online';
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_service_area_region, ix_service_area_regional, ix_sal_online_type")
    op.execute("DROP TABLE IF EXISTS request_log_kind, request_log")
