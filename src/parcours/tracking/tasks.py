"""Scheduled work of the event store: retention (GDPR storage limitation)."""

from __future__ import annotations

import time
from datetime import timedelta

from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.settings import Settings
from parcours.core.uow import UnitOfWork
from parcours.tracking.service import delete_events_older_than

RETENTION_PERIOD_SECONDS = 3600.0  # how often the worker loop runs retention
_last_retention: dict[Database, float] = {}


def run_retention(
    db: Database, settings: Settings | None = None, *, retention_days: int | None = None
) -> int:
    """Delete events older than the retention period and return how many: ``retention_days``
    when given, else ``settings.event_retention_days`` (default settings when none)."""
    days = retention_days or (settings or Settings()).event_retention_days
    with UnitOfWork(db) as uow:
        deleted = delete_events_older_than(uow=uow, cutoff=utcnow() - timedelta(days=days))
        uow.commit()
    return deleted


def run_periodic_tasks(
    db: Database, *, settings: Settings | None = None, force: bool = False
) -> None:
    """For the worker loop (called every turn): retention at most once an hour."""
    now = time.monotonic()
    if force or now - _last_retention.get(db, float("-inf")) >= RETENTION_PERIOD_SECONDS:
        _last_retention[db] = now
        run_retention(db, settings)
