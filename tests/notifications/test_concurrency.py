"""Several delivery workers may run at once (``parcours worker`` processes, the API's relay):
each message goes out exactly once. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.notifications.senders import OutgoingEmail
from parcours.notifications.service import claim_due_messages, deliver_queued_messages

from .conftest import QueueEmail

MESSAGES = 50


class SlowSender:
    """Takes a little while per message, so that the workers' passes overlap."""

    name = "test"

    def __init__(self, log: list[tuple[str, str]], lock: threading.Lock, worker: str) -> None:
        self.log, self.lock, self.worker = log, lock, worker

    def send(self, email: OutgoingEmail) -> None:
        time.sleep(0.003)
        with self.lock:
            self.log.append((self.worker, email.message_id))

    def close(self) -> None:
        return None


def test_two_workers_never_send_a_message_twice(db: Database, queue: QueueEmail) -> None:
    ids = {queue(reference=f"ord_{n}") for n in range(MESSAGES)}
    sent: list[tuple[str, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(2)
    counts: dict[str, int] = {}
    errors: list[BaseException] = []

    def work(worker: str) -> None:
        try:
            start.wait(5)
            sender = SlowSender(sent, lock, worker)
            counts[worker] = deliver_queued_messages(db=db, sender=sender, limit=MESSAGES)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(name,)) for name in ("a", "b")]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(60)

    assert errors == []
    times_sent = Counter(message_id for _, message_id in sent)
    assert set(times_sent) == ids
    assert set(times_sent.values()) == {1}
    assert counts["a"] + counts["b"] == MESSAGES
    # Both workers had work: the claims really interleaved.
    assert {worker for worker, _ in sent} == {"a", "b"}


@pytest.mark.postgres_only
def test_a_claim_skips_the_messages_another_worker_is_claiming(
    db: Database, queue: QueueEmail
) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has one writer at a time: there are no row locks to skip")
    ids = {queue(reference=f"ord_{n}") for n in range(3)}
    with UnitOfWork(db) as first:
        held, _ = claim_due_messages(uow=first, token="clm_first", limit=2)
        # The first transaction is still open, its rows locked: the second skips them.
        with UnitOfWork(db) as second:
            other, _ = claim_due_messages(uow=second, token="clm_second", limit=10)
            second.commit()
        first.commit()
    held_ids, other_ids = {m.id for m in held}, {m.id for m in other}
    assert len(held_ids) == 2
    assert held_ids.isdisjoint(other_ids)
    assert held_ids | other_ids == ids
