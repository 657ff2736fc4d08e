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
