"""The editor's form and the organization document of registry/edit.py, both ways.

Every input is named by its path in the document ("name", "locations[0].lat", "phones[1].number"), so a problem
that validate_document reports for "locations[0].lat" is shown next to the input of that name. Two exceptions,
translated by `Editor.field_name`: weekly hours are edited as seven weekday rows with up to two intervals each
("services[0].hours[1].opens2" is Monday's second opening), and a problem about a whole row ("locations[0]") is
shown at the top of that row.

The form is kept as strings (`Editor`), so a value that could not be read ("55,7a") comes back to the curator as
typed, with the reason beside it. Empty new rows are dropped before the document is made."""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_wtf import FlaskForm

from ..errors import N_
from ..limits import MAX_AGE_MONTHS, MAX_ID, MAX_NOTE

WEEKDAYS = [(1, N_("Понедельник")), (2, N_("Вторник")), (3, N_("Среда")), (4, N_("Четверг")), (5, N_("Пятница")),
            (6, N_("Суббота")), (7, N_("Воскресенье"))]  # names translated where shown
MAX_ROWS = 60  # rows of one kind in one form: more is not a curator typing

ORG_FIELDS = ("id", "version", "status", "name", "legal_form", "description", "website", "email", "source",
              "external_id", "region_code", "verified_at")
LOCATION_FIELDS = ("id", "external_id", "name", "address", "settlement_id", "settlement_label", "lat", "lon",
                   "confidential", "approximate", "accessibility", "timezone", "active")
SERVICE_FIELDS = ("id", "external_id", "type", "name", "description", "age_min_months", "age_max_months",
                  "eligibility", "delivery", "outreach_radius_km", "area_geojson", "regions", "capacity_total",
                  "capacity_free", "active", "location", "conditions", "cost", "cost_basis")
LIST_FIELDS = {"conditions", "cost_basis"}  # checkboxes of one name: their values kept comma-separated
PHONE_FIELDS = ("id", "number", "extension", "kind", "note", "location", "service", "delete")
FLAGS = {"confidential", "approximate", "active", "delete"}

_ROW = re.compile(r"^(locations|services|phones)\[(\d{1,3})\]\.(\w+)$")
_HOURS = re.compile(r"^services\[(\d{1,3})\]\.hours\[([1-7])\]\.(opens|closes|opens2|closes2)$")


class ActionForm(FlaskForm):
    """Only the CSRF token: the editor's inputs are read by `editor_from_form` (rows come and go)."""


@dataclass
class FieldProblem:
    """A problem found while reading the form, in the shape of registry/edit.py's Problem."""

    field: str
    code: str
    message: str


@dataclass
class Editor:
    """The form as strings: what the page shows and what the curator typed."""

    org: dict[str, str]
    locations: list[dict[str, str]]
    services: list[dict]   # strings, and "hours": {weekday: {"opens", "closes", "opens2", "closes2"}}
    phones: list[dict[str, str]]
    reason: str = ""       # the confirmed exception: a point outside the curator's regions
    note: str = ""         # a note to the change, kept in the history
    schedule_alias: dict[str, str] = field(default_factory=dict)
    phone_rows: list[int] = field(default_factory=list)  # the editor's row of each phone in the document

    def field_name(self, problem_field: str) -> str:
        """The input (or row) that shows a problem reported for `problem_field` of the document."""
        for doc_prefix, form_prefix in self.schedule_alias.items():
            if problem_field == doc_prefix or problem_field.startswith(doc_prefix + "."):
                rest = problem_field[len(doc_prefix):]
                second = form_prefix.endswith("#2")
                base = form_prefix.removesuffix("#2")
                if rest in (".opens", ".closes") and second:
                    rest += "2"
                return base + (rest if rest in (".opens", ".closes", ".opens2", ".closes2") else "")
        m = re.match(r"^(services\[\d+\])\.schedule", problem_field)
        if m:
            return m.group(1) + ".hours"
        m = re.match(r"^phones\[(\d+)\](.*)$", problem_field)
        if m and int(m.group(1)) < len(self.phone_rows):
            return f"phones[{self.phone_rows[int(m.group(1))]}]{m.group(2)}"
        return problem_field


def blank_location() -> dict[str, str]:
    return {**{f: "" for f in LOCATION_FIELDS}, "active": "1"}


def blank_service(location: int = 0) -> dict:
    return {**{f: "" for f in SERVICE_FIELDS}, "active": "1", "delivery": "on_site", "location": str(location),
            "hours": {d: {"opens": "", "closes": "", "opens2": "", "closes2": ""} for d, _name in WEEKDAYS}}


def blank_phone() -> dict[str, str]:
    return {**{f: "" for f in PHONE_FIELDS}, "kind": "main"}


def new_editor(region_code: str) -> Editor:
    return Editor(org={**{f: "" for f in ORG_FIELDS}, "status": "draft", "region_code": region_code},
                  locations=[blank_location()], services=[blank_service()], phones=[blank_phone()])


# --- document -> form -----------------------------------------------------------------------------------------
def _s(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float):  # exactly as stored: an untouched point must not count as moved
        if not math.isfinite(value):
            return ""
        text = repr(value)
        text = text if "e" not in text else f"{value:.10f}".rstrip("0")
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def age_text(months) -> str:
    """Months as the editor shows them: whole or half years as "3" / "1,5", otherwise "8 мес"."""
    if months is None or months == "":
        return ""
    months = int(months)
    if months % 12 == 0:
        return str(months // 12)
    if months % 6 == 0:
        return f"{months / 12:.1f}".replace(".", ",")
    return _("%(n)s мес", n=months)


def editor_from_document(doc: dict) -> Editor:
    org = {f: _s(doc.get(f)) for f in ORG_FIELDS}
    locations = []
    for loc in doc.get("locations") or []:
        row = {f: _s(loc.get(f)) for f in LOCATION_FIELDS}
        row["active"] = "1" if loc.get("active", True) else ""
        row["settlement_label"] = ""  # filled in by the view: "name — district, region"
        locations.append(row)
    services = []
    for svc in doc.get("services") or []:
        row = {f: _s(svc.get(f)) for f in SERVICE_FIELDS}
        row["active"] = "1" if svc.get("active", True) else ""
        row["age_min_months"], row["age_max_months"] = age_text(svc.get("age_min_months")), \
            age_text(svc.get("age_max_months"))
        row["regions"] = ",".join(svc.get("regions") or [])
        for name in LIST_FIELDS:
            row[name] = ",".join(svc.get(name) or [])
        row["location"] = _s(svc.get("location") if svc.get("location") is not None else 0)
        hours = {d: {"opens": "", "closes": "", "opens2": "", "closes2": ""} for d, _name in WEEKDAYS}
        for slot in sorted(svc.get("schedule") or [], key=lambda s: (s["weekday"], s["opens"])):
            day = hours.get(int(slot["weekday"]))
            if day is None:
                continue
            if not day["opens"]:
                day["opens"], day["closes"] = slot["opens"], slot["closes"]
            elif not day["opens2"]:
                day["opens2"], day["closes2"] = slot["opens"], slot["closes"]
        row["hours"] = hours
        services.append(row)
    phones = [{**{f: _s(p.get(f)) for f in PHONE_FIELDS}, "delete": ""} for p in doc.get("phones") or []]
    return Editor(org=org, locations=locations, services=services, phones=phones)


# --- form -> editor ---------------------------------------------------------------------------------------------
def editor_from_form(form) -> Editor:
    """The posted form as an Editor (rows in the order of their indices; unknown names ignored)."""
    org = {f: (form.get(f) or "").strip() for f in ORG_FIELDS}
    rows: dict[str, dict[int, dict]] = {"locations": {}, "services": {}, "phones": {}}
    blanks = {"locations": blank_location, "services": blank_service, "phones": blank_phone}
    allowed = {"locations": LOCATION_FIELDS, "services": SERVICE_FIELDS, "phones": PHONE_FIELDS}
    for key in form.keys():
        m = _ROW.match(key)
        if m and int(m.group(2)) < MAX_ROWS and m.group(3) in allowed[m.group(1)]:
            kind, index, name = m.group(1), int(m.group(2)), m.group(3)
            row = rows[kind].setdefault(index, {**blanks[kind](), **{f: "" for f in FLAGS & set(allowed[kind])}})
            row[name] = (",".join(v.strip() for v in form.getlist(key) if v.strip()) if name in LIST_FIELDS
                         else (form.get(key) or "").strip())
            continue
        h = _HOURS.match(key)
        if h and int(h.group(1)) < MAX_ROWS:
            row = rows["services"].setdefault(int(h.group(1)), {**blank_service(), "active": ""})
            row["hours"][int(h.group(2))][h.group(3)] = (form.get(key) or "").strip()
    for kind, by_index in rows.items():
        for row in by_index.values():
            for flag in FLAGS & set(allowed[kind]):
                row[flag] = "1" if row.get(flag) in ("1", "on", "true", "y") else ""
    ordered = {kind: [by_index[i] for i in sorted(by_index)] for kind, by_index in rows.items()}
    # Services and phones name their place by the place row's index in the form; rows are now numbered from 0.
    position = {str(index): str(n) for n, index in enumerate(sorted(rows["locations"]))}
    for row in ordered["services"] + ordered["phones"]:
        row["location"] = position.get(row.get("location", ""), "")
    return Editor(org=org, locations=ordered["locations"], services=ordered["services"], phones=ordered["phones"],
                  reason=(form.get("region_exception_reason") or "").strip()[:MAX_NOTE],
                  note=(form.get("change_note") or "").strip()[:MAX_NOTE])


def _blank_location(row: dict) -> bool:
    return not row.get("id") and not any(row.get(f) for f in ("name", "address", "lat", "lon", "settlement_id",
                                                                "settlement_label"))


def _blank_service(row: dict) -> bool:
    return not row.get("id") and not any(row.get(f) for f in ("type", "name", "description", "eligibility")) \
        and not any(v for day in row["hours"].values() for v in day.values())


def _blank_phone(row: dict) -> bool:
    return not row.get("id") and not row.get("number")


def compact(editor: Editor) -> Editor:
    """Drop the empty new rows, renumbering the services' and phones' references to locations."""
    kept = [i for i, row in enumerate(editor.locations) if not _blank_location(row)]
    renumber = {str(old): str(new) for new, old in enumerate(kept)}
    locations = [editor.locations[i] for i in kept]
    services = [{**row, "location": renumber.get(row.get("location", ""), "0" if locations else "")}
                for row in editor.services if not _blank_service(row)]
    phones = [{**row, "location": renumber.get(row.get("location", ""), "")}
              for row in editor.phones if not _blank_phone(row)]
    return Editor(org=editor.org, locations=locations, services=services, phones=phones, reason=editor.reason,
                  note=editor.note)


# --- editor -> document -----------------------------------------------------------------------------------------
class _Reader:
    """Reads strings into values, noting each unreadable one as a FieldProblem."""

    def __init__(self):
        self.problems: list[FieldProblem] = []

    def bad(self, name: str, message: str):
        self.problems.append(FieldProblem(name, "unreadable", message))
        return None

    def integer(self, name: str, raw: str, low: int = 0, high: int = MAX_ID):
        if not raw:
            return None
        if not re.fullmatch(r"\d{1,9}", raw.replace(" ", "")):
            return self.bad(name, _("Нужно целое число."))
        value = int(raw.replace(" ", ""))
        return value if low <= value <= high else self.bad(name, _("Число от %(low)s до %(high)s.", low=low, high=high))

    def decimal(self, name: str, raw: str, low: float, high: float, what: str):
        if not raw:
            return None
        try:
            value = float(raw.replace(",", ".").replace(" ", ""))
        except ValueError:
            return self.bad(name, _("%(what)s: нужно число.", what=_(what)))
        if not math.isfinite(value) or not low <= value <= high:
            return self.bad(name, _("%(what)s: от %(low)s до %(high)s.", what=_(what), low=f"{low:g}", high=f"{high:g}"))
        return value

    def age(self, name: str, raw: str):
        """"3" and "1,5" are years, "8 мес" / "8м" months -> months."""
        if not raw:
            return None
        m = re.fullmatch(r"(\d{1,3})\s*(м|мес|мес\.|месяц|месяца|месяцев|m|mo|mo\.|months?)", raw.lower())
        if m:
            months = int(m.group(1))
        else:
            m = re.fullmatch(r"(\d{1,2}(?:[.,]\d)?)\s*(г|г\.|год|года|лет|y|yrs?|years?)?", raw.lower())
            if not m:
                return self.bad(name, _("Возраст: число лет (3 или 1,5) или месяцев (8 мес)."))
            months = round(float(m.group(1).replace(",", ".")) * 12)
        return months if months <= MAX_AGE_MONTHS else self.bad(name, _("Возраст: не больше 18 лет."))

    def time(self, name: str, raw: str):
        if not raw:
            return None
        m = re.fullmatch(r"(\d{1,2})(?:[:.](\d{2}))?", raw)
        if not m or int(m.group(1)) > 24 or int(m.group(2) or 0) > 59 or (int(m.group(1)) == 24 and m.group(2)
                                                                              not in (None, "00")):
            return self.bad(name, _("Время: ЧЧ:ММ, например 09:00."))
        return f"{int(m.group(1)):02d}:{m.group(2) or '00'}"


def _coordinates(reader: _Reader, prefix: str, row: dict):
    lat_raw, lon_raw = row.get("lat", ""), row.get("lon", "")
    pair = re.fullmatch(r"\s*(-?\d{1,2}(?:\.\d+)?)\s*[,;\s]\s*(-?\d{1,3}(?:\.\d+)?)\s*", lat_raw)
    if pair and not lon_raw:  # "55.78, 38.45" pasted into the latitude
        lat_raw, lon_raw = pair.groups()
        row["lat"], row["lon"] = lat_raw, lon_raw
    lat = reader.decimal(f"{prefix}.lat", lat_raw, -90, 90, N_("Широта"))
    lon = reader.decimal(f"{prefix}.lon", lon_raw, -180, 180, N_("Долгота"))
    if bool(lat_raw) != bool(lon_raw):
        reader.bad(f"{prefix}.lon" if lat_raw else f"{prefix}.lat", _("Нужны обе координаты: широта и долгота."))
    return lat, lon


def _schedule(r: _Reader, p: str, hours_by_day: dict, alias: dict) -> list[dict]:
    """A service's weekly hours from the editor's rows (two spans a day at most); `alias` learns which editor row
    each schedule entry came from, for the problems the document's checks name."""
    schedule = []
    for day, _name in WEEKDAYS:
        hours = hours_by_day[day]
        for suffix in ("", "2"):
            opens = r.time(f"{p}.hours[{day}].opens{suffix}", hours[f"opens{suffix}"])
            closes = r.time(f"{p}.hours[{day}].closes{suffix}", hours[f"closes{suffix}"])
            if hours[f"opens{suffix}"] and hours[f"closes{suffix}"] and opens and closes:
                alias[f"{p}.schedule[{len(schedule)}]"] = f"{p}.hours[{day}]" + ("#2" if suffix else "")
                schedule.append({"weekday": day, "opens": opens, "closes": closes})
            elif bool(hours[f"opens{suffix}"]) != bool(hours[f"closes{suffix}"]):
                missing = "closes" if hours[f"opens{suffix}"] else "opens"
                r.bad(f"{p}.hours[{day}].{missing}{suffix}", _("Укажите и начало, и конец работы."))
    return schedule


def document_from_editor(editor: Editor) -> tuple[dict, list[FieldProblem]]:
    """The document to validate and save, and the problems of values that could not be read at all.
    Call on a compacted editor: document rows then have the editor's indices."""
    r = _Reader()
    o = editor.org
    doc: dict = {
        "id": r.integer("id", o.get("id", "")), "version": r.integer("version", o.get("version", "")),
        "status": o.get("status") or "draft",
        **{f: o.get(f, "") for f in ("name", "legal_form", "description", "website", "email", "source")},
        "external_id": o.get("external_id") or None, "region_code": o.get("region_code") or None,
    }
    doc["locations"] = [_location(r, f"locations[{i}]", row) for i, row in enumerate(editor.locations)]
    editor.schedule_alias = {}
    doc["services"] = [_service(r, f"services[{i}]", row, editor.schedule_alias)
                       for i, row in enumerate(editor.services)]
    editor.phone_rows = [i for i, row in enumerate(editor.phones) if row.get("delete") != "1"]
    doc["phones"] = [_phone(r, f"phones[{i}]", editor.phones[i]) for i in editor.phone_rows]
    return doc, r.problems


def _location(r: _Reader, p: str, row: dict) -> dict:
    lat, lon = _coordinates(r, p, row)
    return {
        "id": r.integer(f"{p}.id", row.get("id", "")), "external_id": row.get("external_id") or None,
        "name": row.get("name", ""), "address": row.get("address", ""),
        "settlement_id": r.integer(f"{p}.settlement_id", row.get("settlement_id", "")),
        "lat": lat, "lon": lon, "confidential": row.get("confidential") == "1",
        "approximate": row.get("approximate") == "1", "accessibility": row.get("accessibility", ""),
        "timezone": row.get("timezone") or None, "active": row.get("active") == "1",
    }


def _codes(value: str | None) -> list[str]:
    return [c for c in (value or "").split(",") if c.strip()]


def _service(r: _Reader, p: str, row: dict, alias: dict[str, str]) -> dict:
    schedule = _schedule(r, p, row["hours"], alias)
    area = row.get("area_geojson") or None
    if area:
        try:
            area = json.loads(area)
        except ValueError:
            area = r.bad(f"{p}.area_geojson", _("Зона выезда повреждена: нарисуйте её заново или укажите радиус."))
    return {
        "id": r.integer(f"{p}.id", row.get("id", "")), "external_id": row.get("external_id") or None,
        "type": row.get("type", ""), "name": row.get("name", ""), "description": row.get("description", ""),
        "age_min_months": r.age(f"{p}.age_min_months", row.get("age_min_months", "")),
        "age_max_months": r.age(f"{p}.age_max_months", row.get("age_max_months", "")),
        "eligibility": row.get("eligibility", ""), "delivery": row.get("delivery") or "on_site",
        "outreach_radius_km": r.decimal(f"{p}.outreach_radius_km", row.get("outreach_radius_km", ""), 0, 5000,
                                        N_("Радиус выезда")),
        "area_geojson": area,
        "regions": _codes(row.get("regions")), "conditions": _codes(row.get("conditions")),
        "cost": row.get("cost") or None, "cost_basis": _codes(row.get("cost_basis")),
        "capacity_total": r.integer(f"{p}.capacity_total", row.get("capacity_total", ""), 0, 100000),
        "capacity_free": r.integer(f"{p}.capacity_free", row.get("capacity_free", ""), 0, 100000),
        "active": row.get("active") == "1", "schedule": schedule,
        "location": r.integer(f"{p}.location", row.get("location", ""), 0, MAX_ROWS),
    }


def _phone(r: _Reader, p: str, row: dict) -> dict:
    return {
        "id": r.integer(f"{p}.id", row.get("id", "")), "number": row.get("number", ""),
        "extension": row.get("extension", ""), "kind": row.get("kind") or "main", "note": row.get("note", ""),
        "location": r.integer(f"{p}.location", row.get("location", ""), 0, MAX_ROWS),
        "service": r.integer(f"{p}.service", row.get("service", ""), 0, MAX_ROWS),
    }
