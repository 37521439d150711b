"""Input and output shapes of the carts API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from parcours.carts.models import TouchpointKind
from parcours.catalog.qr import CAMPAIGN_PATTERN, PrintMedium

_STRICT = ConfigDict(extra="forbid")
ShopperChannel = Literal["web", "app", "kiosk"]


class ShopperSessionCreate(BaseModel):
    model_config = _STRICT
    anonymous_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="the device's first-party id (the tracking module's), to keep one history",
    )
    channel: ShopperChannel = "web"


class ShopperSessionRead(BaseModel):
    token: str | None = Field(default=None, description="shown once, at creation")
    anonymous_id: str
    profile_id: str | None
    signed_in: bool
    expires_at: datetime


class SignInCodeRequest(BaseModel):
    model_config = _STRICT
    email: str = Field(min_length=3, max_length=320)
    locale: Literal["fr", "en"] = "fr"


class SignInRequest(BaseModel):
    model_config = _STRICT
    email: str = Field(min_length=3, max_length=320)
    code: str = Field(pattern=r"^\s*\d{6}\s*$")


class TouchpointIn(BaseModel):
    model_config = _STRICT
    kind: TouchpointKind
    medium: PrintMedium | None = Field(default=None, description="for print: where it was printed")
    campaign: str | None = Field(default=None, pattern=CAMPAIGN_PATTERN)
    store_id: str | None = Field(default=None, max_length=40)


class TouchpointRead(BaseModel):
    kind: str
    medium: str | None
    campaign: str | None
    store_id: str | None


class CartLineCreate(BaseModel):
    model_config = _STRICT
    variant_id: str = Field(min_length=1, max_length=40)
    quantity: StrictInt = Field(default=1, ge=1, le=99)
    touchpoint: TouchpointIn | None = Field(
        default=None, description="default: the channel of the caller (web, app, till…)"
    )


class CartLineUpdate(BaseModel):
    model_config = _STRICT
    quantity: StrictInt | None = Field(default=None, ge=1, le=99)
    saved_for_later: StrictBool | None = None


class LineWarningRead(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class CartLineRead(BaseModel):
    id: str
    variant_id: str
    product_id: str | None
    product_slug: str | None
    product_name: str | None
    sku: str | None
    attributes: dict[str, str]
    image_url: str | None
    quantity: int
    unit_price: int
    unit_price_seen: int
    amount: int
    saved_for_later: bool
    touchpoint: TouchpointRead
    warnings: list[LineWarningRead]
    added_at: datetime


class PromoRead(BaseModel):
    code: str
    description: str
    kind: str = Field(description="percent or amount")
    value: int = Field(description="percent: 1 to 100; amount: minor units")


class CartRead(BaseModel):
    id: str
    status: str
    version: int
    currency: str
    channel: str
    store_id: str | None = Field(description="the store whose stock the warnings speak of")
    profile_id: str | None
    lines: list[CartLineRead]
    saved_for_later: list[CartLineRead]
    item_count: int
    subtotal: int
    promo_code: str | None = Field(
        default=None, description="the code on the cart, even when it does not apply now"
    )
    promo: PromoRead | None = Field(default=None, description="the code's terms, when it applies")
    discount: int = Field(default=0, description="what the code takes off now (minor units)")
    total: int = Field(description="subtotal less discount, before delivery")
    warnings: list[LineWarningRead] = Field(
        default_factory=list,
        description="about the whole cart: promo_not_applicable (details.reason says why)",
    )
    updated_at: datetime


class PromoCodeIn(BaseModel):
    model_config = _STRICT
    code: str = Field(min_length=1, max_length=64, description="as typed; any case")


class TillCartCreate(BaseModel):
    model_config = _STRICT
    store_id: str = Field(min_length=1, max_length=40)
    profile_id: str | None = Field(default=None, max_length=40)


class HandoffRead(BaseModel):
    code: str = Field(description="6 digits to type at a till or kiosk")
    token: str = Field(description="what the QR code carries")
    url: str = Field(description="the link the QR code encodes")
    qr_svg: str = Field(description="the QR code, as an SVG document")
    expires_at: datetime


class HandoffClaim(BaseModel):
    model_config = _STRICT
    code: str | None = Field(default=None, pattern=r"^\s*\d{6}\s*$")
    token: str | None = Field(
        default=None,
        min_length=8,
        max_length=300,
        description="the QR code's token, or the whole link it holds (what a scanner reads)",
    )
    store_id: str | None = Field(default=None, max_length=40)


class AttachCustomer(BaseModel):
    model_config = _STRICT
    profile_id: str = Field(min_length=1, max_length=40)


class ScanVariantRead(BaseModel):
    id: str
    sku: str
    gtin: str | None
    attributes: dict[str, str]
    price_amount: int
    currency: str


class ScanRead(BaseModel):
    symbology: str
    product_id: str
    product_slug: str
    product_name: str
    variant: ScanVariantRead | None = Field(description="None when a size must be chosen")
    variants: list[ScanVariantRead]
    touchpoint: TouchpointRead
