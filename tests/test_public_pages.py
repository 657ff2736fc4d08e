"""The public pages without a browser: the server-rendered nearest-help list (the no-JavaScript path), plain
errors for bad input, the organization page, the map's bbox data, Russian/English, and the page rules the CSP
needs (no inline handlers, no style attributes, nonces on inline scripts, nothing from a CDN)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text

from resourcemap.registry.demo import load_demo_registry
from resourcemap.search.redaction import snap_point
from tests.factories import SECRET_LAT, SECRET_LON, add_crisis_apartment, add_service

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def demo(app, engine, registry):
    load_demo_registry(engine, Path(app.config["DEMO_REGISTRY"]))
    return registry


def _settlement_id(engine, name="Электросталь") -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM settlement WHERE name_ru = :n ORDER BY population DESC NULLS LAST"
                                 " LIMIT 1"), {"n": name}).scalar()


def _cards(html: str) -> list[str]:
    return re.findall(r'<li class="card">(.*?)</li>', html, re.S)


def test_no_js_path_renders_the_nearest_list_on_the_server(client, engine, demo):
    sid = _settlement_id(engine)
    response = client.get(f"/?settlement={sid}&service=early_help")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    cards = _cards(html)
    assert "Золотой ключик" in cards[0]
    assert re.search(r'class="fact distance">\d+ м<', cards[0])
    assert re.search(r'href="tel:\+7\d{10}"', cards[0])
    assert "Открыто сейчас" in cards[0] or "Сейчас закрыто" in cards[0]
    assert 'lang="ru"' in html and "Ближайшая помощь: Электросталь" in html
    assert 'id="demo-banner" role="note">' in html  # demo data: the banner is shown, not hidden
    # The form keeps the query, so the page can be shared and changed without JavaScript.
    assert f'name="settlement" id="settlement" value="{sid}"' in html
    assert re.search(r'value="early_help" checked', html)


def test_a_typed_place_name_works_without_javascript(client, demo):
    html = client.get("/?q=г. Электросталь&service=early_help").get_data(as_text=True)
    assert "Золотой ключик" in _cards(html)[0]


def test_filters_narrow_and_the_clear_link_keeps_the_place(client, engine, demo):
    sid = _settlement_id(engine)
    html = client.get(f"/?settlement={sid}&service=early_help&age_months=180").get_data(as_text=True)
    assert "Золотой ключик" not in html.split('id="results"')[1]  # early help is for 0-3 years
    clear = re.search(r'id="clear-filters" href="([^"]+)"', html).group(1)
    assert clear == f"/?settlement={sid}"


def test_near_me_coordinates_work_without_javascript(client, demo):
    html = client.get("/?lat=55.7850&lon=38.4450&service=early_help").get_data(as_text=True)
    assert "Золотой ключик" in _cards(html)[0]
    assert "Ближайшая помощь рядом с вами" in html


@pytest.mark.parametrize("query, status, message", [
    ("settlement=999999999", 404, "Такого населённого пункта нет в справочнике"),
    ("settlement=abc", 400, "Не удалось понять, какой населённый пункт"),
    ("settlement=99999999999999999999", 400, "Не удалось понять"),
    ("q=Щщщщщщщщ", 404, "Не нашли «Щщщщщщщщ»"),
    ("settlement=1&service=nonsense", 400, "Неизвестный вид помощи"),
    ("settlement=1&age_months=-3", 400, "Возраст ребёнка"),
    ("lat=55.7", 400, "обе координаты"),
    ("lat=north&lon=38", 400, "Неверное значение lat"),
    ("lat=95&lon=38", 400, "Неверное значение lat"),
    ("lat=nan&lon=38", 400, "Неверное значение lat"),
])
def test_bad_input_gives_a_plain_message_and_the_form(client, query, status, message):
    response = client.get(f"/?{query}")
    assert response.status_code == status
    html = response.get_data(as_text=True)
    error = re.search(r'<div id="error" class="error" role="alert">([^<]*)</div>', html).group(1)
    assert message in error
    assert '<form id="search"' in html


def test_unknown_pages_and_organizations_are_plain_404_pages(client):
    for url in ("/org/999999", "/org/abc", "/org/99999999999999", "/nowhere"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert 'role="alert"' in response.get_data(as_text=True)


def test_organization_page(client, engine, demo):
    with engine.connect() as conn:
        org_id = conn.execute(text("SELECT id FROM organization WHERE name LIKE '%Золотой ключик%'")).scalar()
    html = client.get(f"/org/{org_id}").get_data(as_text=True)
    assert "Золотой ключик" in html and "Ранняя помощь" in html
    assert re.search(r'href="tel:\+7\d{10}"', html)
    assert re.search(r'href="https://yandex\.ru/maps/\?pt=38\.44\d*,55\.78\d*&amp;z=16', html)
    assert "Пн–Пт" in html and "09:00–18:00" in html
    assert "от рождения до 3 лет" in html
    assert "Московская область" in html
    assert ("Сведения проверены" in html) or ("Сведения ещё не проверялись" in html)
    assert "Демонстрационные данные" in html and 'id="demo-banner" role="note">' in html


def test_english_switch_is_remembered_in_a_cookie(client, engine, demo):
    sid = _settlement_id(engine)
    html = client.get(f"/?settlement={sid}&service=early_help&lang=en").get_data(as_text=True)
    assert 'lang="en"' in html and "Early help" in html and "Find help" in html
    assert 'href="/?settlement=' in html and "lang=ru" in html  # the switch back
    html = client.get("/").get_data(as_text=True)  # the cookie remembers
    assert 'lang="en"' in html
    html = client.get("/?lang=ru").get_data(as_text=True)
    assert 'lang="ru"' in html and "Найти помощь" in html


def test_pages_follow_the_csp_and_load_nothing_from_a_cdn(client, engine, demo):
    sid = _settlement_id(engine)
    with engine.connect() as conn:
        org_id = conn.execute(text("SELECT min(id) FROM organization")).scalar()
    for url in ("/", f"/?settlement={sid}&service=early_help", f"/org/{org_id}", "/org/0"):
        response = client.get(url)
        html = response.get_data(as_text=True)
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
        for tag in re.findall(r"<(?:script|style)\b[^>]*>", html):
            assert 'src="/static/' in tag or f'nonce="{nonce}"' in tag, (url, tag)
        assert not re.search(r"\son[a-z]+\s*=", html), url
        assert not re.search(r"\sstyle\s*=", html), url
        assert not re.search(r"unpkg|jsdelivr|cdnjs|googleapis|bootstrapcdn|code\.jquery", html), url
        for src in re.findall(r'(?:src|href)="(/static/[^"#?]+)', html):
            assert (ROOT / src.lstrip("/")).exists(), src


def test_static_files_have_no_cdn_urls_and_vendored_licences():
    for path in (ROOT / "static").rglob("*"):
        if path.is_file() and path.suffix in (".js", ".css", ".html", ".svg"):
            assert not re.search(r"unpkg|jsdelivr|cdnjs", path.read_text("utf-8", "replace")), path
    for name in ("leaflet", "leaflet.markercluster", "lucide"):
        assert (ROOT / "static" / "vendor" / name / "LICENSE").exists()


def test_the_map_is_made_by_folium_with_the_configured_tiles(client):
    html = client.get("/").get_data(as_text=True)
    assert 'var map_parents = L.map(' in html and "L.markerClusterGroup(" in html
    assert "tile.openstreetmap.org" in html and "OpenStreetMap" in html and "GeoNames (CC BY 4.0)" in html


def test_tile_url_is_configurable(database_url):
    from resourcemap import create_app
    from tests.conftest import app_settings
    app = create_app(app_settings(database_url, TILE_URL="https://tiles.example.org/{z}/{x}/{y}.png"))
    response = app.test_client().get("/")
    assert "https://tiles.example.org/{z}/{x}/{y}.png" in response.get_data(as_text=True)
    assert "https://tiles.example.org" in response.headers["Content-Security-Policy"]
    app.extensions["resourcemap.engine"].dispose()


def test_map_data_in_the_visible_area(app, client, demo):
    app.extensions.pop("resourcemap.map_grid", None)
    body = client.get("/map-data/locations?bbox=38.3,55.7,38.6,55.9").get_json()
    assert body["mode"] == "points"
    names = [i["name"] for i in body["items"]]
    assert any("Золотой ключик" in n for n in names)
    item = next(i for i in body["items"] if "Золотой ключик" in i["name"])
    assert "early_help" in item["types"] and item["synthetic"] is True
    only = client.get("/map-data/locations?bbox=38.3,55.7,38.6,55.9&service=crisis_apartment").get_json()
    assert all("crisis_apartment" in i["types"] for i in only["items"])
    world = client.get("/map-data/locations?bbox=-180,-85,180,85")  # wider than a geography envelope allows
    assert world.status_code == 200 and any("Золотой ключик" in i["name"] for i in world.get_json()["items"])
    for bad in ("", "1,2,3", "a,b,c,d", "10,10,0,0", "0,0,200,10"):
        assert client.get(f"/map-data/locations?bbox={bad}").status_code == 400
    assert client.get("/map-data/locations?bbox=0,0,1,1&service=nope").status_code == 400


def test_a_wide_view_gets_grid_counts_when_there_are_many_points(app, client, registry, monkeypatch):
    from resourcemap.public import routes
    app.extensions.pop("resourcemap.map_grid", None)
    for i in range(6):
        add_service(registry, 55.0 + i * 0.3, 37.0 + i * 0.3)
    registry.commit()
    monkeypatch.setattr(routes, "MAP_POINTS_LIMIT", 3)
    body = client.get("/map-data/locations?bbox=30,50,45,60").get_json()
    assert body["mode"] == "clusters" and sum(c["count"] for c in body["items"]) == 6


@pytest.fixture
def apartment(registry):
    ids = add_crisis_apartment(registry)
    registry.commit()
    return ids


def test_the_bbox_filters_a_confidential_place_by_its_public_point(client, apartment):
    """Shrinking the box around the exact point must not find it; a box around the public point must."""
    exact = client.get(f"/map-data/locations?bbox={SECRET_LON - 0.0005},{SECRET_LAT - 0.0005},"
                       f"{SECRET_LON + 0.0005},{SECRET_LAT + 0.0005}").get_json()
    assert exact["items"] == []
    plat, plon = snap_point(SECRET_LAT, SECRET_LON)
    public = client.get(f"/map-data/locations?bbox={plon - 0.001},{plat - 0.001},{plon + 0.001},{plat + 0.001}"
                        ).get_json()
    [item] = public["items"]
    assert (item["lat"], item["lon"]) == (plat, plon) and item["approximate"] is True


def test_sql_snapping_agrees_with_views_snap_point(engine):
    from resourcemap.data.map import _PUBLIC_POINT, _params
    params, _ = _params((0, 0, 1, 1), None)
    points = [(55.80123, 38.43987), (43.2389, 76.8897), (69.3498, 88.2010), (-33.9, 18.4), (51.1694, 71.4491),
              (64.5401, 40.5433), (55.7558, 37.6173), (77.7, 104.3)]
    sql = ("SELECT " + _PUBLIC_POINT + " FROM (SELECT true AS confidential) l, "
           "(SELECT CAST(:lat AS float8) AS lat, CAST(:lon AS float8) AS lon) ex")
    with engine.connect() as conn:
        for lat, lon in points:
            row = conn.execute(text(sql), {**params, "lat": lat, "lon": lon}).one()
            assert (round(row.plat, 4), round(row.plon, 4)) == snap_point(lat, lon), (lat, lon)


def test_no_public_page_shows_the_confidential_point_or_address(client, engine, apartment):
    sid = _settlement_id(engine)
    org = apartment["organization_id"]
    for url in (f"/?settlement={sid}&service=crisis_apartment", "/?lat=55.8001&lon=38.4402&service=crisis_apartment",
                f"/org/{org}", "/map-data/locations?bbox=38.3,55.7,38.6,55.9",
                "/map-data/locations?bbox=38.3,55.7,38.6,55.9&service=crisis_apartment",
                f"/?settlement={sid}&service=crisis_apartment&lang=en"):
        body = client.get(url).get_data(as_text=True)
        for value in (SECRET_LAT, SECRET_LON):
            i = body.find(f"{value:.4f}"); assert i < 0, (url, body[i - 300:i + 100])
        assert "Тайная" not in body and "570-33-44" not in body and "5703344" not in body, url
        assert "yandex.ru/maps" not in body and "2gis.ru" not in body, url
    html = client.get(f"/org/{org}?lang=ru").get_data(as_text=True)
    assert "Адрес не публикуется" in html and "Электросталь" in html and "tel:+74965701122" in html
