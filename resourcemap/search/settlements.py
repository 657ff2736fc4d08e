"""Settlement search: where does the family live? Russian names with typos, ё/е, "г."/"с."/"пос." prefixes,
any case, Kazakh names (and Kazakh letters typed as Russian ones) and Latin transliteration. Every spelling is
normalized by the database's own `rm_name_norm` (unaccent, ё -> е, Kazakh letters folded); exact and prefix names
come from a btree, look-alikes from pg_trgm's GIN index on the distinct names (migration 0018).

A typed query is read as a place name with qualifiers around it (`parse_query`): settlement-kind words
(«деревня», «с.», «пгт») are no part of the name, and words naming a region or a district («Московская»,
«Моск. обл.», «Раменский р-н») narrow the candidates instead of spoiling the name. `find_place` then says whether
the place was found (exactly one settlement has this name there), is ambiguous (several namesakes: ask which),
or was not found (offer the closest names; never take one of them in its place)."""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ..data import settlements as places
from ..data.settlements import settlement_by_id
from . import reference

# How a settlement's name matches the typed one, best first.
EXACT, PREFIX, FUZZY = "exact", "prefix", "fuzzy"
# What became of a typed place.
FOUND, AMBIGUOUS, NOT_FOUND = "found", "ambiguous", "not_found"

# Words that say what kind of place it is. Never part of the name, and no filter either: the gazetteer's kinds
# (city, town, urban_settlement, village, from GeoNames and WOF) do not tell a деревня from a село or a посёлок.
_KIND_WORDS = frozenset((
    "г", "гор", "город", "с", "село", "п", "пос", "поселок", "пгт", "рп", "дп", "кп", "д", "дер", "деревня",
    "ст", "ст-ца", "станица", "х", "хут", "хутор", "сл", "слобода", "аул", "а", "мкр", "нп", "ауыл", "қ", "қала",
    "кент",
))
# Words that say the word beside them names a region or a district ("Раменский р-н", "Моск. обл.").
_AREA_MARKERS = frozenset((
    "р-н", "район", "района", "районе", "обл", "область", "области", "край", "края", "крае", "респ", "республика",
    "республики", "городской", "городского", "округ", "округа", "го", "муниципальный", "мо", "ао", "автономный",
    "автономная", "ауданы", "облысы",
))
_TOKEN_RE = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
AREA_WORD_MIN = 4           # shorter words never name a region or district
AREA_SIMILARITY = 0.55      # a misspelt region or district word («Масковская»), as pg_trgm's similarity counts
MAX_READINGS = 4            # ways of telling the name from its qualifiers tried for one query
MAX_WORDS = 8               # a longer query is read as a name only
FETCH = 50                  # candidates read per way: every namesake of even the commonest names («Каменка»)
FUZZY_MIN_LETTERS = 4       # shorter names are looked up exactly and by their beginning only


def _key(word: str) -> str:
    return word.lower().replace("ё", "е")


@dataclass(frozen=True)
class PlaceQuery:
    """A typed place split into settlement-kind words, which are dropped, and the other words in order: the
    name, and perhaps words naming its region or district."""
    typed: str
    kinds: tuple[str, ...]
    words: tuple[str, ...]

    @property
    def name(self) -> str:
        """All the words but the kind words and area markers (what was typed, if nothing else is left)."""
        return " ".join(self.words) or self.typed.strip()


def parse_query(raw: str) -> PlaceQuery:
    """«с. Богородское, Раменский р-н» -> kinds ("с",), words ("Богородское", "Раменский")."""
    kinds, words = [], []
    for token in _TOKEN_RE.findall(raw):
        key = _key(token)
        if key in _KIND_WORDS:
            kinds.append(token)
        elif key not in _AREA_MARKERS:
            words.extend(token.split("-"))  # «Сергиев-Посад» is two words, as rm_name_norm makes it
    return PlaceQuery(raw, tuple(kinds), tuple(words))


def clean_query(raw: str) -> str:
    """The place name in what was typed: kind words such as "г.", "пос.", "р-н" removed."""
    return parse_query(raw).name


@functools.lru_cache(maxsize=16384)
def _trigrams(word: str) -> frozenset[str]:
    padded = f"  {word} "
    return frozenset(padded[i:i + 3] for i in range(len(word) + 1))


def _similar(a: str, b: str) -> bool:
    ta, tb = _trigrams(a), _trigrams(b)
    return len(ta & tb) >= AREA_SIMILARITY * len(ta | tb)


def area_of_word(session: Session, word: str) -> dict | None:
    """The regions and districts a typed word can name: a word of their name begins with it («Моск») or with its
    stem («Московской», «Раменского»: the last three letters off), or the typed word is that word misspelt
    («Масковская»).
    {"regions": [code], "districts": [id]}, or None for a word too short or naming nothing."""
    w = _key(word)
    if len(w) < AREA_WORD_MIN or not w.isalpha():
        return None
    stem = w if len(w) <= 6 else w[:-3]
    regions, districts = set(), set()
    for entry in reference.area_name_words(session):
        part = entry["word"]
        if part.startswith(stem) or (len(w) >= 6 and _similar(w, part)):
            regions.update(entry["regions"] or ())
            districts.update(entry["districts"] or ())
    return {"regions": sorted(regions), "districts": sorted(districts)} if regions or districts else None


@dataclass(frozen=True)
class Reading:
    """One way to read the words: this name, in the areas the other words name (all of them)."""
    name: str
    area: tuple[str, ...] = ()
    areas: list[dict] = field(default_factory=list, compare=False)


def readings(query: PlaceQuery, areas: list[dict | None]) -> list[Reading]:
    """The whole name first; then each shorter run of words whose other words all name an area, longest first.
    `areas`: what each word names (area_of_word)."""
    words, n = query.words, len(query.words)
    found = []
    for length in range(n, 0, -1):
        for start in range(n - length + 1):
            outside = [i for i in range(n) if not start <= i < start + length]
            if all(areas[i] for i in outside):
                found.append(Reading(" ".join(words[start:start + length]), tuple(words[i] for i in outside),
                                     [areas[i] for i in outside]))
    return found


_MATCH = {3: EXACT, 2: PREFIX, 1: FUZZY}
_BONUS = {3: 1.0, 2: 0.5, 1: 0.0}


def _search(session: Session, reading: Reading, region: str | None, limit: int, fetch: int,
            prefer: str | None = None) -> list[dict]:
    """Settlements whose names match `reading`, best first: in the named area, then exact names, names beginning
    with it, names only like it; among equals the family's region (`prefer`) first, then the bigger place. The
    look-alikes are asked for only when the exact and prefix names are fewer than `limit`, and the name has
    FUZZY_MIN_LETTERS or more (a typo in three letters makes another name, not a misspelt one)."""
    name = places.normalized_name(session, reading.name)
    if not name:  # typed only punctuation ("!±"): no letters to match
        return []
    params = {"q": name, "areas": json.dumps(reading.areas), "region": region, "prefer": prefer,
              "fetch": fetch}
    hits = places.name_hits(session, params)
    if len(hits) < limit and len(name) >= FUZZY_MIN_LETTERS:
        hits += places.fuzzy_name_hits(session, {**params, "fetch": fetch - len(hits),
                                                 "found": [h["settlement_id"] for h in hits]})
    if not hits:
        return []
    details = places.settlements_shown(session, name, [h["settlement_id"] for h in hits])
    rows = []
    for hit in hits:
        row = details[hit["settlement_id"]]
        similarity = float(row.pop("similarity") or 0.0)
        rows.append({**row, "match": _MATCH[hit["rank"]], "score": similarity + _BONUS[hit["rank"]],
                     "in_area": hit["in_area"]})
    return rows


@dataclass
class PlaceMatch:
    """What a typed place came to: the reading taken and the settlements its name resembles, best first (those in
    the named area first, then exact names, then the closest, then the biggest); each row has `match` (exact,
    prefix, fuzzy) and `in_area`."""
    query: PlaceQuery
    reading: Reading
    rows: list[dict]

    @property
    def namesakes(self) -> list[dict]:
        """Settlements with exactly this name (or alt name) in the named area, biggest first."""
        return [r for r in self.rows if r["match"] == EXACT and r["in_area"]]

    @property
    def status(self) -> str:
        n = len(self.namesakes)
        return FOUND if n == 1 else AMBIGUOUS if n > 1 else NOT_FOUND

    @property
    def settlement(self) -> dict | None:
        return self.namesakes[0] if self.status == FOUND else None

    @property
    def candidates(self) -> list[dict]:
        """What to offer: found, the other places it may be ("not the right place?"); ambiguous, the namesakes;
        not found, the closest names."""
        if self.status == AMBIGUOUS:
            return self.namesakes
        return [r for r in self.rows if r is not self.settlement]


def _quality(match: PlaceMatch) -> tuple:
    """How well a reading went: first whether its qualifiers hold for a candidate (the name was found in the
    named area, if only by a similar name), then the best match's quality and score."""
    in_area = [r for r in match.rows if r["in_area"]] if match.reading.area else []
    best = (in_area or match.rows or [None])[0]
    if best is None:
        return (False, 0, 0.0)
    return (bool(in_area), {EXACT: 3, PREFIX: 2, FUZZY: 1}[best["match"]], best["score"])


def find_place(session: Session, raw_query: str, region: str | None = None, limit: int = 10,
               prefer: str | None = None) -> PlaceMatch:
    """Read a typed place: the whole of it as a name first; unless that is an exact name, also with the words
    naming a region or district taken as qualifiers. The reading that goes best wins (`_quality`), the whole
    name on a tie. `region` keeps to one region; `prefer` (the family's region, when known) ranks its namesakes
    first."""
    query = parse_query(raw_query)
    fetch = max(limit, FETCH)
    whole = Reading(query.name)
    best = PlaceMatch(query, whole, _search(session, whole, region, limit, fetch, prefer))
    if best.rows and best.rows[0]["match"] == EXACT or not 2 <= len(query.words) <= MAX_WORDS:
        return best
    areas = [area_of_word(session, w) for w in query.words]
    for reading in readings(query, areas)[1:MAX_READINGS]:
        match = PlaceMatch(query, reading, _search(session, reading, region, limit, fetch, prefer))
        if _quality(match) > _quality(best):
            best = match
        if match.namesakes:  # an exact name in the named area: no other reading can do better
            break
    return best


def search_settlements(session: Session, raw_query: str, region: str | None = None, limit: int = 10,
                       prefer: str | None = None) -> list[dict]:
    """Settlements whose names resemble `raw_query`, best match first (see find_place)."""
    return find_place(session, raw_query, region, limit, prefer).rows[:limit]


def place_of_point(session: Session, lat: float, lon: float) -> tuple[str | None, dict | None]:
    """The region code of a point and the nearest settlement (or None) within 30 km."""
    row = places.region_and_settlement_at(session, lat, lon)
    settlement = settlement_by_id(session, row["settlement_id"]) if row["settlement_id"] else None
    return row["region_code"], settlement
