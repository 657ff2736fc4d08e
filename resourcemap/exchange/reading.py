"""Reading an uploaded spreadsheet into a Table of text cells: CSV (UTF-8 with or without BOM, UTF-16 with BOM, or
Windows-1251; comma, semicolon or tab, as Excel writes them), XLSX (the first sheet, streamed after checking the
zip for bombs: xlsx.py) or a GeoJSON FeatureCollection of points.

Everything here treats the upload as hostile: sizes are capped before parsing, the file name is only ever shown
(never used as a path), NUL bytes and invalid UTF-8 are refused with the row where they occur, control characters
are dropped from cells."""
from __future__ import annotations

import csv
import io
import json
import math
import re
import unicodedata
from dataclasses import dataclass, field

from .columns import column_for_header

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_ROWS = 200_000
MAX_COLUMNS = 100
MAX_CELL_CHARS = 100_000  # XLSX has limits of its own besides these: xlsx.py

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ImportFileError(Exception):
    """The file cannot be read at all (its format, encoding or size); the message is for people, in Russian."""

    def __init__(self, message: str, row: int | None = None, column: str | None = None):
        super().__init__(message)
        self.message = message
        self.row = row
        self.column = column

    def __str__(self) -> str:
        where = f"строка {self.row}: " if self.row else ""
        return where + self.message


@dataclass
class Row:
    number: int  # as the curator sees it: the spreadsheet row (header = 1), or the GeoJSON feature (first = 1)
    cells: dict[str, str]  # canonical column -> text, stripped


@dataclass
class Table:
    """An uploaded file as header + rows of text cells, columns mapped to the format's canonical names."""

    filename: str
    format: str  # "csv", "xlsx", "geojson"
    headers: list[str]  # as written in the file
    columns: dict[str, str]  # canonical name -> the header it was read from
    rows: list[Row]
    unknown_headers: list[str] = field(default_factory=list)
    duplicate_headers: list[tuple[str, str]] = field(default_factory=list)  # (header, canonical column)
    empty_rows: int = 0
    encoding: str | None = None
    delimiter: str | None = None

    def header_of(self, column: str) -> str:
        """The file's own header for a canonical column (what problems name)."""
        return self.columns.get(column, column)


def safe_filename(filename: str | None) -> str:
    """The last path component, without control characters, at most 120 characters: for display only."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = _CONTROL.sub("", unicodedata.normalize("NFC", name)).strip().lstrip(".")
    return name[:120] or "файл"


def read_table(filename: str, data: bytes) -> Table:
    """The uploaded file as a Table. Raises ImportFileError (Russian message, with the row where it applies)."""
    name = safe_filename(filename)
    if not isinstance(data, (bytes, bytearray)):
        raise ImportFileError("Файл не получен.")
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(f"Файл больше {MAX_FILE_BYTES // (1024 * 1024)} МБ; разделите его на части.")
    if not data.strip():
        raise ImportFileError("Файл пуст.")
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if data[:4] == b"PK\x03\x04" or ext == "xlsx":
        from .xlsx import read_xlsx  # here: it imports openpyxl, and this module

        headers, rows, left_out = read_xlsx(bytes(data))
        table = _table(name, "xlsx", headers, rows)
        table.empty_rows += left_out  # rows the sheet's XML leaves out are empty rows too
        return table
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or ext == "xls":
        raise ImportFileError("Старый формат Excel (XLS) не читается: сохраните файл как XLSX или CSV.")
    if ext in ("geojson", "json") or data.lstrip()[:1] in (b"{", b"["):
        return _table(name, "geojson", *_read_geojson(bytes(data)))
    text, encoding = _decode(bytes(data))
    headers, rows, delimiter = _read_csv(text)
    table = _table(name, "csv", headers, rows, clean=str.strip)  # control characters went with the whole text
    table.encoding, table.delimiter = encoding, delimiter
    return table


def _table(name: str, fmt: str, headers: list[str], raw_rows: list[tuple[int, list[str]]],
           clean=None) -> Table:
    columns: dict[str, str] = {}
    positions: list[tuple[int, str]] = []
    unknown, duplicates = [], []
    for i, header in enumerate(headers):
        if not header.strip():
            continue
        column = column_for_header(header)
        if column is None:
            unknown.append(header)
        elif column in columns:
            duplicates.append((header, column))
        else:
            columns[column] = header
            positions.append((i, column))
    rows, empty = [], 0
    clean = clean or _clean
    width = len(headers)
    for number, cells in raw_rows:
        if not any(cells) or not any(c.strip() for c in cells):
            empty += 1
            continue
        if len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        rows.append(Row(number, {column: clean(cells[i]) for i, column in positions}))
    return Table(name, fmt, headers, columns, rows, unknown, duplicates, empty)


def _clean(cell: str) -> str:
    return _CONTROL.sub("", cell).strip()


# --- CSV --------------------------------------------------------------------------------------------------------
def _decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding it was in: UTF-16 or UTF-8 by BOM, UTF-8, or Windows-1251."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise ImportFileError("Файл в UTF-16 повреждён.", row=_row_at(data, exc.start)) from None
    bom = data.startswith(b"\xef\xbb\xbf")
    body = data[3:] if bom else data
    if b"\x00" in body:
        raise ImportFileError("В файле есть нулевые байты: это не текстовый CSV (сохраните как CSV UTF-8).",
                              row=_row_at(body, body.index(b"\x00")))
    try:
        return body.decode("utf-8"), "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    # Windows-1251 or broken UTF-8? Cyrillic in UTF-8 is pairs D0/D1 + 80..BF; in 1251 such pairs are rare.
    high = sum(1 for b in body if b >= 0x80)
    pairs = len(re.findall(rb"[\xd0\xd1][\x80-\xbf]", body))
    if bom or (high and 2 * pairs / high > 0.5):
        raise ImportFileError("Файл в UTF-8 повреждён: недопустимая последовательность байтов.",
                              row=_row_at(body, utf8_error.start))
    try:
        text = body.decode("cp1251")
    except UnicodeDecodeError as exc:
        raise ImportFileError("Не удалось определить кодировку файла: сохраните его как CSV UTF-8.",
                              row=_row_at(body, exc.start)) from None
    letters = sum(1 for ch in text if ch.isalpha() and ord(ch) >= 0x80)
    if letters < 0.8 * sum(1 for ch in text if ord(ch) >= 0x80):
        raise ImportFileError("Не удалось определить кодировку файла: сохраните его как CSV UTF-8.",
                              row=_row_at(body, utf8_error.start))
    return text, "cp1251"


def _row_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _delimiter(text: str) -> str:
    """The separator of the first non-empty line (outside quotes): ';', ',' or tab, whichever is most frequent."""
    counts = {";": 0, ",": 0, "\t": 0}
    quoted = False
    started = False
    for ch in text[:200_000]:
        if ch == '"':
            quoted = not quoted
        elif ch == "\n" and not quoted:
            if started:
                break
        elif not quoted and ch in counts:
            counts[ch] += 1
        if not ch.isspace():
            started = True
    best = max(counts, key=lambda d: (counts[d], d == ";"))
    return best if counts[best] else ","


def _read_csv(text: str) -> tuple[list[str], list[tuple[int, list[str]]], str]:
    text = _CONTROL.sub("", text)  # once for the whole file rather than per cell
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True,
                        strict=False)
    headers: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    number = 0
    try:
        for cells in reader:
            number += 1
            if len(cells) > MAX_COLUMNS:
                raise ImportFileError(f"Больше {MAX_COLUMNS} столбцов.", row=number)
            if any(len(c) > MAX_CELL_CHARS for c in cells):
                raise ImportFileError(f"Ячейка длиннее {MAX_CELL_CHARS} символов.", row=number)
            if headers is None:
                if not any(c.strip() for c in cells):
                    continue
                headers = [_clean(c) for c in cells]
                continue
            if len(rows) >= MAX_ROWS:
                raise ImportFileError(f"Больше {MAX_ROWS} строк: разделите файл на части.", row=number)
            rows.append((number, cells))
    except csv.Error as exc:
        raise ImportFileError(f"CSV записан неверно ({exc}).", row=number + 1) from None
    if headers is None:
        raise ImportFileError("В файле нет строки заголовков.")
    return headers, rows, delimiter


# --- GeoJSON ----------------------------------------------------------------------------------------------------
def _geojson_cell(value) -> str | None:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, str):
        return "'" + value if value.startswith("=") else value  # JSON text is text, never a formula
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
        return "; ".join(str(v) for v in value)
    return None


def _read_geojson(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ImportFileError("GeoJSON должен быть в UTF-8.", row=_row_at(data, exc.start)) from None
    except RecursionError:
        raise ImportFileError("GeoJSON вложен слишком глубоко.") from None
    except ValueError as exc:
        raise ImportFileError(f"GeoJSON записан неверно: {str(exc)[:80]}.") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise ImportFileError("Ожидается GeoJSON FeatureCollection (набор точек).")
    features = doc["features"]
    if len(features) > MAX_ROWS:
        raise ImportFileError(f"Больше {MAX_ROWS} объектов: разделите файл на части.")
    headers: list[str] = []
    seen: set[str] = set()
    records = []
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise ImportFileError("Объект не является GeoJSON Feature.", row=number)
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            raise ImportFileError("У объекта нет свойств (properties).", row=number)
        cells: dict[str, str] = {}
        for key, value in props.items():
            key = _clean(str(key))
            text = _geojson_cell(value)
            if text is None:
                raise ImportFileError(f"Свойство «{key[:40]}» должно быть текстом или числом.", row=number,
                                      column=key)
            if len(text) > MAX_CELL_CHARS:
                raise ImportFileError(f"Свойство длиннее {MAX_CELL_CHARS} символов.", row=number, column=key)
            if column_for_header(key) in ("lat", "lon"):
                continue  # the point comes from the geometry
            cells[key] = text
            if key not in seen:
                if len(headers) >= MAX_COLUMNS:
                    raise ImportFileError(f"Больше {MAX_COLUMNS} разных свойств.", row=number)
                seen.add(key)
                headers.append(key)
        geometry = feature.get("geometry")
        coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if isinstance(geometry, dict) and geometry.get("type") == "Point" and isinstance(coordinates, list) \
                and len(coordinates) >= 2 and all(isinstance(c, (int, float)) and not isinstance(c, bool)
                                                  for c in coordinates[:2]):
            cells["lon"], cells["lat"] = _geojson_cell(float(coordinates[0])), _geojson_cell(float(coordinates[1]))
        else:
            cells["lon"] = cells["lat"] = ""  # reported by the plan as missing coordinates
        records.append((number, cells))
    headers += ["lat", "lon"]
    return headers, [(number, [cells.get(h, "") for h in headers]) for number, cells in records]
