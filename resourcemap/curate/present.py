"""How the curators' pages show the registry: field names and values in the page's language (Russian or English;
the names below are msgids, marked N_ for the catalogues and translated where shown), the history of changes, and
the two versions side by side on the conflict page."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from .. import clock
from ..dispatch.present import hours_lines
from ..errors import N_
from ..registry import vocabulary
from ..registry import hours
from ..search.dispatch import Slot
from ..search.phones import national_format
from .forms import age_text

STATUS_NAMES = {"published": N_("Опубликована"), "draft": N_("Черновик"), "inactive": N_("Не действует")}
DELIVERY_NAMES = {"on_site": N_("На месте"), "outreach": N_("Выезд к семье"), "online": N_("Дистанционно")}
PHONE_KINDS = {"main": N_("Основной"), "intake": N_("Приём обращений"), "hotline": N_("Горячая линия"), "fax": N_("Факс")}
ENTITY_NAMES = {"organization": N_("Организация"), "location": N_("Место"), "service": N_("Услуга"), "phone": N_("Телефон"),
                "schedule": N_("Часы работы"), "service_area": N_("Зона выезда"), "service_at_location": N_("Услуга на месте")}
FIELD_NAMES = {
    "name": N_("Название"), "legal_form": N_("Правовая форма"), "description": N_("Описание"), "website": N_("Сайт"),
    "email": N_("Эл. почта"), "status": N_("Статус"), "verified_at": N_("Проверено"), "source": N_("Источник"),
    "external_id": N_("Внешний код"), "region_code": N_("Регион"), "is_synthetic": N_("Демо-данные"),
    "address": N_("Адрес"), "settlement_id": N_("Населённый пункт"), "lat": N_("Широта"), "lon": N_("Долгота"),
    "point": N_("Точка на карте"),
    "confidential": N_("Адрес скрыт"), "approximate": N_("Точка примерная"), "accessibility": N_("Доступная среда"),
    "timezone": N_("Часовой пояс"), "active": N_("Действует"), "type": N_("Вид помощи"), "type_code": N_("Вид помощи"),
    "age_min_months": N_("Возраст от"), "age_max_months": N_("Возраст до"), "eligibility": N_("Кому помогают"),
    "delivery": N_("Как помогают"), "outreach_radius_km": N_("Радиус выезда, км"), "radius_km": N_("Радиус выезда, км"),
    "area_geojson": N_("Нарисованная зона"), "area": N_("Нарисованная зона"), "regions": N_("Регионы (дистанционно)"),
    "capacity_total": N_("Мест всего"), "capacity_free": N_("Свободно мест"), "schedule": N_("Часы работы"), "hours": N_("Часы работы"),
    "number": N_("Номер"), "kind": N_("Вид номера"), "note": N_("Примечание"), "location": N_("Место"), "location_id": N_("Место"),
    "weekday": N_("День недели"), "opens_minute": N_("Открывается"), "closes_minute": N_("Закрывается"),
    "service_id": N_("Услуга"), "organization_id": N_("Организация"), "extension": N_("Добавочный"),
    "conditions": N_("С какими детьми работают"), "cost": N_("Стоимость"), "cost_basis": N_("Основание оплаты"),
    "recheck_since": N_("Перепроверить с"),
}
MOSCOW = ZoneInfo(clock.MOSCOW)
WEEKDAY_SHORT = {1: N_("Пн"), 2: N_("Вт"), 3: N_("Ср"), 4: N_("Чт"), 5: N_("Пт"), 6: N_("Сб"), 7: N_("Вс")}


def translated(names: dict) -> dict:
    """A dict of names (msgids) in the page's language, for a template."""
    return {code: _(name) for code, name in names.items()}


def field_label(name: str | None) -> str:
    return _(FIELD_NAMES[name]) if name in FIELD_NAMES else name or ""


def value_text(name: str | None, value, kinds: dict[str, str] | None = None, regions: dict[str, str] | None = None
               ) -> str:
    """One value as a curator reads it: "да"/"нет", "3 года", "Пн 09:00–18:00", a phone in national format."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("да") if value else _("нет")
    if name in ("age_min_months", "age_max_months"):
        text = age_text(value)
        return _("%(n)s лет", n=text) if text and not text.endswith(_("мес")) else text
    if name == "status":
        return _(STATUS_NAMES[value]) if value in STATUS_NAMES else str(value)
    if name == "delivery":
        return _(DELIVERY_NAMES[value]) if value in DELIVERY_NAMES else str(value)
    if name in ("type", "type_code") and kinds:
        return kinds.get(value, str(value))
    if name == "region_code" and regions:
        return f"{regions.get(value, value)}"
    if name == "kind" and value in PHONE_KINDS:
        return _(PHONE_KINDS[value])
    if name == "number" and isinstance(value, str) and value.startswith("+"):
        return national_format(value)
    if name in ("opens_minute", "closes_minute") and isinstance(value, int):
        return f"{value // 60:02d}:{value % 60:02d}"
    if name == "weekday" and isinstance(value, int):
        return _(WEEKDAY_SHORT[value]) if value in WEEKDAY_SHORT else str(value)
    if name == "schedule" and isinstance(value, list):
        return schedule_text(value)
    if name == "hours" and isinstance(value, str):
        return week_text(hours.slots(value))
    if name in ("conditions", "cost_basis") and isinstance(value, list):
        return ", ".join(vocabulary.label(c) for c in value)
    if name == "cost" and isinstance(value, str):
        return vocabulary.label(value)
    if name == "regions" and isinstance(value, list):
        return ", ".join(regions.get(c, c) if regions else c for c in value)
    if name in ("area", "area_geojson"):
        return _("задана")
    if name == "point" and isinstance(value, dict):
        return point_text(value)
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return dt.date.fromisoformat(value).strftime("%d.%m.%Y")
        except ValueError:
            return value
    if isinstance(value, dict):
        return "; ".join(f"{field_label(k)}: {value_text(k, v, kinds, regions)}" for k, v in value.items()
                         if k not in ("id", "organization_id", "service_id", "location_id", "geog")
                         and v not in (None, "", []))
    return str(value)


def point_text(point: dict) -> str:
    """{"lat", "lon"} -> "55.790123, 38.445679" (a move recorded before migration 0016 may name one coordinate)."""
    if point.keys() == {"lat", "lon"}:
        return f"{value_text(None, point['lat'])}, {value_text(None, point['lon'])}"
    return "; ".join(f"{field_label(k)} {value_text(None, v)}" for k, v in point.items())


def schedule_text(slots: list[dict]) -> str:
    """The document's [{"weekday", "opens", "closes"}] -> "Пн–Пт 09:00–18:00; Сб 10:00–14:00"."""
    return week_text((int(s["weekday"]), hours.minutes(s["opens"]), hours.minutes(s["closes"])) for s in slots)


def week_text(slots) -> str:
    """(weekday, opens_minute, closes_minute) slots -> "Пн–Пт 09:00–18:00; Сб 10:00–14:00"."""
    return "; ".join(hours_lines([Slot(*s) for s in sorted(slots)])) or "—"


def moscow_time(at) -> str:
    """A moment as the curators read it: Moscow time, "24.11.2026 14:05 МСК"."""
    if not isinstance(at, dt.datetime):
        return str(at or "")
    if at.tzinfo is not None:
        at = at.astimezone(MOSCOW)
    return at.strftime("%d.%m.%Y %H:%M") + " " + _("МСК")


# --- history -----------------------------------------------------------------------------------------------------
def history_rows(changes: list[dict], kinds: dict[str, str], regions: dict[str, str]) -> list[dict]:
    """The history as the page lists it, newest first: when, who, what, old -> new, note, and whether it can be
    reverted (a change of one field)."""
    rows = []
    for c in changes:
        field = c.get("field")
        op = c.get("op") or ("update" if field else ("insert" if c.get("new") is not None else "delete"))
        if op == "update":
            what = field_label(field)
            old, new = value_text(field, c.get("old"), kinds, regions), value_text(field, c.get("new"), kinds, regions)
        elif op == "insert":
            what, old, new = _("добавлено"), "—", _record_text(c.get("entity"), c.get("new"), kinds, regions)
        else:
            what, old, new = _("удалено"), _record_text(c.get("entity"), c.get("old"), kinds, regions), "—"
        at = c.get("at")
        rows.append({
            "id": c["id"], "at": moscow_time(at),
            "who": c.get("actor_email") or _("система"),
            "entity": _(ENTITY_NAMES[c["entity"]]) if c.get("entity") in ENTITY_NAMES else c.get("entity"),
            "entity_id": c.get("entity_id"), "what": what, "old": old, "new": new, "note": c.get("note") or "",
            "change_set": c.get("change_set"), "revertible": op == "update",
        })
    return rows


def _record_text(entity: str | None, record, kinds, regions) -> str:
    if not isinstance(record, dict):
        return value_text(None, record, kinds, regions)
    if entity == "schedule":
        return (f"{value_text('weekday', record.get('weekday'))} "
                f"{value_text('opens_minute', record.get('opens_minute'))}–"
                f"{value_text('closes_minute', record.get('closes_minute'))}")
    if entity == "phone":
        return value_text("number", record.get("number")) + (f" ({record['note']})" if record.get("note") else "")
    if entity == "service":
        return kinds.get(record.get("type_code"), record.get("type_code") or "") + (
            f": {record['name']}" if record.get("name") else "")
    if entity == "service_area":
        if record.get("radius_km") is not None:
            return _("радиус %(km)s км", km=value_text("radius_km", record["radius_km"]))
        return regions.get(record.get("region_code"), _("нарисованная зона")) if record.get("region_code") else \
            _("нарисованная зона")
    if entity == "service_at_location":
        return _("услуга %(s)s на месте %(l)s", s=record.get("service_id"), l=record.get("location_id"))
    if entity in ("organization", "location"):
        return record.get("name") or record.get("address") or ""
    return value_text(None, record, kinds, regions)


# --- the conflict page ------------------------------------------------------------------------------------------
ORG_COMPARED = ("name", "legal_form", "description", "website", "email", "source", "external_id", "region_code",
                "status", "verified_at")
LOCATION_COMPARED = ("name", "address", "settlement_id", "lat", "lon", "confidential", "approximate",
                     "accessibility", "active")
SERVICE_COMPARED = ("type", "name", "description", "age_min_months", "age_max_months", "eligibility", "delivery",
                    "outreach_radius_km", "capacity_total", "capacity_free", "schedule", "active", "conditions", "cost",
                    "cost_basis")
PHONE_COMPARED = ("number", "kind", "note")


def same(name: str, a, b) -> bool:
    if name in ("lat", "lon") and isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) < 5e-7
    if name == "schedule":
        return schedule_text(a or []) == schedule_text(b or [])
    if name == "number" and isinstance(a, str) and isinstance(b, str):
        return a.replace(" ", "") == b.replace(" ", "") or national_format(a) == national_format(b)
    norm = lambda v: None if v in ("", [], None) else v  # noqa: E731
    return norm(a) == norm(b) or str(norm(a)) == str(norm(b))


def _pairs(stored: list[dict], yours: list[dict]) -> list[tuple[dict | None, dict | None]]:
    """Rows matched by id; rows new in yours (no id) and rows only in the stored version stand alone."""
    by_id = {r.get("id"): r for r in stored if r.get("id") is not None}
    pairs, seen = [], set()
    for row in yours:
        other = by_id.get(row.get("id")) if row.get("id") is not None else None
        if other is not None:
            seen.add(row["id"])
        pairs.append((other, row))
    pairs += [(r, None) for r in stored if r.get("id") not in seen]
    return pairs


def _section(title: str, fields: tuple[str, ...], stored: dict | None, yours: dict | None, base: dict | None,
             kinds, regions, settlements: dict[int, str]) -> dict:
    rows = []
    for name in fields:
        a = stored.get(name) if stored else None
        b = yours.get(name) if yours else None
        show = lambda v: settlements.get(v, str(v)) if name == "settlement_id" and v else \
            value_text(name, v, kinds, regions)  # noqa: E731
        differs = stored is None or yours is None or not same(name, a, b)
        who = ""
        if differs and base is not None:
            mine = yours is not None and not same(name, b, base.get(name))
            theirs = stored is not None and not same(name, a, base.get(name))
            who = "both" if mine and theirs else "mine" if mine else "theirs" if theirs else ""
        elif differs and yours is not None and yours.get("id") is None:
            who = "mine"
        rows.append({"label": field_label(name), "stored": show(a) if stored else _("(нет в сохранённой версии)"),
                     "yours": show(b) if yours else _("(нет в вашей версии)"), "differs": differs, "who": who})
    return {"title": title, "rows": rows, "differs": any(r["differs"] for r in rows)}


def conflict_sections(stored: dict, yours: dict, kinds: dict[str, str], regions: dict[str, str],
                      settlements: dict[int, str], base: dict | None = None) -> list[dict]:
    """Both versions field by field, in sections (the organization, each place, service and phone); with the
    version the curator started from (`base`), each difference says who made it: "mine", "theirs" or "both"."""
    def base_row(kind: str, row: dict | None) -> dict | None:
        if base is None or row is None or row.get("id") is None:
            return None
        return next((r for r in base.get(kind) or [] if r.get("id") == row["id"]), None)

    sections = [_section(_("Организация"), ORG_COMPARED, stored, yours, base, kinds, regions, settlements)]
    for n, (a, b) in enumerate(_pairs(stored.get("locations") or [], yours.get("locations") or []), 1):
        title = _("Место %(n)s", n=n) + ": " + ((b or a).get("name") or (b or a).get("address") or _("без названия"))
        sections.append(_section(title, LOCATION_COMPARED, a, b, base_row("locations", a or b), kinds, regions,
                                 settlements))
    for n, (a, b) in enumerate(_pairs(stored.get("services") or [], yours.get("services") or []), 1):
        row = b or a
        title = _("Услуга %(n)s", n=n) + ": " + (row.get("name") or kinds.get(row.get("type"), row.get("type") or ""))
        sections.append(_section(title, SERVICE_COMPARED, a, b, base_row("services", a or b), kinds, regions,
                                 settlements))
    for n, (a, b) in enumerate(_pairs(stored.get("phones") or [], yours.get("phones") or []), 1):
        sections.append(_section(_("Телефон %(n)s", n=n), PHONE_COMPARED, a, b, base_row("phones", a or b), kinds, regions,
                                 settlements))
    return sections
