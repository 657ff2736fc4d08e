"""The referral as one short SMS for the family: the name, the phone and the address of as many chosen services as
fit in two SMS parts; a confidential place's address is never in it ("адрес по телефону").

How long an SMS is (3GPP TS 23.038, 23.040): text wholly in the GSM 7-bit alphabet takes 160 characters in one
message and 153 in each part of a longer one (a character of the extension table, such as € or [, takes two);
any other text, Cyrillic included, goes as UCS-2: 70 UTF-16 code units in one message, 67 in each part of a longer
one (the rest carries the concatenation header). Two parts of Russian text therefore hold 134 characters."""
from __future__ import annotations

import math
import re

from flask_babel import gettext

from ..errors import N_
from ..search.redaction import card_hides

GSM_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
             "abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENSION = "^{}\\[~]|€\f"
SINGLE = {"gsm": 160, "ucs2": 70}
CONCATENATED = {"gsm": 153, "ucs2": 67}
MAX_PARTS = 2
LIMIT = MAX_PARTS * CONCATENATED["ucs2"]  # 134: what the family's SMS is built to, whatever its alphabet
MIN_LINE = 50  # a further service goes in only with room for its name, phone and some of its address
ADDRESS_BY_PHONE = N_("адрес по телефону")  # in the card's language (gettext) where used
NO_PHONE = N_("телефон не указан")
_PROPER_NAME = re.compile(r"«.+»")


def encoding(text: str) -> str:
    return "gsm" if all(c in GSM_BASIC or c in GSM_EXTENSION for c in text) else "ucs2"


def length(text: str) -> int:
    """The SMS length: septets of GSM text (extension characters count two), else UTF-16 code units."""
    if encoding(text) == "gsm":
        return sum(2 if c in GSM_EXTENSION else 1 for c in text)
    return _units(text)


def parts(text: str) -> int:
    """How many SMS messages the text is sent as."""
    kind, n = encoding(text), length(text)
    return 1 if n <= SINGLE[kind] else math.ceil(n / CONCATENATED[kind])


def _units(text: str) -> int:
    """UTF-16 code units: the text's length as UCS-2, the budget the SMS is built to."""
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, room: int) -> str:
    """The text in at most `room` units, ending in "…" when shortened."""
    if _units(text) <= room:
        return text
    while text and _units(text.rstrip(" ,.") + "…") > room:
        text = text[:-1]
    return text.rstrip(" ,.") + "…"


def _proper_name(name: str) -> str:
    """The part of a name in «» ("«Золотой ключик»" of a long official name), or the name itself."""
    proper = _PROPER_NAME.search(name)
    return proper.group(0) if proper else name


def _line(item: dict, room: int, short_name: bool) -> str:
    """One service in at most `room` units: its name (the part in «» when asked or when the whole does not fit),
    its first phone whole, its address (cut when needed)."""
    phone = (item["phones"] or [gettext(NO_PHONE)])[0]
    address = gettext(ADDRESS_BY_PHONE) if card_hides(item) or not item["short_address"] else item["short_address"]
    name = _proper_name(item["name"]) if short_name else item["name"]
    if _units(f"{name}: {phone}, {address}") > room:
        name = _proper_name(name)
    head = f"{_cut(name, max(room - _units(phone) - 4 - 12, 10))}: {phone}"
    return f"{head}, {_cut(address, room - _units(head) - 2)}"


def _lines(items: list[dict], short_names: bool) -> list[str]:
    lines: list[str] = []
    for item in items:
        room = LIMIT - _units("\n".join(lines)) - (1 if lines else 0)
        if lines and room < MIN_LINE:
            break
        lines.append(_line(item, room, short_names))
    return lines


def sms(items: list[dict]) -> dict:
    """The SMS of a referral card's items (present.referral_item), in order, as many as fit in LIMIT units (with
    full names, or with the names' parts in «» when that lets more services in): {"text", "length", "parts",
    "included", "total"}."""
    lines = max((_lines(items, short_names) for short_names in (False, True)), key=len)
    text = "\n".join(lines)
    return {"text": text, "length": length(text), "parts": parts(text), "included": len(lines),
            "total": len(items)}
