"""The append-only event store: one row per message, laid out for day partitions.

``day`` (the corrected timestamp's UTC date) leads an index with ``id``, so a day is one range
scan today and one partition (PostgreSQL declarative partitioning, Parquet files) later.
``(write_key_id, message_id)`` is unique: a retried message is stored once.

``xact`` orders rows by commit, which ids cannot: ids are named before the commit, and a batch
may commit long after a later one. It is the writing transaction's id on PostgreSQL (together
with the oldest transaction still running it says what can no longer appear) and a counter
taken under the single writer's lock on SQLite. Readers that must miss nothing — the journey
lake's compaction — follow ``(xact, id)``; see docs/journeys.md.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parcours.core.db import Base, JSONDocument, UTCDateTime

#: The write key id of events recorded by other contexts (an order at the till), not sent to
#: the collection API: their message ids are unique among themselves.
DOMAIN_SOURCE_KEY = "domain"


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("write_key_id", "message_id", name="uq_events_write_key_message"),
        Index("ix_events_day_id", "day", "id"),
        Index("ix_events_anonymous_id_timestamp", "anonymous_id", "timestamp"),
        Index("ix_events_user_id_timestamp", "user_id", "timestamp"),
        Index("ix_events_profile_id_timestamp", "profile_id", "timestamp"),
        Index("ix_events_xact_id", "xact", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # ev_…, sortable
    day: Mapped[date] = mapped_column(Date)
    message_id: Mapped[str] = mapped_column(String(200))
    write_key_id: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(20))  # the key's source: web, app, till, server…
    type: Mapped[str] = mapped_column(String(10))  # track, identify, page, screen, group, alias
    event: Mapped[str | None] = mapped_column(String(200), nullable=True)  # or page/screen name
    properties: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    traits: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    context: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    anonymous_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    profile_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    group_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    previous_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    channel: Mapped[str] = mapped_column(String(20))
    store_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    utm_campaign: Mapped[str | None] = mapped_column(String(200), nullable=True)
    utm_medium: Mapped[str | None] = mapped_column(String(200), nullable=True)
    utm_source: Mapped[str | None] = mapped_column(String(200), nullable=True)
    utm_term: Mapped[str | None] = mapped_column(String(200), nullable=True)
    utm_content: Mapped[str | None] = mapped_column(String(200), nullable=True)
    device_type: Mapped[str | None] = mapped_column(String(200), nullable=True)
    session_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())  # corrected for clock skew
    original_timestamp: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Commit order (see the module's docstring); set by the insert, never by the caller.
    xact: Mapped[int] = mapped_column(BigInteger)


class ErasedEvent(Base):
    """An event whose personal data was erased (or that was deleted): the id alone, so copies
    of the event store — the journey lake — can erase it too. ``seq`` orders the log."""

    __tablename__ = "tracking_erased_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(40))
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CommitSequence(Base):
    """SQLite's commit counter of the event store (one row): taken under the writer's lock, so
    its values follow commit order. PostgreSQL uses transaction ids instead and leaves it
    empty."""

    __tablename__ = "tracking_commit_sequence"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
