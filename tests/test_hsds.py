"""The HSDS exports validate against the Open Referral HSDS 3.0 JSON schemas vendored in tests/hsds/ (with their
CC BY-SA 4.0 licence): every organization, service, taxonomy and term of the JSON export, and every row of every
table of the CSV datapackage (its path, columns, required fields, types and foreign keys)."""
from __future__ import annotations

import copy
import csv
import io
import json
import zipfile
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import text

from resourcemap.auth.policy import PUBLIC, Viewer
from resourcemap.exchange import export_region
from resourcemap.exchange.hsds import TABLES
from resourcemap.registry.write import create_organization

SCHEMAS = Path(__file__).parent / "hsds"
REGION = "RU-MOS"
CURATOR = Viewer(role="curator", email="curator@example.org", regions=frozenset({REGION}))
ADMIN = Viewer(role="admin", email="admin@example.org")


def _schemas() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text("utf-8")) for p in sorted(SCHEMAS.glob("*.json"))}


@pytest.fixture(scope="module")
def validators() -> dict[str, jsonschema.Validator]:
    schemas = _schemas()
    registry = Registry().with_resources(
        (f"{name}.json", Resource.from_contents(schema, default_specification=DRAFT202012))
        for name, schema in schemas.items())
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    return {name: jsonschema.Draft202012Validator(schema, registry=registry, format_checker=checker)
            for name, schema in schemas.items()}


def _refs(node) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def test_the_vendored_schemas_are_hsds_3_0_with_their_licence():
    schemas = _schemas()
    assert {"organization", "service", "location", "service_at_location", "address", "phone", "schedule",
            "service_area", "taxonomy", "taxonomy_term", "attribute"} <= set(schemas)
    assert "service_capacity" not in schemas and "additional_websites" not in schemas["organization"]["properties"]
    for name, schema in schemas.items():
        assert schema["name"] == name and schema["type"] == "object"
        assert _refs(schema) <= {f"{n}.json" for n in schemas}, name  # every $ref resolves to a vendored file
    licence = (SCHEMAS / "LICENSE").read_text("utf-8")
    assert "Creative Commons Attribution-ShareAlike 4.0" in licence and "Open Referral" in licence
    assert "67e7b37a4b1e03324d6bd107c56cafd153b9d2d0" in (SCHEMAS / "README.md").read_text("utf-8")


@pytest.fixture
def seeded(registry):
    """Organizations with every part the export writes: two locations, addresses, accessibility, phones with an
    extension and a fax, hours, an outreach radius, a drawn outreach area, an online service, a confidential
    place, a draft."""
    create_organization(registry, {
        "name": "Центр «Семья»", "status": "published", "website": "semya.example.org",
        "email": "semya@example.org", "legal_form": "ГБУ СО", "verified_at": "2026-09-01",
        "locations": [
            {"name": "Главное отделение", "address": "ул. Мира, 5", "lat": 55.7901, "lon": 38.4402,
             "settlement": "Электросталь", "accessibility": "Пандус, широкие двери"},
            {"name": "Филиал", "address": "пр-т Ленина, 1", "lat": 55.43, "lon": 37.55, "settlement": "Подольск"}],
        "services": [
            {"type": "early_help", "name": "Ранняя помощь", "age_min_months": 0, "age_max_months": 36,
             "eligibility": "Семьи с детьми до 3 лет", "conditions": ["hearing", "autism"], "cost": "free",
             "cost_basis": ["state_programme", "referral"],
             "schedule": [{"weekday": d, "opens": "09:00", "closes": "18:00"} for d in range(1, 6)]
             + [{"weekday": 6, "opens": "10:00", "closes": "14:00"}]},
            {"type": "mobile_team", "delivery": "outreach", "outreach_radius_km": 30, "location": 0,
             "cost": "partly_paid", "conditions": ["complex_needs"]},
            {"type": "palliative_care", "delivery": "outreach", "location": 1, "area_geojson": json.dumps(
                {"type": "Polygon", "coordinates": [[[37.4, 55.3], [37.7, 55.3], [37.7, 55.5], [37.4, 55.5],
                                                     [37.4, 55.3]]]})},
            {"type": "hotline", "delivery": "online", "location": 0, "regions": ["RU-MOS", "RU-MOW"]}],
        "phones": [{"number": "+7 496 570-00-01", "location": 0}, {"number": "+7 496 570-00-09", "kind": "fax"},
                   {"number": "+7 496 570-00-07", "location": 1, "note": "вечером"}],
    })
    registry.execute(text("UPDATE phone SET extension = '12' WHERE number = '+74965700001'"))
    create_organization(registry, {
        "name": "Кризисная квартира", "status": "published",
        "locations": [{"address": "ул. Тайная, 1", "lat": 55.77, "lon": 38.46, "confidential": True}],
        "services": [{"type": "crisis_apartment", "outreach_radius_km": None}],
        "phones": [{"number": "+7 496 570-00-03", "kind": "intake", "location": 0}],
    })
    create_organization(registry, {
        "name": "Черновик", "status": "draft", "locations": [{"lat": 55.08, "lon": 38.78}],
        "services": [{"type": "parent_club"}],
    })
    registry.commit()
    yield registry
    registry.rollback()
    registry.execute(text("TRUNCATE change RESTART IDENTITY"))
    registry.commit()


@pytest.mark.parametrize("viewer", [ADMIN, CURATOR, PUBLIC], ids=["admin", "curator", "public"])
def test_every_hsds_json_object_validates(seeded, validators, viewer):
    data, mimetype, _ = export_region(seeded, [REGION], "hsds-json", viewer)
    assert mimetype == "application/json"
    doc = json.loads(data)
    assert doc["hsds_version"] == "3.0"
    checked = 0
    for key, schema in (("organizations", "organization"), ("services", "service"), ("taxonomies", "taxonomy"),
                        ("taxonomy_terms", "taxonomy_term")):
        assert doc[key], key
        for obj in doc[key]:
            errors = list(validators[schema].iter_errors(obj))
            assert not errors, (schema, obj.get("id"), [e.message for e in errors[:3]])
            checked += 1
    services = 6 if viewer.is_staff else 5
    assert len(doc["services"]) == services and checked > services
    # The parts are there, nested as HSDS nests them.
    org = next(o for o in doc["organizations"] if o["name"] == "Центр «Семья»")
    assert org["website"] == "https://semya.example.org" and len(org["locations"]) == 2
    main = next(loc for loc in org["locations"] if loc.get("name") == "Главное отделение")
    assert main["addresss"][0]["city"] == "Электросталь" and main["accessibilitys"][0]["description"]
    assert {p["number"] for p in org["phones"]} == {"+74965700009"}
    assert any(p.get("extension") == 12 for p in main["phones"])
    early = next(s for s in doc["services"] if s["name"] == "Ранняя помощь")
    assert {(s["byday"], s["opens_at"], s["closes_at"]) for s in early["schedules"]} == {
        ("MO,TU,WE,TH,FR", "09:00", "18:00"), ("SA", "10:00", "14:00")}
    assert early["maximum_age"] == 3 and early["minimum_age"] == 0
    # The child's conditions and the cost (issue 22): attributes of the service, its cost_option and fees.
    terms = {t["id"]: t for t in doc["taxonomy_terms"]}
    linked = {(a["link_type"], terms[a["taxonomy_term_id"]]["code"]) for a in early["attributes"]}
    assert {("eligibility", "hearing"), ("eligibility", "autism"), ("cost", "free"), ("cost_basis", "referral"),
            ("cost_basis", "state_programme")} <= linked
    assert early["cost_options"] == [{"id": early["cost_options"][0]["id"], "service_id": early["id"],
                                      "option": "Бесплатно", "currency": "RUB", "amount": 0,
                                      "amount_description": "По государственной программе; По направлению"}]
    assert early["fees_description"] == "Бесплатно; По государственной программе; По направлению"
    mobile = next(s for s in doc["services"] if s["name"] == "Выездная бригада")
    assert json.loads(mobile["service_areas"][0]["extent"])["type"] == "Polygon"


def test_validation_bites(seeded, validators):
    doc = json.loads(export_region(seeded, [REGION], "hsds-json", ADMIN)[0])
    broken = copy.deepcopy(doc["services"][0])
    del broken["status"]
    assert list(validators["service"].iter_errors(broken))
    broken = copy.deepcopy(doc["organizations"][0])
    broken["locations"][0]["location_type"] = "somewhere"
    assert list(validators["organization"].iter_errors(broken))


# The 3.0 schemas name the address table's file "addresss.csv", a slip of their generated plurals
# (openreferral/specification#559); the 3.2 schema calls it "addresses.csv", as the package does.
SCHEMA_PATH_SLIPS = {"addresss.csv": "addresses.csv"}


def package_path(schema: dict) -> str:
    """The CSV file name of an HSDS table in the package: the schema's `path`, its known slip corrected."""
    return SCHEMA_PATH_SLIPS.get(schema["path"], schema["path"])


def test_every_file_of_the_hsds_datapackage_is_named_as_its_hsds_table(seeded):
    schemas = _schemas()
    data = export_region(seeded, [REGION], "hsds-csv", ADMIN)[0]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        package = json.loads(archive.read("datapackage.json"))
    paths = {r["name"]: r["path"] for r in package["resources"]}
    assert paths == {name: package_path(schemas[name]) for name in TABLES}
    assert names == {"datapackage.json", *paths.values()}
    assert "addresses.csv" in names and not any("sss" in n for n in names)


def _typed(row: dict, schema: dict) -> dict:
    """A CSV row as the JSON object it stands for: empty cells left out (empty text where the field is
    required), numbers as numbers."""
    out = {}
    for key, value in row.items():
        if value == "":
            if key in schema.get("required", []):
                out[key] = ""
            continue
        if schema["properties"][key].get("type") == "number":
            value = float(value)
        out[key] = value
    return out


@pytest.mark.parametrize("viewer", [ADMIN, PUBLIC], ids=["admin", "public"])
def test_every_row_of_the_hsds_datapackage_validates(seeded, validators, viewer):
    schemas = _schemas()
    data, mimetype, filename = export_region(seeded, [REGION], "hsds-csv", viewer)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        package = json.loads(archive.read("datapackage.json"))
        tables = {}
        for resource in package["resources"]:
            name = resource["name"]
            schema = schemas[name]
            assert resource["path"] == package_path(schema) == TABLES[name][0]
            reader = csv.DictReader(io.StringIO(archive.read(resource["path"]).decode("utf-8")))
            columns = reader.fieldnames
            assert [f["name"] for f in resource["schema"]["fields"]] == columns
            for column in columns:
                assert column in schema["properties"] and schema["properties"][column].get("type") != "array"
            required = set(schema.get("required", [])) | set(schema.get("tabular_required", []))
            assert required <= set(columns), name
            rows = list(reader)
            for row in rows:  # ids and the links between tables are never empty (required text may be)
                for column in {"id"} | set(schema.get("tabular_required", [])):
                    assert row[column] != "", (name, column, row)
                obj = _typed(row, schema)
                errors = list(validators[name].iter_errors(obj))
                assert not errors, (name, row, [e.message for e in errors[:3]])
            ids = [r["id"] for r in rows]
            assert len(ids) == len(set(ids)), name
            tables[name] = rows
    for resource in package["resources"]:
        for fk in resource["schema"]["foreignKeys"]:
            target = {r["id"] for r in tables[fk["reference"]["resource"]]}
            for row in tables[resource["name"]]:
                if row[fk["fields"]]:
                    assert row[fk["fields"]] in target, (resource["name"], fk)
    assert len(tables["service"]) == (6 if viewer.is_staff else 5)
    assert len(tables["schedule"]) >= 2 and tables["address"] and tables["service_area"]
    if not viewer.is_staff:
        assert all("Тайная" not in r["address_1"] for r in tables["address"])
