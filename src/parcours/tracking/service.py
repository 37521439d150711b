"""Use cases of the event store, called by other contexts: record a domain event, read the
stream, attach events to a profile, a profile's timeline and activity, erasure and retention.

Every function takes the caller's unit of work and flushes; none commits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, case, delete, func, or_, select, text, update

from parcours.core.clock import as_utc, utcnow
from parcours.core.errors import InvalidInput
from parcours.core.pagination import decode_cursor, encode_cursor
from parcours.core.uow import UnitOfWork
from parcours.tracking.models import DOMAIN_SOURCE_KEY, ErasedEvent, Event
from parcours.tracking.normalise import (
    CHANNELS,
    CLIENT_SOURCES,
    ORDER_FACT_EVENTS,
    normalise_event_name,
    strip_personal_data,
)
from parcours.tracking.store import insert_ignoring_duplicates, new_event_ids

EVENT_TYPES = ("track", "identify", "page", "screen", "group", "alias")
#: How a person's activity names an order event a client source sent (see ORDER_FACT_EVENTS).
UNVERIFIED_CLAIM_SUFFIX = "(unverified claim)"


@dataclasses.dataclass(frozen=True, slots=True)
class StoredEvent:
    """One stored event, as other contexts see it."""

    id: str
    day: date
    message_id: str
    write_key_id: str
    source: str
    type: str
    event: str | None
    properties: dict[str, Any]
    traits: dict[str, Any]
    context: dict[str, Any]
    anonymous_id: str | None
    user_id: str | None
    profile_id: str | None
    group_id: str | None
    previous_id: str | None
    channel: str
    store_id: str | None
    utm_campaign: str | None
    utm_medium: str | None
    utm_source: str | None
    utm_term: str | None
    utm_content: str | None
    device_type: str | None
    session_id: str | None
    timestamp: datetime
    original_timestamp: datetime | None
    sent_at: datetime | None
    received_at: datetime


_FIELDS = tuple(f.name for f in dataclasses.fields(StoredEvent))


def _stored(row: Event) -> StoredEvent:
    return StoredEvent(**{name: getattr(row, name) for name in _FIELDS})


def record_domain_event(
    *,
    uow: UnitOfWork,
    name: str,
    properties: Mapping[str, Any],
    channel: str,
    occurred_at: datetime,
    store_id: str | None = None,
    user_id: str | None = None,
    anonymous_id: str | None = None,
    profile_id: str | None = None,
    message_id: str | None = None,
) -> str:
    """Record another context's fact (an order placed at the till) in the event store, on the
    same timeline as tracked events; returns the event id. A repeated ``message_id`` is stored
    once (the first event's id is returned)."""
    if channel not in CHANNELS:
        raise InvalidInput(
            f"unknown channel {channel!r}; one of {', '.join(CHANNELS)}", code="unknown_channel"
        )
    when = as_utc(occurred_at)
    now = utcnow()
    [event_id] = new_event_ids(1)
    given_message_id = message_id is not None
    message_id = message_id or event_id
    row = {
        "id": event_id,
        "day": when.date(),
        "message_id": message_id,
        "write_key_id": DOMAIN_SOURCE_KEY,
        "source": DOMAIN_SOURCE_KEY,
        "type": "track",
        "event": normalise_event_name(name),
        "properties": dict(properties),
        "traits": {},
        "context": {},
        "anonymous_id": anonymous_id,
        "user_id": user_id,
        "profile_id": profile_id,
        "group_id": None,
        "previous_id": None,
        "channel": channel,
        "store_id": store_id,
        "utm_campaign": None,
        "utm_medium": None,
        "utm_source": None,
        "utm_term": None,
        "utm_content": None,
        "device_type": None,
        "session_id": None,
        "timestamp": when,
        "original_timestamp": when,
        "sent_at": None,
        "received_at": now,
    }
    uow.session.flush()
    insert_ignoring_duplicates(uow.session.connection(), [row])
    if not given_message_id:
        return event_id  # a fresh id cannot collide: nothing to read back
    stored = uow.session.scalar(
        select(Event.id).where(
            Event.write_key_id == DOMAIN_SOURCE_KEY, Event.message_id == message_id
        )
    )
    return stored or event_id


def read_events(
    *,
    uow: UnitOfWork,
    after_id: str | None,
    types: Sequence[str] | None = None,
    limit: int = 500,
    received_before: datetime | None = None,
) -> list[StoredEvent]:
    """Events in id order after ``after_id`` (a consumer's position in the stream).

    Ids are named just before the commit, which may come late: a reader by id can pass over a
    batch that commits after it went by, even with ``received_before`` a few seconds in the
    past. A consumer that must miss nothing reads by commit order instead,
    :func:`read_committed_events`."""
    query = select(Event).order_by(Event.id).limit(max(1, min(limit, 10_000)))
    if after_id is not None:
        query = query.where(Event.id > after_id)
    if types:
        query = query.where(Event.type.in_(list(types)))
    if received_before is not None:
        query = query.where(Event.received_at < as_utc(received_before))
    return [_stored(row) for row in uow.session.scalars(query)]


#: A place in the event stream by commit order: ``(xact, id)`` of the last event read.
StreamPosition = tuple[int, str]


def stream_watermark(*, uow: UnitOfWork) -> int | None:
    """The commit order below which no event can still appear, or None when every event not
    visible yet will come after those visible (SQLite: one writer, its counter taken under the
    lock). On PostgreSQL, the oldest transaction still running: every transaction before it has
    ended, so its events are all visible, and anything committed later has a larger ``xact``."""
    if uow.session.get_bind().dialect.name == "sqlite":
        return None
    return int(uow.session.scalar(_WATERMARK))


# The snapshot's first in-progress transaction, leaving out those that belong to another
# database of the cluster (a backend never changes database; tables are per database, so they
# cannot write our events): another application's long transaction must not hold the journeys
# back. A transaction not found there (ended since, prepared) counts: the safe side. Without
# any, the snapshot's xmax: the next transaction id, larger than every one that has run.
_WATERMARK = text(
    """
    WITH snapshot AS (SELECT pg_current_snapshot() AS s)
    SELECT LEAST(
        pg_snapshot_xmax(s)::text::bigint,
        (
            SELECT min(running::text::bigint)
            FROM pg_snapshot_xip(s) AS running
            WHERE NOT EXISTS (
                SELECT 1 FROM pg_stat_activity AS elsewhere
                WHERE elsewhere.datname <> current_database()
                AND elsewhere.backend_xid::text::bigint = running::text::bigint % 4294967296
            )
        )
    )::text
    FROM snapshot
    """
)


def read_committed_events(
    *,
    uow: UnitOfWork,
    after: StreamPosition | None,
    below: int | None = None,
    limit: int = 500,
) -> list[tuple[StreamPosition, StoredEvent]]:
    """Events in commit order after ``after``, with their positions, up to the ``below``
    watermark (:func:`stream_watermark`, read first in the same unit of work). A consumer that
    moves its position only over what this returns never misses a committed event."""
    query = select(Event).order_by(Event.xact, Event.id).limit(max(1, min(limit, 10_000)))
    if after is not None:
        xact, event_id = after
        query = query.where(or_(Event.xact > xact, and_(Event.xact == xact, Event.id > event_id)))
    if below is not None:
        query = query.where(Event.xact < below)
    return [((row.xact, row.id), _stored(row)) for row in uow.session.scalars(query)]


def assign_profile(
    *,
    uow: UnitOfWork,
    profile_id: str,
    anonymous_ids: Iterable[str] = (),
    user_ids: Iterable[str] = (),
    only_unassigned: bool = False,
) -> int:
    """Attach the events of these identifiers to a profile (after identify, merge, unmerge);
    returns how many events changed."""
    anonymous = sorted(set(anonymous_ids))
    users = sorted(set(user_ids))
    changed = 0
    # Chunks keep each statement under the drivers' parameter limits.
    for column, values in ((Event.anonymous_id, anonymous), (Event.user_id, users)):
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            statement = (
                update(Event)
                .where(column.in_(chunk))
                .where(Event.profile_id.is_distinct_from(profile_id))
                .values(profile_id=profile_id)
                .execution_options(synchronize_session=False)
            )
            if only_unassigned:
                statement = statement.where(Event.profile_id.is_(None))
            changed += uow.session.execute(statement).rowcount or 0  # type: ignore[attr-defined]
    uow.session.flush()
    return changed


def events_of_profile(
    *, uow: UnitOfWork, profile_id: str, limit: int = 50, cursor: str | None = None
) -> tuple[list[StoredEvent], str | None]:
    """A profile's events across channels, newest first, a page at a time."""
    limit = max(1, min(limit, 200))
    query: Select[Event] = (
        select(Event)
        .where(Event.profile_id == profile_id)
        .order_by(Event.timestamp.desc(), Event.id.desc())
        .limit(limit + 1)
    )
    if cursor is not None:
        when_text, last_id = decode_cursor(cursor, arity=2)
        try:
            when = as_utc(datetime.fromisoformat(str(when_text)))
        except ValueError:
            raise InvalidInput("this cursor is not one we issued", code="invalid_cursor") from None
        query = query.where(
            or_(Event.timestamp < when, and_(Event.timestamp == when, Event.id < str(last_id)))
        )
    rows = [_stored(row) for row in uow.session.scalars(query)]
    page, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor(page[-1].timestamp.isoformat(), page[-1].id) if more else None
    return page, next_cursor


def profile_activity(*, uow: UnitOfWork, profile_id: str) -> dict[str, Any]:
    """First and last seen per channel and counts per event name, from one grouped query."""
    claimed = case(
        (
            and_(Event.source.in_(CLIENT_SOURCES), Event.event.in_(ORDER_FACT_EVENTS)),
            True,
        ),
        else_=False,
    )
    rows = uow.session.execute(
        select(
            Event.channel,
            func.coalesce(Event.event, Event.type),
            claimed,
            func.count(),
            func.min(Event.timestamp),
            func.max(Event.timestamp),
        )
        .where(Event.profile_id == profile_id)
        .group_by(Event.channel, func.coalesce(Event.event, Event.type), claimed)
    ).all()
    channels: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    for channel, name, is_claim, count, first, last in rows:
        if is_claim:  # a browser saying it ordered: never counted as her orders
            name = f"{name} {UNVERIFIED_CLAIM_SUFFIX}"
        first, last = _as_datetime(first), _as_datetime(last)
        seen = channels.setdefault(channel, {"first_seen": first, "last_seen": last, "events": 0})
        seen["first_seen"] = min(seen["first_seen"], first)
        seen["last_seen"] = max(seen["last_seen"], last)
        seen["events"] += count
        counts[name] = counts.get(name, 0) + count
    return {
        "channels": channels,
        "counts": counts,
        "total": sum(counts.values()),
        "first_seen": min((c["first_seen"] for c in channels.values()), default=None),
        "last_seen": max((c["last_seen"] for c in channels.values()), default=None),
    }


def has_history(
    *, uow: UnitOfWork, anonymous_id: str | None = None, profile_id: str | None = None
) -> bool:
    """Whether a device (anonymous id) or a profile did anything recorded besides saying who it
    is: a page, a product viewed, an order. Identify and alias messages are not history."""
    column = Event.anonymous_id if anonymous_id is not None else Event.profile_id
    found = uow.session.scalar(
        select(Event.id)
        .where(
            column == (anonymous_id if anonymous_id is not None else profile_id),
            Event.type.not_in(("identify", "alias")),
        )
        .limit(1)
    )
    return found is not None


def _as_datetime(value: Any) -> datetime:
    """Aggregates bypass the column type on SQLite: they come back as text."""
    if isinstance(value, datetime):
        return as_utc(value)
    return as_utc(datetime.fromisoformat(str(value)))


def anonymise_events_of(*, uow: UnitOfWork, profile_id: str) -> int:
    """Remove a person's personal data from their events (identifiers, traits, IP, user agent,
    URL queries, personal properties), keeping name, time, channel and store so aggregate counts
    stay. Returns how many events were anonymised."""
    changed = 0
    while True:
        rows = list(
            uow.session.scalars(select(Event).where(Event.profile_id == profile_id).limit(500))
        )
        if not rows:
            break
        for row in rows:
            row.properties, row.context = strip_personal_data(row.properties, row.context)
            row.traits = {}
            row.anonymous_id = row.user_id = row.profile_id = None
            row.group_id = row.previous_id = None
        _log_erased(uow, [row.id for row in rows])
        uow.session.flush()
        changed += len(rows)
    return changed


def _log_erased(uow: UnitOfWork, event_ids: Sequence[str]) -> None:
    now = utcnow()
    uow.session.add_all(ErasedEvent(event_id=event_id, erased_at=now) for event_id in event_ids)


def erased_events(
    *, uow: UnitOfWork, after_seq: int = 0, limit: int = 10_000
) -> list[tuple[int, str]]:
    """``(seq, event_id)`` of events erased since ``after_seq``, for copies of the event store
    (the journey lake) to erase them too."""
    rows = uow.session.execute(
        select(ErasedEvent.seq, ErasedEvent.event_id)
        .where(ErasedEvent.seq > after_seq)
        .order_by(ErasedEvent.seq)
        .limit(limit)
    )
    return [(seq, event_id) for seq, event_id in rows]


def erase_profile_events(*, uow: UnitOfWork, profile_id: str) -> int:
    """Right to erasure on the event store: the person's events lose every piece of personal
    data (see :func:`anonymise_events_of`); the anonymous facts stay for aggregate counts."""
    return anonymise_events_of(uow=uow, profile_id=profile_id)


def delete_events_of(*, uow: UnitOfWork, profile_id: str) -> int:
    """Drop a person's events altogether (``PARCOURS_EVENTS_WITHOUT_CONSENT=drop``); returns
    how many were deleted."""
    deleted = 0
    while True:
        ids = list(
            uow.session.scalars(select(Event.id).where(Event.profile_id == profile_id).limit(5000))
        )
        if not ids:
            break
        _log_erased(uow, ids)
        uow.session.execute(
            delete(Event).where(Event.id.in_(ids)).execution_options(synchronize_session=False)
        )
        deleted += len(ids)
    uow.session.flush()
    return deleted


def delete_events_older_than(*, uow: UnitOfWork, cutoff: datetime) -> int:
    """Retention: delete events whose corrected time is before ``cutoff``; returns the count."""
    cutoff = as_utc(cutoff)
    deleted = 0
    # By day first (the partition key, indexed), in slices so one transaction stays bounded.
    while True:
        ids = list(
            uow.session.scalars(
                select(Event.id)
                .where(Event.day <= cutoff.date(), Event.timestamp < cutoff)
                .limit(5000)
            )
        )
        if not ids:
            break
        _log_erased(uow, ids)
        uow.session.execute(
            delete(Event).where(Event.id.in_(ids)).execution_options(synchronize_session=False)
        )
        deleted += len(ids)
    uow.session.flush()
    return deleted
