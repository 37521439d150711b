"""Use cases of stores and warehouses: write them, read them, find the nearest, read their hours."""

from __future__ import annotations

import hashlib
import heapq
import hmac
import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import Any, NamedTuple, Protocol

from pydantic import ValidationError
from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from parcours.core.clock import as_utc, utcnow
from parcours.core.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    Unauthenticated,
)
from parcours.core.ids import new_id
from parcours.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from parcours.core.uow import UnitOfWork
from parcours.stores.directory import StoreCard, load_cards, store_directory
from parcours.stores.events import AdviceRequested, AdviceTaken
from parcours.stores.models import (
    AdviceRequest,
    AdviceSource,
    AdviceStatus,
    Location,
    LocationKind,
    LocationService,
    OpeningException,
    OpeningHours,
    Place,
    Service,
)
from parcours.stores.opening import (
    OpeningStatus,
    describe_moment,
    for_the_minute,
    opening_status,
    ready_time,
)
from parcours.stores.schemas import (
    LocationCreate,
    LocationUpdate,
    OpeningExceptionIn,
    OpeningHoursIn,
)
from parcours.tracking import service as tracking

__all__ = [
    "OpeningStatus",
    "ResolvedPlace",
    "StoreCard",
    "TooManyAdviceRequests",
    "advice_client_hash",
    "cancel_advice_request",
    "count_waiting_advice",
    "create_location",
    "describe_moment",
    "erase_advice_requests_of",
    "find_nearest_locations",
    "finish_advice_request",
    "get_advice_request",
    "fold_city",
    "for_the_minute",
    "get_location",
    "get_location_by_code",
    "get_locations",
    "haversine_km",
    "list_locations",
    "load_places",
    "open_advice_requests",
    "opening_status",
    "ready_time",
    "request_advice",
    "resolve_origin",
    "resolve_place",
    "take_advice_request",
    "update_location",
    "upsert_location",
]

EARTH_RADIUS_KM = 6371.0088
#: Places of one name closer than this are one town (Paris's arrondissements); farther apart they
#: are homonyms (Saint-Denis near Paris and on Réunion) and the first postcode wins.
SAME_TOWN_KM = 30.0


class ResolvedPlace(NamedTuple):
    latitude: float
    longitude: float
    label: str


# --- writing locations ------------------------------------------------------------------------


def _apply_children(
    uow: UnitOfWork,
    location: Location,
    *,
    services: Sequence[Service] | None,
    hours: Sequence[OpeningHoursIn] | None,
    exceptions: Sequence[OpeningExceptionIn] | None,
) -> None:
    # Emptied and flushed first, so rows with the same key can come back in the same flush.
    if services is not None:
        location.services.clear()
    if hours is not None:
        location.hours.clear()
    if exceptions is not None:
        location.exceptions.clear()
    uow.session.flush()
    if services is not None:
        location.services.extend(LocationService(service=s.value) for s in services)
    if hours is not None:
        location.hours.extend(
            OpeningHours(weekday=h.weekday, opens=h.opens, closes=h.closes) for h in hours
        )
    if exceptions is not None:
        location.exceptions.extend(
            OpeningException(day=e.day, opens=e.opens, closes=e.closes, reason=e.reason)
            for e in exceptions
        )


def _touch(location: Location) -> None:
    """Mark a location changed for every process's store directory (see ``directory.py``)."""
    location.revision = Location.revision + 1  # in SQL: concurrent edits both count


def create_location(*, uow: UnitOfWork, data: LocationCreate) -> Location:
    """Create a store or a warehouse; its ``code`` is unique."""
    if get_location_by_code(uow=uow, code=data.code) is not None:
        raise Conflict(f"a location with code {data.code!r} exists", code="location_code_taken")
    location = Location(
        id=new_id("loc"),
        code=data.code,
        kind=data.kind.value,
        name=data.name,
        street=data.street,
        postcode=data.postcode,
        city=data.city,
        country=data.country,
        latitude=data.latitude,
        longitude=data.longitude,
        timezone=data.timezone,
        phone=data.phone,
        active=data.active,
        created_at=utcnow(),
        revision=1,
        services=[],
        hours=[],
        exceptions=[],
    )
    uow.session.add(location)
    _apply_children(
        uow, location, services=data.services, hours=data.hours, exceptions=data.exceptions
    )
    uow.session.flush()
    return location


def update_location(*, uow: UnitOfWork, location_id: str, data: LocationUpdate) -> Location:
    """Change what is given; lists (services, hours, exceptions) are replaced whole."""
    location = get_location(uow=uow, location_id=location_id)
    changes = data.model_dump(exclude_unset=True, exclude={"services", "hours", "exceptions"})
    for field, value in changes.items():
        if value is None:
            raise InvalidInput(f"{field} cannot be null", code="invalid_location")
        setattr(location, field, value.value if field == "kind" else value)
    fields = data.model_fields_set
    for name in ("services", "hours", "exceptions"):
        if name in fields and getattr(data, name) is None:
            raise InvalidInput(f"{name} cannot be null (send [] to clear)", code="invalid_location")
    _apply_children(
        uow,
        location,
        services=data.services if "services" in fields else None,
        hours=data.hours if "hours" in fields else None,
        exceptions=data.exceptions if "exceptions" in fields else None,
    )
    _touch(location)
    uow.session.flush()
    return location


class HoursLike(Protocol):
    """Anything with weekly hours' fields (a loader's own dataclass will do)."""

    @property
    def weekday(self) -> int: ...
    @property
    def opens(self) -> str: ...
    @property
    def closes(self) -> str: ...


class ExceptionLike(Protocol):
    @property
    def day(self) -> date: ...
    @property
    def opens(self) -> str | None: ...
    @property
    def closes(self) -> str | None: ...
    @property
    def reason(self) -> str: ...


class PlaceLike(Protocol):
    @property
    def postcode(self) -> str: ...
    @property
    def city(self) -> str: ...
    @property
    def latitude(self) -> float: ...
    @property
    def longitude(self) -> float: ...


def _hours_in(value: HoursLike | tuple[int, str, str]) -> OpeningHoursIn:
    if isinstance(value, OpeningHoursIn):
        return value
    if isinstance(value, tuple):
        weekday, opens, closes = value
        return OpeningHoursIn(weekday=weekday, opens=opens, closes=closes)
    return OpeningHoursIn(weekday=value.weekday, opens=value.opens, closes=value.closes)


def _exception_in(value: ExceptionLike) -> OpeningExceptionIn:
    if isinstance(value, OpeningExceptionIn):
        return value
    return OpeningExceptionIn(
        day=value.day, opens=value.opens, closes=value.closes, reason=value.reason
    )


def upsert_location(
    *,
    uow: UnitOfWork,
    code: str,
    name: str,
    street: str,
    postcode: str,
    city: str,
    latitude: float,
    longitude: float,
    kind: LocationKind | str = LocationKind.STORE,
    country: str = "FR",
    timezone: str = "Europe/Paris",
    phone: str = "",
    active: bool = True,
    services: Iterable[Service | str] = (),
    hours: Iterable[HoursLike | tuple[int, str, str]] = (),
    exceptions: Iterable[ExceptionLike] = (),
) -> Location:
    """Create the location with this ``code`` or bring it to exactly these values (loaders).

    ``hours``: objects with ``weekday`` (0 is Monday), ``opens`` and ``closes``, or
    ``(weekday, "10:00", "19:30")`` tuples; ``exceptions``: objects with ``day``, ``opens``,
    ``closes`` (both None: closed) and ``reason``. Invalid values: InvalidInput
    ``invalid_location``.
    """
    try:
        data = LocationCreate(
            code=code,
            kind=LocationKind(kind),
            name=name,
            street=street,
            postcode=postcode,
            city=city,
            country=country,
            latitude=latitude,
            longitude=longitude,
            timezone=timezone,
            phone=phone,
            active=active,
            services=[Service(s) for s in services],
            hours=[_hours_in(h) for h in hours],
            exceptions=[_exception_in(e) for e in exceptions],
        )
    except ValueError as exc:  # pydantic's ValidationError, or an unknown kind or service
        if not isinstance(exc, ValidationError):
            raise InvalidInput(f"{code}: {exc}", code="invalid_location") from None
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"{code}: {where}: {first['msg']}", code="invalid_location") from None
    existing = get_location_by_code(uow=uow, code=code)
    if existing is None:
        return create_location(uow=uow, data=data)
    update = LocationUpdate.model_validate(data.model_dump(exclude={"code"}))
    return update_location(uow=uow, location_id=existing.id, data=update)


# --- reading locations ------------------------------------------------------------------------


def get_location(*, uow: UnitOfWork, location_id: str) -> Location:
    """One location by id, or NotFound ``location_not_found``."""
    location = uow.session.get(Location, location_id)
    if location is None:
        raise NotFound(f"no location {location_id!r}", code="location_not_found")
    return location


def get_location_by_code(*, uow: UnitOfWork, code: str) -> Location | None:
    """The location with this code, if any."""
    return uow.session.scalar(select(Location).where(Location.code == code))


def get_locations(*, uow: UnitOfWork, location_ids: Collection[str]) -> dict[str, Location]:
    """Several locations by id in one query (plus one per child collection), keyed by id."""
    if not location_ids:
        return {}
    rows = uow.session.scalars(select(Location).where(Location.id.in_(list(location_ids))))
    return {location.id: location for location in rows}


def list_locations(
    *,
    uow: UnitOfWork,
    kind: LocationKind | None = None,
    active: bool | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> tuple[list[Location], str | None]:
    """Locations in creation order, a page at a time; returns the page and the next cursor."""
    limit = max(1, min(limit, MAX_LIMIT))
    query = select(Location).order_by(Location.id).limit(limit + 1)
    if kind is not None:
        query = query.where(Location.kind == kind.value)
    if active is not None:
        query = query.where(Location.active.is_(active))
    if cursor:
        (after,) = decode_cursor(cursor, arity=1)
        query = query.where(Location.id > str(after))
    rows = list(uow.session.scalars(query))
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1].id)
    return rows, None


# --- the locator --------------------------------------------------------------------------------


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _bounding_box(latitude: float, longitude: float, km: float) -> list[ColumnElement[bool]]:
    """A latitude/longitude box holding the circle, for the index to cut rows before Python."""
    dlat = math.degrees(km / EARTH_RADIUS_KM)
    conditions: list[ColumnElement[bool]] = [
        Location.latitude.between(latitude - dlat, latitude + dlat)
    ]
    cos_lat = math.cos(math.radians(latitude))
    if cos_lat > 1e-6:
        dlon = math.degrees(km / (EARTH_RADIUS_KM * cos_lat))
        west, east = longitude - dlon, longitude + dlon
        if west >= -180 and east <= 180:  # across the antimeridian: latitude only
            conditions.append(Location.longitude.between(west, east))
    return conditions


def resolve_origin(
    *,
    uow: UnitOfWork,
    latitude: float | None = None,
    longitude: float | None = None,
    query: str | None = None,
) -> ResolvedPlace:
    """Where a shopper searches from: coordinates if given, else a postcode or town to resolve.

    Neither: InvalidInput ``origin_required``.
    """
    if latitude is not None and longitude is not None:
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise InvalidInput("latitude or longitude out of range", code="invalid_coordinates")
        return ResolvedPlace(latitude, longitude, f"{latitude:.4f}, {longitude:.4f}")
    if query and query.strip():
        return resolve_place(uow=uow, query=query)
    raise InvalidInput("give lat and lon, or q (a postcode or a town)", code="origin_required")


def find_nearest_locations(
    *,
    uow: UnitOfWork,
    latitude: float,
    longitude: float,
    limit: int = 10,
    kind: LocationKind | str | None = LocationKind.STORE,
    service: Service | str | None = None,
    max_km: float | None = None,
) -> list[tuple[StoreCard, float]]:
    """Active locations nearest a point, nearest first, as directory cards with their distance
    in km. ``kind=None`` means any kind.

    In a read-only unit of work the ranking runs over the process's store directory (one small
    query to check it is current; ranking 500 stores in Python takes about a millisecond). In a
    writing one, only id and coordinates are read, filtered in SQL (with a bounding box when
    ``max_km`` is given), and the winners are loaded.
    """
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise InvalidInput("latitude or longitude out of range", code="invalid_coordinates")
    limit = max(1, min(limit, MAX_LIMIT))
    wanted_kind = None if kind is None else LocationKind(kind).value
    wanted_service = None if service is None else Service(service).value
    if uow.read_only:
        cards = [
            card
            for card in store_directory(uow).cards.values()
            if card.active
            and (wanted_kind is None or card.kind == wanted_kind)
            and (wanted_service is None or wanted_service in card.services)
        ]
        # Rank by the haversine's inner term (it grows with distance): no square root or arcsine
        # but for the winners.
        phi, lam = math.radians(latitude), math.radians(longitude)
        cos_phi, sin = math.cos(phi), math.sin
        keyed = [
            (
                sin((card.lat_rad - phi) / 2) ** 2
                + cos_phi * card.cos_lat * sin((card.lon_rad - lam) / 2) ** 2,
                card,
            )
            for card in cards
        ]
        count = limit if max_km is None else len(keyed)
        winners = heapq.nsmallest(count, keyed, key=itemgetter(0))
        found = [
            (card, 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))) for a, card in winners
        ]
        if max_km is not None:
            found = [(card, km) for card, km in found if km <= max_km][:limit]
        return found

    conditions: list[ColumnElement[bool]] = [Location.active.is_(True)]
    if wanted_kind is not None:
        conditions.append(Location.kind == wanted_kind)
    if wanted_service is not None:
        offering = select(LocationService.location_id).where(
            LocationService.service == wanted_service
        )
        conditions.append(Location.id.in_(offering))
    if max_km is not None:
        conditions.extend(_bounding_box(latitude, longitude, max_km))
    points = uow.session.execute(
        select(Location.id, Location.latitude, Location.longitude).where(and_(*conditions))
    ).all()
    nearest = sorted(
        (haversine_km(latitude, longitude, lat, lon), location_id)
        for location_id, lat, lon in points
    )
    if max_km is not None:
        nearest = [(km, location_id) for km, location_id in nearest if km <= max_km]
    nearest = nearest[:limit]
    loaded = load_cards(uow, [location_id for _, location_id in nearest])
    return [(loaded[location_id], km) for km, location_id in nearest if location_id in loaded]


# --- the gazetteer --------------------------------------------------------------------------------

_SAINTS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}


def fold_city(name: str) -> str:
    """The key a city is found by: ``"Saint-Étienne"``, ``"ST ETIENNE"`` -> ``"saint etienne"``."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    words = re.sub(r"[^a-z0-9]+", " ", bare.replace("œ", "oe").replace("æ", "ae")).split()
    return " ".join(_SAINTS.get(word, word) for word in words)


def load_places(
    *,
    uow: UnitOfWork,
    places: Iterable[tuple[str, str, float, float] | PlaceLike],
    country: str = "FR",
) -> int:
    """Add ``(postcode, city, latitude, longitude)`` tuples (or objects with those fields) to the
    gazetteer; known ``(postcode, city)`` pairs are skipped.

    Returns how many were added. Safe to run again with the same file.
    """
    known = {
        (postcode, key)
        for postcode, key in uow.session.execute(
            select(Place.postcode, Place.city_key).where(Place.country == country)
        )
    }
    rows: list[dict[str, Any]] = []
    for place in places:
        if isinstance(place, tuple):
            postcode, city, latitude, longitude = place
        else:
            postcode, city = place.postcode, place.city
            latitude, longitude = place.latitude, place.longitude
        postcode = postcode.strip()
        key = fold_city(city)
        if not postcode or not key or (postcode, key) in known:
            continue
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise InvalidInput(f"{postcode} {city}: coordinates out of range", code="invalid_place")
        known.add((postcode, key))
        rows.append(
            {
                "postcode": postcode,
                "city": city.strip(),
                "city_key": key,
                "country": country,
                "latitude": float(latitude),
                "longitude": float(longitude),
            }
        )
    for start in range(0, len(rows), 1000):
        uow.session.execute(insert(Place), rows[start : start + 1000])
    return len(rows)


def _centre(rows: Sequence[Place], label: str) -> ResolvedPlace:
    """Average the rows of one town (arrondissements); homonyms far away are left out."""
    first = rows[0]
    town = [
        r
        for r in rows
        if haversine_km(first.latitude, first.longitude, r.latitude, r.longitude) <= SAME_TOWN_KM
    ]
    latitude = sum(r.latitude for r in town) / len(town)
    longitude = sum(r.longitude for r in town) / len(town)
    return ResolvedPlace(latitude, longitude, label)


_POSTCODE = re.compile(r"\b(\d{5}|\d{2} \d{3})\b")


def resolve_place(*, uow: UnitOfWork, query: str) -> ResolvedPlace:
    """A postcode (``"75001"``) or a town (``"Saint-Étienne"``, ``"lyon"``) as a point and a label.

    Looks in the gazetteer (``places``), then among the locations' own towns and postcodes.
    Unknown: NotFound ``place_not_found``.
    """
    text = query.strip()[:120]
    match = _POSTCODE.search(text)
    if match:
        postcode = match.group(1).replace(" ", "")
        rows = list(
            uow.session.scalars(
                select(Place).where(Place.postcode == postcode).order_by(Place.city_key)
            )
        )
        rest = fold_city(text.replace(match.group(1), " "))
        if rest:
            rows = [r for r in rows if r.city_key.startswith(rest)] or rows
        if rows:
            return _centre(rows, f"{postcode} {rows[0].city}")
    else:
        key = fold_city(text)
        if key:
            rows = list(
                uow.session.scalars(
                    select(Place).where(Place.city_key == key).order_by(Place.postcode)
                )
            )
            if not rows:
                candidates = list(
                    uow.session.scalars(
                        select(Place)
                        .where(Place.city_key.startswith(key))
                        .order_by(Place.postcode)
                        .limit(200)
                    )
                )
                if candidates:
                    best = min(candidates, key=lambda r: (len(r.city_key), r.postcode)).city_key
                    rows = [r for r in candidates if r.city_key == best]
            if rows:
                return _centre(rows, rows[0].city)
    fallback = _resolve_from_locations(
        uow, text, match.group(1).replace(" ", "") if match else None
    )
    if fallback is not None:
        return fallback
    raise NotFound(f"no place matches {text!r}", code="place_not_found")


def _resolve_from_locations(
    uow: UnitOfWork, text: str, postcode: str | None
) -> ResolvedPlace | None:
    """Without a gazetteer entry, a town or postcode where a store stands still works."""
    key = fold_city(text)
    rows = uow.session.execute(
        select(Location.postcode, Location.city, Location.latitude, Location.longitude)
        .where(Location.active.is_(True))
        .order_by(Location.id)
    ).all()
    for row_postcode, city, latitude, longitude in rows:
        if (postcode and row_postcode == postcode) or (not postcode and fold_city(city) == key):
            label = f"{postcode} {city}" if postcode else city
            return ResolvedPlace(latitude, longitude, label)
    return None


def store_cards(*, uow: UnitOfWork) -> dict[str, StoreCard]:
    """Every location as an immutable card, keyed by id, from the process's directory snapshot
    when it is current (a checkout reads stores, their hours and services, without loading them)."""
    return store_directory(uow).cards


# --- calls for an adviser -------------------------------------------------------------------------

#: A device (a shopper's session, or a paired kiosk) may have this many calls waiting in one
#: store, and waits ``DEVICE_COOLDOWN`` between two calls.
MAX_WAITING_PER_DEVICE = 3
DEVICE_COOLDOWN = timedelta(seconds=30)
#: Calls from one client address in ``CLIENT_WINDOW``, whatever the sessions it opens: a loop
#: of new sessions does not reach the tablets. A paired kiosk (a credential the store issued)
#: is counted per kiosk only: a store's kiosks share its address.
MAX_CALLS_PER_CLIENT = 6
CLIENT_WINDOW = timedelta(minutes=10)
MAX_WAITING_PER_STORE = 30
_OPEN_STATUSES = (AdviceStatus.WAITING.value, AdviceStatus.TAKEN.value)


class TooManyAdviceRequests(DomainError):
    status, code, title = 429, "too_many_advice_requests", "Too many calls"


def advice_client_hash(address: str, *, secret: str) -> str:
    """The key a caller's address is counted under: keyed, so the stored value is no address."""
    return hmac.new(secret.encode(), f"advice:{address}".encode(), hashlib.sha256).hexdigest()


def _too_many(
    detail: str, *, reason: str, retry_after: float, **extra: Any
) -> TooManyAdviceRequests:
    seconds = max(1, math.ceil(retry_after))
    return TooManyAdviceRequests(
        detail,
        reason=reason,
        retry_after=seconds,
        headers={"Retry-After": str(seconds)},
        **extra,
    )


def _check_advice_limits(
    uow: UnitOfWork,
    *,
    store_id: str,
    device: ColumnElement[bool],
    client_hash: str | None,
    counted_per_client: bool,
    now: datetime,
) -> None:
    """Raise 429 ``too_many_advice_requests`` (with ``retry_after``) when this device or client
    has called enough for now; ``reason`` says which limit: ``device_waiting``,
    ``device_cooldown``, ``client_rate`` or ``store_waiting``."""
    waiting = select(func.count()).where(
        AdviceRequest.store_id == store_id, AdviceRequest.status == AdviceStatus.WAITING.value
    )
    if (uow.session.scalar(waiting.where(device)) or 0) >= MAX_WAITING_PER_DEVICE:
        raise _too_many(
            f"at most {MAX_WAITING_PER_DEVICE} calls may wait for an adviser: one is coming",
            reason="device_waiting",
            retry_after=DEVICE_COOLDOWN.total_seconds(),
            limit=MAX_WAITING_PER_DEVICE,
        )
    last = uow.session.scalar(select(func.max(AdviceRequest.requested_at)).where(device))
    if last is not None and now - as_utc(last) < DEVICE_COOLDOWN:
        raise _too_many(
            "an adviser was just called from this device",
            reason="device_cooldown",
            retry_after=(as_utc(last) + DEVICE_COOLDOWN - now).total_seconds(),
        )
    if client_hash is not None and counted_per_client:
        recent = list(
            uow.session.scalars(
                select(AdviceRequest.requested_at)
                .where(
                    AdviceRequest.client_hash == client_hash,
                    AdviceRequest.kiosk_id.is_(None),
                    AdviceRequest.requested_at > now - CLIENT_WINDOW,
                )
                .order_by(AdviceRequest.requested_at.desc())
                .limit(MAX_CALLS_PER_CLIENT)
            )
        )
        if len(recent) >= MAX_CALLS_PER_CLIENT:
            raise _too_many(
                f"at most {MAX_CALLS_PER_CLIENT} calls from one client in "
                f"{int(CLIENT_WINDOW.total_seconds() // 60)} minutes",
                reason="client_rate",
                retry_after=(as_utc(recent[-1]) + CLIENT_WINDOW - now).total_seconds(),
            )
    if (uow.session.scalar(waiting) or 0) >= MAX_WAITING_PER_STORE:
        raise _too_many(
            "too many calls are waiting in this store",
            reason="store_waiting",
            retry_after=DEVICE_COOLDOWN.total_seconds(),
        )


def _advice_journey(
    uow: UnitOfWork, advice: AdviceRequest, name: str, at: datetime, **properties: Any
) -> None:
    """The call on the shopper's timeline (channel store), with the product she asked about."""
    tracking.record_domain_event(
        uow=uow,
        name=name,
        properties={
            "request_id": advice.id,
            "source": advice.source,
            **({"product_id": advice.product_id} if advice.product_id else {}),
            **({"variant": advice.variant_id} if advice.variant_id else {}),
            **properties,
        },
        channel="store",
        occurred_at=at,
        store_id=advice.store_id,
        anonymous_id=advice.anonymous_id,
        profile_id=advice.profile_id,
    )


def request_advice(
    *,
    uow: UnitOfWork,
    store_id: str,
    source: AdviceSource | str,
    product_id: str | None = None,
    variant_id: str | None = None,
    note: str = "",
    profile_id: str | None = None,
    anonymous_id: str | None = None,
    kiosk_id: str | None = None,
    client_hash: str | None = None,
    now: datetime | None = None,
) -> AdviceRequest:
    """A shopper in the store asks for an adviser: the call waits for an associate to take it.

    A call comes from a device: a shopper's session (``profile_id``/``anonymous_id``) or a
    paired kiosk (``kiosk_id``); none is refused (401 ``shopper_session_required``). Only an
    active store takes calls (NotFound ``store_not_found``). Each device has at most
    ``MAX_WAITING_PER_DEVICE`` calls waiting there and waits ``DEVICE_COOLDOWN`` between calls;
    a client (``client_hash``, see :func:`advice_client_hash`) makes at most
    ``MAX_CALLS_PER_CLIENT`` calls in ``CLIENT_WINDOW`` from shopper sessions; beyond, 429
    ``too_many_advice_requests`` with ``retry_after`` (seconds).
    """
    try:
        origin = AdviceSource(source)
    except ValueError:
        raise InvalidInput(
            "source is one of kiosk, app, web", code="invalid_advice_source"
        ) from None
    device: ColumnElement[bool]
    if kiosk_id is not None:
        device = AdviceRequest.kiosk_id == kiosk_id
    elif profile_id is not None:
        device = AdviceRequest.profile_id == profile_id
    elif anonymous_id is not None:
        device = AdviceRequest.anonymous_id == anonymous_id
    else:
        raise Unauthenticated(
            "a call comes from a shopper's session (X-Shopper-Token) or a paired kiosk",
            code="shopper_session_required",
        )
    location = uow.session.get(Location, store_id)
    if location is None or not location.active or location.kind != LocationKind.STORE.value:
        raise NotFound(f"no open store {store_id!r}", code="store_not_found")
    note = note.strip()
    if len(note) > 300:
        raise InvalidInput("a note has at most 300 characters", code="note_too_long")
    now = now or utcnow()
    _check_advice_limits(
        uow,
        store_id=store_id,
        device=device,
        client_hash=client_hash,
        counted_per_client=kiosk_id is None,
        now=now,
    )
    advice = AdviceRequest(
        id=new_id("adv"),
        store_id=store_id,
        product_id=product_id,
        variant_id=variant_id,
        profile_id=profile_id,
        anonymous_id=anonymous_id,
        kiosk_id=kiosk_id,
        client_hash=client_hash,
        source=origin.value,
        note=note,
        status=AdviceStatus.WAITING.value,
        requested_at=now,
    )
    uow.session.add(advice)
    uow.session.flush()
    uow.record(
        AdviceRequested(
            request_id=advice.id, store_id=store_id, source=origin.value, product_id=product_id
        )
    )
    _advice_journey(uow, advice, "Advice Requested", now)
    return advice


def get_advice_request(*, uow: UnitOfWork, request_id: str) -> AdviceRequest:
    """One call, or NotFound ``advice_request_not_found``."""
    advice = uow.session.get(AdviceRequest, request_id)
    if advice is None:
        raise NotFound(f"no advice request {request_id!r}", code="advice_request_not_found")
    return advice


def take_advice_request(
    *, uow: UnitOfWork, request_id: str, staff_id: str, now: datetime | None = None
) -> AdviceRequest:
    """An associate takes a waiting call. Two tapping at once: one conditional UPDATE wins, the
    other gets Conflict ``advice_already_taken``. Records how long the shopper waited."""
    advice = get_advice_request(uow=uow, request_id=request_id)
    now = now or utcnow()
    claimed = uow.session.execute(
        update(AdviceRequest)
        .where(AdviceRequest.id == request_id, AdviceRequest.status == AdviceStatus.WAITING.value)
        .values(status=AdviceStatus.TAKEN.value, taken_at=now, taken_by=staff_id)
        .execution_options(synchronize_session=False)
    )
    uow.session.refresh(advice)
    if getattr(claimed, "rowcount", 0) != 1:
        raise Conflict(
            "another associate has taken this call"
            if advice.status != AdviceStatus.CANCELLED.value
            else "the shopper cancelled this call",
            code="advice_already_taken",
            current_status=advice.status,
        )
    waited = max(0, int((now - advice.requested_at).total_seconds()))
    uow.record(
        AdviceTaken(
            request_id=advice.id,
            store_id=advice.store_id,
            taken_by=staff_id,
            waited_seconds=waited,
        )
    )
    _advice_journey(uow, advice, "Advice Taken", now, waited_seconds=waited)
    return advice


def _end_advice(
    uow: UnitOfWork, request_id: str, status: AdviceStatus, allowed: tuple[str, ...], now: datetime
) -> AdviceRequest:
    advice = get_advice_request(uow=uow, request_id=request_id)
    if advice.status not in allowed:
        raise Conflict(
            f"this call is {advice.status}",
            code="advice_request_closed",
            current_status=advice.status,
        )
    advice.status = status.value
    advice.done_at = now
    uow.session.flush()
    return advice


def finish_advice_request(
    *, uow: UnitOfWork, request_id: str, now: datetime | None = None
) -> AdviceRequest:
    """The associate is done advising: the call leaves the store's list."""
    return _end_advice(
        uow, request_id, AdviceStatus.DONE, (AdviceStatus.TAKEN.value,), now or utcnow()
    )


def cancel_advice_request(
    *, uow: UnitOfWork, request_id: str, now: datetime | None = None
) -> AdviceRequest:
    """Nobody is needed any more (the shopper left, a duplicate call): close it unanswered."""
    return _end_advice(uow, request_id, AdviceStatus.CANCELLED, _OPEN_STATUSES, now or utcnow())


def open_advice_requests(*, uow: UnitOfWork, store_id: str) -> list[AdviceRequest]:
    """A store's calls still open (waiting, then taken), oldest first: who waits longest first."""
    return list(
        uow.session.scalars(
            select(AdviceRequest)
            .where(AdviceRequest.store_id == store_id, AdviceRequest.status.in_(_OPEN_STATUSES))
            .order_by(AdviceRequest.requested_at, AdviceRequest.id)
            .limit(MAX_WAITING_PER_STORE * 2)
        )
    )


def count_waiting_advice(*, uow: UnitOfWork, store_id: str) -> int:
    """How many of a store's calls nobody has taken yet (the badge on every tablet)."""
    return int(
        uow.session.scalar(
            select(func.count()).where(
                AdviceRequest.store_id == store_id,
                AdviceRequest.status == AdviceStatus.WAITING.value,
            )
        )
        or 0
    )


def erase_advice_requests_of(*, uow: UnitOfWork, profile_ids: Sequence[str]) -> int:
    """Right to erasure: her calls for an adviser lose who asked (profile, device) and her note;
    the store, product, times and status stay as anonymous facts for the store's wait counts.

    Calls her device made before she signed in carry its anonymous id only: the devices seen
    on her own calls are hers, so their anonymous calls go too. Returns how many calls changed.
    """
    if not profile_ids:
        return 0
    ids = list(profile_ids)
    devices = [
        device
        for device in uow.session.scalars(
            select(AdviceRequest.anonymous_id)
            .where(AdviceRequest.profile_id.in_(ids), AdviceRequest.anonymous_id.is_not(None))
            .distinct()
        )
        if device
    ]
    theirs = AdviceRequest.profile_id.in_(ids)
    erased = uow.session.execute(
        update(AdviceRequest)
        .where(or_(theirs, AdviceRequest.anonymous_id.in_(devices)) if devices else theirs)
        .values(profile_id=None, anonymous_id=None, client_hash=None, note="")
        .execution_options(synchronize_session=False)
    )
    uow.session.expire_all()  # a bulk UPDATE: reload what callers read next
    return int(getattr(erased, "rowcount", 0) or 0)
