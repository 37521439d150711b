"""Running Alembic from code: ``parcours migrate``, the demo and the test suite use this."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

from parcours.core.db import make_engine

# Engine-specific search structures live outside the metadata: FTS5 and its shadow tables on
# SQLite, the expression GIN index on PostgreSQL (see catalog/search.py).
IGNORED_TABLE_PREFIXES = ("product_search_fts",)
IGNORED_INDEXES = frozenset({"ix_product_search_documents_tsv"})


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Tell Alembic's comparison to leave the search engine's own structures alone."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(IGNORED_TABLE_PREFIXES)
    if type_ == "index":
        return name not in IGNORED_INDEXES
    return True


def migrations_dir() -> Path:
    """The Alembic history: ``migrations/`` at the project root in a checkout, shipped inside
    the package (``parcours/migrations``) in a built wheel."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "migrations", package.parent.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("the Alembic migrations folder is missing from this installation")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision``; SQLite files get their folder created."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def reset_database(url: str) -> None:
    """Empty the database at ``url`` of Parcours's tables, so the next upgrade starts afresh
    (``parcours demo --reset``): the SQLite file is deleted; on PostgreSQL every table of the
    schema's metadata, the search index and Alembic's version table are dropped — and nothing
    else in that database."""
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            path = Path(url.removeprefix("sqlite:///"))
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    from sqlalchemy import text

    from parcours.catalog.search import drop_search_index
    from parcours.models import Base

    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            drop_search_index(connection)
            Base.metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()
