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
    "VAR_DIR": str(PROJECT_ROOT / "var"),
    "REGIONS_DIR": str(PROJECT_ROOT / "data" / "regions"),
    "DEMO_REGISTRY": str(PROJECT_ROOT / "data" / "demo" / "registry.json"),
    "STATEMENT_TIMEOUT_MS": 5000,
    "POOL_SIZE": 5,
    "TILE_URL": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    "OUTREACH_EQUIVALENT_KM": 15.0,
    "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
}

_INT_KEYS = {"STATEMENT_TIMEOUT_MS", "POOL_SIZE", "MAX_CONTENT_LENGTH"}
_FLOAT_KEYS = {"OUTREACH_EQUIVALENT_KM"}


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
            settings[key] = int(env) if key in _INT_KEYS else float(env) if key in _FLOAT_KEYS else env
    settings.update(overrides or {})
    return settings
