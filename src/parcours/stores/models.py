"""Stores and warehouses, their opening hours and exceptions, the gazetteer of places, the
shoppers' calls for an adviser in a store, and the store's paired kiosks."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from parcours.core.db import Base, UTCDateTime


class LocationKind(StrEnum):
    STORE = "store"
    WAREHOUSE = "warehouse"


class Service(StrEnum):
    CLICK_AND_COLLECT = "click_and_collect"
    SHIP_FROM_STORE = "ship_from_store"
    APPOINTMENTS = "appointments"
    RESERVE_IN_STORE = "reserve_in_store"


class Location(Base):
    __tablename__ = "locations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    street: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(16))
    city: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(40), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Bumped (in SQL, so concurrent edits both count) by every write through stores.service,
    # children included: the in-process store directory reloads when it changes.
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    services: Mapped[list[LocationService]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    hours: Mapped[list[OpeningHours]] = relationship(
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="(OpeningHours.weekday, OpeningHours.opens)",
    )
    exceptions: Mapped[list[OpeningException]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="OpeningException.day"
    )


class LocationService(Base):
    __tablename__ = "location_services"

    location_id: Mapped[str] = mapped_column(
        ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True
    )
    service: Mapped[str] = mapped_column(String(40), primary_key=True)


class OpeningHours(Base):
    """One opening interval on a weekday (0 = Monday); two rows make a lunch break."""

    __tablename__ = "opening_hours"

    location_id: Mapped[str] = mapped_column(
        ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True
    )
    weekday: Mapped[int] = mapped_column(Integer, primary_key=True)
    opens: Mapped[str] = mapped_column(String(5), primary_key=True)  # "10:00", store's local time
    closes: Mapped[str] = mapped_column(String(5))


class OpeningException(Base):
    """A day that differs from the weekly hours: a holiday (closed) or special hours."""

    __tablename__ = "opening_exceptions"

    location_id: Mapped[str] = mapped_column(
        ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    opens: Mapped[str | None] = mapped_column(String(5), nullable=True)  # None: closed all day
    closes: Mapped[str | None] = mapped_column(String(5), nullable=True)
    reason: Mapped[str] = mapped_column(String(200), default="")


class Place(Base):
    """A postcode and city with its coordinates, to find stores near a place a shopper types."""

    __tablename__ = "places"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    postcode: Mapped[str] = mapped_column(String(16), index=True)
    city: Mapped[str] = mapped_column(String(120))
    city_key: Mapped[str] = mapped_column(String(120), index=True)  # folded: "saint etienne"
    country: Mapped[str] = mapped_column(String(2), default="FR")
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)


class AdviceSource(StrEnum):
    KIOSK = "kiosk"
    APP = "app"
    WEB = "web"


class AdviceStatus(StrEnum):
    WAITING = "waiting"
    TAKEN = "taken"
    DONE = "done"
    CANCELLED = "cancelled"


class AdviceRequest(Base):
    """A shopper in a store asking for an adviser (from a kiosk or her phone), about a product
    or not; an associate takes it. ``taken_at - requested_at`` is the wait the store measures."""

    __tablename__ = "advice_requests"
    __table_args__ = (Index("ix_advice_requests_store_id_status", "store_id", "status"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # adv_…
    # Indexed by the composite index above (store first): the open calls of one store.
    store_id: Mapped[str] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"))
    product_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    variant_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    profile_id: Mapped[str | None] = mapped_column(
        ForeignKey("customer_profiles.id", ondelete="SET NULL"), nullable=True, index=True
    )
    anonymous_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    # The paired kiosk that called (its device credential), when the call came from one.
    kiosk_id: Mapped[str | None] = mapped_column(
        ForeignKey("kiosks.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # A keyed hash of the caller's address (never the address): calls per client are limited
    # across devices, so opening sessions in a loop does not reach the tablets.
    client_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    source: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(12), default=AdviceStatus.WAITING.value)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    taken_by: Mapped[str | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), nullable=True
    )
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Kiosk(Base):
    """A catalogue screen in a store, paired by the store's staff: its device credential.

    An associate or manager of the store issues a one-time pairing code (valid 10 minutes,
    ``pairing_hash``); entered on the screen, it becomes a long-lived random token held in the
    kiosk's cookie (``token_hash``). Only hashes are stored. Revoking it (``revoked_at``) takes
    effect at the kiosk's next request."""

    __tablename__ = "kiosks"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # kio_…
    store_id: Mapped[str] = mapped_column(
        ForeignKey("locations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    # sha256 of the one-time pairing code while it waits to be used; None once paired.
    pairing_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    pairing_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # sha256 of the kiosk's cookie token; None until paired.
    token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
