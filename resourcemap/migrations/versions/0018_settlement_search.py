"""Settlement suggestions at the census' size: exact and prefix names from one btree, Kazakh letters folded.

With the census (0017) the gazetteer holds ~167,000 settlements and ~206,000 spellings. The suggestion search read
every name through pg_trgm's GIN index (`%`, `<%` and LIKE 'q%' together): three letters («Нов») or a common ending
(«-овка») gave 5,000–27,000 candidates to recheck, 50–200 ms. Now (search/settlements.py):

- exact and prefix matches come from `ix_settlement_name_prefix`, a btree on name_norm (text_pattern_ops: a byte
  range `q <= name < q || U+10FFFF`, usable with the generic plans the app forces) that also holds what ranking
  needs — the settlement's population, region and district, copied into settlement_name — so the ranking of
  thousands of prefix matches reads the index only;
- names typed with a typo are looked up among the distinct names (`place_name`, ~119,000: «Ивановка» is one row,
  not 270), by pg_trgm's GIN index now on that table (`ix_place_name_trgm`), and only when the exact and prefix
  names are too few; on settlement_name the trigram lists of common names were 2–8× longer to read and recheck.

Triggers keep both: a name's row written without the copies takes them from its settlement (BEFORE INSERT; the
loader writes them itself); a statement that changes settlements' population, region or district passes the
change on (AFTER UPDATE, over the transition tables, only rows whose copies differ); statements that add or remove
spellings add their new names to place_name and remove the names no settlement has any more.

`rm_name_norm` also folds the Kazakh letters onto the Russian ones a Russian keyboard has (ә→а, ө→о, ү/ұ→у,
қ→к, ғ→г, ң→н, һ→х, і→и), so «Екібастұз» is found as «Екибастуз» and a Kazakh name typed without its letters is
found. The spellings of the settlements with a Kazakh letter in a name are normalized again from their names (as
load-regions makes them); the downgrade does the same with the former function.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _name_norm(kazakh: bool) -> str:
    """rm_name_norm: lower case, ё -> е, accents off, punctuation to spaces, spaces folded (0001); with `kazakh`,
    the Kazakh letters folded too."""
    lowered = "lower(public.unaccent('public.unaccent'::regdictionary, translate(name, 'ёЁ', 'еЕ')))"
    if kazakh:
        lowered = f"translate({lowered}, 'әөүұқғңһі', 'аоуукгнхи')"
    return f"""
CREATE OR REPLACE FUNCTION rm_name_norm(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT btrim(regexp_replace(regexp_replace({lowered}, '[^[:alnum:]]+', ' ', 'g'), '\\s+', ' ', 'g'))
$$;
"""


# The spellings of the settlements with a Kazakh letter in any name, normalized again (as
# data/gazetteer.py's SYNC_NAMES_SQL makes them): the only ones the Kazakh folding changes.
RENORMALIZE = """
CREATE TEMP TABLE tmp_kazakh ON COMMIT DROP AS
  SELECT s.id FROM settlement s
  WHERE array_to_string(array_append(array_append(s.alt_names, s.name_ru), s.name_kk), ' ')
        ~ '[ӘәӨөҮүҰұҚқҒғҢңҺһІі]';
DELETE FROM settlement_name WHERE settlement_id IN (SELECT id FROM tmp_kazakh);
INSERT INTO settlement_name (settlement_id, name_norm)
  SELECT DISTINCT s.id, rm_name_norm(n)
  FROM settlement s JOIN tmp_kazakh k ON k.id = s.id,
       unnest(array_append(array_append(s.alt_names, s.name_ru), s.name_kk)) AS n
  WHERE rm_name_norm(n) <> '';
DROP TABLE tmp_kazakh;
"""

# A migration that rewrites ~200,000 rows is no web request.
NO_TIMEOUT = "SET LOCAL statement_timeout = 0;\n"

UPGRADE = NO_TIMEOUT + _name_norm(kazakh=True) + """
ALTER TABLE settlement_name
  ADD COLUMN population integer,
  ADD COLUMN region_code varchar(8),
  ADD COLUMN district_id integer;
UPDATE settlement_name sn SET population = s.population, region_code = s.region_code, district_id = s.district_id
FROM settlement s WHERE s.id = sn.settlement_id;

CREATE FUNCTION rm_settlement_name_copies() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT s.population, s.region_code, s.district_id INTO NEW.population, NEW.region_code, NEW.district_id
  FROM settlement s WHERE s.id = NEW.settlement_id;
  RETURN NEW;
END $$;
CREATE TRIGGER tr_settlement_name_copies BEFORE INSERT ON settlement_name
  FOR EACH ROW WHEN (NEW.region_code IS NULL) EXECUTE FUNCTION rm_settlement_name_copies();
CREATE TRIGGER tr_settlement_name_moved BEFORE UPDATE OF settlement_id ON settlement_name
  FOR EACH ROW EXECUTE FUNCTION rm_settlement_name_copies();

CREATE FUNCTION rm_settlement_name_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE settlement_name sn SET population = n.population, region_code = n.region_code, district_id = n.district_id
  FROM new_settlements n
  WHERE sn.settlement_id = n.id
    AND (sn.population, sn.region_code, sn.district_id) IS DISTINCT FROM (n.population, n.region_code, n.district_id);
  RETURN NULL;
END $$;
CREATE TRIGGER tr_settlement_name_refresh AFTER UPDATE ON settlement
  REFERENCING NEW TABLE AS new_settlements FOR EACH STATEMENT EXECUTE FUNCTION rm_settlement_name_refresh();
""" + RENORMALIZE + """
CREATE TABLE place_name (name_norm text PRIMARY KEY);
INSERT INTO place_name SELECT DISTINCT name_norm FROM settlement_name;
CREATE FUNCTION rm_place_name_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO place_name SELECT DISTINCT name_norm FROM new_names ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
CREATE FUNCTION rm_place_name_drop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM place_name p WHERE p.name_norm IN (SELECT name_norm FROM old_names)
    AND NOT EXISTS (SELECT 1 FROM settlement_name sn WHERE sn.name_norm = p.name_norm);
  RETURN NULL;
END $$;
CREATE TRIGGER tr_place_name_insert AFTER INSERT ON settlement_name
  REFERENCING NEW TABLE AS new_names FOR EACH STATEMENT EXECUTE FUNCTION rm_place_name_add();
-- a spelling changed in place (no code does it; a hand-made UPDATE might): row by row
CREATE FUNCTION rm_place_name_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO place_name VALUES (NEW.name_norm) ON CONFLICT DO NOTHING;
  DELETE FROM place_name p WHERE p.name_norm = OLD.name_norm
    AND NOT EXISTS (SELECT 1 FROM settlement_name sn WHERE sn.name_norm = OLD.name_norm);
  RETURN NULL;
END $$;
CREATE TRIGGER tr_place_name_renamed AFTER UPDATE OF name_norm ON settlement_name
  FOR EACH ROW WHEN (OLD.name_norm IS DISTINCT FROM NEW.name_norm) EXECUTE FUNCTION rm_place_name_renamed();
CREATE TRIGGER tr_place_name_delete AFTER DELETE ON settlement_name
  REFERENCING OLD TABLE AS old_names FOR EACH STATEMENT EXECUTE FUNCTION rm_place_name_drop();

DROP INDEX ix_settlement_name_trgm;
CREATE INDEX ix_settlement_name_prefix ON settlement_name (name_norm text_pattern_ops)
  INCLUDE (settlement_id, population, region_code, district_id);
CREATE INDEX ix_place_name_trgm ON place_name USING gin (name_norm gin_trgm_ops);
ANALYZE settlement_name;
ANALYZE place_name;
"""

DOWNGRADE = NO_TIMEOUT + """
DROP TABLE place_name;
DROP FUNCTION rm_place_name_add() CASCADE;
DROP FUNCTION rm_place_name_drop() CASCADE;
DROP FUNCTION rm_place_name_renamed() CASCADE;
DROP INDEX ix_settlement_name_prefix;
DROP TRIGGER tr_settlement_name_refresh ON settlement;
DROP FUNCTION rm_settlement_name_refresh();
DROP FUNCTION rm_settlement_name_copies() CASCADE;
ALTER TABLE settlement_name DROP COLUMN population, DROP COLUMN region_code, DROP COLUMN district_id;
""" + _name_norm(kazakh=False) + RENORMALIZE + """
CREATE INDEX ix_settlement_name_trgm ON settlement_name USING gin (name_norm gin_trgm_ops);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
