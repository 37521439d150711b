"""Tables of carts: carts, their lines (with the touchpoint that added each) and handoff codes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parcours.core.db import Base, UTCDateTime


class CartStatus(StrEnum):
    ACTIVE = "active"
    MERGED = "merged"  # its lines moved into the shopper's cart when she signed in
    CHECKED_OUT = "checked_out"  # an order was placed from it
    ABANDONED = "abandoned"  # replaced by the other cart on sign-in (keep-one strategies)


class TouchpointKind(StrEnum):
    """Where a line was added: the journey's channel at that moment."""

    WEB = "web"
    APP = "app"
    PRINT = "print"  # a scanned poster, magazine, flyer or shelf label
    STORE = "store"  # an associate, on her tablet
    TILL = "till"
    KIOSK = "kiosk"
    SMS = "sms"
    EMAIL = "email"
    SOCIAL = "social"


class Cart(Base):
    """One active cart per shopper: per profile once known, per anonymous id before.

    ``version`` grows with every change; clients send it back as ``If-Match`` so that two devices
    editing the same cart cannot silently overwrite each other.
    """

    __tablename__ = "carts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # crt_…
    anonymous_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    profile_id: Mapped[str | None] = mapped_column(
        ForeignKey("customer_profiles.id", ondelete="SET NULL"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(20), default=CartStatus.ACTIVE.value)
    currency: Mapped[str] = mapped_column(String(3))
    version: Mapped[int] = mapped_column(Integer, default=1)
    channel: Mapped[str] = mapped_column(String(20))  # where it was started
    store_id: Mapped[str | None] = mapped_column(
        ForeignKey("locations.id", ondelete="SET NULL"), nullable=True
    )  # a cart built at a till or an associate's tablet
    created_by: Mapped[str | None] = mapped_column(String(40), nullable=True)  # staff user
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    merged_into: Mapped[str | None] = mapped_column(String(40), nullable=True)
    order_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    #: The promo code she applied (upper case), re-checked on every read and at checkout.
    promo_code: Mapped[str | None] = mapped_column(String(32), nullable=True)

    lines: Mapped[list[CartLine]] = relationship(
        cascade="all, delete-orphan", order_by="CartLine.position", lazy="selectin"
    )

    __table_args__ = (
        # At most one active cart per person: the database says so, whatever races upstream.
        Index(
            "uq_carts_active_profile",
            "profile_id",
            unique=True,
            sqlite_where=text("status = 'active' AND profile_id IS NOT NULL"),
            postgresql_where=text("status = 'active' AND profile_id IS NOT NULL"),
        ),
        Index(
            "uq_carts_active_anonymous",
            "anonymous_id",
            unique=True,
            sqlite_where=text("status = 'active' AND profile_id IS NULL"),
            postgresql_where=text("status = 'active' AND profile_id IS NULL"),
        ),
        Index("ix_carts_profile_id", "profile_id"),
        Index("ix_carts_anonymous_id", "anonymous_id"),
        CheckConstraint("version > 0", name="version_positive"),
    )


class CartLine(Base):
    __tablename__ = "cart_lines"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # cln_…
    cart_id: Mapped[str] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[str] = mapped_column(ForeignKey("variants.id", ondelete="RESTRICT"))
    quantity: Mapped[int] = mapped_column(Integer)
    #: The price the shopper saw when adding it: a later change is pointed out, not hidden.
    unit_price_seen: Mapped[int] = mapped_column(Integer)
    saved_for_later: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    touchpoint: Mapped[str] = mapped_column(String(20))
    medium: Mapped[str | None] = mapped_column(String(30), nullable=True)  # poster, magazine…
    campaign: Mapped[str | None] = mapped_column(String(64), nullable=True)
    touchpoint_store_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    added_by: Mapped[str | None] = mapped_column(String(40), nullable=True)  # staff user
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_seen >= 0", name="price_not_negative"),
    )


class CartHandoff(Base):
    """A short-lived code that opens a cart somewhere else (a till, a kiosk): the same cart, not a
    copy. The 6-digit code is typed, the token is in the QR code."""

    __tablename__ = "cart_handoffs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # cho_…
    cart_id: Mapped[str] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(6))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    claimed_store_id: Mapped[str | None] = mapped_column(String(40), nullable=True)

    __table_args__ = (Index("ix_cart_handoffs_code_expires_at", "code", "expires_at"),)
