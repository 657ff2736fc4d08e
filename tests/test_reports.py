"""Families' problem reports (issue 22): filed without an account (honeypot, limits, 500 characters, nothing about
the person stored), seen and resolved by the curators of the organization's region only, a confirmed one marking
the record for re-checking until "checked today"; resolving is audited."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from resourcemap import create_app
from tests.conftest import app_settings
from tests.staff import client_as, form_token


def report_form(client, org_id: int) -> str:
    page = client.get(f"/org/{org_id}/report")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "не храним" in html  # the page says what is (not) kept
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def file(client, org_id: int, **data):
    token = report_form(client, org_id)
    return client.post(f"/org/{org_id}/report", data={"csrf_token": token, **data})


def stored_reports(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text("SELECT * FROM problem_report ORDER BY id")).mappings()]


def test_a_report_is_stored_with_the_text_only(app, engine, world):
    client = app.test_client()
    response = file(client, world["mos"], kind="no_answer", body="  Звонили три дня, никто не берёт трубку.  ")
    assert response.status_code == 200 and "Спасибо" in response.get_data(as_text=True)
    [row] = stored_reports(engine)
    assert row["organization_id"] == world["mos"] and row["kind"] == "no_answer"
    assert row["body"] == "Звонили три дня, никто не берёт трубку." and row["resolution"] is None
    assert set(row) == {"id", "organization_id", "kind", "body", "created_at", "resolution", "resolution_note",
                        "resolved_at", "resolved_by"}  # no address, no agent, no contact


@pytest.mark.parametrize("data, message", [
    ({"kind": "other", "body": ""}, "Напишите, что не так"),
    ({"kind": "other", "body": "я" * 501}, "Не больше 500 знаков, сейчас 501"),
    ({"kind": "gone", "body": ""}, "Выберите, что не так"),
    ({"body": "нет вида"}, "Выберите, что не так"),
])
def test_bad_reports_are_refused_with_a_message(app, engine, world, data, message):
    response = file(app.test_client(), world["mos"], **data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert stored_reports(engine) == []


def test_the_honeypot_looks_taken_and_stores_nothing(app, engine, world):
    response = file(app.test_client(), world["mos"], kind="closed", body="", website="http://spam.example")
    assert response.status_code == 200 and "Спасибо" in response.get_data(as_text=True)
    assert stored_reports(engine) == []


def test_no_report_about_an_unknown_or_unpublished_organization(app, engine, world):
    assert app.test_client().get("/org/999999/report").status_code == 404
    assert app.test_client().get("/org/abc/report").status_code == 404
    with engine.begin() as conn:
        conn.execute(text("UPDATE organization SET status = 'draft' WHERE id = :id"), {"id": world["smo"]})
    assert app.test_client().get(f"/org/{world['smo']}/report").status_code == 404


def test_reports_without_a_csrf_token_are_refused(app, engine, world):
    response = app.test_client().post(f"/org/{world['mos']}/report", data={"kind": "closed"})
    assert response.status_code == 400 and stored_reports(engine) == []


def test_reports_are_rate_limited_per_address(database_url, engine, world):
    limited = create_app(app_settings(database_url, REPORT_RATE_LIMIT="2 per hour"))
    client = limited.test_client()
    assert file(client, world["mos"], kind="closed").status_code == 200
    assert file(client, world["mos"], kind="closed").status_code == 200
    refused = file(client, world["mos"], kind="closed")
    assert refused.status_code == 429 and "слишком много" in refused.get_data(as_text=True)
    assert "Retry-After" in refused.headers
    assert len(stored_reports(engine)) == 2
    limited.extensions["resourcemap.engine"].dispose()


def test_the_regions_curator_resolves_and_the_record_shows_the_recheck_mark(app, engine, world):
    file(app.test_client(), world["mos"], kind="no_answer", body="Не отвечает")
    [report] = stored_reports(engine)
    mos, smo, admin = client_as(app, "curator_mos"), client_as(app, "curator_smo"), client_as(app, "admin")
    assert "Не отвечает" in mos.get("/curate/reports").get_data(as_text=True)
    assert "Сообщения семей об ошибках: 1" in mos.get("/curate").get_data(as_text=True)
    assert "Не отвечает" not in smo.get("/curate/reports").get_data(as_text=True)
    assert "Сообщения семей об ошибках" not in smo.get("/curate").get_data(as_text=True)
    assert "Не отвечает" in admin.get("/curate/reports").get_data(as_text=True)

    token = form_token(smo.get(f"/curate/org/{world['smo']}").get_data(as_text=True))
    refused = smo.post(f"/curate/reports/{report['id']}/resolve",
                       data={"csrf_token": token, "resolution": "confirmed", "note": "чужой"})
    assert refused.status_code == 403 and stored_reports(engine)[0]["resolution"] is None

    token = re.search(r'name="csrf_token" value="([^"]+)"', mos.get("/curate/reports").get_data(as_text=True)).group(1)
    assert mos.post(f"/curate/reports/{report['id']}/resolve",
                    data={"csrf_token": token, "resolution": "maybe"}).status_code == 302
    assert stored_reports(engine)[0]["resolution"] is None
    done = mos.post(f"/curate/reports/{report['id']}/resolve",
                    data={"csrf_token": token, "resolution": "confirmed", "note": "Номер сменился"})
    assert done.status_code == 302
    row = stored_reports(engine)[0]
    assert row["resolution"] == "confirmed" and row["resolution_note"] == "Номер сменился"
    assert "Не отвечает" not in mos.get("/curate/reports").get_data(as_text=True)
    assert "recheck-mark" in mos.get(f"/curate/org/{world['mos']}").get_data(as_text=True)
    assert 'id="recheck-mark"' in app.test_client().get(f"/org/{world['mos']}").get_data(as_text=True)
    assert app.test_client().get(f"/api/v1/organizations/{world['mos']}").json["recheck"] is True
    with engine.connect() as conn:
        audited = conn.execute(text("SELECT email, details FROM audit_event WHERE action = 'problem_report_resolved'")
                               ).one()
        history = conn.execute(text("SELECT field, note FROM change WHERE organization_id = :o AND field ="
                                    " 'recheck_since'"), {"o": world["mos"]}).one()
    assert audited.email == "curator.mos@example.org" and audited.details["resolution"] == "confirmed"
    assert "Номер сменился" in history.note

    # "Checked today" clears the mark.
    from resourcemap.auth.policy import Viewer
    from resourcemap.registry import edit
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        edit.mark_verified(session, world["mos"], Viewer(role="curator", account_id=None, email="x",
                                                         regions=frozenset({"RU-MOS"})))
        session.commit()
    assert 'id="recheck-mark"' not in app.test_client().get(f"/org/{world['mos']}").get_data(as_text=True)
