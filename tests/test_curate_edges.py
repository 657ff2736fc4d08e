"""Curators' pages, items a new user found (issue 18): export file names dated where the region is, deactivation
only after a confirmation that says what it does, a location's point one field of the history."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from resourcemap import clock
from resourcemap.auth.policy import Viewer
from resourcemap.exchange import export_region
from resourcemap.registry import edit
from resourcemap.registry.history import change_by_id, history
from tests.factories import KOLOMNA
from tests.staff import client_as, editor_form, form_token

ADMIN = Viewer(role="admin", email="admin@example.org")
UTC = dt.timezone.utc


# --- export file names -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("regions, instant, date", [
    (["RU-MOS"], dt.datetime(2025, 6, 30, 21, 30, tzinfo=UTC), "2025-07-01"),   # 00:30 in Moscow
    (["RU-MOS"], dt.datetime(2025, 6, 30, 20, 59, tzinfo=UTC), "2025-06-30"),   # 23:59 in Moscow
    (["RU-NVS"], dt.datetime(2025, 6, 30, 17, 30, tzinfo=UTC), "2025-07-01"),   # 00:30 in Novosibirsk (UTC+7)
    (["RU-KGD"], dt.datetime(2025, 6, 30, 22, 30, tzinfo=UTC), "2025-07-01"),   # 00:30 in Kaliningrad (UTC+2)
    (["RU-KGD"], dt.datetime(2025, 6, 30, 21, 30, tzinfo=UTC), "2025-06-30"),   # 23:30 there, 00:30 in Moscow
    (["KZ-75"], dt.datetime(2025, 6, 30, 19, 30, tzinfo=UTC), "2025-07-01"),    # 00:30 in Almaty (UTC+5)
    (["RU-MOS", "RU-NVS"], dt.datetime(2025, 6, 30, 21, 30, tzinfo=UTC), "2025-07-01"),  # zones differ: Moscow
    (None, dt.datetime(2025, 6, 30, 21, 30, tzinfo=UTC), "2025-07-01"),         # every region: Moscow
])
def test_an_export_is_named_by_the_date_where_its_region_is(registry, monkeypatch, regions, instant, date):
    monkeypatch.setattr(clock, "utc_now", lambda: instant)
    for fmt in ("csv", "hsds-json"):
        filename = export_region(registry, regions, fmt, ADMIN)[2]
        assert date in filename, (regions, instant, filename)


def test_the_export_page_names_the_file_by_the_regions_date(app, world, monkeypatch):
    monkeypatch.setattr(clock, "utc_now", lambda: dt.datetime(2025, 6, 30, 21, 30, tzinfo=UTC))
    response = client_as(app, "curator_mos").get("/curate/export?region=RU-MOS&format=csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="registry-RU-MOS-2025-07-01.csv"'


# --- a location's point: one field of the history ----------------------------------------------------------------
ELEKTROSTAL = (55.7901234, 38.4456789)
NOGINSK = (55.8551234, 38.4412345)
CURATOR = Viewer(role="curator", account_id=11, email="curator.mos@example.org", regions=frozenset({"RU-MOS"}))


def _created(session) -> int:
    org_id = edit.create_document(session, {
        "name": "Центр «Точка»", "status": "published",
        "locations": [{"name": "Главное здание", "address": "ул. Мира, 1", "lat": ELEKTROSTAL[0],
                       "lon": ELEKTROSTAL[1]}],
        "services": [{"type": "early_help", "location": 0}],
        "phones": [{"number": "8 (496) 570-00-00", "kind": "main", "location": 0}]}, CURATOR)
    session.commit()
    return org_id


def _point(session, org_id: int) -> tuple[float, float]:
    loc = edit.organization_document(session, org_id)["locations"][0]
    return loc["lat"], loc["lon"]


def _move(session, org_id: int, point: tuple[float, float]) -> int:
    doc = edit.organization_document(session, org_id)
    doc["locations"][0]["lat"], doc["locations"][0]["lon"] = point
    version = edit.save_document(session, org_id, doc, doc["version"], CURATOR)
    session.commit()
    return version


def test_moving_a_location_writes_one_history_row_and_its_revert_restores_the_exact_point(registry):
    org_id = _created(registry)
    version = _move(registry, org_id, NOGINSK)
    moves = [c for c in history(registry, org_id) if c["entity"] == "location" and c["op"] == "update"]
    assert [(c["field"], c["old"], c["new"]) for c in moves] == [
        ("point", {"lat": ELEKTROSTAL[0], "lon": ELEKTROSTAL[1]}, {"lat": NOGINSK[0], "lon": NOGINSK[1]})]
    assert registry.execute(text("SELECT count(*) FROM change WHERE entity = 'location' AND op = 'update'"
                                 " AND field IN ('lat', 'lon')")).scalar() == 0
    created = next(c for c in history(registry, org_id) if c["entity"] == "location" and c["op"] == "insert")
    assert created["new"]["point"] == {"lat": ELEKTROSTAL[0], "lon": ELEKTROSTAL[1]} and "lat" not in created["new"]

    edit.revert_change(registry, moves[0]["id"], version, CURATOR)
    registry.commit()
    assert _point(registry, org_id) == ELEKTROSTAL  # exactly, both coordinates
    newest = history(registry, org_id)[0]
    assert (newest["field"], newest["new"]) == ("point", {"lat": ELEKTROSTAL[0], "lon": ELEKTROSTAL[1]})


def _old_style_move(session, org_id: int, before, after) -> None:
    """A move as migrations 0008-0015 recorded it: a lat row and a lon row of one change set (and the point moved)."""
    location_id = edit.organization_document(session, org_id)["locations"][0]["id"]
    change_set = session.execute(text("SELECT nextval('change_set_seq')")).scalar()
    for field, n in (("lat", 0), ("lon", 1)):
        if before[n] != after[n]:
            session.execute(text(
                "INSERT INTO change (change_set, organization_id, entity, entity_id, field, old, new, op, actor_email)"
                " VALUES (:cs, :o, 'location', :l, :f, to_jsonb(CAST(:old AS float8)), to_jsonb(CAST(:new AS float8)),"
                " 'update', 'old@example.org')"),
                {"cs": change_set, "o": org_id, "l": location_id, "f": field, "old": before[n], "new": after[n]})
    session.execute(text("SELECT set_config('resourcemap.history', 'off', true)"))
    session.execute(text("UPDATE location SET geog = CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography)"
                         " WHERE id = :l"), {"l": location_id, "lat": after[0], "lon": after[1]})
    session.commit()


def test_an_older_move_recorded_as_lat_and_lon_is_shown_and_reverted_as_one_point(registry):
    org_id = _created(registry)
    _old_style_move(registry, org_id, ELEKTROSTAL, NOGINSK)
    moves = [c for c in history(registry, org_id) if c["entity"] == "location" and c["op"] == "update"]
    assert len(moves) == 1 and moves[0]["field"] == "point"
    assert (moves[0]["old"], moves[0]["new"]) == ({"lat": ELEKTROSTAL[0], "lon": ELEKTROSTAL[1]},
                                                  {"lat": NOGINSK[0], "lon": NOGINSK[1]})
    lon_row = registry.execute(text("SELECT max(id) FROM change WHERE field = 'lon'")).scalar()
    assert change_by_id(registry, lon_row)["field"] == "point"  # either row of the pair stands for the move
    version = edit.organization_document(registry, org_id)["version"]
    edit.revert_change(registry, moves[0]["id"], version, CURATOR)
    registry.commit()
    assert _point(registry, org_id) == ELEKTROSTAL  # both coordinates back, not a point nobody entered


def test_an_older_move_of_the_latitude_alone_reverts_the_latitude(registry):
    org_id = _created(registry)
    north = (NOGINSK[0], ELEKTROSTAL[1])
    _old_style_move(registry, org_id, ELEKTROSTAL, north)
    move = next(c for c in history(registry, org_id) if c["entity"] == "location" and c["op"] == "update")
    assert (move["field"], move["old"], move["new"]) == ("point", {"lat": ELEKTROSTAL[0]}, {"lat": north[0]})
    edit.revert_change(registry, move["id"], edit.organization_document(registry, org_id)["version"], CURATOR)
    registry.commit()
    assert _point(registry, org_id) == ELEKTROSTAL


def test_the_history_page_shows_a_move_as_one_row_with_both_points(app, world, engine):
    with Session(engine) as session:
        _old_style_move(session, world["mos"], KOLOMNA, (55.1, 38.8))
        _move(session, world["mos"], (55.081234, 38.771234))
    client = client_as(app, "curator_mos")
    html = client.get(f"/curate/org/{world['mos']}/history").get_data(as_text=True)
    rows = re.findall(r'<tr[^>]*data-change="(\d+)">(.*?)</tr>', html, re.S)
    moves = [body for _, body in rows if "Точка на карте" in body]
    assert len(moves) == 2 and "Широта" not in html and "Долгота" not in html
    assert "55.081234, 38.771234" in moves[0] and "55.1, 38.8" in moves[0]  # newest first: new point, old point
    assert "55.1, 38.8" in moves[1] and f"{KOLOMNA[0]}, {KOLOMNA[1]}" in moves[1]
    assert all("Вернуть" in body for body in moves)


# --- «Больше не действует» asks first ---------------------------------------------------------------------------
def _status(engine, org_id: int) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT status FROM organization WHERE id = :i"), {"i": org_id}).scalar()


def _carried(html: str) -> dict:
    """The hidden fields a confirmation page carries, as the browser posts them back."""
    import html as htmllib

    return {k: htmllib.unescape(v) for k, v in
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)}


def test_deactivating_asks_for_confirmation_and_says_what_will_happen(app, world, engine):
    client = client_as(app, "curator_mos")
    org_id = world["mos"]
    form = {**editor_form(client, org_id), "description": "Закрылся в ноябре", "action": "deactivate"}
    response = client.post(f"/curate/org/{org_id}", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and _status(engine, org_id) == "published"  # nothing yet
    assert "Центр «Коломенский»" in html and "больше не действует" in html
    assert "снята с карты" in html and "ничего не удаляется" in html.lower() and "опубликовать" in html
    carried = _carried(html) | {"csrf_token": form_token(html)}
    assert carried["description"] == "Закрылся в ноябре" and carried["confirmed"] == "1"
    assert re.search(r'<button type="submit" name="action" value="deactivate"[^>]*>Да, больше не действует', html)

    # "Back to the editor" shows the form as it was, saves nothing.
    back = client.post(f"/curate/org/{org_id}", data={**carried, "action": "back"})
    assert back.status_code == 200 and "Закрылся в ноябре</textarea>" in back.get_data(as_text=True)
    assert _status(engine, org_id) == "published"

    # Confirmed: saved with the form's changes, off the map.
    done = client.post(f"/curate/org/{org_id}", data={**carried, "action": "deactivate", "confirmed": "1"})
    assert done.status_code == 302 and _status(engine, org_id) == "inactive"
    with Session(engine) as session:
        assert edit.organization_document(session, org_id)["description"] == "Закрылся в ноябре"
    assert "снята с карты" in client.get(done.headers["Location"]).get_data(as_text=True)
