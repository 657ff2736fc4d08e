"""How the console shows a service to the consultant, and the referral card for the family.

The console is for staff: exact data, confidential addresses included (search/redaction.py with the staff viewer).
The referral card goes to the family (read out, SMS, print), so a confidential place's address is never on it:
"адрес сообщается по телефону", and only its intake phone."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import g
from flask_babel import get_locale, gettext

from .. import clock
from ..limits import STALE_AFTER_DAYS
from ..registry import vocabulary
from ..registry.hours import hhmm
from ..auth.policy import Viewer
from ..search.dispatch import Opening, Slot, opening
from ..public.i18n import place_name
from ..search.phones import phone_view
from ..search.redaction import card_hides, card_phones, nearest_result_view, public_km



def _(message: str, **variables) -> str:
    """flask_babel's gettext, each message looked up once per request (a search shapes ~25 rows with a dozen
    messages each; the lookups alone took ~8 ms)."""
    cache = g.setdefault("dispatch_messages", {}).setdefault(str(get_locale()), {})  # a card may be in Kazakh
    if message not in cache:
        cache[message] = gettext(message)
    return cache[message] % variables if variables else cache[message]


CONSULTANT_TZ = clock.MOSCOW  # times elsewhere are shown with their offset from Moscow (МСК+4)
CAPACITY_KINDS = ("crisis_apartment", "rental_point")


def weekday_names() -> list[str]:
    return [_("Пн"), _("Вт"), _("Ср"), _("Чт"), _("Пт"), _("Сб"), _("Вс")]


def hours_lines(slots: list[Slot]) -> list[str]:
    """Weekly hours, days with the same hours grouped: ["Пн–Пт 09:00–18:00", "Сб 10:00–14:00"]."""
    names = weekday_names()
    by_day: dict[int, str] = {}
    for s in slots:
        span = f"{hhmm(s.opens)}–{hhmm(s.closes)}"
        by_day[s.weekday] = f"{by_day[s.weekday]}, {span}" if s.weekday in by_day else span
    groups: list[tuple[list[int], str]] = []
    for day in range(1, 8):
        hours = by_day.get(day)
        if hours and groups and groups[-1][1] == hours and groups[-1][0][-1] == day - 1:
            groups[-1][0].append(day)
        elif hours:
            groups.append(([day], hours))
    return [names[d[0] - 1] + (f"–{names[d[-1] - 1]}" if len(d) > 1 else "") + " " + h for d, h in groups]


def msk_offset(timezone: str, now: dt.datetime) -> str:
    """"" in Moscow time, else "МСК+4" / "МСК−1": how the consultant should read the service's local times."""
    local = now.astimezone(ZoneInfo(timezone)).utcoffset() or dt.timedelta()
    msk = now.astimezone(ZoneInfo(CONSULTANT_TZ)).utcoffset() or dt.timedelta()
    hours = (local - msk).total_seconds() / 3600
    if hours == 0:
        return ""
    text = f"{abs(hours):g}".replace(".", ",")
    return _("МСК") + ("+" if hours > 0 else "−") + text


def _when(moment: dt.datetime, local_now: dt.datetime) -> str:
    days = (moment.date() - local_now.date()).days
    if days == 0:
        return _("сегодня в %(t)s", t=moment.strftime("%H:%M"))
    if days == 1:
        return _("завтра в %(t)s", t=moment.strftime("%H:%M"))
    return _("%(d)s в %(t)s", d=weekday_names()[moment.isoweekday() - 1].lower(), t=moment.strftime("%H:%M"))


def opening_view(state: Opening, timezone: str, now: dt.datetime) -> dict:
    """{known, open_now, text, zone}: "Открыто до 18:00" / "Закрыто · откроется завтра в 09:00"."""
    if not state.known:
        return {"known": False, "open_now": None, "text": _("Часы работы не указаны"), "zone": ""}
    local_now = now.astimezone(ZoneInfo(timezone))
    zone = msk_offset(timezone, now)
    if state.open_now:
        closes = state.closes_at
        text = _("Открыто до %(t)s", t=closes.strftime("%H:%M")) if closes.date() == local_now.date() else \
            _("Открыто до %(w)s", w=_when(closes, local_now))
    elif state.next_open:
        text = _("Закрыто · откроется %(w)s", w=_when(state.next_open, local_now))
    else:
        text = _("Закрыто")
    return {"known": True, "open_now": state.open_now, "text": text + (f" ({zone})" if zone else ""), "zone": zone}


def ago(moment: dt.datetime | dt.date | None, now: dt.datetime) -> str:
    """"5 мин назад", "3 ч назад", "12 дн. назад" (abbreviated: no plural forms to get wrong)."""
    if moment is None:
        return ""
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.combine(moment, dt.time(), tzinfo=dt.timezone.utc)
    seconds = max(0, (now - moment).total_seconds())
    if seconds < 3600:
        return _("%(n)d мин назад", n=max(1, int(seconds // 60)))
    if seconds < 86400:
        return _("%(n)d ч назад", n=int(seconds // 3600))
    return _("%(n)d дн. назад", n=int(seconds // 86400))


def verified_view(verified_at: dt.date | None, now: dt.datetime) -> dict:
    if verified_at is None:
        return {"date": None, "stale": True, "text": _("Дата проверки неизвестна")}
    days = (now.date() - verified_at).days
    text = _("Проверено %(d)s", d=verified_at.strftime("%d.%m.%Y"))
    if days > STALE_AFTER_DAYS:
        text = _("Проверено %(d)s — более %(n)d дн. назад, уточните по телефону", d=verified_at.strftime("%d.%m.%Y"),
                 n=STALE_AFTER_DAYS)
    return {"date": verified_at.isoformat(), "stale": days > STALE_AFTER_DAYS, "text": text}


def distance_text(km: float) -> str:
    if km < 1:
        return _("менее 1 км")
    if km < 10:
        return _("%(km)s км", km=f"{km:.1f}".replace(".", ","))
    return _("%(km)d км", km=round(km))


def address_text(location: dict) -> str:
    place = place_name(location.get("settlement"))
    parts = [p for p in (place, location.get("address") or "") if p]
    if not location.get("address") and location.get("name"):
        parts.append(location["name"])
    return ", ".join(parts)


def console_result(row: dict, viewer: Viewer, slots: list[Slot], now: dt.datetime) -> dict:
    """One service as the console shows it: phone and distance first, then the rest."""
    view = nearest_result_view(row, viewer)
    service, loc = view["service"], view["location"]
    state = opening(slots, row["timezone"], now)
    capacity = None
    if row["type_code"] in CAPACITY_KINDS or service["capacity_free"] is not None:
        updated = row["capacity_updated_at"]
        capacity = {"free": service["capacity_free"], "total": row["capacity_total"],
                    "updated_at": service["capacity_updated_at"], "ago": ago(updated, now),
                    "text": (_("Свободно мест: %(n)d", n=service["capacity_free"])
                             if service["capacity_free"] is not None else _("Свободные места не указаны"))
                    + (" · " + _("обновлено %(ago)s", ago=ago(updated, now)) if updated else "")}
    return {
        "sal_id": row["sal_id"],
        "kind": row["type_code"],
        "distance_km": view["distance_km"],
        "distance_text": distance_text(view["distance_km"]),
        "reaches_you": row["reaches_you"],
        "delivery": row["delivery"],
        "organization": row["organization_name"],
        "organization_id": row["organization_id"],
        "service_name": row["service_name"] or "",
        "phones": view["phones"],
        "address": address_text(loc),
        "confidential": bool(row["confidential"]),
        "lat": loc["lat"], "lon": loc["lon"],
        "opening": opening_view(state, row["timezone"], now),
        "hours": hours_lines(slots),
        "capacity": capacity,
        "verified": verified_view(row["verified_at"], now),
        "synthetic": row["is_synthetic"],
        "age": age_text(row["age_min_months"], row["age_max_months"]),
        "needs": needs_text(row),
    }


# How consultants write the conditions and grounds in short (Russian; other languages get the full labels).
SHORT_RU = {"hearing": "слух", "vision": "зрение", "motor": "НОДА", "autism": "РАС", "down_syndrome": "с-м Дауна",
            "developmental_delay": "ЗПР", "complex_needs": "ТМНР", "state_programme": "госпрограмма",
            "referral": "по направлению"}


def needs_text(row: dict) -> str:
    """"Бесплатно, по направлению; слух, РАС": the cost and the conditions stated, short, for one line of a card."""
    lang = str(get_locale() or "ru")
    short = (lambda c: SHORT_RU.get(c) or vocabulary.label(c, lang)) if lang == "ru" else \
        (lambda c: vocabulary.label(c, lang))
    cost = ", ".join(([vocabulary.label(row["cost"], lang)] if row.get("cost") else [])
                     + [short(c) for c in row.get("cost_basis") or []])
    conditions = ", ".join(short(c) for c in row.get("conditions") or [])
    return "; ".join(part for part in (cost, conditions) if part)


def _years(months: int) -> str:
    """Years in the genitive after "от"/"до": "1 года", "2 лет", "1,5 лет", "21 года"."""
    if months % 12:
        return f"{months / 12:.1f}".replace(".", ",") + " " + _("лет")
    n = months // 12
    return f"{n} " + (_("года") if n % 10 == 1 and n % 100 != 11 else _("лет"))


def age_text(lo: int | None, hi: int | None) -> str:
    """"с рождения до 3 лет", "от 1 года до 7 лет", "от 3 лет"."""
    if lo is None and hi is None:
        return ""
    if hi is None:
        return _("от %(a)s", a=_years(lo))
    if not lo:
        return _("с рождения до %(b)s", b=_years(hi))
    return _("от %(a)s до %(b)s", a=_years(lo), b=_years(hi))


# --- the referral card ----------------------------------------------------------------------------------------
def family_phones(row: dict) -> list[str]:
    """The phones the family gets: of a confidential place only the intake line (or the first phone)."""
    return [phone_view(p)["display"] for p in card_phones(row)]


def referral_item(row: dict, slots: list[Slot], kind_names: dict[str, str], now: dt.datetime) -> dict:
    km = row["distance_m"] / 1000.0
    settlement = ({"name": row["settlement_name"], "name_kk": row.get("settlement_name_kk")}
                  if row["settlement_name"] else None)
    if card_hides(row):
        km = public_km(km)
        address = short_address = _("адрес сообщается по телефону")
    else:
        address = address_text({"settlement": settlement, "address": row["address"], "name": row["location_name"]})
        short_address = address_text({"settlement": settlement, "address": row["address"]})
    state = opening(slots, row["timezone"], now)
    hours = "; ".join(hours_lines(slots)) or _("часы работы уточняйте по телефону")
    return {
        "sal_id": row["sal_id"],
        "name": row["organization_name"],
        "service": row["service_name"] or kind_names.get(row["type_code"], row["type_code"]),
        "kind": kind_names.get(row["type_code"], row["type_code"]),
        "phones": family_phones(row),
        "address": address,
        "short_address": short_address,  # without the place's name: the SMS (sms.py)
        "confidential": bool(row["confidential"]),
        "hours": hours,
        "open": opening_view(state, row["timezone"], now)["text"] if slots else "",
        "distance": distance_text(km),
        "reaches_you": row["reaches_you"],
    }


def card_date(now: dt.datetime, *zones: str | None) -> str:
    """The card's date, "07.12.2026", where the family is: the first zone known of (the family's settlement,
    the first service's place), Moscow if none."""
    return clock.local_date(next((z for z in zones if z), None), now).strftime("%d.%m.%Y")


def referral_text(items: list[dict], place: str, date: str) -> str:
    """The plain-text card to read out, copy or print."""
    lines = [_("Куда обратиться") + (f" — {place}" if place else ""), date, ""]
    for n, it in enumerate(items, 1):
        lines.append(f"{n}. {it['name']} — {it['kind'].lower()}")
        if it["phones"]:
            lines.append(_("Тел.: %(p)s", p=", ".join(it["phones"])))
        lines.append(_("Адрес: %(a)s", a=it["address"] or _("уточняйте по телефону")))
        lines.append(_("Часы: %(h)s", h=it["hours"]))
        lines.append(_("Расстояние: %(d)s", d=it["distance"]) + (", " + _("выезжают на дом") if it["reaches_you"] else ""))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
