"""JSON routes of stock, reservations, transfers, the ledger and availability near a shopper.

Writes are scoped: an associate acts only for the stores on their account
(``principal.require_store``), a secret key or a manager for every store.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel

from parcours.core.auth.principal import (
    CATALOG_READ,
    RESERVE_STOCK,
    STOCK_READ,
    STOCK_WRITE,
    Principal,
)
from parcours.core.clock import utcnow
from parcours.core.deps import DatabaseDep, ReadUowDep, SettingsDep, UowDep, run_read
from parcours.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from parcours.core.uow import UnitOfWork
from parcours.inventory import service
from parcours.inventory.models import MovementKind
from parcours.inventory.schemas import (
    AvailabilityRead,
    CollectRead,
    ProductAvailabilityRead,
    ReservationCreate,
    ReservationRead,
    StockAdjustmentCreate,
    StockChangeRead,
    StockLevelRead,
    StockMovementRead,
    StoreAvailabilityRead,
    StoreProductAvailabilityRead,
    TransferCreate,
    TransferRead,
    VariantAtStoreRead,
)
from parcours.stores import service as stores
from parcours.stores.schemas import OpeningStatusRead, PlaceRead, StoreSummaryRead

router = APIRouter(prefix="/v1", tags=["inventory"])

CatalogReader = Annotated[Principal, Depends(CATALOG_READ)]
StockReader = Annotated[Principal, Depends(STOCK_READ)]
StockWriter = Annotated[Principal, Depends(STOCK_WRITE)]
Reserver = Annotated[Principal, Depends(RESERVE_STOCK)]
IdQuery = Annotated[str | None, Query(min_length=1, max_length=40)]
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def _stock_read(stock: service.Stock) -> StockLevelRead:
    return StockLevelRead.model_validate(stock, from_attributes=True)


def _availability_read(item: service.StoreAvailability) -> StoreAvailabilityRead:
    collect = item.collect
    return StoreAvailabilityRead(
        store=StoreSummaryRead.of(item.location),
        distance_km=round(item.distance_km, 2),
        available=item.available,
        level=item.level,
        opening=OpeningStatusRead.of(item.opening),
        collect=None
        if collect is None
        else CollectRead(
            mode=collect.mode,
            ready_at=collect.ready_at,
            label_fr=collect.label_fr,
            label_en=collect.label_en,
        ),
    )


def _json(answer: BaseModel) -> Response:
    """The answer serialised by pydantic in the calling (worker) thread: FastAPI would validate
    the model again and encode it on the event loop."""
    return Response(answer.model_dump_json(), media_type="application/json")


@router.get(
    "/availability",
    response_model=AvailabilityRead,
    summary="Where a variant can be found near a shopper, and when it can be collected",
)
async def read_availability(
    db: DatabaseDep,
    settings: SettingsDep,
    _: CatalogReader,
    variant_id: Annotated[str, Query(min_length=1, max_length=40)],
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=120)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Response:
    # The hottest read of the shop (every product page): one thread hop for all of it.
    def answer(uow: UnitOfWork) -> Response:
        origin = stores.resolve_origin(uow=uow, latitude=lat, longitude=lon, query=q)
        items = service.availability_near(
            uow=uow,
            variant_id=variant_id,
            latitude=origin.latitude,
            longitude=origin.longitude,
            limit=limit,
            now=utcnow(),
            low_threshold=int(settings.low_stock_threshold),
        )
        uow.close()  # the stock is read: give the connection back before serialising
        return _json(
            AvailabilityRead(
                variant_id=variant_id,
                origin=PlaceRead(
                    latitude=origin.latitude, longitude=origin.longitude, label=origin.label
                ),
                items=[_availability_read(item) for item in items],
            )
        )

    return await run_read(db, answer)


@router.get(
    "/availability/product",
    response_model=ProductAvailabilityRead,
    summary="Which of a product's variants each nearby store holds (the product page)",
)
async def read_product_availability(
    db: DatabaseDep,
    settings: SettingsDep,
    _: CatalogReader,
    product_id: Annotated[str, Query(min_length=1, max_length=40)],
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=120)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Response:
    def answer(uow: UnitOfWork) -> Response:
        origin = stores.resolve_origin(uow=uow, latitude=lat, longitude=lon, query=q)
        items = service.availability_by_product(
            uow=uow,
            product_id=product_id,
            latitude=origin.latitude,
            longitude=origin.longitude,
            limit=limit,
            now=utcnow(),
            low_threshold=int(settings.low_stock_threshold),
        )
        uow.close()
        return _json(
            ProductAvailabilityRead(
                product_id=product_id,
                origin=PlaceRead(
                    latitude=origin.latitude, longitude=origin.longitude, label=origin.label
                ),
                items=[
                    StoreProductAvailabilityRead(
                        store=StoreSummaryRead.of(item.location),
                        distance_km=round(item.distance_km, 2),
                        opening=OpeningStatusRead.of(item.opening),
                        variants=[
                            VariantAtStoreRead(variant_id=vid, available=available, level=level)
                            for vid, (available, level) in item.variants.items()
                        ],
                    )
                    for item in items
                ],
            )
        )

    return await run_read(db, answer)


@router.get("/stock", response_model=Page[StockLevelRead], summary="Stock rows, paginated")
def list_stock(
    uow: ReadUowDep,
    _: StockReader,
    location_id: IdQuery = None,
    variant_id: IdQuery = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[StockLevelRead]:
    rows, next_cursor = service.list_stock(
        uow=uow, location_id=location_id, variant_id=variant_id, cursor=cursor, limit=limit
    )
    return Page[StockLevelRead](items=[_stock_read(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/stock/adjustments",
    response_model=StockChangeRead,
    status_code=status.HTTP_201_CREATED,
    summary="Adjust stock by a delta, or set it to a count (written to the ledger)",
)
def create_adjustment(
    body: StockAdjustmentCreate, uow: UowDep, principal: StockWriter
) -> StockChangeRead:
    principal.require_store(body.location_id)
    if body.delta is not None:
        change = service.adjust_stock(
            uow=uow,
            variant_id=body.variant_id,
            location_id=body.location_id,
            delta=body.delta,
            reason=body.reason,
            actor=principal.id,
            kind=MovementKind(body.kind),
            reference=body.reference,
        )
    else:
        assert body.on_hand is not None  # the schema demands one of the two
        change = service.set_stock(
            uow=uow,
            variant_id=body.variant_id,
            location_id=body.location_id,
            on_hand=body.on_hand,
            safety_stock=body.safety_stock,
            reason=body.reason,
            actor=principal.id,
            kind=MovementKind(body.kind),
            reference=body.reference,
        )
    uow.commit()
    return StockChangeRead(
        stock=_stock_read(change.stock), movement=StockMovementRead.of(change.movement)
    )


@router.get(
    "/stock/movements",
    response_model=Page[StockMovementRead],
    summary="The stock ledger (who, when, why), newest first",
)
def list_movements(
    uow: ReadUowDep,
    _: StockReader,
    variant_id: IdQuery = None,
    location_id: IdQuery = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[StockMovementRead]:
    rows, next_cursor = service.list_movements(
        uow=uow, variant_id=variant_id, location_id=location_id, cursor=cursor, limit=limit
    )
    return Page[StockMovementRead](
        items=[StockMovementRead.of(r) for r in rows], next_cursor=next_cursor
    )


@router.post(
    "/reservations",
    response_model=ReservationRead,
    status_code=status.HTTP_201_CREATED,
    summary="Hold stock for a cart or checkout until it expires",
)
def create_reservation(
    body: ReservationCreate, uow: UowDep, settings: SettingsDep, principal: Reserver
) -> ReservationRead:
    principal.require_store(body.location_id)
    reservation = service.reserve_stock(
        uow=uow,
        variant_id=body.variant_id,
        location_id=body.location_id,
        quantity=body.quantity,
        reference=body.reference,
        ttl_seconds=body.ttl_seconds or settings.reservation_ttl_seconds,
        actor=principal.id,
    )
    uow.commit()
    return ReservationRead.model_validate(reservation)


@router.get(
    "/reservations/{reservation_id}", response_model=ReservationRead, summary="A reservation"
)
def get_reservation(reservation_id: str, uow: ReadUowDep, _: StockReader) -> ReservationRead:
    return ReservationRead.model_validate(
        service.get_reservation(uow=uow, reservation_id=reservation_id)
    )


@router.post(
    "/reservations/{reservation_id}/release",
    response_model=ReservationRead,
    summary="Give a reservation's units back (no-op if it has already ended)",
)
def release_reservation(reservation_id: str, uow: UowDep, principal: Reserver) -> ReservationRead:
    reservation = service.get_reservation(uow=uow, reservation_id=reservation_id)
    principal.require_store(reservation.location_id)
    reservation = service.release_reservation(
        uow=uow, reservation_id=reservation_id, actor=principal.id
    )
    uow.commit()
    return ReservationRead.model_validate(reservation)


@router.post(
    "/transfers",
    response_model=TransferRead,
    status_code=status.HTTP_201_CREATED,
    summary="Send stock to another location (it leaves the source now)",
)
def create_transfer(body: TransferCreate, uow: UowDep, principal: StockWriter) -> TransferRead:
    principal.require_store(body.from_location_id)
    transfer = service.create_transfer(
        uow=uow,
        from_location_id=body.from_location_id,
        to_location_id=body.to_location_id,
        lines=[(line.variant_id, line.quantity) for line in body.lines],
        reason=body.reason,
        actor=principal.id,
    )
    uow.commit()
    return TransferRead.of(transfer)


@router.get("/transfers/{transfer_id}", response_model=TransferRead, summary="A transfer")
def get_transfer(transfer_id: str, uow: ReadUowDep, _: StockReader) -> TransferRead:
    return TransferRead.of(service.get_transfer(uow=uow, transfer_id=transfer_id))


@router.post(
    "/transfers/{transfer_id}/receive",
    response_model=TransferRead,
    summary="Receive a transfer at its destination",
)
def receive_transfer(transfer_id: str, uow: UowDep, principal: StockWriter) -> TransferRead:
    transfer = service.get_transfer(uow=uow, transfer_id=transfer_id)
    principal.require_store(transfer.to_location_id)
    transfer = service.receive_transfer(uow=uow, transfer_id=transfer_id, actor=principal.id)
    uow.commit()
    return TransferRead.of(transfer)


@router.post(
    "/transfers/{transfer_id}/cancel",
    response_model=TransferRead,
    summary="Cancel a transfer in transit: the units return to the source",
)
def cancel_transfer(transfer_id: str, uow: UowDep, principal: StockWriter) -> TransferRead:
    transfer = service.get_transfer(uow=uow, transfer_id=transfer_id)
    principal.require_store(transfer.from_location_id)
    transfer = service.cancel_transfer(uow=uow, transfer_id=transfer_id, actor=principal.id)
    uow.commit()
    return TransferRead.of(transfer)
