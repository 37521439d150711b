"""JSON routes of stores and warehouses, the store locator, and shoppers' calls for an adviser
(with their live stream to the store's tablets)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status

from parcours.catalog import service as catalog
from parcours.core.auth.principal import (
    CATALOG_READ,
    STORE_STAFF,
    STOREFRONT,
    STORES_WRITE,
    AccessPolicy,
    Principal,
)
from parcours.core.clock import utcnow
from parcours.core.deps import ReadUowDep, UowDep
from parcours.core.errors import InvalidInput, NotFound
from parcours.core.live import sse_stream
from parcours.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from parcours.core.uow import UnitOfWork
from parcours.customers import shoppers
from parcours.customers.http import shopper_token
from parcours.stores import service
from parcours.stores.models import AdviceRequest, AdviceStatus, LocationKind, Service
from parcours.stores.schemas import (
    AdviceRequestCreate,
    AdviceRequestList,
    AdviceRequestRead,
    LocationCreate,
    LocationRead,
    LocationUpdate,
    NearbyStoreRead,
    NearbyStores,
    OpeningStatusRead,
    PlaceRead,
)

router = APIRouter(prefix="/v1", tags=["stores"])

ReaderDep = Annotated[Principal, Depends(CATALOG_READ)]
WriterDep = Annotated[Principal, Depends(STORES_WRITE)]
#: The store's associates answer its calls, each scoped to her stores (a person, not a key:
#: the one who takes a call is named on it).
ADVICE_DESK = AccessPolicy("advice_desk", roles=STORE_STAFF)
AdviceDeskDep = Annotated[Principal, Depends(ADVICE_DESK)]
StorefrontDep = Annotated[Principal, Depends(STOREFRONT)]


@router.get("/locations", response_model=Page[LocationRead], summary="List stores and warehouses")
def list_locations(
    uow: ReadUowDep,
    _: ReaderDep,
    kind: LocationKind | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[LocationRead]:
    rows, next_cursor = service.list_locations(uow=uow, kind=kind, cursor=cursor, limit=limit)
    return Page[LocationRead](items=[LocationRead.of(r) for r in rows], next_cursor=next_cursor)


@router.get("/locations/{location_id}", response_model=LocationRead, summary="A store or warehouse")
def get_location(location_id: str, uow: ReadUowDep, _: ReaderDep) -> LocationRead:
    return LocationRead.of(service.get_location(uow=uow, location_id=location_id))


@router.post(
    "/locations",
    response_model=LocationRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a store or warehouse",
)
def create_location(body: LocationCreate, uow: UowDep, _: WriterDep) -> LocationRead:
    location = service.create_location(uow=uow, data=body)
    uow.commit()
    return LocationRead.of(location)


@router.patch(
    "/locations/{location_id}",
    response_model=LocationRead,
    summary="Change a store or warehouse (lists are replaced whole)",
)
def update_location(
    location_id: str, body: LocationUpdate, uow: UowDep, _: WriterDep
) -> LocationRead:
    location = service.update_location(uow=uow, location_id=location_id, data=body)
    uow.commit()
    return LocationRead.of(location)


@router.get(
    "/stores/nearby",
    response_model=NearbyStores,
    summary="The stores nearest a point, a postcode or a town, with their hours now",
)
def nearby_stores(
    uow: ReadUowDep,
    _: ReaderDep,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=120)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    service_: Annotated[Service | None, Query(alias="service")] = None,
    max_km: Annotated[float | None, Query(gt=0, le=20_000)] = None,
) -> NearbyStores:
    origin = service.resolve_origin(uow=uow, latitude=lat, longitude=lon, query=q)
    found = service.find_nearest_locations(
        uow=uow,
        latitude=origin.latitude,
        longitude=origin.longitude,
        limit=limit,
        service=service_,
        max_km=max_km,
    )
    now = utcnow()
    return NearbyStores(
        origin=PlaceRead(latitude=origin.latitude, longitude=origin.longitude, label=origin.label),
        items=[
            NearbyStoreRead(
                store=LocationRead.of(location),
                distance_km=round(km, 2),
                opening=OpeningStatusRead.of(service.opening_status(location, now)),
            )
            for location, km in found
        ],
    )


# --- calls for an adviser -------------------------------------------------------------------------


def _advice_read(advice: AdviceRequest) -> AdviceRequestRead:
    return AdviceRequestRead.model_validate(advice)


def publish_advice_change(request: Request, uow: UnitOfWork, advice: AdviceRequest) -> None:
    """After the commit: every tablet of the store hears of the change, with the new count of
    calls waiting (the badge), and re-reads its list."""
    waiting = service.count_waiting_advice(uow=uow, store_id=advice.store_id)
    request.app.state.live.publish(
        f"advice:{advice.store_id}",
        {
            "type": "advice",
            "request_id": advice.id,
            "status": advice.status,
            "store_id": advice.store_id,
            "waiting": waiting,
        },
    )


def advice_client(request: Request) -> str:
    """The key the caller's address is counted under (behind a proxy, the address uvicorn
    trusts from ``X-Forwarded-For``)."""
    address = request.client.host if request.client else "unknown"
    return service.advice_client_hash(address, secret=request.app.state.settings.secret_key)


def _check_product(uow: UnitOfWork, body: AdviceRequestCreate) -> tuple[str | None, str | None]:
    """The product and size she asks about, if any: a variant names its product."""
    if body.variant_id is not None:
        variant = catalog.get_variants(uow=uow, variant_ids=[body.variant_id]).get(body.variant_id)
        if variant is None or variant.product_status != "published":
            raise NotFound(f"no variant {body.variant_id!r}", code="variant_not_found")
        if body.product_id is not None and body.product_id != variant.product_id:
            raise InvalidInput(
                "this variant is of another product", code="variant_of_another_product"
            )
        return variant.product_id, variant.id
    if body.product_id is not None:
        catalog.get_product(uow=uow, product_id=body.product_id, published_only=True)
    return body.product_id, None


@router.post(
    "/locations/{location_id}/advice-requests",
    response_model=AdviceRequestRead,
    status_code=status.HTTP_201_CREATED,
    summary="A shopper in the store calls an adviser (kiosk or app)",
    tags=["advice"],
)
def create_advice_request(
    location_id: str,
    body: AdviceRequestCreate,
    request: Request,
    uow: UowDep,
    _: StorefrontDep,
) -> AdviceRequestRead:
    """From the shopper's app or a kiosk's own software (storefront key), always with a shopper
    session (``X-Shopper-Token`` or the shopper cookie; 401 ``shopper_session_required``): the
    session is the device, and the call carries who she is, so the associate sees her profile.
    A device has at most 3 calls waiting in a store and waits 30 s between calls; one client
    address makes at most 6 calls in 10 minutes, whatever its sessions. Beyond: 429
    ``too_many_advice_requests`` with ``Retry-After`` (``reason`` says which limit)."""
    session = shoppers.require_shopper_session(uow=uow, token=shopper_token(request))
    product_id, variant_id = _check_product(uow, body)
    advice = service.request_advice(
        uow=uow,
        store_id=location_id,
        source=body.source,
        product_id=product_id,
        variant_id=variant_id,
        note=body.note,
        profile_id=session.profile_id,
        anonymous_id=session.anonymous_id,
        client_hash=advice_client(request),
    )
    answer = _advice_read(advice)
    uow.commit()
    publish_advice_change(request, uow, advice)
    return answer


@router.get(
    "/locations/{location_id}/advice-requests",
    response_model=AdviceRequestList,
    summary="A store's open calls for an adviser, oldest first",
    tags=["advice"],
)
def list_advice_requests(
    location_id: str, uow: ReadUowDep, principal: AdviceDeskDep
) -> AdviceRequestList:
    principal.require_store(location_id)
    found = service.open_advice_requests(uow=uow, store_id=location_id)
    return AdviceRequestList(
        items=[_advice_read(advice) for advice in found],
        waiting=sum(advice.status == AdviceStatus.WAITING.value for advice in found),
    )


@router.get(
    "/locations/{location_id}/advice-requests/events",
    response_class=Response,
    summary="Server-Sent Events: the store's calls as they arrive and are taken",
    tags=["advice"],
)
async def advice_events(location_id: str, request: Request, principal: AdviceDeskDep) -> Response:
    """First the number waiting (``initial``), then an ``advice`` event at every change."""
    principal.require_store(location_id)

    def initial() -> dict[str, Any]:
        with UnitOfWork(request.app.state.db, read_only=True) as uow:
            waiting = service.count_waiting_advice(uow=uow, store_id=location_id)
        return {"type": "advice", "store_id": location_id, "waiting": waiting}

    return await sse_stream(
        request.app.state.live,
        f"advice:{location_id}",
        initial=initial,
        request=request,
        event="advice",
    )


def _act_on_advice(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    request_id: str,
    act: Callable[[], AdviceRequest],
) -> AdviceRequestRead:
    advice = service.get_advice_request(uow=uow, request_id=request_id)
    principal.require_store(advice.store_id)
    advice = act()
    answer = _advice_read(advice)
    uow.commit()
    publish_advice_change(request, uow, advice)
    return answer


@router.post(
    "/advice-requests/{request_id}/take",
    response_model=AdviceRequestRead,
    summary="Take a waiting call (one associate wins; the others get 409)",
    tags=["advice"],
)
def take_advice_request(
    request_id: str, request: Request, uow: UowDep, principal: AdviceDeskDep
) -> AdviceRequestRead:
    return _act_on_advice(
        request,
        uow,
        principal,
        request_id,
        lambda: service.take_advice_request(
            uow=uow, request_id=request_id, staff_id=str(principal.id)
        ),
    )


@router.post(
    "/advice-requests/{request_id}/done",
    response_model=AdviceRequestRead,
    summary="The adviser is done with a call",
    tags=["advice"],
)
def finish_advice_request(
    request_id: str, request: Request, uow: UowDep, principal: AdviceDeskDep
) -> AdviceRequestRead:
    return _act_on_advice(
        request,
        uow,
        principal,
        request_id,
        lambda: service.finish_advice_request(uow=uow, request_id=request_id),
    )


@router.post(
    "/advice-requests/{request_id}/cancel",
    response_model=AdviceRequestRead,
    summary="Close a call unanswered (the shopper left)",
    tags=["advice"],
)
def cancel_advice_request(
    request_id: str, request: Request, uow: UowDep, principal: AdviceDeskDep
) -> AdviceRequestRead:
    return _act_on_advice(
        request,
        uow,
        principal,
        request_id,
        lambda: service.cancel_advice_request(uow=uow, request_id=request_id),
    )
