"""Scheduled work of the journey lake: compaction of the event store, erasures, retention."""

from __future__ import annotations

import time

from parcours.core.db import Database
from parcours.core.settings import Settings
from parcours.journeys.compaction import compact_events
from parcours.journeys.lake import Lake

_last_run: dict[Database, float] = {}


def run_periodic_tasks(db: Database, *, settings: Settings, force: bool = False) -> None:
    """For the worker loop (called every turn): compact at most every
    ``journeys_compact_seconds``."""
    now = time.monotonic()
    if not force and now - _last_run.get(db, float("-inf")) < settings.journeys_compact_seconds:
        return
    _last_run[db] = now
    compact_events(
        db=db, lake=Lake(settings.lake_dir), retention_days=settings.event_retention_days
    )
