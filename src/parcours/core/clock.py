"""Timezone-aware UTC time, in one place so that every stored time is comparable.

Tests set the clock to a chosen instant (``set_now``) so that what depends on the day or the
hour (today's hand-overs, "yesterday", opening hours) does not depend on when they run.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

# The instant the clock was set to and the monotonic reading at that moment; None: real time.
# A plain module global, not a context variable: the live server's thread must see it too.
_set_at: tuple[datetime, float] | None = None


def utcnow() -> datetime:
    if _set_at is None:
        return datetime.now(UTC)
    instant, reading = _set_at
    return instant + timedelta(seconds=time.monotonic() - reading)


def set_now(instant: datetime | None) -> None:
    """Tests only: from here on ``utcnow()`` runs on from ``instant`` at the real pace (durations
    stay real, the day and hour are the chosen ones); ``None`` gives the real time back."""
    global _set_at
    if instant is None:
        _set_at = None
        return
    if instant.tzinfo is None:
        raise ValueError("the clock is set to an aware instant")
    _set_at = (instant.astimezone(UTC), time.monotonic())


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored as UTC, so say so."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
