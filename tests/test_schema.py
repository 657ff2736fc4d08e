"""The typed models describe the schema that the migrations make (tables and columns alike)."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from resourcemap.models import Base


def test_mappers_configure():
    from sqlalchemy.orm import configure_mappers

    configure_mappers()  # every relationship and back_populates resolves


def test_models_match_the_migrated_schema(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # Indexes are made by the migrations (GiST, trigram, partial) and not all declared on the models;
    # spatial_ref_sys belongs to PostGIS.
    significant = [d for d in diff if not (isinstance(d, tuple) and d[0] in ("add_index", "remove_index"))
                   and not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "spatial_ref_sys")]
    assert significant == []


def test_every_kind_of_help_has_its_knn_index(engine):
    """search/nearest.py relies on ix_sal_knn_<code> (migration 0007) for each kind of help."""
    from sqlalchemy import text

    with engine.connect() as conn:
        missing = conn.execute(text(
            "SELECT code FROM taxonomy_term t WHERE NOT EXISTS (SELECT 1 FROM pg_indexes"
            " WHERE tablename = 'service_at_location' AND indexname = 'ix_sal_knn_' || t.code)")).scalars().all()
    assert missing == []


def test_migration_0010_goes_down_and_up_and_the_history_keeps_its_organizations(engine):
    """0010 replaces 0008's history function and the service_at_location fill trigger; both directions must leave
    a working history (checked inside one transaction, rolled back)."""
    from alembic import command
    from sqlalchemy import text

    from resourcemap.schema import alembic_config

    def write_and_read_history(conn, n: int) -> list[tuple]:
        org = conn.execute(text("INSERT INTO organization (name, region_code) VALUES (:n, 'RU-MOS') RETURNING id"),
                           {"n": f"Проверка миграции {n}"}).scalar()
        svc = conn.execute(text("INSERT INTO service (organization_id, type_code) VALUES (:o, 'early_help')"
                                " RETURNING id"), {"o": org}).scalar()
        conn.execute(text("INSERT INTO schedule (service_id, weekday, opens_minute, closes_minute)"
                          " VALUES (:s, 1, 540, 1080)"), {"s": svc})
        return conn.execute(text("SELECT entity, organization_id = :o FROM change WHERE organization_id = :o"
                                 " OR entity_id IN (:o, :s) ORDER BY id"), {"o": org, "s": svc}).all()

    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            cfg = alembic_config(engine)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0009")
            assert conn.execute(text("SELECT count(*) FROM pg_trigger WHERE tgname = 'sal_fill'")).scalar() == 1
            assert write_and_read_history(conn, 1) == [("organization", True), ("service", True),
                                                       ("schedule", True)]
            command.upgrade(cfg, "head")
            assert conn.execute(text("SELECT count(*) FROM pg_trigger WHERE tgname = 'sal_fill'")).scalar() == 0
            assert write_and_read_history(conn, 2) == [("organization", True), ("service", True),
                                                       ("schedule", True)]
        finally:
            transaction.rollback()
