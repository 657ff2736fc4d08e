"""The typed models describe the schema that the migrations make (tables and columns alike)."""
from contextlib import contextmanager

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from resourcemap.models import Base


@contextmanager
def migrations_in_a_transaction(engine):
    """A connection in a transaction and an Alembic config that migrates through it: (conn, cfg). Everything is
    rolled back afterwards, so the run's database stays at the newest migration."""
    from resourcemap.schema import alembic_config

    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            cfg = alembic_config(engine)
            cfg.attributes["connection"] = conn
            yield conn, cfg
        finally:
            transaction.rollback()


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
    a working history (checked inside one transaction, rolled back). Going down to 0009 also takes 0011 down."""
    from alembic import command
    from sqlalchemy import text

    def write_and_read_history(conn, n: int, *, hours_table: bool) -> list[tuple]:
        org = conn.execute(text("INSERT INTO organization (name, region_code) VALUES (:n, 'RU-MOS') RETURNING id"),
                           {"n": f"Проверка миграции {n}"}).scalar()
        hours = "" if hours_table else ", hours"
        svc = conn.execute(text(f"INSERT INTO service (organization_id, type_code{hours})"
                                f" VALUES (:o, 'early_help'{', :h' if hours else ''}) RETURNING id"),
                           {"o": org, "h": "{[540,1080)}"}).scalar()
        if hours_table:
            conn.execute(text("INSERT INTO schedule (service_id, weekday, opens_minute, closes_minute)"
                              " VALUES (:s, 1, 540, 1080)"), {"s": svc})
        return conn.execute(text("SELECT entity, organization_id = :o FROM change WHERE organization_id = :o"
                                 " OR entity_id IN (:o, :s) ORDER BY id"), {"o": org, "s": svc}).all()

    with migrations_in_a_transaction(engine) as (conn, cfg):
        command.downgrade(cfg, "0009")
        assert conn.execute(text("SELECT count(*) FROM pg_trigger WHERE tgname = 'sal_fill'")).scalar() == 1
        assert write_and_read_history(conn, 1, hours_table=True) == [
            ("organization", True), ("service", True), ("schedule", True)]
        command.upgrade(cfg, "head")
        assert conn.execute(text("SELECT count(*) FROM pg_trigger WHERE tgname = 'sal_fill'")).scalar() == 0
        assert write_and_read_history(conn, 2, hours_table=False) == [("organization", True), ("service", True)]


def test_migration_0011_carries_the_hours_over_in_both_directions(engine):
    """0011 turns the schedule table into service.hours (and a view of slots); going down gives the rows back.
    Slots that touch (09–13, 13–18) become one range; the carry-over itself is not a change in the history."""
    from alembic import command
    from sqlalchemy import text

    slots = [(1, 540, 780), (1, 780, 1080), (2, 0, 1440), (3, 1380, 1440), (4, 0, 60), (7, 600, 1440)]
    with migrations_in_a_transaction(engine) as (conn, cfg):
        command.downgrade(cfg, "0010")
        org = conn.execute(text("INSERT INTO organization (name, region_code) VALUES ('Часы', 'RU-MOS')"
                                " RETURNING id")).scalar()
        svc = conn.execute(text("INSERT INTO service (organization_id, type_code) VALUES (:o, 'early_help')"
                                " RETURNING id"), {"o": org}).scalar()
        none = conn.execute(text("INSERT INTO service (organization_id, type_code) VALUES (:o, 'legal_help')"
                                 " RETURNING id"), {"o": org}).scalar()
        for w, o, c in slots:
            conn.execute(text("INSERT INTO schedule (service_id, weekday, opens_minute, closes_minute)"
                              " VALUES (:s, :w, :o, :c)"), {"s": svc, "w": w, "o": o, "c": c})
        changes_before = conn.execute(text("SELECT count(*) FROM change")).scalar()

        command.upgrade(cfg, "head")
        hours = dict(conn.execute(text("SELECT id, hours::text FROM service WHERE id IN (:a, :b)"),
                                  {"a": svc, "b": none}).all())
        assert hours == {svc: "{[540,1080),[1440,2880),[4260,4380),[9240,10080)}", none: None}
        view = conn.execute(text("SELECT weekday, opens_minute, closes_minute FROM schedule WHERE service_id = :s"
                                 " ORDER BY weekday, opens_minute"), {"s": svc}).all()
        assert [tuple(r) for r in view] == [(1, 540, 1080), (2, 0, 1440), (3, 1380, 1440), (4, 0, 60),
                                            (7, 600, 1440)]
        assert conn.execute(text("SELECT count(*) FROM change")).scalar() == changes_before
        with conn.begin_nested() as bad:
            try:
                conn.execute(text("UPDATE service SET hours = '{[10000,10081)}' WHERE id = :s"), {"s": svc})
                raise AssertionError("hours beyond the week were accepted")
            except Exception as error:  # noqa: BLE001  the CHECK constraint
                assert "service_hours_in_week" in str(error)
                bad.rollback()

        command.downgrade(cfg, "0010")
        back = conn.execute(text("SELECT weekday, opens_minute, closes_minute FROM schedule WHERE service_id = :s"
                                 " ORDER BY weekday, opens_minute"), {"s": svc}).all()
        assert [tuple(r) for r in back] == [(1, 540, 1080), (2, 0, 1440), (3, 1380, 1440), (4, 0, 60),
                                            (7, 600, 1440)]
        command.upgrade(cfg, "head")


def test_migration_0012_drops_the_unused_spatial_indexes_and_its_downgrade_makes_them_again(engine):
    from alembic import command
    from sqlalchemy import text

    def present(conn) -> set[str]:
        return set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE indexname IN"
                                     " ('ix_sal_type_geog', 'ix_service_area_area', 'ix_service_area_drawn')"))
                   .scalars())

    with migrations_in_a_transaction(engine) as (conn, cfg):
        assert present(conn) == {"ix_service_area_drawn"}
        command.downgrade(cfg, "0011")
        assert present(conn) == {"ix_sal_type_geog", "ix_service_area_area", "ix_service_area_drawn"}
        command.upgrade(cfg, "head")
        assert present(conn) == {"ix_service_area_drawn"}


def test_migration_0013_copies_each_online_areas_kind_and_the_copy_follows_the_service(engine):
    """service_area.type_code: the service's kind on region (online) areas, NULL on radius areas; set when an area
    is written, followed when the service's kind changes; carried over by the upgrade, gone with the downgrade."""
    from alembic import command
    from sqlalchemy import text

    def kinds(conn, svc) -> list[tuple]:
        return conn.execute(text("SELECT region_code IS NOT NULL, type_code FROM service_area WHERE service_id = :s"
                                 " ORDER BY 1"), {"s": svc}).all()

    with migrations_in_a_transaction(engine) as (conn, cfg):
        org = conn.execute(text("INSERT INTO organization (name, region_code) VALUES ('Проверка 0013', 'RU-MOS')"
                                " RETURNING id")).scalar()
        svc = conn.execute(text("INSERT INTO service (organization_id, type_code, delivery)"
                                " VALUES (:o, 'hotline', 'online') RETURNING id"), {"o": org}).scalar()
        conn.execute(text("INSERT INTO service_area (service_id, region_code) VALUES (:s, 'RU-MOS')"), {"s": svc})
        conn.execute(text("INSERT INTO service_area (service_id, radius_km) VALUES (:s, 5)"), {"s": svc})
        assert kinds(conn, svc) == [(False, None), (True, "hotline")]
        conn.execute(text("UPDATE service SET type_code = 'legal_help' WHERE id = :s"), {"s": svc})
        assert kinds(conn, svc) == [(False, None), (True, "legal_help")]
        moved = conn.execute(text("INSERT INTO service_area (service_id, region_code) VALUES (:s, 'RU-TVE')"
                                  " RETURNING id"), {"s": svc}).scalar()
        conn.execute(text("UPDATE service_area SET region_code = NULL, radius_km = 3 WHERE id = :a"), {"a": moved})
        assert kinds(conn, svc) == [(False, None), (False, None), (True, "legal_help")]
        conn.execute(text("DELETE FROM service_area WHERE id = :a"), {"a": moved})

        command.downgrade(cfg, "0012")
        assert conn.execute(text("SELECT count(*) FROM information_schema.columns WHERE table_name ="
                                 " 'service_area' AND column_name = 'type_code'")).scalar() == 0
        conn.execute(text("UPDATE service SET type_code = 'early_help' WHERE id = :s"), {"s": svc})
        conn.execute(text("INSERT INTO service_area (service_id, region_code) VALUES (:s, 'RU-MOW')"), {"s": svc})
        command.upgrade(cfg, "head")
        assert kinds(conn, svc) == [(False, None), (True, "early_help"), (True, "early_help")]
        indexes = set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'service_area'"))
                      .scalars())
        assert "ix_service_area_region_type" in indexes and "ix_service_area_region" not in indexes


def test_migration_0014_goes_down_to_the_row_triggers_and_up_to_the_statement_triggers(engine):
    from alembic import command
    from sqlalchemy import text

    def refreshers(conn) -> dict[str, bool]:
        """refresh trigger -> fires once per row (tgtype bit 0)."""
        return dict(conn.execute(text("SELECT tgname, (tgtype & 1) = 1 FROM pg_trigger"
                                      " WHERE tgname LIKE '%refresh_sal' ORDER BY 1")).all())

    with migrations_in_a_transaction(engine) as (conn, cfg):
        names = ["location_refresh_sal", "organization_refresh_sal", "service_refresh_sal"]
        def map_mark_is_dynamic() -> bool:
            return "EXECUTE $q$" in conn.execute(text("SELECT prosrc FROM pg_proc WHERE proname = 'rm_map_mark'"
                                                     )).scalar()

        assert refreshers(conn) == dict.fromkeys(names, False) and map_mark_is_dynamic()
        command.downgrade(cfg, "0013")
        assert refreshers(conn) == dict.fromkeys(names, True) and not map_mark_is_dynamic()
        command.upgrade(cfg, "head")
        assert refreshers(conn) == dict.fromkeys(names, False) and map_mark_is_dynamic()


def test_migration_0016_records_a_locations_point_as_one_field_and_its_downgrade_as_two(engine):
    from alembic import command
    from sqlalchemy import text

    def move(conn, location: int, lat: float, lon: float) -> list[tuple]:
        """Move the location; the history rows the move wrote (one transaction: one change set for all)."""
        before = conn.execute(text("SELECT coalesce(max(id), 0) FROM change")).scalar()
        conn.execute(text("UPDATE location SET geog = CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography)"
                          " WHERE id = :l"), {"l": location, "lat": lat, "lon": lon})
        return conn.execute(text("SELECT field, old, new FROM change WHERE id > :b ORDER BY id"), {"b": before}).all()

    with migrations_in_a_transaction(engine) as (conn, cfg):
        org = conn.execute(text("INSERT INTO organization (name, region_code) VALUES ('Проверка 0016', 'RU-MOS')"
                                " RETURNING id")).scalar()
        location = conn.execute(text(
            "INSERT INTO location (organization_id, region_code, timezone, geog) VALUES (:o, 'RU-MOS',"
            " 'Europe/Moscow', CAST(ST_SetSRID(ST_MakePoint(38.45, 55.79), 4326) AS geography)) RETURNING id"),
            {"o": org}).scalar()
        assert conn.execute(text("SELECT new ? 'point' AND NOT new ? 'lat' FROM change WHERE entity = 'location'"
                                 " AND entity_id = :l AND op = 'insert'"), {"l": location}).scalar()
        assert move(conn, location, 55.85, 38.44) == [
            ("point", {"lat": 55.79, "lon": 38.45}, {"lat": 55.85, "lon": 38.44})]
        command.downgrade(cfg, "0015")
        assert move(conn, location, 55.8, 38.5) == [("lat", 55.85, 55.8), ("lon", 38.44, 38.5)]
        command.upgrade(cfg, "head")
        assert move(conn, location, 55.7, 38.4) == [
            ("point", {"lat": 55.8, "lon": 38.5}, {"lat": 55.7, "lon": 38.4})]


def test_migration_0017_goes_down_without_the_census_columns_and_up_with_them(engine):
    """0017's downgrade drops the census' columns (the census' settlements stay as plain rows); the upgrade makes
    them again with the quality check and the unique census id."""
    import pytest
    from alembic import command
    from sqlalchemy import text

    census_columns = {"census_id", "census_type", "children", "oktmo", "municipality", "quality"}

    def columns(conn) -> set[str]:
        return set(conn.execute(text("SELECT column_name FROM information_schema.columns"
                                     " WHERE table_name = 'settlement'")).scalars())

    with migrations_in_a_transaction(engine) as (conn, cfg):
        settlements = conn.execute(text("SELECT count(*) FROM settlement")).scalar()
        assert census_columns <= columns(conn)
        command.downgrade(cfg, "0016")
        assert not census_columns & columns(conn)
        assert conn.execute(text("SELECT count(*) FROM settlement")).scalar() == settlements
        command.upgrade(cfg, "head")
        assert census_columns <= columns(conn)
        conn.execute(text("SAVEPOINT bad_word"))
        with pytest.raises(Exception, match="ck_settlement_quality"):
            conn.execute(text("UPDATE settlement SET quality = '{doubtful}' WHERE id = 1"))
        conn.execute(text("ROLLBACK TO SAVEPOINT bad_word"))
        assert conn.execute(text("SELECT indisunique FROM pg_index WHERE indexrelid ="
                                 " 'ix_settlement_census_id'::regclass")).scalar()
