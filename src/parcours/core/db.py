"""Database engine, declarative base and column types shared by every context.

Nothing here runs at import time: :class:`Database` is built by ``create_app`` or a CLI command,
so tests can hold several databases side by side.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Connection, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from parcours.core.clock import as_utc

if TYPE_CHECKING:
    from parcours.core.settings import Settings

# Stable constraint names: Alembic's batch mode on SQLite needs them to alter tables.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC when read back, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: store timezone-aware UTC")
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else as_utc(value)


#: JSON that is JSONB on PostgreSQL (indexable) and JSON text on SQLite.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")


_BEGIN = {"IMMEDIATE": "BEGIN IMMEDIATE", "DEFERRED": "BEGIN DEFERRED"}


def _configure_sqlite(engine: Engine) -> None:
    """WAL for concurrent readers; ``BEGIN IMMEDIATE`` for writers: lock upgrades never deadlock."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        # Straight to the driver: every unit of work begins, and SQLAlchemy's statement path
        # costs more than SQLite takes to run it. (SQLAlchemy logs "BEGIN (implicit)" itself.)
        conn.connection.dbapi_connection.execute(_BEGIN[mode])


#: Requests run their database work in the server's thread pool (AnyIO's default: 40 threads).
#: A connection pool as large keeps every busy thread on a pooled connection: connections past
#: ``pool_size`` are closed when given back, and opening one again under load costs more than the
#: query (PRAGMAs on SQLite; a forked backend and a handshake on PostgreSQL).
SQLITE_POOL_SIZE, SQLITE_MAX_OVERFLOW = 40, 10
#: Six processes of 10 + 5 fit PostgreSQL's default max_connections (100) with room to spare;
#: ``PARCOURS_DATABASE_POOL_SIZE`` and ``…_MAX_OVERFLOW`` change it (docs/deployment.md).
POSTGRES_POOL_SIZE, POSTGRES_MAX_OVERFLOW = 10, 5


def make_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    pool_timeout: float = 10.0,
) -> Engine:
    """An engine tuned per dialect; ``sqlite://`` (memory) shares one connection across threads.
    ``pool_size`` and ``max_overflow`` default per dialect (see the constants above)."""
    if url.startswith("sqlite"):
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
        else:  # a file: connections are cheap to keep, slow to open (WAL, PRAGMAs)
            kwargs.update(
                pool_size=pool_size or SQLITE_POOL_SIZE,
                max_overflow=SQLITE_MAX_OVERFLOW if max_overflow is None else max_overflow,
                pool_timeout=pool_timeout,
            )
        engine = create_engine(url, echo=echo, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        echo=echo,
        pool_size=pool_size or POSTGRES_POOL_SIZE,
        max_overflow=POSTGRES_MAX_OVERFLOW if max_overflow is None else max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        future=True,
    )


class Database:
    """An engine and the two ways to open sessions on it: for writing and for reading only."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._write = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
        read_engine = (
            engine.execution_options(sqlite_begin="DEFERRED") if self.is_sqlite else engine
        )
        self._read_engine = read_engine
        self._read = sessionmaker(bind=read_engine, expire_on_commit=False, autoflush=False)
        self._after_commit: list[Callable[[], None]] = []
        #: A new value after every commit through this engine (units of work, scripts, tests'
        #: clean-ups): caches of rarely changing data (the store directory) re-check the database
        #: when it moved.
        self.write_generation = 0
        self._generations = itertools.count(1)
        event.listen(engine, "commit", lambda _connection: self.note_write())

    @classmethod
    def from_url(cls, url: str, *, echo: bool = False) -> Database:
        return cls(make_engine(url, echo=echo))

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """The database of these settings, its pool sized as they say."""
        return cls(
            make_engine(
                settings.database_url,
                echo=settings.sql_echo,
                pool_size=settings.database_pool_size,
                max_overflow=settings.database_max_overflow,
                pool_timeout=settings.database_pool_timeout_seconds,
            )
        )

    def new_session(self, *, read_only: bool = False, bind: Connection | None = None) -> Session:
        """A session; ``bind``: run it inside that connection's transaction (read-only)."""
        if bind is not None:
            return self._read(bind=bind)
        return (self._read if read_only else self._write)()

    def read_connection(self) -> Connection:
        """A Core connection for reading (``BEGIN DEFERRED`` on SQLite, begun on first use)."""
        return self._read_engine.connect()

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` after every committed unit of work (wakes the outbox relay)."""
        self._after_commit.append(callback)

    def note_write(self) -> None:
        """Move the write generation. The engine's ``commit`` event calls it just before the
        database commits; units of work call it again just after, so that a reader racing the
        commit cannot take the old data for current under the new generation.
        Values are unique (``next`` on a count is atomic): racing writers never leave the
        generation equal to one a reader has already seen."""
        self.write_generation = next(self._generations)

    def committed(self) -> None:
        for callback in self._after_commit:
            callback()

    def dispose(self) -> None:
        self.engine.dispose()
