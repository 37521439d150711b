"""Sessions: a visitor's events belong to one session until 30 minutes pass without an event or
a new campaign arrives.

Computed at ingestion, in the committer thread, from an in-process LRU of each visitor's last
event time, campaign and session; a visitor missing from it is looked up in the database (its
latest event within the inactivity window), all missing visitors of a commit in one query.

Approximation across processes: two API processes each keep their own LRU, so a visitor whose
events alternate between processes within seconds may get two sessions (each process sees the
other's events only once they are committed and its own entry is missing). Events that arrive
out of order (older than the visitor's last event) join the current session. Analytics that
need exact sessions recompute them from the stored timestamps.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, or_, select

from parcours.core.clock import as_utc
from parcours.core.ids import new_id
from parcours.tracking.models import Event

INACTIVITY = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class VisitorState:
    session_id: str
    last_seen: datetime
    campaign: str | None


def visitor_key(row: dict[str, Any]) -> str | None:
    """The device's anonymous id when there is one (it spans a sign-in), else the user id;
    none for events sent without analytics consent (their one-off ids belong to no visitor)."""
    consent = row["context"].get("consent")
    if isinstance(consent, dict) and consent.get("analytics") is False:
        return None
    anonymous_id: str | None = row["anonymous_id"]
    user_id: str | None = row["user_id"]
    if anonymous_id:
        return "a:" + anonymous_id
    if user_id:
        return "u:" + user_id
    return None


class SessionTracker:
    """Assigns ``session_id`` to rows about to be stored; one per app, used by one thread."""

    def __init__(self, *, capacity: int = 100_000, inactivity: timedelta = INACTIVITY) -> None:
        self.capacity = capacity
        self.inactivity = inactivity
        self._visitors: OrderedDict[str, VisitorState] = OrderedDict()
        self._lock = threading.Lock()  # committers of PostgreSQL run side by side

    def assign(self, connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Set each row's session and remember the visitors' new states. If the rows are then
        not committed, the visitors' next events simply continue those sessions."""
        with self._lock:
            self.remember(self._assign(connection, rows))

    def _assign(
        self, connection: Connection, rows: Sequence[dict[str, Any]]
    ) -> dict[str, VisitorState]:
        keyed = [(visitor_key(row), row) for row in rows]
        missing = {key for key, _ in keyed if key is not None and key not in self._visitors}
        states: dict[str, VisitorState | None] = {}
        if missing:
            oldest = min(row["timestamp"] for _, row in keyed) - self.inactivity
            states.update(self._load(connection, missing, oldest))
        for key, row in sorted(
            (pair for pair in keyed if pair[0] is not None), key=lambda pair: pair[1]["timestamp"]
        ):
            assert key is not None
            state = states[key] if key in states else self._visitors.get(key)
            when: datetime = row["timestamp"]
            campaign = row["utm_campaign"]
            if (
                state is None
                or when - state.last_seen > self.inactivity
                or (campaign is not None and campaign != state.campaign)
            ):
                state = VisitorState(new_id("ses"), when, campaign)
            elif when > state.last_seen:
                state = VisitorState(state.session_id, when, state.campaign)
            row["session_id"] = state.session_id
            states[key] = state
        return {key: state for key, state in states.items() if state is not None}

    def remember(self, states: dict[str, VisitorState]) -> None:
        for key, state in states.items():
            self._visitors[key] = state
            self._visitors.move_to_end(key)
        while len(self._visitors) > self.capacity:
            self._visitors.popitem(last=False)

    def forget(self, keys: Iterable[str] = ()) -> None:
        """Drop visitors (all when ``keys`` is empty): used after erasure and by tests."""
        keys = list(keys)
        with self._lock:
            if not keys:
                self._visitors.clear()
            for key in keys:
                self._visitors.pop(key, None)

    def _load(
        self, connection: Connection, keys: set[str], since: datetime
    ) -> dict[str, VisitorState | None]:
        """The latest stored event of each visitor within the window, in one query."""
        found: dict[str, VisitorState | None] = dict.fromkeys(keys)
        anonymous = [key[2:] for key in keys if key.startswith("a:")]
        users = [key[2:] for key in keys if key.startswith("u:")]
        for start in range(0, max(len(anonymous), len(users)), 400):
            conditions: list[ColumnElement[bool]] = []
            if anonymous[start : start + 400]:
                conditions.append(Event.anonymous_id.in_(anonymous[start : start + 400]))
            if users[start : start + 400]:
                conditions.append(
                    Event.user_id.in_(users[start : start + 400]) & Event.anonymous_id.is_(None)
                )
            query = (
                select(
                    Event.anonymous_id,
                    Event.user_id,
                    Event.session_id,
                    Event.timestamp,
                    Event.utm_campaign,
                )
                .where(or_(*conditions), Event.timestamp >= since)
                .order_by(Event.timestamp)
            )
            for anonymous_id, user_id, session_id, when, campaign in connection.execute(query):
                if session_id is None:
                    continue
                key = f"a:{anonymous_id}" if anonymous_id else f"u:{user_id}"
                if key in found:
                    found[key] = VisitorState(session_id, as_utc(when), campaign)
        return found
