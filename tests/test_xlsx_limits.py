"""XLSX bombs (issue 17): hostile spreadsheets are refused by what they declare before anything big is unpacked or
parsed, and by what they hold while the sheet is streamed: shared strings that unpack past their limit (a small
file, memory kept flat), a zip that understates a part, a lone cell at row 1,048,576 (refused after one row, not a
million), a declared <dimension> past the limits (refused before any row), a lying or missing dimension (refused by
streaming), rows too wide, a text too long, XML nested too deep. A filled-in template still imports as before, and
the import page and the CLI show the refusal as they show any unreadable file.

The files are built here (bench/xlsx_bombs.py's write_xlsx, which bench/xlsx_bombs.py uses to measure the same bombs).
Nothing here is about time: rows parsed and memory allocated are counted instead."""
from __future__ import annotations

import importlib.util
import io
import random
import re
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter
from sqlalchemy import text

from resourcemap.auth.accounts import create_account
from resourcemap.auth.policy import Viewer
from resourcemap.exchange import ImportFileError, plan_import, read_table, template, xlsx

ROOT = Path(__file__).resolve().parent.parent
REGION = "RU-MOS"
CURATOR_EMAIL, PASSWORD = "xlsx.curator@example.org", "a long enough password 17"


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_xlsx_bombs", ROOT / "bench" / "xlsx_bombs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bombs = _load_bench()
row, cell = bombs.row, bombs.cell
HEADER_ROW = row(1, [cell("A1", "Код записи"), cell("B1", "Организация")])


def rows_read_before_refusal(data: bytes) -> tuple[list[int], ImportFileError]:
    """The numbers of the rows the streaming reader gave before it refused the file, and the refusal."""
    seen = []
    with pytest.raises(ImportFileError) as refused:
        for number, _ in xlsx.sheet_rows(data):
            seen.append(number)
    return seen, refused.value


def refusal_and_peak(filename: str, data: bytes) -> tuple[ImportFileError, int]:
    """read_table's refusal of the file, and the most memory Python had allocated meanwhile (bytes)."""
    tracemalloc.start()
    try:
        with pytest.raises(ImportFileError) as refused:
            read_table(filename, data)
        return refused.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def understated(data: bytes, name: str, size: int) -> bytes:
    """The zip with the unpacked size of `name` in its central directory replaced by `size`: a zip that lies."""
    end = data.rfind(b"PK\x05\x06")
    offset = int.from_bytes(data[end + 16:end + 20], "little")
    while data[offset:offset + 4] == b"PK\x01\x02":
        name_len, extra_len, comment_len = (int.from_bytes(data[offset + i:offset + i + 2], "little")
                                            for i in (28, 30, 32))
        if data[offset + 46:offset + 46 + name_len] == name.encode():
            return data[:offset + 24] + size.to_bytes(4, "little") + data[offset + 28:]
        offset += 46 + name_len + extra_len + comment_len
    raise AssertionError(f"{name} not in the zip")


# --- shared strings ---------------------------------------------------------------------------------------------
def test_shared_strings_that_unpack_past_their_limit_are_refused_before_they_are_read(tmp_path):
    path = bombs.shared_strings_bomb(tmp_path / "bomb.xlsx", unpacked_bytes=2 * xlsx.MAX_SHARED_STRINGS_BYTES)
    data = path.read_bytes()
    strings = zipfile.ZipFile(path).getinfo("xl/sharedStrings.xml")
    assert len(data) < 2_000_000 and strings.file_size > 2 * xlsx.MAX_SHARED_STRINGS_BYTES - 10_000
    assert strings.file_size < xlsx.MAX_RATIO * strings.compress_size  # not packed hard enough for the ratio check

    refusal, peak = refusal_and_peak("bomb.xlsx", data)
    assert "sharedStrings.xml" in refusal.message and "МБ" in refusal.message
    assert peak < 1_000_000, f"{peak:,} bytes allocated to refuse it"


def test_a_zip_that_understates_its_shared_strings_is_refused_without_unpacking_them(tmp_path):
    path = bombs.shared_strings_bomb(tmp_path / "bomb.xlsx", unpacked_bytes=2 * xlsx.MAX_SHARED_STRINGS_BYTES)
    data = understated(path.read_bytes(), "xl/sharedStrings.xml", 1_000_000)
    refusal, peak = refusal_and_peak("bomb.xlsx", data)
    assert "XLSX" in refusal.message
    assert peak < 4_000_000, f"{peak:,} bytes allocated to refuse it"


def test_a_part_is_never_read_past_its_limit_whatever_the_zip_says():
    part = xlsx._Part(io.BytesIO(b"<sst>" + b"x" * 100 + b"</sst>"), 64, "текст ячеек")
    with pytest.raises(ImportFileError) as refused:
        part.read()
    assert "больше, чем указано" in refused.value.message


# --- rows far away, declared dimensions ----------------------------------------------------------------------------
@pytest.mark.parametrize("dimension", [None, "A1:B2"], ids=["no dimension", "a lying dimension"])
def test_a_lone_cell_at_the_last_excel_row_is_refused_after_one_row(tmp_path, dimension):
    data = bombs.far_row_file(tmp_path / "far.xlsx", dimension=dimension).read_bytes()
    assert len(data) < 4096
    seen, refusal = rows_read_before_refusal(data)
    assert seen == [1]  # the header; then the refusal, with no empty row made for the million between
    assert refusal.row == bombs.LAST_EXCEL_ROW and f"Больше {xlsx.MAX_ROWS} строк" in refusal.message
    with pytest.raises(ImportFileError) as refused:
        read_table("far.xlsx", data)
    assert str(refused.value) == str(refusal)


@pytest.mark.parametrize("dimension, words", [
    (f"A1:B{bombs.LAST_EXCEL_ROW}", [f"строки до {bombs.LAST_EXCEL_ROW}", f"больше {xlsx.MAX_ROWS} строк"]),
    (f"A1:B{xlsx.MAX_SHEET_ROWS + 1}", [f"строки до {xlsx.MAX_SHEET_ROWS + 1}"]),
    ("A1:CW3", [f"101 столбцов: больше {xlsx.MAX_COLUMNS}"]),
    ("A1:XFD1048576", ["строки до 1048576"]),
])
def test_a_declared_dimension_past_the_limits_is_refused_before_any_row(tmp_path, dimension, words):
    rows = [HEADER_ROW, row(2, [cell("A2", "а-1"), cell("B2", "Центр")]), row(3, [cell("A3", "x" * 200_000)])]
    data = bombs.write_xlsx(tmp_path / "wide.xlsx", rows, dimension=dimension).read_bytes()
    seen, refusal = rows_read_before_refusal(data)
    assert seen == []  # not even the header: row 3's overlong cell would have been the refusal otherwise
    assert all(word in refusal.message for word in words), refusal.message


def test_a_dimension_within_the_limits_reads_as_before(tmp_path):
    rows = [HEADER_ROW, row(2, [cell("A2", "а-1"), cell("B2", "Центр")])]
    data = bombs.write_xlsx(tmp_path / "ok.xlsx", rows, dimension=f"A1:CV{xlsx.MAX_SHEET_ROWS}").read_bytes()
    table = read_table("ok.xlsx", data)
    assert [(r.number, r.cells) for r in table.rows] == [(2, {"external_id": "а-1", "organization": "Центр"})]


@pytest.fixture
def few_rows(monkeypatch):
    """A sheet may use rows 1-50 only (instead of 201,000), so a test can go past the limit cheaply."""
    monkeypatch.setattr(xlsx, "MAX_SHEET_ROWS", 50)
    return 50


def test_rows_past_the_limit_are_refused_while_streaming_whatever_the_dimension_said(tmp_path, few_rows):
    rows = [HEADER_ROW] + [row(n, [cell(f"A{n}", f"а-{n}")]) for n in range(2, few_rows + 20)]
    data = bombs.write_xlsx(tmp_path / "long.xlsx", rows, dimension="A1:B3").read_bytes()
    seen, refusal = rows_read_before_refusal(data)
    assert seen == list(range(1, few_rows + 1)) and refusal.row == few_rows + 1


def test_row_elements_repeating_one_number_are_refused_by_their_count(tmp_path, few_rows):
    rows = [HEADER_ROW] + ['<row r="2"/>'] * (few_rows * 3)
    data = bombs.write_xlsx(tmp_path / "again.xlsx", rows).read_bytes()
    seen, refusal = rows_read_before_refusal(data)
    assert len(seen) == few_rows and f"Больше {xlsx.MAX_ROWS} строк" in refusal.message


@pytest.mark.parametrize("cells", [
    [cell("A2", "а-1"), cell("CW2", "сто первый")],
    [cell("A2", "а-1"), cell("ZZ2", "далеко справа")],
    [f'<c r="{get_column_letter(n)}2"/>' for n in range(1, xlsx.MAX_COLUMNS + 2)],
], ids=["text in column 101", "text in column ZZ", "101 empty cells"])
def test_a_row_wider_than_the_limit_is_refused(tmp_path, cells):
    data = bombs.write_xlsx(tmp_path / "wide.xlsx", [HEADER_ROW, row(2, cells)]).read_bytes()
    seen, refusal = rows_read_before_refusal(data)
    assert seen == [1] and refusal.row == 2 and refusal.message == f"Больше {xlsx.MAX_COLUMNS} столбцов."


def test_empty_formatted_cells_past_the_last_column_are_ignored(tmp_path):
    cells = [cell("A2", "а-1"), cell("B2", "Центр"), '<c r="DA2" s="0"/>']
    data = bombs.write_xlsx(tmp_path / "styled.xlsx", [HEADER_ROW, row(2, cells)]).read_bytes()
    assert [r.cells for r in read_table("styled.xlsx", data).rows] == [{"external_id": "а-1",
                                                                       "organization": "Центр"}]


def test_a_text_longer_than_a_cell_can_be_is_refused_as_it_streams(tmp_path):
    rng = random.Random(17)  # random letters: packed about 1.5 : 1, so neither the ratio nor the sizes catch it
    long_text = "".join(rng.choice("абвгдежзиклмнопрстуф") for _ in range(xlsx.MAX_TEXT_BYTES))
    data = bombs.write_xlsx(tmp_path / "long.xlsx", [HEADER_ROW, row(2, [cell("A2", long_text)])]).read_bytes()
    refusal, peak = refusal_and_peak("long.xlsx", data)
    assert f"текст длиннее {xlsx.MAX_CELL_CHARS} символов" in refusal.message
    assert peak < 4 * xlsx.MAX_TEXT_BYTES, f"{peak:,} bytes allocated to refuse it"


def test_xml_nested_too_deep_is_refused(tmp_path):
    deep = "<x>" * (xlsx.MAX_DEPTH + 1) + "</x>" * (xlsx.MAX_DEPTH + 1)
    data = bombs.write_xlsx(tmp_path / "deep.xlsx", [HEADER_ROW, row(2, [f'<c r="A2">{deep}</c>'])]).read_bytes()
    seen, refusal = rows_read_before_refusal(data)
    assert seen == [1] and "вложенность" in refusal.message


# --- an ordinary file ---------------------------------------------------------------------------------------------
def filled_template(rows_at: tuple[int, ...]) -> bytes:
    """The committed XLSX template with the example rows typed into its first sheet at the given rows."""
    book = openpyxl.load_workbook(template.template_file("xlsx"))
    sheet = book.worksheets[0]
    for number, example in zip(rows_at, template.EXAMPLE_ROWS):
        for i, column in enumerate(template.COLUMNS, start=1):
            value = example.get(column.name, "")
            sheet.cell(row=number, column=i).value = float(value) if column.name in ("lat", "lon") else value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_filled_in_template_imports_as_before(registry):
    table = read_table("реестр.xlsx", filled_template(rows_at=(2, 5)))
    example = read_table("example.csv", template.example_csv())
    assert [r.number for r in table.rows] == [2, 5] and table.empty_rows == 2  # rows 3-4: not in the XML at all
    assert [r.cells for r in table.rows] == [r.cells for r in example.rows]
    assert table.columns == example.columns and not table.unknown_headers
    plan = plan_import(registry, table, REGION, Viewer(role="curator", email=CURATOR_EMAIL,
                                                       regions=frozenset({REGION})))
    assert plan.ok, plan.problems
    assert [r.action for r in plan.rows] == ["create", "create"]


# --- what the curator sees ----------------------------------------------------------------------------------------
@pytest.fixture
def curator(app, registry):
    create_account(registry, CURATOR_EMAIL, PASSWORD, "curator", [REGION])
    registry.commit()
    client = app.test_client()
    response = client.post("/signin", data={"email": CURATOR_EMAIL, "password": PASSWORD,
                                            "csrf_token": _csrf_token(client, "/signin")})
    assert response.status_code == 302
    yield client
    registry.rollback()
    registry.execute(text("TRUNCATE change RESTART IDENTITY; TRUNCATE audit_event, api_token, account_region,"
                          " account RESTART IDENTITY CASCADE"))
    registry.commit()


def _csrf_token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_the_import_page_shows_the_refusal_and_writes_nothing(app, curator, registry, tmp_path):
    data = bombs.far_row_file(tmp_path / "far.xlsx").read_bytes()
    uploads = Path(app.config["VAR_DIR"]) / "curate-imports"
    before = set(uploads.glob("*")) if uploads.exists() else set()
    response = curator.post("/curate/import", data={
        "csrf_token": _csrf_token(curator, "/curate/import"), "region": REGION, "file": (io.BytesIO(data), "far.xlsx")},
        content_type="multipart/form-data")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and response.mimetype == "text/html", body[:500]
    assert f"Файл не прочитан: строка {bombs.LAST_EXCEL_ROW}: Больше {xlsx.MAX_ROWS} строк" in body
    assert "Traceback" not in body
    assert registry.execute(text("SELECT count(*) FROM organization")).scalar() == 0
    assert (set(uploads.glob("*")) if uploads.exists() else set()) == before


def test_the_import_command_shows_the_refusal_and_exits_1(runner, registry, tmp_path):
    path = bombs.far_row_file(tmp_path / "far.xlsx", dimension=f"A1:A{bombs.LAST_EXCEL_ROW}")
    result = runner.invoke(args=["import", str(path), "--region", REGION])
    assert result.exit_code == 1, result.output
    assert f"Лист занимает строки до {bombs.LAST_EXCEL_ROW}" in result.output
    assert registry.execute(text("SELECT count(*) FROM organization")).scalar() == 0
