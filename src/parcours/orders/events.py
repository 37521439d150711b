"""Events orders records. Ids, amounts and places only: no address or email in a payload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from parcours.core.events import DomainEvent, event


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPlaced(DomainEvent):
    name: ClassVar[str] = "orders.order_placed"
    order_id: str
    channel: str
    store_id: str | None
    total: int
    currency: str


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPaid(DomainEvent):
    name: ClassVar[str] = "orders.order_paid"
    order_id: str
    amount: int
    currency: str


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderReadyForPickup(DomainEvent):
    name: ClassVar[str] = "orders.order_ready_for_pickup"
    order_id: str
    fulfilment_id: str
    location_id: str


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCollected(DomainEvent):
    name: ClassVar[str] = "orders.order_collected"
    order_id: str
    fulfilment_id: str
    location_id: str
    waited_seconds: int | None  # from her arrival at the desk to handed over: the queue
    shelf_seconds: int | None = None  # from "ready" to handed over: how long it sat waiting


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderShipped(DomainEvent):
    name: ClassVar[str] = "orders.order_shipped"
    order_id: str
    fulfilment_id: str
    location_id: str


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderDelivered(DomainEvent):
    name: ClassVar[str] = "orders.order_delivered"
    order_id: str
    fulfilment_id: str


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelled(DomainEvent):
    name: ClassVar[str] = "orders.order_cancelled"
    order_id: str
    reason: str


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderReturned(DomainEvent):
    name: ClassVar[str] = "orders.order_returned"
    order_id: str
    return_id: str
    location_id: str
    amount: int
    currency: str
