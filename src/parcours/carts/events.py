"""Events carts records. Ids and counts only: what is in a cart is read from the cart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from parcours.core.events import DomainEvent, event


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class CartUpdated(DomainEvent):
    name: ClassVar[str] = "carts.cart_updated"
    cart_id: str
    version: int
    change: str  # line_added, line_changed, line_removed, merged, checked_out, customer_attached…
