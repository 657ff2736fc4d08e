"""The gazetteer and the HSDS-shaped registry, with the indexes the spatial questions rely on.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""
from alembic import op

from resourcemap.migrations import ddl

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = r"""
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- The one normalization of place names, used for stored spellings and for queries alike:
-- lower case, ё -> е, accents off, punctuation to spaces, spaces folded.
CREATE FUNCTION rm_name_norm(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT btrim(regexp_replace(
           regexp_replace(lower(public.unaccent('public.unaccent'::regdictionary, translate(name, 'ёЁ', 'еЕ'))),
                          '[^[:alnum:]]+', ' ', 'g'),
           '\s+', ' ', 'g'))
$$;

CREATE TABLE region (
  code      varchar(8) PRIMARY KEY,
  name_ru   text NOT NULL,
  name_en   text NOT NULL,
  country   varchar(2) NOT NULL CHECK (country IN ('RU', 'KZ')),
  timezone  text NOT NULL,
  boundary  geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX ix_region_boundary ON region USING gist (boundary);

CREATE TABLE district (
  id           serial PRIMARY KEY,
  ext_id       text NOT NULL UNIQUE,
  region_code  varchar(8) NOT NULL REFERENCES region(code),
  name_ru      text NOT NULL,
  name_en      text NOT NULL DEFAULT '',
  kind         text NOT NULL DEFAULT '',
  boundary     geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX ix_district_region_code ON district (region_code);
CREATE INDEX ix_district_boundary ON district USING gist (boundary);

CREATE TABLE settlement (
  id               serial PRIMARY KEY,
  ext_id           text NOT NULL UNIQUE,
  name_ru          text NOT NULL CHECK (name_ru <> ''),
  name_kk          text NOT NULL DEFAULT '',
  alt_names        text[] NOT NULL DEFAULT '{}',
  kind             text NOT NULL,
  region_code      varchar(8) NOT NULL REFERENCES region(code),
  district_id      integer REFERENCES district(id),
  population       integer,
  population_year  smallint,
  geog             geography(Point, 4326) NOT NULL,
  timezone         text NOT NULL,
  source           text NOT NULL,
  source_id        text NOT NULL
);
CREATE INDEX ix_settlement_region_code ON settlement (region_code);
CREATE INDEX ix_settlement_district_id ON settlement (district_id);
CREATE INDEX ix_settlement_geog ON settlement USING gist (geog);

CREATE TABLE settlement_name (
  settlement_id  integer NOT NULL REFERENCES settlement(id) ON DELETE CASCADE,
  name_norm      text NOT NULL,
  PRIMARY KEY (settlement_id, name_norm)
);
-- Fuzzy and prefix search of settlement names (search/settlements.py).
CREATE INDEX ix_settlement_name_trgm ON settlement_name USING gin (name_norm gin_trgm_ops);

CREATE TABLE taxonomy_term (
  code            text PRIMARY KEY,
  name_ru         text NOT NULL,
  name_en         text NOT NULL,
  description_ru  text NOT NULL DEFAULT '',
  position        smallint NOT NULL DEFAULT 0
);

CREATE TABLE organization (
  id           serial PRIMARY KEY,
  name         text NOT NULL CHECK (name <> ''),
  legal_form   text NOT NULL DEFAULT '',
  description  text NOT NULL DEFAULT '',
  website      text NOT NULL DEFAULT '',
  email        text NOT NULL DEFAULT '',
  status       text NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'draft', 'inactive')),
  verified_at  date,
  source       text NOT NULL DEFAULT '',
  external_id  text UNIQUE,
  region_code  varchar(8) NOT NULL REFERENCES region(code),
  is_synthetic boolean NOT NULL DEFAULT false,
  version      integer NOT NULL DEFAULT 1,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_organization_region_code ON organization (region_code);

CREATE TABLE location (
  id               serial PRIMARY KEY,
  organization_id  integer NOT NULL REFERENCES organization(id),
  name             text NOT NULL DEFAULT '',
  address          text NOT NULL DEFAULT '',
  settlement_id    integer REFERENCES settlement(id),
  geog             geography(Point, 4326) NOT NULL,
  confidential     boolean NOT NULL DEFAULT false,
  approximate      boolean NOT NULL DEFAULT false,
  accessibility    text NOT NULL DEFAULT '',
  timezone         text NOT NULL,
  region_code      varchar(8) NOT NULL REFERENCES region(code)
);
CREATE INDEX ix_location_organization_id ON location (organization_id);
CREATE INDEX ix_location_settlement_id ON location (settlement_id);
CREATE INDEX ix_location_region_code ON location (region_code);
-- The map's bounding-box query.
CREATE INDEX ix_location_geog ON location USING gist (geog);

CREATE TABLE service (
  id                   serial PRIMARY KEY,
  organization_id      integer NOT NULL REFERENCES organization(id),
  type_code            text NOT NULL REFERENCES taxonomy_term(code),
  name                 text NOT NULL DEFAULT '',
  description          text NOT NULL DEFAULT '',
  age_min_months       smallint CHECK (age_min_months >= 0),
  age_max_months       smallint CHECK (age_max_months >= 0),
  eligibility          text NOT NULL DEFAULT '',
  delivery             text NOT NULL DEFAULT 'on_site' CHECK (delivery IN ('on_site', 'outreach', 'online')),
  capacity_total       integer CHECK (capacity_total >= 0),
  capacity_free        integer CHECK (capacity_free >= 0),
  capacity_updated_at  timestamptz,
  active               boolean NOT NULL DEFAULT true,
  CHECK (age_min_months IS NULL OR age_max_months IS NULL OR age_min_months <= age_max_months)
);
CREATE INDEX ix_service_organization_id ON service (organization_id);

CREATE TABLE service_at_location (
  id              serial PRIMARY KEY,
  service_id      integer NOT NULL REFERENCES service(id) ON DELETE CASCADE,
  location_id     integer NOT NULL REFERENCES location(id) ON DELETE CASCADE,
  -- Copies of the service's and location's fields, kept by triggers below, so that nearest-help is one
  -- index scan of this table. Never written by application code.
  geog            geography(Point, 4326),
  type_code       text,
  delivery        text,
  age_min_months  smallint,
  age_max_months  smallint,
  timezone        text,
  searchable      boolean,
  UNIQUE (service_id, location_id)
);
CREATE INDEX ix_sal_location_id ON service_at_location (location_id);
-- Nearest help: KNN (<->) per kind of help, and ST_DWithin for the exact re-ranking (search/nearest.py).
CREATE INDEX ix_sal_type_geog ON service_at_location USING gist (type_code, geog) WHERE searchable;

CREATE TABLE service_area (
  id           serial PRIMARY KEY,
  service_id   integer NOT NULL REFERENCES service(id) ON DELETE CASCADE,
  radius_km    double precision CHECK (radius_km > 0),
  region_code  varchar(8) REFERENCES region(code),
  area         geography(Geometry, 4326)
);
CREATE INDEX ix_service_area_service_id ON service_area (service_id);
-- "Comes to you": outreach areas covering the family (search/nearest.py).
CREATE INDEX ix_service_area_area ON service_area USING gist (area);

""" + ddl.SCHEDULE_TABLE + r"""
CREATE TABLE phone (
  id               serial PRIMARY KEY,
  organization_id  integer NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
  service_id       integer REFERENCES service(id) ON DELETE CASCADE,
  location_id      integer REFERENCES location(id) ON DELETE CASCADE,
  number           text NOT NULL CHECK (number ~ '^\+[1-9][0-9]{6,14}$'),
  extension        text NOT NULL DEFAULT '',
  kind             text NOT NULL DEFAULT 'main' CHECK (kind IN ('main', 'intake', 'hotline', 'fax')),
  note             text NOT NULL DEFAULT ''
);
CREATE INDEX ix_phone_organization_id ON phone (organization_id);

-- Is a service open at an instant, judged in its location's own time zone? NULL when it has no hours.
""" + ddl.OPEN_AT_BY_SCHEDULE + r"""
-- service_at_location copies: filled on every insert/update of the row ...
""" + ddl.SAL_FILL_0001 + r"""
CREATE TRIGGER sal_fill BEFORE INSERT OR UPDATE ON service_at_location
  FOR EACH ROW EXECUTE FUNCTION rm_sal_fill();

-- ... and refreshed when the location, service or organization they copy changes.
CREATE FUNCTION rm_sal_refresh_location() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE service_at_location SET id = id WHERE location_id = NEW.id;
  RETURN NULL;
END $$;
CREATE TRIGGER location_refresh_sal AFTER UPDATE OF geog, timezone ON location
  FOR EACH ROW EXECUTE FUNCTION rm_sal_refresh_location();

CREATE FUNCTION rm_sal_refresh_service() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE service_at_location SET id = id WHERE service_id = NEW.id;
  RETURN NULL;
END $$;
CREATE TRIGGER service_refresh_sal
  AFTER UPDATE OF type_code, delivery, age_min_months, age_max_months, active ON service
  FOR EACH ROW EXECUTE FUNCTION rm_sal_refresh_service();

CREATE FUNCTION rm_sal_refresh_organization() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE service_at_location sal SET id = sal.id
    FROM service s WHERE s.id = sal.service_id AND s.organization_id = NEW.id;
  RETURN NULL;
END $$;
CREATE TRIGGER organization_refresh_sal AFTER UPDATE OF status ON organization
  FOR EACH ROW EXECUTE FUNCTION rm_sal_refresh_organization();
"""

DROP = """
DROP TABLE IF EXISTS phone, schedule, service_area, service_at_location, service, location, organization,
  taxonomy_term, settlement_name, settlement, district, region CASCADE;
DROP FUNCTION IF EXISTS rm_sal_fill, rm_sal_refresh_location, rm_sal_refresh_service,
  rm_sal_refresh_organization, rm_name_norm, rm_open_at;
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    op.execute(DROP)
