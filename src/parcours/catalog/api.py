"""JSON routes of the catalog, and the short links printed QR codes open (``/q/{id}``).

Each route parses, calls one service function, commits when it wrote, and answers. Reads take
``CATALOG_READ`` (publishable keys see published products only), writes ``CATALOG_WRITE``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from parcours.catalog import service
from parcours.catalog.models import Channel, Product, ProductStatus, Variant
from parcours.catalog.qr import CAMPAIGN_PATTERN, PrintMedium, QrFormat
from parcours.catalog.schemas import (
    CategoryCreate,
    CategoryRead,
    ImportReport,
    MoneyRead,
    ProductCreate,
    ProductRead,
    ProductUpdate,
    PublishRequest,
    VariantLookupRead,
    VariantRead,
)
from parcours.core.auth.models import KeyKind
from parcours.core.auth.principal import CATALOG_READ, CATALOG_WRITE, PUBLIC, Principal
from parcours.core.deps import ReadUowDep, SettingsDep, UowDep
from parcours.core.errors import DomainError, InvalidInput
from parcours.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page

router = APIRouter(tags=["catalog"])
V1 = "/v1"

Reader = Annotated[Principal, Depends(CATALOG_READ)]
Writer = Annotated[Principal, Depends(CATALOG_WRITE)]
Cursor = Annotated[str | None, Query(max_length=512, description="from the previous page")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]

CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/vnd.ms-excel")
_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


class UnsupportedMediaType(DomainError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


async def _csv_upload(request: Request) -> bytes:
    """The CSV file, sent as the body itself or as the ``file`` field of a multipart form."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form()  # cached: the CSRF check may have read it already
        try:
            upload = form.get("file")
            if upload is None:
                raise InvalidInput("send the CSV in the form's 'file' field", code="csv_missing")
            return upload.encode() if isinstance(upload, str) else await upload.read()
        finally:
            await form.close()
    if content_type and content_type not in CSV_TYPES:
        raise UnsupportedMediaType(
            "send the file as text/csv, or as the 'file' field of a multipart/form-data form"
        )
    return await request.body()


CsvUpload = Annotated[bytes, Depends(_csv_upload)]


def _storefront(principal: Principal) -> bool:
    """Publishable keys live in browsers: they see what is published, nothing else."""
    return principal.kind == "api_key" and principal.key_kind is KeyKind.PUBLISHABLE


def _variant_read(variant: Variant, product: Product) -> VariantRead:
    own = variant.price_amount
    return VariantRead(
        id=variant.id,
        product_id=product.id,
        sku=variant.sku,
        gtin=variant.gtin,
        attributes=dict(variant.attributes),
        price=MoneyRead.of(own if own is not None else product.price_amount, product.currency),
        has_own_price=own is not None,
        position=variant.position,
    )


def product_read(product: Product) -> ProductRead:
    """The API's view of a product (also used by the pages)."""
    order = list(Channel)
    return ProductRead(
        id=product.id,
        slug=product.slug,
        name=product.name,
        description=product.description,
        brand=product.brand,
        category_id=product.category_id,
        price=MoneyRead.of(product.price_amount, product.currency),
        status=ProductStatus(product.status),
        channels=sorted((Channel(c.channel) for c in product.channels), key=order.index),
        attributes=dict(product.attributes),
        image_urls=list(product.image_urls),
        variants=[_variant_read(v, product) for v in product.variants],
        created_at=product.created_at,
        updated_at=product.updated_at,
    )


def _lookup_read(variant: Variant) -> VariantLookupRead:
    return VariantLookupRead(
        variant=_variant_read(variant, variant.product), product=product_read(variant.product)
    )


# ---------------------------------------------------------------------------------------------
# Categories


@router.get(f"{V1}/categories", response_model=Page[CategoryRead], summary="The category tree")
def list_categories(
    uow: ReadUowDep, _: Reader, cursor: Cursor = None, limit: Limit = MAX_LIMIT
) -> Page[CategoryRead]:
    listing = service.list_categories(uow=uow, cursor=cursor, limit=limit)
    return Page[CategoryRead](
        items=[CategoryRead.model_validate(n) for n in listing.items],
        next_cursor=listing.next_cursor,
    )


@router.post(
    f"{V1}/categories",
    response_model=CategoryRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a category",
)
def create_category(body: CategoryCreate, uow: UowDep, _: Writer) -> CategoryRead:
    category = service.create_category(uow=uow, **body.model_dump())
    uow.commit()
    return CategoryRead.model_validate(category)


# ---------------------------------------------------------------------------------------------
# Products


@router.get(f"{V1}/products", response_model=Page[ProductRead], summary="List products")
def list_products(
    uow: ReadUowDep,
    principal: Reader,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    category_id: Annotated[str | None, Query(max_length=40)] = None,
    category_slug: Annotated[str | None, Query(max_length=160)] = None,
    channel: Annotated[Channel | None, Query(description="listed on this channel")] = None,
    product_status: Annotated[ProductStatus | None, Query(alias="status")] = None,
) -> Page[ProductRead]:
    if _storefront(principal):
        product_status = ProductStatus.PUBLISHED
    listing = service.list_products(
        uow=uow,
        cursor=cursor,
        limit=limit,
        category_id=category_id,
        category_slug=category_slug,
        channel=channel,
        status=product_status,
    )
    return Page[ProductRead](
        items=[product_read(p) for p in listing.items], next_cursor=listing.next_cursor
    )


@router.post(
    f"{V1}/products",
    response_model=ProductRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a product with its variants",
)
def create_product(body: ProductCreate, response: Response, uow: UowDep, _: Writer) -> ProductRead:
    product = service.create_product(uow=uow, **body.model_dump())
    uow.commit()
    response.headers["Location"] = f"{V1}/products/{product.id}"
    return product_read(product)


@router.post(
    f"{V1}/products/import",
    response_model=ImportReport,
    summary="Import products and variants from CSV (all or nothing)",
    description=(
        "One row per variant; columns in docs/catalog-import.md. Send the file as a `text/csv` "
        "body or as the `file` field of a multipart form. With any bad row nothing is written "
        "and the answer is a 422 problem whose `report.errors` lists every bad row."
    ),
    openapi_extra=_IMPORT_BODY,
)
def import_products(uow: UowDep, _: Writer, content: CsvUpload) -> ImportReport:
    report = service.import_products_csv(uow=uow, text_or_stream=content)
    uow.commit()
    return report


@router.get(
    f"{V1}/products/by-slug/{{slug}}", response_model=ProductRead, summary="A product by slug"
)
def get_product_by_slug(slug: str, uow: ReadUowDep, principal: Reader) -> ProductRead:
    product = service.get_product_by_slug(uow=uow, slug=slug, published_only=_storefront(principal))
    return product_read(product)


@router.get(f"{V1}/products/{{product_id}}", response_model=ProductRead, summary="A product")
def get_product(product_id: str, uow: ReadUowDep, principal: Reader) -> ProductRead:
    product = service.get_product(
        uow=uow, product_id=product_id, published_only=_storefront(principal)
    )
    return product_read(product)


@router.patch(
    f"{V1}/products/{{product_id}}", response_model=ProductRead, summary="Change a product"
)
def update_product(product_id: str, body: ProductUpdate, uow: UowDep, _: Writer) -> ProductRead:
    product = service.update_product(
        uow=uow, product_id=product_id, **body.model_dump(exclude_unset=True)
    )
    uow.commit()
    return product_read(product)


@router.post(
    f"{V1}/products/{{product_id}}/publish",
    response_model=ProductRead,
    summary="Publish a product on channels",
)
def publish_product(
    product_id: str, uow: UowDep, _: Writer, body: PublishRequest | None = None
) -> ProductRead:
    channels = body.channels if body is not None else None
    product = service.publish_product(uow=uow, product_id=product_id, channels=channels)
    uow.commit()
    return product_read(product)


_QR_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"image/svg+xml": {}, "image/png": {}}, "description": "the QR code"}
}


def _qr_response(
    image_format: QrFormat,
    product_id: str,
    uow: ReadUowDep,
    settings: SettingsDep,
    medium: PrintMedium,
    campaign: str | None,
    variant: str | None,
) -> Response:
    image = service.render_product_qr(
        uow=uow,
        base_url=settings.base_url,
        product_id=product_id,
        medium=medium,
        campaign=campaign,
        variant_id=variant,
        image_format=image_format,
    )
    return Response(
        image.content,
        media_type=image.media_type,
        headers={
            "Content-Disposition": f'inline; filename="{image.filename}"',
            "Cache-Control": "private, max-age=3600",
        },
    )


Medium = Annotated[PrintMedium, Query(description="where the code is printed")]
Campaign = Annotated[str | None, Query(pattern=CAMPAIGN_PATTERN, description="e.g. soldes-ete")]
VariantParam = Annotated[str | None, Query(max_length=40, description="a variant's own code")]


@router.get(
    f"{V1}/products/{{product_id}}/qr.svg",
    response_class=Response,
    responses=_QR_RESPONSES,
    summary="The product's printable QR code (SVG)",
)
def product_qr_svg(
    product_id: str,
    uow: ReadUowDep,
    settings: SettingsDep,
    _: Reader,
    medium: Medium,
    campaign: Campaign = None,
    variant: VariantParam = None,
) -> Response:
    return _qr_response(QrFormat.SVG, product_id, uow, settings, medium, campaign, variant)


@router.get(
    f"{V1}/products/{{product_id}}/qr.png",
    response_class=Response,
    responses=_QR_RESPONSES,
    summary="The product's printable QR code (PNG)",
)
def product_qr_png(
    product_id: str,
    uow: ReadUowDep,
    settings: SettingsDep,
    _: Reader,
    medium: Medium,
    campaign: Campaign = None,
    variant: VariantParam = None,
) -> Response:
    return _qr_response(QrFormat.PNG, product_id, uow, settings, medium, campaign, variant)


# ---------------------------------------------------------------------------------------------
# Variants and search


@router.get(
    f"{V1}/variants/by-gtin/{{gtin}}",
    response_model=VariantLookupRead,
    summary="The variant a barcode names, with its product",
)
def find_variant_by_gtin(gtin: str, uow: ReadUowDep, principal: Reader) -> VariantLookupRead:
    variant = service.find_variant_by_gtin(
        uow=uow, gtin=gtin, published_only=_storefront(principal)
    )
    return _lookup_read(variant)


@router.get(
    f"{V1}/variants/by-sku/{{sku}}",
    response_model=VariantLookupRead,
    summary="The variant with this SKU, with its product",
)
def find_variant_by_sku(sku: str, uow: ReadUowDep, principal: Reader) -> VariantLookupRead:
    variant = service.find_variant_by_sku(uow=uow, sku=sku, published_only=_storefront(principal))
    return _lookup_read(variant)


@router.get(
    f"{V1}/search/products",
    response_model=Page[ProductRead],
    summary="Search products, best match first",
)
def search_products(
    uow: ReadUowDep,
    principal: Reader,
    q: Annotated[str, Query(min_length=1, max_length=200, description="what the shopper typed")],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    cursor: Cursor = None,
    channel: Annotated[Channel | None, Query(description="listed on this channel")] = None,
) -> Page[ProductRead]:
    listing = service.search_products(
        uow=uow,
        query=q,
        limit=limit,
        channel=channel,
        published_only=_storefront(principal),
        cursor=cursor,
    )
    return Page[ProductRead](
        items=[product_read(p) for p in listing.items], next_cursor=listing.next_cursor
    )


# ---------------------------------------------------------------------------------------------
# Short links of printed QR codes


@router.get(
    "/q/{target_id}",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
    summary="Open a printed QR code: redirect to the product page with its attribution",
    dependencies=[Depends(PUBLIC)],
)
def open_short_link(
    target_id: str,
    uow: ReadUowDep,
    m: Annotated[str | None, Query(max_length=40, description="printed medium")] = None,
    c: Annotated[str | None, Query(max_length=64, description="campaign")] = None,
) -> RedirectResponse:
    location = service.resolve_short_link(uow=uow, target_id=target_id, medium=m, campaign=c)
    return RedirectResponse(location, status_code=302, headers={"Cache-Control": "no-store"})
