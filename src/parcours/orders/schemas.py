"""Input and output shapes of the orders API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from parcours.orders.models import FulfilmentMethod

_STRICT = ConfigDict(extra="forbid")


class AddressIn(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1, max_length=200)
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    postcode: str = Field(min_length=2, max_length=12)
    city: str = Field(min_length=1, max_length=100)
    country: str = Field(default="FR", pattern=r"^[A-Z]{2}$")
    phone: str | None = Field(default=None, max_length=30)


class FulfilmentIn(BaseModel):
    model_config = _STRICT
    method: FulfilmentMethod
    line_ids: list[str] | None = Field(
        default=None, max_length=100, description="default: every line no other group names"
    )
    store_id: str | None = Field(
        default=None,
        max_length=40,
        description="the store to collect from (click_and_collect, reserve_in_store, in_store)",
    )
    address: AddressIn | None = Field(default=None, description="for delivery, ship_from_store")


class CheckoutCreate(BaseModel):
    model_config = _STRICT
    fulfilments: list[FulfilmentIn] = Field(min_length=1, max_length=10)
    email: str | None = Field(
        default=None, max_length=320, description="where the confirmation and pickup notice go"
    )
    locale: Literal["fr", "en"] = "fr"
    store_id: str | None = Field(
        default=None, max_length=40, description="staff: the store the sale is made in"
    )


class OrderLineRead(BaseModel):
    id: str
    fulfilment_id: str
    variant_id: str
    product_id: str
    sku: str
    name: str
    attributes: dict[str, str]
    quantity: int
    unit_price: int
    amount: int
    discount: int = Field(default=0, description="this line's share of the order's discount")
    returned_quantity: int
    touchpoint: str | None
    medium: str | None
    campaign: str | None


class FulfilmentRead(BaseModel):
    id: str
    method: str
    status: str
    source_location_id: str
    pickup_location_id: str | None
    ready_by: datetime | None
    ready_at: datetime | None
    arrived_at: datetime | None = None
    done_at: datetime | None
    tracking_reference: str | None


class OrderEventRead(BaseModel):
    at: datetime
    kind: str
    status: str
    location_id: str | None
    actor: str | None
    detail: dict[str, Any]


class OrderRead(BaseModel):
    id: str
    number: str
    status: str
    channel: str
    origin: str
    store_id: str | None
    profile_id: str | None
    currency: str
    subtotal: int
    shipping: int
    discount: int = Field(default=0, description="what the promo code took off the subtotal")
    promo_code: str | None = None
    total: int = Field(description="subtotal - discount + shipping")
    paid_amount: int
    refunded_amount: int
    amount_due: int
    pickup_code: str | None = Field(description="shown to the shopper and staff only")
    payment_due_by: datetime | None
    placed_at: datetime
    paid_at: datetime | None
    fulfilments: list[FulfilmentRead]
    lines: list[OrderLineRead]
    timeline: list[OrderEventRead] | None = None


class OrderSummaryRead(BaseModel):
    id: str
    number: str
    status: str
    channel: str
    origin: str
    store_id: str | None
    total: int
    currency: str
    placed_at: datetime
    item_count: int


class OrderPage(BaseModel):
    items: list[OrderSummaryRead]
    next_cursor: str | None


class PaymentIn(BaseModel):
    model_config = _STRICT
    method: Literal["card", "cash", "card_terminal"]
    token: str | None = Field(default=None, max_length=100, description="card: the card token")
    payment_method: str | None = Field(
        default=None, max_length=100, description="card with Stripe: a PaymentMethod id"
    )
    tendered: StrictInt | None = Field(default=None, ge=0, le=10_000_000, description="cash given")
    terminal_reference: str | None = Field(default=None, max_length=100)
    store_id: str | None = Field(default=None, max_length=40, description="staff: the till's store")


class PaymentRead(BaseModel):
    id: str
    status: str
    method: str
    provider: str
    amount: int
    currency: str
    failure_code: str | None
    failure_message: str | None
    card_brand: str | None
    card_last4: str | None
    next_action_url: str | None
    change_due: int | None = None


class OrderPaymentRead(BaseModel):
    payment: PaymentRead
    order: OrderRead


class PaymentLinkRead(BaseModel):
    url: str
    token: str
    qr_svg: str
    amount: int
    currency: str
    expires_at: datetime


class PickupStoreIn(BaseModel):
    model_config = _STRICT
    store_id: str = Field(min_length=1, max_length=40)


class CollectIn(BaseModel):
    model_config = _STRICT
    store_id: str = Field(min_length=1, max_length=40)
    pickup_code: str = Field(pattern=r"^\s*\d{6}\s*$")


class ShipIn(BaseModel):
    model_config = _STRICT
    fulfilment_id: str = Field(min_length=1, max_length=40)
    tracking_reference: str | None = Field(default=None, max_length=100)


class DeliveredIn(BaseModel):
    model_config = _STRICT
    fulfilment_id: str = Field(min_length=1, max_length=40)


class CancelIn(BaseModel):
    model_config = _STRICT
    reason: str = Field(default="customer_request", min_length=1, max_length=200)


class ReturnLineIn(BaseModel):
    model_config = _STRICT
    line_id: str = Field(min_length=1, max_length=40)
    quantity: StrictInt = Field(ge=1, le=99)


class ReturnCreate(BaseModel):
    model_config = _STRICT
    store_id: str = Field(min_length=1, max_length=40, description="the store taking it back")
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=100)
    reason: str = Field(default="", max_length=500)


class ReturnRead(BaseModel):
    id: str
    order_id: str
    location_id: str
    amount: int
    refund_ids: list[str]
    lines: list[dict[str, Any]]
    created_at: datetime
    order_status: str
