"""Bring a database's schema to the newest migration (Alembic, migrations in resourcemap/migrations)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from .migrations import lift_statement_timeout

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """Alembic's configuration for the migrations of this package on `engine`'s database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Run every pending migration in one transaction."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        lift_statement_timeout(conn)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def write_database_code(server_url: str, path: Path | None = None) -> Path:
    """Migrate a scratch database on the server of `server_url` and write the functions and triggers in force to
    `path` (resourcemap/migrations/database_code.sql); returns the path."""
    import os

    from .db import make_engine
    from .migrations.database_code import CODE_FILE, database_code, scratch_database

    path = path or CODE_FILE
    with scratch_database(server_url, f"resourcemap_code_{os.getpid()}") as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            with engine.connect() as conn:
                path.write_text(database_code(conn), encoding="utf-8")
        finally:
            engine.dispose()
    return path


def main(argv: list[str] | None = None) -> None:
    """`python -m resourcemap.schema --code`: regenerate resourcemap/migrations/database_code.sql from a freshly
    migrated scratch database on the configured server (DATABASE_URL, else the embedded cluster)."""
    import argparse

    from .config import load_config
    from .db_embedded import ensure_url

    parser = argparse.ArgumentParser(prog="python -m resourcemap.schema", description=main.__doc__)
    parser.add_argument("--code", action="store_true", required=True,
                        help="write the functions and triggers in force to resourcemap/migrations/database_code.sql")
    parser.add_argument("--server", help="a database URL whose server gets the scratch database (default: the "
                                         "configured DATABASE_URL, else the embedded cluster)")
    args = parser.parse_args(argv)
    config = load_config()
    server = args.server or config.get("DATABASE_URL") or ensure_url(config["VAR_DIR"])
    print(f"written: {write_database_code(server)}")


if __name__ == "__main__":
    main()
