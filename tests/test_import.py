"""Spreadsheet import against the real PostGIS: deliberately bad files (encodings, separators, shuffled columns,
empty rows, swapped coordinates, points outside the region, duplicates, formula cells, bad phones, unknown kinds,
broken and hostile XLSX, path tricks, NUL bytes, invalid UTF-8), the dry run's per-row report, all-or-nothing
apply, idempotence, the history, and region rights."""
from __future__ import annotations

import collections
import io
import json
import zipfile

import openpyxl
import pytest
from pyproj import Geod
from sqlalchemy import text

from resourcemap.auth.policy import Viewer
from resourcemap.exchange import (ImportFileError, ImportRejected, apply_import, plan_import, read_table)
from resourcemap.exchange.columns import read_hours, write_hours
from resourcemap.registry.edit import Forbidden
from tests.factories import CURATOR, HEADER, REGION, csv_bytes, row
from tests.factories import ELEKTROSTAL_SETTLEMENT as ELEKTROSTAL

OTHER_CURATOR = Viewer(role="curator", email="other@example.org", regions=frozenset({"RU-MOW"}))
ADMIN = Viewer(role="admin", email="admin@example.org")
REGISTRY_TABLES = ("organization", "location", "service", "service_at_location", "phone", "schedule",
                   "service_area", "change")
# row()'s hours "пн-пт 9:00-18:00; сб 10-14" as service.hours: minutes of the week, Monday 00:00 = 0.
HOURS_TEXT = "{" + ",".join([f"[{d * 1440 + 540},{d * 1440 + 1080})" for d in range(5)]
                            + [f"[{5 * 1440 + 600},{5 * 1440 + 840})"]) + "}"
GEOD = Geod(ellps="WGS84")

# Real places of Moscow oblast (settlement points of data/regions/RU-MOS), and one of Moscow city.
KOLOMNA = (55.07944, 38.77833)
PODOLSK = (55.42419, 37.55472)
MOSCOW_KREMLIN = (55.7520, 37.6175)


def counts(session) -> dict[str, int]:
    return {t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in REGISTRY_TABLES}


def problems_by_code(plan) -> dict[str, list]:
    out: dict[str, list] = {}
    for p in plan.problems:
        out.setdefault(p.code, []).append(p)
    return out


def action_of(plan, row_number: int) -> str:
    return next(r.action for r in plan.rows if r.row == row_number)


@pytest.fixture
def registry(registry):
    """The registry fixture, with the history emptied afterwards too."""
    yield registry
    registry.rollback()
    registry.execute(text("TRUNCATE change RESTART IDENTITY"))
    registry.commit()


# --- reading -------------------------------------------------------------------------------------------------
def test_windows_1251_with_semicolons_and_shuffled_columns_reads_as_utf8(registry):
    shuffled = list(reversed(HEADER))
    data = csv_bytes([row(1), row(2)], shuffled, delimiter=";", encoding="cp1251")
    table = read_table("реестр.csv", data)
    assert (table.encoding, table.delimiter) == ("cp1251", ";")
    assert table.rows[0].cells["organization"] == "Центр помощи семье «Радуга-1»"
    plan = plan_import(registry, table, REGION, CURATOR)
    assert plan.ok, plan.problems
    assert [r.action for r in plan.rows] == ["create", "create"]


def test_russian_headers_and_bom_are_understood(registry):
    header = ["Код записи", "Организация", "Вид помощи", "Широта", "Долгота", "Телефоны", "Часы работы"]
    data = ("\ufeff" + ";".join(header) + "\r\n"
            + ";".join(["a-1", "Семейный центр", "Ранняя помощь", "55,7896", "38,4467", "8 (496) 570-00-00",
                        "ежедневно 10-20"]) + "\r\n").encode("utf-8")
    table = read_table("x.csv", data)
    assert table.encoding == "utf-8-sig"
    plan = plan_import(registry, table, REGION, CURATOR)
    assert plan.ok, plan.problems
    assert plan.rows[0].action == "create"


def test_empty_rows_are_skipped_silently_and_rows_keep_their_numbers(registry):
    data = csv_bytes([row(1), {}, row(2), {}, {}])
    table = read_table("x.csv", data)
    assert table.empty_rows == 3
    plan = plan_import(registry, table, REGION, CURATOR)
    assert [r.row for r in plan.rows] == [2, 4]
    assert plan.ok and not plan.problems


def test_nul_bytes_are_refused_with_their_row():
    data = csv_bytes([row(1), row(2)]).replace("Услуга 2".encode(), b"\x00\x00")
    with pytest.raises(ImportFileError) as info:
        read_table("x.csv", data)
    assert info.value.row == 3


def test_invalid_utf8_is_refused_with_its_row():
    data = csv_bytes([row(1), row(2), row(3)])
    broken = data.replace("Услуга 3".encode(), "Услуга 3".encode()[:-3] + b"\xd0\x28")
    with pytest.raises(ImportFileError) as info:
        read_table("x.csv", broken)
    assert info.value.row == 4
    assert "UTF-8" in info.value.message


def test_file_name_path_tricks_are_only_a_display_name(registry):
    table = read_table("../../etc/passwd\x00.csv", csv_bytes([row(1)]))
    assert table.filename == "passwd.csv"
    table = read_table("..\\..\\windows\\win.ini.csv", csv_bytes([row(1)]))
    assert table.filename == "win.ini.csv"
    assert read_table("../..", csv_bytes([row(1)])).filename == "файл"


# --- the dry run's problems ----------------------------------------------------------------------------------
def test_dry_run_reports_each_problem_with_its_row_and_column(registry):
    rows = [
        row(1),  # fine
        row(2, lat=ELEKTROSTAL[1], lon=ELEKTROSTAL[0]),  # swapped
        row(3, lat=MOSCOW_KREMLIN[0], lon=MOSCOW_KREMLIN[1]),  # Moscow city, not the oblast
        row(4, kind="Массаж"),  # unknown kind
        row(5, phones="+7 000 12"),  # bad phone
        row(6, organization="=HYPERLINK(\"http://evil.example/\",\"Нажми\")"),  # formula
        row(7, lat="", lon=""),  # missing coordinates
        row(8, lat="северная", lon="38.4"),  # not a number
        row(9, hours="пн-пт с утра"),  # bad hours
        row(10, age_min_months="40", age_max_months="12"),  # reversed ages
        row(11, delivery="выезд к семье", outreach_radius_km=""),  # outreach without a radius
        row(12, lat="155.1", lon="38.4"),  # impossible
    ]
    table = read_table("bad.csv", csv_bytes(rows))
    plan = plan_import(registry, table, REGION, CURATOR)
    by_code = problems_by_code(plan)
    expected = {
        "lat_lon_swapped": (3, "lat"), "outside_region": (4, "lat"), "unknown_kind": (5, "kind"),
        "bad_phone": (6, "phones"), "formula": (7, "organization"), "missing_coordinates": (8, "lat"),
        "bad_coordinates": (9, "lat"), "bad_hours": (10, "hours"), "ages_reversed": (11, "age_max_months"),
        "missing_radius": (12, "outreach_radius_km"),
    }
    for code, (row_number, column) in expected.items():
        assert code in by_code, (code, plan.problems)
        assert (by_code[code][0].row, by_code[code][0].column) == (row_number, column), by_code[code]
    assert any(p.row == 13 and p.code == "bad_coordinates" for p in plan.problems), plan.problems
    assert "Москва" in by_code["outside_region"][0].message
    assert action_of(plan, 2) == "create"
    assert {r.row for r in plan.rows if r.action == "error"} == set(range(3, 14))
    assert not plan.ok


def test_missing_required_columns_are_reported_for_the_file(registry):
    header = ["external_id", "organization", "kind", "lat"]
    plan = plan_import(registry, read_table("x.csv", csv_bytes([row(1)], header)), REGION, CURATOR)
    missing = [p for p in plan.problems if p.code == "missing_column"]
    assert [(p.row, p.column) for p in missing] == [(None, "Долгота")]
    assert [r.action for r in plan.rows] == ["error"]


def test_duplicates_in_the_registry_and_within_the_file_are_flagged(registry):
    apply_import(registry, read_table("a.csv", csv_bytes([row(1, org="Кризисный центр «Надежда»")])), REGION, CURATOR)
    registry.commit()
    lat, lon = ELEKTROSTAL[0] + 0.01, ELEKTROSTAL[1] + 0.013  # row(1)'s point
    near = GEOD.fwd(lon, lat, 45, 120)  # 120 m north-east
    far = GEOD.fwd(lon, lat, 45, 900)
    rows = [
        row(20, lat=near[1], lon=near[0], org="Кризисный центр Надежда"),  # the registry's, 120 m away
        row(21, lat=far[1], lon=far[0], org="Семейный клуб «Ладушки»"),
        row(22, lat=far[1] + 0.0005, lon=far[0], org="Семейный клуб Ладушки"),  # row 3's, ~56 m away
        row(23, lat=far[1] + 0.01, lon=far[0], org="Семейный клуб Ладушки плюс"),  # 1 km: not a duplicate
        row(1, org="Кризисный центр «Надежда»"),  # the stored entry itself: unchanged, not a duplicate
    ]
    plan = plan_import(registry, read_table("b.csv", csv_bytes(rows)), REGION, CURATOR)
    dup = [p for p in plan.problems if p.code == "likely_duplicate"]
    assert [(p.row, p.column) for p in dup] == [(2, "organization"), (4, "organization")], dup
    assert "№" in dup[0].message and "строке 3" in dup[1].message
    assert all(not p.blocking for p in dup)
    assert [r.action for r in plan.rows] == ["create", "create", "create", "create", "unchanged"]
    assert plan.ok


def test_each_location_gets_the_nearest_settlement_of_its_name_else_the_nearest_one(registry):
    """Two villages named Богородское lie ~20 km apart in the oblast (GeoNames'; the census adds more namesakes
    farther away); every row naming it (in any spelling) gets the nearest settlement of that spelling, as the
    geodesic distance computed here says; an unknown name is reported with the nearest."""
    namesakes = {sid: (lat, lon, latin) for sid, lat, lon, latin in registry.execute(text(
        "SELECT s.id, ST_Y(s.geog::geometry), ST_X(s.geog::geometry), 'Bogorodskoye' = ANY(s.alt_names)"
        " FROM settlement s WHERE s.region_code = :r AND s.name_ru = 'Богородское' ORDER BY s.id"), {"r": REGION})}
    today = [sid for sid, (_, _, latin) in namesakes.items() if latin]
    assert len(today) == 2
    (lat_a, lon_a, _), (lat_b, lon_b, _) = (namesakes[sid] for sid in today)
    points = [GEOD.fwd(lon_a, lat_a, 200, 3000)[:2], GEOD.fwd(lon_b, lat_b, 20, 2500)[:2],
              ((lon_a + lon_b) / 2 + 0.02, (lat_a + lat_b) / 2), ((lon_a + lon_b) / 2 - 0.02, (lat_a + lat_b) / 2)]
    spellings = ["Богородское", "богородское", "БОГОРОДСКОЕ ", "Bogorodskoye"]
    rows = [row(n, lat=lat, lon=lon, settlement=name) for n, ((lon, lat), name) in enumerate(zip(points, spellings))]
    rows.append(row(9, settlement="Богородское"))  # near Электросталь: no Богородское within 30 km
    plan = apply_import(registry, read_table("s.csv", csv_bytes(rows[:4])), REGION, CURATOR)
    assert plan.ok, plan.problems
    stored = dict(registry.execute(text("SELECT s.external_id, l.settlement_id FROM location l JOIN service s "
                                        "ON s.organization_id = l.organization_id")).all())
    for n, (lon, lat) in enumerate(points):
        spelt = [sid for sid in namesakes if namesakes[sid][2] or not spellings[n].isascii()]
        nearest = min(spelt, key=lambda sid: GEOD.inv(lon, lat, namesakes[sid][1], namesakes[sid][0])[2])
        assert stored[f"svc-{n}"] == nearest, n
    assert len({stored[f"svc-{n}"] for n in range(4)}) == 2  # both namesakes chosen
    unknown = plan_import(registry, read_table("u.csv", csv_bytes(rows[4:])), REGION, CURATOR)
    [problem] = [p for p in unknown.problems if p.code == "unknown_settlement"]
    assert (problem.row, problem.column) == (2, "settlement") and "выбран ближайший" in problem.message


def test_duplicate_external_ids_within_the_file_are_errors(registry):
    plan = plan_import(registry, read_table("x.csv", csv_bytes([row(1), row(2, external_id="svc-1")])), REGION,
                       CURATOR)
    assert [(p.row, p.code) for p in plan.errors] == [(3, "duplicate_external_id")]


# --- apply: all or nothing, idempotent, recorded ---------------------------------------------------------------
def test_failing_apply_writes_nothing(registry):
    before = counts(registry)
    table = read_table("x.csv", csv_bytes([row(n) for n in range(1, 30)] + [row(30, kind="нет такого")]))
    with pytest.raises(ImportRejected) as info:
        apply_import(registry, table, REGION, CURATOR)
    assert [p.code for p in info.value.plan.errors] == ["unknown_kind"]
    registry.commit()
    assert counts(registry) == before


def test_apply_twice_changes_nothing_the_second_time(registry):
    table = read_table("реестр.csv", csv_bytes([row(n) for n in range(1, 21)]))
    first = apply_import(registry, table, REGION, CURATOR)
    registry.commit()
    assert first.counts["create"] == 20 and first.change_set is not None
    after_first = counts(registry)
    assert after_first["service"] == 20 and after_first["schedule"] == 20 * 6 and after_first["phone"] == 20
    second = apply_import(registry, read_table("реестр.csv", csv_bytes([row(n) for n in range(1, 21)])), REGION,
                          CURATOR)
    registry.commit()
    assert [r.action for r in second.rows] == ["unchanged"] * 20
    assert second.change_set is None
    assert counts(registry) == after_first


def test_apply_is_recorded_in_the_history_with_the_actor_and_the_file(registry):
    plan = apply_import(registry, read_table("список.csv", csv_bytes([row(1), row(2)])), REGION, CURATOR)
    registry.commit()
    notes = registry.execute(text("SELECT DISTINCT note, actor_email, change_set FROM change")).all()
    assert notes == [("import список.csv", "curator@example.org", plan.change_set)]
    inserted = dict(registry.execute(text(
        "SELECT entity, count(*) FROM change WHERE op = 'insert' GROUP BY entity")).all())
    assert inserted["organization"] == 2 and inserted["service"] == 2 and "schedule" not in inserted
    hours = registry.execute(text("SELECT DISTINCT new ->> 'hours' FROM change WHERE entity = 'service'")).scalars()
    assert list(hours) == [HOURS_TEXT]  # the weekly hours are one field of the service's record


def test_update_changes_only_what_differs_and_history_has_the_fields(registry):
    apply_import(registry, read_table("a.csv", csv_bytes([row(1), row(2)])), REGION, CURATOR)
    registry.commit()
    version = registry.execute(text("SELECT version FROM organization WHERE external_id = 'org-1'")).scalar()
    changed = [row(1, phones="+7 496 570-11-11 (для записи)", hours="пн-пт 9:00-17:00", capacity_total="10",
                   capacity_free="3"), row(2)]
    plan = apply_import(registry, read_table("b.csv", csv_bytes(changed)), REGION, CURATOR)
    registry.commit()
    assert [r.action for r in plan.rows] == ["update", "unchanged"]
    assert set(plan.rows[0].changes) == {"phones", "hours", "capacity_total", "capacity_free"}
    fields = registry.execute(text("SELECT entity, op, field FROM change WHERE change_set = :cs ORDER BY id"),
                              {"cs": plan.change_set}).all()
    assert ("service", "update", "capacity_total") in fields
    assert ("service", "update", "hours") in fields and not any(f[0] == "schedule" for f in fields)
    assert ("phone", "insert", None) in fields and ("phone", "delete", None) in fields
    slots = registry.execute(text(
        "SELECT weekday, opens_minute, closes_minute FROM schedule sc JOIN service s ON s.id = sc.service_id"
        " WHERE s.external_id = 'svc-1' ORDER BY 1")).all()
    assert slots == [(d, 540, 1020) for d in range(1, 6)]
    phone = registry.execute(text("SELECT p.number, p.kind FROM phone p JOIN organization o"
                                  " ON o.id = p.organization_id WHERE o.external_id = 'org-1'")).all()
    assert phone == [("+74965701111", "intake")]
    assert registry.execute(text("SELECT version FROM organization WHERE external_id = 'org-1'")).scalar() \
        == version + 1


def test_a_new_service_joins_the_registry_organization_of_its_organization_code(registry):
    apply_import(registry, read_table("a.csv", csv_bytes([row(1)])), REGION, CURATOR)
    registry.commit()
    same_org = row(2, org="Центр помощи семье «Радуга-1»", organization_external_id="org-1",
                   email="info1@example.org")
    plan = apply_import(registry, read_table("b.csv", csv_bytes([row(1), same_org])), REGION, CURATOR)
    registry.commit()
    assert [r.action for r in plan.rows] == ["unchanged", "create"]
    owners = registry.execute(text("SELECT s.external_id, o.external_id FROM service s"
                                   " JOIN organization o ON o.id = s.organization_id ORDER BY 1")).all()
    assert owners == [("svc-1", "org-1"), ("svc-2", "org-1")]
    assert registry.execute(text("SELECT count(*) FROM organization")).scalar() == 1


def test_emptied_hours_remove_every_slot(registry):
    apply_import(registry, read_table("a.csv", csv_bytes([row(1)])), REGION, CURATOR)
    registry.commit()
    plan = apply_import(registry, read_table("b.csv", csv_bytes([row(1, hours="")])), REGION, CURATOR)
    registry.commit()
    assert [r.action for r in plan.rows] == ["update"] and "hours" in plan.rows[0].changes
    assert registry.execute(text("SELECT count(*) FROM schedule")).scalar() == 0
    assert registry.execute(text("SELECT hours FROM service")).scalar() is None
    recorded = registry.execute(text("SELECT old, new FROM change WHERE change_set = :cs AND entity = 'service'"
                                     " AND field = 'hours'"), {"cs": plan.change_set}).one()
    assert tuple(recorded) == (HOURS_TEXT, None)


def test_nearest_help_copies_written_by_the_import_equal_the_rows_they_copy(registry):
    """The import supplies service_at_location's copies itself (migration 0010 then skips rm_sal_fill): they must
    be what rm_sal_fill computes from the service, location and organization."""
    rows = [row(1), row(2, delivery="выезд", outreach_radius_km="30"), row(3, status="черновик")]
    apply_import(registry, read_table("a.csv", csv_bytes(rows)), REGION, CURATOR)
    registry.commit()
    copies = registry.execute(text(
        "SELECT sal.id, ST_AsText(sal.geog), sal.timezone, sal.type_code, sal.delivery, sal.age_min_months,"
        " sal.age_max_months, sal.searchable FROM service_at_location sal ORDER BY sal.id")).all()
    registry.execute(text("UPDATE service_at_location SET id = id"))  # the update trigger refills every row
    refilled = registry.execute(text(
        "SELECT sal.id, ST_AsText(sal.geog), sal.timezone, sal.type_code, sal.delivery, sal.age_min_months,"
        " sal.age_max_months, sal.searchable FROM service_at_location sal ORDER BY sal.id")).all()
    registry.rollback()
    assert len(copies) == 3 and copies == refilled
    assert [c[-1] for c in copies] == [True, True, False]


def test_ten_thousand_rows_plan_and_apply(registry):
    rows = [row(n, lat=ELEKTROSTAL[0] - 0.1 + (n % 100) * 0.002, lon=ELEKTROSTAL[1] - 0.1 + (n // 100) * 0.002,
                org=f"Организация {n} «{n * 7919 % 10007}»") for n in range(10_000)]
    table = read_table("big.csv", csv_bytes(rows))
    dry = plan_import(registry, table, REGION, CURATOR)
    assert dry.ok, collections.Counter((p.code, p.column) for p in dry.problems)
    plan = apply_import(registry, table, REGION, CURATOR)
    registry.commit()
    assert plan.counts == {"create": 10_000, "update": 0, "unchanged": 0, "error": 0}
    assert registry.execute(text("SELECT count(*) FROM service_at_location WHERE searchable")).scalar() == 10_000
    again = plan_import(registry, read_table("big.csv", csv_bytes(rows)), REGION, CURATOR)
    assert again.counts["unchanged"] == 10_000


# --- rights --------------------------------------------------------------------------------------------------
def test_a_curator_cannot_import_into_another_region(registry):
    table = read_table("x.csv", csv_bytes([row(1)]))
    with pytest.raises(Forbidden):
        plan_import(registry, table, "RU-MOW", CURATOR)
    with pytest.raises(Forbidden):
        apply_import(registry, table, "RU-MOW", CURATOR)
    with pytest.raises(Forbidden):
        apply_import(registry, table, REGION, Viewer(role="dispatcher"))


# --- hours ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("written, slots", [
    ("пн-пт 9:00-18:00; сб 10-14", [(d, 540, 1080) for d in range(1, 6)] + [(6, 600, 840)]),
    ("Ежедневно 10:00–20:00", [(d, 600, 1200) for d in range(1, 8)]),
    ("пн, ср, пт 9-13, 14-18", [(d, o, c) for d in (1, 3, 5) for o, c in ((540, 780), (840, 1080))]),
    ("сб-вс выходной; пн круглосуточно", [(1, 0, 1440)]),
])
def test_hours_are_read_and_written_back_the_same(written, slots):
    read, error = read_hours(written)
    assert error is None and list(read) == sorted(slots)
    assert read_hours(write_hours(read)) == (read, None)


# --- XLSX and GeoJSON ------------------------------------------------------------------------------------------
def xlsx_bytes(rows: list[dict], header=HEADER, *, typed=True) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for r in rows:
        values = []
        for h in header:
            value = r.get(h, "")
            if typed and h in ("lat", "lon", "age_min_months", "age_max_months") and value not in ("", None):
                value = float(value)  # Excel keeps numbers as numbers
            values.append(value)
        sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_reads_like_csv_with_numbers_and_dates(registry):
    rows = [row(1, verified_at=None), row(2)]
    header = HEADER + ["verified_at"]
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(rows, header)))
    import datetime as dt
    book.active.cell(row=3, column=len(header)).value = dt.datetime(2026, 10, 5)  # a date cell
    out = io.BytesIO()
    book.save(out)
    table = read_table("реестр.xlsx", out.getvalue())
    assert table.format == "xlsx" and float(table.rows[0].cells["lat"]) == pytest.approx(float(row(1)["lat"]))
    assert table.rows[1].cells["verified_at"] == "2026-10-05"
    plan = plan_import(registry, table, REGION, CURATOR)
    assert plan.ok, plan.problems
    assert [r.action for r in plan.rows] == ["create", "create"]


def test_xlsx_formula_cell_is_an_error_and_text_starting_with_equals_is_text(registry):
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes([row(1), row(2)])))
    sheet = book.active
    sheet.cell(row=2, column=HEADER.index("organization") + 1).value = '=HYPERLINK("http://evil.example","Жми")'
    text_cell = sheet.cell(row=3, column=HEADER.index("description") + 1)
    text_cell.value = "=не формула"
    text_cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    plan = plan_import(registry, read_table("f.xlsx", out.getvalue()), REGION, CURATOR)
    formula = [p for p in plan.problems if p.code == "formula"]
    assert [(p.row, p.column) for p in formula] == [(2, "organization")]
    assert [r.action for r in plan.rows] == ["error", "create"]


def test_truncated_and_garbage_xlsx_are_refused(registry):
    good = xlsx_bytes([row(1)])
    for bad in (good[: len(good) // 2], good[:100], b"PK\x03\x04" + bytes(range(256)) * 10):
        with pytest.raises(ImportFileError) as info:
            read_table("list.xlsx", bad)
        assert "XLSX" in info.value.message
    with pytest.raises(ImportFileError):
        read_table("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)


def test_an_xlsx_zip_bomb_is_refused_before_it_is_unpacked():
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            chunk = b"\x00" * (1 << 20)
            for _ in range(64):  # 64 MB of zeros, about 64 kB packed
                part.write(chunk)
    data = bomb.getvalue()
    assert len(data) < 1_000_000
    with pytest.raises(ImportFileError) as info:
        read_table("bomb.xlsx", data)
    assert "zip" in info.value.message


def test_an_xlsx_with_a_far_away_cell_is_refused_by_the_row_cap():
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    book.active.cell(row=900_000, column=1).value = "далеко"
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(ImportFileError) as info:
        read_table("far.xlsx", out.getvalue())
    assert "строк" in info.value.message


def test_geojson_points_import_and_a_feature_without_point_is_reported(registry):
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [ELEKTROSTAL[1], ELEKTROSTAL[0]]},
                 "properties": {"Код записи": "g-1", "Организация": "Клуб «Ладушки»", "Вид помощи": "parent_club",
                                "Телефоны": ["8 (496) 570-00-01", "8 (496) 570-00-02"], "Адрес скрыт": False}},
                {"type": "Feature", "geometry": None,
                 "properties": {"Код записи": "g-2", "Организация": "Без точки", "Вид помощи": "hotline"}}]
    data = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()
    plan = plan_import(registry, read_table("points.geojson", data), REGION, CURATOR)
    assert [(p.row, p.code) for p in plan.problems] == [(2, "missing_coordinates")]
    assert [r.action for r in plan.rows] == ["create", "error"]
    with pytest.raises(ImportFileError):
        read_table("deep.json", ("[" * 100_000 + "]" * 100_000).encode())
    with pytest.raises(ImportFileError):
        read_table("x.geojson", b'{"type": "Feature"}')


def test_long_strings_are_problems_not_crashes(registry):
    plan = plan_import(registry, read_table("x.csv", csv_bytes([row(1, description="ы" * 100_000),
                                                                row(2, organization="О" * 5000)])), REGION, CURATOR)
    assert {(p.row, p.column, p.code) for p in plan.problems} == {(2, "description", "too_long"),
                                                                  (3, "organization", "too_long")}
    with pytest.raises(ImportFileError) as info:
        read_table("x.csv", csv_bytes([row(1, description="ы" * 300_000)]))
    assert info.value.row == 2


# --- the templates ---------------------------------------------------------------------------------------------
def test_the_committed_templates_are_generated_and_their_example_imports(registry, tmp_path):
    from resourcemap.exchange import template

    template.write_templates(tmp_path)
    assert (tmp_path / "registry-template.csv").read_bytes() == template.template_file("csv").read_bytes()
    committed = openpyxl.load_workbook(template.template_file("xlsx"))
    fresh = openpyxl.load_workbook(tmp_path / "registry-template.xlsx")
    assert committed.sheetnames == fresh.sheetnames == ["Реестр", "Пример", "Столбцы", "Виды помощи"]
    for name in committed.sheetnames:
        assert list(committed[name].values) == list(fresh[name].values), name
    kinds = {code for code, in registry.execute(text("SELECT code FROM taxonomy_term"))}
    assert {code for code, _ in template.kinds_of_help()} == kinds

    table = read_table("registry-template.xlsx", template.template_file("xlsx").read_bytes())
    assert not table.rows and not table.unknown_headers and len(table.columns) == len(template.COLUMNS)
    plan = plan_import(registry, read_table("example.csv", template.example_csv()), REGION, CURATOR)
    assert plan.ok and [r.action for r in plan.rows] == ["create", "create"], plan.problems


# --- phones: the fast path agrees with phonenumbers --------------------------------------------------------------
def test_the_phone_fast_path_answers_as_phonenumbers_does():
    import random

    import phonenumbers

    from resourcemap.exchange import columns

    rng = random.Random(20261124)
    forms = ["+7{}", "8{}", "+7 ({}) ", "8 ({})", "{}", "7{}", "+7-{}", "810{}"]
    for _ in range(20_000):
        national = str(rng.randrange(10**9, 10**10))
        raw = rng.choice(forms).replace("{}", national)
        country = rng.choice(["RU", "KZ"])
        columns._e164.cache_clear()
        try:
            parsed = phonenumbers.parse(raw, country)
            expected = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) \
                if phonenumbers.is_valid_number(parsed) else None
        except phonenumbers.NumberParseException:
            expected = None
        assert columns._e164(raw, country) == expected, (raw, country)


# --- updates of places, delivery and areas -----------------------------------------------------------------------
def _area_of(session, key: str):
    return session.execute(text(
        "SELECT a.radius_km, a.region_code, ST_Y(ST_Centroid(a.area::geometry)) AS lat,"
        " ST_X(ST_Centroid(a.area::geometry)) AS lon FROM service_area a JOIN service s ON s.id = a.service_id"
        " WHERE s.external_id = :k ORDER BY a.id"), {"k": key}).mappings().all()


def test_moving_a_place_redraws_its_outreach_circle_and_delivery_changes_replace_areas(registry):
    mobile = dict(kind="mobile_team", delivery="выезд к семье", outreach_radius_km="30")
    apply_import(registry, read_table("a.csv", csv_bytes([row(1, **mobile), row(2)])), REGION, CURATOR)
    registry.commit()
    (area,) = _area_of(registry, "svc-1")
    assert area["radius_km"] == 30
    lat, lon = float(row(1)["lat"]), float(row(1)["lon"])
    new_lon, new_lat, _ = GEOD.fwd(lon, lat, 90, 1500)  # 1.5 km east
    plan = apply_import(registry, read_table("b.csv", csv_bytes([row(1, lat=new_lat, lon=new_lon, **mobile),
                                                                 row(2)])), REGION, CURATOR)
    registry.commit()
    assert plan.rows[0].action == "update" and {"lat", "lon"} <= set(plan.rows[0].changes)
    (area,) = _area_of(registry, "svc-1")
    assert GEOD.inv(new_lon, new_lat, area["lon"], area["lat"])[2] < 50  # the circle follows its place

    plan = apply_import(registry, read_table("c.csv", csv_bytes([
        row(1, lat=new_lat, lon=new_lon, kind="mobile_team", delivery="выезд к семье", outreach_radius_km="45"),
        row(2, delivery="онлайн")])), REGION, CURATOR)
    registry.commit()
    assert [r.action for r in plan.rows] == ["update", "update"]
    assert [a["radius_km"] for a in _area_of(registry, "svc-1")] == [45]
    assert [(a["radius_km"], a["region_code"]) for a in _area_of(registry, "svc-2")] == [(None, REGION)]
    apply_import(registry, read_table("d.csv", csv_bytes([row(1, lat=new_lat, lon=new_lon), row(2)])), REGION,
                 CURATOR)
    registry.commit()
    assert _area_of(registry, "svc-1") == [] and _area_of(registry, "svc-2") == []


def test_a_new_location_code_moves_the_service_and_rows_share_places(registry):
    rows = [row(1, location_external_id="L-1"),
            {**row(1, location_external_id="L-1"), "external_id": "svc-2", "kind": "legal_help"}]
    header = HEADER + ["location_external_id"]
    plan = apply_import(registry, read_table("a.csv", csv_bytes(rows, header)), REGION, CURATOR)
    registry.commit()
    assert plan.counts["create"] == 2
    assert counts(registry)["organization"] == 1 and counts(registry)["location"] == 1
    rows[1]["location_external_id"] = "L-2"
    plan = apply_import(registry, read_table("b.csv", csv_bytes(rows, header)), REGION, CURATOR)
    registry.commit()
    assert [(r.action, r.changes) for r in plan.rows] == [("unchanged", ()), ("update", ("location",))]
    assert plan.changed_columns(plan.rows[1]) == ["location_external_id"]  # as the file's header names it
    places = registry.execute(text(
        "SELECT s.external_id, l.external_id FROM service s JOIN service_at_location sal ON sal.service_id = s.id"
        " JOIN location l ON l.id = sal.location_id ORDER BY 1")).all()
    assert places == [("svc-1", "L-1"), ("svc-2", "L-2")]
    rows[1]["address"] = "другой адрес"
    rows[1]["location_external_id"] = "L-1"
    plan = plan_import(registry, read_table("c.csv", csv_bytes(rows, header)), REGION, CURATOR)
    assert [(p.row, p.code, p.column) for p in plan.errors] == [(3, "conflicting_values", "address")]


def test_an_editor_holding_an_older_version_meets_a_conflict_after_an_import(registry):
    from resourcemap.registry.edit import Conflict, organization_document, save_document

    apply_import(registry, read_table("a.csv", csv_bytes([row(1)])), REGION, CURATOR)
    registry.commit()
    org_id = registry.execute(text("SELECT id FROM organization WHERE external_id = 'org-1'")).scalar()
    opened = organization_document(registry, org_id)  # an editor opens the organization ...
    apply_import(registry, read_table("b.csv", csv_bytes([row(1, email="new@example.org")])), REGION, CURATOR)
    registry.commit()  # ... an import changes it meanwhile ...
    opened["description"] = "правка из редактора"
    with pytest.raises(Conflict) as info:  # ... and the editor's save does not overwrite the import
        save_document(registry, org_id, opened, opened["version"], CURATOR)
    assert info.value.current["email"] == "new@example.org"


def test_text_array_literals_read_back_as_the_strings_sent(registry):
    from resourcemap.exchange.lookup import text_array

    values = ['«Радуга» "центр"', "C:\\путь\\", "NULL", "", "  пробелы  ", "a,b", "{x}", "it's", None]
    back = registry.execute(text("SELECT CAST(:a AS text[])"), {"a": text_array(values)}).scalar()
    assert back == values


# --- the child's condition and the cost (issue 22) --------------------------------------------------------------
NEEDS_HEADER = HEADER + ["Состояние ребёнка", "Стоимость", "Основание бесплатности"]


def test_conditions_and_cost_are_read_in_words_abbreviations_or_codes_and_searchable(registry, client):
    rows = [row(1, **{"Состояние ребёнка": "Нарушения слуха; РАС", "Стоимость": "бесплатно",
                      "Основание бесплатности": "по направлению; госпрограмма"}),
            row(2, **{"Состояние ребёнка": "motor, down_syndrome", "Стоимость": "paid"}),
            row(3, **{"Состояние ребёнка": "", "Стоимость": ""})]
    plan = apply_import(registry, read_table("needs.csv", csv_bytes(rows, NEEDS_HEADER)), REGION, CURATOR)
    registry.commit()
    assert plan.ok, plan.problems
    stored = {r.external_id: (r.conditions, r.cost, r.cost_basis) for r in registry.execute(text(
        "SELECT external_id, conditions, cost, cost_basis FROM service ORDER BY id"))}
    assert stored == {"svc-1": (["hearing", "autism"], "free", ["state_programme", "referral"]),
                      "svc-2": (["motor", "down_syndrome"], "paid", []), "svc-3": ([], None, [])}
    # The bulk writer filled the nearest-help copies: the filters find them.
    found = client.get("/api/v1/nearest", query_string={"lat": ELEKTROSTAL[0], "lon": ELEKTROSTAL[1],
                                                         "service": "early_help", "condition": "autism",
                                                         "cost": "free"}).json["results"]
    assert [r["service"]["conditions"] for r in found] == [["hearing", "autism"]]

    # A second import changes one service's conditions and leaves the rest unchanged.
    rows[1]["Состояние ребёнка"] = "НОДА"
    plan = apply_import(registry, read_table("needs.csv", csv_bytes(rows, NEEDS_HEADER)), REGION, CURATOR)
    registry.commit()
    assert [r.action for r in plan.rows] == ["unchanged", "update", "unchanged"]
    assert registry.execute(text("SELECT sal.conditions FROM service_at_location sal JOIN service s"
                                 " ON s.id = sal.service_id WHERE s.external_id = 'svc-2'")).scalar() == ["motor"]


def test_unknown_conditions_and_costs_are_reported_with_their_row_and_column(registry):
    rows = [row(1, **{"Состояние ребёнка": "слух; плоскостопие"}), row(2, **{"Стоимость": "дёшево"}),
            row(3, **{"Стоимость": "бесплатно; платно"}), row(4, **{"Основание бесплатности": "по блату"})]
    plan = plan_import(registry, read_table("needs.csv", csv_bytes(rows, NEEDS_HEADER)), REGION, CURATOR)
    found = {(p.row, p.column, p.code) for p in plan.problems}
    assert {(2, "Состояние ребёнка", "unknown_conditions"), (3, "Стоимость", "unknown_cost"),
            (4, "Стоимость", "unknown_cost"), (5, "Основание бесплатности", "unknown_cost_basis")} <= found
    assert any("плоскостопие" in p.message for p in plan.problems)
