"""Events the catalog records: a product became visible on channels, a price changed."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from parcours.core.events import DomainEvent, event


@event
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ProductPublished(DomainEvent):
    """The product became visible on ``channels`` (only those it was not visible on before)."""

    name: ClassVar[str] = "catalog.product_published"

    product_id: str
    slug: str
    channels: tuple[str, ...]

    def __post_init__(self) -> None:
        # Rebuilt from the outbox's JSON, the channels arrive as a list.
        object.__setattr__(self, "channels", tuple(self.channels))


@event
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PriceChanged(DomainEvent):
    """The price a shopper pays changed: the product's (``variant_id`` None, every variant without
    its own price follows) or one variant's own price."""

    name: ClassVar[str] = "catalog.price_changed"

    product_id: str
    variant_id: str | None
    old_amount: int
    old_currency: str
    new_amount: int
    currency: str
