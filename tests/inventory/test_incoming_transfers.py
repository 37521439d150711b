"""What is on its way to a store, size by size, with when each lot arrives: the associate's
product sheet says "2 on the way, expected on the 24th"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import QueryCounter, Shop

from parcours.core.uow import UnitOfWork
from parcours.inventory import service

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _send(uow: UnitOfWork, source: str, to: str, lines: list[tuple[str, int]], days: int) -> str:
    transfer = service.create_transfer(
        uow=uow,
        from_location_id=source,
        to_location_id=to,
        lines=lines,
        lead_time=timedelta(days=days),
        now=T0,
    )
    return transfer.id


def test_lots_on_their_way_here_soonest_first_in_one_query(
    uow: UnitOfWork, shop: Shop, queries: QueryCounter
) -> None:
    s, m, large = shop.variants["S"], shop.variants["M"], shop.variants["L"]
    _send(uow, shop.warehouse, shop.store_a, [(s, 1), (large, 3)], days=4)
    _send(uow, shop.warehouse, shop.store_a, [(s, 2)], days=2)
    _send(uow, shop.store_b, shop.store_a, [(m, 1)], days=2)
    # Two lots due at the same moment read as one.
    _send(uow, shop.store_b, shop.store_a, [(m, 1)], days=2)
    # Neither a received nor a cancelled transfer, nor one to another store, is coming here.
    service.receive_transfer(
        uow=uow, transfer_id=_send(uow, shop.warehouse, shop.store_a, [(s, 5)], days=1), now=T0
    )
    service.cancel_transfer(
        uow=uow, transfer_id=_send(uow, shop.warehouse, shop.store_a, [(s, 7)], days=1), now=T0
    )
    _send(uow, shop.warehouse, shop.store_b, [(s, 9)], days=1)
    uow.commit()

    queries.statements.clear()
    incoming = service.incoming_transfers(
        uow=uow, location_id=shop.store_a, variant_ids=[s, m, large, "var_nothing"]
    )
    assert queries.count == 1
    assert incoming == {
        s: [(2, T0 + timedelta(days=2)), (1, T0 + timedelta(days=4))],
        m: [(2, T0 + timedelta(days=2))],
        large: [(3, T0 + timedelta(days=4))],
    }
    assert all(when.tzinfo is not None for lots in incoming.values() for _, when in lots)
    # The count the sheet showed before is the sum of the lots.
    assert service.in_transit_to(uow=uow, location_id=shop.store_a, variant_id=s) == 3
    assert service.incoming_transfers(uow=uow, location_id=shop.store_a, variant_ids=[]) == {}
