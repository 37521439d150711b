"""The unit of work: one transaction, owned by the entry point (request, CLI command, worker).

Services receive it, change things through ``uow.session``, record events with ``uow.record`` and
flush; they never commit. The owner commits once: the events go to the outbox in that same commit,
and nothing is half-written if anything fails before it.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session

from parcours.core.db import Database
from parcours.core.events import DomainEvent


class UnitOfWork:
    def __init__(self, db: Database, *, read_only: bool = False) -> None:
        self.db = db
        self.read_only = read_only
        self._session: Session | None = None
        self._events: list[DomainEvent] = []

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use it as a context manager")
        return self._session

    def __enter__(self) -> Self:
        self._session = self.db.new_session(read_only=self.read_only)
        self._events = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Closing rolls back whatever was not committed; unlike rollback() it leaves loaded
        # objects readable (detached, not expired), so a caller may use what it read.
        self._events = []
        self.session.close()
        self._session = None

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
        if events:
            self.db.committed()

    def rollback(self) -> None:
        self._events = []
        if self._session is not None:
            self._session.rollback()
