"""Input and output shapes of stores and warehouses, their hours and the store locator."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from parcours.stores.directory import StoreCard
from parcours.stores.models import AdviceSource, Location, LocationKind, Service
from parcours.stores.opening import OpeningStatus

_HHMM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")
END_OF_DAY = "24:00"


def check_hhmm(value: str, *, allow_end_of_day: bool = False) -> str:
    """``"09:30"``: two-digit hours and minutes; ``"24:00"`` only where a day may end."""
    if _HHMM.match(value) or (allow_end_of_day and value == END_OF_DAY):
        return value
    raise ValueError(f"{value!r} is not a time of day as HH:MM (e.g. 09:30)")


def check_timezone(value: str) -> str:
    """An IANA zone name that this machine knows (``Europe/Paris``)."""
    if "/" not in value and value != "UTC":
        raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Paris")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Paris") from None
    return value


class OpeningInterval(BaseModel):
    """One stretch of opening, local time of the store; ``closes`` may be ``24:00``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    opens: str = Field(examples=["10:00"])
    closes: str = Field(examples=["19:30"])

    @field_validator("opens")
    @classmethod
    def _opens(cls, value: str) -> str:
        return check_hhmm(value)

    @field_validator("closes")
    @classmethod
    def _closes(cls, value: str) -> str:
        return check_hhmm(value, allow_end_of_day=True)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.opens >= self.closes:  # zero-padded HH:MM compare as strings
            raise ValueError(f"opens ({self.opens}) must be before closes ({self.closes})")
        return self


class OpeningHoursIn(OpeningInterval):
    """Weekly hours: ``weekday`` 0 is Monday. Two rows on one day make a lunch break."""

    weekday: int = Field(ge=0, le=6)


class OpeningExceptionIn(BaseModel):
    """A day that differs: closed (no hours) or special hours (both ``opens`` and ``closes``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    day: date
    opens: str | None = None
    closes: str | None = None
    reason: str = Field(default="", max_length=200)

    @field_validator("opens")
    @classmethod
    def _opens(cls, value: str | None) -> str | None:
        return None if value is None else check_hhmm(value)

    @field_validator("closes")
    @classmethod
    def _closes(cls, value: str | None) -> str | None:
        return None if value is None else check_hhmm(value, allow_end_of_day=True)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.opens is None) != (self.closes is None):
            raise ValueError("give both opens and closes for special hours, or neither if closed")
        if self.opens is not None and self.closes is not None and self.opens >= self.closes:
            raise ValueError(f"opens ({self.opens}) must be before closes ({self.closes})")
        return self


def _check_hours(hours: list[OpeningHoursIn]) -> list[OpeningHoursIn]:
    by_day = sorted(hours, key=lambda h: (h.weekday, h.opens))
    for before, after in zip(by_day, by_day[1:], strict=False):
        if before.weekday == after.weekday and after.opens < before.closes:
            raise ValueError(f"opening intervals overlap on weekday {before.weekday}")
    return by_day


def _check_exceptions(exceptions: list[OpeningExceptionIn]) -> list[OpeningExceptionIn]:
    days = [e.day for e in exceptions]
    if len(set(days)) != len(days):
        raise ValueError("one exception per day")
    return sorted(exceptions, key=lambda e: e.day)


class _LocationFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("timezone", check_fields=False)
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)

    @field_validator("hours", check_fields=False)
    @classmethod
    def _hours(cls, value: list[OpeningHoursIn] | None) -> list[OpeningHoursIn] | None:
        return None if value is None else _check_hours(value)

    @field_validator("exceptions", check_fields=False)
    @classmethod
    def _exceptions(cls, value: list[OpeningExceptionIn] | None) -> list[OpeningExceptionIn] | None:
        return None if value is None else _check_exceptions(value)

    @field_validator("services", check_fields=False)
    @classmethod
    def _services(cls, value: list[Service] | None) -> list[Service] | None:
        return None if value is None else sorted(set(value))


class LocationCreate(_LocationFields):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    kind: LocationKind = LocationKind.STORE
    name: str = Field(min_length=1, max_length=200)
    street: str = Field(min_length=1, max_length=200)
    postcode: str = Field(min_length=1, max_length=16)
    city: str = Field(min_length=1, max_length=120)
    country: str = Field(default="FR", pattern=r"^[A-Z]{2}$")
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    timezone: str = Field(default="Europe/Paris", max_length=64)
    phone: str = Field(default="", max_length=40)
    active: bool = True
    services: list[Service] = Field(default_factory=list, max_length=len(Service))
    hours: list[OpeningHoursIn] = Field(default_factory=list, max_length=7 * 6)
    exceptions: list[OpeningExceptionIn] = Field(default_factory=list, max_length=400)


class LocationUpdate(_LocationFields):
    """Fields left out stay as they are; ``services``, ``hours`` and ``exceptions`` are replaced
    whole when given."""

    kind: LocationKind | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    street: str | None = Field(default=None, min_length=1, max_length=200)
    postcode: str | None = Field(default=None, min_length=1, max_length=16)
    city: str | None = Field(default=None, min_length=1, max_length=120)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    timezone: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=40)
    active: bool | None = None
    services: list[Service] | None = Field(default=None, max_length=len(Service))
    hours: list[OpeningHoursIn] | None = Field(default=None, max_length=7 * 6)
    exceptions: list[OpeningExceptionIn] | None = Field(default=None, max_length=400)


def _services(location: Location | StoreCard) -> list[Service]:
    if isinstance(location, StoreCard):
        return sorted(Service(s) for s in location.services)
    return sorted(Service(s.service) for s in location.services)


class OpeningExceptionRead(BaseModel):
    day: date
    opens: str | None
    closes: str | None
    reason: str


class LocationRead(BaseModel):
    id: str
    code: str
    kind: LocationKind
    name: str
    street: str
    postcode: str
    city: str
    country: str
    latitude: float
    longitude: float
    timezone: str
    phone: str
    active: bool
    services: list[Service]
    hours: list[OpeningHoursIn]
    exceptions: list[OpeningExceptionRead]
    created_at: datetime

    @classmethod
    def of(cls, location: Location | StoreCard) -> LocationRead:
        return cls(
            id=location.id,
            code=location.code,
            kind=LocationKind(location.kind),
            name=location.name,
            street=location.street,
            postcode=location.postcode,
            city=location.city,
            country=location.country,
            latitude=location.latitude,
            longitude=location.longitude,
            timezone=location.timezone,
            phone=location.phone,
            active=location.active,
            services=_services(location),
            hours=[
                OpeningHoursIn.model_construct(weekday=h.weekday, opens=h.opens, closes=h.closes)
                for h in location.hours
            ],
            exceptions=[
                OpeningExceptionRead(day=e.day, opens=e.opens, closes=e.closes, reason=e.reason)
                for e in location.exceptions
            ],
            created_at=location.created_at,
        )


class OpeningStatusRead(BaseModel):
    open_now: bool
    closes_at: str | None = Field(description="Local time it closes, when open now")
    next_opening: datetime | None = Field(description="Next opening, in the store's zone")
    label_fr: str = Field(examples=["Ouvert · ferme à 19:30"])
    label_en: str = Field(examples=["Open · closes at 19:30"])

    @classmethod
    def of(cls, status: OpeningStatus) -> OpeningStatusRead:
        return cls(
            open_now=status.open_now,
            closes_at=status.closes_at,
            next_opening=status.next_opening,
            label_fr=status.label_fr,
            label_en=status.label_en,
        )


class PlaceRead(BaseModel):
    latitude: float
    longitude: float
    label: str


class NearbyStoreRead(BaseModel):
    store: LocationRead
    distance_km: float
    opening: OpeningStatusRead


class NearbyStores(BaseModel):
    origin: PlaceRead
    items: list[NearbyStoreRead]


class StoreSummaryRead(BaseModel):
    """What a shopper needs to pick a store from a list (no weekly hours)."""

    model_config = ConfigDict(frozen=True)  # shared: a directory card keeps its summary
    id: str
    code: str
    name: str
    street: str
    postcode: str
    city: str
    country: str
    latitude: float
    longitude: float
    phone: str
    services: list[Service]

    @classmethod
    def of(cls, location: Location | StoreCard) -> StoreSummaryRead:
        if isinstance(location, StoreCard):
            summary: StoreSummaryRead | None = location.views.get(cls)
            if summary is None:
                summary = location.views[cls] = cls._build(location)
            return summary
        return cls._build(location)

    @classmethod
    def _build(cls, location: Location | StoreCard) -> StoreSummaryRead:
        return cls(
            id=location.id,
            code=location.code,
            name=location.name,
            street=location.street,
            postcode=location.postcode,
            city=location.city,
            country=location.country,
            latitude=location.latitude,
            longitude=location.longitude,
            phone=location.phone,
            services=_services(location),
        )


# --- calls for an adviser -------------------------------------------------------------------------


class AdviceRequestCreate(BaseModel):
    """A shopper's call from a kiosk or her phone, about a product (or a size) or not."""

    model_config = ConfigDict(extra="forbid")

    source: AdviceSource
    product_id: str | None = Field(default=None, max_length=40)
    variant_id: str | None = Field(default=None, max_length=40)
    note: str = Field(default="", max_length=300)


class AdviceRequestRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    store_id: str
    source: str
    status: str
    product_id: str | None
    variant_id: str | None
    profile_id: str | None
    note: str
    requested_at: datetime
    taken_at: datetime | None
    taken_by: str | None
    done_at: datetime | None


class AdviceRequestList(BaseModel):
    items: list[AdviceRequestRead]
    waiting: int
