"""Tables of loyalty: promo codes and the orders that redeemed them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from parcours.core.db import Base, JSONDocument, UTCDateTime


class PromoKind(StrEnum):
    PERCENT = "percent"  # value: 1 to 100 (% off the subtotal, rounded down)
    AMOUNT = "amount"  # value: minor units off, never more than the subtotal


class PromoCode(Base):
    """A code a shopper types (or an associate types for her). ``redemptions`` counts the
    orders holding it; it only moves through conditional UPDATEs, so a cap holds under races."""

    __tablename__ = "promo_codes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # prm_…
    code: Mapped[str] = mapped_column(String(32), unique=True)  # upper case: A–Z, 0–9, -
    description: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[int] = mapped_column(Integer)
    #: The currency of an amount and of the minimum: a cart in another currency is refused.
    currency: Mapped[str] = mapped_column(String(3))
    min_subtotal: Mapped[int] = mapped_column(Integer, default=0)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    max_redemptions: Mapped[int | None] = mapped_column(Integer, nullable=True)
    redemptions: Mapped[int] = mapped_column(Integer, default=0)
    #: Where it may be used (web, app, kiosk, till); empty: everywhere.
    channels: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(40), nullable=True)  # staff user
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("value > 0", name="value_positive"),
        CheckConstraint("kind <> 'percent' OR value <= 100", name="percent_at_most_100"),
        CheckConstraint("min_subtotal >= 0", name="min_subtotal_not_negative"),
        CheckConstraint("redemptions >= 0", name="redemptions_not_negative"),
        CheckConstraint(
            "max_redemptions IS NULL OR redemptions <= max_redemptions", name="redemptions_capped"
        ),
    )


class PromoRedemption(Base):
    """One order's use of a code. Released (not deleted) when the order is cancelled: the
    history stays, the count goes down."""

    __tablename__ = "promo_redemptions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # prd_…
    promo_code_id: Mapped[str] = mapped_column(
        ForeignKey("promo_codes.id", ondelete="RESTRICT"), index=True
    )
    order_id: Mapped[str] = mapped_column(String(40), unique=True)
    profile_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    amount: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)
