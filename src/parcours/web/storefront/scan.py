"""The shopper's scanner (``/scanner``): her phone's camera reads a product barcode or one of our
printed QR codes and the product lands in her cart, with the poster (or magazine…) as its
touchpoint when the code was a printed one.

The browser decodes: ``BarcodeDetector`` where it has one, else the vendored zxing WebAssembly
build (``static/vendor/barcode-detector``), so frames never leave the phone; the decoded text is
posted here (``POST /scanner/code``). A phone with no camera (or a refused one) sends a photo
(``POST /scanner/photo``), decoded on the server with zxing-cpp. A code that names a product but
no size opens the size choice, whose buttons post to ``/panier/lignes`` with the same touchpoint.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from parcours.carts import scan as scanning
from parcours.carts import service as carts
from parcours.carts.models import TouchpointKind
from parcours.catalog import qr
from parcours.catalog import service as catalog
from parcours.core.auth.principal import PUBLIC, Principal
from parcours.core.deps import ReadUowDep, SettingsDep, UowDep
from parcours.core.errors import DomainError
from parcours.core.money import format_money
from parcours.core.uow import UnitOfWork
from parcours.customers.models import ShopperSession
from parcours.web.rendering import page_locale, render
from parcours.web.storefront.session import (
    open_shopper_session,
    set_shopper_cookie,
)

router = APIRouter(include_in_schema=False)
PublicDep = Annotated[Principal, Depends(PUBLIC)]
_BABEL = {"fr": "fr_FR", "en": "en_GB"}
#: A phone photo is a few MiB; more is not a photo of a label.
MAX_PHOTO_BYTES = 12 * 1_048_576
#: Refusals she can act on, by the code the service gives.
_REFUSALS = {
    "scan_not_a_product": "scan.error.not_ours",
    "no_code_found": "scan.error.unreadable",
    "code_unreadable": "scan.error.unreadable",
    "unreadable_image": "scan.error.not_an_image",
    "image_too_large": "scan.error.too_large",
    "product_not_for_sale": "scan.error.not_for_sale",
    "variant_not_found": "scan.error.not_ours",
}
#: Our own links she may scan with the in-app scanner besides products: a kiosk's selection.
_OUR_PAGES = ("/panier/reprendre/",)


def _scanner_page(
    request: Request, *, status_code: int = 200, error: str | None = None
) -> HTMLResponse:
    return render(
        request,
        "storefront/scan.html",
        status_code=status_code,
        error=error,
        max_photo_mib=MAX_PHOTO_BYTES // 1_048_576,
    )


@router.get("/scanner", response_class=HTMLResponse)
def scanner_page(request: Request, _: PublicDep) -> Response:
    """The camera view, with typing the number and sending a photo as the ways round it."""
    return _scanner_page(request)


def _refused(request: Request, error: DomainError) -> HTMLResponse:
    message = _REFUSALS.get(error.code, "scan.error.generic")
    status_code = 422 if error.status in (400, 413, 422) else 404
    return _scanner_page(request, status_code=status_code, error=message)


def _touchpoint(found: scanning.ScanResult, session: ShopperSession | None) -> carts.Touchpoint:
    """A printed code's medium and campaign; else the channel she scanned from (her browser,
    or the installed app)."""
    if found.medium:
        return carts.Touchpoint(
            kind=TouchpointKind.PRINT, medium=found.medium, campaign=found.campaign
        )
    channel = session.channel if session is not None else "web"
    return carts.Touchpoint(kind=TouchpointKind.APP if channel == "app" else TouchpointKind.WEB)


def _add_found(
    request: Request, uow: UnitOfWork, settings: Any, found: scanning.ScanResult
) -> Response:
    """The product she scanned goes into her cart (a session is opened for her on the first
    scan); a code naming no size opens the size choice instead."""
    if found.variant is None:
        query = {"m": found.medium or "", "c": found.campaign or ""}
        path = f"/scanner/produits/{found.product_id}"
        return RedirectResponse(
            f"{path}?{urlencode({k: v for k, v in query.items() if v})}".rstrip("?"),
            status_code=303,
        )
    session, token = open_shopper_session(request, uow)
    cart = carts.open_cart(
        uow=uow,
        profile_id=session.profile_id,
        anonymous_id=session.anonymous_id,
        channel=session.channel,
        currency=settings.default_currency,
    )
    try:
        carts.add_line(
            uow=uow,
            cart_id=cart.id,
            variant_id=found.variant.id,
            quantity=1,
            touchpoint=_touchpoint(found, session),
        )
    except DomainError as refused:
        uow.rollback()
        return _refused(request, refused)
    view = carts.view_cart(uow=uow, cart=cart)
    uow.commit()
    request.app.state.live.publish(
        f"cart:{cart.id}", {"type": "cart", "version": view.cart.version, "changed": "line_added"}
    )
    response = RedirectResponse("/panier?ajoute=1", status_code=303)
    set_shopper_cookie(response, token, settings)
    return response


@router.post("/scanner/code")
def scanned_code(
    request: Request,
    uow: UowDep,
    settings: SettingsDep,
    _: PublicDep,
    code: Annotated[str, Form(max_length=600)],
) -> Response:
    """What her camera read (or the number she typed): the product goes into her cart."""
    text = code.strip()
    path = urlsplit(text).path if "/" in text else ""
    if path.startswith(_OUR_PAGES) and len(path) <= 120:
        # A kiosk's "send to my phone" code read with our own scanner: open it, as her
        # camera app would have.
        return RedirectResponse(path, status_code=303)
    if not text:
        return _scanner_page(request, status_code=422, error="scan.error.empty")
    try:
        found = carts.resolve_scanned_code(uow=uow, text=text)
    except DomainError as refused:
        return _refused(request, refused)
    return _add_found(request, uow, settings, found)


@router.post("/scanner/photo")
async def scanned_photo(
    request: Request,
    settings: SettingsDep,
    _: PublicDep,
    photo: Annotated[UploadFile, File()],
) -> Response:
    """The last resort: a photo of the code, read on the server."""
    content = await photo.read(MAX_PHOTO_BYTES + 1)
    await photo.close()
    if len(content) > MAX_PHOTO_BYTES:
        return _scanner_page(request, status_code=413, error="scan.error.too_large")
    if not content:
        return _scanner_page(request, status_code=422, error="scan.error.empty_photo")

    def read_and_add() -> Response:
        with UnitOfWork(request.app.state.db) as uow:
            try:
                found = scanning.scan_image(uow=uow, image_bytes=content)
            except DomainError as refused:
                return _refused(request, refused)
            return _add_found(request, uow, settings, found)

    # Decoding takes a few tens of milliseconds of CPU: off the event loop.
    return await run_in_threadpool(read_and_add)


@router.get("/scanner/produits/{product_id}", response_class=HTMLResponse)
def choose_size(request: Request, product_id: str, uow: ReadUowDep, _: PublicDep) -> Response:
    """A code that names the product only: she picks her size, the touchpoint rides along."""
    lang = page_locale(request)
    try:
        product = catalog.get_product(uow=uow, product_id=product_id[:40], published_only=True)
    except DomainError:
        return render(request, "error.html", status_code=404, message_id="scan.error.not_ours")
    infos = catalog.get_variants(uow=uow, variant_ids=[v.id for v in product.variants])
    medium = qr.parse_medium(request.query_params.get("m"))
    campaign = request.query_params.get("c")
    sizes = [
        {
            "id": variant.id,
            "label": " · ".join(str(v) for v in infos[variant.id].attributes.values())
            or variant.sku,
            "price": format_money(
                infos[variant.id].price_amount, infos[variant.id].currency, _BABEL[lang]
            ),
        }
        for variant in product.variants
        if variant.id in infos
    ]
    return render(
        request,
        "storefront/scan_sizes.html",
        product=product,
        image=product.image_urls[0] if product.image_urls else "",
        sizes=sizes,
        medium=medium.value if medium else None,
        campaign=campaign if medium and campaign and qr.is_campaign(campaign) else None,
    )
