"""The template files curators download: data/templates/registry-template.csv (the header row, ';'-separated,
UTF-8 with BOM, as Excel in a Russian locale writes it) and registry-template.xlsx (sheet «Реестр» with the header
row and drop-down lists, «Пример» with two filled rows, «Столбцы» explaining each column, «Виды помощи» listing
the kinds of help).

They are generated, then committed:

    .venv/bin/python -m resourcemap.exchange.template        # rewrites data/templates/

tests/test_import.py checks that the committed files are what this module generates and that the example rows
import cleanly."""
from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path

from ..config import PROJECT_ROOT
from ..limits import MAX_AGE_MONTHS
from .columns import COLUMNS, DELIVERY_LABELS, STATUS_LABELS

TEMPLATES_DIR = PROJECT_ROOT / "data" / "templates"
FILES = {"csv": "registry-template.csv", "xlsx": "registry-template.xlsx"}
MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

# What each column means, an example, and what an empty cell does (docs/import-format.md says the same).
NOTES = {
    "external_id": ("Постоянный код услуги в вашей таблице; по нему повторная загрузка обновляет ту же запись",
                    "МО-0001", "обязателен"),
    "organization_external_id": ("Код организации: строки с одним кодом — одна организация",
                                 "ORG-17", "организацию узнают по названию"),
    "organization": ("Название организации", "Центр «Радуга»", "обязательно"),
    "kind": ("Вид помощи: название или код (лист «Виды помощи»)", "Ранняя помощь", "обязателен"),
    "service_name": ("Название услуги, если оно есть", "Служба ранней помощи", "без названия"),
    "address": ("Адрес места", "ул. Мира, 5", "пусто"),
    "settlement": ("Населённый пункт (по нему и точке выбирается населённый пункт справочника)", "Электросталь",
                   "ближайший к точке"),
    "lat": ("Широта, градусы (WGS84)", "55.7896", "обязательна"),
    "lon": ("Долгота, градусы (WGS84)", "38.4467", "обязательна"),
    "phones": ("Телефоны места через «;»; вид в скобках: (для записи), (горячая линия), (факс); «доб. 12»",
               "8 (496) 570-00-01; 8 (496) 570-00-02 (для записи)", "нет телефонов"),
    "hours": ("Часы работы: дни и время через «;»", "пн-пт 9:00-18:00; сб 10-14", "часы не указаны"),
    "age_min_months": (f"Возраст ребёнка от, в месяцах (0–{MAX_AGE_MONTHS})", "0", "без ограничения"),
    "age_max_months": (f"Возраст ребёнка до, в месяцах (0–{MAX_AGE_MONTHS})", "36", "без ограничения"),
    "delivery": ("Формат: на месте, выезд к семье, онлайн", "на месте", "на месте"),
    "outreach_radius_km": ("Для выезда к семье: радиус выезда, км", "30", "обязателен для выезда"),
    "confidential": ("Адрес скрыт (кризисные квартиры): да или нет", "нет", "нет"),
    "website": ("Сайт организации", "https://raduga.example.org", "пусто"),
    "email": ("Электронная почта организации", "info@raduga.example.org", "пусто"),
    "description": ("Описание услуги", "Консультации специалистов для семей с детьми до 3 лет", "пусто"),
    "eligibility": ("Кому помогают, условия", "Семьи Электростали с детьми до 3 лет", "пусто"),
    "conditions": ("С какими детьми работают, через «;»: нарушения слуха, нарушения зрения, нарушения движения "
                   "(опорно-двигательного аппарата), РАС, синдром Дауна, задержка развития, тяжёлые множественные "
                   "нарушения (или коды: hearing, vision, motor, autism, down_syndrome, developmental_delay, "
                   "complex_needs)", "Нарушения слуха; РАС", "не указано"),
    "cost": ("Стоимость для семьи: бесплатно, частично платно или платно (free, partly_paid, paid)", "бесплатно",
             "не указана"),
    "cost_basis": ("Основание, через «;»: по государственной программе, по направлению (state_programme, referral)",
                   "по направлению", "пусто"),
    "capacity_total": ("Мест всего (кризисные квартиры, пункты проката)", "6", "не указано"),
    "capacity_free": ("Мест свободно сейчас", "2", "не указано"),
    "status": ("Статус организации: опубликовано, черновик, не действует", "опубликовано",
               "новая — опубликовано, прежняя — без изменений"),
    "location_external_id": ("Код места: строки с одним кодом — одно место", "ORG-17-1",
                             "место узнают по точке и адресу"),
    "location_name": ("Название места (отделение, филиал)", "Главное отделение", "пусто"),
    "accessibility": ("Доступная среда", "Пандус, лифт", "пусто"),
    "legal_form": ("Организационно-правовая форма", "ГБУ СО", "пусто"),
    "organization_description": ("Об организации", "Центр помощи семье и детям", "пусто"),
    "organization_phones": ("Телефоны организации в целом (не места), как в столбце «Телефоны»",
                            "8 (800) 200-01-22 (горячая линия)", "нет телефонов"),
    "verified_at": ("Дата проверки сведений: ГГГГ-ММ-ДД или ДД.ММ.ГГГГ", "2026-11-01", "без изменений"),
    "active": ("Услуга действует: да или нет", "да", "да"),
}

EXAMPLE_ROWS = [
    {"external_id": "МО-0001", "organization_external_id": "ORG-17", "organization": "Центр «Радуга»",
     "kind": "Ранняя помощь", "service_name": "Служба ранней помощи", "address": "ул. Мира, 5",
     "settlement": "Электросталь", "lat": "55.7896", "lon": "38.4467",
     "phones": "8 (496) 570-00-01; 8 (496) 570-00-02 (для записи)", "hours": "пн-пт 09:00-18:00; сб 10:00-14:00",
     "age_min_months": "0", "age_max_months": "36", "delivery": "на месте", "confidential": "нет",
     "website": "https://raduga.example.org", "email": "info@raduga.example.org",
     "description": "Консультации специалистов для семей с детьми до 3 лет", "status": "опубликовано",
     "conditions": "Нарушения слуха; Задержка развития; РАС", "cost": "бесплатно",
     "cost_basis": "по государственной программе; по направлению",
     "location_external_id": "ORG-17-1", "location_name": "Главное отделение", "legal_form": "ГБУ СО",
     "organization_phones": "8 (800) 200-01-22 (горячая линия)", "active": "да"},
    {"external_id": "МО-0002", "organization_external_id": "ORG-17", "organization": "Центр «Радуга»",
     "kind": "Выездная бригада", "address": "ул. Мира, 5", "settlement": "Электросталь", "lat": "55.7896",
     "lon": "38.4467", "phones": "8 (496) 570-00-01; 8 (496) 570-00-02 (для записи)", "hours": "пн-пт 09:00-18:00",
     "delivery": "выезд к семье", "outreach_radius_km": "30", "confidential": "нет",
     "website": "https://raduga.example.org", "email": "info@raduga.example.org", "status": "опубликовано",
     "location_external_id": "ORG-17-1", "location_name": "Главное отделение", "legal_form": "ГБУ СО",
     "organization_phones": "8 (800) 200-01-22 (горячая линия)", "active": "да"},
]


def kinds_of_help() -> list[tuple[str, str]]:
    """(code, Russian name) of the kinds of help, as the migration that seeds taxonomy_term has them."""
    path = PROJECT_ROOT / "resourcemap" / "migrations" / "versions" / "0002_service_types.py"
    spec = importlib.util.spec_from_file_location("_service_types", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [(code, name_ru) for code, name_ru, _en, _desc in module.SERVICE_TYPES]


def csv_template() -> bytes:
    return ("\ufeff" + ";".join(c.header for c in COLUMNS) + "\r\n").encode("utf-8")


def example_csv() -> bytes:
    """The example rows as a CSV of the format (what the «Пример» sheet holds)."""
    lines = [";".join(c.header for c in COLUMNS)]
    for row in EXAMPLE_ROWS:
        lines.append(";".join('"' + row.get(c.name, "").replace('"', '""') + '"' for c in COLUMNS))
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def xlsx_template() -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = "Реестр"
    sheet.append([c.header for c in COLUMNS])
    sheet.freeze_panes = "A2"
    for i, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=i)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[get_column_letter(i)].width = max(12, min(40, len(column.header) + 6))
        sheet.cell(row=1, column=i).number_format = "@"
        sheet.column_dimensions[get_column_letter(i)].number_format = "@"  # phones and codes stay text
    kinds = kinds_of_help()
    lists = {"kind": f"'Виды помощи'!$B$2:$B${len(kinds) + 1}",
             "delivery": '"' + ",".join(DELIVERY_LABELS.values()) + '"',
             "status": '"' + ",".join(STATUS_LABELS.values()) + '"',
             "confidential": '"да,нет"', "active": '"да,нет"'}
    for i, column in enumerate(COLUMNS, start=1):
        if column.name in lists:
            validation = DataValidation(type="list", formula1=lists[column.name], allow_blank=True)
            validation.add(f"{get_column_letter(i)}2:{get_column_letter(i)}10000")
            sheet.add_data_validation(validation)

    example = book.create_sheet("Пример")
    example.append([c.header for c in COLUMNS])
    for row in EXAMPLE_ROWS:
        example.append([row.get(c.name, "") for c in COLUMNS])

    notes = book.create_sheet("Столбцы")
    notes.append(["Столбец", "Другие названия (англ.)", "Что писать", "Пример", "Если пусто"])
    for column in COLUMNS:
        meaning, sample, empty = NOTES[column.name]
        notes.append([column.header, column.name, meaning, sample, empty])
    notes.column_dimensions["A"].width = 24
    notes.column_dimensions["C"].width = 70
    notes.column_dimensions["D"].width = 40
    notes.column_dimensions["E"].width = 30

    kind_sheet = book.create_sheet("Виды помощи")
    kind_sheet.append(["Код", "Вид помощи"])
    for code, name in kinds:
        kind_sheet.append([code, name])
    kind_sheet.column_dimensions["A"].width = 22
    kind_sheet.column_dimensions["B"].width = 40
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template_file(fmt: str) -> Path:
    """The committed template (fmt: csv | xlsx), for the download link of the import page."""
    return TEMPLATES_DIR / FILES[fmt]


def write_templates(directory: Path = TEMPLATES_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt, data in (("csv", csv_template()), ("xlsx", xlsx_template())):
        path = directory / FILES[fmt]
        path.write_bytes(data)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_templates(Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATES_DIR):
        print(path)
