"""The online services of a region by kind of help: an index scan that stops at the first few, at any size.

Nearest help lists, per kind asked, the first online services that serve the family's region (search/nearest.py
`_ONLINE_PART`). It walked the region's service areas (ix_service_area_region: region_code, service_id) and looked
up each one's service_at_location row until it had found enough of the kind: for a kind with few or no online
services, every area of the region. Measured at 1M synthetic locations (5,311 online areas in Moscow): 5,311
look-ups and 20.8 ms of a 21 ms answer for palliative care (none online), 508 look-ups and 5.3 ms for crisis
apartments; it grows with the registry.

- `service_area.type_code`: for a region (online) area, a copy of its service's kind, kept by triggers (set when
  the area is written, followed when the service's kind changes); NULL for radius and drawn areas. Not part of
  the history's image of an area (0008): it is derived.
- `ix_service_area_region_type` (region_code, type_code, service_id) in place of ix_service_area_region: the
  online services of a kind in a region, in service order, straight from the index.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE service_area ADD COLUMN type_code text;

CREATE FUNCTION rm_area_fill_kind() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.type_code := CASE WHEN NEW.region_code IS NOT NULL
                        THEN (SELECT s.type_code FROM service s WHERE s.id = NEW.service_id) END;
  RETURN NEW;
END $$;
-- Not called for the radius and drawn areas an import writes by the thousand (nothing to copy or to clear).
CREATE TRIGGER service_area_fill_kind BEFORE INSERT OR UPDATE OF service_id, region_code ON service_area
  FOR EACH ROW WHEN (NEW.region_code IS NOT NULL OR NEW.type_code IS NOT NULL)
  EXECUTE FUNCTION rm_area_fill_kind();

CREATE FUNCTION rm_area_follow_kind() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE service_area SET type_code = NEW.type_code WHERE service_id = NEW.id AND region_code IS NOT NULL;
  RETURN NULL;
END $$;
CREATE TRIGGER service_area_follow_kind AFTER UPDATE OF type_code ON service
  FOR EACH ROW WHEN (OLD.type_code IS DISTINCT FROM NEW.type_code) EXECUTE FUNCTION rm_area_follow_kind();

-- The copies of the areas there are; derived, so not a change of the registry.
SELECT set_config('resourcemap.history', 'off', true);
UPDATE service_area a SET type_code = s.type_code FROM service s
WHERE s.id = a.service_id AND a.region_code IS NOT NULL;
SELECT set_config('resourcemap.history', 'on', true);

CREATE INDEX ix_service_area_region_type ON service_area (region_code, type_code, service_id)
  WHERE region_code IS NOT NULL;
DROP INDEX ix_service_area_region;
ANALYZE service_area;
"""

DOWNGRADE = r"""
CREATE INDEX ix_service_area_region ON service_area (region_code, service_id) WHERE region_code IS NOT NULL;
DROP INDEX ix_service_area_region_type;
DROP TRIGGER service_area_follow_kind ON service;
DROP TRIGGER service_area_fill_kind ON service_area;
DROP FUNCTION rm_area_follow_kind, rm_area_fill_kind;
ALTER TABLE service_area DROP COLUMN type_code;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
