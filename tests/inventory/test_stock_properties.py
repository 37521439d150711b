"""Whatever sequence of counts, adjustments, reservations, releases, sales and expiries runs,
stock keeps its invariants: reserved within on hand, nothing negative, the ledger adds up."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from parcours.core.errors import Conflict
from parcours.core.uow import UnitOfWork
from parcours.inventory import service
from parcours.inventory.models import Reservation, ReservationStatus, StockMovement

operations = st.lists(
    st.one_of(
        st.tuples(st.just("adjust"), st.integers(-6, 8)),
        st.tuples(st.just("count"), st.integers(0, 10), st.none() | st.integers(0, 3)),
        st.tuples(st.just("reserve"), st.integers(1, 4), st.integers(30, 600)),
        st.tuples(st.just("release"), st.integers(0, 20)),
        st.tuples(st.just("allocate"), st.integers(0, 20)),
        st.tuples(st.just("wait"), st.integers(0, 900)),
    ),
    max_size=25,
)


def _apply(
    uow: UnitOfWork,
    op: tuple[Any, ...],
    variant_id: str,
    store_id: str,
    now: datetime,
    reservations: list[str],
) -> datetime:
    kind = op[0]
    if kind == "adjust":
        service.adjust_stock(
            uow=uow, variant_id=variant_id, location_id=store_id, delta=op[1], reason="p", now=now
        )
    elif kind == "count":
        service.set_stock(
            uow=uow,
            variant_id=variant_id,
            location_id=store_id,
            on_hand=op[1],
            safety_stock=op[2],
            reason="p",
            now=now,
        )
    elif kind == "reserve":
        reservation = service.reserve_stock(
            uow=uow,
            variant_id=variant_id,
            location_id=store_id,
            quantity=op[1],
            reference="p",
            ttl_seconds=op[2],
            now=now,
        )
        reservations.append(reservation.id)
    elif kind in ("release", "allocate") and reservations:
        reservation_id = reservations[op[1] % len(reservations)]
        if kind == "release":
            service.release_reservation(uow=uow, reservation_id=reservation_id, now=now)
        else:
            service.allocate_reservation(uow=uow, reservation_id=reservation_id, now=now)
    elif kind == "wait":
        now += timedelta(seconds=op[1])
        service.expire_reservations(uow=uow, now=now)
    return now


def _check_invariants(uow: UnitOfWork, variant_id: str, store_id: str) -> None:
    stock = service.get_stock(uow=uow, variant_id=variant_id, location_id=store_id)
    if stock is None:
        return
    assert 0 <= stock.reserved <= stock.on_hand
    assert stock.safety_stock >= 0
    assert stock.available >= 0
    ledger = uow.session.scalar(
        select(func.coalesce(func.sum(StockMovement.quantity_delta), 0)).where(
            StockMovement.variant_id == variant_id, StockMovement.location_id == store_id
        )
    )
    assert ledger == stock.on_hand
    held = uow.session.scalar(
        select(func.coalesce(func.sum(Reservation.quantity), 0)).where(
            Reservation.variant_id == variant_id,
            Reservation.status == ReservationStatus.ACTIVE.value,
        )
    )
    assert held == stock.reserved


#: The refusals each operation may meet on a valid sequence; any other error is a bug.
EXPECTED_REFUSALS = {
    "adjust": {"insufficient_stock"},
    "count": {"below_reserved"},
    "reserve": {"insufficient_stock"},
    "release": {"reservation_allocated"},
    "allocate": {"reservation_not_active"},
    "wait": set(),
}


def _snapshot(uow: UnitOfWork, variant_id: str, store_id: str) -> tuple[int, int, int] | None:
    stock = service.get_stock(uow=uow, variant_id=variant_id, location_id=store_id)
    return None if stock is None else (stock.on_hand, stock.reserved, stock.safety_stock)


def test_stock_invariants_hold_for_any_sequence(
    uow: UnitOfWork, make_variant: Callable[[], str], store_id: str
) -> None:
    applied: Counter[str] = Counter()

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(ops=operations)
    def any_sequence(ops: list[tuple[Any, ...]]) -> None:
        variant_id = make_variant()  # a fresh stock row per example
        now = datetime(2026, 6, 16, 12, tzinfo=UTC)
        reservations: list[str] = []
        for op in ops:
            before = _snapshot(uow, variant_id, store_id)
            uow.rollback()
            refusal: str | None = None
            try:
                now = _apply(uow, op, variant_id, store_id, now, reservations)
                uow.commit()
            except Conflict as refused:
                uow.rollback()
                refusal = refused.code
            if refusal is None:
                applied[op[0]] += 1
            else:
                assert refusal in EXPECTED_REFUSALS[op[0]], (op, refusal)
                assert _snapshot(uow, variant_id, store_id) == before, "a refusal changes nothing"
            _check_invariants(uow, variant_id, store_id)
            uow.rollback()

    any_sequence()
    # The sequences did exercise the stock, not only meet refusals.
    assert all(applied[kind] > 0 for kind in ("adjust", "count", "reserve", "wait")), applied
