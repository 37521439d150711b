"""Background work of customers, run by ``parcours worker`` (and the in-process relay loop).

Each task is an entry point: it opens its own unit of work and commits.
"""

from __future__ import annotations

import time
import weakref
from datetime import timedelta

from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import service

#: How often the worker applies new identify / alias events from the event store.
IDENTITY_PROJECTION_SECONDS = 2.0
#: Events younger than this are left for the next run: ingestion commits may land out of id
#: order (several committers), and every commit is done well within this delay.
SETTLE_SECONDS = 10.0
BATCH = 500


def run_identity_projection(
    db: Database,
    *,
    batch: int = BATCH,
    max_batches: int = 1000,
    settle_seconds: float = SETTLE_SECONDS,
    events_without_consent: str = service.ANONYMISE,
) -> int:
    """Apply every identify and alias event stored since the last run, a batch per
    transaction (the position commits with the batch's effects); returns how many batches
    moved the position. Stopped at any point, the next run resumes where this one committed."""
    moved = 0
    for _ in range(max_batches):
        with UnitOfWork(db) as uow:
            position = service.projection_position(uow=uow)
            last = service.project_identity_events(
                uow=uow,
                after_id=position,
                limit=batch,
                received_before=utcnow() - timedelta(seconds=settle_seconds),
                events_without_consent=events_without_consent,
            )
            if last == position:
                return moved
            service.save_projection_position(uow=uow, last_event_id=last)
            uow.commit()
        moved += 1
    return moved


_last_run: weakref.WeakKeyDictionary[Database, float] = weakref.WeakKeyDictionary()


def run_periodic_tasks(
    db: Database, *, force: bool = False, events_without_consent: str = service.ANONYMISE
) -> None:
    """What the worker loop calls on every turn; each task runs at most at its own period."""
    now = time.monotonic()
    if force or now - _last_run.get(db, float("-inf")) >= IDENTITY_PROJECTION_SECONDS:
        _last_run[db] = now
        run_identity_projection(
            db, settle_seconds=SETTLE_SECONDS, events_without_consent=events_without_consent
        )
