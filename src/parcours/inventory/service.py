"""Use cases of inventory: count and adjust stock, reserve it, move it, say where it is.

Never oversold, on SQLite and PostgreSQL alike: every change of a stock row is one conditional
``UPDATE … WHERE <enough is left> RETURNING …``. The database applies it atomically under its row
lock (PostgreSQL re-checks the condition against the latest row after waiting; SQLite has one
writer at a time), so a check and its write can never be split by another transaction. The check
constraints on ``stock_levels`` stay as the last line of defence.

Reservations expire: ``reserve_stock`` first expires what is due on the same stock row (so a dead
cart never blocks a live shopper), and :func:`expire_reservations` sweeps the rest; the worker
calls it periodically (see ``inventory/tasks.py``). Reads never write: between sweeps an expired
reservation still counts as reserved, which can only under-promise, never oversell.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Select, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from parcours.catalog import service as catalog
from parcours.core.clock import utcnow
from parcours.core.errors import Conflict, InvalidInput, NotFound
from parcours.core.ids import new_id
from parcours.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from parcours.core.uow import UnitOfWork
from parcours.inventory.events import BackInStock, OutOfStock, StockReleased, StockReserved
from parcours.inventory.models import (
    MovementKind,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
    TransferStatus,
)
from parcours.stores import service as stores
from parcours.stores.directory import StoreCard
from parcours.stores.models import LocationKind, Service

#: Default life of a reservation when the caller gives none (the API uses the settings' value).
DEFAULT_RESERVATION_TTL_SECONDS = 15 * 60
#: Up to this many units available, a store shows "low" rather than "in stock".
DEFAULT_LOW_STOCK_THRESHOLD = 3
#: Click-and-collect from the store's own shelf: picked and ready this long after ordering.
COLLECT_PREPARATION = timedelta(hours=2)
#: Stock sent from the warehouse or another store arrives this long after the order
#: (and the transfer's ``expected_at``); it is then ready one hour after the next opening.
TRANSFER_LEAD_TIME = timedelta(days=2)
#: When an order is ready outside opening hours, staff prepare it first thing.
READY_AFTER_OPENING = timedelta(hours=1)

StockLevelName = Literal["in_stock", "low", "out_of_stock"]

_AVAILABLE = StockLevel.on_hand - StockLevel.reserved - StockLevel.safety_stock
# Objects already loaded in the session are refreshed from RETURNING (no extra query).
_SYNC = {"synchronize_session": "fetch"}


@dataclass(frozen=True, slots=True)
class Stock:
    """A stock row as it stands after a change (or a read)."""

    variant_id: str
    location_id: str
    on_hand: int
    reserved: int
    safety_stock: int
    updated_at: datetime

    @property
    def available(self) -> int:
        return max(0, self.on_hand - self.reserved - self.safety_stock)


@dataclass(frozen=True, slots=True)
class StockChange:
    stock: Stock
    movement: StockMovement


_STOCK_COLUMNS = (
    StockLevel.variant_id,
    StockLevel.location_id,
    StockLevel.on_hand,
    StockLevel.reserved,
    StockLevel.safety_stock,
    StockLevel.updated_at,
)


def _stock(row: Any) -> Stock:
    return Stock(
        variant_id=row.variant_id,
        location_id=row.location_id,
        on_hand=row.on_hand,
        reserved=row.reserved,
        safety_stock=row.safety_stock,
        updated_at=row.updated_at,
    )


def _key(variant_id: str, location_id: str) -> ColumnElement[bool]:
    return and_(StockLevel.variant_id == variant_id, StockLevel.location_id == location_id)


def level_of(available: int, *, low_threshold: int = DEFAULT_LOW_STOCK_THRESHOLD) -> StockLevelName:
    """``out_of_stock`` at 0, ``low`` up to the threshold, ``in_stock`` above."""
    if available <= 0:
        return "out_of_stock"
    return "low" if available <= low_threshold else "in_stock"


# --- reading stock ----------------------------------------------------------------------------


def get_stock(*, uow: UnitOfWork, variant_id: str, location_id: str) -> Stock | None:
    """The stock row of a variant at a location; ``None`` means none was ever counted (0)."""
    row = uow.session.execute(
        select(*_STOCK_COLUMNS).where(_key(variant_id, location_id))
    ).one_or_none()
    return None if row is None else _stock(row)


def list_stock(
    *,
    uow: UnitOfWork,
    location_id: str | None = None,
    variant_id: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> tuple[list[Stock], str | None]:
    """Stock rows by location then variant, a page at a time."""
    limit = max(1, min(limit, MAX_LIMIT))
    query = (
        select(*_STOCK_COLUMNS)
        .order_by(StockLevel.location_id, StockLevel.variant_id)
        .limit(limit + 1)
    )
    if location_id is not None:
        query = query.where(StockLevel.location_id == location_id)
    if variant_id is not None:
        query = query.where(StockLevel.variant_id == variant_id)
    if cursor:
        after_location, after_variant = (str(v) for v in decode_cursor(cursor, arity=2))
        query = query.where(
            or_(
                StockLevel.location_id > after_location,
                and_(
                    StockLevel.location_id == after_location,
                    StockLevel.variant_id > after_variant,
                ),
            )
        )
    rows = [_stock(row) for row in uow.session.execute(query)]
    if len(rows) > limit:
        last = rows[limit - 1]
        return rows[:limit], encode_cursor(last.location_id, last.variant_id)
    return rows, None


def list_movements(
    *,
    uow: UnitOfWork,
    variant_id: str | None = None,
    location_id: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> tuple[list[StockMovement], str | None]:
    """The ledger, newest first, a page at a time."""
    limit = max(1, min(limit, MAX_LIMIT))
    query = (
        select(StockMovement)
        .order_by(StockMovement.created_at.desc(), StockMovement.id.desc())
        .limit(limit + 1)
    )
    if variant_id is not None:
        query = query.where(StockMovement.variant_id == variant_id)
    if location_id is not None:
        query = query.where(StockMovement.location_id == location_id)
    if cursor:
        created, after_id = decode_cursor(cursor, arity=2)
        try:
            before = datetime.fromisoformat(str(created))
        except ValueError:
            raise InvalidInput("this cursor is not one we issued", code="invalid_cursor") from None
        if before.tzinfo is None:
            raise InvalidInput("this cursor is not one we issued", code="invalid_cursor")
        query = query.where(
            or_(
                StockMovement.created_at < before,
                and_(StockMovement.created_at == before, StockMovement.id < str(after_id)),
            )
        )
    rows = list(uow.session.scalars(query))
    if len(rows) > limit:
        last = rows[limit - 1]
        return rows[:limit], encode_cursor(last.created_at.isoformat(), last.id)
    return rows, None


# --- changing on-hand stock -------------------------------------------------------------------


def _record_availability_change(
    uow: UnitOfWork, variant_id: str, location_id: str, before: int, after: int
) -> None:
    if before > 0 and after <= 0:
        uow.record(OutOfStock(variant_id=variant_id, location_id=location_id))
    elif before <= 0 and after > 0:
        uow.record(BackInStock(variant_id=variant_id, location_id=location_id, available=after))


def _create_stock_row(uow: UnitOfWork, variant_id: str, location_id: str, now: datetime) -> None:
    """An empty row for a variant never held here; a concurrent creator may win, that is fine."""
    dialect = postgresql if not uow.db.is_sqlite else sqlite
    statement = (
        dialect.insert(StockLevel)
        .values(
            variant_id=variant_id,
            location_id=location_id,
            on_hand=0,
            reserved=0,
            safety_stock=0,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["variant_id", "location_id"])
    )
    try:
        with uow.session.begin_nested():
            uow.session.execute(statement)
    except IntegrityError:
        # A foreign key refused it: say which of the two is unknown.
        stores.get_location(uow=uow, location_id=location_id)
        raise NotFound(f"no variant {variant_id!r}", code="variant_not_found") from None


def _write_movement(
    uow: UnitOfWork,
    *,
    variant_id: str,
    location_id: str,
    kind: MovementKind,
    delta: int,
    on_hand_after: int,
    reason: str,
    reference: str | None,
    actor: str | None,
    now: datetime,
) -> StockMovement:
    movement = StockMovement(
        id=new_id("mov"),
        variant_id=variant_id,
        location_id=location_id,
        kind=kind.value,
        quantity_delta=delta,
        on_hand_after=on_hand_after,
        reason=reason[:500],
        reference=reference,
        actor=actor,
        created_at=now,
    )
    uow.session.add(movement)
    return movement


def _insufficient(
    uow: UnitOfWork, variant_id: str, location_id: str, requested: int, *, what: str
) -> Conflict:
    """The refusal, with what there is: ``available`` to promise, and ``unreserved`` on hand
    (what may leave the shelf by adjustment or transfer)."""
    current = get_stock(uow=uow, variant_id=variant_id, location_id=location_id)
    available = 0 if current is None else current.available
    unreserved = 0 if current is None else current.on_hand - current.reserved
    have = f"{available} available" if what == "reserve" else f"{unreserved} unreserved on hand"
    return Conflict(
        f"cannot {what} {requested}: {have}",
        code="insufficient_stock",
        available=available,
        unreserved=unreserved,
        requested=requested,
        variant_id=variant_id,
        location_id=location_id,
    )


def _move_on_hand(
    uow: UnitOfWork,
    *,
    variant_id: str,
    location_id: str,
    delta: int,
    now: datetime,
) -> Stock | None:
    """``on_hand += delta`` if it stays at or above what is reserved; the new row, else None."""
    row = uow.session.execute(
        update(StockLevel)
        .where(_key(variant_id, location_id), StockLevel.on_hand + delta >= StockLevel.reserved)
        .values(on_hand=StockLevel.on_hand + delta, updated_at=now)
        .returning(*_STOCK_COLUMNS),
        execution_options=_SYNC,
    ).one_or_none()
    return None if row is None else _stock(row)


def adjust_stock(
    *,
    uow: UnitOfWork,
    variant_id: str,
    location_id: str,
    delta: int,
    reason: str,
    actor: str | None = None,
    kind: MovementKind = MovementKind.ADJUSTMENT,
    reference: str | None = None,
    now: datetime | None = None,
) -> StockChange:
    """Add (receipt, found) or remove (damaged, stolen) units, with a ledger line.

    Refused with Conflict ``insufficient_stock`` if on-hand would go below zero or below what is
    reserved (reserved units belong to shoppers).
    """
    now = now or utcnow()
    stock = _move_on_hand(
        uow,
        variant_id=variant_id,
        location_id=location_id,
        delta=delta,
        now=now,
    )
    if stock is None:
        if delta < 0 or get_stock(uow=uow, variant_id=variant_id, location_id=location_id):
            raise _insufficient(uow, variant_id, location_id, -delta, what="remove")
        _create_stock_row(uow, variant_id, location_id, now)
        stock = _move_on_hand(
            uow,
            variant_id=variant_id,
            location_id=location_id,
            delta=delta,
            now=now,
        )
        if stock is None:  # pragma: no cover - the row was just created
            raise _insufficient(uow, variant_id, location_id, -delta, what="remove")
    movement = _write_movement(
        uow,
        variant_id=variant_id,
        location_id=location_id,
        kind=kind,
        delta=delta,
        on_hand_after=stock.on_hand,
        reason=reason,
        reference=reference,
        actor=actor,
        now=now,
    )
    before = max(0, stock.on_hand - delta - stock.reserved - stock.safety_stock)
    _record_availability_change(uow, variant_id, location_id, before, stock.available)
    uow.session.flush()
    return StockChange(stock, movement)


def set_stock(
    *,
    uow: UnitOfWork,
    variant_id: str,
    location_id: str,
    on_hand: int,
    reason: str,
    actor: str | None = None,
    safety_stock: int | None = None,
    kind: MovementKind = MovementKind.ADJUSTMENT,
    reference: str | None = None,
    now: datetime | None = None,
) -> StockChange:
    """Set on-hand to a counted quantity (and optionally the safety stock), with a ledger line
    of the difference. Refused with Conflict ``below_reserved`` under what is reserved."""
    if on_hand < 0 or (safety_stock is not None and safety_stock < 0):
        raise InvalidInput("stock cannot be negative", code="invalid_quantity")
    now = now or utcnow()
    current = _lock_stock(uow, variant_id, location_id)
    if current is None:
        _create_stock_row(uow, variant_id, location_id, now)
        current = _lock_stock(uow, variant_id, location_id)
        assert current is not None
    if on_hand < current.reserved:
        raise Conflict(
            f"{current.reserved} units are reserved: count them or release them first",
            code="below_reserved",
            reserved=current.reserved,
        )
    values: dict[str, Any] = {"on_hand": on_hand, "updated_at": now}
    if safety_stock is not None:
        values["safety_stock"] = safety_stock
    row = uow.session.execute(
        update(StockLevel)
        .where(_key(variant_id, location_id))
        .values(**values)
        .returning(*_STOCK_COLUMNS),
        execution_options=_SYNC,
    ).one()
    stock = _stock(row)
    delta = stock.on_hand - current.on_hand
    movement = _write_movement(
        uow,
        variant_id=variant_id,
        location_id=location_id,
        kind=kind,
        delta=delta,
        on_hand_after=stock.on_hand,
        reason=reason,
        reference=reference,
        actor=actor,
        now=now,
    )
    _record_availability_change(uow, variant_id, location_id, current.available, stock.available)
    uow.session.flush()
    return StockChange(stock, movement)


def load_stock(
    *,
    uow: UnitOfWork,
    levels: Iterable[tuple[str, str, int]],
    reason: str = "initial count",
    actor: str | None = None,
    now: datetime | None = None,
) -> int:
    """Set many ``(variant_id, location_id, on_hand)`` counts at once (loaders, imports).

    Rows never seen before are inserted in bulk, with their ledger lines and without events (an
    initial count is not news); rows that exist go through :func:`set_stock`. Returns how many
    counts were applied.
    """
    now = now or utcnow()
    wanted = {(variant_id, location_id): on_hand for variant_id, location_id, on_hand in levels}
    if any(on_hand < 0 for on_hand in wanted.values()):
        raise InvalidInput("stock cannot be negative", code="invalid_quantity")
    locations = sorted({location_id for _, location_id in wanted})
    existing: set[tuple[str, str]] = set()
    for start in range(0, len(locations), 500):
        existing.update(
            (variant_id, location_id)
            for variant_id, location_id in uow.session.execute(
                select(StockLevel.variant_id, StockLevel.location_id).where(
                    StockLevel.location_id.in_(locations[start : start + 500])
                )
            )
        )
    fresh = [(key, on_hand) for key, on_hand in wanted.items() if key not in existing]
    for start in range(0, len(fresh), 1000):
        chunk = fresh[start : start + 1000]
        uow.session.execute(
            insert(StockLevel),
            [
                {
                    "variant_id": v,
                    "location_id": loc,
                    "on_hand": n,
                    "reserved": 0,
                    "safety_stock": 0,
                    "updated_at": now,
                }
                for (v, loc), n in chunk
            ],
        )
        uow.session.execute(
            insert(StockMovement),
            [
                {
                    "id": new_id("mov"),
                    "variant_id": v,
                    "location_id": loc,
                    "kind": MovementKind.ADJUSTMENT.value,
                    "quantity_delta": n,
                    "on_hand_after": n,
                    "reason": reason,
                    "reference": None,
                    "actor": actor,
                    "created_at": now,
                }
                for (v, loc), n in chunk
            ],
        )
    for (variant_id, location_id), on_hand in sorted(wanted.items()):
        if (variant_id, location_id) in existing:
            set_stock(
                uow=uow,
                variant_id=variant_id,
                location_id=location_id,
                on_hand=on_hand,
                reason=reason,
                actor=actor,
                now=now,
            )
    uow.session.flush()
    return len(wanted)


def _lock_stock(uow: UnitOfWork, variant_id: str, location_id: str) -> Stock | None:
    """Read a row and hold it until commit (PostgreSQL row lock; SQLite's writer lock is held)."""
    row = uow.session.execute(
        select(*_STOCK_COLUMNS).where(_key(variant_id, location_id)).with_for_update()
    ).one_or_none()
    return None if row is None else _stock(row)


# --- reservations -------------------------------------------------------------------------------


def _change_reserved(
    uow: UnitOfWork, variant_id: str, location_id: str, delta: int, now: datetime
) -> Stock:
    """Give reserved units back (``delta < 0``); always possible, the units are there."""
    row = uow.session.execute(
        update(StockLevel)
        .where(_key(variant_id, location_id))
        .values(reserved=StockLevel.reserved + delta, updated_at=now)
        .returning(*_STOCK_COLUMNS),
        execution_options=_SYNC,
    ).one()
    return _stock(row)


def _give_back(
    uow: UnitOfWork,
    released: Sequence[Any],  # claimed rows or Reservation objects
    *,
    expired: bool,
    now: datetime,
) -> None:
    """Return the units of claimed reservations to their stock rows, one update per row."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for r in released:
        totals[(r.variant_id, r.location_id)] += r.quantity
        uow.record(
            StockReleased(
                reservation_id=r.id,
                variant_id=r.variant_id,
                location_id=r.location_id,
                quantity=r.quantity,
                reference=r.reference,
                expired=expired,
            )
        )
    for (variant_id, location_id), quantity in sorted(totals.items()):
        stock = _change_reserved(uow, variant_id, location_id, -quantity, now)
        before = max(0, stock.on_hand - stock.reserved - quantity - stock.safety_stock)
        _record_availability_change(uow, variant_id, location_id, before, stock.available)


_CLAIMED = (
    Reservation.id,
    Reservation.variant_id,
    Reservation.location_id,
    Reservation.quantity,
    Reservation.reference,
)


def _expire_due_on(uow: UnitOfWork, variant_id: str, location_id: str, now: datetime) -> None:
    claimed = uow.session.execute(
        update(Reservation)
        .where(
            Reservation.variant_id == variant_id,
            Reservation.location_id == location_id,
            Reservation.status == ReservationStatus.ACTIVE.value,
            Reservation.expires_at <= now,
        )
        .values(status=ReservationStatus.EXPIRED.value, ended_at=now)
        .returning(*_CLAIMED),
        execution_options=_SYNC,
    ).all()
    if claimed:
        _give_back(uow, claimed, expired=True, now=now)


def reserve_stock(
    *,
    uow: UnitOfWork,
    variant_id: str,
    location_id: str,
    quantity: int,
    reference: str,
    ttl_seconds: int = DEFAULT_RESERVATION_TTL_SECONDS,
    actor: str | None = None,
    now: datetime | None = None,
) -> Reservation:
    """Hold ``quantity`` units for a cart or checkout until ``ttl_seconds`` from now.

    One conditional UPDATE: it succeeds only if that many units are available, so concurrent
    shoppers can never be promised the same unit. Refused with Conflict ``insufficient_stock``
    (with ``available``) otherwise.
    """
    if quantity <= 0:
        raise InvalidInput("reserve at least one unit", code="invalid_quantity")
    if ttl_seconds <= 0:
        raise InvalidInput("a reservation needs a positive lifetime", code="invalid_ttl")
    now = now or utcnow()
    _expire_due_on(uow, variant_id, location_id, now)
    row = uow.session.execute(
        update(StockLevel)
        .where(_key(variant_id, location_id), quantity <= _AVAILABLE)
        .values(reserved=StockLevel.reserved + quantity, updated_at=now)
        .returning(*_STOCK_COLUMNS),
        execution_options=_SYNC,
    ).one_or_none()
    if row is None:
        raise _insufficient(uow, variant_id, location_id, quantity, what="reserve")
    stock = _stock(row)
    reservation = Reservation(
        id=new_id("res"),
        variant_id=variant_id,
        location_id=location_id,
        quantity=quantity,
        reference=reference,
        status=ReservationStatus.ACTIVE.value,
        expires_at=now + timedelta(seconds=ttl_seconds),
        created_at=now,
        ended_at=None,
        created_by=actor,
    )
    uow.session.add(reservation)
    uow.record(
        StockReserved(
            reservation_id=reservation.id,
            variant_id=variant_id,
            location_id=location_id,
            quantity=quantity,
            reference=reference,
            expires_at=reservation.expires_at.isoformat(),
        )
    )
    _record_availability_change(
        uow, variant_id, location_id, stock.available + quantity, stock.available
    )
    uow.session.flush()
    return reservation


def get_reservation(*, uow: UnitOfWork, reservation_id: str) -> Reservation:
    """One reservation, or NotFound ``reservation_not_found``."""
    reservation = uow.session.get(Reservation, reservation_id)
    if reservation is None:
        raise NotFound(f"no reservation {reservation_id!r}", code="reservation_not_found")
    return reservation


def _claim_reservation(
    uow: UnitOfWork, reservation: Reservation, status: ReservationStatus, now: datetime
) -> bool:
    """Move an active reservation to ``status``; False if another transaction ended it first."""
    result = uow.session.execute(
        update(Reservation)
        .where(
            Reservation.id == reservation.id,
            Reservation.status == ReservationStatus.ACTIVE.value,
        )
        .values(status=status.value, ended_at=now),
        execution_options={"synchronize_session": "evaluate"},
    )
    claimed = bool(result.rowcount)  # type: ignore[attr-defined]
    if not claimed:
        uow.session.refresh(reservation)
    return claimed


def release_reservation(
    *, uow: UnitOfWork, reservation_id: str, actor: str | None = None, now: datetime | None = None
) -> Reservation:
    """Give a reservation's units back (cart emptied, checkout abandoned). Releasing one that
    has already ended is a no-op; one turned into a sale is a Conflict ``reservation_allocated``.
    """
    now = now or utcnow()
    reservation = get_reservation(uow=uow, reservation_id=reservation_id)
    if reservation.status == ReservationStatus.ACTIVE.value and _claim_reservation(
        uow, reservation, ReservationStatus.RELEASED, now
    ):
        _give_back(uow, [reservation], expired=False, now=now)
        uow.session.flush()
        return reservation
    if reservation.status == ReservationStatus.ALLOCATED.value:
        raise Conflict("this reservation was paid for", code="reservation_allocated")
    return reservation


def allocate_reservation(
    *,
    uow: UnitOfWork,
    reservation_id: str,
    actor: str | None = None,
    reference: str | None = None,
    now: datetime | None = None,
) -> Reservation:
    """On payment: the reserved units leave the stock (ledger kind ``sale``).

    A reservation past its expiry but not yet swept is still honoured: its units were never
    given back. Once released or expired it is a Conflict ``reservation_not_active``.
    """
    now = now or utcnow()
    reservation = get_reservation(uow=uow, reservation_id=reservation_id)
    if reservation.status == ReservationStatus.ALLOCATED.value:
        return reservation
    if reservation.status != ReservationStatus.ACTIVE.value or not _claim_reservation(
        uow, reservation, ReservationStatus.ALLOCATED, now
    ):
        if reservation.status == ReservationStatus.ALLOCATED.value:
            return reservation
        raise Conflict(
            f"this reservation is {reservation.status}",
            code="reservation_not_active",
            current_status=reservation.status,
        )
    quantity = reservation.quantity
    row = uow.session.execute(
        update(StockLevel)
        .where(_key(reservation.variant_id, reservation.location_id))
        .values(
            on_hand=StockLevel.on_hand - quantity,
            reserved=StockLevel.reserved - quantity,
            updated_at=now,
        )
        .returning(*_STOCK_COLUMNS),
        execution_options=_SYNC,
    ).one()
    stock = _stock(row)
    _write_movement(
        uow,
        variant_id=reservation.variant_id,
        location_id=reservation.location_id,
        kind=MovementKind.SALE,
        delta=-quantity,
        on_hand_after=stock.on_hand,
        reason="sold",
        reference=reference or reservation.reference,
        actor=actor,
        now=now,
    )
    uow.session.flush()
    return reservation


def expire_reservations(*, uow: UnitOfWork, now: datetime | None = None, limit: int = 500) -> int:
    """Expire up to ``limit`` active reservations past their expiry and give their units back.

    Safe to run from several workers at once: each reservation is claimed by one conditional
    UPDATE, so its units come back once. Returns how many expired.
    """
    now = now or utcnow()
    due = (
        select(Reservation.id)
        .where(
            Reservation.status == ReservationStatus.ACTIVE.value,
            Reservation.expires_at <= now,
        )
        .order_by(Reservation.expires_at)
        .limit(limit)
        # PostgreSQL: concurrent sweeps take disjoint batches instead of waiting on each other.
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    claimed = uow.session.execute(
        update(Reservation)
        .where(
            Reservation.id.in_(due),
            Reservation.status == ReservationStatus.ACTIVE.value,
        )
        .values(status=ReservationStatus.EXPIRED.value, ended_at=now)
        .returning(*_CLAIMED),
        execution_options=_SYNC,
    ).all()
    if claimed:
        _give_back(uow, claimed, expired=True, now=now)
        uow.session.flush()
    return len(claimed)


# --- transfers ----------------------------------------------------------------------------------


def get_transfer(*, uow: UnitOfWork, transfer_id: str) -> Transfer:
    """One transfer with its lines, or NotFound ``transfer_not_found``."""
    transfer = uow.session.get(Transfer, transfer_id)
    if transfer is None:
        raise NotFound(f"no transfer {transfer_id!r}", code="transfer_not_found")
    return transfer


def create_transfer(
    *,
    uow: UnitOfWork,
    from_location_id: str,
    to_location_id: str,
    lines: Iterable[tuple[str, int]],
    reason: str = "",
    actor: str | None = None,
    lead_time: timedelta = TRANSFER_LEAD_TIME,
    now: datetime | None = None,
) -> Transfer:
    """Send ``(variant_id, quantity)`` lines from one location to another.

    The units leave the source now (ledger ``transfer_out``) and are in transit until received;
    ``expected_at`` is ``now + lead_time``. Reserved units never leave: Conflict
    ``insufficient_stock`` if the source lacks any line.
    """
    wanted = list(lines)
    if not wanted:
        raise InvalidInput("a transfer needs at least one line", code="invalid_transfer")
    if from_location_id == to_location_id:
        raise InvalidInput("a transfer goes between two locations", code="invalid_transfer")
    if len({variant_id for variant_id, _ in wanted}) != len(wanted):
        raise InvalidInput("one line per variant", code="invalid_transfer")
    if any(quantity <= 0 for _, quantity in wanted):
        raise InvalidInput("quantities are positive", code="invalid_transfer")
    for location_id in (from_location_id, to_location_id):
        stores.get_location(uow=uow, location_id=location_id)
    now = now or utcnow()
    transfer = Transfer(
        id=new_id("trf"),
        from_location_id=from_location_id,
        to_location_id=to_location_id,
        status=TransferStatus.IN_TRANSIT.value,
        expected_at=now + lead_time,
        created_at=now,
        received_at=None,
        created_by=actor,
        reason=reason,
        lines=[TransferLine(variant_id=v, quantity=q) for v, q in wanted],
    )
    uow.session.add(transfer)
    for variant_id, quantity in sorted(wanted):  # one lock order for every writer
        stock = _move_on_hand(
            uow,
            variant_id=variant_id,
            location_id=from_location_id,
            delta=-quantity,
            now=now,
        )
        if stock is None:
            raise _insufficient(uow, variant_id, from_location_id, quantity, what="send")
        _write_movement(
            uow,
            variant_id=variant_id,
            location_id=from_location_id,
            kind=MovementKind.TRANSFER_OUT,
            delta=-quantity,
            on_hand_after=stock.on_hand,
            reason=reason or "transfer",
            reference=transfer.id,
            actor=actor,
            now=now,
        )
        before = max(0, stock.on_hand + quantity - stock.reserved - stock.safety_stock)
        _record_availability_change(uow, variant_id, from_location_id, before, stock.available)
    uow.session.flush()
    return transfer


def _end_transfer(
    uow: UnitOfWork, transfer: Transfer, status: TransferStatus, now: datetime
) -> None:
    result = uow.session.execute(
        update(Transfer)
        .where(Transfer.id == transfer.id, Transfer.status == TransferStatus.IN_TRANSIT.value)
        .values(
            status=status.value, received_at=now if status is TransferStatus.RECEIVED else None
        ),
        execution_options={"synchronize_session": "evaluate"},
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        uow.session.refresh(transfer)
        raise Conflict(
            f"this transfer is already {transfer.status}",
            code="transfer_not_in_transit",
            current_status=transfer.status,
        )


def _put_in(
    uow: UnitOfWork,
    transfer: Transfer,
    location_id: str,
    reason: str,
    actor: str | None,
    now: datetime,
) -> None:
    for line in sorted(transfer.lines, key=lambda line: line.variant_id):
        adjust_stock(
            uow=uow,
            variant_id=line.variant_id,
            location_id=location_id,
            delta=line.quantity,
            reason=reason,
            actor=actor,
            kind=MovementKind.TRANSFER_IN,
            reference=transfer.id,
            now=now,
        )


def receive_transfer(
    *, uow: UnitOfWork, transfer_id: str, actor: str | None = None, now: datetime | None = None
) -> Transfer:
    """The destination received the goods: its stock grows (ledger ``transfer_in``)."""
    now = now or utcnow()
    transfer = get_transfer(uow=uow, transfer_id=transfer_id)
    _end_transfer(uow, transfer, TransferStatus.RECEIVED, now)
    _put_in(uow, transfer, transfer.to_location_id, transfer.reason or "transfer", actor, now)
    uow.session.flush()
    return transfer


def cancel_transfer(
    *, uow: UnitOfWork, transfer_id: str, actor: str | None = None, now: datetime | None = None
) -> Transfer:
    """The goods never left: they go back into the source's stock (ledger ``transfer_in``)."""
    now = now or utcnow()
    transfer = get_transfer(uow=uow, transfer_id=transfer_id)
    _end_transfer(uow, transfer, TransferStatus.CANCELLED, now)
    _put_in(uow, transfer, transfer.from_location_id, "transfer cancelled", actor, now)
    uow.session.flush()
    return transfer


def in_transit_to(*, uow: UnitOfWork, location_id: str, variant_id: str) -> int:
    """Units of a variant on their way to a location."""
    total = uow.session.scalar(
        select(func.coalesce(func.sum(TransferLine.quantity), 0))
        .select_from(TransferLine)
        .join(Transfer, Transfer.id == TransferLine.transfer_id)
        .where(
            Transfer.to_location_id == location_id,
            Transfer.status == TransferStatus.IN_TRANSIT.value,
            TransferLine.variant_id == variant_id,
        )
    )
    return int(total or 0)


# --- availability -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CollectOption:
    """When a shopper can collect at a store: from its shelf, or after a transfer."""

    mode: Literal["in_store", "transfer"]
    ready_at: datetime
    label_fr: str
    label_en: str


@dataclass(frozen=True, slots=True)
class StoreAvailability:
    location: StoreCard
    distance_km: float
    available: int
    level: StockLevelName
    opening: stores.OpeningStatus
    collect: CollectOption | None


# On the table rather than the mapped class: the availability endpoints run these on every
# request, and plain Core statements skip the ORM's compile and result layers.
_STOCK_TABLE = StockLevel.__table__
_AVAILABLE_ROW = _STOCK_TABLE.c.on_hand - _STOCK_TABLE.c.reserved - _STOCK_TABLE.c.safety_stock
_HELD_ELSEWHERE = (
    select(_STOCK_TABLE.c.location_id)
    .where(
        _STOCK_TABLE.c.variant_id == bindparam("variant_id"),
        _STOCK_TABLE.c.location_id.not_in(bindparam("location_ids", expanding=True)),
        _AVAILABLE_ROW > 0,
    )
    .limit(1)
)


@functools.lru_cache(maxsize=256)
def _stock_at(variants: int, locations: int) -> Select[Any]:
    """The stock of so many variants at so many locations, built and compiled once per shape:
    plain parameters (``v0``…, ``l0``…), which cost less per request than an expanding ``IN``."""
    return select(
        _STOCK_TABLE.c.variant_id, _STOCK_TABLE.c.location_id, _AVAILABLE_ROW.label("available")
    ).where(
        _STOCK_TABLE.c.variant_id.in_([bindparam(f"v{i}") for i in range(variants)]),
        _STOCK_TABLE.c.location_id.in_([bindparam(f"l{i}") for i in range(locations)]),
    )


def _available_at(
    uow: UnitOfWork, variant_ids: Sequence[str], location_ids: Sequence[str]
) -> dict[str, dict[str, int]]:
    """``{variant_id: {location_id: available}}`` at these locations, in one query."""
    found: dict[str, dict[str, int]] = {variant_id: {} for variant_id in variant_ids}
    if not variant_ids or not location_ids:
        return found
    params = {f"v{i}": variant_id for i, variant_id in enumerate(variant_ids)}
    params.update((f"l{i}", location_id) for i, location_id in enumerate(location_ids))
    rows = uow.connection().execute(_stock_at(len(variant_ids), len(location_ids)), params)
    for variant_id, location_id, available in rows:
        found[variant_id][location_id] = max(0, int(available))
    return found


def _collect_option(
    location: StoreCard, *, here: int, elsewhere: bool, now: datetime
) -> CollectOption | None:
    if not location.offers(Service.CLICK_AND_COLLECT):
        return None
    if here > 0:
        mode: Literal["in_store", "transfer"] = "in_store"
        lead = COLLECT_PREPARATION
    elif elsewhere:
        mode, lead = "transfer", TRANSFER_LEAD_TIME
    else:
        return None

    def option(at: datetime) -> CollectOption | None:
        ready = stores.ready_time(location, at=at, lead=lead, at_opening=READY_AFTER_OPENING)
        if ready is None:
            return None
        return CollectOption(
            mode=mode,
            ready_at=ready,
            label_fr=f"Retrait {stores.describe_moment(ready, now=at, locale='fr')}",
            label_en=f"Collect {stores.describe_moment(ready, now=at, locale='en')}",
        )

    # The same ten stores answer the same question on every product page view.
    return stores.for_the_minute(location, now, ("collect", mode), option)


def availability_near(
    *,
    uow: UnitOfWork,
    variant_id: str,
    latitude: float,
    longitude: float,
    limit: int = 10,
    now: datetime | None = None,
    low_threshold: int = DEFAULT_LOW_STOCK_THRESHOLD,
    max_km: float | None = None,
) -> list[StoreAvailability]:
    """For the stores nearest a shopper: how many units of a variant each can promise, its level,
    whether it is open, and when the shopper could collect it there.

    A fixed number of queries whatever the number of stores. Typically two: the locator's (in a
    read-only unit of work, the check that the store directory is current) and the variant's
    stock at those stores. When none of them has it, one more asks whether any other location
    (a warehouse, a farther store) could send it, and if none holds a row at all, the catalog
    tells an unknown variant (NotFound ``variant_not_found``) from one never stocked.
    """
    now = now or utcnow()
    nearest = stores.find_nearest_locations(
        uow=uow,
        latitude=latitude,
        longitude=longitude,
        limit=limit,
        kind=LocationKind.STORE,
        max_km=max_km,
    )
    near_ids = [location.id for location, _ in nearest]
    available = _available_at(uow, [variant_id], near_ids)[variant_id]
    holders = [location_id for location_id, units in available.items() if units > 0]
    # A store without the variant can get it by transfer if another location holds some.
    held_far = bool(holders) or (
        uow.connection()
        .execute(_HELD_ELSEWHERE, {"variant_id": variant_id, "location_ids": near_ids})
        .first()
        is not None
    )
    # Any stock row proves the variant exists (foreign key); without one, ask the catalog.
    if (
        not available
        and not held_far
        and not catalog.get_variants(uow=uow, variant_ids=[variant_id])
    ):
        raise NotFound(f"no variant {variant_id!r}", code="variant_not_found")
    answer = []
    for location, km in nearest:
        here = available.get(location.id, 0)
        elsewhere = held_far and holders != [location.id]
        answer.append(
            StoreAvailability(
                location=location,
                distance_km=km,
                available=here,
                level=level_of(here, low_threshold=low_threshold),
                opening=stores.opening_status(location, now),
                collect=_collect_option(location, here=here, elsewhere=elsewhere, now=now),
            )
        )
    return answer


@dataclass(frozen=True, slots=True)
class StoreProductAvailability:
    location: StoreCard
    distance_km: float
    opening: stores.OpeningStatus
    variants: dict[str, tuple[int, StockLevelName]]  # variant id -> (available, level)


def availability_by_product(
    *,
    uow: UnitOfWork,
    product_id: str,
    latitude: float,
    longitude: float,
    limit: int = 10,
    now: datetime | None = None,
    low_threshold: int = DEFAULT_LOW_STOCK_THRESHOLD,
    published_only: bool = False,
) -> list[StoreProductAvailability]:
    """Which of a product's variants (sizes, colours) each nearby store holds: for the product
    page. Variants come in the catalog's order; a fixed number of queries, as for one variant."""
    product = catalog.get_product(uow=uow, product_id=product_id, published_only=published_only)
    variant_ids = [variant.id for variant in product.variants]
    return availability_of_variants(
        uow=uow,
        variant_ids=variant_ids,
        latitude=latitude,
        longitude=longitude,
        limit=limit,
        now=now,
        low_threshold=low_threshold,
    )


def availability_of_variants(
    *,
    uow: UnitOfWork,
    variant_ids: Sequence[str],
    latitude: float,
    longitude: float,
    limit: int = 10,
    now: datetime | None = None,
    low_threshold: int = DEFAULT_LOW_STOCK_THRESHOLD,
) -> list[StoreProductAvailability]:
    """Like :func:`availability_by_product` for variant ids the caller already has, in the
    order given (a missing stock row means 0)."""
    now = now or utcnow()
    nearest = stores.find_nearest_locations(
        uow=uow, latitude=latitude, longitude=longitude, limit=limit, kind=LocationKind.STORE
    )
    by_variant = _available_at(uow, variant_ids, [location.id for location, _ in nearest])
    answer = []
    for location, km in nearest:
        variants = {}
        for variant_id in variant_ids:
            here = by_variant[variant_id].get(location.id, 0)
            variants[variant_id] = (here, level_of(here, low_threshold=low_threshold))
        answer.append(
            StoreProductAvailability(
                location=location,
                distance_km=km,
                opening=stores.opening_status(location, now),
                variants=variants,
            )
        )
    return answer


def available_at(
    *, uow: UnitOfWork, variant_ids: Sequence[str], location_ids: Sequence[str]
) -> dict[str, dict[str, int]]:
    """``{variant_id: {location_id: units available}}``; a missing stock row is left out (0)."""
    return _available_at(uow, list(dict.fromkeys(variant_ids)), list(dict.fromkeys(location_ids)))


def available_anywhere(*, uow: UnitOfWork, variant_ids: Sequence[str]) -> dict[str, int]:
    """Units of each variant available across every location: whether it can be had at all."""
    ids = list(dict.fromkeys(variant_ids))
    found = dict.fromkeys(ids, 0)
    if not ids:
        return found
    rows = uow.connection().execute(
        select(
            _STOCK_TABLE.c.variant_id,
            func.sum(_AVAILABLE_ROW),
        )
        .where(_STOCK_TABLE.c.variant_id.in_(ids), _AVAILABLE_ROW > 0)
        .group_by(_STOCK_TABLE.c.variant_id)
    )
    for variant_id, units in rows:
        found[variant_id] = int(units or 0)
    return found


def locations_holding(
    *, uow: UnitOfWork, quantities: Mapping[str, int], location_ids: Sequence[str] | None = None
) -> list[str]:
    """Locations that can supply every ``variant_id: quantity`` wanted on their own (one parcel,
    one pickup): the candidates a sourcing strategy chooses from. Restricted to
    ``location_ids`` when given."""
    if not quantities:
        return []
    statement = select(
        _STOCK_TABLE.c.location_id, _STOCK_TABLE.c.variant_id, _AVAILABLE_ROW.label("available")
    ).where(_STOCK_TABLE.c.variant_id.in_(list(quantities)))
    if location_ids is not None:
        statement = statement.where(_STOCK_TABLE.c.location_id.in_(list(location_ids)))
    covered: dict[str, int] = defaultdict(int)
    for location_id, variant_id, available in uow.connection().execute(statement):
        if available >= quantities[variant_id]:
            covered[location_id] += 1
    return sorted(location for location, count in covered.items() if count == len(quantities))


def incoming_transfers(
    *, uow: UnitOfWork, location_id: str, variant_ids: Sequence[str]
) -> dict[str, list[tuple[int, datetime]]]:
    """Units of each variant on their way to a location and when each lot is expected, soonest
    first: the associate tells a shopper "2 arrive on the 24th", not only "2 on the way"."""
    if not variant_ids:
        return {}
    rows = uow.session.execute(
        select(TransferLine.variant_id, func.sum(TransferLine.quantity), Transfer.expected_at)
        .join(Transfer, Transfer.id == TransferLine.transfer_id)
        .where(
            Transfer.to_location_id == location_id,
            Transfer.status == TransferStatus.IN_TRANSIT.value,
            TransferLine.variant_id.in_(list(variant_ids)),
        )
        .group_by(TransferLine.variant_id, Transfer.expected_at)
        .order_by(Transfer.expected_at, TransferLine.variant_id)
    )
    found: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
    for variant_id, units, expected_at in rows:
        found[variant_id].append((int(units or 0), expected_at))
    return dict(found)
