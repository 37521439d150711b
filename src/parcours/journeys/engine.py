"""DuckDB over the journey lake plus the events not compacted yet: the engine every analysis
queries.

Each query opens its own in-memory DuckDB connection (a few milliseconds) with two views:
``events`` and ``items``, the lake's Parquet files and the *tail* (live events newer than the
last compaction, read from the event store at query time, so a result is never more than a
moment old). Both views add ``person_id``: the profile when known, else the device's profile
through the identity links (a visitor who signed in after browsing is one person), else the
device itself (``a:<anonymous id>``). Rows with neither belong to nobody and are left out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from parcours.journeys.lake import Lake
from parcours.journeys.schema import EVENTS, ITEMS


@dataclass(frozen=True, slots=True)
class Tail:
    """Live rows newer than the lake, and the anonymous id → profile links known now."""

    events: pa.Table
    items: pa.Table
    links: pa.Table  # anonymous_id, profile_id
    position: str | None = None  # the lake position the tail was read after


LINKS = pa.schema([("anonymous_id", pa.string()), ("profile_id", pa.string())])
EMPTY_TAIL = Tail(EVENTS.empty_table(), ITEMS.empty_table(), LINKS.empty_table())


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class JourneyEngine:
    """Runs SQL over the journey tables. ``tail`` is called once per query (it reads the event
    store); without it the engine reads the lake alone (imports, benchmarks, tests)."""

    def __init__(
        self,
        lake: Lake,
        *,
        tail: Callable[[], Tail] | None = None,
        threads: int | None = None,
        memory_limit: str | None = None,
        tail_seconds: float = 2.0,
    ) -> None:
        self.lake = lake
        self._tail = tail
        self.threads = threads
        self.memory_limit = memory_limit
        # A page runs several queries (the default period, then the analysis): they share one
        # read of the tail and the identity links instead of each going to the event store.
        self.tail_seconds = tail_seconds
        self._cached: tuple[float, Tail] | None = None
        self._lock = threading.Lock()

    def tail(self) -> Tail:
        """The live rows, read at most once every ``tail_seconds``."""
        if self._tail is None:
            return EMPTY_TAIL
        with self._lock:
            now = time.monotonic()
            if (
                self._cached is None
                or now - self._cached[0] >= self.tail_seconds
                # compacted since: the cached rows are in the lake now
                or self._cached[1].position != self.lake.state().get("position")
            ):
                self._cached = (now, self._tail())
            return self._cached[1]

    @contextmanager
    def connect(
        self, *, origins: Sequence[str] | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection with the ``events`` and ``items`` views (optionally of some origins)."""
        con = duckdb.connect(":memory:")
        try:
            if self.threads:
                con.execute(f"SET threads = {int(self.threads)}")
            if self.memory_limit:
                con.execute(f"SET memory_limit = {_quote(self.memory_limit)}")
            tail = self.tail()
            con.register("events_tail", tail.events)
            con.register("items_tail", tail.items)
            con.register("identity_links", tail.links)
            for table in ("events", "items"):
                con.execute(self._view_sql(table, tail, origins))
            yield con
        finally:
            con.close()

    def _view_sql(self, table: str, tail: Tail, origins: Sequence[str] | None) -> str:
        schema = EVENTS if table == "events" else ITEMS
        columns = ", ".join(schema.names)
        files = [str(path) for path in self.lake.files(table)]
        sources = [f"SELECT {columns} FROM {table}_tail"]
        if files:
            listed = ", ".join(_quote(path) for path in files)
            sources.insert(0, f"SELECT {columns} FROM read_parquet([{listed}])")
        union = " UNION ALL ".join(sources)
        if tail.links.num_rows:
            person = "COALESCE(r.profile_id, l.profile_id, 'a:' || r.anonymous_id)"
            joined = (
                f"({union}) r LEFT JOIN identity_links l "
                "ON r.profile_id IS NULL AND l.anonymous_id = r.anonymous_id"
            )
        else:
            person, joined = "COALESCE(r.profile_id, 'a:' || r.anonymous_id)", f"({union}) r"
        body = f"SELECT r.*, {person} AS person_id FROM {joined}"
        condition = "person_id IS NOT NULL"
        if origins is not None:
            listed = ", ".join(_quote(o) for o in origins) or "''"
            condition += f" AND origin IN ({listed})"
        return f"CREATE TEMP VIEW {table} AS SELECT * FROM ({body}) v WHERE {condition}"

    def rows(
        self, sql: str, params: Sequence[Any] | None = None, *, origins: Sequence[str] | None = None
    ) -> list[tuple[Any, ...]]:
        """Run one query and return its rows."""
        with self.connect(origins=origins) as con:
            return con.execute(sql, list(params or [])).fetchall()

    def arrow(
        self, sql: str, params: Sequence[Any] | None = None, *, origins: Sequence[str] | None = None
    ) -> pa.Table:
        with self.connect(origins=origins) as con:
            return con.execute(sql, list(params or [])).to_arrow_table()
