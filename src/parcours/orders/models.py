"""Tables of orders: orders, their fulfilment groups and lines, the timeline, and returns."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parcours.core.db import Base, JSONDocument, UTCDateTime


class OrderStatus(StrEnum):
    PLACED = "placed"  # stock reserved, waiting for payment
    PAID = "paid"
    READY_FOR_PICKUP = "ready_for_pickup"
    COLLECTED = "collected"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"
    PARTLY_RETURNED = "partly_returned"
    REFUNDED = "refunded"  # all the money given back without a return (payments API, goodwill)


class FulfilmentMethod(StrEnum):
    DELIVERY = "delivery"  # to her address, from the location the sourcing strategy picks
    SHIP_FROM_STORE = "ship_from_store"  # delivery, preferring the nearest store that holds it
    CLICK_AND_COLLECT = "click_and_collect"  # paid online, collected in a store
    RESERVE_IN_STORE = "reserve_in_store"  # held in a store, paid there when collected
    IN_STORE = "in_store"  # bought at the till, taken away at once


PICKUP_METHODS = frozenset(
    {
        FulfilmentMethod.CLICK_AND_COLLECT,
        FulfilmentMethod.RESERVE_IN_STORE,
        FulfilmentMethod.IN_STORE,
    }
)


class FulfilmentStatus(StrEnum):
    PENDING = "pending"  # waiting for payment or preparation
    IN_TRANSIT = "in_transit"  # coming from another location to the pickup store
    READY = "ready"  # on the pickup shelf
    COLLECTED = "collected"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # ord_…
    number: Mapped[str] = mapped_column(String(20), unique=True)  # what the shopper reads
    cart_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    profile_id: Mapped[str | None] = mapped_column(
        ForeignKey("customer_profiles.id", ondelete="SET NULL"), nullable=True, index=True
    )
    anonymous_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)  # personal data
    locale: Mapped[str] = mapped_column(String(5), default="fr")
    channel: Mapped[str] = mapped_column(String(20))  # web, app, kiosk, till, store
    store_id: Mapped[str | None] = mapped_column(String(40), nullable=True)  # where it was placed
    placed_by: Mapped[str | None] = mapped_column(String(40), nullable=True)  # staff user
    origin: Mapped[str] = mapped_column(String(20))  # online, till, endless_aisle, kiosk
    status: Mapped[str] = mapped_column(String(20), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int] = mapped_column(Integer)
    shipping: Mapped[int] = mapped_column(Integer, default=0)
    #: What the promo code took off the subtotal; spread over the lines (OrderLine.discount).
    discount: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    promo_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    total: Mapped[int] = mapped_column(Integer)  # subtotal - discount + shipping
    paid_amount: Mapped[int] = mapped_column(Integer, default=0)
    refunded_amount: Mapped[int] = mapped_column(Integer, default=0)
    pickup_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    payment_due_by: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    fulfilments: Mapped[list[Fulfilment]] = relationship(
        cascade="all, delete-orphan", order_by="Fulfilment.position", lazy="selectin"
    )
    lines: Mapped[list[OrderLine]] = relationship(
        cascade="all, delete-orphan", order_by="OrderLine.position", lazy="selectin"
    )

    __table_args__ = (
        CheckConstraint("total >= 0", name="total_not_negative"),
        CheckConstraint("refunded_amount <= paid_amount", name="refund_within_paid"),
        Index("ix_orders_status_payment_due_by", "status", "payment_due_by"),
        Index("ix_orders_profile_placed_at", "profile_id", "placed_at"),
    )


class Fulfilment(Base):
    """A group of lines that travel together: one source location, one way to reach her."""

    __tablename__ = "order_fulfilments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # ful_…
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    source_location_id: Mapped[str] = mapped_column(String(40))  # where the stock is taken
    pickup_location_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    ready_by: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # promise
    address: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, nullable=True)  # PII
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # She showed up at the pickup desk (checked in by staff, by her code, or from her phone):
    # from here to done_at is the in-store queue the desk measures.
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    tracking_reference: Mapped[str | None] = mapped_column(String(100), nullable=True)


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # oln_…
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    fulfilment_id: Mapped[str] = mapped_column(
        ForeignKey("order_fulfilments.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    variant_id: Mapped[str] = mapped_column(String(40), index=True)
    product_id: Mapped[str] = mapped_column(String(40))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    attributes: Mapped[dict[str, str]] = mapped_column(JSONDocument, default=dict)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(Integer)
    #: This line's share of the order's discount (for all its units): a return refunds net of it.
    discount: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    returned_quantity: Mapped[int] = mapped_column(Integer, default=0)
    reservation_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    touchpoint: Mapped[str | None] = mapped_column(String(20), nullable=True)
    medium: Mapped[str | None] = mapped_column(String(30), nullable=True)
    campaign: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "returned_quantity >= 0 AND returned_quantity <= quantity", name="returned_within"
        ),
    )


class OrderEvent(Base):
    """The order's timeline: every change, when, where and by whom."""

    __tablename__ = "order_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # oev_…
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))  # the order's status after it
    detail: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    actor: Mapped[str | None] = mapped_column(String(40), nullable=True)
    location_id: Mapped[str | None] = mapped_column(String(40), nullable=True)


class OrderReturn(Base):
    __tablename__ = "order_returns"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # ret_…
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[str] = mapped_column(String(40))  # the store that took it back
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)  # line id, quantity
    amount: Mapped[int] = mapped_column(Integer)
    refund_ids: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    reason: Mapped[str] = mapped_column(String(500), default="")
    actor: Mapped[str | None] = mapped_column(String(40), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("uq_order_returns_order_key", "order_id", "idempotency_key", unique=True),
    )


class TillSaleKey(Base):
    """The Idempotency-Key of a sale sent by a till, claimed once per store: a till that signs in
    again while offline resends its queue from a new session, which the request-level idempotency
    (scoped to the caller) would not recognise (see ``orders/till.py``)."""

    __tablename__ = "till_sale_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # tsk_…
    store_id: Mapped[str] = mapped_column(String(40))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    order_id: Mapped[str | None] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), nullable=True
    )
    sold_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the till's clock
    recorded_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: SHA-256 of the sale as first sent: the same key with another sale is refused, not
    #: answered with the first one (NULL for keys claimed before fingerprints were kept).
    request_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (
        UniqueConstraint("store_id", "idempotency_key", name="uq_till_sale_keys_store_key"),
    )
