"""Input and output shapes of the catalog: categories, products, variants, prices, imports.

Inputs refuse unknown fields. Money goes in as integer minor units plus an ISO 4217 currency
(``price_amount``, ``currency``) and comes out as ``{"amount", "currency", "formatted"}``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from parcours.catalog.models import Channel, ProductStatus
from parcours.core.money import check_currency, format_money

#: Prices are stored in 32-bit integer columns; ten million euros is plenty for one article.
MAX_PRICE_AMOUNT = 1_000_000_000
MAX_VARIANTS = 200

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$"
ATTRIBUTE_KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
_SLUG = re.compile(SLUG_PATTERN)
_SKU = re.compile(SKU_PATTERN)


def clean_text(value: str) -> str:
    """Refuse what no product text contains and what databases choke on: NUL, lone surrogates."""
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode") from None
    return value


def gtin_check_digit(body: str) -> int:
    """The GS1 check digit of the digits before it: weights 3, 1, 3… from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def normalise_gtin(value: str) -> str:
    """Validate a GTIN-8, -12 (UPC-A), -13 (EAN) or -14 and return its canonical form.

    Shorter GTINs are left-padded to 13 digits (padding keeps the check digit valid) and a GTIN-14
    that starts with 0 is an EAN-13, so one article has one stored code however it was typed.
    """
    digits = value.strip().replace(" ", "").replace("-", "")
    if not digits.isascii() or not digits.isdigit():
        raise ValueError("a GTIN has digits only")
    if len(digits) not in (8, 12, 13, 14):
        raise ValueError(f"a GTIN has 8, 12, 13 or 14 digits, not {len(digits)}")
    expected = gtin_check_digit(digits[:-1])
    if int(digits[-1]) != expected:
        raise ValueError(f"check digit of GTIN {digits} is wrong: expected {expected}")
    if len(digits) == 14 and digits[0] == "0":
        return digits[1:]
    return digits.rjust(13, "0") if len(digits) < 13 else digits


def is_slug(value: str) -> bool:
    return len(value) <= 160 and _SLUG.match(value) is not None


def is_sku(value: str) -> bool:
    return _SKU.match(value) is not None


def check_slug(value: str) -> str:
    if not is_slug(value):
        raise ValueError("a slug has lower-case letters, digits and single hyphens: robe-lin-ete")
    return value


def check_sku(value: str) -> str:
    if not is_sku(value):
        raise ValueError(
            "a SKU has up to 64 letters, digits, '.', '_', '/' or '-', "
            "and starts with a letter or a digit"
        )
    return value


def check_image_url(value: str) -> str:
    """An absolute http(s) URL or a path on this site (``/media/robe.jpg``)."""
    if any(c.isspace() for c in value):
        raise ValueError("an image URL may not contain spaces")
    if value.startswith("/"):
        if value.startswith("//"):
            raise ValueError("use an absolute https:// URL rather than a protocol-relative one")
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("an image URL starts with http://, https:// or / (a path on this site)")
    return value


def _unique_channels(values: list[Channel]) -> list[Channel]:
    return list(dict.fromkeys(values))


CleanStr = Annotated[str, AfterValidator(clean_text)]
# Patterns are checked by functions (for messages a merchant understands) and shown in the
# OpenAPI schema for clients.
Slug = Annotated[
    str,
    StringConstraints(max_length=160),
    AfterValidator(check_slug),
    Field(json_schema_extra={"pattern": SLUG_PATTERN}),
]
Sku = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=64),
    AfterValidator(check_sku),
    Field(json_schema_extra={"pattern": SKU_PATTERN}),
]
Gtin = Annotated[
    str,
    StringConstraints(max_length=20),
    AfterValidator(normalise_gtin),
    Field(description="GTIN-8, -12, -13 (EAN) or -14, check digit verified; stored as 13 digits"),
]
Currency = Annotated[
    str,
    StringConstraints(max_length=3),
    AfterValidator(check_currency),
    Field(description="ISO 4217 code, upper case", json_schema_extra={"pattern": "^[A-Z]{3}$"}),
]
Amount = Annotated[int, Field(ge=0, le=MAX_PRICE_AMOUNT, description="minor units: cents for EUR")]
Name = Annotated[CleanStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
AttributeKey = Annotated[str, StringConstraints(pattern=ATTRIBUTE_KEY_PATTERN)]
AttributeText = Annotated[CleanStr, StringConstraints(strip_whitespace=True, max_length=200)]
AttributeValue = AttributeText | int | float | bool | list[AttributeText]
ImageUrl = Annotated[
    CleanStr, StringConstraints(min_length=1, max_length=2000), AfterValidator(check_image_url)
]
Channels = Annotated[list[Channel], AfterValidator(_unique_channels), Field(max_length=10)]
Description = Annotated[CleanStr, StringConstraints(max_length=10_000)]
Brand = Annotated[CleanStr, StringConstraints(strip_whitespace=True, max_length=120)]
CategoryRef = Annotated[str, StringConstraints(max_length=40)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------------------------
# Money


class MoneyRead(BaseModel):
    amount: int = Field(description="minor units: cents for EUR")
    currency: str
    formatted: str = Field(description="for people, in fr-FR: '49,90 €'")

    @classmethod
    def of(cls, amount: int, currency: str) -> MoneyRead:
        return cls(amount=amount, currency=currency, formatted=format_money(amount, currency))


# ---------------------------------------------------------------------------------------------
# Categories


class CategoryCreate(_Input):
    name: Name
    slug: Slug | None = Field(default=None, description="derived from the name when left out")
    parent_id: CategoryRef | None = None
    position: int = Field(default=0, ge=0, le=1_000_000)


class CategoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    slug: str
    name: str
    parent_id: str | None
    position: int
    children: list[CategoryRead] = Field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Variants


class VariantCreate(_Input):
    sku: Sku
    gtin: Gtin | None = None
    attributes: dict[AttributeKey, AttributeText] = Field(
        default_factory=dict,
        max_length=20,
        description="taille, couleur…: {'taille': 'M', 'couleur': 'bleu'}",
    )
    price_amount: Amount | None = Field(
        default=None, description="its own price; left out, the variant sells at the product's"
    )


class VariantRead(BaseModel):
    id: str
    product_id: str
    sku: str
    gtin: str | None
    attributes: dict[str, str]
    price: MoneyRead
    has_own_price: bool
    position: int


# ---------------------------------------------------------------------------------------------
# Products


def _check_unique_codes(variants: list[VariantCreate]) -> None:
    skus = [v.sku for v in variants]
    if len(set(skus)) != len(skus):
        raise ValueError("two variants have the same SKU")
    gtins = [v.gtin for v in variants if v.gtin is not None]
    if len(set(gtins)) != len(gtins):
        raise ValueError("two variants have the same GTIN")


class ProductCreate(_Input):
    name: Name
    slug: Slug | None = Field(default=None, description="derived from the name when left out")
    description: Description = ""
    brand: Brand = ""
    category_id: CategoryRef | None = None
    category_slug: Slug | None = Field(default=None, description="instead of category_id")
    price_amount: Amount
    currency: Currency = "EUR"
    attributes: dict[AttributeKey, AttributeValue] = Field(
        default_factory=dict, max_length=50, description="material, fit…"
    )
    image_urls: list[ImageUrl] = Field(default_factory=list, max_length=20)
    channels: Channels = Field(
        default_factory=list, description="where the product is listed once published"
    )
    status: ProductStatus = ProductStatus.DRAFT
    variants: list[VariantCreate] = Field(default_factory=list, max_length=MAX_VARIANTS)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.category_id is not None and self.category_slug is not None:
            raise ValueError("give category_id or category_slug, not both")
        _check_unique_codes(self.variants)
        return self


#: Fields a PATCH may set to null: the others are left out to stay as they are.
NULLABLE_UPDATE_FIELDS = frozenset({"category_id", "category_slug"})


class ProductUpdate(_Input):
    """Fields left out stay as they are. ``variants`` are matched by SKU: a known SKU is updated,
    a new one is added; variants not listed are kept."""

    name: Name | None = None
    slug: Slug | None = None
    description: Description | None = None
    brand: Brand | None = None
    category_id: CategoryRef | None = None
    category_slug: Slug | None = None
    price_amount: Amount | None = None
    currency: Currency | None = None
    attributes: dict[AttributeKey, AttributeValue] | None = Field(default=None, max_length=50)
    image_urls: list[ImageUrl] | None = Field(default=None, max_length=20)
    channels: Channels | None = None
    status: ProductStatus | None = None
    variants: list[VariantCreate] | None = Field(default=None, max_length=MAX_VARIANTS)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for field in self.model_fields_set - NULLABLE_UPDATE_FIELDS:
            if getattr(self, field) is None:
                raise ValueError(f"{field} may not be null: leave it out to keep it")
        if {"category_id", "category_slug"} <= self.model_fields_set and (
            self.category_id is not None or self.category_slug is not None
        ):
            raise ValueError("give category_id or category_slug, not both")
        if self.variants is not None:
            _check_unique_codes(self.variants)
        return self


class PublishRequest(_Input):
    channels: Channels | None = Field(
        default=None, description="channels to publish on; left out, the product's own channels"
    )


class ProductRead(BaseModel):
    id: str
    slug: str
    name: str
    description: str
    brand: str
    category_id: str | None
    price: MoneyRead
    status: ProductStatus
    channels: list[Channel] = Field(description="where it is listed; visible there if published")
    attributes: dict[str, Any]
    image_urls: list[str]
    variants: list[VariantRead]
    created_at: datetime
    updated_at: datetime


class VariantLookupRead(BaseModel):
    """A variant found by its code, with its product (what a till or a scanner needs)."""

    variant: VariantRead
    product: ProductRead


# ---------------------------------------------------------------------------------------------
# CSV import


class ImportRowError(BaseModel):
    line: int = Field(description="line of the file, 1 being the header")
    column: str | None = Field(description="the column at fault, when one is")
    message: str


class ImportReport(BaseModel):
    rows_read: int = 0
    products_created: int = 0
    products_updated: int = 0
    products_unchanged: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    variants_unchanged: int = 0
    errors: list[ImportRowError] = Field(default_factory=list)
    errors_not_shown: int = Field(default=0, description="bad rows beyond the first 1,000")
