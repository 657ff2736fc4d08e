"""Editing an organization as a document (registry/edit.py): the field-level history the database triggers write,
revert, deactivation instead of deletion, verification, the stale list, validation, the region rule, and what
nearest-help finds afterwards."""
from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from pyproj import Geod
from sqlalchemy import text

from resourcemap.auth.policy import Viewer
from resourcemap.registry import edit
from resourcemap.registry.history import as_actor, history
from resourcemap.search.nearest import NearestQuery, nearest_services
from tests.factories import ELEKTROSTAL, NOGINSK, SMOLENSK, add_service, new_document

ASTANA = (51.13, 71.43)  # Kazakhstan

CURATOR_MOS = Viewer(role="curator", account_id=11, email="curator.mos@example.org", regions=frozenset({"RU-MOS"}))
CURATOR_SMO = Viewer(role="curator", account_id=12, email="curator.smo@example.org", regions=frozenset({"RU-SMO"}))
ADMIN = Viewer(role="admin", account_id=1, email="admin@example.org")
DISPATCHER = Viewer(role="dispatcher", account_id=5, email="dispatcher@example.org")
GEOD = Geod(ellps="WGS84")


def create(session, actor=CURATOR_MOS, **over) -> int:
    org_id = edit.create_document(session, new_document(**over), actor, change_note="заведено")
    session.commit()
    return org_id


def changes_of_set(session, change_set: int) -> list[dict]:
    return [dict(r) for r in session.execute(text(
        "SELECT entity, entity_id, field, old, new, op, account_id, actor_email, note FROM change"
        " WHERE change_set = :cs ORDER BY id"), {"cs": change_set}).mappings()]


def last_change_set(session, org_id: int) -> int:
    return session.execute(text("SELECT max(change_set) FROM change WHERE organization_id = :o"), {"o": org_id}).scalar()


def found_services(session, point, kind="early_help") -> set[int]:
    answer = nearest_services(session, NearestQuery(lat=point[0], lon=point[1], service_types=(kind,), limit=50))
    return {r["service_id"] for r in answer.results}


def test_creation_is_recorded_one_row_per_record_with_its_actor(registry):
    org_id = create(registry)
    doc = edit.organization_document(registry, org_id)
    assert doc["version"] == 1 and doc["region_code"] == "RU-MOS" and doc["status"] == "published"
    assert doc["phones"][0]["number"] == "+74965700000"  # normalized to E.164
    assert doc["locations"][0]["settlement_name"] == "Электросталь" and doc["locations"][0]["timezone"] == "Europe/Moscow"
    rows = changes_of_set(registry, last_change_set(registry, org_id))
    kinds = sorted((r["entity"], r["op"]) for r in rows)
    assert kinds == sorted([("organization", "insert"), ("location", "insert"), ("service", "insert"),
                            ("service", "insert"), ("service_at_location", "insert"),
                            ("service_at_location", "insert"), ("service_area", "insert"), ("phone", "insert")])
    assert all(r["field"] is None and r["old"] is None and r["new"]["id"] == r["entity_id"] for r in rows)
    assert {(r["account_id"], r["actor_email"], r["note"]) for r in rows} == {(11, "curator.mos@example.org", "заведено")}
    org_row = next(r for r in rows if r["entity"] == "organization")
    assert org_row["new"]["name"] == "Центр ранней помощи «Радуга»" and "version" not in org_row["new"]
    loc_row = next(r for r in rows if r["entity"] == "location")
    assert loc_row["new"]["point"] == dict(zip(("lat", "lon"), ELEKTROSTAL))  # one field (0016)
    # Weekly hours are a field of the service: Monday to Wednesday 09:00-18:00 in minutes of the week.
    assert sorted(str(r["new"]["hours"]) for r in rows if r["entity"] == "service") == [
        "None", "{[540,1080),[1980,2520),[3420,3960)}"]


def test_save_writes_only_what_changed_and_history_has_old_and_new_per_field(registry):
    org_id = create(registry)
    doc = edit.organization_document(registry, org_id)
    mine = copy.deepcopy(doc)
    mine["name"] = "Центр «Радуга»"
    mine["locations"][0]["address"] = "ул. Мира, 3"
    mine["services"][0]["age_max_months"] = 48
    mine["services"][0]["schedule"][2]["closes"] = "17:00"  # one slot replaced
    mine["phones"][0]["number"] = "+7 496 570-00-01"
    version = edit.save_document(registry, org_id, mine, doc["version"], CURATOR_MOS, change_note="по звонку")
    registry.commit()
    assert version == doc["version"] + 1

    rows = changes_of_set(registry, last_change_set(registry, org_id))
    updates = {(r["entity"], r["field"]): (r["old"], r["new"]) for r in rows if r["op"] == "update"}
    assert updates == {
        ("organization", "name"): ("Центр ранней помощи «Радуга»", "Центр «Радуга»"),
        ("location", "address"): ("ул. Мира, 1", "ул. Мира, 3"),
        ("service", "age_max_months"): (36, 48),
        ("phone", "number"): ("+74965700000", "+74965700001"),
        # Wednesday now closes at 17:00: one change of the service's hours, old and new whole.
        ("service", "hours"): ("{[540,1080),[1980,2520),[3420,3960)}", "{[540,1080),[1980,2520),[3420,3900)}"),
    }
    assert len(rows) == 5
    assert {r["note"] for r in rows} == {"по звонку"} and {r["account_id"] for r in rows} == {11}

    # Saving the same document again changes nothing but the version, and records nothing.
    count = registry.execute(text("SELECT count(*) FROM change")).scalar()
    again = edit.organization_document(registry, org_id)
    assert edit.save_document(registry, org_id, again, again["version"], CURATOR_MOS) == version + 1
    registry.commit()
    assert registry.execute(text("SELECT count(*) FROM change")).scalar() == count
    assert {k: v for k, v in edit.organization_document(registry, org_id).items() if k not in ("version", "updated_at")} \
        == {k: v for k, v in again.items() if k not in ("version", "updated_at")}


def test_drawn_areas_online_regions_and_hours_round_trip_without_spurious_changes(registry):
    area = {"type": "Polygon", "coordinates": [[[38.3, 55.7], [38.6, 55.7], [38.6, 55.9], [38.3, 55.9], [38.3, 55.7]]]}
    doc = new_document()
    doc["services"].append({"type": "mobile_team", "delivery": "outreach", "area_geojson": area, "location": 0})
    doc["services"].append({"type": "hotline", "delivery": "online", "regions": ["RU-MOS", "RU-SMO"], "location": 0,
                            "schedule": [{"weekday": 7, "opens": "00:00", "closes": "24:00"}]})
    org_id = create(registry, **{k: v for k, v in doc.items() if k != "name"})
    stored = edit.organization_document(registry, org_id)
    assert stored["services"][2]["area_geojson"]["type"] == "Polygon"
    assert stored["services"][3]["regions"] == ["RU-MOS", "RU-SMO"]
    assert stored["services"][3]["schedule"][0]["closes"] == "24:00"
    count = registry.execute(text("SELECT count(*) FROM change")).scalar()
    edit.save_document(registry, org_id, stored, stored["version"], CURATOR_MOS)
    registry.commit()
    assert registry.execute(text("SELECT count(*) FROM change")).scalar() == count
    # A drawn area covers the family; after an edit of its regions the online service serves only Moscow oblast.
    stored = edit.organization_document(registry, org_id)
    stored["services"][3]["regions"] = ["RU-MOS"]
    edit.save_document(registry, org_id, stored, stored["version"], CURATOR_MOS)
    registry.commit()
    rows = changes_of_set(registry, last_change_set(registry, org_id))
    assert [(r["entity"], r["op"], r["old"]["region_code"]) for r in rows] == [("service_area", "delete", "RU-SMO")]
    answer = nearest_services(registry, NearestQuery(lat=55.85, lon=38.5, service_types=("mobile_team",)))
    assert stored["services"][2]["id"] in {r["service_id"] for r in answer.results if r["reaches_you"]}


def test_a_stale_version_meets_a_conflict_and_writes_nothing(registry):
    org_id = create(registry)
    first = edit.organization_document(registry, org_id)
    second = copy.deepcopy(first)
    first["name"] = "Первая правка"
    edit.save_document(registry, org_id, first, first["version"], CURATOR_MOS)
    registry.commit()
    count = registry.execute(text("SELECT count(*) FROM change")).scalar()
    second["description"] = "Вторая правка"
    with pytest.raises(edit.Conflict) as conflict:
        edit.save_document(registry, org_id, second, second["version"], ADMIN)
    registry.commit()
    assert conflict.value.current["name"] == "Первая правка" and conflict.value.current["version"] == 2
    assert conflict.value.yours["description"] == "Вторая правка"
    now = edit.organization_document(registry, org_id)
    assert now["version"] == 2 and now["description"] == ""
    assert registry.execute(text("SELECT count(*) FROM change")).scalar() == count


def test_revert_sets_the_field_back_and_is_itself_recorded(registry):
    org_id = create(registry)
    doc = edit.organization_document(registry, org_id)
    doc["name"] = "Неверное название"
    doc["locations"][0]["lat"], doc["locations"][0]["lon"] = NOGINSK
    version = edit.save_document(registry, org_id, doc, doc["version"], CURATOR_MOS)
    registry.commit()
    name_change = next(h for h in history(registry, org_id) if h["field"] == "name")
    move = next(h for h in history(registry, org_id) if h["field"] == "point")

    with pytest.raises(edit.Conflict):
        edit.revert_change(registry, name_change["id"], version - 1, CURATOR_MOS)
    version = edit.revert_change(registry, name_change["id"], version, CURATOR_MOS)
    registry.commit()
    after = edit.organization_document(registry, org_id)
    assert after["name"] == "Центр ранней помощи «Радуга»" and after["version"] == version
    assert (after["locations"][0]["lat"], after["locations"][0]["lon"]) == NOGINSK  # the other change stays
    newest = history(registry, org_id)[0]
    assert (newest["entity"], newest["field"], newest["old"], newest["new"]) == (
        "organization", "name", "Неверное название", "Центр ранней помощи «Радуга»")
    assert newest["note"] == f"Отмена изменения №{name_change['id']}" and newest["op"] == "update"

    edit.revert_change(registry, move["id"], version, ADMIN)
    registry.commit()
    location = edit.organization_document(registry, org_id)["locations"][0]
    assert (location["lat"], location["lon"]) == ELEKTROSTAL


def test_a_change_of_hours_is_one_field_reverted_as_a_whole(registry):
    org_id = create(registry)
    doc = edit.organization_document(registry, org_id)
    before = doc["services"][0]["schedule"]
    doc["services"][0]["schedule"] = [{"weekday": 6, "opens": "10:00", "closes": "14:00"},
                                      {"weekday": 1, "opens": "13:00", "closes": "18:00"},
                                      {"weekday": 1, "opens": "08:00", "closes": "12:00"}]
    version = edit.save_document(registry, org_id, doc, doc["version"], CURATOR_MOS)
    registry.commit()
    assert edit.organization_document(registry, org_id)["services"][0]["schedule"] == [
        {"weekday": 1, "opens": "08:00", "closes": "12:00"}, {"weekday": 1, "opens": "13:00", "closes": "18:00"},
        {"weekday": 6, "opens": "10:00", "closes": "14:00"}]
    hours_change = next(h for h in history(registry, org_id) if h["field"] == "hours")
    assert (hours_change["old"], hours_change["new"]) == ("{[540,1080),[1980,2520),[3420,3960)}",
                                                          "{[480,720),[780,1080),[7800,8040)}")
    edit.revert_change(registry, hours_change["id"], version, CURATOR_MOS)
    registry.commit()
    assert edit.organization_document(registry, org_id)["services"][0]["schedule"] == before


def test_a_slot_recorded_before_migration_0011_is_reverted_by_its_day_and_times(registry):
    org_id = create(registry)
    doc = edit.organization_document(registry, org_id)
    service_id = doc["services"][0]["id"]
    # The history as 0008-0010 wrote it when a curator added Wednesday's slot (a schedule row of its own).
    change_id = registry.execute(text(
        "INSERT INTO change (change_set, organization_id, entity, entity_id, op, new, actor_email)"
        " VALUES (nextval('change_set_seq'), :o, 'schedule', 999999, 'insert', CAST(:new AS jsonb), 'old@example.org')"
        " RETURNING id"), {"o": org_id, "new": json.dumps(
            {"id": 999999, "service_id": service_id, "weekday": 3, "opens_minute": 540, "closes_minute": 1080})}
    ).scalar()
    registry.commit()
    edit.revert_change(registry, change_id, doc["version"], CURATOR_MOS)
    registry.commit()
    assert [s["weekday"] for s in edit.organization_document(registry, org_id)["services"][0]["schedule"]] == [1, 2]


def test_nothing_is_deleted_locations_and_services_are_deactivated(registry):
    org_id = create(registry)
    doc = edit.organization_document(registry, org_id)
    doc["locations"].append({"id": None, "name": "Филиал", "lat": NOGINSK[0], "lon": NOGINSK[1]})
    version = edit.save_document(registry, org_id, doc, doc["version"], CURATOR_MOS)
    registry.commit()
    doc = edit.organization_document(registry, org_id)
    branch_id = doc["locations"][1]["id"]
    mobile_id = doc["services"][1]["id"]
    phone_id = doc["phones"][0]["id"]
    doc["locations"].pop(1)
    doc["services"].pop(1)
    doc["phones"] = []
    version = edit.save_document(registry, org_id, doc, version, CURATOR_MOS)
    registry.commit()
    after = edit.organization_document(registry, org_id)
    assert [(loc["id"], loc["active"]) for loc in after["locations"]][1] == (branch_id, False)
    assert [(s["id"], s["active"]) for s in after["services"]][1] == (mobile_id, False)
    assert after["phones"] == []
    rows = changes_of_set(registry, last_change_set(registry, org_id))
    assert {(r["entity"], r["field"], r["op"]) for r in rows} == {
        ("location", "active", "update"), ("service", "active", "update"), ("phone", None, "delete")}
    deleted_phone = next(r for r in rows if r["entity"] == "phone")
    assert deleted_phone["old"]["number"] == "+74965700000" and deleted_phone["entity_id"] == phone_id

    # The phone's deletion can be undone from the history; the service's deactivation too.
    change_id = registry.execute(text("SELECT id FROM change WHERE entity = 'phone' AND op = 'delete'")).scalar()
    version = edit.revert_change(registry, change_id, version, CURATOR_MOS)
    service_change = registry.execute(text(
        "SELECT id FROM change WHERE entity = 'service' AND field = 'active' ORDER BY id DESC LIMIT 1")).scalar()
    edit.revert_change(registry, service_change, version, CURATOR_MOS)
    registry.commit()
    after = edit.organization_document(registry, org_id)
    assert [p["number"] for p in after["phones"]] == ["+74965700000"]
    assert after["services"][1]["active"] is True
    assert registry.execute(text("SELECT count(*) FROM location WHERE organization_id = :o"), {"o": org_id}).scalar() == 2


def test_a_radius_area_follows_its_moved_location(registry):
    org_id = create(registry)
    doc = edit.organization_document(registry, org_id)
    doc["locations"][0]["lat"], doc["locations"][0]["lon"] = SMOLENSK  # a curator who curates both may move it
    both = Viewer(role="curator", account_id=13, email="both@example.org", regions=frozenset({"RU-MOS", "RU-SMO"}))
    edit.save_document(registry, org_id, doc, doc["version"], both)
    registry.commit()
    covers = registry.execute(text(
        "SELECT ST_Covers(a.area, ST_MakePoint(:lon, :lat)::geography) FROM service_area a"
        " JOIN service s ON s.id = a.service_id WHERE s.organization_id = :o AND a.radius_km = 30"),
        {"o": org_id, "lat": SMOLENSK[0] + 0.2, "lon": SMOLENSK[1]}).scalar()
    assert GEOD.inv(SMOLENSK[1], SMOLENSK[0], SMOLENSK[1], SMOLENSK[0] + 0.2)[2] < 30000 and covers is True
    assert edit.organization_document(registry, org_id)["region_code"] == "RU-SMO"  # follows its first location
    derived = registry.execute(text("SELECT id FROM change WHERE entity = 'organization' AND field = 'region_code'"
                                    " AND organization_id = :o"), {"o": org_id}).scalar()
    with pytest.raises(edit.InvalidDocument) as invalid:  # derived from the location: revert the move instead
        edit.revert_change(registry, derived, doc["version"] + 1, both)
    assert [p.code for p in invalid.value.problems] == ["not_revertable"]


def test_verify_and_the_stale_list(registry):
    fresh = create(registry)
    old = create(registry, name="Давно не проверяли")
    never = create(registry, name="Никогда не проверяли")
    elsewhere = create(registry, actor=CURATOR_SMO, point=SMOLENSK, name="Смоленская организация")
    registry.execute(text("UPDATE organization SET verified_at = current_date - 10 WHERE id = :i"), {"i": fresh})
    registry.execute(text("UPDATE organization SET verified_at = current_date - 200 WHERE id = :i"), {"i": old})
    registry.commit()
    stale = edit.stale_organizations(registry, ["RU-MOS"])
    assert [s["id"] for s in stale] == [never, old]
    assert stale[1]["days_since_check"] == 200 and stale[0]["verified_at"] is None
    assert {s["id"] for s in edit.stale_organizations(registry, None)} == {never, old, elsewhere}
    assert [s["id"] for s in edit.stale_organizations(registry, ["RU-MOS"], days=5)] == [never, old, fresh]

    version = edit.organization_document(registry, old)["version"]
    edit.mark_verified(registry, old, CURATOR_MOS)
    registry.commit()
    doc = edit.organization_document(registry, old)
    assert doc["verified_at"] == dt.date.today().isoformat() and doc["version"] == version
    assert [s["id"] for s in edit.stale_organizations(registry, ["RU-MOS"])] == [never]
    newest = history(registry, old)[0]
    assert (newest["field"], newest["new"], newest["actor_email"]) == (
        "verified_at", dt.date.today().isoformat(), "curator.mos@example.org")
    with pytest.raises(edit.Forbidden):
        edit.mark_verified(registry, elsewhere, CURATOR_MOS)


def test_validation_names_every_problem_in_russian_with_its_field(registry):
    doc = new_document(
        name=" ", email="не почта", website="не сайт",
        locations=[{"lat": 95, "lon": 38.4}, {"lat": "север", "lon": 38.4}],
        services=[
            {"type": "teleportation", "location": 0},
            {"type": "early_help", "age_min_months": 40, "age_max_months": 12, "location": 1,
             "schedule": [{"weekday": 8, "opens": "09:00", "closes": "18:00"},
                          {"weekday": 1, "opens": "18:00", "closes": "09:00"},
                          {"weekday": 2, "opens": "09:00", "closes": "13:00"},
                          {"weekday": 2, "opens": "12:00", "closes": "15:00"}]},
            {"type": "mobile_team", "delivery": "outreach", "location": 5},
            {"type": "crisis_apartment", "delivery": "by_air", "capacity_total": 2, "capacity_free": 3},
        ],
        phones=[{"number": "12345"}, {"number": "+7 496 570-00-00", "kind": "pager"}])
    problems = edit.validate_document(registry, doc, CURATOR_MOS)
    got = {(p.field, p.code) for p in problems}
    assert got == {
        ("name", "required"), ("email", "bad_email"), ("website", "bad_website"),
        ("locations[0].lat", "out_of_range"), ("locations[1].lat", "not_a_number"),
        ("services[0].type", "unknown_type"),
        ("services[1].age_max_months", "ages_reversed"),
        ("services[1].schedule[0].weekday", "out_of_range"),
        ("services[1].schedule[1].closes", "hours_reversed"),
        ("services[1].schedule[3].opens", "hours_overlap"),
        ("services[2].location", "bad_reference"), ("services[2].outreach_radius_km", "required"),
        ("services[3].delivery", "unknown_delivery"), ("services[3].capacity_free", "capacity_exceeded"),
        ("phones[0].number", "bad_phone"), ("phones[1].kind", "unknown_kind"),
    }
    assert all(any("а" <= ch <= "я" for ch in p.message.lower()) for p in problems)  # every message in Russian
    with pytest.raises(edit.InvalidDocument) as invalid:
        edit.create_document(registry, doc, CURATOR_MOS)
    assert len(invalid.value.problems) == len(problems)
    registry.commit()
    assert registry.execute(text("SELECT count(*) FROM organization")).scalar() == 0
    # Hostile shapes are problems too, never exceptions.
    for junk in (None, [], "x", {"name": 5, "locations": "x"}, {"name": "a\x00b", "locations": [None]}):
        assert edit.validate_document(registry, junk, CURATOR_MOS)


def test_publishing_needs_an_active_place_and_service(registry):
    org_id = create(registry, status="draft", services=[])
    version = edit.organization_document(registry, org_id)["version"]
    with pytest.raises(edit.InvalidDocument) as invalid:
        edit.set_status(registry, org_id, "published", version, CURATOR_MOS)
    assert [(p.field, p.code) for p in invalid.value.problems] == [("status", "nothing_to_publish")]
    with pytest.raises(edit.InvalidDocument):
        edit.set_status(registry, org_id, "deleted", version, CURATOR_MOS)
    assert edit.set_status(registry, org_id, "inactive", version, CURATOR_MOS) == version + 1


def test_phones_are_normalized_for_the_country_of_the_organization(registry):
    kz = Viewer(role="curator", account_id=14, email="kz@example.org",
                regions=frozenset({registry.execute(text(
                    "SELECT rm_region_at(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"),
                    {"lat": ASTANA[0], "lon": ASTANA[1]}).scalar()}))
    org_id = create(registry, actor=kz, point=ASTANA, phones=[{"number": "8 (7172) 55-66-77"}])
    doc = edit.organization_document(registry, org_id)
    assert doc["region_code"].startswith("KZ-") and doc["phones"][0]["number"] == "+77172556677"


def test_the_region_rule_and_its_recorded_exception(registry):
    with pytest.raises(edit.InvalidDocument) as invalid:
        edit.create_document(registry, new_document(point=SMOLENSK), CURATOR_MOS)
    assert [(p.field, p.code) for p in invalid.value.problems] == [("locations[0].lat", "outside_region")]
    assert "Смоленская область" in invalid.value.problems[0].message

    org_id = create(registry)
    doc = edit.organization_document(registry, org_id)
    doc["locations"].append({"name": "Филиал за границей области", "lat": SMOLENSK[0], "lon": SMOLENSK[1]})
    with pytest.raises(edit.InvalidDocument):
        edit.save_document(registry, org_id, doc, doc["version"], CURATOR_MOS)
    edit.save_document(registry, org_id, doc, doc["version"], CURATOR_MOS,
                       region_exception_reason="Филиал обслуживает жителей обеих областей", change_note="филиал")
    registry.commit()
    after = edit.organization_document(registry, org_id)
    assert [loc["region_code"] for loc in after["locations"]] == ["RU-MOS", "RU-SMO"]
    assert after["region_code"] == "RU-MOS"
    note = history(registry, org_id)[0]["note"]
    assert note.startswith("филиал; ") and "RU-SMO" in note and "Филиал обслуживает жителей обеих областей" in note
    # An unmoved point outside the region needs no new reason on the next save.
    again = edit.organization_document(registry, org_id)
    again["description"] = "Описание"
    edit.save_document(registry, org_id, again, again["version"], CURATOR_MOS)
    registry.commit()


def test_curators_of_other_regions_and_dispatchers_are_forbidden(registry):
    org_id = create(registry)
    version = edit.organization_document(registry, org_id)["version"]
    change_id = history(registry, org_id)[0]["id"]
    for actor in (CURATOR_SMO, DISPATCHER, None):
        with pytest.raises(edit.Forbidden):
            edit.save_document(registry, org_id, edit.organization_document(registry, org_id), version, actor)
        with pytest.raises(edit.Forbidden):
            edit.set_status(registry, org_id, "draft", version, actor)
        with pytest.raises(edit.Forbidden):
            edit.mark_verified(registry, org_id, actor)
        with pytest.raises(edit.Forbidden):
            edit.revert_change(registry, change_id, version, actor)
    with pytest.raises(edit.Forbidden):
        edit.create_document(registry, new_document(), DISPATCHER)
    with pytest.raises(edit.NotFound):
        edit.save_document(registry, 987654, new_document(), 1, ADMIN)
    registry.commit()
    assert edit.organization_document(registry, org_id)["version"] == version


def test_every_write_path_is_recorded_bulk_sql_and_the_demo_loader_too(registry):
    ids = add_service(registry, *ELEKTROSTAL)  # registry.write.create_organization, no actor
    registry.commit()
    assert registry.execute(text("SELECT count(*) FROM change WHERE organization_id = :o AND op = 'insert'"
                                 " AND account_id IS NULL"), {"o": ids["organization_id"]}).scalar() >= 4
    # A spreadsheet import writes with plain SQL under as_actor: one statement, many rows, every field recorded.
    for _ in range(3):
        add_service(registry, *NOGINSK)
    change_set = as_actor(registry, ADMIN, "импорт: file.csv")
    registry.execute(text("UPDATE service SET capacity_total = 10, eligibility = 'Все семьи'"))
    registry.commit()
    rows = changes_of_set(registry, change_set)
    assert len(rows) == 8 and {(r["field"], r["new"]) for r in rows} == {("capacity_total", 10),
                                                                          ("eligibility", "Все семьи")}
    assert {(r["account_id"], r["note"]) for r in rows} == {(1, "импорт: file.csv")}


def test_nearest_search_finds_only_published_active_entries(registry):
    doc = new_document(status="draft")
    doc["locations"].append({"name": "Выездная служба", "lat": NOGINSK[0], "lon": NOGINSK[1]})
    doc["services"][1]["location"] = 1  # so the organization stays publishable with the first place closed
    org_id = edit.create_document(registry, doc, CURATOR_MOS)
    registry.commit()
    service_id = edit.organization_document(registry, org_id)["services"][0]["id"]
    assert service_id not in found_services(registry, NOGINSK)  # a draft is not searchable

    version = edit.set_status(registry, org_id, "published", 1, CURATOR_MOS)
    registry.commit()
    assert service_id in found_services(registry, NOGINSK)

    steps = [("services", 0, "active", False), ("services", 0, "active", True),
             ("locations", 0, "active", False), ("locations", 0, "active", True)]
    for part, index, field, value in steps:
        doc = edit.organization_document(registry, org_id)
        doc[part][index][field] = value
        version = edit.save_document(registry, org_id, doc, version, CURATOR_MOS)
        registry.commit()
        assert (service_id in found_services(registry, NOGINSK)) is value, (part, field, value)

    version = edit.set_status(registry, org_id, "inactive", version, CURATOR_MOS)
    registry.commit()
    assert service_id not in found_services(registry, NOGINSK)
    edit.set_status(registry, org_id, "published", version, CURATOR_MOS)
    registry.commit()
    answer = nearest_services(registry, NearestQuery(lat=NOGINSK[0], lon=NOGINSK[1], service_types=("early_help",)))
    first = next(r for r in answer.results if r["service_id"] == service_id)
    expected_km = GEOD.inv(NOGINSK[1], NOGINSK[0], ELEKTROSTAL[1], ELEKTROSTAL[0])[2] / 1000
    assert abs(first["distance_m"] / 1000 - expected_km) < 0.01
