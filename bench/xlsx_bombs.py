#!/usr/bin/env python
"""XLSX bombs (issue 17): hostile spreadsheets parsed by read_table() in a fresh process, with the time taken and
the process's memory before, at its peak and after.

  shared strings  a 4 MB XLSX whose sharedStrings.xml unpacks to 500 MB (a short random text repeated in each
                  string: about 120 : 1, under the zip-bomb ratio), with a one-cell sheet
  row 1,048,576   a 1 kB XLSX: a header row and one cell at the last row Excel has, without a <dimension> and
                  with one that says so (A1:A1048576)
  honest          an ordinary sheet of 20,000 rows x 32 columns (shared strings and numbers), for comparison

Each file is built under a temporary folder (or --keep DIR), then parsed by a child process that has already read
a small XLSX (imports loaded, as in a worker that served an import before) and reports: the outcome (rows read or
the refusal), the seconds read_table() took (wall and CPU), VmRSS before and after, and ru_maxrss (the process's
peak so far) before and after.

    .venv/bin/python bench/xlsx_bombs.py                        # this tree
    .venv/bin/python bench/xlsx_bombs.py --code /tmp/before     # another tree, e.g. `git archive <rev> resourcemap`

Timings are only printed, never asserted. tests/test_xlsx_limits.py builds its files with write_xlsx() below.
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Iterable
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DOC_RELS_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
SPREADSHEETML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
LAST_EXCEL_ROW = 1_048_576

PACKAGE = {
    "[Content_Types].xml":
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{SPREADSHEETML}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{SPREADSHEETML}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SPREADSHEETML}.sharedStrings+xml"/>'
        '</Types>',
    "_rels/.rels":
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PACKAGE_RELS_NS}">'
        f'<Relationship Id="rId1" Type="{DOC_RELS_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml":
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN_NS}" xmlns:r="{DOC_RELS_NS}">'
        '<sheets><sheet name="Реестр" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels":
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PACKAGE_RELS_NS}">'
        f'<Relationship Id="rId1" Type="{DOC_RELS_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{DOC_RELS_NS}/sharedStrings" Target="sharedStrings.xml"/>'
        '</Relationships>',
}


# --- building files ---------------------------------------------------------------------------------------------
def cell(ref: str, value: str | int | float) -> str:
    """A cell as sheet XML: text inline, numbers as numbers."""
    if isinstance(value, str):
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
    return f'<c r="{ref}"><v>{value}</v></c>'


def shared_cell(ref: str, index: int) -> str:
    return f'<c r="{ref}" t="s"><v>{index}</v></c>'


def row(number: int, cells: Iterable[str]) -> str:
    return f'<row r="{number}">{"".join(cells)}</row>'


def write_xlsx(path: Path, rows: Iterable[str], *, dimension: str | None = None,
               shared_strings: Iterable[str] = ()) -> Path:
    """A minimal XLSX at `path`: one sheet of the given <row> elements (its <dimension> only if given) and the
    shared strings. Parts are written as they are generated, so a 500 MB part never sits in memory."""
    sheet = [f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN_NS}">',
             f'<dimension ref="{dimension}"/>' if dimension else "", "<sheetData>", rows,
             "</sheetData></worksheet>"]
    strings = [f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN_NS}">',
               (f"<si><t>{escape(text)}</t></si>" for text in shared_strings), "</sst>"]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in PACKAGE.items():
            archive.writestr(name, text)
        for name, pieces in (("xl/worksheets/sheet1.xml", sheet), ("xl/sharedStrings.xml", strings)):
            with archive.open(name, "w") as part:
                for piece in pieces:
                    for text in [piece] if isinstance(piece, str) else piece:
                        part.write(text.encode())
    return path


def bomb_strings(unpacked_bytes: int, seed: int = 17) -> Iterable[str]:
    """Shared strings of about `unpacked_bytes` of XML: each a random 14-letter word said 120 times (about 120 : 1
    packed, so the zip-bomb ratio alone does not catch it)."""
    rng = random.Random(seed)
    letters = "абвгдежзиклмнопрстуф"
    written = 0
    while written < unpacked_bytes:
        text = "".join(rng.choice(letters) for _ in range(14)) * 120
        written += len(text.encode()) + len("<si><t></t></si>")
        yield text


def shared_strings_bomb(path: Path, unpacked_bytes: int = 500 * 1024 * 1024) -> Path:
    return write_xlsx(path, [row(1, [shared_cell("A1", 0)])], shared_strings=bomb_strings(unpacked_bytes))


def far_row_file(path: Path, *, dimension: str | None = None) -> Path:
    return write_xlsx(path, [row(1, [cell("A1", "Код записи")]),
                             row(LAST_EXCEL_ROW, [cell(f"A{LAST_EXCEL_ROW}", "далеко")])], dimension=dimension)


def honest_file(path: Path, rows: int = 20_000, columns: int = 32, seed: int = 17) -> Path:
    """An ordinary registry-like sheet: a header, then texts (a third of them repeated often) and numbers."""
    rng = random.Random(seed)
    texts: dict[str, int] = {}

    def text_index(text: str) -> int:
        return texts.setdefault(text, len(texts))

    def letters(n: int) -> str:
        return "".join(rng.choice("абвгдежзиклмнопрстуф ") for _ in range(n))

    def column(i: int) -> str:
        return chr(ord("A") + i) if i < 26 else "A" + chr(ord("A") + i - 26)

    def values(number: int) -> list[str]:
        out = []
        for i in range(columns):
            ref = f"{column(i)}{number}"
            if number == 1:
                out.append(shared_cell(ref, text_index(f"Столбец {i + 1}")))
            elif i % 4 == 3:
                out.append(cell(ref, round(rng.uniform(54, 56), 6)))
            else:
                text = rng.choice(("Ранняя помощь", "Коломна", "на месте")) if i % 3 == 0 else letters(20 + i)
                out.append(shared_cell(ref, text_index(text)))
        return out

    sheet = [row(n, values(n)) for n in range(1, rows + 2)]
    return write_xlsx(path, sheet, dimension=f"A1:{column(columns - 1)}{rows + 1}", shared_strings=list(texts))


# --- measuring --------------------------------------------------------------------------------------------------
CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from resourcemap.exchange import ImportFileError, read_table

def vmrss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

read_table("warm-up.xlsx", open(sys.argv[3], "rb").read())
data = open(sys.argv[2], "rb").read()
before, peak_before = vmrss(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
started, cpu_started = time.perf_counter(), time.process_time()
try:
    outcome = f"read, {len(read_table('bomb.xlsx', data).rows)} rows"
except ImportFileError as refusal:
    outcome = f"refused: {refusal}"
seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
print(json.dumps({"outcome": outcome, "seconds": seconds, "cpu_seconds": cpu_seconds, "rss_before_mib": before,
                  "peak_before_mib": peak_before, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rss_after_mib": vmrss()}))
"""


def parse_in_child(code: Path, path: Path, warm_up: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(code), str(path), str(warm_up)], capture_output=True,
                          text=True, timeout=900)
    if proc.returncode:
        raise SystemExit(f"{path.name}: the child failed\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="the tree whose resourcemap/ is measured")
    parser.add_argument("--keep", type=Path, help="build the files in this folder and keep them")
    parser.add_argument("--output", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        warm_up = write_xlsx(folder / "warm-up.xlsx", [row(1, [cell("A1", "Код записи")]), row(2, [cell("A2", "1")])])
        files = {"shared strings 500 MB": shared_strings_bomb(folder / "shared-strings-bomb.xlsx"),
                 "row 1,048,576": far_row_file(folder / "far-row.xlsx"),
                 "row 1,048,576, dimension": far_row_file(folder / "far-row-dimension.xlsx",
                                                          dimension=f"A1:A{LAST_EXCEL_ROW}"),
                 "honest 20,000 x 32": honest_file(folder / "honest.xlsx")}
        results = {}
        print(f"code: {args.code}")
        print("| file | size | outcome | seconds (CPU) | RSS before MiB | peak before -> after MiB | RSS after MiB |")
        print("|---|---|---|---|---|---|---|")
        for name, path in files.items():
            figures = results[name] = {"bytes": path.stat().st_size, **parse_in_child(args.code, path, warm_up)}
            print(f"| {name} | {figures['bytes'] / 1024:,.1f} kB | {figures['outcome'][:90]} | "
                  f"{figures['seconds']:.2f} ({figures['cpu_seconds']:.2f}) | {figures['rss_before_mib']:.1f} | "
                  f"{figures['peak_before_mib']:.1f} -> {figures['peak_mib']:.1f} | "
                  f"{figures['rss_after_mib']:.1f} |")
    if args.output:
        args.output.write_text(json.dumps({"code": str(args.code), "files": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
