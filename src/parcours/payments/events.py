"""Events payments records. Fields are plain JSON values: they travel through the outbox.

``PaymentCaptured`` is recorded exactly once per payment, whichever path captured it (at once,
after 3-D Secure, through a payment link or by a Stripe webhook): orders mark an order paid on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from parcours.core.events import DomainEvent, event


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentCaptured(DomainEvent):
    """The money is taken."""

    name: ClassVar[str] = "payments.payment_captured"
    payment_id: str
    reference: str
    amount: int
    currency: str
    method: str
    channel: str
    store_id: str | None


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentFailed(DomainEvent):
    """The attempt failed (declined, 3-D Secure denied, abandoned); another may follow."""

    name: ClassVar[str] = "payments.payment_failed"
    payment_id: str
    reference: str
    amount: int
    currency: str
    failure_code: str


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentRefunded(DomainEvent):
    """Part or all of a captured payment went back to the payer."""

    name: ClassVar[str] = "payments.payment_refunded"
    refund_id: str
    payment_id: str
    reference: str
    amount: int
    currency: str
