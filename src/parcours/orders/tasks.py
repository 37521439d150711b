"""Background work of orders, run by ``parcours worker`` (and the in-process relay loop): orders
whose payment window closed give their stock back, so an abandoned checkout never holds units a
live shopper wants. Each task is an entry point: it opens its own unit of work and commits."""

from __future__ import annotations

import time
import weakref
from datetime import datetime

from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.orders import service

#: How often unpaid orders are swept; an order outlives its payment window by at most this.
SWEEP_SECONDS = 30.0


def cancel_unpaid_orders(db: Database, *, now: datetime | None = None, batch: int = 200) -> int:
    """Cancel every order past its payment window, a batch per transaction; returns how many."""
    total = 0
    while True:
        with UnitOfWork(db) as uow:
            cancelled = service.cancel_unpaid_orders(uow=uow, now=now, limit=batch)
            uow.commit()
        total += cancelled
        if cancelled < batch:
            return total


_last_sweep: weakref.WeakKeyDictionary[Database, float] = weakref.WeakKeyDictionary()


def run_periodic_tasks(db: Database, *, force: bool = False) -> None:
    now = time.monotonic()
    if force or now - _last_sweep.get(db, float("-inf")) >= SWEEP_SECONDS:
        _last_sweep[db] = now
        cancel_unpaid_orders(db)
