"""One spreadsheet row read into typed values, with a problem for every cell that cannot be read.

A column missing from the file is absent from the row's values (the stored value is kept on update); a column
present with an empty cell means empty (or the column's default, see docs/import-format.md)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from ..limits import LONG_TEXT, MAX_AGE_MONTHS, MAX_RADIUS_KM, SHORT_TEXT
from . import columns as c

SHORT, LONG = SHORT_TEXT, LONG_TEXT
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_WEBSITE = re.compile(r"^(https?://)?[\w.-]+\.[\w-]{2,}(:\d+)?(/\S*)?$", re.IGNORECASE)

# Problems that do not stop an import (the rest do).
WARNINGS = frozenset({"likely_duplicate", "unknown_column", "unknown_settlement"})


class Problem(NamedTuple):
    """Something wrong with the file: its row (as the curator sees it; None for the whole file), the column's header
    as written in the file, a code and a Russian message. Codes in WARNINGS are reported but do not block."""

    row: int | None
    column: str | None
    code: str
    message: str

    @property
    def blocking(self) -> bool:
        return self.code not in WARNINGS


@dataclass
class ParsedRow:
    number: int
    key: str
    org: dict = field(default_factory=dict)  # organization-level values (absent column: absent key)
    loc: dict = field(default_factory=dict)
    svc: dict = field(default_factory=dict)
    ok: bool = True


_TEXT_LIMITS = {
    "organization": 500, "service_name": 500, "legal_form": SHORT, "website": SHORT, "email": 254,
    "address": SHORT, "settlement": 200, "location_name": SHORT, "organization_description": LONG,
    "description": LONG, "eligibility": LONG, "accessibility": LONG,
    "external_id": 200, "organization_external_id": 200, "location_external_id": 200,
}
# canonical column -> (level, field name in that level's dict)
_TEXT_FIELDS = {
    "organization_external_id": ("org", "external_id"), "organization": ("org", "name"),
    "legal_form": ("org", "legal_form"), "organization_description": ("org", "description"),
    "website": ("org", "website"), "email": ("org", "email"),
    "location_external_id": ("loc", "external_id"), "location_name": ("loc", "name"), "address": ("loc", "address"),
    "settlement": ("loc", "settlement"), "accessibility": ("loc", "accessibility"),
    "service_name": ("svc", "name"), "description": ("svc", "description"), "eligibility": ("svc", "eligibility"),
}


class RowReader:
    """Reads the rows of one table for one region (its country decides how phones without +7 are read)."""

    def __init__(self, header_of, present: set[str], kinds: dict[str, str], country: str):
        self.header_of = header_of
        self.present = present
        self.kinds = kinds
        self.country = country
        self.problems: list[Problem] = []
        # The text columns of this file, in _TEXT_FIELDS order: (column, level, field name, limit, collapse spaces).
        self._text_fields = [(column, level, name, _TEXT_LIMITS[column], _TEXT_LIMITS[column] <= SHORT)
                             for column, (level, name) in _TEXT_FIELDS.items() if column in present]

    def _add(self, row: ParsedRow, column: str, code: str, message: str) -> None:
        self.problems.append(Problem(row.number, self.header_of(column), code, message))
        if code not in WARNINGS:
            row.ok = False

    def _cell(self, row: ParsedRow, values: dict[str, str], column: str, code: str, read, *args):
        """The column's cell read by `read` (a reader of columns.py); the error it gives is the row's problem
        `code`."""
        value, error = read(values[column], *args)
        if error:
            self._add(row, column, code, error)
        return value

    def read(self, number: int, cells: dict[str, str]) -> ParsedRow:
        row = ParsedRow(number, "")
        # A row of the table holds exactly its columns: its cells are read as they are (and never changed here).
        values = cells if cells.keys() == self.present else {column: cells.get(column, "") for column in self.present}
        # Only cells starting with an apostrophe (an export's escape) or "=" (a formula) need a closer look; one
        # search of the whole row rules out most rows.
        whole = "".join(values.values())
        if "'" in whole or "=" in whole:
            values = self._unformula(row, values)
        self._texts(row, values)
        self._service(row, values)
        self._location(row, values)
        self._organization(row, values)
        return row

    def _unformula(self, row: ParsedRow, cells: dict[str, str]) -> dict[str, str]:
        """The cells without an export's protective apostrophe; a formula is a problem and reads as empty."""
        values = {}
        for column in self.present:
            value, escaped = c.unneutralize(cells[column])
            if value.startswith("=") and not escaped:
                self._add(row, column, "formula", f"Ячейка начинается с «=» — это формула ({value[:40]}), "
                                                  f"а нужен текст или число. Вставьте значение, а не формулу.")
                value = ""
            values[column] = value
        return values

    def _texts(self, row: ParsedRow, values: dict[str, str]) -> None:
        key = values.get("external_id", "")
        if not key:
            self._add(row, "external_id", "required", "Не заполнен код записи (он нужен, чтобы повторная загрузка "
                                                      "обновляла ту же запись).")
        elif len(key) > 200:
            self._add(row, "external_id", "too_long", "Код записи — не длиннее 200 символов.")
        row.key = key[:200]
        levels = {"org": row.org, "loc": row.loc, "svc": row.svc}
        for column, level, name, limit, collapse in self._text_fields:
            value = values[column]
            if collapse and value:
                value = " ".join(value.split())
            if len(value) > limit:
                self._add(row, column, "too_long", f"Не длиннее {limit} символов.")
                value = value[:limit]
            levels[level][name] = value
        if not row.org.get("name"):
            self._add(row, "organization", "required", "Не заполнено название организации.")
        for level_values in (row.org, row.loc):
            if level_values.get("external_id") == "":
                level_values["external_id"] = None
        email, website = row.org.get("email"), row.org.get("website")
        if email and not _EMAIL.match(email):
            self._add(row, "email", "bad_email", "Адрес электронной почты записан неверно.")
        if website and not _WEBSITE.match(website):
            self._add(row, "website", "bad_website", "Адрес сайта записан неверно (пример: https://example.ru).")

    def _service(self, row: ParsedRow, values: dict[str, str]) -> None:
        svc = row.svc
        kind = values.get("kind", "")
        svc["type"] = self.kinds.get(c.header_key(kind))
        if not kind:
            self._add(row, "kind", "required", "Не указан вид помощи.")
        elif svc["type"] is None:
            self._add(row, "kind", "unknown_kind", f"Неизвестный вид помощи «{kind[:50]}»: укажите код или название "
                                                   f"из списка видов помощи.")
        for column, name in (("age_min_months", "age_min_months"), ("age_max_months", "age_max_months")):
            if column in self.present:
                svc[name] = None
                if values[column]:
                    svc[name], error = c.read_int(values[column], 0, MAX_AGE_MONTHS)
                    if error:
                        self._add(row, column, "bad_age", f"Возраст в месяцах: {error[0].lower()}{error[1:]}")
        if None not in (svc.get("age_min_months"), svc.get("age_max_months")) \
                and svc["age_min_months"] > svc["age_max_months"]:
            self._add(row, "age_max_months", "ages_reversed", "Возраст «до» меньше возраста «от».")
        for column in ("capacity_total", "capacity_free"):
            if column in self.present:
                svc[column] = None
                if values[column]:
                    svc[column], error = c.read_int(values[column], 0, 1_000_000)
                    if error:
                        self._add(row, column, "bad_number", f"Число мест: {error[0].lower()}{error[1:]}")
        if None not in (svc.get("capacity_total"), svc.get("capacity_free")) \
                and svc["capacity_free"] > svc["capacity_total"]:
            self._add(row, "capacity_free", "capacity_exceeded", "Свободных мест больше, чем мест всего.")
        if "delivery" in self.present:
            svc["delivery"] = self._cell(row, values, "delivery", "unknown_delivery", c.read_delivery)
        for column, reader in (("conditions", c.read_conditions), ("cost", c.read_cost),
                               ("cost_basis", c.read_cost_basis)):
            if column in self.present:
                value = self._cell(row, values, column, f"unknown_{column}", reader)
                svc[column] = list(value) if isinstance(value, tuple) else value
        if "outreach_radius_km" in self.present:
            svc["radius_km"] = None
            if values["outreach_radius_km"]:
                radius = c.read_number(values["outreach_radius_km"])
                if radius is None or not 0.1 <= radius <= MAX_RADIUS_KM:
                    self._add(row, "outreach_radius_km", "bad_radius",
                              f"Радиус выезда — число от 0,1 до {MAX_RADIUS_KM} км.")
                else:
                    svc["radius_km"] = round(radius, 3)
        if "hours" in self.present:
            svc["hours"] = self._cell(row, values, "hours", "bad_hours", c.read_hours)
        if "active" in self.present:
            svc["active"] = self._cell(row, values, "active", "bad_boolean", c.read_bool, True)

    def _location(self, row: ParsedRow, values: dict[str, str]) -> None:
        loc = row.loc
        loc["lat"] = loc["lon"] = None
        lat_text, lon_text = values.get("lat", ""), values.get("lon", "")
        if not lat_text or not lon_text:
            column = "lat" if not lat_text else "lon"
            self._add(row, column, "missing_coordinates", "Не указаны координаты (широта и долгота).")
        else:
            lat, lon = c.read_number(lat_text), c.read_number(lon_text)
            if lat is None or lon is None:
                self._add(row, "lat" if lat is None else "lon", "bad_coordinates",
                          "Координаты — числа в градусах, например 55.7558 и 37.6176.")
            else:
                loc["lat"], loc["lon"] = lat, lon  # the range and the region are checked by the plan
        if "confidential" in self.present:
            loc["confidential"] = self._cell(row, values, "confidential", "bad_boolean", c.read_bool, False)
        if "phones" in self.present:
            loc["phones"] = self._cell(row, values, "phones", "bad_phone", c.read_phones, self.country)

    def _organization(self, row: ParsedRow, values: dict[str, str]) -> None:
        org = row.org
        # An empty status or check date keeps the stored one (a new organization is published, never checked).
        if values.get("status"):
            org["status"] = self._cell(row, values, "status", "unknown_status", c.read_status)
        if values.get("verified_at"):
            org["verified_at"] = self._cell(row, values, "verified_at", "bad_date", c.read_date)
        if "organization_phones" in self.present:
            org["phones"] = self._cell(row, values, "organization_phones", "bad_phone", c.read_phones, self.country)
