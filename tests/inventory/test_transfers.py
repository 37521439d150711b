"""Transfers between locations: out of the source now, into the destination on receipt."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from parcours.core.errors import Conflict, InvalidInput, NotFound
from parcours.core.uow import UnitOfWork
from parcours.inventory import service
from parcours.inventory.events import BackInStock

T0 = datetime(2026, 6, 16, 9, 0, tzinfo=UTC)


@pytest.fixture
def depot(make_location: Callable[..., str]) -> str:
    return make_location("DEPOT", kind="warehouse", services=[])


def _on_hand(uow: UnitOfWork, variant_id: str, location_id: str) -> int:
    stock = service.get_stock(uow=uow, variant_id=variant_id, location_id=location_id)
    return 0 if stock is None else stock.on_hand


def test_transfer_out_then_received(
    uow: UnitOfWork, variant_id: str, store_id: str, depot: str
) -> None:
    service.adjust_stock(uow=uow, variant_id=variant_id, location_id=depot, delta=10, reason="in")
    uow.commit()
    transfer = service.create_transfer(
        uow=uow,
        from_location_id=depot,
        to_location_id=store_id,
        lines=[(variant_id, 4)],
        reason="réassort",
        actor="usr_1",
        now=T0,
    )
    uow.commit()
    assert transfer.status == "in_transit"
    assert transfer.expected_at == T0 + service.TRANSFER_LEAD_TIME
    assert _on_hand(uow, variant_id, depot) == 6
    assert _on_hand(uow, variant_id, store_id) == 0
    assert service.in_transit_to(uow=uow, location_id=store_id, variant_id=variant_id) == 4

    received = service.receive_transfer(
        uow=uow, transfer_id=transfer.id, actor="usr_2", now=T0 + timedelta(days=2)
    )
    assert received.status == "received"
    assert received.received_at == T0 + timedelta(days=2)
    assert BackInStock(variant_id=variant_id, location_id=store_id, available=4) in (
        uow.pending_events
    )
    uow.commit()
    assert _on_hand(uow, variant_id, store_id) == 4
    assert service.in_transit_to(uow=uow, location_id=store_id, variant_id=variant_id) == 0
    moves, _ = service.list_movements(uow=uow, variant_id=variant_id)
    kinds = sorted((m.kind, m.location_id, m.quantity_delta, m.reference) for m in moves)
    assert kinds == [
        ("adjustment", depot, 10, None),
        ("transfer_in", store_id, 4, transfer.id),
        ("transfer_out", depot, -4, transfer.id),
    ]
    with pytest.raises(Conflict) as twice:
        service.receive_transfer(uow=uow, transfer_id=transfer.id)
    assert twice.value.code == "transfer_not_in_transit"


def test_cancelled_transfer_returns_to_the_source(
    uow: UnitOfWork, variant_id: str, store_id: str, depot: str
) -> None:
    service.adjust_stock(uow=uow, variant_id=variant_id, location_id=depot, delta=3, reason="in")
    transfer = service.create_transfer(
        uow=uow, from_location_id=depot, to_location_id=store_id, lines=[(variant_id, 3)]
    )
    uow.commit()
    cancelled = service.cancel_transfer(uow=uow, transfer_id=transfer.id)
    uow.commit()
    assert cancelled.status == "cancelled"
    assert _on_hand(uow, variant_id, depot) == 3
    with pytest.raises(Conflict):
        service.receive_transfer(uow=uow, transfer_id=transfer.id)


def test_reserved_units_never_leave(
    uow: UnitOfWork, variant_id: str, store_id: str, depot: str
) -> None:
    service.adjust_stock(uow=uow, variant_id=variant_id, location_id=depot, delta=3, reason="in")
    service.reserve_stock(
        uow=uow, variant_id=variant_id, location_id=depot, quantity=2, reference="cart"
    )
    uow.commit()
    with pytest.raises(Conflict) as caught:
        service.create_transfer(
            uow=uow, from_location_id=depot, to_location_id=store_id, lines=[(variant_id, 2)]
        )
    assert caught.value.code == "insufficient_stock"
    assert caught.value.extra["unreserved"] == 1


def test_a_failing_line_sends_nothing(
    uow: UnitOfWork, make_variant: Callable[[], str], store_id: str, depot: str
) -> None:
    plenty, scarce = make_variant(), make_variant()
    service.adjust_stock(uow=uow, variant_id=plenty, location_id=depot, delta=9, reason="in")
    uow.commit()
    with pytest.raises(Conflict):
        service.create_transfer(
            uow=uow,
            from_location_id=depot,
            to_location_id=store_id,
            lines=[(plenty, 2), (scarce, 1)],
        )
    uow.rollback()  # what the entry point does on any error
    assert _on_hand(uow, plenty, depot) == 9


def test_bad_transfers_are_refused(uow: UnitOfWork, variant_id: str, store_id: str) -> None:
    with pytest.raises(InvalidInput):
        service.create_transfer(
            uow=uow, from_location_id=store_id, to_location_id=store_id, lines=[(variant_id, 1)]
        )
    with pytest.raises(InvalidInput):
        service.create_transfer(
            uow=uow, from_location_id=store_id, to_location_id="loc_x", lines=[]
        )
    with pytest.raises(NotFound) as unknown:
        service.create_transfer(
            uow=uow, from_location_id=store_id, to_location_id="loc_x", lines=[(variant_id, 1)]
        )
    assert unknown.value.code == "location_not_found"
    with pytest.raises(NotFound):
        service.receive_transfer(uow=uow, transfer_id="trf_nope")
