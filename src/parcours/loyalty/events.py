"""Events loyalty records. Ids and amounts only: who the shopper is is read from the order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from parcours.core.events import DomainEvent, event


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class CouponRedeemed(DomainEvent):
    name: ClassVar[str] = "loyalty.coupon_redeemed"
    promo_code_id: str
    code: str
    order_id: str
    amount: int
    currency: str


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class CouponReleased(DomainEvent):
    """The order that redeemed it was cancelled: the use counts no more."""

    name: ClassVar[str] = "loyalty.coupon_released"
    promo_code_id: str
    code: str
    order_id: str
