"""Background work of notifications, run by ``parcours worker`` and the in-process relay loop.

Each task is an entry point: it opens its own units of work and commits.

Delivery runs on every pass of the loop. The relay passes once per ``PARCOURS_RELAY_POLL_SECONDS``
(1 s) and at once when woken: after every commit that recorded events, and after every commit that
queued a message (``queue_email`` asks for it). A message therefore leaves within moments of the
business change; a pass that finds nothing due costs one indexed read, without a write lock.
"""

from __future__ import annotations

import logging
import time
import weakref
from datetime import timedelta

from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.settings import Settings
from parcours.core.uow import UnitOfWork
from parcours.notifications import service
from parcours.notifications.senders import build_sender

log = logging.getLogger("parcours.notifications")

#: How often old messages lose their addresses and bodies (retention).
RETENTION_PERIOD_SECONDS = 3600.0

_last_retention: weakref.WeakKeyDictionary[Database, float] = weakref.WeakKeyDictionary()
_warned_without_sender: weakref.WeakSet[Database] = weakref.WeakSet()


def deliver_due_messages(db: Database, *, settings: Settings, limit: int = 100) -> int:
    """Send what is due with the configured sender; returns how many were sent.

    Without ``PARCOURS_SMTP_URL``: the development mailbox outside production; in production the
    messages stay queued (a warning, once per process) until a mail server is configured.
    """
    sender = build_sender(settings)
    if sender is None:
        if db not in _warned_without_sender:
            _warned_without_sender.add(db)
            log.warning(
                "PARCOURS_SMTP_URL is not set: emails stay queued until a mail server is configured"
            )
        return 0
    return service.deliver_queued_messages(db=db, sender=sender, limit=limit)


def redact_old_messages(db: Database, *, settings: Settings) -> int:
    """Clear the addresses and bodies of messages past the retention period."""
    cutoff = utcnow() - timedelta(days=settings.message_retention_days)
    with UnitOfWork(db) as uow:
        cleared = service.redact_old_messages(uow=uow, older_than=cutoff)
        uow.commit()
    return cleared


def run_periodic_tasks(db: Database, *, settings: Settings, force: bool = False) -> None:
    """What the worker loop calls on every turn: delivery each time, retention hourly."""
    deliver_due_messages(db, settings=settings)
    now = time.monotonic()
    if force or now - _last_retention.get(db, float("-inf")) >= RETENTION_PERIOD_SECONDS:
        _last_retention[db] = now
        redact_old_messages(db, settings=settings)
