"""The store directory: an immutable in-process snapshot of every location, for hot read paths.

The locator and availability run on every product page view. Locations change a few times a
year, so reading them (with their services, hours and holidays) on every request is wasted work:
each process keeps one snapshot per database and checks it with one small aggregate query
(``count``, ``sum(revision)``, ``max(id)`` of ``locations``). Every write through
:mod:`parcours.stores.service` bumps the location's ``revision`` in SQL, so the check sees a
change committed by any process.

The check itself runs at most every :data:`CHECK_INTERVAL_SECONDS` per process, and again as soon
as this process committed any write (``Database.write_generation``). So a change is seen by every
unit of work opened after its commit in the process that made it, and within
:data:`CHECK_INTERVAL_SECONDS` (one second) in every other process. As a safety net against
writes that bypass the service, a snapshot is also rebuilt after :data:`MAX_AGE_SECONDS`.

A writing unit of work (a checkout) uses the snapshot when the version it reads on its own
connection matches; what it loads is shared unchecked, so readers verify it against committed
data before serving it (a writer may see its own uncommitted changes).
"""

from __future__ import annotations

import math
import time
import weakref
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.stores.models import (
    Location,
    LocationService,
    OpeningException,
    OpeningHours,
    Service,
)
from parcours.stores.opening import Schedule

MAX_AGE_SECONDS = 60.0
#: How stale, at most, a snapshot may be when another process changed a location.
CHECK_INTERVAL_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class HoursRow:
    weekday: int
    opens: str
    closes: str


@dataclass(frozen=True, slots=True)
class ExceptionRow:
    day: date
    opens: str | None
    closes: str | None
    reason: str


@dataclass(frozen=True, slots=True, eq=False)
class StoreCard:
    """A location as read paths need it; same field names as :class:`Location`, immutable, safe
    to share between threads. ``services`` holds the service names."""

    id: str
    code: str
    kind: str
    name: str
    street: str
    postcode: str
    city: str
    country: str
    latitude: float
    longitude: float
    timezone: str
    phone: str
    active: bool
    created_at: datetime
    services: frozenset[str]
    hours: tuple[HoursRow, ...]
    exceptions: tuple[ExceptionRow, ...]
    schedule: Schedule = field(init=False, repr=False)
    # Radians and cosine of the latitude, computed once: ranking hundreds of stores per request.
    lat_rad: float = field(init=False, repr=False)
    lon_rad: float = field(init=False, repr=False)
    cos_lat: float = field(init=False, repr=False)
    # Opening answers of the current minute (see ``opening.py``): ten stores on every product
    # page ask the same questions many times a minute.
    memo: dict[Any, Any] = field(init=False, repr=False, default_factory=dict)
    # Answer shapes of the card itself (``StoreSummaryRead``), built once: it never changes.
    views: dict[Any, Any] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "schedule", Schedule.build(self))
        object.__setattr__(self, "lat_rad", math.radians(self.latitude))
        object.__setattr__(self, "lon_rad", math.radians(self.longitude))
        object.__setattr__(self, "cos_lat", math.cos(self.lat_rad))

    def offers(self, service: Service | str) -> bool:
        return Service(service).value in self.services


@dataclass(slots=True)
class Directory:
    version: tuple[Any, ...]
    built_at: float
    cards: dict[str, StoreCard]
    # When the version was last found current, and this process's write generation then.
    checked_at: float = 0.0
    checked_generation: int = -1


_snapshots: weakref.WeakKeyDictionary[Database, Directory] = weakref.WeakKeyDictionary()


_VERSION = select(
    func.count(), func.coalesce(func.sum(Location.revision), 0), func.max(Location.id)
)


def _version(uow: UnitOfWork) -> tuple[Any, ...]:
    return tuple(uow.connection().execute(_VERSION).one())


def load_cards(
    uow: UnitOfWork, location_ids: Collection[str] | None = None
) -> dict[str, StoreCard]:
    """Cards of the given locations (all when ``None``): four queries, rows not ORM objects."""

    def scoped(query: Any, column: Any) -> Any:
        return query if location_ids is None else query.where(column.in_(list(location_ids)))

    if location_ids is not None and not location_ids:
        return {}
    services: dict[str, set[str]] = defaultdict(set)
    for location_id, service in uow.connection().execute(
        scoped(
            select(LocationService.location_id, LocationService.service),
            LocationService.location_id,
        )
    ):
        services[location_id].add(service)
    hours: dict[str, list[HoursRow]] = defaultdict(list)
    for location_id, weekday, opens, closes in uow.connection().execute(
        scoped(
            select(
                OpeningHours.location_id,
                OpeningHours.weekday,
                OpeningHours.opens,
                OpeningHours.closes,
            ).order_by(OpeningHours.weekday, OpeningHours.opens),
            OpeningHours.location_id,
        )
    ):
        hours[location_id].append(HoursRow(weekday, opens, closes))
    exceptions: dict[str, list[ExceptionRow]] = defaultdict(list)
    for location_id, day, opens, closes, reason in uow.connection().execute(
        scoped(
            select(
                OpeningException.location_id,
                OpeningException.day,
                OpeningException.opens,
                OpeningException.closes,
                OpeningException.reason,
            ).order_by(OpeningException.day),
            OpeningException.location_id,
        )
    ):
        exceptions[location_id].append(ExceptionRow(day, opens, closes, reason))
    cards = {}
    columns = [c for c in Location.__table__.columns if c.name != "revision"]
    for row in uow.connection().execute(scoped(select(*columns), Location.id)).mappings():
        location_id = row["id"]
        cards[location_id] = StoreCard(
            **row,
            services=frozenset(services.get(location_id, ())),
            hours=tuple(hours.get(location_id, ())),
            exceptions=tuple(exceptions.get(location_id, ())),
        )
    return cards


def store_directory(uow: UnitOfWork) -> Directory:
    """Every location as cards: the process's snapshot if still current, else a fresh one.

    No query while the snapshot was checked less than :data:`CHECK_INTERVAL_SECONDS` ago and
    this process committed nothing since; else the version query, and the four loads if it moved.
    """
    db = uow.db
    # Read before the unit of work's first query: a write committed later is checked next time.
    generation = uow.opened_generation
    now = time.monotonic()
    snapshot = _snapshots.get(db)
    if not uow.read_only:
        # A writing unit of work may hold uncommitted location changes: it checks the version
        # on its own connection every time and uses the shared snapshot only if it matches.
        # What it loads is shared as unchecked (``checked_at`` 0): the next reader verifies its
        # version against committed data first, so a rolled-back change is never served.
        version = _version(uow)
        if (
            snapshot is not None
            and snapshot.version == version
            and now - snapshot.built_at < MAX_AGE_SECONDS
        ):
            return snapshot
        snapshot = Directory(version=version, built_at=now, cards=load_cards(uow))
        _snapshots[db] = snapshot
        return snapshot
    if (
        snapshot is not None
        and snapshot.checked_generation == generation
        and now - snapshot.checked_at < CHECK_INTERVAL_SECONDS
    ):
        return snapshot
    version = _version(uow)  # before the cards: data read after it is at least as new
    if (
        snapshot is not None
        and snapshot.version == version
        and now - snapshot.built_at < MAX_AGE_SECONDS
    ):
        # Racing threads may both get here: each writes the same kind of answer.
        snapshot.checked_at, snapshot.checked_generation = now, generation
        return snapshot
    snapshot = Directory(
        version=version,
        built_at=now,
        cards=load_cards(uow),
        checked_at=now,
        checked_generation=generation,
    )
    _snapshots[db] = snapshot
    return snapshot


def forget_directory(db: Database) -> None:
    """Drop this process's snapshot (tests, or after writing around the service)."""
    _snapshots.pop(db, None)
