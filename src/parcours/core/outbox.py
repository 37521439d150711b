"""Transactional outbox and its relay: no recorded event is lost, none is handled twice.

Events are written as rows in the committing transaction. The relay claims rows one by one
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the single-writer lock on SQLite), runs the handlers in
the same transaction and marks the row dispatched before committing, so several ``parcours worker``
processes can run side by side. A failing handler rolls back its own work; the row is retried with
backoff and parked as dead after ``MAX_ATTEMPTS``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from parcours.core.clock import utcnow
from parcours.core.db import Base, Database, UTCDateTime
from parcours.core.events import DomainEvent, EventBus, rebuild_event
from parcours.core.ids import new_id
from parcours.core.uow import UnitOfWork

log = logging.getLogger("parcours.outbox")

MAX_ATTEMPTS = 8


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    payload: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    available_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    dead: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_outbox_pending", "dispatched_at", "dead", "available_at"),)


def add_to_outbox(session: Session, events: Sequence[DomainEvent]) -> None:
    now = utcnow()
    for ev in events:
        session.add(
            OutboxMessage(
                id=new_id("evt"),
                name=ev.name,
                payload=json.dumps(ev.to_payload(), default=str, separators=(",", ":")),
                occurred_at=now,
                available_at=now,
                attempts=0,
                dead=False,
            )
        )


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts, 600))


class Relay:
    """Hands outbox rows to the bus: ``run_once`` drains what is due, ``start`` runs a thread."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        *,
        poll_seconds: float = 1.0,
        periodic: Sequence[Callable[[Database], None]] = (),
    ) -> None:
        self.db = db
        self.bus = bus
        self.poll_seconds = poll_seconds
        # Housekeeping the same loop runs (reservation expiry…), so that a shop running only
        # `parcours serve` needs no second process. Each task keeps its own pace.
        self.periodic = tuple(periodic)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        self._wake.set()

    def run_once(self, *, limit: int = 500) -> int:
        """Dispatch up to ``limit`` due messages; returns how many were dispatched."""
        done = 0
        while done < limit and self._dispatch_next():
            done += 1
        return done

    def _claim(self, uow: UnitOfWork) -> OutboxMessage | None:
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.dispatched_at.is_(None),
                OutboxMessage.dead.is_(False),
                OutboxMessage.available_at <= utcnow(),
            )
            .order_by(OutboxMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        return uow.session.scalars(query).first()

    def _dispatch_next(self) -> bool:
        with UnitOfWork(self.db) as uow:
            message = self._claim(uow)
            if message is None:
                return False
            message_id = message.id
            try:
                event = rebuild_event(message.name, json.loads(message.payload))
                for handler in self.bus.handlers_for(message.name):
                    handler(event, uow)
                message.dispatched_at = utcnow()
                message.attempts += 1
                uow.commit()
                return True
            except Exception as exc:  # a handler's failure must not stop the relay
                uow.rollback()
                error = f"{type(exc).__name__}: {exc}"
        log.warning("outbox handler failed", extra={"event_id": message_id, "error": error})
        self._record_failure(message_id, error)
        return True

    def _record_failure(self, message_id: str, error: str) -> None:
        with UnitOfWork(self.db) as uow:
            message = uow.session.get(OutboxMessage, message_id)
            if message is None:
                return
            message.attempts += 1
            message.last_error = error[:2000]
            message.available_at = utcnow() + _backoff(message.attempts)
            message.dead = message.attempts >= MAX_ATTEMPTS
            uow.commit()

    def run_periodic(self) -> None:
        for task in self.periodic:
            try:
                task(self.db)
            except Exception:
                log.exception("periodic task failed", extra={"task": getattr(task, "__name__", "")})

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_periodic()
            try:
                self.run_once()
            except Exception:
                log.exception("outbox relay pass failed")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def start(self) -> None:
        """Run in a background thread, woken after each commit that recorded events."""
        if self._thread is not None:
            return
        self.db.on_commit(self.wake)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="outbox-relay", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def outbox_stats(session: Session) -> dict[str, Any]:
    """Pending and dead counts, for readiness and metrics."""
    from sqlalchemy import func

    pending = session.scalar(
        select(func.count()).where(
            OutboxMessage.dispatched_at.is_(None), OutboxMessage.dead.is_(False)
        )
    )
    dead = session.scalar(select(func.count()).where(OutboxMessage.dead.is_(True)))
    return {"pending": pending or 0, "dead": dead or 0}
