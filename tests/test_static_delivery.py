"""What a phone downloads (issue 18): every static URL the pages use carries the file's content hash and is
cached for a year; text answers (pages, JSON, scripts, styles, the icon sprite) are compressed for a client that
accepts it; pages are revalidated; staff pages are sent uncompressed (BREACH). Sizes, never timings."""
from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import brotli
import pytest
from sqlalchemy import text

from resourcemap.registry.demo import load_demo_registry

ROOT = Path(__file__).resolve().parent.parent
IMMUTABLE = "public, max-age=31536000, immutable"
STATIC_URL = re.compile(r'(?:src|href)="(/static/[^"#]+)')


@pytest.fixture
def demo(app, engine, registry):
    load_demo_registry(engine, Path(app.config["DEMO_REGISTRY"]))
    return registry


@pytest.fixture
def pages(engine, demo) -> list[str]:
    with engine.connect() as conn:
        sid = conn.execute(text("SELECT id FROM settlement WHERE name_ru = 'Электросталь'"
                                " ORDER BY population DESC NULLS LAST LIMIT 1")).scalar()
        org = conn.execute(text("SELECT min(id) FROM organization")).scalar()
    return ["/", f"/?settlement={sid}&service=early_help", f"/org/{org}", "/org/0"]


def _digest(path: str) -> str:
    return hashlib.sha256((ROOT / path.lstrip("/")).read_bytes()).hexdigest()[:12]


def _static_urls(html: str) -> set[str]:
    return set(STATIC_URL.findall(html))


def test_every_static_url_of_the_public_pages_carries_the_files_hash(client, pages):
    seen = set()
    for page in pages:
        html = client.get(page).get_data(as_text=True)
        urls = _static_urls(html)
        assert urls, page
        for url in urls:
            path, _, query = url.partition("?")
            assert query == f"v={_digest(path)}", (page, url)
            seen.add(path)
        # The sprite's URL for the page script (cards and map pins drawn in the browser) is the same one.
        config = re.search(r'"icons": "([^"]+)"', html)
        if config:
            assert config.group(1) in urls, page
    assert {"/static/vendor/leaflet/leaflet.js", "/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
            "/static/vendor/leaflet/leaflet.css", "/static/js/app.js", "/static/css/app.css",
            "/static/icons.svg"} <= seen


def test_the_api_docs_page_loads_swagger_ui_by_fingerprinted_urls(client):
    html = client.get("/api/v1/docs").get_data(as_text=True)
    urls = re.findall(r'(/static/vendor/swagger-ui/[^"?]+)\?v=(\w+)"', html)
    assert len(urls) == 3
    assert all(v == _digest(path) for path, v in urls)


def test_fingerprinted_files_are_cached_for_a_year_and_others_briefly(client, pages):
    html = client.get("/").get_data(as_text=True)
    for url in _static_urls(html):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == IMMUTABLE, url
        assert "Cookie" not in response.headers.get("Vary", ""), url  # a cookie change must not refetch them
        assert "Set-Cookie" not in response.headers, url
        path = url.partition("?")[0]
        plain = client.get(path)  # no fingerprint, or an old one: a short cache, revalidated by ETag
        stale = client.get(path + "?v=000000000000")
        for answer in (plain, stale):
            assert answer.status_code == 200
            assert "immutable" not in answer.headers["Cache-Control"]
            assert re.fullmatch(r"public, max-age=\d{1,4}", answer.headers["Cache-Control"])
            assert answer.headers.get("ETag")


@pytest.mark.parametrize("encoding, decode", [("gzip", gzip.decompress), ("br", brotli.decompress)])
def test_text_answers_are_compressed_for_a_client_that_accepts_it(client, pages, encoding, decode):
    html = client.get("/").get_data(as_text=True)
    urls = {re.sub(r"\?.*", "", u): u for u in _static_urls(html)}
    checked = {}
    for path in ("/static/js/app.js", "/static/vendor/leaflet/leaflet.js", "/static/css/app.css",
                 "/static/vendor/leaflet/leaflet.css", "/static/icons.svg"):
        response = client.get(urls[path], headers={"Accept-Encoding": encoding})
        assert response.headers.get("Content-Encoding") == encoding, path
        assert "Accept-Encoding" in response.headers["Vary"]
        assert decode(response.data) == (ROOT / path.lstrip("/")).read_bytes(), path
        checked[path] = len(response.data)
    assert checked["/static/vendor/leaflet/leaflet.js"] < 50_000  # 147 kB as it lies in static/
    for page in pages[:3]:
        response = client.get(page, headers={"Accept-Encoding": f"{encoding}, identity;q=0.5"})
        assert response.headers.get("Content-Encoding") == encoding, page
        assert response.mimetype == "text/html"
        assert b"</html>" in decode(response.data)
    data = client.get("/map-data/locations?bbox=20,40,100,75", headers={"Accept-Encoding": encoding})
    assert data.headers.get("Content-Encoding") == encoding and decode(data.data).startswith(b"{")
    for url in ("/api/v1/settlements?q=Ново&limit=20", "/api/v1/openapi.json"):
        api = client.get(url, headers={"Accept-Encoding": encoding})
        assert api.headers.get("Content-Encoding") == encoding and decode(api.data).startswith(b"{"), url


def test_what_is_not_compressed(client, pages):
    # Without Accept-Encoding: as it is.
    js = client.get("/static/js/app.js")
    assert "Content-Encoding" not in js.headers and js.data == (ROOT / "static/js/app.js").read_bytes()
    # Tiny answers: not worth it.
    health = client.get("/api/v1/health", headers={"Accept-Encoding": "gzip"})
    assert health.status_code == 200 and "Content-Encoding" not in health.headers
    # A byte range counts bytes of the file itself.
    part = client.get("/static/js/app.js", headers={"Accept-Encoding": "gzip", "Range": "bytes=0-99"})
    assert part.status_code == 206 and "Content-Encoding" not in part.headers and len(part.data) == 100
    # Staff pages carry a CSRF token next to what the request asked for: never compressed (BREACH).
    signin = client.get("/signin?next=/curate", headers={"Accept-Encoding": "gzip, br"})
    assert signin.status_code == 200 and "csrf_token" in signin.get_data(as_text=True)
    assert "Content-Encoding" not in signin.headers


def test_a_compressed_file_revalidates_to_304(client, pages):
    html = client.get("/").get_data(as_text=True)
    url = next(u for u in _static_urls(html) if "/leaflet.js" in u)
    first = client.get(url, headers={"Accept-Encoding": "gzip"})
    again = client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["Cache-Control"] == IMMUTABLE


def test_pages_are_revalidated_not_cached(client, pages):
    for page in pages:
        response = client.get(page)
        assert response.headers["Cache-Control"] == "no-cache", page
    assert client.get("/map-data/locations?bbox=20,40,100,75").headers["Cache-Control"] == "public, max-age=60"


def test_the_first_load_of_the_map_fits_in_100_kb_gzipped(client, pages):
    """What `/` needs before any tile, compressed as sent (gzip; brotli is smaller): the issue's budget."""
    response = client.get("/", headers={"Accept-Encoding": "gzip"})
    total = len(response.data)
    for url in _static_urls(gzip.decompress(response.data).decode()):
        total += len(client.get(url, headers={"Accept-Encoding": "gzip"}).data)
    assert total < 100_000, total
