"""Confidential places searched by their published point: what the public may learn of a crisis apartment is its
published approximation, through any distance, filter, rounding or order.

Until now nearest help ranked, filtered (`within_km`) and measured every place from its exact point and only then
hid the point in the answer: an anonymous caller recovered a crisis apartment's door to 51 m from the distances
(issue 17). From now on the public's statements (search/nearest.py) rank confidential places by their public point
(the centre of their 5 km cell, `rm_public_lat`/`rm_public_lon` of 0009, as the map already does); staff
statements keep the exact point.

- `service_at_location.confidential`: a copy of the location's flag, kept like the other copies (the fill of
  0008, the location refresh of 0014, and bulk writers that supply the copies, data/bulk.py _INSERT_SERVICE_AT_LOCATION).
- `service_at_location.public_geog`: for a confidential row its public point, generated from the copied point
  (NULL for every other row: their public point is their point).
- The per-kind planar indexes `ix_sal_knn_<code>` (0007) now hold the other rows only (`NOT confidential`), and the
  confidential rows have two small geography GiST indexes of their own: `ix_sal_public_geog` (their public points,
  for the public's KNN, radius and bound scans) and `ix_sal_confidential_geog` (their exact points, for staff).
  Without that split, the public's KNN for crisis apartments (nearly all confidential) walked the kind's whole
  index, skipping every row.
- `ix_location_confidential_geom`: the exact points of confidential locations, for staff box filters (the public
  box filters read map_point, 0009, which holds public points only).
- Phone numbers may also be a short national helpline as dialled (3 or 4 digits, such as Kazakhstan's 150 for children
  and youth: registry/phones.py SHORT_HELPLINES), which has no E.164 form; every other number stays E.164.
- Failed sign-ins by account and by address (`ix_audit_event_failed_email`, `ix_audit_event_failed_addr`): the
  sign-in limits count them from the audit log (auth/signin_limits.py), so that every worker shares the counts.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""
from alembic import op

from resourcemap.migrations import ddl

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _knn_indexes(open_rows_only: bool) -> str:
    """0007's rm_create_knn_index, its indexes holding only the rows that are not confidential (0015) or all
    (0007), and every kind's index made again that way."""
    rows = " AND NOT confidential" if open_rows_only else ""
    return f"""
CREATE OR REPLACE FUNCTION rm_create_knn_index(code text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON service_at_location USING gist ((geog::geometry))'
                 ' WHERE searchable AND type_code = %L{rows}', 'ix_sal_knn_' || code, code);
END $$;
DO $$ DECLARE c text; BEGIN
  FOR c IN SELECT code FROM taxonomy_term LOOP
    EXECUTE format('DROP INDEX IF EXISTS %I', 'ix_sal_knn_' || c);
    PERFORM rm_create_knn_index(c);
  END LOOP;
END $$;
"""


UPGRADE = r"""
-- The public point of an exact point of a confidential place (0009's arithmetic, as a geography). Its search path
-- is its own: a restore (pg_restore runs with an empty one) computes the generated column below with it.
CREATE FUNCTION rm_public_geog(g geography) RETURNS geography LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = public, pg_temp AS $$
  SELECT CAST(ST_SetSRID(ST_MakePoint(rm_public_lon(ST_Y(CAST(g AS geometry)), ST_X(CAST(g AS geometry)), true),
                                      rm_public_lat(ST_Y(CAST(g AS geometry)), true)), 4326) AS geography)
$$;

ALTER TABLE service_at_location ADD COLUMN confidential boolean NOT NULL DEFAULT false;
-- The copies of the rows there are; derived, so not a change of the registry.
SELECT set_config('resourcemap.history', 'off', true);
UPDATE service_at_location sal SET confidential = true
  FROM location l WHERE l.id = sal.location_id AND l.confidential;
SELECT set_config('resourcemap.history', 'on', true);
ALTER TABLE service_at_location ADD COLUMN public_geog geography(Point, 4326)
  GENERATED ALWAYS AS (CASE WHEN confidential THEN rm_public_geog(geog) END) STORED;

CREATE INDEX ix_sal_public_geog ON service_at_location USING gist (public_geog) WHERE confidential AND searchable;
CREATE INDEX ix_sal_confidential_geog ON service_at_location USING gist (geog) WHERE confidential AND searchable;
""" + _knn_indexes(open_rows_only=True) + r"""
CREATE INDEX ix_location_confidential_geom ON location USING gist (CAST(geog AS geometry)) WHERE confidential;
ALTER TABLE phone DROP CONSTRAINT phone_number_check,
  ADD CONSTRAINT phone_number_check CHECK (number ~ '^\+[1-9][0-9]{6,14}$' OR number ~ '^[0-9]{3,4}$');
CREATE INDEX ix_audit_event_failed_email ON audit_event (email, at) WHERE action = 'sign_in_failed';
CREATE INDEX ix_audit_event_failed_addr ON audit_event (remote_addr, at) WHERE action = 'sign_in_failed';
ANALYZE service_at_location;
""" + ddl.sal_fill_function(location_copies=("confidential",)) + \
    ddl.sal_refresh_function("location", "geog::text, timezone, active, confidential")

DOWNGRADE = _knn_indexes(open_rows_only=False) + r"""
DELETE FROM phone WHERE number !~ '^\+[1-9][0-9]{6,14}$';
ALTER TABLE phone DROP CONSTRAINT phone_number_check,
  ADD CONSTRAINT phone_number_check CHECK (number ~ '^\+[1-9][0-9]{6,14}$');
DROP INDEX ix_location_confidential_geom, ix_sal_confidential_geog, ix_sal_public_geog,
  ix_audit_event_failed_email, ix_audit_event_failed_addr;
ALTER TABLE service_at_location DROP COLUMN public_geog, DROP COLUMN confidential;
DROP FUNCTION rm_public_geog;
""" + ddl.sal_fill_function() + ddl.sal_refresh_function("location", "geog::text, timezone, active")


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
