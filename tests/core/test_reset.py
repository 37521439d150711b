"""``parcours demo --reset`` starts over on either database: every Parcours table goes, and the
next migration builds them again (on PostgreSQL it did nothing while revoking the keys)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from tests.conftest import _ensure_postgres_database

from parcours.core.db import make_engine
from parcours.core.migrate import reset_database, upgrade_database


def _sibling(database_url: str, tmp_path: Path) -> str:
    """A database of the suite's kind that this test may empty: not the suite's own."""
    if database_url.startswith("postgresql"):
        url = make_url(database_url)
        sibling = url.set(database=f"{url.database}_reset").render_as_string(hide_password=False)
        _ensure_postgres_database(sibling)
        return sibling
    return f"sqlite:///{tmp_path / 'reset.db'}"


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_reset_empties_the_shop_and_migrating_again_rebuilds_it(
    database_url: str, tmp_path: Path
) -> None:
    url = _sibling(database_url, tmp_path)
    upgrade_database(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO api_keys (id, kind, name, prefix, token_hash, created_at) "
                "VALUES ('key_old', 'secret', 'old', 'sk_old', 'h', CURRENT_TIMESTAMP)"
            )
        )
    engine.dispose()
    assert {"orders", "payments", "alembic_version"} <= _tables(url)

    reset_database(url)
    assert not {"orders", "payments", "api_keys", "alembic_version"} & _tables(url)

    upgrade_database(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM api_keys")) == 0
    engine.dispose()
