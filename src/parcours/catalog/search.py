"""Search structures per engine over ``product_search_documents``.

SQLite: an FTS5 table (``product_search_fts``) kept in step by triggers; PostgreSQL: a GIN index
on ``to_tsvector('simple', document)``. Documents are folded and stemmed in Python first, so both
engines index the same words. The DDL is attached to the table's creation, so ``create_all`` and
the migration build the same thing.
"""

from __future__ import annotations

from sqlalchemy import Connection, event, text

from parcours.catalog.models import ProductSearchDocument

_SQLITE_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS product_search_fts USING fts5("
    "product_id UNINDEXED, document, tokenize = 'unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS product_search_fts_ai AFTER INSERT ON product_search_documents "
    "BEGIN INSERT INTO product_search_fts(product_id, document) "
    "VALUES (new.product_id, new.document); END",
    "CREATE TRIGGER IF NOT EXISTS product_search_fts_ad AFTER DELETE ON product_search_documents "
    "BEGIN DELETE FROM product_search_fts WHERE product_id = old.product_id; END",
    "CREATE TRIGGER IF NOT EXISTS product_search_fts_au AFTER UPDATE ON product_search_documents "
    "BEGIN UPDATE product_search_fts SET document = new.document "
    "WHERE product_id = old.product_id; END",
)
_POSTGRES_DDL = (
    "CREATE INDEX IF NOT EXISTS ix_product_search_documents_tsv ON product_search_documents "
    "USING gin (to_tsvector('simple', document))",
)


def install_search_index(conn: Connection) -> None:
    """Create the engine's full-text structures (idempotent)."""
    statements = _SQLITE_DDL if conn.dialect.name == "sqlite" else _POSTGRES_DDL
    for statement in statements:
        conn.execute(text(statement))


def drop_search_index(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.execute(text("DROP TABLE IF EXISTS product_search_fts"))
    else:
        conn.execute(text("DROP INDEX IF EXISTS ix_product_search_documents_tsv"))


def clear_search_index(conn: Connection) -> None:
    """Empty the FTS5 table (tests empty every table between tests)."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("DELETE FROM product_search_fts"))


@event.listens_for(ProductSearchDocument.__table__, "after_create")
def _after_create(_table: object, connection: Connection, **_kw: object) -> None:
    install_search_index(connection)
