"""JSON routes of stores and warehouses, and the store locator."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from parcours.core.auth.principal import CATALOG_READ, STORES_WRITE, Principal
from parcours.core.clock import utcnow
from parcours.core.deps import ReadUowDep, UowDep
from parcours.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from parcours.stores import service
from parcours.stores.models import LocationKind, Service
from parcours.stores.schemas import (
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
