"""Stock per (variant, location), reservations with expiry, transfers and the movement ledger."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parcours.core.db import Base, UTCDateTime


class StockLevel(Base):
    """What a location holds of a variant. ``available = on_hand - reserved - safety_stock``.

    The check constraints are the last line of defence: stock can never go negative and never be
    reserved beyond what is on hand, whatever a bug upstream does.
    """

    __tablename__ = "stock_levels"

    variant_id: Mapped[str] = mapped_column(
        ForeignKey("variants.id", ondelete="RESTRICT"), primary_key=True
    )
    location_id: Mapped[str] = mapped_column(
        ForeignKey("locations.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    safety_stock: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("safety_stock >= 0", name="safety_not_negative"),
    )


class ReservationStatus(StrEnum):
    ACTIVE = "active"
    RELEASED = "released"  # given back on purpose (cart emptied, order cancelled)
    EXPIRED = "expired"  # given back because time ran out
    ALLOCATED = "allocated"  # turned into an order's allocation on payment


class Reservation(Base):
    __tablename__ = "reservations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    variant_id: Mapped[str] = mapped_column(ForeignKey("variants.id", ondelete="RESTRICT"))
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id", ondelete="RESTRICT"))
    quantity: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(80), index=True)  # cart or checkout id
    status: Mapped[str] = mapped_column(String(20), default=ReservationStatus.ACTIVE.value)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(40), nullable=True)

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_reservations_status_expires_at", "status", "expires_at"),
    )


class MovementKind(StrEnum):
    ADJUSTMENT = "adjustment"  # counted, damaged, found
    RECEIPT = "receipt"  # goods received from a supplier
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    SALE = "sale"  # an allocated reservation leaving the shelf
    RETURN = "return"


class StockMovement(Base):
    """The audit ledger: every change of on-hand stock, who made it, when and why."""

    __tablename__ = "stock_movements"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    variant_id: Mapped[str] = mapped_column(ForeignKey("variants.id", ondelete="RESTRICT"))
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(20))
    quantity_delta: Mapped[int] = mapped_column(Integer)
    on_hand_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500), default="")
    reference: Mapped[str | None] = mapped_column(String(80), nullable=True)  # transfer, order…
    actor: Mapped[str | None] = mapped_column(String(40), nullable=True)  # staff user or API key
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_stock_movements_variant_location", "variant_id", "location_id", "created_at"),
    )


class TransferStatus(StrEnum):
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class Transfer(Base):
    __tablename__ = "transfers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    from_location_id: Mapped[str] = mapped_column(ForeignKey("locations.id", ondelete="RESTRICT"))
    to_location_id: Mapped[str] = mapped_column(ForeignKey("locations.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(20), default=TransferStatus.IN_TRANSIT.value)
    expected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    reason: Mapped[str] = mapped_column(String(500), default="")

    lines: Mapped[list[TransferLine]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    __table_args__ = (
        CheckConstraint("from_location_id <> to_location_id", name="distinct_locations"),
    )


class TransferLine(Base):
    __tablename__ = "transfer_lines"

    transfer_id: Mapped[str] = mapped_column(
        ForeignKey("transfers.id", ondelete="CASCADE"), primary_key=True
    )
    variant_id: Mapped[str] = mapped_column(
        ForeignKey("variants.id", ondelete="RESTRICT"), primary_key=True
    )
    quantity: Mapped[int] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)
