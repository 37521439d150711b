"""Which location supplies a group of lines, and when the shopper gets them.

Retailers disagree on where a delivery ships from (the warehouse keeps stores' shelves full; the
nearest store gets it to her sooner and sells its slow stock), so delivery sourcing is a strategy
(``PARCOURS_DELIVERY_SOURCING``):

* ``warehouse_first`` (default for ``delivery``): a warehouse that holds everything, else the
  nearest store offering ship-from-store that holds everything;
* ``nearest_store_first`` (always for ``ship_from_store``): the nearest such store, else a
  warehouse.

A group is never split: one source, one parcel or one pickup. Click-and-collect takes from the
chosen store's shelf when it holds everything, else from a location that can send it there (a
warehouse first, then the nearest store), ready after the transfer lead time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from parcours.core.errors import Conflict, InvalidInput, NotFound
from parcours.core.uow import UnitOfWork
from parcours.inventory import service as inventory
from parcours.orders.models import FulfilmentMethod
from parcours.stores import service as stores
from parcours.stores.directory import StoreCard
from parcours.stores.models import LocationKind, Service

#: From the warehouse to her door; from a store, a day less.
WAREHOUSE_DELIVERY = timedelta(days=3)
STORE_DELIVERY = timedelta(days=2)
#: A till sale is handed over at once; a store reservation is on the shelf within this.
HOLD_PREPARATION = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Sourced:
    source_location_id: str
    pickup_location_id: str | None
    ready_by: datetime | None
    via_transfer: bool = False


class SourcingStrategy(Protocol):
    """Orders the candidate locations for a delivery; the first that holds everything ships."""

    name: str

    def rank(
        self, candidates: Sequence[StoreCard], near: tuple[float, float] | None
    ) -> list[StoreCard]: ...


def _km(card: StoreCard, near: tuple[float, float] | None) -> float:
    if near is None:
        return 0.0
    return stores.haversine_km(card.latitude, card.longitude, near[0], near[1])


def _ships(card: StoreCard) -> bool:
    return card.kind == LocationKind.WAREHOUSE.value or card.offers(Service.SHIP_FROM_STORE)


class WarehouseFirst:
    name = "warehouse_first"

    def rank(
        self, candidates: Sequence[StoreCard], near: tuple[float, float] | None
    ) -> list[StoreCard]:
        return sorted(
            (card for card in candidates if _ships(card)),
            key=lambda card: (card.kind != LocationKind.WAREHOUSE.value, _km(card, near), card.id),
        )


class NearestStoreFirst:
    name = "nearest_store_first"

    def rank(
        self, candidates: Sequence[StoreCard], near: tuple[float, float] | None
    ) -> list[StoreCard]:
        return sorted(
            (card for card in candidates if _ships(card)),
            key=lambda card: (card.kind == LocationKind.WAREHOUSE.value, _km(card, near), card.id),
        )


STRATEGIES: dict[str, SourcingStrategy] = {
    s.name: s for s in (WarehouseFirst(), NearestStoreFirst())
}


def _store(
    cards: Mapping[str, StoreCard], store_id: str | None, service: Service | None
) -> StoreCard:
    if not store_id:
        raise InvalidInput("this fulfilment needs a store_id", code="store_required")
    card = cards.get(store_id)
    if card is None or not card.active or card.kind != LocationKind.STORE.value:
        raise NotFound(f"no open store {store_id!r}", code="store_not_found")
    if service is not None and not card.offers(service):
        raise Conflict(
            f"{card.name} does not offer {service.value.replace('_', ' ')}",
            code="service_not_offered",
            store_id=store_id,
            service=service.value,
        )
    return card


def _short(uow: UnitOfWork, quantities: Mapping[str, int], location_id: str | None) -> Conflict:
    return Conflict(
        "not enough stock for these items" + (" in this store" if location_id else ""),
        code="insufficient_stock",
        location_id=location_id,
        variant_ids=sorted(quantities),
    )


def _origin(uow: UnitOfWork, address: Mapping[str, Any] | None) -> tuple[float, float] | None:
    if not address:
        return None
    postcode = str(address.get("postcode") or "").strip()
    city = str(address.get("city") or "").strip()
    for query in (postcode, city):
        if query:
            try:
                place = stores.resolve_place(uow=uow, query=query)
            except (InvalidInput, NotFound):
                continue
            return (place.latitude, place.longitude)
    return None


def choose_source(
    *,
    uow: UnitOfWork,
    method: FulfilmentMethod,
    quantities: Mapping[str, int],
    store_id: str | None,
    address: Mapping[str, Any] | None,
    delivery_strategy: str,
    now: datetime,
) -> Sourced:
    """Where the group's stock comes from, where she gets it and by when. Refused with Conflict
    ``insufficient_stock`` when no single location can supply the whole group."""
    cards = stores.store_cards(uow=uow)
    if method in (FulfilmentMethod.DELIVERY, FulfilmentMethod.SHIP_FROM_STORE):
        if not address:
            raise InvalidInput("a delivery needs an address", code="address_required")
        strategy = STRATEGIES[
            "nearest_store_first"
            if method is FulfilmentMethod.SHIP_FROM_STORE
            else delivery_strategy
        ]
        holders = set(inventory.locations_holding(uow=uow, quantities=quantities))
        ranked = strategy.rank(
            [card for card in cards.values() if card.active and card.id in holders],
            _origin(uow, address),
        )
        if not ranked:
            raise _short(uow, quantities, None)
        source = ranked[0]
        lead = WAREHOUSE_DELIVERY if source.kind == LocationKind.WAREHOUSE.value else STORE_DELIVERY
        return Sourced(source.id, None, now + lead)

    if method is FulfilmentMethod.IN_STORE:
        store = _store(cards, store_id, None)
        if store.id not in inventory.locations_holding(
            uow=uow, quantities=quantities, location_ids=[store.id]
        ):
            raise _short(uow, quantities, store.id)
        return Sourced(store.id, store.id, now)

    if method is FulfilmentMethod.RESERVE_IN_STORE:
        store = _store(cards, store_id, Service.RESERVE_IN_STORE)
        if store.id not in inventory.locations_holding(
            uow=uow, quantities=quantities, location_ids=[store.id]
        ):
            raise _short(uow, quantities, store.id)
        ready = stores.ready_time(store, at=now, lead=HOLD_PREPARATION)
        return Sourced(store.id, store.id, ready)

    # Click-and-collect: from this store's shelf, or sent here.
    store = _store(cards, store_id, Service.CLICK_AND_COLLECT)
    holders = set(inventory.locations_holding(uow=uow, quantities=quantities))
    if store.id in holders:
        ready = stores.ready_time(
            store,
            at=now,
            lead=inventory.COLLECT_PREPARATION,
            at_opening=inventory.READY_AFTER_OPENING,
        )
        return Sourced(store.id, store.id, ready)
    senders = sorted(
        (card for card in cards.values() if card.active and card.id in holders),
        key=lambda card: (
            card.kind != LocationKind.WAREHOUSE.value,
            _km(card, (store.latitude, store.longitude)),
            card.id,
        ),
    )
    if not senders:
        raise _short(uow, quantities, None)
    ready = stores.ready_time(
        store,
        at=now,
        lead=inventory.TRANSFER_LEAD_TIME,
        at_opening=inventory.READY_AFTER_OPENING,
    )
    return Sourced(senders[0].id, store.id, ready, via_transfer=True)
