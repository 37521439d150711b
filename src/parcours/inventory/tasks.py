"""Background work of inventory, run by ``parcours worker`` (and the in-process relay loop).

Each task is an entry point: it opens its own unit of work and commits.
"""

from __future__ import annotations

import time
import weakref
from datetime import datetime

from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.inventory import service

#: How often the worker should sweep; a reservation outlives its expiry by at most this much.
EXPIRY_SWEEP_SECONDS = 30.0


def expire_due_reservations(db: Database, *, now: datetime | None = None, batch: int = 500) -> int:
    """Expire every reservation past its expiry, a batch per transaction; returns how many."""
    total = 0
    while True:
        with UnitOfWork(db) as uow:
            expired = service.expire_reservations(uow=uow, now=now, limit=batch)
            uow.commit()
        total += expired
        if expired < batch:
            return total


_last_sweep: weakref.WeakKeyDictionary[Database, float] = weakref.WeakKeyDictionary()


def run_periodic_tasks(db: Database, *, force: bool = False) -> None:
    """What the worker loop calls on every turn; each task runs at most at its own period."""
    now = time.monotonic()
    if force or now - _last_sweep.get(db, float("-inf")) >= EXPIRY_SWEEP_SECONDS:
        _last_sweep[db] = now
        expire_due_reservations(db)
