"""Writing rows to the event store: one INSERT that skips messages already stored.

``ON CONFLICT DO NOTHING`` on the ``(write_key_id, message_id)`` key, through each dialect's own
insert construct, so a retried batch (the same messages again) costs no error and no duplicate.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite

from parcours.core.clock import as_utc
from parcours.tracking.models import Event

_CONFLICT_KEY = ["write_key_id", "message_id"]


def insert_statement(dialect_name: str) -> Insert:
    """The INSERT of event rows that ignores duplicates, for ``sqlite`` or ``postgresql``."""
    table = Event.__table__
    assert isinstance(table, Table)
    if dialect_name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=_CONFLICT_KEY)
    if dialect_name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=_CONFLICT_KEY)
    raise NotImplementedError(f"no duplicate-ignoring insert for {dialect_name}")


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
        params: list[Any] = []
        for row in rows:
            values = dict(row)
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
