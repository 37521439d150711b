"""Events recorded in a unit of work reach their handlers after commit, once, and never when the
work is rolled back."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from parcours.core.db import Database
from parcours.core.events import DomainEvent, EventBus, event
from parcours.core.outbox import MAX_ATTEMPTS, OutboxMessage, Relay
from parcours.core.uow import UnitOfWork

effects_metadata = MetaData()
effects = Table(
    "test_outbox_effects",
    effects_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("thing_id", String(40), nullable=False),
)


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class ThingHappened(DomainEvent):
    name: ClassVar[str] = "test.thing_happened"
    thing_id: str


@pytest.fixture
def effects_table(db: Database) -> Iterator[None]:
    effects_metadata.create_all(db.engine)
    yield
    effects_metadata.drop_all(db.engine)


def _write_effect(ev: ThingHappened, uow: UnitOfWork) -> None:
    uow.session.execute(insert(effects).values(thing_id=ev.thing_id))


def _effect_ids(db: Database) -> list[str]:
    with UnitOfWork(db, read_only=True) as uow:
        return list(uow.session.scalars(select(effects.c.thing_id).order_by(effects.c.id)))


def _bus(*handlers: object) -> EventBus:
    bus = EventBus()
    for handler in handlers:
        bus.subscribe(ThingHappened, handler)  # type: ignore[arg-type]
    return bus


@pytest.mark.usefixtures("effects_table")
def test_committed_events_reach_handlers_in_order(db: Database) -> None:
    with UnitOfWork(db) as uow:
        uow.record(ThingHappened(thing_id="a"))
        uow.record(ThingHappened(thing_id="b"))
        uow.commit()
    relay = Relay(db, _bus(_write_effect))
    assert relay.run_once() == 2
    assert _effect_ids(db) == ["a", "b"]
    assert relay.run_once() == 0  # nothing is delivered twice


@pytest.mark.usefixtures("effects_table")
def test_rolled_back_work_emits_nothing(db: Database) -> None:
    with UnitOfWork(db) as uow:
        uow.record(ThingHappened(thing_id="never"))
        # no commit: leaving the block rolls back
    assert Relay(db, _bus(_write_effect)).run_once() == 0
    assert _effect_ids(db) == []


@pytest.mark.usefixtures("effects_table")
def test_failing_handler_rolls_back_its_effects_and_retries_later(db: Database) -> None:
    calls = {"n": 0}

    def flaky(ev: ThingHappened, uow: UnitOfWork) -> None:
        _write_effect(ev, uow)
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("mail server down")

    with UnitOfWork(db) as uow:
        uow.record(ThingHappened(thing_id="x"))
        uow.commit()
    relay = Relay(db, _bus(flaky))
    relay.run_once()
    assert _effect_ids(db) == []  # the failed attempt's write was rolled back
    with UnitOfWork(db) as uow:
        message = uow.session.scalars(select(OutboxMessage)).one()
        assert message.attempts == 1
        assert message.last_error == "RuntimeError: mail server down"
        assert message.dispatched_at is None
        message.available_at = message.occurred_at  # skip the backoff
        uow.commit()
    assert relay.run_once() == 1
    assert _effect_ids(db) == ["x"]


@pytest.mark.usefixtures("effects_table")
def test_a_message_that_keeps_failing_is_parked_as_dead(db: Database) -> None:
    def broken(ev: ThingHappened, uow: UnitOfWork) -> None:
        raise ValueError("bad template")

    with UnitOfWork(db) as uow:
        uow.record(ThingHappened(thing_id="x"))
        uow.commit()
    relay = Relay(db, _bus(broken))
    for _ in range(MAX_ATTEMPTS):
        with UnitOfWork(db) as uow:
            message = uow.session.scalars(select(OutboxMessage)).one()
            message.available_at = message.occurred_at
            uow.commit()
        relay.run_once()
    with UnitOfWork(db, read_only=True) as uow:
        message = uow.session.scalars(select(OutboxMessage)).one()
    assert message.dead is True
    assert message.attempts == MAX_ATTEMPTS


@pytest.mark.usefixtures("effects_table")
def test_concurrent_workers_deliver_each_event_exactly_once(db: Database) -> None:
    with UnitOfWork(db) as uow:
        for i in range(120):
            uow.record(ThingHappened(thing_id=f"t{i:03d}"))
        uow.commit()
    relays = [Relay(db, _bus(_write_effect)) for _ in range(4)]
    counts = [0] * len(relays)

    def work(index: int) -> None:
        counts[index] = relays[index].run_once()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(relays))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = _effect_ids(db)
    assert sum(counts) == 120
    assert len(ids) == 120
    assert len(set(ids)) == 120
    with UnitOfWork(db, read_only=True) as uow:
        pending = uow.session.scalar(
            select(func.count()).where(OutboxMessage.dispatched_at.is_(None))
        )
    assert pending == 0


@pytest.mark.usefixtures("effects_table")
def test_in_process_relay_delivers_shortly_after_commit(db: Database) -> None:
    delivered = threading.Event()

    def notify(ev: ThingHappened, uow: UnitOfWork) -> None:
        delivered.set()

    relay = Relay(db, _bus(notify), poll_seconds=30)  # a long poll: only the wake-up can be in time
    relay.start()
    try:
        with UnitOfWork(db) as uow:
            uow.record(ThingHappened(thing_id="live"))
            uow.commit()
        assert delivered.wait(10)
    finally:
        relay.stop()
