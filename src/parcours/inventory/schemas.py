"""Input and output shapes of stock, reservations, transfers, the ledger and availability."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from parcours.inventory.models import (
    MovementKind,
    ReservationStatus,
    StockMovement,
    Transfer,
    TransferStatus,
)
from parcours.stores.schemas import OpeningStatusRead, PlaceRead, StoreSummaryRead

Id = Field(min_length=1, max_length=40)
MAX_QUANTITY = 1_000_000


class StockLevelRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    variant_id: str
    location_id: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int = Field(description="on_hand - reserved - safety_stock, never below 0")
    updated_at: datetime


class StockMovementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    variant_id: str
    location_id: str
    kind: MovementKind
    quantity_delta: int
    on_hand_after: int
    reason: str
    reference: str | None
    actor: str | None
    created_at: datetime

    @classmethod
    def of(cls, movement: StockMovement) -> StockMovementRead:
        return cls.model_validate(movement)


class StockAdjustmentCreate(BaseModel):
    """Either ``delta`` (+3 received, -1 damaged) or ``on_hand`` (a count), with a reason."""

    model_config = ConfigDict(extra="forbid")
    variant_id: str = Id
    location_id: str = Id
    delta: StrictInt | None = Field(default=None, ge=-MAX_QUANTITY, le=MAX_QUANTITY)
    on_hand: StrictInt | None = Field(default=None, ge=0, le=MAX_QUANTITY)
    safety_stock: StrictInt | None = Field(
        default=None, ge=0, le=MAX_QUANTITY, description="Only with on_hand (a count)"
    )
    kind: Literal["adjustment", "receipt", "return"] = "adjustment"
    reason: str = Field(min_length=1, max_length=500)
    reference: str | None = Field(default=None, max_length=80)

    @model_validator(mode="after")
    def _one_change(self) -> Self:
        if (self.delta is None) == (self.on_hand is None):
            raise ValueError("give exactly one of delta or on_hand")
        if self.safety_stock is not None and self.on_hand is None:
            raise ValueError("safety_stock is set together with a count (on_hand)")
        return self


class StockChangeRead(BaseModel):
    stock: StockLevelRead
    movement: StockMovementRead


class ReservationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variant_id: str = Id
    location_id: str = Id
    quantity: StrictInt = Field(ge=1, le=10_000)
    reference: str = Field(min_length=1, max_length=80, description="The cart or checkout id")
    ttl_seconds: StrictInt | None = Field(
        default=None, ge=30, le=7 * 24 * 3600, description="Default: the server's setting"
    )


class ReservationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    variant_id: str
    location_id: str
    quantity: int
    reference: str
    status: ReservationStatus
    expires_at: datetime
    created_at: datetime
    ended_at: datetime | None


class TransferLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)
    variant_id: str = Id
    quantity: StrictInt = Field(ge=1, le=MAX_QUANTITY)


class TransferCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_location_id: str = Id
    to_location_id: str = Id
    lines: list[TransferLineIn] = Field(min_length=1, max_length=500)
    reason: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if self.from_location_id == self.to_location_id:
            raise ValueError("a transfer goes between two different locations")
        variants = [line.variant_id for line in self.lines]
        if len(set(variants)) != len(variants):
            raise ValueError("one line per variant")
        return self


class TransferRead(BaseModel):
    id: str
    from_location_id: str
    to_location_id: str
    status: TransferStatus
    expected_at: datetime
    created_at: datetime
    received_at: datetime | None
    reason: str
    lines: list[TransferLineIn]

    @classmethod
    def of(cls, transfer: Transfer) -> TransferRead:
        return cls(
            id=transfer.id,
            from_location_id=transfer.from_location_id,
            to_location_id=transfer.to_location_id,
            status=TransferStatus(transfer.status),
            expected_at=transfer.expected_at,
            created_at=transfer.created_at,
            received_at=transfer.received_at,
            reason=transfer.reason,
            lines=[
                TransferLineIn(variant_id=line.variant_id, quantity=line.quantity)
                for line in sorted(transfer.lines, key=lambda line: line.variant_id)
            ],
        )


StockLevelName = Literal["in_stock", "low", "out_of_stock"]


class CollectRead(BaseModel):
    mode: Literal["in_store", "transfer"] = Field(
        description="in_store: picked from this store's shelf; transfer: sent from elsewhere"
    )
    ready_at: datetime = Field(description="When it can be collected, in the store's zone")
    label_fr: str = Field(examples=["Retrait aujourd'hui à 16:00"])
    label_en: str = Field(examples=["Collect today at 16:00"])


class StoreAvailabilityRead(BaseModel):
    store: StoreSummaryRead
    distance_km: float
    available: int
    level: StockLevelName
    opening: OpeningStatusRead
    collect: CollectRead | None = Field(description="None: cannot be collected here")


class AvailabilityRead(BaseModel):
    variant_id: str
    origin: PlaceRead
    items: list[StoreAvailabilityRead]


class VariantAtStoreRead(BaseModel):
    variant_id: str
    available: int
    level: StockLevelName


class StoreProductAvailabilityRead(BaseModel):
    store: StoreSummaryRead
    distance_km: float
    opening: OpeningStatusRead
    variants: list[VariantAtStoreRead]


class ProductAvailabilityRead(BaseModel):
    product_id: str
    origin: PlaceRead
    items: list[StoreProductAvailabilityRead]
