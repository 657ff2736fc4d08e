"""What a phone on a slow network downloads: compressed text, fingerprinted static files cached for a year.

- **Fingerprints.** `url_for('static', filename=...)` — in every template, and so for the map's Leaflet files
  (maps.static_assets) — adds `?v=<the first 12 hex digits of the file's SHA-256>`. The digest is kept per
  process and computed again when the file's size or mtime changes. The API docs page's Swagger UI files,
  configured as plain /static/ paths, get the same parameter here.
- **Caching.** A static file asked for with its current fingerprint is sent with
  `Cache-Control: public, max-age=31536000, immutable`: a browser keeps it for a year and does not even
  revalidate it, and a changed file has another URL. Without the fingerprint (or with an old one) it gets a
  short cache (STATIC_MAX_AGE_S) and is revalidated by its ETag after that (so do the few files only a
  stylesheet names, Leaflet's control images). A static request opens no session: no `Vary: Cookie`, no
  Set-Cookie on what is cached. HTML pages are `no-cache`: every
  page carries a fresh CSP nonce, so a browser asks for the page again on each visit (back and forward still
  use its copy).
- **Compression** by Flask-Compress: brotli (quality 5) for browsers that accept it, else gzip, of HTML, JSON,
  JavaScript, CSS and SVG from 1 kB up (a smaller answer fits one packet anyway). Static files too, as they are
  sent (Flask streams them); with the fingerprints each browser fetches each file once. Not compressed: the
  staff pages and their JSON (sign-in, curators, dispatch), which carry a CSRF token or confidential
  addresses next to what the request asked for — compressing a secret together with attacker-chosen text
  leaks it by length (BREACH); and partial (206) answers, whose byte ranges count uncompressed bytes.
"""
from __future__ import annotations

import hashlib
import os
import stat

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from flask_compress import Compress
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
STATIC_MAX_AGE_S = 300
PAGE_CACHE = "no-cache"
FINGERPRINT_ARG = "v"
UNCOMPRESSED_BLUEPRINTS = frozenset({"auth", "curate", "dispatch"})
SWAGGER_UI_KEYS = ("SWAGGER_UI_CSS", "SWAGGER_UI_BUNDLE_JS", "SWAGGER_UI_STANDALONE_PRESET_JS")

COMPRESSION = {
    "COMPRESS_REGISTER": False,  # called from compress_response below, which leaves some answers alone
    "COMPRESS_ALGORITHM": ["br", "gzip"],  # every browser that sends zstd sends br too; deflate is ambiguous
    "COMPRESS_ALGORITHM_STREAMING": ["br", "gzip"],  # static files are streamed responses in Flask
    "COMPRESS_BR_LEVEL": 5,  # leaflet.js: 41 kB in ~10 ms (level 4: 44 kB; 11: 37 kB but ~0.5 s)
    "COMPRESS_LEVEL": 6,  # gzip
    "COMPRESS_MIN_SIZE": 1024,
}

class Fingerprints:
    """SHA-256 prefixes of the files under one static folder, recomputed when a file's size or mtime changes."""

    def __init__(self, folder: str):
        self.folder = folder
        self._known: dict[str, tuple[int, int, str]] = {}

    def __call__(self, filename: str) -> str | None:
        path = safe_join(self.folder, filename)
        if path is None:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        known = self._known.get(path)
        if known and known[0] == st.st_mtime_ns and known[1] == st.st_size:
            return known[2]
        with open(path, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()[:12]
        self._known[path] = (st.st_mtime_ns, st.st_size, digest)
        return digest


class NoSessionForStaticFiles(SecureCookieSessionInterface):
    """The app's cookie session, except for static files: a request for one opens no session, so its answer
    says nothing of cookies (no `Vary: Cookie`, which would make a browser revalidate every cached file after
    any cookie changes, e.g. the language; no Set-Cookie, which keeps shared caches from storing it)."""

    def open_session(self, app, request):
        if app.static_url_path and request.path.startswith(app.static_url_path.rstrip("/") + "/"):
            return None  # Flask then uses a NullSession: empty, read-only, never saved
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    if type(app.session_interface) is SecureCookieSessionInterface:
        app.session_interface = NoSessionForStaticFiles()
    fingerprint = Fingerprints(app.static_folder)
    app.extensions["resourcemap.fingerprints"] = fingerprint

    @app.url_defaults
    def fingerprinted_static(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values and FINGERPRINT_ARG not in values:
            digest = fingerprint(values["filename"])
            if digest:
                values[FINGERPRINT_ARG] = digest

    static_prefix = (app.static_url_path or "/static").rstrip("/") + "/"
    for key in SWAGGER_UI_KEYS:
        url = app.config.get(key) or ""
        if url.startswith(static_prefix) and "?" not in url and (digest := fingerprint(url[len(static_prefix):])):
            app.config[key] = f"{url}?{FINGERPRINT_ARG}={digest}"

    @app.after_request
    def cache_headers(response):
        if request.endpoint == "static" and response.status_code in (200, 304):
            asked = request.args.get(FINGERPRINT_ARG)
            current = fingerprint(request.view_args.get("filename", "")) if asked else None
            response.headers["Cache-Control"] = (IMMUTABLE if asked and asked == current
                                                 else f"public, max-age={STATIC_MAX_AGE_S}")
        elif response.mimetype == "text/html" and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = PAGE_CACHE
        return response

    for key, value in COMPRESSION.items():
        app.config.setdefault(key, value)
    compress = Compress()  # one per app: it keeps the app's settings
    compress.init_app(app)
    app.extensions["resourcemap.compress"] = compress

    @app.after_request
    def compress_response(response):
        if request.blueprint in UNCOMPRESSED_BLUEPRINTS or response.status_code == 206:
            return response
        return compress.after_request(response)
