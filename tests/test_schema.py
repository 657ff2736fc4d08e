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
