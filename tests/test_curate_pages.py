"""The curators' pages through the Flask test client: every role against every /curate route, a curator kept out
of another region's entries (pages, saves, reverts, import, export), CSRF, and bad input answered with readable
messages next to the fields — never a 500. The browser side (map, marker, two browsers at once) is in
tests/browser_curate/."""
from __future__ import annotations

import hashlib

import re

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from resourcemap.registry import edit
from tests.staff import ROLES, answers_of_routes, client_as, editor_form, editor_form_from, form_token

# (method, path, expected status for each of ROLES)
ROUTES = [
    ("GET", "/curate", [302, 403, 200, 200, 200]),
    ("GET", "/curate?q=Коломенский&status=published&kind=early_help&stale=1&page=1", [302, 403, 200, 200, 200]),
    ("GET", "/curate/stale", [302, 403, 200, 200, 200]),
    ("GET", "/curate/org/new", [302, 403, 200, 200, 200]),
    ("GET", "/curate/org/{mos}", [302, 403, 403, 200, 200]),
    ("GET", "/curate/org/{smo}", [302, 403, 200, 403, 200]),
    ("GET", "/curate/org/{mos}/history", [302, 403, 403, 200, 200]),
    ("GET", "/curate/org/{smo}/history", [302, 403, 200, 403, 200]),
    ("GET", "/curate/org/999999", [302, 403, 404, 404, 404]),
    ("GET", "/curate/org/99999999999", [302, 403, 404, 404, 404]),
    ("GET", "/curate/check/point?lat=55.08&lon=38.78", [302, 403, 200, 200, 200]),
    ("GET", "/curate/check/phone?number=84966100000", [302, 403, 200, 200, 200]),
    ("GET", "/curate/import", [302, 403, 200, 200, 200]),
    ("GET", "/curate/export", [302, 403, 200, 200, 200]),
    ("GET", "/curate/export?region=RU-MOS&format=csv", [302, 403, 403, 200, 200]),
    ("GET", "/curate/export?region=RU-SMO&format=geojson", [302, 403, 200, 403, 200]),
]


@pytest.mark.parametrize("role_index, who", list(enumerate(ROLES)))
def test_every_curate_route_for_every_role(app, world, role_index, who):
    for path, response in answers_of_routes(client_as(app, who), who, role_index, ROUTES, world):
        if response.status_code == 302:
            assert "/signin?next=" in response.headers["Location"]
        if response.status_code in (403, 404):
            body = response.get_data(as_text=True)
            assert "Traceback" not in body and ("Нет доступа" in body or "Не найдено" in body), path


def test_the_list_shows_only_the_curators_regions(app, world):
    html = client_as(app, "curator_mos").get("/curate").get_data(as_text=True)
    assert "Коломенский" in html and "Смоленский" not in html
    html = client_as(app, "admin").get("/curate").get_data(as_text=True)
    assert "Коломенский" in html and "Смоленский" in html
    # A region not the curator's in the filter is ignored, not obeyed.
    html = client_as(app, "curator_mos").get("/curate?region=RU-SMO").get_data(as_text=True)
    assert "Смоленский" not in html


def version_of(engine, org_id) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT version FROM organization WHERE id = :i"), {"i": org_id}).scalar()


def test_a_curator_of_another_region_cannot_save_revert_import_or_export(app, world, engine):
    mos_client = client_as(app, "curator_mos")
    form = editor_form(mos_client, world["mos"])
    smo_client = client_as(app, "curator_smo")
    token = form_token(smo_client.get("/curate/org/new").get_data(as_text=True))
    before = version_of(engine, world["mos"])
    response = smo_client.post(f"/curate/org/{world['mos']}", data={**form, "name": "Захвачено",
                                                                    "csrf_token": token, "action": "save"})
    assert response.status_code == 403
    response = smo_client.post(f"/curate/org/{world['mos']}/history/1/revert", data={"csrf_token": token,
                                                                                      "version": before})
    assert response.status_code == 403
    assert version_of(engine, world["mos"]) == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM organization WHERE id = :i"), {"i": world["mos"]}).scalar() \
            == "Центр «Коломенский»"
    import io
    response = smo_client.post("/curate/import", data={"csrf_token": token, "region": "RU-MOS",
                                                       "file": (io.BytesIO(b"name,lat,lon\n"), "x.csv")},
                               content_type="multipart/form-data")
    assert response.status_code == 403
    assert smo_client.get("/curate/export?region=RU-MOS&format=hsds").status_code == 403


def test_forms_without_a_csrf_token_are_refused(app, world, engine):
    client = client_as(app, "curator_mos")
    form = editor_form(client, world["mos"])
    form.pop("csrf_token")
    before = version_of(engine, world["mos"])
    response = client.post(f"/curate/org/{world['mos']}", data={**form, "name": "Без токена", "action": "save"})
    assert response.status_code == 400
    assert "Форма устарела" in response.get_data(as_text=True)
    assert version_of(engine, world["mos"]) == before
    response = client.post(f"/curate/org/{world['mos']}/history/1/revert", data={"version": before})
    assert response.status_code == 400
    response = client.post("/curate/org/new", data={"name": "Без токена", "action": "save"})
    assert response.status_code == 400
    response = client.post("/curate/import", data={"region": "RU-MOS"})
    assert response.status_code == 400


def test_bad_input_is_shown_next_to_its_field_and_nothing_is_saved(app, world, engine):
    client = client_as(app, "curator_mos")
    form = editor_form(client, world["mos"])
    before = version_of(engine, world["mos"])
    bad = {**form, "name": "", "locations[0].lat": "55,0x", "services[0].age_min_months": "сто лет",
           "services[0].hours[1].opens": "25:00", "services[0].hours[1].closes": "18:00",
           "services[0].capacity_total": "-3", "phones[0].number": "12345", "action": "save"}
    response = client.post(f"/curate/org/{world['mos']}", data=bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[:2000]
    assert "Не сохранено" in html
    for name in ("locations[0].lat", "services[0].age_min_months", "services[0].hours[1].opens",
                 "services[0].capacity_total"):
        assert re.search(rf'name="{re.escape(name)}"[^>]*aria-invalid="true"', html), name
    assert "Широта" in html and "Возраст" in html and "ЧЧ:ММ" in html
    # What was typed comes back as typed.
    assert 'value="55,0x"' in html and 'value="сто лет"' in html
    assert version_of(engine, world["mos"]) == before

    # The readable values are checked by the registry: an empty name, a bad phone.
    fixed = {**bad, "locations[0].lat": form["locations[0].lat"], "services[0].age_min_months": "1,5",
             "services[0].hours[1].opens": "09:00", "services[0].capacity_total": ""}
    response = client.post(f"/curate/org/{world['mos']}", data=fixed)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'name="name"[^>]*aria-invalid="true"', html)
    assert re.search(r'name="phones\[0\]\.number"[^>]*aria-invalid="true"', html)
    assert version_of(engine, world["mos"]) == before


def test_bad_query_strings_give_pages_not_errors(app, world):
    client = client_as(app, "curator_mos")
    for path in ("/curate?page=abc", "/curate?page=-1", "/curate?region=XX&kind=nope&status=deleted",
                 "/curate?q=" + "я" * 500, "/curate/org/new?region=RU-SMO"):
        assert client.get(path).status_code == 200, path
    response = client.get("/curate/check/point?lat=abc&lon=1")
    assert response.status_code == 400 and response.json["error"]["field"] == "lat"
    assert client.get("/curate/check/point?lat=91&lon=1").status_code == 400
    assert client.get("/curate/check/phone?number=12").json["ok"] is False
    assert client.get("/curate/check/phone?number=8 (496) 610-00-00").json["e164"] == "+74966100000"


def test_create_edit_conflict_history_and_revert_through_the_forms(app, world, engine):
    client = client_as(app, "curator_mos")
    org_id = _create_through_the_form(client, engine)
    conflict_page = _meet_the_conflict(client, engine, org_id)
    _carry_my_changes_onto_the_new_version(client, engine, org_id, conflict_page)
    _revert_the_first_rename_from_the_history(client, engine, org_id)


def _create_through_the_form(client, engine) -> int:
    """A draft made with the new-organization form (a settlement typed, not picked; split hours); its id."""
    token = form_token(client.get("/curate/org/new").get_data(as_text=True))
    new = {"csrf_token": token, "action": "save", "name": "Семейный центр «Радуга»", "status": "draft",
           "region_code": "RU-MOS",
           "locations[0].active": "1", "locations[0].settlement_label": "Коломна",
           "locations[0].lat": "", "locations[0].lon": "",
           "services[0].active": "1", "services[0].type": "family_support", "services[0].location": "0",
           "services[0].delivery": "outreach", "services[0].outreach_radius_km": "25",
           "services[0].age_min_months": "0", "services[0].age_max_months": "7",
           "services[0].hours[1].opens": "09:00", "services[0].hours[1].closes": "13:00",
           "services[0].hours[1].opens2": "14:00", "services[0].hours[1].closes2": "18:00",
           "phones[0].number": "8 (496) 612-34-56", "phones[0].kind": "main"}
    response = client.post("/curate/org/new", data=new)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    org_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with Session(engine) as session:
        doc = edit.organization_document(session, org_id)
    assert doc["status"] == "draft" and doc["region_code"] == "RU-MOS"
    assert doc["locations"][0]["settlement_name"] == "Коломна"  # typed, not picked: looked up on save
    svc = doc["services"][0]
    assert (svc["age_min_months"], svc["age_max_months"], svc["outreach_radius_km"]) == (0, 84, 25)
    assert [(s["weekday"], s["opens"], s["closes"]) for s in svc["schedule"]] == [(1, "09:00", "13:00"),
                                                                                 (1, "14:00", "18:00")]
    assert doc["phones"][0]["number"] == "+74966123456"
    page = client.get(f"/curate/org/{org_id}").get_data(as_text=True)
    assert "Коломна" in page and "Организация добавлена в черновики" in page
    return org_id


def _meet_the_conflict(client, engine, org_id) -> str:
    """Two curators open the same version; the first renames it, the second (not knowing) changes the description
    and meets the conflict page (returned): both versions side by side, who changed what; nothing is overwritten."""
    first = editor_form(client, org_id)
    second = dict(first)
    response = client.post(f"/curate/org/{org_id}", data={**first, "name": "Радуга (новое название)"})
    assert response.status_code == 302
    response = client.post(f"/curate/org/{org_id}", data={**second, "description": "Помогаем семьям Коломны"})
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Радуга (новое название)" in html and "Помогаем семьям Коломны" in html
    assert re.search(r'<tr class="diff who-theirs">\s*<th scope="row">Название', html)
    assert re.search(r'<tr class="diff who-mine">\s*<th scope="row">Описание', html)
    with Session(engine) as session:
        doc = edit.organization_document(session, org_id)
    assert (doc["name"], doc["description"]) == ("Радуга (новое название)", "")
    return html


def _carry_my_changes_onto_the_new_version(client, engine, org_id, html: str) -> None:
    """"Carry my changes onto the new version": the stored version with my change on top, for review; then save."""
    import html as htmllib
    carried = {k: htmllib.unescape(v) for k, v in
               re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)}
    carried["csrf_token"] = form_token(html)
    response = client.post(f"/curate/org/{org_id}", data={**carried, "action": "review"})
    review = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="Радуга (новое название)"' in review and "Помогаем семьям Коломны</textarea>" in review
    assert f'name="version" value="{version_of(engine, org_id)}"' in review
    response = client.post(f"/curate/org/{org_id}", data={**editor_form_from(review), "action": "save"})
    assert response.status_code == 302
    with Session(engine) as session:
        doc = edit.organization_document(session, org_id)
    assert (doc["name"], doc["description"]) == ("Радуга (новое название)", "Помогаем семьям Коломны")


def _revert_the_first_rename_from_the_history(client, engine, org_id) -> None:
    """The history: newest first, with who and old -> new; revert the first rename."""
    html = client.get(f"/curate/org/{org_id}/history").get_data(as_text=True)
    table = html[html.index("<tbody>"):]
    assert table.index("Помогаем семьям Коломны") < table.index("Радуга (новое название)")
    rename = re.search(r'<td class="old">([^<]*)</td>\s*<td class="new">Радуга \(новое название\)</td>', table)
    assert rename and "Семейный центр «Радуга»" in rename.group(1)
    assert "curator.mos@example.org" in html
    with engine.connect() as conn:
        change_id = conn.execute(text(
            "SELECT id FROM change WHERE organization_id = :o AND field = 'name'"
            " AND new = to_jsonb(CAST('Радуга (новое название)' AS text))"), {"o": org_id}).scalar()
    token = form_token(html)
    response = client.post(f"/curate/org/{org_id}/history/{change_id}/revert",
                           data={"csrf_token": token, "version": version_of(engine, org_id)})
    assert response.status_code == 302
    with Session(engine) as session:
        assert edit.organization_document(session, org_id)["name"] == "Семейный центр «Радуга»"
    assert "Значение возвращено" in client.get(f"/curate/org/{org_id}/history").get_data(as_text=True)


def test_a_point_outside_the_region_needs_a_confirmed_reason(app, world, engine):
    client = client_as(app, "curator_mos")
    form = editor_form(client, world["mos"])
    moved = {**form, "locations[0].lat": "54.7818", "locations[0].lon": "32.0401", "action": "save"}  # Смоленск
    response = client.post(f"/curate/org/{world['mos']}", data=moved)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "не курируете" in html and 'id="exception" hidden' not in html
    response = client.post(f"/curate/org/{world['mos']}",
                           data={**moved, "region_exception_reason": "Филиал принимает семьи Подмосковья"})
    assert response.status_code == 302
    with engine.connect() as conn:
        note = conn.execute(text("SELECT note FROM change WHERE organization_id = :o AND entity = 'location'"
                                 " ORDER BY id DESC LIMIT 1"), {"o": world["mos"]}).scalar()
    assert "Филиал принимает семьи Подмосковья" in note


def test_publish_draft_deactivate_and_checked_today(app, world, engine):
    client = client_as(app, "curator_mos")
    org_id = world["mos"]
    for action, status in (("draft", "draft"), ("publish", "published"), ("deactivate", "inactive"),
                           ("draft", "draft")):
        confirmed = {"confirmed": "1"} if action == "deactivate" else {}  # asked first: tests/test_curate_edges.py
        response = client.post(f"/curate/org/{org_id}", data={**editor_form(client, org_id), "action": action,
                                                               **confirmed})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        with engine.connect() as conn:
            assert conn.execute(text("SELECT status FROM organization WHERE id = :i"), {"i": org_id}).scalar() \
                == status
    response = client.post(f"/curate/org/{org_id}", data={**editor_form(client, org_id), "action": "verify"})
    assert response.status_code == 302
    with engine.connect() as conn:
        assert conn.execute(text("SELECT verified_at = current_date FROM organization WHERE id = :i"),
                            {"i": org_id}).scalar()
    # Removing a place deactivates it; the organization keeps it, inactive.
    form = editor_form(client, org_id)
    form.pop("locations[0].active")
    client.post(f"/curate/org/{org_id}", data={**form, "action": "save"})
    with engine.connect() as conn:
        assert conn.execute(text("SELECT active FROM location WHERE organization_id = :i"), {"i": org_id}).all() \
            == [(False,)]


def test_adding_rows_without_javascript(app, world):
    client = client_as(app, "curator_mos")
    form = editor_form(client, world["mos"])
    response = client.post(f"/curate/org/{world['mos']}", data={**form, "action": "add_service"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="services[1].type"' in html and 'name="services[2].type"' not in html
    response = client.post(f"/curate/org/{world['mos']}", data={**form, "action": "add_phone"})
    assert 'name="phones[1].number"' in response.get_data(as_text=True)


CSV = ("Код записи;Организация;Вид помощи;Населённый пункт;Широта;Долгота;Телефоны;Часы работы\n"
       "kol-1;Центр «Надежда»;Ранняя помощь;Коломна;55,0794;38,7783;8 (496) 615-00-01;пн-пт 09:00-18:00\n"
       "kol-2;Центр «Надежда»;Психологическая помощь;Коломна;55,0794;38,7783;8 (496) 615-00-01;\n")


def summary(html: str) -> dict[str, str]:
    """The report's counts by action, as the page shows them."""
    return dict(re.findall(r'<span class="act-(\w+)">[^<]*<strong>([^<]*)</strong>', html))


def upload(client, data: bytes, name: str = "kolomna.csv", region: str = "RU-MOS"):
    import io

    token = form_token(client.get("/curate/import").get_data(as_text=True))
    return client.post("/curate/import", data={"csrf_token": token, "region": region, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_import_dry_run_then_apply_from_the_file_kept_on_the_server(app, world, engine):
    client = client_as(app, "curator_mos")
    response = upload(client, CSV.encode("cp1251"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:3000]
    assert html.count("будет добавлена") == 2 and "Центр «Надежда»" in html
    assert summary(html) == {"create": "2", "update": "0", "unchanged": "0", "error": "0"}
    assert "Применить: добавить 2, обновить 0" in html
    with engine.connect() as conn:  # the dry run wrote nothing
        assert conn.execute(text("SELECT count(*) FROM organization WHERE name = 'Центр «Надежда»'")).scalar() == 0
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    kept = text("SELECT count(*) FROM pending_import WHERE token_hash = :h")
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    with engine.connect() as conn:  # the file and who uploaded it for which region, in the database (any instance)
        assert conn.execute(kept, {"h": token_hash}).scalar() == 1

    # Another curator cannot apply it; nor can a token that is not one.
    other = client_as(app, "curator_smo")
    other_csrf = form_token(other.get("/curate/import").get_data(as_text=True))
    assert other.post("/curate/import/apply", data={"csrf_token": other_csrf, "token": token}).status_code == 404
    response = client.post("/curate/import/apply", data={"csrf_token": form_token(html), "token": "../../etc/passwd"})
    assert response.status_code == 410 and "устарела" in response.get_data(as_text=True)

    response = client.post("/curate/import/apply", data={"csrf_token": form_token(html), "token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:3000]
    assert "Импорт применён" in html and html.count(">добавлено<") == 2
    assert summary(html) == {"create": "2", "update": "0", "unchanged": "0", "error": "0"}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM service s JOIN organization o ON o.id = s.organization_id"
                                 " WHERE o.name = 'Центр «Надежда»'")).scalar() == 2
        notes = conn.execute(text("SELECT DISTINCT note FROM change WHERE note LIKE 'import %'")).scalars().all()
    assert notes == ["import kolomna.csv"]
    with engine.connect() as conn:
        assert conn.execute(kept, {"h": token_hash}).scalar() == 0  # used once
    again = form_token(client.get("/curate/import").get_data(as_text=True))
    assert client.post("/curate/import/apply", data={"csrf_token": again, "token": token}).status_code == 410
    csrf = form_token(client.get("/curate/import").get_data(as_text=True))
    response = client.post("/curate/import/apply", data={"csrf_token": csrf, "token": token})
    assert response.status_code == 410

    # The same file again: nothing to apply.
    html = upload(client, CSV.encode("utf-8")).get_data(as_text=True)
    assert html.count("без изменений") >= 2 and "применять нечего" in html and 'name="token"' not in html
    assert summary(html) == {"create": "0", "update": "0", "unchanged": "2", "error": "0"}

    # New hours for one row: one update to apply, counted in the summary and on the button.
    html = upload(client, CSV.replace("615-00-01;\n", "615-00-01;сб 10:00-14:00\n").encode("utf-8")).get_data(
        as_text=True)
    assert summary(html) == {"create": "0", "update": "1", "unchanged": "1", "error": "0"}
    assert "Применить: добавить 0, обновить 1" in html
    assert '<div class="sub">Часы работы</div>' in html  # the changed column, named as the file names it


def test_import_problems_are_listed_by_row_and_column_and_nothing_is_kept(app, world, engine):
    client = client_as(app, "curator_mos")
    bad = (CSV + "kol-3;Центр «Надежда»;Гадание на картах;Коломна;55,0794;38,7783;12;\n"
                 "kol-4;Смоленский филиал;Ранняя помощь;Смоленск;54,7818;32,0401;;\n").encode("utf-8")
    response = upload(client, bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Файл нельзя применить" in html and 'name="token"' not in html
    row4 = re.search(r"<tr class=\"row-error\">\s*<td>4</td>(.*?)</tr>", html, re.S)
    assert row4 and "«Вид помощи»" in row4.group(1)
    row5 = re.search(r"<tr class=\"row-error\">\s*<td>5</td>(.*?)</tr>", html, re.S)
    assert row5 and ("«Широта»" in row5.group(1) or "вне" in row5.group(1) or "регион" in row5.group(1)), \
        row5 and row5.group(1)
    for body, message in ((b"", "Файл пустой"), (b"\x00\x01\x02garbage", "Файл не прочитан"),
                          (b"a,b\n1,2\n", "Файл не прочитан")):
        response = upload(client, body, "x.csv" if body else "empty.csv")
        text_ = response.get_data(as_text=True)
        assert response.status_code in (200, 400, 422) and response.status_code != 500
        assert message in text_ or "Файл нельзя применить" in text_, text_[:2000]
    assert upload(client, CSV.encode(), region="XX-NOPE").status_code == 403


def test_a_long_report_sums_its_problems_by_kind_errors_first(app, world):
    """Five rows with an unknown kind and two with a bad phone: the summary counts each kind of problem once, with
    its column and rows, the errors before the rest and the larger group first."""
    client = client_as(app, "curator_mos")
    lines = [CSV.strip()]
    lines += [f"kol-k{n};Центр «Надежда»;Гадание {n};Коломна;55,0794;38,7783;8 (496) 615-00-01;" for n in range(5)]
    lines += [f"kol-p{n};Центр «Надежда»;Ранняя помощь;Коломна;55,0794;38,7783;12{n};" for n in range(2)]
    html = upload(client, ("\n".join(lines) + "\n").encode("utf-8")).get_data(as_text=True)
    block = re.search(r"<h2>Замечания по видам</h2>\s*<ul class=\"probs kinds\">(.*?)</ul>", html, re.S)
    assert block, html[:3000]
    items = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", li)).strip()
             for li in re.findall(r"<li[^>]*>(.*?)</li>", block.group(1), re.S)]
    assert len(items) == 2, items
    assert items[0].startswith("строк: 5, «Вид помощи» — например, строка 4: Неизвестный вид помощи «Гадание 0»")
    assert items[0].endswith("(строки 4, 5, 6, 7, 8)")
    assert items[1].startswith("строк: 2, «Телефоны» — например, строка 9:") and items[1].endswith("(строки 9, 10)")


def test_export_downloads_the_region(app, world):
    client = client_as(app, "curator_mos")
    response = client.get("/curate/export?region=RU-MOS&format=csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "Центр «Коломенский»" in response.get_data(as_text=True)
    response = client.get("/curate/export?region=RU-MOS&format=geojson")
    assert response.json["type"] == "FeatureCollection"
    assert client.get("/curate/export?region=RU-MOS&format=pdf").status_code == 400
    assert client.get("/curate/export?region=ALL&format=csv").status_code == 403  # only admins export everything
    assert client_as(app, "admin").get("/curate/export?region=ALL&format=hsds-json").status_code == 200


def test_saving_an_untouched_form_changes_nothing(app, world, engine):
    client = client_as(app, "curator_mos")
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM change")).scalar()
    response = client.post(f"/curate/org/{world['mos']}", data={**editor_form(client, world["mos"]), "action": "save"})
    assert response.status_code == 302
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM change")).scalar() == before
