"""Input and output shapes of payments, refunds, card tokens and payment links.

Shoppers (a payment link's payer, a 3-D Secure challenge) get the ``Public`` shapes: what is paid
and how it went, never the reference's other payments, the store or the staff who acted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from parcours.core.money import CurrencyCode
from parcours.payments.models import (
    Payment,
    PaymentLink,
    PaymentLinkStatus,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from parcours.payments.service import MAX_AMOUNT


class PaymentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    reference: str
    amount: int = Field(description="Minor units (cents for EUR)")
    currency: str
    method: PaymentMethod
    provider: str
    status: PaymentStatus
    failure_code: str | None
    failure_message: str | None
    card_brand: str | None
    card_last4: str | None
    next_action_url: str | None = Field(
        description="Where the shopper completes 3-D Secure (status requires_action)"
    )
    refunded_amount: int
    refundable_amount: int
    tendered_amount: int | None = Field(description="Cash: what the shopper handed over")
    change_due: int | None = Field(description="Cash: what the till gives back")
    terminal_reference: str | None
    channel: str
    store_id: str | None
    payment_link_id: str | None
    created_at: datetime
    captured_at: datetime | None

    @classmethod
    def of(cls, payment: Payment) -> PaymentRead:
        return cls.model_validate(payment)


class PaymentPublicRead(BaseModel):
    """A payment as its payer sees it."""

    id: str
    amount: int
    currency: str
    status: PaymentStatus
    failure_code: str | None
    failure_message: str | None
    card_brand: str | None
    card_last4: str | None
    next_action_url: str | None
    client_secret: str | None = Field(
        description="Only while 3-D Secure is pending: completes it (Stripe.js, or our page)"
    )

    @classmethod
    def of(cls, payment: Payment) -> PaymentPublicRead:
        waiting = payment.status == PaymentStatus.REQUIRES_ACTION
        return cls(
            id=payment.id,
            amount=payment.amount,
            currency=payment.currency,
            status=PaymentStatus(payment.status),
            failure_code=payment.failure_code,
            failure_message=payment.failure_message,
            card_brand=payment.card_brand,
            card_last4=payment.card_last4,
            next_action_url=payment.next_action_url if waiting else None,
            client_secret=payment.client_secret if waiting else None,
        )


class RefundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: StrictInt = Field(ge=1, le=MAX_AMOUNT, description="Minor units; at most what remains")
    reason: str = Field(min_length=1, max_length=500)


class RefundRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    payment_id: str
    amount: int
    currency: str
    reason: str
    status: RefundStatus
    created_at: datetime

    @classmethod
    def of(cls, refund: Refund) -> RefundRead:
        return cls.model_validate(refund)


class CardTokenCreate(BaseModel):
    """A test card, as a payment form collects it. Never stored, never logged, never echoed."""

    model_config = ConfigDict(extra="forbid")
    number: str = Field(
        min_length=12, max_length=23, pattern=r"^[0-9 ]+$", examples=["4242 4242 4242 4242"]
    )
    exp_month: StrictInt = Field(ge=1, le=12)
    exp_year: StrictInt = Field(ge=2000, le=2100)
    cvc: str = Field(pattern=r"^[0-9]{3,4}$", examples=["123"])


class CardTokenRead(BaseModel):
    token: str = Field(description="Pay with it: {'token': …}")
    brand: str
    last4: str
    exp_month: int
    exp_year: int


class ChallengeAnswer(BaseModel):
    """The simulated bank's question: does the cardholder approve this payment?"""

    model_config = ConfigDict(extra="forbid")
    outcome: Literal["approve", "deny"]
    client_secret: str = Field(min_length=1, max_length=255)


class PaymentLinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reference: str = Field(min_length=1, max_length=80, description="The order it pays")
    amount: StrictInt = Field(ge=1, le=MAX_AMOUNT)
    currency: CurrencyCode
    description: str = Field(
        min_length=1, max_length=200, description="Shown to the payer: no personal data"
    )
    ttl_seconds: StrictInt = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)
    channel: str = Field(default="store", min_length=1, max_length=20)
    store_id: str | None = Field(default=None, min_length=1, max_length=40)


class PaymentLinkRead(BaseModel):
    id: str
    token: str
    reference: str
    amount: int
    currency: str
    description: str
    status: PaymentLinkStatus
    url: str = Field(description="The link to send or print")
    url_path: str
    qr_svg_path: str
    channel: str
    store_id: str | None
    expires_at: datetime
    created_at: datetime
    paid_at: datetime | None

    @classmethod
    def of(cls, link: PaymentLink, *, base_url: str) -> PaymentLinkRead:
        return cls(
            id=link.id,
            token=link.token,
            reference=link.reference,
            amount=link.amount,
            currency=link.currency,
            description=link.description,
            status=link.status,
            url=f"{base_url}{link.url_path}",
            url_path=link.url_path,
            qr_svg_path=f"/v1/payment-links/{link.token}/qr.svg",
            channel=link.channel,
            store_id=link.store_id,
            expires_at=link.expires_at,
            created_at=link.created_at,
            paid_at=link.paid_at,
        )


class PaymentLinkPublicRead(BaseModel):
    """What is to be paid, for whoever holds the link."""

    amount: int
    currency: str
    description: str
    status: PaymentLinkStatus
    expires_at: datetime
    pay_path: str = Field(description="POST a card token here, with an Idempotency-Key")
    qr_svg_path: str

    @classmethod
    def of(cls, link: PaymentLink) -> PaymentLinkPublicRead:
        return cls(
            amount=link.amount,
            currency=link.currency,
            description=link.description,
            status=link.status,
            expires_at=link.expires_at,
            pay_path=f"/v1/payment-links/{link.token}/payments",
            qr_svg_path=f"/v1/payment-links/{link.token}/qr.svg",
        )


class PaymentLinkPay(BaseModel):
    """The card: a test provider token, or a Stripe payment method from Stripe.js."""

    model_config = ConfigDict(extra="forbid")
    token: str | None = Field(default=None, min_length=1, max_length=255)
    payment_method: str | None = Field(default=None, min_length=1, max_length=255)

    @model_validator(mode="after")
    def _one_card(self) -> Self:
        if (self.token is None) == (self.payment_method is None):
            raise ValueError("give exactly one of token or payment_method")
        return self

    def details(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class WebhookReceipt(BaseModel):
    received: bool = True
    payment_id: str | None = Field(description="The payment the event changed, if ours")
