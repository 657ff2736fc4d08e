"""What kind of settlement a place is, in words: the 2021 census' type as written (д, с, п, х, ст-ца, пгт …) spelt
out, so that namesakes can be told apart («д. Лукино» and «с. Лукино»). Places the census does not list
(Kazakhstan's, city sections) say what the gazetteer's own kind says (city, town, urban settlement, village).

The words are Russian, as the place names are: they belong to the name («деревня Лукино»), not to the page's
language."""
from __future__ import annotations

# The census' types that cover 99.9 % of its settlements; rarer ones are shown as written.
CENSUS_TYPES = {
    "д": "деревня", "с": "село", "п": "посёлок", "х": "хутор", "г": "город", "пгт": "посёлок городского типа",
    "рп": "рабочий посёлок", "ст": "станция", "ст-ца": "станица", "нп": "населённый пункт",
    "ж/д_ст": "железнодорожная станция", "п/ст": "посёлок при станции", "рзд": "разъезд", "аул": "аул",
    "у": "улус", "тер": "территория", "ж/д_рзд": "железнодорожный разъезд", "починок": "починок",
    "дп": "дачный посёлок", "заимка": "заимка", "м": "местечко", "сл": "слобода", "с/п": "сельское поселение",
    "высел": "выселки", "аал": "аал", "снт": "садовое товарищество", "ж/д_будка": "железнодорожная будка",
    "мкр": "микрорайон", "ж/д_оп": "железнодорожный остановочный пункт", "массив": "массив",
    "ж/д_казарм": "железнодорожная казарма", "кп": "курортный посёлок", "арбан": "арбан", "казарма": "казарма",
    "гп": "городской посёлок", "кордон": "кордон", "городок": "городок", "погост": "погост",
}
# The gazetteer's kinds (GeoNames, WOF, OSM) for places without a census type.
KINDS = {"city": "город", "town": "город", "urban_settlement": "посёлок"}


def type_name(census_type: str | None, kind: str | None) -> str:
    """«деревня», «станица», «город» …: the census' type spelt out, else the gazetteer's kind."""
    if census_type:
        code = census_type.strip().rstrip(".").replace("c", "с").replace("x", "х")  # Latin look-alikes in the table
        return CENSUS_TYPES.get(code, census_type.strip())
    return KINDS.get(kind or "", "населённый пункт")
