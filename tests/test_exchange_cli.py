"""`resourcemap import` and `resourcemap export` through click's runner on the app (the test database): the dry
run reports and writes nothing, an apply writes and a second changes nothing, a rejected file exits 1 with its
problems, --as acts with an account's rights (another region's curator is refused), exports write their files."""
from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from sqlalchemy import text

from resourcemap.auth.accounts import create_account

HEADER = ["Код записи", "Организация", "Вид помощи", "Широта", "Долгота", "Адрес", "Телефоны", "Часы работы"]
ROWS = [
    ["cli-1", "Центр «Радуга»", "Ранняя помощь", "55.7896", "38.4467", "ул. Мира, 1", "8 (496) 570-00-01",
     "пн-пт 9-18"],
    ["cli-2", "Клуб «Ладушки»", "parent_club", "55.4242", "37.5547", "ул. Ленина, 2", "8 (496) 570-00-02", ""],
]


def _csv(path, rows):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(HEADER)
    writer.writerows(rows)
    path.write_bytes(out.getvalue().encode("cp1251"))
    return str(path)


def _count(session, table: str) -> int:
    return session.execute(text(f"SELECT count(*) FROM {table}")).scalar()


@pytest.fixture
def accounts(registry):
    create_account(registry, "mos@example.org", "a long enough password 1", "curator", ["RU-MOS"])
    create_account(registry, "mow@example.org", "a long enough password 2", "curator", ["RU-MOW"])
    registry.commit()
    yield registry
    registry.rollback()
    registry.execute(text("TRUNCATE change RESTART IDENTITY; TRUNCATE audit_event, api_token, account_region,"
                          " account RESTART IDENTITY CASCADE"))
    registry.commit()


def test_dry_run_then_apply_then_nothing_to_change(runner, accounts, tmp_path):
    session = accounts
    path = _csv(tmp_path / "реестр.csv", ROWS)
    result = runner.invoke(args=["import", path, "--region", "RU-MOS", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "строка 2: create cli-1" in result.output and "строка 3: create cli-2" in result.output
    assert "dry run: nothing was written" in result.output
    assert _count(session, "organization") == 0

    result = runner.invoke(args=["import", path, "--region", "ru-mos", "--as", "mos@example.org"])
    assert result.exit_code == 0, result.output
    assert "imported: change set" in result.output
    session.commit()
    assert _count(session, "service") == 2
    assert session.execute(text("SELECT DISTINCT actor_email, note FROM change")).all() == [
        ("mos@example.org", "import реестр.csv")]

    result = runner.invoke(args=["import", path, "--region", "RU-MOS"])
    assert result.exit_code == 0, result.output
    assert "без изменений 2" in result.output and "nothing to change" in result.output


def test_a_rejected_file_exits_1_with_its_problems_and_writes_nothing(runner, accounts, tmp_path):
    session = accounts
    rows = ROWS + [["cli-3", "Служба", "Ранняя помощь", "38.4467", "55.7896", "", "", ""],
                   ["cli-4", "Служба 2", "Массаж", "55.79", "38.45", "", "+7 000", ""]]
    result = runner.invoke(args=["import", _csv(tmp_path / "bad.csv", rows), "--region", "RU-MOS"])
    assert result.exit_code == 1, result.output
    assert "строка 4: error" in result.output and "lat_lon_swapped" in result.output
    assert "unknown_kind" in result.output and "bad_phone" in result.output
    session.commit()
    assert _count(session, "organization") == 0 and _count(session, "change") == 0

    result = runner.invoke(args=["import", _csv(tmp_path / "bad.csv", rows), "--region", "RU-MOS", "--dry-run"])
    assert result.exit_code == 1, result.output


def test_import_refuses_a_file_it_cannot_read_and_a_region_not_yours(runner, accounts, tmp_path):
    garbage = tmp_path / "list.xlsx"
    garbage.write_bytes(b"PK\x03\x04 this is not a workbook")
    result = runner.invoke(args=["import", str(garbage), "--region", "RU-MOS"])
    assert result.exit_code == 1 and "XLSX" in result.output
    path = _csv(tmp_path / "ok.csv", ROWS)
    result = runner.invoke(args=["import", path, "--region", "RU-MOS", "--as", "mow@example.org"])
    assert result.exit_code == 1 and "не курируете" in result.output
    result = runner.invoke(args=["import", path, "--region", "RU-MOS", "--as", "nobody@example.org"])
    assert result.exit_code == 1 and "no active account" in result.output
    assert _count(accounts, "organization") == 0


def test_export_writes_each_format(runner, accounts, tmp_path):
    runner.invoke(args=["import", _csv(tmp_path / "ok.csv", ROWS), "--region", "RU-MOS"])
    out = tmp_path / "out.csv"
    result = runner.invoke(args=["export", "--region", "RU-MOS", "--format", "csv", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 3 and rows[0][0] == "Код записи" and {r[0] for r in rows[1:]} == {"cli-1", "cli-2"}

    out = tmp_path / "out.geojson"
    assert runner.invoke(args=["export", "--all", "--format", "geojson", "-o", str(out)]).exit_code == 0
    assert len(json.loads(out.read_bytes())["features"]) == 2

    out = tmp_path / "hsds.zip"
    result = runner.invoke(args=["export", "--region", "RU-MOS", "--format", "hsds-csv", "-o", str(out),
                                 "--as", "mos@example.org"])
    assert result.exit_code == 0, result.output
    assert "datapackage.json" in zipfile.ZipFile(out).namelist()

    out = tmp_path / "hsds.json"
    assert runner.invoke(args=["export", "--region", "RU-MOS", "--format", "hsds", "-o", str(out)]).exit_code == 0
    assert json.loads(out.read_bytes())["hsds_version"] == "3.0"


def test_export_rights_and_usage(runner, accounts, tmp_path):
    out = str(tmp_path / "x.csv")
    result = runner.invoke(args=["export", "--region", "RU-MOS", "-o", out, "--as", "mow@example.org"])
    assert result.exit_code == 1 and "не курируете" in result.output
    result = runner.invoke(args=["export", "--all", "-o", out, "--as", "mos@example.org"])
    assert result.exit_code == 1 and "администратор" in result.output
    assert runner.invoke(args=["export", "-o", out]).exit_code == 2
    assert runner.invoke(args=["export", "--region", "RU-MOS", "--all", "-o", out]).exit_code == 2
