"""Checking an organization document before it is written: every problem with its field path and a Russian
message, and the document in clean form (types coerced, phones in E.164, points placed in a region).

The region rule: a new or moved location must lie in a region the actor may edit, unless the actor gives a reason
for the exception (it is then written to the history note)."""
from __future__ import annotations

import datetime as dt
import json
import math
import re
import zoneinfo
from dataclasses import asdict, dataclass
from functools import lru_cache

from sqlalchemy.orm import Session

from ..auth.policy import may_edit_region
from ..data import validation as data
from ..data.validation import region_of_point, settlement_near
from ..limits import LONG_TEXT, MAX_AGE_MONTHS, MAX_ID, MAX_RADIUS_KM, SHORT_TEXT
from ..models.registry import DELIVERIES, ORG_STATUSES, PHONE_KINDS
from .phones import BadPhone, to_e164
from .vocabulary import CONDITION_CODES, CONDITIONS, COST_BASES, COST_BASIS_CODES, COST_CODES, ordered

SHORT, LONG = SHORT_TEXT, LONG_TEXT
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_WEBSITE = re.compile(r"^(https?://)?[\w.-]+\.[\w-]{2,}(:\d+)?(/\S*)?$", re.IGNORECASE)
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
WRONG_TYPE = "wrong_type"  # a value of another JSON type than the field takes: the document is malformed
_JSON_TYPES = ((bool, "boolean"), (str, "text"), (int, "number"), (float, "number"), (list, "list"), (dict, "object"))
_TYPE_NAMES = {"text": "текст", "number": "число", "boolean": "да или нет (true/false)", "list": "список",
               "object": "объект"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document: where (`locations[0].lat`), what (a code), and a message for people."""

    field: str
    code: str
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class _Reader:
    """Reads typed values out of untrusted JSON, collecting problems instead of raising."""

    def __init__(self):
        self.problems: list[Problem] = []

    def add(self, field: str, code: str, message: str) -> None:
        self.problems.append(Problem(field, code, message))

    def typed(self, value, path: str, *types: str, label: str = "") -> bool:
        """Whether `value` is of one of these JSON types (text, number, boolean, list, object); a wrong_type
        problem if it is not. Every value is checked so before it is compared, looked up or converted."""
        if next((name for cls, name in _JSON_TYPES if isinstance(value, cls)), None) in types:
            return True
        self.add(path, WRONG_TYPE, f"{label or 'Поле'}: ожидается {' или '.join(_TYPE_NAMES[t] for t in types)}.")
        return False

    def text(self, obj: dict, key: str, path: str, *, required: bool = False, max_len: int = SHORT,
             label: str = "") -> str:
        value = obj.get(key)
        if value is None:
            value = ""
        if not self.typed(value, path, "text", label=label):
            return ""
        value = value.strip()
        if "\x00" in value:
            self.add(path, "bad_character", f"{label or 'Поле'}: недопустимый символ.")
            return ""
        if required and not value:
            self.add(path, "required", f"Заполните поле «{label}».")
        if len(value) > max_len:
            self.add(path, "too_long", f"{label or 'Поле'}: не длиннее {max_len} символов.")
            return value[:max_len]
        return value

    def optional_id(self, obj: dict, key: str, path: str, label: str = "") -> str | None:
        value = self.text(obj, key, path, max_len=200, label=label or "Внешний код")
        return value or None

    def integer(self, obj: dict, key: str, path: str, lo: int, hi: int, message: str) -> int | None:
        value = obj.get(key)
        if value is None or value == "":
            return None
        if not self.typed(value, path, "number", "text"):
            return None
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.add(path, "out_of_range", message)
            return None
        return value

    def number(self, obj: dict, key: str, path: str, lo: float, hi: float, message: str, *,
               required: bool = False) -> float | None:
        value = obj.get(key)
        if value is None or value == "":
            if required:
                self.add(path, "required", message)
            return None
        if not self.typed(value, path, "number", "text"):
            return None
        if isinstance(value, str):
            try:
                value = float(value.replace(",", ".").strip())
            except ValueError:
                self.add(path, "not_a_number", message)
                return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or not lo <= value <= hi:
            self.add(path, "out_of_range", message)
            return None
        return float(value)

    def boolean(self, obj: dict, key: str, path: str, default: bool) -> bool:
        value = obj.get(key)
        if value is None:
            return default
        if not self.typed(value, path, "boolean", "number", "text"):
            return default
        if isinstance(value, bool):
            return value
        if value in ("true", "1", 1, "on"):
            return True
        if value in ("false", "0", 0, "off", ""):
            return False
        self.add(path, "not_boolean", "Ожидается «да» или «нет».")
        return default

    def choice(self, obj: dict, key: str, path: str, choices, *, default: str | None, code: str,
               message: str) -> str | None:
        """One of `choices` (codes), `default` when absent; the default, and a problem, when it is none of them."""
        value = obj.get(key)
        if value is None or value == "":
            value = default
        elif not self.typed(value, path, "text"):
            return default
        if value not in choices:
            self.add(path, code, message)
            return default
        return value

    def index(self, obj: dict, key: str, path: str, size: int, *, default: int | None, message: str) -> int | None:
        value = obj.get(key, default)
        if value is None:
            return None
        if not self.typed(value, path, "number"):
            return None
        if not isinstance(value, int) or not 0 <= value < size:
            self.add(path, "bad_reference", message)
            return default if default is not None and default < size else None
        return value

    def codes(self, obj: dict, key: str, path: str, vocabulary, *, code: str, message: str) -> list[str]:
        """A list of codes of `vocabulary` (registry/vocabulary.py), in its order; [] when absent; a problem and
        the known ones when some are not codes of it."""
        value = obj.get(key)
        if value is None or value == []:
            return []
        if not self.typed(value, path, "list") \
                or not all(self.typed(c, f"{path}[{i}]", "text") for i, c in enumerate(value)):
            return []
        known = {t.code for t in vocabulary}
        if any(c not in known for c in value):
            self.add(path, code, message)
        return ordered(value, vocabulary)

    def list_of_dicts(self, obj: dict, key: str, path: str, max_items: int) -> list[dict]:
        value = obj.get(key)
        if value is None:
            return []
        if not self.typed(value, path, "list") \
                or not all(self.typed(item, f"{path}[{i}]", "object") for i, item in enumerate(value)):
            return []
        if len(value) > max_items:
            self.add(path, "too_many", f"Не больше {max_items} элементов.")
            return value[:max_items]
        return value


def check_document(session: Session, doc, actor, *, region_exception_reason: str | None = None,
                   stored: dict | None = None) -> tuple[list[Problem], dict]:
    """(problems, clean document). `stored` is the organization as it is now (None for a new one): ids must be
    its own, and only new or moved locations are held to the region rule."""
    r = _Reader()
    if not r.typed(doc, "", "object", label="Описание организации"):
        return r.problems, {}
    reason = (region_exception_reason or "").strip()
    clean: dict = {
        "name": r.text(doc, "name", "name", required=True, max_len=500, label="Название"),
        "legal_form": r.text(doc, "legal_form", "legal_form", label="Организационно-правовая форма"),
        "description": r.text(doc, "description", "description", max_len=LONG, label="Описание"),
        "website": r.text(doc, "website", "website", label="Сайт"),
        "email": r.text(doc, "email", "email", max_len=254, label="Электронная почта"),
        "source": r.text(doc, "source", "source", label="Источник"),
        "external_id": r.optional_id(doc, "external_id", "external_id"),
        "status": r.choice(doc, "status", "status", ORG_STATUSES, default="draft", code="unknown_status",
                           message="Статус: черновик, опубликовано или не действует."),
        "verified_at": _date(r, doc.get("verified_at"), "verified_at"),
    }
    if clean["email"] and not _EMAIL.match(clean["email"]):
        r.add("email", "bad_email", "Адрес электронной почты записан неверно.")
    if clean["website"] and not _WEBSITE.match(clean["website"]):
        r.add("website", "bad_website", "Адрес сайта записан неверно (пример: https://example.ru).")

    stored_locations = {loc["id"]: loc for loc in (stored or {}).get("locations", [])}
    stored_services = {svc["id"] for svc in (stored or {}).get("services", [])}
    stored_phones = {ph["id"] for ph in (stored or {}).get("phones", [])}

    locations = r.list_of_dicts(doc, "locations", "locations", 200)
    if not locations:
        r.add("locations", "required", "Нужно хотя бы одно место: адрес с точкой на карте.")
    clean["locations"] = [_location(session, r, loc, f"locations[{i}]", actor, reason, stored_locations)
                          for i, loc in enumerate(locations)]
    _unique_ids(r, clean["locations"], "locations", "место")
    first = next((loc for loc in clean["locations"] if loc["active"] and loc["region_code"]), None) \
        or next((loc for loc in clean["locations"] if loc["region_code"]), None)
    clean["region_code"] = first["region_code"] if first else (stored or {}).get("region_code")
    country = "KZ" if (clean["region_code"] or "").startswith("KZ") else "RU"

    known_types = data.taxonomy_codes(session)
    known_regions = data.region_codes(session)
    services = r.list_of_dicts(doc, "services", "services", 200)
    clean["services"] = [_service(session, r, svc, f"services[{i}]", clean["locations"], known_types, known_regions,
                                  stored_services) for i, svc in enumerate(services)]
    _unique_ids(r, clean["services"], "services", "услуга")

    phones = r.list_of_dicts(doc, "phones", "phones", 100)
    clean["phones"] = [_phone(r, ph, f"phones[{i}]", len(clean["locations"]), len(clean["services"]), country,
                              stored_phones) for i, ph in enumerate(phones)]
    _unique_ids(r, clean["phones"], "phones", "телефон")

    if clean["status"] == "published" and not (
            any(loc["active"] for loc in clean["locations"]) and any(s["active"] for s in clean["services"])):
        r.add("status", "nothing_to_publish",
              "Чтобы опубликовать, нужны хотя бы одно действующее место и одна действующая услуга.")
    clean["region_exceptions"] = sorted({loc["region_code"] for loc in clean["locations"] if loc.get("exception")})
    return r.problems, clean


def _date(r: _Reader, value, path: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    if not r.typed(value, path, "text", label="Дата"):
        return None
    try:
        day = dt.date.fromisoformat(value[:10])
    except ValueError:
        r.add(path, "bad_date", "Дата записывается как ГГГГ-ММ-ДД.")
        return None
    if day > dt.date.today() + dt.timedelta(days=1):
        r.add(path, "future_date", "Дата проверки не может быть в будущем.")
    return day


def _unique_ids(r: _Reader, items: list[dict], path: str, what: str) -> None:
    seen = set()
    for i, item in enumerate(items):
        if item.get("id") is not None:
            if item["id"] in seen:
                r.add(f"{path}[{i}].id", "duplicate_id", f"Эта {what} указана дважды.")
            seen.add(item["id"])


def _known_id(r: _Reader, obj: dict, path: str, known) -> int | None:
    value = obj.get("id")
    if value is None or not r.typed(value, f"{path}.id", "number"):
        return None
    if not isinstance(value, int) or value not in known:
        r.add(f"{path}.id", "unknown_id", "Такой записи у этой организации нет.")
        return None
    return value


def _location(session: Session, r: _Reader, loc: dict, path: str, actor, reason: str, stored: dict) -> dict:
    lat = r.number(loc, "lat", f"{path}.lat", -90, 90, "Широта — число от -90 до 90.", required=True)
    lon = r.number(loc, "lon", f"{path}.lon", -180, 180, "Долгота — число от -180 до 180.", required=True)
    clean = {
        "id": _known_id(r, loc, path, stored),
        "external_id": r.optional_id(loc, "external_id", f"{path}.external_id"),
        "name": r.text(loc, "name", f"{path}.name", label="Название места"),
        "address": r.text(loc, "address", f"{path}.address", label="Адрес"),
        "settlement_id": r.integer(loc, "settlement_id", f"{path}.settlement_id", 1, MAX_ID,
                                   "Населённый пункт не найден."),
        "lat": lat, "lon": lon,
        "confidential": r.boolean(loc, "confidential", f"{path}.confidential", False),
        "approximate": r.boolean(loc, "approximate", f"{path}.approximate", False),
        "accessibility": r.text(loc, "accessibility", f"{path}.accessibility", max_len=LONG, label="Доступность"),
        "timezone": r.text(loc, "timezone", f"{path}.timezone", max_len=64, label="Часовой пояс") or None,
        "active": r.boolean(loc, "active", f"{path}.active", True),
        "region_code": None, "exception": False,
    }
    before = stored.get(clean["id"]) if clean["id"] is not None else None
    if clean["timezone"] and clean["timezone"] not in _timezones():
        r.add(f"{path}.timezone", "unknown_timezone", "Неизвестный часовой пояс (пример: Europe/Moscow).")
        clean["timezone"] = None
    settlement = None
    if clean["settlement_id"] is not None:
        settlement = data.settlement(session, clean["settlement_id"])
        if settlement is None:
            r.add(f"{path}.settlement_id", "unknown_settlement", "Населённый пункт не найден.")
            clean["settlement_id"] = None
    if lat is None or lon is None:
        return clean
    moved = before is None or (before["lat"], before["lon"]) != (lat, lon)
    if not moved:
        clean["region_code"] = before["region_code"]
    else:
        clean["region_code"] = region_of_point(session, lat, lon)
        if clean["region_code"] is None:
            r.add(f"{path}.lat", "no_region", "Точка не попадает ни в один регион России или Казахстана.")
        elif not may_edit_region(actor, clean["region_code"]):
            if reason:
                clean["exception"] = True
            else:
                name = data.region_name(session, clean["region_code"])
                r.add(f"{path}.lat", "outside_region",
                      f"Точка лежит в регионе «{name}», который вы не курируете. Исправьте координаты или "
                      f"укажите причину исключения.")
        if clean["settlement_id"] is None and before is None:
            near = settlement_near(session, lat, lon)
            settlement = near
            clean["settlement_id"] = near["id"] if near else None
    if clean["timezone"] is None:
        clean["timezone"] = (before or {}).get("timezone") if not moved else None
    if clean["timezone"] is None:
        clean["timezone"] = (settlement or {}).get("timezone") or (
            data.region_timezone(session, clean["region_code"]) if clean["region_code"] else None) or "Europe/Moscow"
    return clean


def _service(session: Session, r: _Reader, svc: dict, path: str, locations: list[dict], known_types: set[str],
             known_regions: set[str], stored: set[int]) -> dict:
    clean = {
        "id": _known_id(r, svc, path, stored),
        "external_id": r.optional_id(svc, "external_id", f"{path}.external_id"),
        "type": r.choice(svc, "type", f"{path}.type", known_types, default=None, code="unknown_type",
                         message=f"Неизвестный вид помощи: {str(svc.get('type'))[:50]}."),
        "name": r.text(svc, "name", f"{path}.name", max_len=500, label="Название услуги"),
        "description": r.text(svc, "description", f"{path}.description", max_len=LONG, label="Описание услуги"),
        "eligibility": r.text(svc, "eligibility", f"{path}.eligibility", max_len=LONG, label="Кому помогают"),
        "age_min_months": r.integer(svc, "age_min_months", f"{path}.age_min_months", 0, MAX_AGE_MONTHS,
                                    f"Возраст — целое число месяцев от 0 до {MAX_AGE_MONTHS}."),
        "age_max_months": r.integer(svc, "age_max_months", f"{path}.age_max_months", 0, MAX_AGE_MONTHS,
                                    f"Возраст — целое число месяцев от 0 до {MAX_AGE_MONTHS}."),
        "delivery": r.choice(svc, "delivery", f"{path}.delivery", DELIVERIES, default="on_site",
                             code="unknown_delivery", message="Способ оказания: на месте, выезд к семье или онлайн."),
        "conditions": r.codes(svc, "conditions", f"{path}.conditions", CONDITIONS, code="unknown_condition",
                              message="Состояние ребёнка: " + ", ".join(CONDITION_CODES) + "."),
        "cost": None if svc.get("cost") in (None, "") else r.choice(
            svc, "cost", f"{path}.cost", COST_CODES, default=None, code="unknown_cost",
            message="Стоимость: бесплатно (free), частично платно (partly_paid) или платно (paid)."),
        "cost_basis": r.codes(svc, "cost_basis", f"{path}.cost_basis", COST_BASES, code="unknown_cost_basis",
                              message="Основание: " + ", ".join(COST_BASIS_CODES) + "."),
        "outreach_radius_km": None, "area_geojson": None, "regions": None,
        "capacity_total": r.integer(svc, "capacity_total", f"{path}.capacity_total", 0, 1_000_000,
                                    "Число мест — целое число не меньше 0."),
        "capacity_free": r.integer(svc, "capacity_free", f"{path}.capacity_free", 0, 1_000_000,
                                   "Число мест — целое число не меньше 0."),
        "active": r.boolean(svc, "active", f"{path}.active", True),
        "location": r.index(svc, "location", f"{path}.location", len(locations), default=0 if locations else None,
                            message="Укажите, в каком месте оказывается услуга."),
        "schedule": _schedule(r, svc, f"{path}.schedule"),
    }
    if clean["location"] is None and locations and not any(p.field == f"{path}.location" for p in r.problems):
        r.add(f"{path}.location", "bad_reference", "Укажите, в каком месте оказывается услуга.")
    if None not in (clean["age_min_months"], clean["age_max_months"]) \
            and clean["age_min_months"] > clean["age_max_months"]:
        r.add(f"{path}.age_max_months", "ages_reversed", "Возраст «до» меньше возраста «от».")
    if None not in (clean["capacity_total"], clean["capacity_free"]) \
            and clean["capacity_free"] > clean["capacity_total"]:
        r.add(f"{path}.capacity_free", "capacity_exceeded", "Свободных мест больше, чем мест всего.")
    if clean["delivery"] == "outreach":
        clean["outreach_radius_km"] = r.number(svc, "outreach_radius_km", f"{path}.outreach_radius_km", 0.1,
                                               MAX_RADIUS_KM, f"Радиус выезда — от 0,1 до {MAX_RADIUS_KM} км.")
        clean["area_geojson"] = _area(session, r, svc.get("area_geojson"), f"{path}.area_geojson")
        if clean["outreach_radius_km"] is None and clean["area_geojson"] is None \
                and not any(p.field.startswith(f"{path}.outreach_radius_km") for p in r.problems):
            r.add(f"{path}.outreach_radius_km", "required", "Для выезда к семье укажите радиус или нарисуйте область.")
    if clean["delivery"] == "online":
        regions = svc.get("regions")
        if regions not in (None, []) and r.typed(regions, f"{path}.regions", "list") \
                and all(r.typed(c, f"{path}.regions[{i}]", "text") for i, c in enumerate(regions)):
            if not all(c in known_regions for c in regions):
                r.add(f"{path}.regions", "unknown_region", "Неизвестный регион в списке обслуживаемых.")
            else:
                clean["regions"] = sorted(set(regions))
    return clean


def _area(session: Session, r: _Reader, value, path: str) -> str | None:
    """A drawn outreach area: a GeoJSON Polygon or MultiPolygon that PostGIS finds valid; returned as text."""
    if value in (None, "", {}):
        return None
    if not r.typed(value, path, "object", "text", label="Область выезда"):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, dict) or value.get("type") not in ("Polygon", "MultiPolygon"):
        r.add(path, "bad_area", "Область выезда должна быть многоугольником (GeoJSON Polygon).")
        return None
    geojson = json.dumps(value)
    if len(geojson) > 1_000_000:
        r.add(path, "too_long", "Область выезда слишком подробная.")
        return None
    if not data.area_is_valid(session, geojson):
        r.add(path, "bad_area", "Область выезда нарисована неверно (контур пересекает сам себя или не замкнут).")
        return None
    return geojson


def _schedule(r: _Reader, svc: dict, path: str) -> list[dict]:
    slots = []
    for i, slot in enumerate(r.list_of_dicts(svc, "schedule", path, 70)):
        here = f"{path}[{i}]"
        weekday = r.integer(slot, "weekday", f"{here}.weekday", 1, 7, "День недели — число от 1 (пн) до 7 (вс).")
        opens = _time(r, slot.get("opens"), f"{here}.opens", closing=False)
        closes = _time(r, slot.get("closes"), f"{here}.closes", closing=True)
        if None in (weekday, opens, closes):
            continue
        if opens >= closes:
            r.add(f"{here}.closes", "hours_reversed", "Время работы: «с» должно быть раньше, чем «до».")
            continue
        slots.append({"weekday": weekday, "opens": f"{opens // 60:02d}:{opens % 60:02d}",
                      "closes": f"{closes // 60:02d}:{closes % 60:02d}", "_o": opens, "_c": closes, "_path": here})
    by_day = sorted(slots, key=lambda s: (s["weekday"], s["_o"]))
    for a, b in zip(by_day, by_day[1:]):
        if a["weekday"] == b["weekday"] and b["_o"] < a["_c"]:
            r.add(f"{b['_path']}.opens", "hours_overlap", "Часы работы в этот день пересекаются.")
    return [{"weekday": s["weekday"], "opens": s["opens"], "closes": s["closes"]} for s in slots]


def _time(r: _Reader, value, path: str, *, closing: bool) -> int | None:
    if value is not None and not r.typed(value, path, "text", label="Время"):
        return None
    match = _TIME.match(value.strip()) if isinstance(value, str) else None
    minute = int(match.group(1)) * 60 + int(match.group(2)) if match and int(match.group(2)) < 60 else None
    if minute is None or minute > (1440 if closing else 1439):
        r.add(path, "bad_time", "Время записывается как ЧЧ:ММ, например 09:00.")
        return None
    return minute


def _phone(r: _Reader, ph: dict, path: str, n_locations: int, n_services: int, country: str, stored: set[int]) -> dict:
    raw = ph.get("number")
    raw = "" if raw is None else raw
    number = ""
    if r.typed(raw, f"{path}.number", "text", label="Телефон"):
        if not raw.strip():
            r.add(f"{path}.number", "required", "Укажите номер телефона.")
        elif len(raw) > 40:
            r.add(f"{path}.number", "bad_phone", "Телефон записан неверно.")
        else:
            try:
                number = to_e164(raw, country)
            except BadPhone:
                r.add(f"{path}.number", "bad_phone", f"Телефон записан неверно: {raw.strip()[:40]}.")
    return {
        "id": _known_id(r, ph, path, stored), "number": number,
        "kind": r.choice(ph, "kind", f"{path}.kind", PHONE_KINDS, default="main", code="unknown_kind",
                         message="Вид телефона: основной, для записи, горячая линия или факс."),
        "extension": r.text(ph, "extension", f"{path}.extension", max_len=20, label="Добавочный"),
        "note": r.text(ph, "note", f"{path}.note", max_len=500, label="Примечание"),
        "location": r.index(ph, "location", f"{path}.location", n_locations, default=None,
                            message="Такого места у организации нет."),
        "service": r.index(ph, "service", f"{path}.service", n_services, default=None,
                           message="Такой услуги у организации нет."),
    }
