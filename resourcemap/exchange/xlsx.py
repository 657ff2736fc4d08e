"""The first sheet of an uploaded XLSX as rows of text, read without trusting the file (issue 17).

An XLSX is a zip of XML parts. Before anything is unpacked, the zip's table of contents is checked: how many parts,
how hard each is packed (a zip bomb), and how much each declares unpacked — the shared strings and a sheet against
what MAX_ROWS rows can honestly take, all parts together. Every part is then read through a stream (_Part) that
stops at its limit whatever the zip declares.

openpyxl reads the small parts (which sheet is first, which number formats are dates, the 1904 calendar), each at
most MAX_PART_BYTES. The two big parts are streamed here through defusedxml instead:

- the shared strings (the texts cells refer to), held in memory while the sheet is read, hence their own limit;
- the sheet, one <row> element at a time: its declared <dimension> is checked before any row, and rows are taken as
  the XML has them, so a lone cell at row 1,048,576 costs one row, not a million empty ones (openpyxl's read-only
  worksheet makes every missing row). Reading stops at the first row past the limits, whatever the dimension said.

Every element is dropped once read, and no stretch of XML without markup may be longer than a cell's text can be,
so memory stays at the shared strings plus one row."""
from __future__ import annotations

import datetime as dt
import io
import math
import warnings
import zipfile
from typing import Iterator

from defusedxml.ElementTree import iterparse
from openpyxl.cell.text import Text
from openpyxl.reader.excel import ExcelReader
from openpyxl.utils import range_boundaries
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS

from .reading import MAX_CELL_CHARS, MAX_COLUMNS, MAX_ROWS, ImportFileError, _clean

MAX_SHEET_ROWS = MAX_ROWS + 1000  # the last row number a sheet may use: the rows, a header, some empty rows
SHEET_BYTES_PER_ROW = 2048  # sheet XML of an honest row: 30-odd cells' markup with numbers or short inline texts
SHARED_STRINGS_BYTES_PER_ROW = 256  # distinct text per row: most cells repeat (kinds, towns, an organization's rows)
MAX_SHEET_BYTES = MAX_SHEET_ROWS * SHEET_BYTES_PER_ROW  # 412 MB, streamed
MAX_SHARED_STRINGS_BYTES = MAX_SHEET_ROWS * SHARED_STRINGS_BYTES_PER_ROW  # 51 MB, held while the sheet is read
MAX_PART_BYTES = 8 * 1024 * 1024  # a part openpyxl reads whole: workbook, relations, styles, theme
MAX_UNZIPPED_BYTES = MAX_SHEET_BYTES + MAX_SHARED_STRINGS_BYTES + 8 * MAX_PART_BYTES  # other sheets, pictures
MAX_ZIP_ENTRIES = 2_000
MAX_RATIO = 150
RATIO_CHECKED_ABOVE = 1024 * 1024
MAX_TEXT_BYTES = 8 * MAX_CELL_CHARS  # XML without markup in one stretch: a cell's longest text, 8 bytes a character
MAX_DEPTH = 32  # elements inside elements; a sheet needs about 8

ROW_TAG, CELL_TAG, DIMENSION_TAG, SHEET_DATA_TAG, STRING_TAG, TEXT_TAG = (
    f"{{{SHEET_MAIN_NS}}}{name}" for name in ("row", "c", "dimension", "sheetData", "si", "t"))
DAMAGED = "Файл XLSX повреждён или это не XLSX: сохраните его заново или как CSV."
TOO_MANY_ROWS = f"Больше {MAX_ROWS} строк: разделите файл на части."
TOO_MANY_COLUMNS = f"Больше {MAX_COLUMNS} столбцов."
STRINGS_TITLE = "текст ячеек (sharedStrings.xml)"


def read_xlsx(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]], int]:
    """The header (the first row with anything in it), the rows after it as (number, cell texts), and how many empty
    rows between them the sheet left out. Raises ImportFileError."""
    headers: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    left_out = filled_rows = previous = 0
    for number, cells in sheet_rows(data):
        filled = any(c.strip() for c in cells)
        if headers is None:
            headers = [_clean(c) for c in cells] if filled else None
        else:
            left_out += max(number - previous - 1, 0)
            filled_rows += filled
            if filled_rows > MAX_ROWS:
                raise ImportFileError(TOO_MANY_ROWS, row=number)
            rows.append((number, cells))
        previous = number
    if headers is None:
        raise ImportFileError("На первом листе нет строки заголовков.")
    return headers, rows, left_out


def sheet_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """Each <row> element of the first sheet as (row number, cell texts up to its last cell), in the file's order;
    refused (ImportFileError) as soon as the file breaks a limit."""
    with _open_archive(data) as archive:
        book = _read_book(archive)
        if book.sheet_path is None:
            raise ImportFileError("В файле XLSX нет листов.")
        strings = _shared_strings(archive, book.strings_path)
        cells = WorkSheetParser(None, strings, data_only=False, epoch=book.wb.epoch,
                                date_formats=book.wb._date_formats, timedelta_formats=book.wb._timedelta_formats)
        with archive.part(book.sheet_path, MAX_SHEET_BYTES, "лист") as sheet:
            yield from _rows(sheet, cells)


# --- the archive ------------------------------------------------------------------------------------------------
class _Archive(zipfile.ZipFile):
    """The upload's zip. open() is what openpyxl reads parts through: each at most MAX_PART_BYTES, and scanned
    (nesting, stretches without markup) before openpyxl builds it whole."""

    def open(self, name, mode="r", pwd=None, **kwargs):
        title = f"часть «{_clean(str(name))[:60]}»"
        with self.part(name, MAX_PART_BYTES, title) as part:
            for _ in part.elements():
                pass
        return self.part(name, MAX_PART_BYTES, title)

    def part(self, name: str, limit: int, title: str) -> _Part:
        """A part to read, refused before it is unpacked if it declares more than `limit` bytes."""
        info = self.getinfo(name)
        _check_size(info.file_size, limit, title)
        return _Part(super().open(info), limit, title)


class _Part(io.RawIOBase):
    """A part as it is unpacked: never more than `limit` bytes, whatever the zip declares."""

    def __init__(self, raw, limit: int, title: str):
        super().__init__()
        self._raw, self._limit, self._title = raw, limit, title
        self._unpacked = 0
        self._unheard: int | None = None  # bytes since the XML parser last gave an element, while elements() runs

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        self._unpacked += len(data)
        if self._unpacked > self._limit:
            raise ImportFileError(f"Файл XLSX повреждён: {self._title} больше, чем указано в архиве.")
        if self._unheard is not None:
            self._unheard += len(data)
            if self._unheard > MAX_TEXT_BYTES:
                raise ImportFileError(f"В файле XLSX текст длиннее {MAX_CELL_CHARS} символов подряд "
                                      f"({self._title}): такая ячейка не читается.")
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()

    def elements(self, whole: str | None = None) -> Iterator:
        """The part's XML elements as they end. Each is then dropped from its parent, except inside a `whole`
        element (a cell, a shared string), kept until its own end. Refuses XML nested deeper than MAX_DEPTH."""
        self._unheard = 0
        open_elements: list = []
        inside_whole = 0
        for event, element in iterparse(self, events=("start", "end"), forbid_dtd=True):
            self._unheard = 0
            if event == "start":
                open_elements.append(element)
                inside_whole += element.tag == whole
                if len(open_elements) > MAX_DEPTH:
                    raise ImportFileError("Файл XLSX устроен подозрительно (слишком глубокая вложенность).")
                continue
            open_elements.pop()
            yield element
            inside_whole -= element.tag == whole
            if open_elements and not inside_whole:
                del open_elements[-1][-1]  # the element that ended is its parent's last child


def _open_archive(data: bytes) -> _Archive:
    try:
        archive = _Archive(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise ImportFileError("Файл XLSX повреждён (не читается как архив): сохраните его заново или как CSV.") \
            from None
    try:
        _check_archive(archive.infolist())
    except ImportFileError:
        archive.close()
        raise
    return archive


def _check_archive(infos: list[zipfile.ZipInfo]) -> None:
    """Refuse zip bombs before any part is unpacked: the number of parts, the sizes they declare, how hard each is
    packed."""
    if len(infos) > MAX_ZIP_ENTRIES:
        raise ImportFileError("Файл XLSX устроен подозрительно (слишком много частей).")
    for info in infos:
        if info.file_size > RATIO_CHECKED_ABOVE and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ImportFileError("Файл XLSX распаковывается в слишком большой объём (похож на «zip-бомбу»).")
        if info.filename.lower().endswith("sharedstrings.xml"):
            _check_size(info.file_size, MAX_SHARED_STRINGS_BYTES, STRINGS_TITLE)
        else:
            _check_size(info.file_size, MAX_SHEET_BYTES, f"часть «{_clean(info.filename)[:60]}»")
    if sum(info.file_size for info in infos) > MAX_UNZIPPED_BYTES:
        raise ImportFileError("Файл XLSX распаковывается в слишком большой объём: разделите его на части.")


def _check_size(declared: int, limit: int, title: str) -> None:
    if declared > limit:
        raise ImportFileError(f"Файл XLSX слишком велик: {title} — {_mb(declared)} МБ в распакованном виде, можно "
                              f"не больше {_mb(limit)} МБ. Разделите файл на части или сохраните его как CSV.")


def _mb(size: int) -> str:
    return f"{size / 1_000_000:,.0f}".replace(",", " ")


# --- the workbook and its shared strings ------------------------------------------------------------------------
class _Book(ExcelReader):
    """openpyxl's reading of the small parts: which sheet is first, the date formats, the calendar. It leaves the
    shared strings and the sheets to this module (their paths: strings_path, sheet_path)."""

    strings_path: str | None = None
    sheet_path: str | None = None

    def __init__(self, archive: _Archive):
        super().__init__(archive.fp, read_only=True, data_only=False, keep_links=False)
        self.archive = archive

    def read_strings(self) -> None:
        part = self.package.find(SHARED_STRINGS)
        self.strings_path = part.PartName[1:] if part is not None else None

    def read_worksheets(self) -> None:
        self.sheet_path = next((rel.target for _, rel in self.parser.find_sheets()
                                if rel.target in self.valid_files and "chartsheet" not in rel.Type), None)


def _read_book(archive: _Archive) -> _Book:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = _Book(archive)
            book.read()
    except ImportFileError:
        raise
    except Exception:  # openpyxl raises many kinds (KeyError, ValueError, XML errors) on damaged files
        raise ImportFileError(DAMAGED) from None
    return book


def _shared_strings(archive: _Archive, path: str | None) -> list[str]:
    """The shared strings (the plain text of each <si>), streamed through a capped part."""
    if path is None:
        return []
    strings = []
    try:
        with archive.part(path, MAX_SHARED_STRINGS_BYTES, STRINGS_TITLE) as part:
            for element in part.elements(whole=STRING_TAG):
                if element.tag == STRING_TAG:
                    strings.append(_shared_text(element))
    except ImportFileError:
        raise
    except Exception:
        raise ImportFileError(DAMAGED) from None
    return strings


def _shared_text(element) -> str:
    """A shared string's text as openpyxl reads it; the usual lone <t> without building openpyxl's objects."""
    if len(element) == 1 and element[0].tag == TEXT_TAG:
        text = element[0].text or ""
    else:  # rich text runs, phonetic hints
        text = Text.from_tree(element).content
    return text.replace("x005F_", "")


# --- the sheet --------------------------------------------------------------------------------------------------
def _rows(sheet: _Part, cells: WorkSheetParser) -> Iterator[tuple[int, list[str]]]:
    number = seen = 0
    row_cells: list[dict] = []  # the cells of the row being read; its number comes with its end
    cells.row_counter = 1  # what parse_cell says of cells without a reference
    try:
        for element in sheet.elements(whole=CELL_TAG):
            tag = element.tag
            if tag == CELL_TAG:
                row_cells.append(cells.parse_cell(element))
                if len(row_cells) > MAX_COLUMNS:  # filled or not: the row is wider than a sheet may be
                    raise ImportFileError(TOO_MANY_COLUMNS, row=row_cells[-1]["row"])
            elif tag == ROW_TAG:
                number, seen = _row_number(element.get("r"), number), seen + 1
                if number > MAX_SHEET_ROWS or seen > MAX_SHEET_ROWS:
                    raise ImportFileError(TOO_MANY_ROWS, row=number)
                yield number, _texts(row_cells, number)
                row_cells = []
                cells.row_counter, cells.col_counter = number + 1, 0  # for a next row without numbers
            elif tag == DIMENSION_TAG:
                _check_dimension(element.get("ref"))
            elif tag == SHEET_DATA_TAG:
                return
    except ImportFileError:
        raise
    except Exception:
        raise ImportFileError("Файл XLSX повреждён: лист не читается до конца.", row=number + 1) from None


def _row_number(r: str | None, previous: int) -> int:
    if r is None:
        return previous + 1
    number = float(r)  # openpyxl takes "7.0" too
    if not number.is_integer() or number < 1:
        raise ValueError(r)
    return int(number)


def _check_dimension(ref: str | None) -> None:
    """Refuse a sheet by the range it declares it uses, before any row is read."""
    try:
        _, _, last_column, last_row = range_boundaries(ref or "")
    except (ValueError, TypeError):
        return  # no promise: the rows are counted as they are read
    if last_row and last_row > MAX_SHEET_ROWS:
        raise ImportFileError(f"Лист занимает строки до {last_row}: это больше {MAX_ROWS} строк. Удалите строки под "
                              f"таблицей (и пустые, но оформленные) или разделите файл на части.")
    if last_column and last_column > MAX_COLUMNS:
        raise ImportFileError(f"Лист занимает {last_column} столбцов: больше {MAX_COLUMNS}. Удалите столбцы справа "
                              f"от таблицы (и пустые, но оформленные).")


def _texts(row_cells: list[dict], number: int) -> list[str]:
    """A row's cell texts by column, up to its last cell."""
    texts: list[str] = []
    for cell in row_cells:
        text, column = _cell_text(cell["value"], cell["data_type"]), cell["column"]
        if len(text) > MAX_CELL_CHARS:
            raise ImportFileError(f"Ячейка длиннее {MAX_CELL_CHARS} символов.", row=number)
        if column > MAX_COLUMNS:
            if text.strip():
                raise ImportFileError(TOO_MANY_COLUMNS, row=number)
            continue
        if column > len(texts):
            texts.extend([""] * (column - len(texts)))
        texts[column - 1] = text
    return texts


def _cell_text(value, data_type: str) -> str:
    """A cell's text. A formula stays '=...' (the plan refuses it); text that merely starts with '=' is escaped
    with an apostrophe, as CSV exports escape it."""
    if isinstance(value, str) and value.startswith("="):
        return value if data_type == "f" else "'" + value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)
