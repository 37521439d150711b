"""Input and output shapes of the promo codes API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
)

from parcours.core.money import CurrencyCode
from parcours.loyalty.models import PromoCode, PromoKind

_STRICT = ConfigDict(extra="forbid")
PromoChannel = Literal["web", "app", "kiosk", "till"]


class PromoCodeCreate(BaseModel):
    model_config = _STRICT
    code: str = Field(
        pattern=r"^\s*[A-Za-z0-9-]{3,32}\s*$",
        description="3 to 32 letters, digits or dashes; stored upper case",
    )
    description: str = Field(default="", max_length=200)
    kind: PromoKind
    value: StrictInt = Field(
        ge=1, le=10_000_000, description="percent: 1 to 100; amount: minor units off"
    )
    currency: CurrencyCode = "EUR"
    min_subtotal: StrictInt = Field(default=0, ge=0, le=100_000_000, description="minor units")
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    max_redemptions: StrictInt | None = Field(default=None, ge=1, le=10_000_000)
    channels: list[PromoChannel] = Field(
        default_factory=list, max_length=4, description="where it is valid; empty: everywhere"
    )
    active: StrictBool = True

    @field_validator("description")
    @classmethod
    def _storable(cls, value: str) -> str:
        """Refuse what databases choke on: NUL characters, lone surrogates."""
        if "\x00" in value:
            raise ValueError("text may not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text must be valid Unicode") from None
        return value


class PromoCodeRead(BaseModel):
    id: str
    code: str
    description: str
    kind: str
    value: int
    currency: str
    min_subtotal: int
    starts_at: datetime | None
    ends_at: datetime | None
    max_redemptions: int | None
    redemptions: int
    remaining: int | None = Field(description="uses left; None: no cap")
    channels: list[str]
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, promo: PromoCode) -> PromoCodeRead:
        return cls(
            id=promo.id,
            code=promo.code,
            description=promo.description,
            kind=promo.kind,
            value=promo.value,
            currency=promo.currency,
            min_subtotal=promo.min_subtotal,
            starts_at=promo.starts_at,
            ends_at=promo.ends_at,
            max_redemptions=promo.max_redemptions,
            redemptions=promo.redemptions,
            remaining=None
            if promo.max_redemptions is None
            else max(0, promo.max_redemptions - promo.redemptions),
            channels=list(promo.channels or []),
            active=promo.active,
            created_at=promo.created_at,
        )
