"""Group commit: concurrent requests share one transaction, so throughput approaches what the
storage can commit rather than one fsync per request.

Each request hands its rows to the committer and awaits a future on its own event loop (no
thread hop for the request). A committer thread takes everything pending, assigns sessions,
inserts it all (executemany, duplicates skipped) and commits; only then are the futures resolved,
so a request is acknowledged only once its events are durable. If a shared commit fails, each
request's rows are retried alone, so one bad request cannot fail the others and nothing is ever
half-stored.

One committer thread on SQLite (one writer at a time), four on PostgreSQL, where a commit mostly
waits for its WAL flush and concurrent transactions share those flushes. Threads start on first
use and end after a while without work (or on :meth:`GroupCommitter.stop`), so apps built by
tests leave no thread behind for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from parcours.core.db import Database
from parcours.tracking.sessions import SessionTracker
from parcours.tracking.store import insert_ignoring_duplicates, new_event_ids

log = logging.getLogger("parcours.tracking")


class CommitFailed(Exception):
    """The events could not be stored (the database refused or is unreachable)."""


@dataclass(slots=True)
class _Pending:
    rows: list[dict[str, Any]]
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop


def _resolve(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the request was cancelled: nothing to tell
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


class GroupCommitter:
    def __init__(
        self,
        db: Database,
        *,
        max_rows: int | None = None,
        workers: int | None = None,
        idle_seconds: float = 30.0,
        sessions: SessionTracker | None = None,
    ) -> None:
        self.db = db
        # SQLite has one writer: one committer, large groups. PostgreSQL writes in parallel and,
        # measured on loopback, commits groups of a few hundred rows faster than larger ones.
        self.max_rows = max_rows or (5_000 if db.is_sqlite else 300)
        self.workers = workers or (1 if db.is_sqlite else 4)
        self.idle_seconds = idle_seconds
        self.sessions = sessions or SessionTracker()
        self._pending: deque[_Pending] = deque()
        self._cond = threading.Condition()
        self._threads: set[threading.Thread] = set()
        self._stopping = False
        #: Commits made and rows written, for the benchmark and tests.
        self.commits = 0
        self.rows_written = 0

    async def submit(self, rows: list[dict[str, Any]]) -> None:
        """Store ``rows``; returns once they are committed, raises :class:`CommitFailed` else."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if self._stopping:
                raise CommitFailed("the event store is shutting down")
            self._pending.append(_Pending(rows, future, loop))
            if len(self._threads) < self.workers:
                thread = threading.Thread(
                    target=self._run, name="parcours-event-committer", daemon=True
                )
                self._threads.add(thread)
                thread.start()
            self._cond.notify()
        await future

    def stop(self, timeout: float = 10.0) -> None:
        """Commit what is pending, then end the thread (the app is shutting down)."""
        with self._cond:
            self._stopping = True
            threads = list(self._threads)
            self._cond.notify_all()
        for thread in threads:
            thread.join(timeout)
        with self._cond:
            self._stopping = False

    def _take(self) -> list[_Pending] | None:
        with self._cond:
            while not self._pending:
                if self._stopping or (not self._cond.wait(self.idle_seconds) and not self._pending):
                    self._threads.discard(threading.current_thread())
                    return None
            taken = [self._pending.popleft()]
            count = len(taken[0].rows)
            while self._pending and count + len(self._pending[0].rows) <= self.max_rows:
                item = self._pending.popleft()
                taken.append(item)
                count += len(item.rows)
            return taken

    def _run(self) -> None:
        while True:
            taken = self._take()
            if taken is None:
                return
            try:
                self._commit(taken)
            except BaseException as exc:  # never leave a request waiting forever
                log.exception("event committer failed")
                for item in taken:
                    item.loop.call_soon_threadsafe(_resolve, item.future, CommitFailed(str(exc)))

    def _commit(self, taken: list[_Pending]) -> None:
        rows = [row for item in taken for row in item.rows]
        try:
            with self.db.engine.begin() as connection:
                # Named once the transaction holds the writer's lock (SQLite): ids then follow
                # commit order, so a reader of the stream by id misses nothing on SQLite.
                for row, event_id in zip(rows, new_event_ids(len(rows)), strict=True):
                    row["id"] = event_id
                    if row["message_id"] is None:
                        row["message_id"] = event_id
                self.sessions.assign(connection, rows)
                insert_ignoring_duplicates(connection, rows)
        except Exception as exc:
            if len(taken) > 1:
                for item in taken:  # find the culprit: each request alone
                    self._commit([item])
                return
            log.warning("events not stored: %s", exc)
            error: BaseException | None = CommitFailed(type(exc).__name__)
        else:
            with self._cond:
                self.commits += 1
                self.rows_written += len(rows)
            error = None
        for item in taken:
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting
                item.loop.call_soon_threadsafe(_resolve, item.future, error)
