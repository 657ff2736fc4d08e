"""Configuration with one precedence: defaults < TOML file < RESOURCEMAP_* environment variables.

The file is `$RESOURCEMAP_CONFIG` if set, else `var/resourcemap.toml` when it exists.
With no database URL configured, the app uses its embedded PostgreSQL cluster under `var/`.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, object] = {
    "DATABASE_URL": None,  # None: the embedded cluster (see db_embedded.py)
    # Streaming replicas of DATABASE_URL for read-only requests (read_routing.py): a comma-separated list of URLs.
    "READ_DATABASE_URLS": [],
    # A replica whose replay is further behind the primary than this is skipped until it catches up.
    "REPLICA_MAX_LAG_SECONDS": 5.0,
    # After a staff member's own commit, their reads go to a replica only once it has replayed that commit.
    "READ_YOUR_WRITES_SECONDS": 30.0,
    "VAR_DIR": str(PROJECT_ROOT / "var"),
    "REGIONS_DIR": str(PROJECT_ROOT / "data" / "regions"),
    "DEMO_REGISTRY": str(PROJECT_ROOT / "data" / "demo" / "registry.json"),
    "STATEMENT_TIMEOUT_MS": 5000,
    "POOL_SIZE": 5,
    "TILE_URL": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    "OUTREACH_EQUIVALENT_KM": 15.0,
    # Beyond this a service is far from the family ("no such help within N km"); a service that comes to the family
    # is never far. Per kind: a TOML table [far_km_by_kind] or RESOURCEMAP_FAR_KM_BY_KIND="rehabilitation=150,...".
    "FAR_KM": 100.0,
    "FAR_KM_BY_KIND": {},
    "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
    "SECRET_KEY": None,  # required unless in demo mode (embedded database), which keeps one in var/secret_key
    "REDIS_URL": None,  # the public API's rate-limit counters shared by all workers; in memory per process when unset
    "HTTPS": False,  # served behind HTTPS: Secure cookies and HSTS
    "API_RATE_LIMIT": "600 per minute",  # the public API, per address
    # Families' problem reports (public/report.py): per client address, and per organization from all addresses.
    "REPORT_RATE_LIMIT": "5 per hour;20 per day",
    "REPORT_RATE_LIMIT_PER_ORGANIZATION": "30 per day",
    # Failed sign-ins, counted in the database for all workers (resourcemap/auth/signin_limits.py):
    "SIGNIN_LIMIT_PER_ACCOUNT": "5 per 15 minutes",  # per e-mail address, from one client address or known device
    "SIGNIN_LIMIT_PER_ADDRESS": "20 per 15 minutes",  # per client address, at any accounts
    "SIGNIN_LIMIT_ACCOUNT_WIDE": "10 per 15 minutes",  # per e-mail address from all addresses: then known devices only
    "SIGNIN_DEVICE_DAYS": 180,  # how long a browser stays a known device of an account after signing in
}

_INT_KEYS = {"STATEMENT_TIMEOUT_MS", "POOL_SIZE", "MAX_CONTENT_LENGTH", "SIGNIN_DEVICE_DAYS"}
_BOOL_KEYS = {"HTTPS"}
_FLOAT_KEYS = {"OUTREACH_EQUIVALENT_KM", "FAR_KM", "REPLICA_MAX_LAG_SECONDS", "READ_YOUR_WRITES_SECONDS"}
_LIST_KEYS = {"READ_DATABASE_URLS"}
_KM_BY_KIND_KEYS = {"FAR_KM_BY_KIND"}


def _km_by_kind(raw: str) -> dict[str, float]:
    """"rehabilitation=150,palliative_care=200" -> {"rehabilitation": 150.0, "palliative_care": 200.0}."""
    pairs = [p.split("=", 1) for p in raw.split(",") if p.strip()]
    if any(len(p) != 2 for p in pairs):
        raise ValueError(f"expected kind=km pairs separated by commas, got {raw!r}")
    return {kind.strip(): float(km) for kind, km in pairs}


def url_list(raw: str | list) -> list[str]:
    """"postgresql+psycopg://a/db, postgresql+psycopg://b/db" (or a TOML list) -> the URLs, blanks left out."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    return [item.strip() for item in items if item and item.strip()]


def load_config(overrides: dict | None = None) -> dict:
    """Return the merged settings; `overrides` (tests) win over everything."""
    settings = dict(DEFAULTS)
    path = os.environ.get("RESOURCEMAP_CONFIG") or str(Path(settings["VAR_DIR"]) / "resourcemap.toml")
    if os.path.exists(path):
        with open(path, "rb") as fh:
            settings.update({k.upper(): v for k, v in tomllib.load(fh).items()})
    for key in DEFAULTS:
        env = os.environ.get(f"RESOURCEMAP_{key}")
        if env is not None and env != "":
            settings[key] = (int(env) if key in _INT_KEYS else float(env) if key in _FLOAT_KEYS
                             else _km_by_kind(env) if key in _KM_BY_KIND_KEYS
                            else url_list(env) if key in _LIST_KEYS
                             else env.lower() in ("1", "true", "yes") if key in _BOOL_KEYS else env)
    settings.update(overrides or {})
    for key in _LIST_KEYS:
        settings[key] = url_list(settings[key] or [])
    return settings


def secret_key(settings: dict) -> str:
    """The configured secret key; in demo mode (no database URL: the embedded cluster) one generated once and
    kept in var/secret_key. Anywhere else the app refuses to start without RESOURCEMAP_SECRET_KEY."""
    if settings.get("SECRET_KEY"):
        return settings["SECRET_KEY"]
    if settings.get("DATABASE_URL"):
        raise RuntimeError("RESOURCEMAP_SECRET_KEY is not set. Set it to a long random string "
                           "(python3 -c 'import secrets; print(secrets.token_urlsafe(48))').")
    import secrets

    path = Path(settings["VAR_DIR"]) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
