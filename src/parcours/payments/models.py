"""Payments, their refunds, and payment links.

No card number or CVC is ever a column here: a card is known by its brand and last four digits,
and by the provider's reference for the charge.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parcours.core.clock import utcnow
from parcours.core.db import Base, UTCDateTime


class PaymentMethod(StrEnum):
    CARD = "card"  # online, through a card provider (test provider or Stripe)
    CASH = "cash"  # at the till
    CARD_TERMINAL = "card_terminal"  # at the till, on the store's own terminal


class PaymentStatus(StrEnum):
    PROCESSING = "processing"  # the provider has not answered yet (a webhook will settle it)
    REQUIRES_ACTION = "requires_action"  # waiting for the shopper's 3-D Secure challenge
    CAPTURED = "captured"
    FAILED = "failed"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


#: Statuses in which money was taken (and may be refunded, in part or in full).
MONEY_TAKEN = (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)


class Payment(Base):
    """One attempt to take an amount for a reference (an order, a checkout).

    ``(reference, idempotency_key)`` is unique: a retried request finds the payment it already
    made instead of charging again, and ``request_fingerprint`` tells a true retry from a
    different request reusing the key.
    """

    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    reference: Mapped[str] = mapped_column(String(80))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(20))
    provider: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(24))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    provider_reference: Mapped[str | None] = mapped_column(String(255), index=True)
    # Proves the right to answer the 3-D Secure challenge (or to complete it with Stripe.js).
    client_secret: Mapped[str | None] = mapped_column(String(255))
    next_action_url: Mapped[str | None] = mapped_column(String(2000))
    failure_code: Mapped[str | None] = mapped_column(String(60))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    card_brand: Mapped[str | None] = mapped_column(String(20))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    tendered_amount: Mapped[int | None] = mapped_column(Integer)  # cash handed over
    change_due: Mapped[int | None] = mapped_column(Integer)  # cash handed back
    terminal_reference: Mapped[str | None] = mapped_column(String(80))
    refunded_amount: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str] = mapped_column(String(20))
    store_id: Mapped[str | None] = mapped_column(String(40))
    payment_link_id: Mapped[str | None] = mapped_column(
        ForeignKey("payment_links.id", ondelete="RESTRICT"), index=True
    )
    actor: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("reference", "idempotency_key"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= amount", name="refunded_within_amount"
        ),
        Index("ix_payments_reference_id", "reference", "id"),
    )

    @property
    def refundable_amount(self) -> int:
        return self.amount - self.refunded_amount if self.status in MONEY_TAKEN else 0


class RefundStatus(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"  # accepted by the provider, money on its way back


class Refund(Base):
    __tablename__ = "payment_refunds"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    payment_id: Mapped[str] = mapped_column(
        ForeignKey("payments.id", ondelete="RESTRICT"), index=True
    )
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    provider_reference: Mapped[str | None] = mapped_column(String(255))
    actor: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("payment_id", "idempotency_key"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )


class PaymentLinkStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    EXPIRED = "expired"  # never stored: an open link past its expiry


class PaymentLink(Base):
    """An amount to pay for a reference, reachable by an unguessable token (a URL, a QR code)."""

    __tablename__ = "payment_links"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    reference: Mapped[str] = mapped_column(String(80), index=True)
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(String(200))
    # "open" or "paid"; ``status`` adds "expired", which depends on the time of asking.
    state: Mapped[str] = mapped_column("status", String(20))
    channel: Mapped[str] = mapped_column(String(20))
    store_id: Mapped[str | None] = mapped_column(String(40))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    @property
    def url_path(self) -> str:
        """Where a payer opens it (the storefront renders that page)."""
        return f"/payer/{self.token}"

    @property
    def status(self) -> PaymentLinkStatus:
        return self.status_at(utcnow())

    def status_at(self, now: datetime) -> PaymentLinkStatus:
        if self.state == PaymentLinkStatus.PAID:
            return PaymentLinkStatus.PAID
        return PaymentLinkStatus.EXPIRED if now >= self.expires_at else PaymentLinkStatus.OPEN
