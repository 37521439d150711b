"""Writing rows to the event store: one INSERT that skips messages already stored.

``ON CONFLICT DO NOTHING`` on the ``(write_key_id, message_id)`` key, through each dialect's own
insert construct, so a retried batch (the same messages again) costs no error and no duplicate.

Every insert also sets the rows' commit order, ``xact`` (see :mod:`parcours.tracking.models`):
the transaction's own id on PostgreSQL, the next value of a counter on SQLite.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    Table,
    bindparam,
    literal_column,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite

from parcours.core.clock import as_utc
from parcours.tracking.models import Event

_CONFLICT_KEY = ["write_key_id", "message_id"]


def insert_statement(dialect_name: str) -> Insert:
    """The INSERT of event rows that ignores duplicates, for ``sqlite`` or ``postgresql``."""
    table = Event.__table__
    assert isinstance(table, Table)
    if dialect_name == "postgresql":
        # The writing transaction's id, 64 bits (no wraparound): compaction reads up to the
        # oldest transaction still running, so a late commit is never passed over.
        values: dict[str, ColumnElement[Any]] = {
            column.name: bindparam(column.name, type_=column.type)
            for column in table.columns
            if column.name != "xact"
        }
        values["xact"] = literal_column("pg_current_xact_id()::text::bigint")
        return (
            postgresql.insert(table)
            .values(values)
            .on_conflict_do_nothing(index_elements=_CONFLICT_KEY)
        )
    if dialect_name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=_CONFLICT_KEY)
    raise NotImplementedError(f"no duplicate-ignoring insert for {dialect_name}")


_NEXT_COMMIT = text(
    "INSERT INTO tracking_commit_sequence (name, value) VALUES ('events', 1) "
    "ON CONFLICT (name) DO UPDATE SET value = tracking_commit_sequence.value + 1 "
    "RETURNING value"
)


def _sqlite_commit_number(connection: Connection) -> int:
    """The next value of SQLite's commit counter. Writing it takes the database's single
    writer lock, held until the transaction ends: the values follow commit order."""
    return int(connection.execute(_NEXT_COMMIT).scalar_one())


_JSON_COLUMNS = ("properties", "traits", "context")
_TIME_COLUMNS = ("timestamp", "original_timestamp", "sent_at", "received_at")
_compiled: dict[str, tuple[str, list[str]]] = {}


def _driver_statement(connection: Connection) -> tuple[str, list[str]]:
    """The dialect construct's SQL, compiled once per dialect, and its parameters' order."""
    name = connection.dialect.name
    found = _compiled.get(name)
    if found is None:
        compiled = insert_statement(name).compile(dialect=connection.dialect)
        order = list(compiled.positiontup or []) if compiled.positional else []
        found = _compiled[name] = (compiled.string, order)
    return found


def _sqlite_time(value: datetime | None) -> str | None:
    # SQLAlchemy's SQLite DATETIME storage format, of the UTC time (as UTCDateTime stores it).
    # isoformat pads the year to four digits (strftime's %Y does not before year 1000, and
    # SQLAlchemy could not read such a value back).
    if value is None:
        return None
    return as_utc(value).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def insert_ignoring_duplicates(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert event rows (``executemany``) in the connection's transaction; duplicates are
    skipped.

    The statement is the dialect's construct compiled once; the rows go to the driver with
    their values already in the column types' storage form (what SQLAlchemy's bind processors
    would produce), because at thousands of rows a second that per-value processing was the
    committer's largest cost."""
    if not rows:
        return
    sql, order = _driver_statement(connection)
    dumps = json.dumps
    if order:  # SQLite: positional parameters, times and dates as text
        xact = _sqlite_commit_number(connection)
        params: list[Any] = []
        for row in rows:
            values = dict(row)
            values["xact"] = xact
            for column in _JSON_COLUMNS:
                values[column] = dumps(values[column])
            for column in _TIME_COLUMNS:
                values[column] = _sqlite_time(values[column])
            values["day"] = values["day"].isoformat()
            params.append(tuple(values[name] for name in order))
    else:  # PostgreSQL: named parameters; JSON cast by the statement (::JSONB)
        params = []
        for row in rows:
            values = dict(row)
            for column in _JSON_COLUMNS:
                values[column] = dumps(values[column])
            for column in _TIME_COLUMNS:
                if values[column] is not None:
                    values[column] = as_utc(values[column])
            params.append(values)
    connection.exec_driver_sql(sql, params)


_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, as parcours.core.ids
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # 10 bits → 2 characters
_id_lock = threading.Lock()
_last_id = (0, 0)


def _encode(value: int, pairs: int) -> str:
    return "".join(_PAIRS[(value >> (10 * shift)) & 1023] for shift in range(pairs - 1, -1, -1))


def new_event_ids(count: int) -> list[str]:
    """``count`` event ids (``ev_…``), in the same ULID shape as :func:`parcours.core.ids.new_id`
    (48 bits of milliseconds, 80 monotonic random bits), made in one go: ingestion names
    thousands of events a second, and the committer names them in commit order."""
    global _last_id
    with _id_lock:
        millis = time.time_ns() // 1_000_000
        if millis <= _last_id[0]:
            millis, entropy = _last_id[0], _last_id[1] + 1
        else:
            entropy = int.from_bytes(os.urandom(10), "big") >> 8  # room to count up
        _last_id = (millis, entropy + count - 1)
    prefix = "ev_" + _encode(millis, 5)
    return [prefix + _encode(entropy + n, 8) for n in range(count)]
