"""The unit of work: one transaction, owned by the entry point (request, CLI command, worker).

Services receive it, change things through ``uow.session``, record events with ``uow.record`` and
flush; they never commit. The owner commits once: the events go to the outbox in that same commit,
and nothing is half-written if anything fails before it.

A read-only unit of work opens nothing until asked: hot read paths run Core statements on
``uow.connection()`` (a plain connection, without the ORM session's bookkeeping), and a session
asked for later joins that connection's transaction, so both see the same snapshot.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from parcours.core.db import Database
from parcours.core.events import DomainEvent


class UnitOfWork:
    def __init__(self, db: Database, *, read_only: bool = False) -> None:
        self.db = db
        self.read_only = read_only
        self._open = False
        self._session: Session | None = None
        self._connection: Connection | None = None
        self._events: list[DomainEvent] = []
        #: The database's write generation when this unit of work opened, before any query:
        #: caches it checks against the database are current at least up to it.
        self.opened_generation = db.write_generation

    @property
    def session(self) -> Session:
        if self._session is None:
            if not self._open:
                raise RuntimeError("the unit of work is not open: use it as a context manager")
            self._session = self.db.new_session(read_only=True, bind=self._connection)
        return self._session

    def connection(self) -> Connection:
        """The connection of this unit of work, for Core statements."""
        if self._connection is not None:
            return self._connection
        if self._session is not None or not self.read_only:
            return self.session.connection()
        if not self._open:
            raise RuntimeError("the unit of work is not open: use it as a context manager")
        self._connection = self.db.read_connection()
        return self._connection

    def __enter__(self) -> Self:
        self.opened_generation = self.db.write_generation
        self._open = True
        if not self.read_only:
            self._session = self.db.new_session()
        self._events = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """End the unit of work (again: a no-op). Closing rolls back whatever was not committed;
        unlike rollback() it leaves loaded objects readable (detached, not expired), so a caller
        may use what it read."""
        self._events = []
        self._open = False
        session, self._session = self._session, None
        connection, self._connection = self._connection, None
        try:
            if session is not None:
                session.close()
        finally:
            if connection is not None:
                connection.close()  # rolls back the read transaction, back to the pool

    @property
    def is_open(self) -> bool:
        return self._open

    @property
    def holds_connection(self) -> bool:
        """Whether closing may talk to the database (give back a connection, roll back): then
        it belongs in a worker thread, not on the event loop."""
        if self._connection is not None:
            return True
        return self._session is not None and self._session.in_transaction()

    def record(self, event: DomainEvent) -> None:
        """Remember an event; it reaches the outbox only if this unit of work commits."""
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot record events")
        self._events.append(event)

    @property
    def pending_events(self) -> tuple[DomainEvent, ...]:
        return tuple(self._events)

    def commit(self) -> None:
        from parcours.core.outbox import add_to_outbox  # the outbox is a table: avoid a cycle

        events, self._events = self._events, []
        if events:
            add_to_outbox(self.session, events)
        self.session.commit()
        self.db.note_write()
        if events:
            self.db.committed()

    def rollback(self) -> None:
        self._events = []
        if self._session is not None:
            self._session.rollback()
        if self._connection is not None:
            self._connection.rollback()
