"""Counting and adjusting stock: the ledger, the refusals, the events."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from parcours.core.errors import Conflict, InvalidInput, NotFound
from parcours.core.uow import UnitOfWork
from parcours.inventory import service
from parcours.inventory.events import BackInStock, OutOfStock
from parcours.inventory.models import MovementKind


def test_adjust_creates_the_row_and_writes_the_ledger(
    uow: UnitOfWork, variant_id: str, store_id: str
) -> None:
    change = service.adjust_stock(
        uow=uow,
        variant_id=variant_id,
        location_id=store_id,
        delta=7,
        reason="delivery",
        actor="usr_1",
        kind=MovementKind.RECEIPT,
        reference="BL-42",
    )
    assert (change.stock.on_hand, change.stock.reserved, change.stock.available) == (7, 0, 7)
    movement = change.movement
    assert (movement.kind, movement.quantity_delta, movement.on_hand_after) == ("receipt", 7, 7)
    assert (movement.actor, movement.reason, movement.reference) == ("usr_1", "delivery", "BL-42")
    assert movement.created_at.tzinfo is not None
    assert uow.pending_events == (
        BackInStock(variant_id=variant_id, location_id=store_id, available=7),
    )
    uow.commit()
    stock = service.get_stock(uow=uow, variant_id=variant_id, location_id=store_id)
    assert stock is not None
    assert stock.on_hand == 7


def test_stock_never_goes_negative(uow: UnitOfWork, variant_id: str, store_id: str) -> None:
    with pytest.raises(Conflict) as caught:
        service.adjust_stock(
            uow=uow, variant_id=variant_id, location_id=store_id, delta=-1, reason="lost"
        )
    assert caught.value.code == "insufficient_stock"
    service.adjust_stock(uow=uow, variant_id=variant_id, location_id=store_id, delta=2, reason="in")
    with pytest.raises(Conflict) as again:
        service.adjust_stock(
            uow=uow, variant_id=variant_id, location_id=store_id, delta=-3, reason="lost"
        )
    assert again.value.extra["unreserved"] == 2
    with pytest.raises(InvalidInput):
        service.set_stock(
            uow=uow, variant_id=variant_id, location_id=store_id, on_hand=-1, reason="count"
        )


def test_reserved_units_cannot_be_adjusted_away(
    uow: UnitOfWork, variant_id: str, store_id: str
) -> None:
    service.adjust_stock(uow=uow, variant_id=variant_id, location_id=store_id, delta=3, reason="in")
    service.reserve_stock(
        uow=uow, variant_id=variant_id, location_id=store_id, quantity=2, reference="cart_1"
    )
    with pytest.raises(Conflict) as caught:
        service.adjust_stock(
            uow=uow, variant_id=variant_id, location_id=store_id, delta=-2, reason="damaged"
        )
    assert caught.value.code == "insufficient_stock"
    with pytest.raises(Conflict) as counted:
        service.set_stock(
            uow=uow, variant_id=variant_id, location_id=store_id, on_hand=1, reason="count"
        )
    assert counted.value.code == "below_reserved"
    change = service.adjust_stock(
        uow=uow, variant_id=variant_id, location_id=store_id, delta=-1, reason="damaged"
    )
    assert (change.stock.on_hand, change.stock.reserved) == (2, 2)


def test_set_stock_records_the_difference(uow: UnitOfWork, variant_id: str, store_id: str) -> None:
    service.adjust_stock(uow=uow, variant_id=variant_id, location_id=store_id, delta=5, reason="in")
    change = service.set_stock(
        uow=uow,
        variant_id=variant_id,
        location_id=store_id,
        on_hand=3,
        safety_stock=1,
        reason="inventaire",
        actor="usr_2",
    )
    assert (change.movement.quantity_delta, change.movement.on_hand_after) == (-2, 3)
    assert (change.stock.safety_stock, change.stock.available) == (1, 2)
    fresh = service.set_stock(
        uow=uow, variant_id=variant_id, location_id=store_id, on_hand=3, reason="recount"
    )
    assert fresh.movement.quantity_delta == 0  # a confirming count is still on record
    assert fresh.stock.safety_stock == 1  # left as it was


def test_safety_stock_is_never_promised(uow: UnitOfWork, variant_id: str, store_id: str) -> None:
    change = service.set_stock(
        uow=uow,
        variant_id=variant_id,
        location_id=store_id,
        on_hand=2,
        safety_stock=5,
        reason="count",
    )
    assert change.stock.available == 0
    with pytest.raises(Conflict):
        service.reserve_stock(
            uow=uow, variant_id=variant_id, location_id=store_id, quantity=1, reference="cart"
        )


def test_out_of_stock_and_back_in_stock_events(
    uow: UnitOfWork, variant_id: str, store_id: str
) -> None:
    service.adjust_stock(uow=uow, variant_id=variant_id, location_id=store_id, delta=1, reason="in")
    uow.commit()
    service.adjust_stock(
        uow=uow, variant_id=variant_id, location_id=store_id, delta=-1, reason="sold at till"
    )
    sold_out = uow.pending_events
    assert sold_out == (OutOfStock(variant_id=variant_id, location_id=store_id),)
    uow.commit()
    service.adjust_stock(uow=uow, variant_id=variant_id, location_id=store_id, delta=4, reason="in")
    service.adjust_stock(uow=uow, variant_id=variant_id, location_id=store_id, delta=1, reason="in")
    restocked = uow.pending_events
    assert restocked == (BackInStock(variant_id=variant_id, location_id=store_id, available=4),)


def test_unknown_variant_or_location_is_not_found(
    uow: UnitOfWork, variant_id: str, store_id: str
) -> None:
    with pytest.raises(NotFound) as no_variant:
        service.adjust_stock(
            uow=uow, variant_id="var_nope", location_id=store_id, delta=1, reason="in"
        )
    assert no_variant.value.code == "variant_not_found"
    with pytest.raises(NotFound) as no_location:
        service.set_stock(
            uow=uow, variant_id=variant_id, location_id="loc_nope", on_hand=1, reason="in"
        )
    assert no_location.value.code == "location_not_found"
    # The refusals rolled back to a savepoint: the unit of work is still usable.
    service.adjust_stock(uow=uow, variant_id=variant_id, location_id=store_id, delta=1, reason="in")
    uow.commit()


def test_list_stock_and_movements_are_paginated(
    uow: UnitOfWork, make_variant: Callable[[], str], store_id: str
) -> None:
    variants = [make_variant() for _ in range(3)]
    for i, variant in enumerate(variants):
        for _ in range(2):
            service.adjust_stock(
                uow=uow, variant_id=variant, location_id=store_id, delta=i + 1, reason="in"
            )
    uow.commit()
    first, cursor = service.list_stock(uow=uow, location_id=store_id, limit=2)
    rest, end = service.list_stock(uow=uow, location_id=store_id, limit=2, cursor=cursor)
    assert [s.variant_id for s in first + rest] == sorted(variants)
    assert end is None

    moves, cursor = service.list_movements(uow=uow, location_id=store_id, limit=4)
    older, end = service.list_movements(uow=uow, location_id=store_id, limit=4, cursor=cursor)
    assert len(moves) == 4
    assert len(older) == 2
    assert end is None
    stamps = [m.created_at for m in moves + older]
    assert stamps == sorted(stamps, reverse=True)
    one, _ = service.list_movements(uow=uow, variant_id=variants[2])
    assert [m.on_hand_after for m in one] == [6, 3]


def test_load_stock_in_bulk_then_again(
    uow: UnitOfWork, make_variant: Callable[[], str], make_location: Callable[..., str]
) -> None:
    variants = [make_variant() for _ in range(3)]
    shop, depot = make_location("SHOP"), make_location("DEPOT", kind="warehouse")
    levels = [
        (v, loc, n)
        for n, (v, loc) in enumerate((v, loc) for v in variants for loc in (shop, depot))
    ]
    assert service.load_stock(uow=uow, levels=levels) == 6
    uow.commit()
    assert uow.pending_events == ()
    again = service.load_stock(uow=uow, levels=[(variants[0], shop, 9)])
    uow.commit()
    assert again == 1
    stock = service.get_stock(uow=uow, variant_id=variants[0], location_id=shop)
    assert stock is not None
    assert stock.on_hand == 9
    moves, _ = service.list_movements(uow=uow, variant_id=variants[0], location_id=shop)
    assert sum(m.quantity_delta for m in moves) == 9
