"""Events inventory records. Fields are plain JSON values: they travel through the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from parcours.core.events import DomainEvent, event


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class StockReserved(DomainEvent):
    name: ClassVar[str] = "inventory.stock_reserved"
    reservation_id: str
    variant_id: str
    location_id: str
    quantity: int
    reference: str
    expires_at: str  # ISO 8601, UTC


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class StockReleased(DomainEvent):
    """A reservation gave its units back: released on purpose, or expired."""

    name: ClassVar[str] = "inventory.stock_released"
    reservation_id: str
    variant_id: str
    location_id: str
    quantity: int
    reference: str
    expired: bool


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class OutOfStock(DomainEvent):
    """Nothing more can be promised of this variant at this location."""

    name: ClassVar[str] = "inventory.out_of_stock"
    variant_id: str
    location_id: str


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class BackInStock(DomainEvent):
    """The variant can be promised again at this location (alerts, feeds)."""

    name: ClassVar[str] = "inventory.back_in_stock"
    variant_id: str
    location_id: str
    available: int
