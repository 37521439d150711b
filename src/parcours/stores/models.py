"""Stores and warehouses, their opening hours and exceptions, and the gazetteer of places."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String
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
