"""Exports of a region's registry (CSV, GeoJSON, HSDS) against the real PostGIS: formula cells neutralized,
confidential places exact only for roles that may see them, drafts for staff only, region rights, and the round
trip — an export imports back unchanged, and into an emptied registry as the same entries."""
from __future__ import annotations

import csv
import io
import json
import zipfile

import openpyxl
import pytest
from pyproj import Geod
from sqlalchemy import text

from resourcemap.auth.policy import PUBLIC, Viewer
from resourcemap.exchange import ExportError, apply_import, export_region, plan_import, read_table
from resourcemap.exchange.columns import COLUMNS, unneutralize
from resourcemap.exchange.exporting import neutralize
from resourcemap.registry.edit import Forbidden
from resourcemap.registry.write import create_organization

REGION = "RU-MOS"
CURATOR = Viewer(role="curator", email="curator@example.org", regions=frozenset({REGION}))
OTHER_CURATOR = Viewer(role="curator", email="other@example.org", regions=frozenset({"RU-MOW"}))
DISPATCHER = Viewer(role="dispatcher", email="dispatcher@example.org")
ADMIN = Viewer(role="admin", email="admin@example.org")
GEOD = Geod(ellps="WGS84")
SHELTER = (55.7712345, 38.4654321)  # a confidential crisis apartment in Elektrostal
HEADERS = [c.header for c in COLUMNS]


def _registry(session) -> dict:
    """A small registry of Moscow oblast: a published centre with two services (one outreach), a confidential
    crisis apartment with an intake phone, a draft, text that looks like formulas, and an online hotline."""
    ids = {}
    ids["centre"] = create_organization(session, {
        "name": "Центр «Семья»", "status": "published", "website": "https://semya.example.org",
        "email": "semya@example.org", "description": "Помощь семьям", "verified_at": "2026-10-01",
        "locations": [{"name": "Главное отделение", "address": "ул. Мира, 5", "lat": 55.7901, "lon": 38.4402,
                       "settlement": "Электросталь"}],
        "services": [
            {"type": "early_help", "name": "Ранняя помощь 0-3", "age_min_months": 0, "age_max_months": 36,
             "conditions": ["hearing", "down_syndrome", "developmental_delay"], "cost": "free",
             "cost_basis": ["state_programme", "referral"],
             "schedule": [{"weekday": d, "opens": "09:00", "closes": "18:00"} for d in range(1, 6)]},
            {"type": "mobile_team", "delivery": "outreach", "outreach_radius_km": 40, "capacity_total": 10,
             "capacity_free": 2, "cost": "partly_paid", "conditions": ["complex_needs"]}],
        "phones": [{"number": "+7 496 570-00-01", "location": 0}, {"number": "+7 496 570-00-09"}],
    })
    ids["shelter"] = create_organization(session, {
        "name": "Кризисная квартира «Дом мамы»", "status": "published",
        "locations": [{"name": "Квартира", "address": "ул. Тайная, 13, кв. 7", "lat": SHELTER[0], "lon": SHELTER[1],
                       "confidential": True, "settlement": "Электросталь"}],
        "services": [{"type": "crisis_apartment", "capacity_total": 4, "capacity_free": 1}],
        "phones": [{"number": "+7 496 570-00-02", "location": 0},
                   {"number": "+7 496 570-00-03", "kind": "intake", "location": 0}],
    })
    ids["draft"] = create_organization(session, {
        "name": "Черновик: родительский клуб", "status": "draft",
        "locations": [{"lat": 55.43, "lon": 37.55, "settlement": "Подольск"}],
        "services": [{"type": "parent_club"}],
    })
    ids["formula"] = create_organization(session, {
        "name": "=HYPERLINK(\"http://evil.example\",\"Жми\")", "status": "published",
        "description": "@SUM(1+1)*cmd|' /C calc'!A0", "legal_form": "+cmd|' /C notepad'!A0",
        "locations": [{"address": "-2+3+cmd|' /C calc'!A0", "lat": 55.08, "lon": 38.78, "settlement": "Коломна"}],
        "services": [{"type": "hotline", "delivery": "online", "eligibility": "=1+1 и всё"}],
    })
    session.commit()
    return ids


def _csv_rows(data: bytes) -> list[dict]:
    assert data.startswith("\ufeff".encode())
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";")
    header = next(reader)
    assert header == HEADERS
    return [dict(zip(header, r)) for r in reader]


@pytest.fixture
def seeded(registry):
    ids = _registry(registry)
    yield registry, ids
    registry.rollback()
    registry.execute(text("TRUNCATE change RESTART IDENTITY"))
    registry.commit()


def test_formula_cells_are_neutralized_in_csv(seeded):
    session, _ = seeded
    data, mimetype, filename = export_region(session, [REGION], "csv", CURATOR)
    assert mimetype.startswith("text/csv") and filename.endswith(".csv") and REGION in filename
    rows = _csv_rows(data)
    evil = next(r for r in rows if "HYPERLINK" in r["Организация"])
    assert evil["Организация"].startswith("'=HYPERLINK")
    assert evil["Об организации"].startswith("'@SUM")
    assert evil["Правовая форма"].startswith("'+cmd")
    assert evil["Адрес"].startswith("'-2+3")
    assert evil["Кому"] == "'=1+1 и всё"
    for r in rows:  # no cell a spreadsheet would run
        for value in r.values():
            assert not value.startswith(("=", "@", "\t", "\r")), value
            if value.startswith(("+", "-")):
                assert set(value) <= set("+-0123456789 ().;"), value
    centre = next(r for r in rows if r["Организация"] == "Центр «Семья»" and r["Вид помощи"] == "Ранняя помощь")
    assert centre["Телефоны"] == "8 (496) 570-00-01" and centre["Телефоны организации"] == "8 (496) 570-00-09"
    assert centre["Часы работы"] == "пн-пт 09:00-18:00" and centre["Проверено"] == "2026-10-01"


@pytest.mark.parametrize("cell, written", [
    ("=1+2", "'=1+2"), ("@SUM(A1)", "'@SUM(A1)"), ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3+cmd|x", "'-2+3+cmd|x"), ("\tвкладка", "'\tвкладка"), ("\rстрока", "'\rстрока"),
    ("-170.5", "-170.5"), ("+7 (495) 123-45-67", "+7 (495) 123-45-67"), ("обычный текст", "обычный текст"),
    ("'=уже", "''=уже"), ("'просто", "'просто"), ("'-1", "''-1"),
])
def test_neutralize_and_back(cell, written):
    assert neutralize(cell) == written
    if written != cell:
        assert unneutralize(written) == (cell, True)


def test_confidential_places_are_exact_only_for_roles_that_may_see_them(seeded):
    session, _ = seeded
    staff = {r["Организация"]: r for r in _csv_rows(export_region(session, [REGION], "csv", CURATOR)[0])}
    public = {r["Организация"]: r for r in _csv_rows(export_region(session, [REGION], "csv", PUBLIC)[0])}
    shelter_staff, shelter_public = staff["Кризисная квартира «Дом мамы»"], public["Кризисная квартира «Дом мамы»"]
    assert (float(shelter_staff["Широта"]), float(shelter_staff["Долгота"])) == pytest.approx(SHELTER, abs=1e-7)
    assert shelter_staff["Адрес"] == "ул. Тайная, 13, кв. 7"
    assert shelter_public["Адрес"] == "" and shelter_public["Название места"] == ""
    assert shelter_public["Телефоны"] == "8 (496) 570-00-03 (для записи)"  # the intake phone only
    _, _, metres = GEOD.inv(SHELTER[1], SHELTER[0], float(shelter_public["Долгота"]),
                            float(shelter_public["Широта"]))
    assert metres > 100  # moved to its grid cell's centre, independently measured on the ellipsoid
    assert "Черновик: родительский клуб" in staff and "Черновик: родительский клуб" not in public
    dispatcher = {r["Организация"]: r for r in _csv_rows(export_region(session, [REGION], "csv", DISPATCHER)[0])}
    assert dispatcher["Кризисная квартира «Дом мамы»"]["Адрес"] == "ул. Тайная, 13, кв. 7"

    features = json.loads(export_region(session, [REGION], "geojson", PUBLIC)[0])["features"]
    shelter = next(f for f in features if f["properties"]["kind"] == "crisis_apartment")
    assert shelter["properties"]["address"] == "" and shelter["properties"]["confidential"] is True
    assert shelter["geometry"]["coordinates"] != [SHELTER[1], SHELTER[0]]
    hsds = json.loads(export_region(session, [REGION], "hsds-json", PUBLIC)[0])
    text_of_export = json.dumps(hsds, ensure_ascii=False)
    assert "Тайная" not in text_of_export and "+74965700002" not in text_of_export
    staff_hsds = json.dumps(json.loads(export_region(session, [REGION], "hsds-json", ADMIN)[0]), ensure_ascii=False)
    assert "Тайная" in staff_hsds and "+74965700002" in staff_hsds


def test_region_rights(seeded):
    session, _ = seeded
    with pytest.raises(Forbidden):
        export_region(session, [REGION], "csv", OTHER_CURATOR)
    with pytest.raises(Forbidden):
        export_region(session, [REGION, "RU-MOW"], "csv", CURATOR)
    with pytest.raises(Forbidden):
        export_region(session, None, "csv", CURATOR)
    with pytest.raises(Forbidden):
        export_region(session, None, "csv", DISPATCHER)
    assert export_region(session, None, "geojson", ADMIN)[2].startswith("registry-all-")
    assert export_region(session, ["RU-MOW"], "csv", OTHER_CURATOR)[0]  # their own region: allowed (empty)
    with pytest.raises(ExportError):
        export_region(session, ["XX-NOPE"], "csv", ADMIN)
    with pytest.raises(ExportError):
        export_region(session, [REGION], "xls", ADMIN)


def _counts(session) -> dict:
    return {t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar()
            for t in ("organization", "location", "service", "service_at_location", "phone", "schedule",
                      "service_area", "change")}


def test_export_imports_back_unchanged_csv_geojson_and_xlsx(seeded):
    session, _ = seeded
    before = _counts(session)
    data = export_region(session, [REGION], "csv", CURATOR)[0]
    plan = apply_import(session, read_table("export.csv", data), REGION, CURATOR)
    session.commit()
    assert plan.ok and {r.action for r in plan.rows} == {"unchanged"}, plan.problems
    assert plan.change_set is None and _counts(session) == before

    geojson = export_region(session, [REGION], "geojson", CURATOR)[0]
    plan = plan_import(session, read_table("export.geojson", geojson), REGION, CURATOR)
    assert plan.ok and {r.action for r in plan.rows} == {"unchanged"}, plan.problems

    # A curator opens the CSV in Excel and saves it as XLSX.
    book = openpyxl.Workbook()
    sheet = book.active
    for r in csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"):
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    plan = plan_import(session, read_table("export.xlsx", out.getvalue()), REGION, CURATOR)
    assert plan.ok and {r.action for r in plan.rows} == {"unchanged"}, plan.problems
    assert len(plan.rows) == len(_csv_rows(data))


def test_export_into_an_emptied_registry_gives_the_same_export(seeded):
    session, _ = seeded
    first = export_region(session, [REGION], "csv", CURATOR)[0]
    session.execute(text("TRUNCATE phone, service_area, service_at_location, service, location,"
                         " organization RESTART IDENTITY CASCADE"))
    session.commit()
    plan = apply_import(session, read_table("export.csv", first), REGION, CURATOR)
    session.commit()
    assert plan.counts["create"] == len(_csv_rows(first))
    second = export_region(session, [REGION], "csv", CURATOR)[0]
    assert sorted(map(sorted, (r.items() for r in _csv_rows(second)))) == \
        sorted(map(sorted, (r.items() for r in _csv_rows(first))))


def test_hsds_datapackage_is_a_zip_of_every_table(seeded):
    session, _ = seeded
    data, mimetype, filename = export_region(session, [REGION], "hsds-csv", CURATOR)
    assert mimetype == "application/zip" and filename.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        package = json.loads(archive.read("datapackage.json"))
        assert {r["path"] for r in package["resources"]} | {"datapackage.json"} == names
        services = list(csv.DictReader(io.StringIO(archive.read("services.csv").decode("utf-8"))))
    assert len(services) == 5
