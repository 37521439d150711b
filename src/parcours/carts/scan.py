"""Reading a photo of a barcode or a product QR code: what the shopper (or associate) pointed at.

Phones without a live scanner send a photo; zxing-cpp finds an EAN-13/EAN-8/UPC-A (the product's
GTIN) or one of our printed QR codes (``…/q/<id>?m=poster&c=campaign``), whose medium and
campaign become the line's print touchpoint.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import zxingcpp
from PIL import Image, UnidentifiedImageError

from parcours.catalog import qr
from parcours.catalog import service as catalog
from parcours.catalog.service import VariantInfo
from parcours.core.errors import InvalidInput, NotFound
from parcours.core.uow import UnitOfWork

MAX_PIXELS = 40_000_000
_LINEAR = {"EAN13": "ean13", "EAN8": "ean8", "UPCA": "upca"}
_FORMATS = (
    zxingcpp.BarcodeFormat.QRCode,
    zxingcpp.BarcodeFormat.EAN13,
    zxingcpp.BarcodeFormat.EAN8,
    zxingcpp.BarcodeFormat.UPCA,
)


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What was read: the barcode kind and text, the product, and the variant when the code
    names one (a GTIN always does; a product QR code may name only the product)."""

    symbology: str
    text: str
    product_id: str
    product_slug: str
    product_name: str
    variant: VariantInfo | None
    variants: list[VariantInfo]
    medium: str | None = None
    campaign: str | None = None


def _decode(image_bytes: bytes) -> list[zxingcpp.Barcode]:
    try:
        with Image.open(io.BytesIO(image_bytes)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise InvalidInput("this image is too large", code="image_too_large")
            image.load()
            return list(
                zxingcpp.read_barcodes(
                    image.convert("L"),
                    # zxing-cpp 3 takes a tuple (its ``|`` on formats is deprecated), though its
                    # stubs still ask for BarcodeFormats.
                    formats=_FORMATS,  # type: ignore[arg-type]
                )
            )
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise InvalidInput(
            "send a JPEG, PNG or WebP photo of the code", code="unreadable_image"
        ) from exc


@dataclass(frozen=True, slots=True)
class CodeRead:
    """A code read off a photo, before anyone asks what it names."""

    text: str
    symbology: str  # ean13, ean8, upca or qr


def read_code(*, image_bytes: bytes) -> CodeRead:
    """The first readable code in a photo, decoded only (a loyalty card, a product label, a
    handoff QR: the caller knows what it expects). Refused with InvalidInput
    ``code_unreadable`` when the photo is not an image or holds no readable code."""
    try:
        codes = _decode(image_bytes)
    except InvalidInput as exc:
        if exc.code == "image_too_large":
            raise
        raise InvalidInput(exc.detail, code="code_unreadable") from None
    for code in codes:
        if code.text:
            name = code.format.name
            return CodeRead(text=code.text, symbology=_LINEAR.get(name, "qr"))
    raise InvalidInput(
        "no barcode or QR code could be read: hold it steady, closer, in good light",
        code="code_unreadable",
    )


def _product_variants(uow: UnitOfWork, product_id: str) -> list[VariantInfo]:
    product = catalog.get_product(uow=uow, product_id=product_id, published_only=True)
    found = catalog.get_variants(uow=uow, variant_ids=[v.id for v in product.variants])
    return [found[v.id] for v in product.variants if v.id in found]


def _from_gtin(uow: UnitOfWork, symbology: str, text: str) -> ScanResult:
    gtin = text if len(text) != 12 else f"0{text}"  # a UPC-A is a GTIN-13 with a leading 0
    variant = catalog.find_variant_by_gtin(uow=uow, gtin=gtin, published_only=True)
    info = catalog.get_variants(uow=uow, variant_ids=[variant.id])[variant.id]
    return ScanResult(
        symbology=symbology,
        text=text,
        product_id=info.product_id,
        product_slug=info.product_slug,
        product_name=info.product_name,
        variant=info,
        variants=_product_variants(uow, info.product_id),
    )


def _from_qr(uow: UnitOfWork, text: str) -> ScanResult:
    parts = urlsplit(text)
    segments = [segment for segment in parts.path.split("/") if segment]
    if len(segments) != 2 or segments[0] != "q":
        raise NotFound("this QR code is not one of our products", code="scan_not_a_product")
    target = segments[1]
    query = parse_qs(parts.query)
    mediums, campaigns = query.get("m", []), query.get("c", [])
    medium = qr.parse_medium(mediums[0] if mediums else None)
    campaign: str | None = campaigns[0] if campaigns else None
    if campaign is not None and not qr.is_campaign(campaign):
        campaign = None
    variant: VariantInfo | None = None
    if target.startswith("var_"):
        variant = catalog.get_variants(uow=uow, variant_ids=[target]).get(target)
        if variant is None or variant.product_status != "published":
            raise NotFound("this product is no longer sold", code="scan_not_a_product")
        product_id = variant.product_id
    else:
        product_id = target
    variants = _product_variants(uow, product_id)
    if not variants:
        raise NotFound("this product is no longer sold", code="scan_not_a_product")
    if variant is None and len(variants) == 1:
        variant = variants[0]  # one size: nothing to choose
    first = variants[0]
    return ScanResult(
        symbology="qr",
        text=text,
        product_id=product_id,
        product_slug=first.product_slug,
        product_name=first.product_name,
        variant=variant,
        variants=variants,
        medium=medium.value if medium else None,
        campaign=campaign if medium else None,
    )


def scan_image(*, uow: UnitOfWork, image_bytes: bytes) -> ScanResult:
    """The product behind the first readable code in a photo. Refused with InvalidInput
    ``no_code_found`` when no code is readable, NotFound when the code is not one of ours."""
    codes = _decode(image_bytes)
    if not codes:
        raise InvalidInput(
            "no barcode or QR code could be read: hold the phone steady, closer, in good light",
            code="no_code_found",
        )
    last_error: NotFound | None = None
    for code in codes:
        name = code.format.name
        try:
            if name in _LINEAR:
                return _from_gtin(uow, _LINEAR[name], code.text)
            return _from_qr(uow, code.text)
        except NotFound as exc:
            last_error = exc
    assert last_error is not None
    raise NotFound(last_error.detail, code="scan_not_a_product")
