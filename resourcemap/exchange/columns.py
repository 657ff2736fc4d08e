"""The spreadsheet format of the registry (docs/import-format.md): one row = one service at one location of an
organization. Its columns with their Russian headers and accepted aliases, and how each cell is read and written:
booleans, numbers, dates, kinds of help, delivery, status, phones ("8 (495) 123-45-67 (для записи); ...") and
weekly hours ("пн-пт 09:00-18:00; сб 10:00-14:00").

Readers here return (value, error message or None); they never raise on bad input."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

from ..registry.hours import hhmm


@dataclass(frozen=True)
class Column:
    name: str  # canonical (English) name, also the GeoJSON property
    header: str  # the Russian header of the template and of CSV exports
    level: str  # "service" (the row), "location" or "organization": rows of one location / organization agree
    aliases: tuple[str, ...] = ()
    required: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("external_id", "Код записи", "service", ("внешний код", "внешний id", "код услуги", "id записи", "id"),
           required=True),
    Column("organization_external_id", "Код организации", "organization",
           ("внешний код организации", "id организации", "org_external_id")),
    Column("organization", "Организация", "organization",
           ("название организации", "организация название", "organization_name", "org"), required=True),
    Column("kind", "Вид помощи", "service", ("вид", "тип помощи", "тип услуги", "type", "service_type", "kind_of_help"),
           required=True),
    Column("service_name", "Название услуги", "service", ("услуга", "service")),
    Column("address", "Адрес", "location", ("адрес места", "street_address")),
    Column("settlement", "Населённый пункт", "location", ("населенный пункт", "город", "нп", "city", "town")),
    Column("lat", "Широта", "location", ("latitude", "y", "lat wgs84"), required=True),
    Column("lon", "Долгота", "location", ("longitude", "lng", "long", "x", "lon wgs84"), required=True),
    Column("phones", "Телефоны", "location", ("телефон", "телефоны места", "phone", "tel")),
    Column("hours", "Часы работы", "service", ("режим работы", "часы", "график", "график работы", "opening_hours")),
    Column("age_min_months", "Возраст от, мес.", "service",
           ("возраст от", "возраст от мес", "age_min", "min_age_months")),
    Column("age_max_months", "Возраст до, мес.", "service",
           ("возраст до", "возраст до мес", "age_max", "max_age_months")),
    Column("delivery", "Формат", "service", ("способ оказания", "как оказывается", "форма оказания")),
    Column("outreach_radius_km", "Радиус выезда, км", "service", ("радиус выезда", "радиус", "радиус км", "radius_km")),
    Column("confidential", "Адрес скрыт", "location", ("конфиденциально", "конфиденциальный адрес", "скрыть адрес")),
    Column("website", "Сайт", "organization", ("веб сайт", "url", "web")),
    Column("email", "Эл. почта", "organization", ("e mail", "электронная почта", "почта", "mail")),
    Column("description", "Описание услуги", "service", ("описание", "service_description")),
    Column("eligibility", "Кому", "service", ("для кого", "условия", "кому помогают")),
    Column("conditions", "Состояние ребёнка", "service",
           ("состояния", "с какими детьми", "нарушения", "диагнозы", "condition", "child_condition")),
    Column("cost", "Стоимость", "service", ("платность", "оплата", "цена", "price")),
    Column("cost_basis", "Основание бесплатности", "service",
           ("основание", "основание оплаты", "по программе", "cost_basis", "funding")),
    Column("capacity_total", "Мест всего", "service", ("всего мест", "мест", "capacity")),
    Column("capacity_free", "Мест свободно", "service", ("свободных мест", "свободно мест", "free_places")),
    Column("status", "Статус", "organization", ("статус организации", "organization_status")),
    Column("location_external_id", "Код места", "location", ("внешний код места", "id места", "location_id")),
    Column("location_name", "Название места", "location", ("место", "отделение", "филиал")),
    Column("accessibility", "Доступная среда", "location", ("доступность",)),
    Column("legal_form", "Правовая форма", "organization", ("организационно правовая форма", "опф")),
    Column("organization_description", "Об организации", "organization", ("описание организации",)),
    Column("organization_phones", "Телефоны организации", "organization", ("телефон организации",)),
    Column("verified_at", "Проверено", "organization", ("дата проверки", "проверено дата", "checked")),
    Column("active", "Действует", "service", ("услуга действует", "активна", "is_active")),
)
BY_NAME = {c.name: c for c in COLUMNS}
REQUIRED = tuple(c.name for c in COLUMNS if c.required)


_NON_WORD = re.compile(r"[^\w]+")


@lru_cache(maxsize=8192)
def header_key(text: str) -> str:
    """How headers are compared: lower case, ё as е, punctuation and underscores as spaces, a trailing '*' off."""
    text = text.replace("\ufeff", "").lower().replace("ё", "е").replace("_", " ")
    return " ".join(_NON_WORD.sub(" ", text).split())


@lru_cache(maxsize=1)
def _header_index() -> dict[str, str]:
    index = {}
    for column in COLUMNS:
        for spelling in (column.name, column.header, *column.aliases):
            index[header_key(spelling)] = column.name
    return index


def column_for_header(header: str) -> str | None:
    """The canonical column a header names (any alias, Russian or English), or None."""
    return _header_index().get(header_key(header))


# --- cells ----------------------------------------------------------------------------------------------------
# The readers of cells that repeat from row to row (flags, integers, formats, statuses; phones and hours below) are
# cached, so that a file's cell is read once per distinct text; what they return is immutable.
_YES = {"да", "д", "yes", "y", "true", "1", "+", "истина", "x", "х", "v"}
_NO = {"нет", "н", "no", "n", "false", "0", "-", "ложь"}


@lru_cache(maxsize=4096)
def read_bool(cell: str, default: bool) -> tuple[bool, str | None]:
    value = cell.strip().lower()
    if not value:
        return default, None
    if value in _YES:
        return True, None
    if value in _NO:
        return False, None
    return default, "Ожидается «да» или «нет»."


def write_bool(value: bool) -> str:
    return "да" if value else "нет"


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def read_number(cell: str) -> float | None:
    """'55,7558' or '55.7558' -> 55.7558; None when it is not a finite number."""
    value = cell.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    if not _NUMBER.fullmatch(value):
        return None
    return float(value)


@lru_cache(maxsize=4096)
def read_int(cell: str, lo: int, hi: int) -> tuple[int | None, str | None]:
    value = read_number(cell)
    if value is None or not value.is_integer() or not lo <= value <= hi:
        return None, f"Ожидается целое число от {lo} до {hi}."
    return int(value), None


_DMY_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


def read_date(cell: str) -> tuple[dt.date | None, str | None]:
    value = cell.strip()
    m = _DMY_DATE.fullmatch(value)
    try:
        day = dt.date(int(m[3]), int(m[2]), int(m[1])) if m else dt.date.fromisoformat(value[:10])
    except ValueError:
        return None, "Дата записывается как ГГГГ-ММ-ДД или ДД.ММ.ГГГГ."
    if day > dt.date.today() + dt.timedelta(days=1):
        return None, "Дата проверки не может быть в будущем."
    return day, None


DELIVERY_LABELS = {"on_site": "на месте", "outreach": "выезд к семье", "online": "онлайн"}
_DELIVERY = {
    "on site": "on_site", "onsite": "on_site", "на месте": "on_site", "очно": "on_site", "в учреждении": "on_site",
    "outreach": "outreach", "выезд": "outreach", "выезд к семье": "outreach", "выездная": "outreach",
    "выездной": "outreach", "на дому": "outreach", "online": "online", "онлайн": "online",
    "дистанционно": "online", "по телефону": "online", "удаленно": "online",
}


def _read_choice(cell: str, spellings: dict[str, str], empty: str | None,
                 message: str) -> tuple[str | None, str | None]:
    """One code of a closed list, from any of its spellings in `spellings`; an empty cell reads as `empty`."""
    value = header_key(cell)
    if not value:
        return empty, None
    if value in spellings:
        return spellings[value], None
    return None, message


@lru_cache(maxsize=4096)
def read_delivery(cell: str) -> tuple[str | None, str | None]:
    return _read_choice(cell, _DELIVERY, "on_site", "Формат: «на месте», «выезд к семье» или «онлайн».")


# The child's condition, the cost and its grounds (registry/vocabulary.py): codes, Russian and English labels and
# a few words curators write for them; several in a cell, separated by ";" or ",".
_NEEDS_WORDS = {
    "hearing": ("слух", "глухота", "тугоухость", "нарушение слуха"),
    "vision": ("зрение", "слепота", "нарушение зрения"),
    "motor": ("нода", "дцп", "нарушения опорно двигательного аппарата", "нарушения движения", "двигательные нарушения"),
    "autism": ("рас", "аутизм", "asd"),
    "down_syndrome": ("синдром дауна", "дауна"),
    "developmental_delay": ("зпр", "задержка психического развития", "задержка развития"),
    "complex_needs": ("тмнр", "множественные нарушения", "тяжелые множественные нарушения"),
    "free": ("бесплатная", "бесплатные", "0"),
    "partly_paid": ("частично платная", "частично", "частично бесплатно"),
    "paid": ("платная", "платные", "за плату"),
    "state_programme": ("госпрограмма", "по госпрограмме", "государственная программа", "по программе", "омс"),
    "referral": ("направление", "по направлению врача", "с направлением"),
}


@lru_cache(maxsize=1)
def _needs_index() -> dict[str, str]:
    from ..registry.vocabulary import CONDITIONS, COST_BASES, COSTS

    index = {}
    for term in CONDITIONS + COSTS + COST_BASES:
        for spelling in (term.code, term.ru, term.en, *_NEEDS_WORDS.get(term.code, ())):
            index[header_key(spelling)] = term.code
    return index


def _read_codes(cell: str, allowed: tuple[str, ...], what: str) -> tuple[tuple[str, ...], str | None]:
    words = [w for w in re.split(r"[;,\n]", cell) if w.strip()]
    codes = [_needs_index().get(header_key(w)) for w in words]
    bad = [w.strip() for w, code in zip(words, codes) if code not in allowed]
    if bad:
        return (), f"{what}: неизвестное значение «{bad[0][:50]}»."
    return tuple(code for code in allowed if code in codes), None


@lru_cache(maxsize=4096)
def read_conditions(cell: str) -> tuple[tuple[str, ...], str | None]:
    """'Нарушения слуха; РАС' -> ('hearing', 'autism'); empty: none stated."""
    from ..registry.vocabulary import CONDITION_CODES

    return _read_codes(cell, CONDITION_CODES, "Состояние ребёнка")


@lru_cache(maxsize=4096)
def read_cost(cell: str) -> tuple[str | None, str | None]:
    """'бесплатно' -> 'free'; empty: not stated."""
    from ..registry.vocabulary import COST_CODES

    codes, error = _read_codes(cell, COST_CODES, "Стоимость")
    if error or len(codes) > 1:
        return None, error or "Стоимость: одно из «бесплатно», «частично платно», «платно»."
    return (codes[0] if codes else None), None


@lru_cache(maxsize=4096)
def read_cost_basis(cell: str) -> tuple[tuple[str, ...], str | None]:
    """'по направлению; по государственной программе' -> ('state_programme', 'referral')."""
    from ..registry.vocabulary import COST_BASIS_CODES

    return _read_codes(cell, COST_BASIS_CODES, "Основание бесплатности")


def write_codes(codes) -> str:
    """Codes as their Russian labels, "; "-separated (read back by the readers above)."""
    from ..registry.vocabulary import label

    return "; ".join(label(code) for code in codes or ())


STATUS_LABELS = {"published": "опубликовано", "draft": "черновик", "inactive": "не действует"}
_STATUS = {
    "published": "published", "опубликовано": "published", "опубликована": "published", "опубликован": "published",
    "draft": "draft", "черновик": "draft", "inactive": "inactive", "не действует": "inactive",
    "неактивно": "inactive", "закрыто": "inactive", "закрыта": "inactive",
}


@lru_cache(maxsize=4096)
def read_status(cell: str) -> tuple[str | None, str | None]:
    # empty: None (a new organization is published, an existing one keeps its status)
    return _read_choice(cell, _STATUS, None, "Статус: «опубликовано», «черновик» или «не действует».")


def kind_index(terms: list[tuple[str, str, str]]) -> dict[str, str]:
    """Every accepted spelling of a kind of help (code, Russian and English name) -> its code."""
    index = {}
    for code, name_ru, name_en in terms:
        for spelling in (code, name_ru, name_en):
            index[header_key(spelling)] = code
    return index


# --- phones ---------------------------------------------------------------------------------------------------
PHONE_KIND_LABELS = {"intake": "для записи", "hotline": "горячая линия", "fax": "факс"}
_PHONE_KIND = {
    "для записи": "intake", "запись": "intake", "прием": "intake", "приемная": "intake", "intake": "intake",
    "горячая линия": "hotline", "hotline": "hotline", "факс": "fax", "fax": "fax",
    "основной": "main", "main": "main",
}
# "8 (496) 570-00-00 доб. 12 (для записи)": the number, an extension, and a kind in brackets (letters, no digits).
_PHONE_PART = re.compile(r"^(?P<number>.*?)\s*(?:(?:доб\.?|ext\.?|добавочный)\s*(?P<ext>\d{1,8}))?\s*"
                         r"(?:\((?P<kind>[^()\d]*[^\W\d_][^()\d]*)\))?$", re.IGNORECASE)
MAX_PHONES = 20


@dataclass(frozen=True)
class Phone:
    number: str  # E.164
    kind: str = "main"
    extension: str = ""


_SEPARATORS = re.compile(r"[\s()\-.\u00a0]")
_PLUS7_NATIONAL = re.compile(r"(?:\+7|8(?!10))?(\d{10})")  # 8-10 is the international prefix
_TYPE_DESCS = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail",
               "fixed_line", "mobile")


@lru_cache(maxsize=1)
def _plus7_regions() -> list[tuple]:
    """For country code 7 (Russia, Kazakhstan), phonenumbers' metadata as compiled patterns: per region its leading
    digits and the (pattern, possible lengths) of the general and of each number type."""
    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

    def desc(d):
        return None if d is None or d.national_number_pattern is None else (
            re.compile(d.national_number_pattern), tuple(d.possible_length or ()))

    regions = []
    for region in COUNTRY_CODE_TO_REGION_CODE[7]:
        md = PhoneMetadata.metadata_for_region(region)
        regions.append((re.compile(md.leading_digits) if md.leading_digits else None, desc(md.general_desc),
                        [d for d in (desc(getattr(md, name)) for name in _TYPE_DESCS) if d]))
    return regions


@lru_cache(maxsize=16)
def _plus7_rules(length: int) -> list[tuple]:
    """_plus7_regions for numbers of one length: per region its leading digits, its general pattern, and one
    pattern for all its number types (their alternation: it matches a number when any of them does); a pattern is
    None when no description allows that length."""

    def pattern(descs) -> re.Pattern | None:
        fitting = [d[0].pattern for d in descs if d is not None and (not d[1] or length in d[1])]
        return re.compile("|".join(f"(?:{p})" for p in fitting)) if fitting else None

    return [(leading, pattern([general]), pattern(types)) for leading, general, types in _plus7_regions()]


def _plus7_valid(national: str) -> bool:
    """phonenumbers.is_valid_number for +7 <national>, without parsing (the same metadata and the same rules: the
    region by leading digits or by a known number type, then a known number type in that region)."""
    for leading, general, types in _plus7_rules(len(national)):
        known = general is not None and types is not None and general.fullmatch(national) is not None \
            and types.fullmatch(national) is not None
        if leading is not None:
            if leading.match(national):
                return known
        elif known:
            return True
    return False


@lru_cache(maxsize=65536)
def _e164(raw: str, country: str) -> str | None:
    """A phone in E.164, or None when it is not a valid number. Numbers of country code 7 written the usual ways
    ('+7 (495) 123-45-67', '8 495 1234567', '4951234567') are checked on a fast path, the same way phonenumbers
    checks them (tests/test_import.py compares the two); the rest by phonenumbers."""
    fast = _PLUS7_NATIONAL.fullmatch(_SEPARATORS.sub("", raw)) if country in ("RU", "KZ") else None
    written = raw.lstrip()
    if fast and (written.startswith("+7") or not written.startswith("+")):
        national = fast[1]
        return "+7" + national if _plus7_valid(national) else None
    try:
        parsed = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


_PHONE_SEPARATOR = re.compile(r"[;\n]")
_LETTER = re.compile(r"[^\W\d_]")  # as in _PHONE_PART's kind


def _phone_fields(part: str) -> tuple[str, str | None, str | None] | None:
    """One phone of a cell (stripped, no separator) as written: (number, extension or None, kind or None); None
    when it is too long or does not read."""
    if len(part) > 80:
        return None
    if not _LETTER.search(part):
        # Most phones: an extension ("доб.") and a kind both need letters, so the whole part is the number (what
        # _PHONE_PART would find, only slower).
        return part, None, None
    m = _PHONE_PART.match(part)
    return None if m is None else (m["number"], m["ext"], m["kind"])


# Cached: the rows of one location (or organization) repeat its phones, and the answer is immutable.
@lru_cache(maxsize=65536)
def read_phones(cell: str, country: str) -> tuple[tuple[Phone, ...], str | None]:
    """'8 (495) 123-45-67; +7 916 000-00-00 (для записи)' -> phones in E.164 with their kinds. Phones are read
    with the region's country code by default (RU, or KZ for Kazakhstan)."""
    phones: list[Phone] = []
    parts = [p.strip() for p in _PHONE_SEPARATOR.split(cell) if p.strip()]
    if len(parts) > MAX_PHONES:
        return (), f"Не больше {MAX_PHONES} телефонов в ячейке."
    for part in parts:
        fields = _phone_fields(part)
        if fields is None or not fields[0]:
            return (), f"Телефон записан неверно: «{part[:40]}»."
        written, extension, written_kind = fields
        kind = "main"
        if written_kind is not None:
            kind = _PHONE_KIND.get(header_key(written_kind))
            if kind is None:
                return (), (f"Неизвестный вид телефона «{written_kind[:30]}»: "
                            f"«для записи», «горячая линия» или «факс».")
        number = _e164(written, country)
        if number is None:
            return (), f"Телефон записан неверно: «{part[:40]}»."
        phone = Phone(number, kind, extension or "")
        if phone not in phones:
            phones.append(phone)
    return tuple(phones), None


@lru_cache(maxsize=65536)
def _national(number: str) -> str:
    return phonenumbers.format_number(phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.NATIONAL)


def write_phones(phones) -> str:
    """Phones as people dial them, in the national format (which never starts with a formula character)."""
    out = []
    for phone in phones:
        text = _national(phone.number)
        if phone.extension:
            text += f" доб. {phone.extension}"
        if phone.kind in PHONE_KIND_LABELS:
            text += f" ({PHONE_KIND_LABELS[phone.kind]})"
        out.append(text)
    return "; ".join(out)


# --- weekly hours ---------------------------------------------------------------------------------------------
DAY_LABELS = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")
_DAY_WORDS = {
    "пн": 1, "пон": 1, "понедельник": 1, "mo": 1, "mon": 1, "monday": 1,
    "вт": 2, "вто": 2, "вторник": 2, "tu": 2, "tue": 2, "tuesday": 2,
    "ср": 3, "сре": 3, "среда": 3, "we": 3, "wed": 3, "wednesday": 3,
    "чт": 4, "чет": 4, "четверг": 4, "th": 4, "thu": 4, "thursday": 4,
    "пт": 5, "пят": 5, "пятница": 5, "fr": 5, "fri": 5, "friday": 5,
    "сб": 6, "суб": 6, "суббота": 6, "sa": 6, "sat": 6, "saturday": 6,
    "вс": 7, "вос": 7, "воскр": 7, "воскресенье": 7, "su": 7, "sun": 7, "sunday": 7,
}
_EVERY_DAY = ("ежедневно", "каждый день", "без выходных", "daily")
_ROUND_THE_CLOCK = ("круглосуточно", "24/7", "24 часа")
_TIME = r"(\d{1,2})(?:[:.](\d{2}))?"
_RANGE = re.compile(rf"^{_TIME}\s*-\s*{_TIME}$")

Slot = tuple[int, int, int]  # weekday 1..7, opens minute 0..1439, closes minute 1..1440


def _days(spec: str) -> list[int] | None:
    spec = spec.strip().rstrip(":").strip()
    if not spec or spec in _EVERY_DAY:
        return list(range(1, 8))
    days: list[int] = []
    for part in re.split(r"\s*,\s*|\s+и\s+|\s+", spec):
        if not part:
            continue
        ends = [e.strip(". ") for e in part.split("-")]
        if len(ends) > 2 or not all(e in _DAY_WORDS for e in ends):
            return None
        first, last = _DAY_WORDS[ends[0]], _DAY_WORDS[ends[-1]]
        if last < first:
            return None
        days.extend(d for d in range(first, last + 1) if d not in days)
    return days


def _minute(hours: str, minutes: str | None) -> int | None:
    h, m = int(hours), int(minutes or 0)
    if h > 24 or m > 59 or (h == 24 and m):
        return None
    return h * 60 + m


@lru_cache(maxsize=4096)
def read_hours(cell: str) -> tuple[tuple[Slot, ...], str | None]:
    """'пн-пт 9:00-18:00; сб 10-14' -> ((1, 540, 1080), ..., (6, 600, 840)). Segments are separated by ';' or new
    lines; each is days (a day, a range 'пн-пт', a list 'пн, ср', 'ежедневно') and one or more time ranges
    separated by commas; 'выходной' for none, 'круглосуточно' for the whole day."""
    slots: set[Slot] = set()
    text = cell.lower().replace("ё", "е")
    text = re.sub(r"[\u2012\u2013\u2014\u2212]", "-", text)
    for segment in (s.strip() for s in re.split(r"[;\n]", text)):
        if not segment:
            continue
        m = re.search(r"\d|" + "|".join(map(re.escape, _ROUND_THE_CLOCK + ("выходн",))), segment)
        if m is None:
            return (), f"Не понят режим работы «{segment[:40]}»: пример — «пн-пт 9:00-18:00; сб 10-14»."
        days = _days(segment[:m.start()])
        if days is None:
            return (), f"Не поняты дни недели в «{segment[:40]}»: пишите пн, вт, ср, чт, пт, сб, вс."
        times = segment[m.start():].strip()
        if times.startswith("выходн"):
            continue
        ranges = []
        for part in (p.strip() for p in re.split(r",|\s+и\s+", times)):
            if part in _ROUND_THE_CLOCK:
                ranges.append((0, 1440))
                continue
            r = _RANGE.match(part.replace(" ", ""))
            opens = _minute(r[1], r[2]) if r else None
            closes = _minute(r[3], r[4]) if r else None
            if opens is None or closes is None or opens >= 1440:
                return (), f"Не понято время «{part[:20]}»: пример — 9:00-18:00."
            if closes <= opens:
                return (), f"Время «{part[:20]}»: начало должно быть раньше конца (через полночь — двумя днями)."
            ranges.append((opens, closes))
        for day in days:
            for opens, closes in ranges:
                slots.add((day, opens, closes))
    ordered = tuple(sorted(slots))
    for a, b in zip(ordered, ordered[1:]):
        if a[0] == b[0] and b[1] < a[2]:
            return (), f"Часы работы в {DAY_LABELS[a[0] - 1]} пересекаются."
    return ordered, None


def write_hours(slots) -> str:
    """The inverse of read_hours, in one canonical form: consecutive days with the same hours joined."""
    by_day = {d: tuple((o, c) for day, o, c in sorted(slots) if day == d) for d in range(1, 8)}
    segments, day = [], 1
    while day <= 7:
        ranges = by_day[day]
        if not ranges:
            day += 1
            continue
        last = day
        while last + 1 <= 7 and by_day[last + 1] == ranges:
            last += 1
        days = DAY_LABELS[day - 1] if last == day else f"{DAY_LABELS[day - 1]}-{DAY_LABELS[last - 1]}"
        segments.append(days + " " + ", ".join(f"{hhmm(o)}-{hhmm(c)}" for o, c in ranges))
        day = last + 1
    return "; ".join(segments)


# --- formula cells --------------------------------------------------------------------------------------------
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escaped(cell: str) -> bool:
    """Apostrophes, then a formula character: what neutralize writes, so itself escaped once more."""
    return cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_START)


def neutralize(cell: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe (CSV exports); so does a cell that
    already looks escaped, so that unneutralize gives back exactly what was written."""
    return "'" + cell if cell.startswith(FORMULA_START) or _escaped(cell) else cell


def unneutralize(cell: str) -> tuple[str, bool]:
    """(the cell with an export's protective apostrophe taken off, whether it had one)."""
    if _escaped(cell):
        return cell[1:], True
    return cell, False
