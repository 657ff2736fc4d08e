-- The database's own code in force: every function and trigger of the app after the newest migration, as
-- pg_get_functiondef and pg_get_triggerdef print them (functions of extensions such as PostGIS left out).
-- Generated from a freshly migrated database; do not edit by hand: change the code in a new migration, then run
--     python -m resourcemap.schema --code
-- tests/test_database_code.py fails while this file and the migrated database differ.

-- Functions

-- rm_area_fill_kind()
CREATE OR REPLACE FUNCTION public.rm_area_fill_kind()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  NEW.type_code := CASE WHEN NEW.region_code IS NOT NULL
                        THEN (SELECT s.type_code FROM service s WHERE s.id = NEW.service_id) END;
  RETURN NEW;
END $function$;

-- rm_area_follow_kind()
CREATE OR REPLACE FUNCTION public.rm_area_follow_kind()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  UPDATE service_area SET type_code = NEW.type_code WHERE service_id = NEW.id AND region_code IS NOT NULL;
  RETURN NULL;
END $function$;

-- rm_change_context(OUT change_set bigint, OUT account_id integer, OUT actor_email text, OUT note text)
CREATE OR REPLACE FUNCTION public.rm_change_context(OUT change_set bigint, OUT account_id integer, OUT actor_email text, OUT note text)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
  cs text := nullif(current_setting('resourcemap.change_set', true), '');
BEGIN
  IF cs IS NULL THEN
    cs := nextval('change_set_seq')::text;
    PERFORM set_config('resourcemap.change_set', cs, true);
  END IF;
  change_set := cs::bigint;
  account_id := nullif(current_setting('resourcemap.actor_id', true), '')::integer;
  actor_email := coalesce(current_setting('resourcemap.actor_email', true), '');
  note := coalesce(current_setting('resourcemap.note', true), '');
END $function$;

-- rm_change_organization_sql(entity text)
CREATE OR REPLACE FUNCTION public.rm_change_organization_sql(entity text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE
AS $function$
  SELECT CASE entity
    WHEN 'organization' THEN 't.id'
    WHEN 'location' THEN 't.organization_id'
    WHEN 'service' THEN 't.organization_id'
    WHEN 'phone' THEN 't.organization_id'
    ELSE 'rm_org.organization_id' END
$function$;

-- rm_change_record_sql(entity text)
CREATE OR REPLACE FUNCTION public.rm_change_record_sql(entity text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE
AS $function$
  SELECT CASE entity
    WHEN 'organization' THEN $r$to_jsonb(t) - '{version,created_at,updated_at}'::text[]$r$
    WHEN 'location' THEN $r$to_jsonb(t) - 'geog' || jsonb_build_object('point', jsonb_build_object('lat', ST_Y(t.geog::geometry), 'lon', ST_X(t.geog::geometry)))$r$
    WHEN 'service' THEN $r$to_jsonb(t) - 'capacity_updated_at'$r$
    WHEN 'service_at_location' THEN
      $r$jsonb_build_object('id', t.id, 'service_id', t.service_id, 'location_id', t.location_id)$r$
    WHEN 'service_area' THEN $r$jsonb_build_object('id', t.id, 'service_id', t.service_id, 'radius_km', t.radius_km,
        'region_code', t.region_code,
        'area', CASE WHEN t.radius_km IS NULL AND t.area IS NOT NULL THEN ST_AsGeoJSON(t.area)::jsonb END)$r$
    ELSE 'to_jsonb(t)' END
$function$;

-- rm_change_rows_sql(entity text, rows text)
CREATE OR REPLACE FUNCTION public.rm_change_rows_sql(entity text, rows text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE
AS $function$
  SELECT CASE WHEN entity IN ('organization', 'location', 'service', 'phone') THEN rows || ' t'
    ELSE rows || ' t LEFT JOIN service rm_org ON rm_org.id = t.service_id' END
$function$;

-- rm_coverage_mark_all()
CREATE OR REPLACE FUNCTION public.rm_coverage_mark_all()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  INSERT INTO coverage_dirty (type_code, whole)
    SELECT t.code, true FROM taxonomy_term t
    WHERE NOT EXISTS (SELECT 1 FROM coverage_dirty d WHERE d.whole AND d.type_code = t.code);
  PERFORM pg_notify('resourcemap_coverage', '');
  RETURN NULL;
END $function$;

-- rm_coverage_mark_area()
CREATE OR REPLACE FUNCTION public.rm_coverage_mark_area()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY CASE TG_OP WHEN 'INSERT' THEN ARRAY['new_rows'] WHEN 'DELETE' THEN ARRAY['old_rows']
                                ELSE ARRAY['old_rows', 'new_rows'] END LOOP
    EXECUTE format('INSERT INTO coverage_dirty (type_code, sal_id, point, reach_m, area)'
                   ' SELECT sal.type_code, sal.id, sal.geog, a.radius_km * 1000.0,'
                   '        CASE WHEN a.radius_km IS NULL THEN a.area END'
                   ' FROM %I a JOIN service_at_location sal ON sal.service_id = a.service_id'
                   ' WHERE sal.searchable AND sal.delivery = ''outreach'''
                   '   AND (a.radius_km IS NOT NULL OR a.area IS NOT NULL)', t);
  END LOOP;
  PERFORM pg_notify('resourcemap_coverage', '');
  RETURN NULL;
END $function$;

-- rm_coverage_mark_sal()
CREATE OR REPLACE FUNCTION public.rm_coverage_mark_sal()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
  changed text := '';
BEGIN
  IF TG_OP = 'UPDATE' THEN
    changed := ' AND EXISTS (SELECT 1 FROM old_rows o2 JOIN new_rows n2 ON n2.id = o2.id WHERE o2.id = %s.id'
               ' AND (o2.searchable, o2.type_code, o2.delivery, o2.geog::text, o2.confidential, o2.service_id)'
               ' IS DISTINCT FROM (n2.searchable, n2.type_code, n2.delivery, n2.geog::text, n2.confidential,'
               ' n2.service_id))';
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    EXECUTE 'INSERT INTO coverage_dirty (type_code, sal_id) SELECT o.type_code, o.id FROM old_rows o'
            ' WHERE o.searchable AND o.delivery <> ''online''' || format(changed, 'o');
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    EXECUTE 'INSERT INTO coverage_dirty (type_code, sal_id, point) SELECT n.type_code, n.id, n.geog FROM new_rows n'
            ' WHERE n.searchable AND n.delivery <> ''online''' || format(changed, 'n');
    EXECUTE 'INSERT INTO coverage_dirty (type_code, sal_id, point, reach_m, area)'
            ' SELECT n.type_code, n.id, n.geog, a.radius_km * 1000.0, CASE WHEN a.radius_km IS NULL THEN a.area END'
            ' FROM new_rows n JOIN service_area a ON a.service_id = n.service_id'
            ' WHERE n.searchable AND n.delivery = ''outreach'' AND (a.radius_km IS NOT NULL OR a.area IS NOT NULL)'
            || format(changed, 'n');
  END IF;
  PERFORM pg_notify('resourcemap_coverage', '');
  RETURN NULL;
END $function$;

-- rm_create_knn_index(code text)
CREATE OR REPLACE FUNCTION public.rm_create_knn_index(code text)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
BEGIN
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON service_at_location USING gist ((geog::geometry))'
                 ' WHERE searchable AND type_code = %L AND NOT confidential', 'ix_sal_knn_' || code, code);
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON service_at_location USING gist ((geog::geometry))'
                 ' WHERE searchable AND type_code = %L AND delivery IN (''on_site'', ''outreach'')',
                 'ix_sal_cov_' || code, code);
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON service_at_location USING gist ((geog::geometry))'
                 ' WHERE searchable AND type_code = %L AND delivery = ''outreach''', 'ix_sal_reach_' || code, code);
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON service_at_location USING gist ((public_geog::geometry))'
                 ' WHERE searchable AND confidential AND type_code = %L AND delivery IN (''on_site'', ''outreach'')',
                 'ix_sal_hidden_' || code, code);
END $function$;

-- rm_district_at(p geometry, region text)
CREATE OR REPLACE FUNCTION public.rm_district_at(p geometry, region text)
 RETURNS integer
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
  SELECT dp.district_id FROM district_part dp JOIN district d ON d.id = dp.district_id
  WHERE ST_Intersects(dp.geom, p) AND d.region_code = region
  ORDER BY dp.district_id LIMIT 1
$function$;

-- rm_geodesic_box(g geography, r double precision)
CREATE OR REPLACE FUNCTION public.rm_geodesic_box(g geography, r double precision)
 RETURNS geometry
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
  SELECT CASE
      WHEN r IS NULL OR abs(ST_Y(CAST(g AS geometry))) + degrees(r * 1.01 / 6356752.0) >= 89.9
           OR sin(r * 1.01 / 6356752.0) >= cos(radians(ST_Y(CAST(g AS geometry)))) THEN
        ST_MakeEnvelope(-180, -90, 180, 90, 4326)
      WHEN abs(ST_X(CAST(g AS geometry)))
           + degrees(asin(sin(r * 1.01 / 6356752.0) / cos(radians(ST_Y(CAST(g AS geometry)))))) > 180 THEN
        ST_MakeEnvelope(-180, ST_Y(CAST(g AS geometry)) - degrees(r * 1.01 / 6356752.0),
                        180, ST_Y(CAST(g AS geometry)) + degrees(r * 1.01 / 6356752.0), 4326)
      ELSE ST_Expand(CAST(g AS geometry),
                     degrees(asin(sin(r * 1.01 / 6356752.0) / cos(radians(ST_Y(CAST(g AS geometry)))))),
                     degrees(r * 1.01 / 6356752.0))
    END
$function$;

-- rm_hours_open(hours int4multirange, timezone text, at timestamp with time zone)
CREATE OR REPLACE FUNCTION public.rm_hours_open(hours int4multirange, timezone text, at timestamp with time zone)
 RETURNS boolean
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
  SELECT hours @> rm_week_minute(at AT TIME ZONE timezone)
$function$;

-- rm_map_apply(ids integer[])
CREATE OR REPLACE FUNCTION public.rm_map_apply(ids integer[])
 RETURNS void
 LANGUAGE plpgsql
 SET work_mem TO '64MB'
AS $function$
DECLARE
  emptied map_grid_cell[];
BEGIN
  WITH due AS MATERIALIZED (SELECT * FROM map_point_due WHERE location_id = ANY(ids)),
  was AS MATERIALIZED (SELECT location_id, lat, lon, kinds FROM map_point WHERE location_id = ANY(ids)),
  delta AS (
    SELECT g.level, floor(x.lon / g.cell_deg)::int AS cx, floor(x.lat / g.cell_deg)::int AS cy, r.kinds,
           sum(x.n)::int AS n, sum(x.n * rm_nano(x.lat)) AS lat, sum(x.n * rm_nano(x.lon)) AS lon
    FROM (SELECT 1 AS n, lat, lon, kinds FROM due UNION ALL SELECT -1, lat, lon, kinds FROM was) x
    CROSS JOIN LATERAL (VALUES ('{}'::text[]), (x.kinds)) r (kinds)
    CROSS JOIN map_grid_level g
    GROUP BY 1, 2, 3, 4
    HAVING sum(x.n) <> 0 OR sum(x.n * rm_nano(x.lat)) <> 0 OR sum(x.n * rm_nano(x.lon)) <> 0),
  counted AS (
    INSERT INTO map_grid_cell AS c (level, cx, cy, kinds, locations, sum_lat, sum_lon)
    SELECT level, cx, cy, kinds, n, lat, lon FROM delta ORDER BY level, cx, cy, kinds
    ON CONFLICT (level, cx, cy, kinds) DO UPDATE
      SET locations = c.locations + excluded.locations, sum_lat = c.sum_lat + excluded.sum_lat,
          sum_lon = c.sum_lon + excluded.sum_lon
    RETURNING c.*),
  unpublished AS (
    DELETE FROM map_point p WHERE p.location_id = ANY(ids)
      AND NOT EXISTS (SELECT 1 FROM due WHERE due.location_id = p.location_id)),
  published AS (
    INSERT INTO map_point AS p
    SELECT *, ST_SetSRID(ST_MakePoint(lon, lat), 4326) FROM due
    ON CONFLICT (location_id) DO UPDATE
      SET organization_id = excluded.organization_id, lat = excluded.lat, lon = excluded.lon,
          kinds = excluded.kinds, confidential = excluded.confidential, approximate = excluded.approximate,
          organization_name = excluded.organization_name, is_synthetic = excluded.is_synthetic,
          settlement_id = excluded.settlement_id, settlement_name = excluded.settlement_name, geom = excluded.geom)
  SELECT array_agg(ROW(level, cx, cy, kinds, locations, sum_lat, sum_lon)::map_grid_cell) INTO emptied
  FROM counted WHERE locations = 0;
  IF emptied IS NOT NULL THEN
    DELETE FROM map_grid_cell c USING unnest(emptied) e
    WHERE (c.level, c.cx, c.cy, c.kinds) = (e.level, e.cx, e.cy, e.kinds) AND c.locations = 0;
  END IF;
END $function$;

-- rm_map_flush()
CREATE OR REPLACE FUNCTION public.rm_map_flush()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
  ids integer[];
  plans text := current_setting('plan_cache_mode');
BEGIN
  DELETE FROM map_flush WHERE txid = txid_current();
  WITH done AS (DELETE FROM map_dirty WHERE txid = txid_current() RETURNING location_id)
  SELECT array_agg(location_id ORDER BY location_id) INTO ids FROM done;
  IF ids IS NULL THEN
    RETURN NULL;
  END IF;
  -- One flush at a time until commit: the next statement's snapshot holds every earlier flush.
  PERFORM pg_advisory_xact_lock(hashtext('resourcemap.map_grid'));
  IF cardinality(ids) > 1000 AND cardinality(ids) * 2 > (SELECT count(*) FROM map_point) THEN
    PERFORM rm_map_rebuild();  -- e.g. a first bulk load: cheaper than a difference twice the map's size
  ELSE
    -- A save touches a few locations: reuse the session's plan of rm_map_apply (planning it costs more than
    -- running it); a batch gets a plan for its size.
    PERFORM set_config('plan_cache_mode',
                       CASE WHEN cardinality(ids) <= 200 THEN 'force_generic_plan' ELSE 'force_custom_plan' END, true);
    PERFORM rm_map_apply(ids);
    PERFORM set_config('plan_cache_mode', plans, true);
  END IF;
  RETURN NULL;
END $function$;

-- rm_map_forget()
CREATE OR REPLACE FUNCTION public.rm_map_forget()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  TRUNCATE map_point, map_grid_cell;
  DELETE FROM map_dirty;  -- not TRUNCATE: map_flush may have a queued (deferred) trigger event
  DELETE FROM map_flush;
  RETURN NULL;
END $function$;

-- rm_map_mark()
CREATE OR REPLACE FUNCTION public.rm_map_mark()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
  marked bigint;
BEGIN
  IF TG_TABLE_NAME = 'location' THEN
    EXECUTE $q$INSERT INTO map_dirty (location_id)
      SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
      WHERE (n.geog::text, n.confidential, n.active, n.organization_id, n.approximate, n.settlement_id)
            IS DISTINCT FROM (o.geog::text, o.confidential, o.active, o.organization_id, o.approximate, o.settlement_id)
      ON CONFLICT DO NOTHING$q$;
  ELSIF TG_TABLE_NAME = 'organization' THEN
    EXECUTE $q$INSERT INTO map_dirty (location_id)
      SELECT l.id FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN location l ON l.organization_id = n.id
      WHERE (n.name, n.is_synthetic) IS DISTINCT FROM (o.name, o.is_synthetic)
      ON CONFLICT DO NOTHING$q$;
  ELSIF TG_TABLE_NAME = 'settlement' THEN
    EXECUTE $q$INSERT INTO map_dirty (location_id)
      SELECT l.id FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN location l ON l.settlement_id = n.id
      WHERE n.name_ru IS DISTINCT FROM o.name_ru
      ON CONFLICT DO NOTHING$q$;
  ELSIF TG_OP = 'INSERT' THEN
    EXECUTE $q$INSERT INTO map_dirty (location_id) SELECT DISTINCT location_id FROM new_rows WHERE searchable
      ON CONFLICT DO NOTHING$q$;
  ELSIF TG_OP = 'DELETE' THEN
    EXECUTE $q$INSERT INTO map_dirty (location_id) SELECT DISTINCT location_id FROM old_rows WHERE searchable
      ON CONFLICT DO NOTHING$q$;
  ELSE
    EXECUTE $q$INSERT INTO map_dirty (location_id)
      SELECT DISTINCT unnest(ARRAY[o.location_id, n.location_id]) FROM new_rows n JOIN old_rows o ON o.id = n.id
      WHERE (o.searchable OR n.searchable)
        AND (o.searchable, o.type_code, o.location_id) IS DISTINCT FROM (n.searchable, n.type_code, n.location_id)
      ON CONFLICT DO NOTHING$q$;
  END IF;
  GET DIAGNOSTICS marked = ROW_COUNT;
  IF marked > 0 THEN
    INSERT INTO map_flush DEFAULT VALUES ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $function$;

-- rm_map_rebuild()
CREATE OR REPLACE FUNCTION public.rm_map_rebuild()
 RETURNS void
 LANGUAGE plpgsql
 SET work_mem TO '256MB'
AS $function$
DECLARE
  g record;
  finer smallint;
  shift integer;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('resourcemap.map_grid'));
  DELETE FROM map_point;
  DELETE FROM map_grid_cell;
  -- In geohash order: a view's points then lie on few pages (later changes append, a rebuild reorders).
  INSERT INTO map_point SELECT *, ST_SetSRID(ST_MakePoint(lon, lat), 4326) FROM map_point_due
  ORDER BY ST_GeoHash(ST_SetSRID(ST_MakePoint(lon, lat), 4326), 12);
  FOR g IN SELECT level, cell_deg FROM map_grid_level ORDER BY cell_deg LOOP
    SELECT f.level, p.k INTO finer, shift
    FROM map_grid_level f
    CROSS JOIN LATERAL (SELECT round(log(2.0, (g.cell_deg / f.cell_deg)::numeric))::int AS k) p
    WHERE f.cell_deg < g.cell_deg AND f.cell_deg * 2::float8 ^ p.k = g.cell_deg
    ORDER BY f.cell_deg DESC LIMIT 1;
    IF finer IS NOT NULL THEN
      INSERT INTO map_grid_cell (level, cx, cy, kinds, locations, sum_lat, sum_lon)
      SELECT g.level, c.cx >> shift, c.cy >> shift, c.kinds, sum(c.locations), sum(c.sum_lat), sum(c.sum_lon)
      FROM map_grid_cell c WHERE c.level = finer
      GROUP BY 2, 3, 4 ORDER BY 2, 3, 4;
    ELSE
      INSERT INTO map_grid_cell (level, cx, cy, kinds, locations, sum_lat, sum_lon)
      SELECT g.level, floor(p.lon / g.cell_deg)::int, floor(p.lat / g.cell_deg)::int, r.kinds, count(*),
             sum(rm_nano(p.lat)), sum(rm_nano(p.lon))
      FROM map_point p CROSS JOIN LATERAL (VALUES ('{}'::text[]), (p.kinds)) r (kinds)
      GROUP BY 2, 3, 4 ORDER BY 2, 3, 4;
    END IF;
  END LOOP;
END $function$;

-- rm_name_norm(name text)
CREATE OR REPLACE FUNCTION public.rm_name_norm(name text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE STRICT
AS $function$
  SELECT btrim(regexp_replace(regexp_replace(translate(lower(public.unaccent('public.unaccent'::regdictionary, translate(name, 'ёЁ', 'еЕ'))), 'әөүұқғңһі', 'аоуукгнхи'), '[^[:alnum:]]+', ' ', 'g'), '\s+', ' ', 'g'))
$function$;

-- rm_nano(deg double precision)
CREATE OR REPLACE FUNCTION public.rm_nano(deg double precision)
 RETURNS bigint
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
  SELECT round(deg * 1e9::float8)::bigint
$function$;

-- rm_open_at(p_service_id integer, p_timezone text, p_at timestamp with time zone)
CREATE OR REPLACE FUNCTION public.rm_open_at(p_service_id integer, p_timezone text, p_at timestamp with time zone)
 RETURNS boolean
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
  SELECT rm_hours_open(s.hours, p_timezone, p_at) FROM service s WHERE s.id = p_service_id
$function$;

-- rm_place_name_add()
CREATE OR REPLACE FUNCTION public.rm_place_name_add()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  INSERT INTO place_name SELECT DISTINCT name_norm FROM new_names ON CONFLICT DO NOTHING;
  RETURN NULL;
END $function$;

-- rm_place_name_drop()
CREATE OR REPLACE FUNCTION public.rm_place_name_drop()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  DELETE FROM place_name p WHERE p.name_norm IN (SELECT name_norm FROM old_names)
    AND NOT EXISTS (SELECT 1 FROM settlement_name sn WHERE sn.name_norm = p.name_norm);
  RETURN NULL;
END $function$;

-- rm_place_name_renamed()
CREATE OR REPLACE FUNCTION public.rm_place_name_renamed()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  INSERT INTO place_name VALUES (NEW.name_norm) ON CONFLICT DO NOTHING;
  DELETE FROM place_name p WHERE p.name_norm = OLD.name_norm
    AND NOT EXISTS (SELECT 1 FROM settlement_name sn WHERE sn.name_norm = OLD.name_norm);
  RETURN NULL;
END $function$;

-- rm_public_geog(g geography)
CREATE OR REPLACE FUNCTION public.rm_public_geog(g geography)
 RETURNS geography
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO 'public', 'pg_temp'
AS $function$
  SELECT CAST(ST_SetSRID(ST_MakePoint(rm_public_lon(ST_Y(CAST(g AS geometry)), ST_X(CAST(g AS geometry)), true),
                                      rm_public_lat(ST_Y(CAST(g AS geometry)), true)), 4326) AS geography)
$function$;

-- rm_public_lat(lat double precision, confidential boolean)
CREATE OR REPLACE FUNCTION public.rm_public_lat(lat double precision, confidential boolean)
 RETURNS double precision
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
  SELECT CASE WHEN confidential
    THEN (floor(lat / (5::float8 / 111.32::float8)) + 0.5) * (5::float8 / 111.32::float8) ELSE lat END
$function$;

-- rm_public_lon(lat double precision, lon double precision, confidential boolean)
CREATE OR REPLACE FUNCTION public.rm_public_lon(lat double precision, lon double precision, confidential boolean)
 RETURNS double precision
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
  SELECT CASE WHEN confidential THEN
    (floor(lon / (5::float8 / (111.32::float8 * greatest(cos(radians(rm_public_lat(lat, true))), 0.05::float8))))
     + 0.5) * (5::float8 / (111.32::float8 * greatest(cos(radians(rm_public_lat(lat, true))), 0.05::float8)))
  ELSE lon END
$function$;

-- rm_record_change()
CREATE OR REPLACE FUNCTION public.rm_record_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
  ctx record;
  rec text := rm_change_record_sql(TG_TABLE_NAME);
  org text := rm_change_organization_sql(TG_TABLE_NAME);
BEGIN
  IF current_setting('resourcemap.history', true) = 'off' THEN
    RETURN NULL;
  END IF;
  ctx := rm_change_context();
  IF TG_OP = 'INSERT' THEN
    EXECUTE format(
      'INSERT INTO change (change_set, account_id, actor_email, note, organization_id, entity, entity_id, new, op)'
      ' SELECT $1, $2, $3, $4, %s, %L, t.id, %s, ''insert'' FROM %s',
      org, TG_TABLE_NAME, rec, rm_change_rows_sql(TG_TABLE_NAME, 'new_rows'))
      USING ctx.change_set, ctx.account_id, ctx.actor_email, ctx.note;
  ELSIF TG_OP = 'DELETE' THEN
    EXECUTE format(
      'INSERT INTO change (change_set, account_id, actor_email, note, organization_id, entity, entity_id, old, op)'
      ' SELECT $1, $2, $3, $4, %s, %L, t.id, %s, ''delete'' FROM %s',
      org, TG_TABLE_NAME, rec, rm_change_rows_sql(TG_TABLE_NAME, 'old_rows'))
      USING ctx.change_set, ctx.account_id, ctx.actor_email, ctx.note;
  ELSE
    EXECUTE format(
      'INSERT INTO change (change_set, account_id, actor_email, note, organization_id, entity, entity_id,'
      '                    field, old, new, op)'
      ' WITH n AS MATERIALIZED (SELECT t.id, %s AS org, %s AS r FROM %s),'
      '      o AS MATERIALIZED (SELECT t.id, %s AS r FROM old_rows t)'
      ' SELECT $1, $2, $3, $4, n.org, %L, n.id, f.key, o.r -> f.key, f.value, ''update'''
      ' FROM n JOIN o ON o.id = n.id CROSS JOIN LATERAL jsonb_each(n.r) f'
      ' WHERE f.value IS DISTINCT FROM o.r -> f.key'
      ' ORDER BY n.id, f.key', org, rec, rm_change_rows_sql(TG_TABLE_NAME, 'new_rows'), rec, TG_TABLE_NAME)
      USING ctx.change_set, ctx.account_id, ctx.actor_email, ctx.note;
  END IF;
  RETURN NULL;
END $function$;

-- rm_region_at(p geometry, tolerance_m double precision)
CREATE OR REPLACE FUNCTION public.rm_region_at(p geometry, tolerance_m double precision DEFAULT 5000)
 RETURNS text
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
  SELECT coalesce(
    (SELECT rp.region_code FROM region_part rp WHERE ST_Intersects(rp.geom, p) LIMIT 1),
    (SELECT near.region_code
       FROM (SELECT rp.region_code, rp.geom FROM region_part rp ORDER BY rp.geom <-> p LIMIT 16) near
      WHERE ST_DWithin(near.geom::geography, p::geography, tolerance_m)
      ORDER BY ST_Distance(near.geom::geography, p::geography) LIMIT 1))
$function$;

-- rm_sal_fill()
CREATE OR REPLACE FUNCTION public.rm_sal_fill()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
  location_active boolean;
BEGIN
  SELECT l.geog, l.timezone, l.active, l.confidential INTO NEW.geog, NEW.timezone, location_active, NEW.confidential
    FROM location l WHERE l.id = NEW.location_id;
  SELECT s.type_code, s.delivery, s.age_min_months, s.age_max_months,
         s.active AND o.status = 'published' AND coalesce(location_active, false), s.conditions, s.cost
    INTO NEW.type_code, NEW.delivery, NEW.age_min_months, NEW.age_max_months, NEW.searchable, NEW.conditions, NEW.cost
    FROM service s JOIN organization o ON o.id = s.organization_id WHERE s.id = NEW.service_id;
  RETURN NEW;
END $function$;

-- rm_sal_refresh_location()
CREATE OR REPLACE FUNCTION public.rm_sal_refresh_location()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  UPDATE service_at_location SET id = id WHERE location_id = NEW.id;
  RETURN NULL;
END $function$;

-- rm_sal_refresh_locations()
CREATE OR REPLACE FUNCTION public.rm_sal_refresh_locations()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  EXECUTE 'UPDATE service_at_location sal SET id = sal.id
           FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE sal.location_id = n.id
             AND (n.geog::text, n.timezone, n.active, n.confidential) IS DISTINCT FROM (o.geog::text, o.timezone, o.active, o.confidential)';
  RETURN NULL;
END $function$;

-- rm_sal_refresh_organization()
CREATE OR REPLACE FUNCTION public.rm_sal_refresh_organization()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  UPDATE service_at_location sal SET id = sal.id
    FROM service s WHERE s.id = sal.service_id AND s.organization_id = NEW.id;
  RETURN NULL;
END $function$;

-- rm_sal_refresh_organizations()
CREATE OR REPLACE FUNCTION public.rm_sal_refresh_organizations()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  EXECUTE 'UPDATE service_at_location sal SET id = sal.id
           FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN service s ON s.organization_id = n.id WHERE sal.service_id = s.id
             AND (n.status) IS DISTINCT FROM (o.status)';
  RETURN NULL;
END $function$;

-- rm_sal_refresh_service()
CREATE OR REPLACE FUNCTION public.rm_sal_refresh_service()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  UPDATE service_at_location SET id = id WHERE service_id = NEW.id;
  RETURN NULL;
END $function$;

-- rm_sal_refresh_services()
CREATE OR REPLACE FUNCTION public.rm_sal_refresh_services()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  EXECUTE 'UPDATE service_at_location sal SET id = sal.id
           FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE sal.service_id = n.id
             AND (n.type_code, n.delivery, n.age_min_months, n.age_max_months, n.active, n.conditions, n.cost) IS DISTINCT FROM (o.type_code, o.delivery, o.age_min_months, o.age_max_months, o.active, o.conditions, o.cost)';
  RETURN NULL;
END $function$;

-- rm_settlement_name_copies()
CREATE OR REPLACE FUNCTION public.rm_settlement_name_copies()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  SELECT s.population, s.region_code, s.district_id INTO NEW.population, NEW.region_code, NEW.district_id
  FROM settlement s WHERE s.id = NEW.settlement_id;
  RETURN NEW;
END $function$;

-- rm_settlement_name_refresh()
CREATE OR REPLACE FUNCTION public.rm_settlement_name_refresh()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  UPDATE settlement_name sn SET population = n.population, region_code = n.region_code, district_id = n.district_id
  FROM new_settlements n
  WHERE sn.settlement_id = n.id
    AND (sn.population, sn.region_code, sn.district_id) IS DISTINCT FROM (n.population, n.region_code, n.district_id);
  RETURN NULL;
END $function$;

-- rm_week_minute(local timestamp without time zone)
CREATE OR REPLACE FUNCTION public.rm_week_minute(local timestamp without time zone)
 RETURNS integer
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
  SELECT ((extract(isodow FROM local) - 1) * 1440 + extract(hour FROM local) * 60 + extract(minute FROM local))::int
$function$;

-- Triggers

-- on location
CREATE TRIGGER location_history_delete AFTER DELETE ON location REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change();
CREATE TRIGGER location_history_insert AFTER INSERT ON location REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change();
CREATE TRIGGER location_history_update AFTER UPDATE ON location REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change();
CREATE TRIGGER location_map_update AFTER UPDATE ON location REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_map_mark();
CREATE TRIGGER location_refresh_sal AFTER UPDATE ON location REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_sal_refresh_locations();

-- on map_flush
CREATE CONSTRAINT TRIGGER map_flush_at_commit AFTER INSERT ON map_flush DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION rm_map_flush();

-- on organization
CREATE TRIGGER organization_history_delete AFTER DELETE ON organization REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change();
CREATE TRIGGER organization_history_insert AFTER INSERT ON organization REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change();
CREATE TRIGGER organization_history_update AFTER UPDATE ON organization REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change();
CREATE TRIGGER organization_map_update AFTER UPDATE ON organization REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_map_mark();
CREATE TRIGGER organization_refresh_sal AFTER UPDATE ON organization REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_sal_refresh_organizations();

-- on phone
CREATE TRIGGER phone_history_delete AFTER DELETE ON phone REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change();
CREATE TRIGGER phone_history_insert AFTER INSERT ON phone REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change();
CREATE TRIGGER phone_history_update AFTER UPDATE ON phone REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change();

-- on service
CREATE TRIGGER service_area_follow_kind AFTER UPDATE OF type_code ON service FOR EACH ROW WHEN (old.type_code IS DISTINCT FROM new.type_code) EXECUTE FUNCTION rm_area_follow_kind();
CREATE TRIGGER service_history_delete AFTER DELETE ON service REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change();
CREATE TRIGGER service_history_insert AFTER INSERT ON service REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change();
CREATE TRIGGER service_history_update AFTER UPDATE ON service REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change();
CREATE TRIGGER service_refresh_sal AFTER UPDATE ON service REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_sal_refresh_services();

-- on service_area
CREATE TRIGGER service_area_coverage_delete AFTER DELETE ON service_area REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_coverage_mark_area();
CREATE TRIGGER service_area_coverage_insert AFTER INSERT ON service_area REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_coverage_mark_area();
CREATE TRIGGER service_area_coverage_update AFTER UPDATE ON service_area REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_coverage_mark_area();
CREATE TRIGGER service_area_fill_kind BEFORE INSERT OR UPDATE OF service_id, region_code ON service_area FOR EACH ROW WHEN (new.region_code IS NOT NULL OR new.type_code IS NOT NULL) EXECUTE FUNCTION rm_area_fill_kind();
CREATE TRIGGER service_area_history_delete AFTER DELETE ON service_area REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change();
CREATE TRIGGER service_area_history_insert AFTER INSERT ON service_area REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change();
CREATE TRIGGER service_area_history_update AFTER UPDATE ON service_area REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change();

-- on service_at_location
CREATE TRIGGER sal_coverage_delete AFTER DELETE ON service_at_location REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_coverage_mark_sal();
CREATE TRIGGER sal_coverage_insert AFTER INSERT ON service_at_location REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_coverage_mark_sal();
CREATE TRIGGER sal_coverage_truncate AFTER TRUNCATE ON service_at_location FOR EACH STATEMENT EXECUTE FUNCTION rm_coverage_mark_all();
CREATE TRIGGER sal_coverage_update AFTER UPDATE ON service_at_location REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_coverage_mark_sal();
CREATE TRIGGER sal_fill_insert BEFORE INSERT ON service_at_location FOR EACH ROW WHEN (new.searchable IS NULL) EXECUTE FUNCTION rm_sal_fill();
CREATE TRIGGER sal_fill_update BEFORE UPDATE ON service_at_location FOR EACH ROW EXECUTE FUNCTION rm_sal_fill();
CREATE TRIGGER sal_map_delete AFTER DELETE ON service_at_location REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_map_mark();
CREATE TRIGGER sal_map_insert AFTER INSERT ON service_at_location REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_map_mark();
CREATE TRIGGER sal_map_truncate AFTER TRUNCATE ON service_at_location FOR EACH STATEMENT EXECUTE FUNCTION rm_map_forget();
CREATE TRIGGER sal_map_update AFTER UPDATE ON service_at_location REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_map_mark();
CREATE TRIGGER service_at_location_history_delete AFTER DELETE ON service_at_location REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change();
CREATE TRIGGER service_at_location_history_insert AFTER INSERT ON service_at_location REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change();
CREATE TRIGGER service_at_location_history_update AFTER UPDATE ON service_at_location REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_record_change();

-- on settlement
CREATE TRIGGER settlement_coverage AFTER INSERT OR DELETE OR UPDATE OF geog, region_code ON settlement FOR EACH STATEMENT EXECUTE FUNCTION rm_coverage_mark_all();
CREATE TRIGGER settlement_map_update AFTER UPDATE ON settlement REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rm_map_mark();
CREATE TRIGGER tr_settlement_name_refresh AFTER UPDATE ON settlement REFERENCING NEW TABLE AS new_settlements FOR EACH STATEMENT EXECUTE FUNCTION rm_settlement_name_refresh();

-- on settlement_name
CREATE TRIGGER tr_place_name_delete AFTER DELETE ON settlement_name REFERENCING OLD TABLE AS old_names FOR EACH STATEMENT EXECUTE FUNCTION rm_place_name_drop();
CREATE TRIGGER tr_place_name_insert AFTER INSERT ON settlement_name REFERENCING NEW TABLE AS new_names FOR EACH STATEMENT EXECUTE FUNCTION rm_place_name_add();
CREATE TRIGGER tr_place_name_renamed AFTER UPDATE OF name_norm ON settlement_name FOR EACH ROW WHEN (old.name_norm IS DISTINCT FROM new.name_norm) EXECUTE FUNCTION rm_place_name_renamed();
CREATE TRIGGER tr_settlement_name_copies BEFORE INSERT ON settlement_name FOR EACH ROW WHEN (new.region_code IS NULL) EXECUTE FUNCTION rm_settlement_name_copies();
CREATE TRIGGER tr_settlement_name_moved BEFORE UPDATE OF settlement_id ON settlement_name FOR EACH ROW EXECUTE FUNCTION rm_settlement_name_copies();

-- on taxonomy_term
CREATE TRIGGER taxonomy_term_coverage AFTER INSERT ON taxonomy_term FOR EACH STATEMENT EXECUTE FUNCTION rm_coverage_mark_all();
