"""The in-store kiosk (``/kiosk/{store_code}``): the catalogue on a large touch screen, with each
size's stock across the network (here, in the other stores nearest first, in the warehouse).

No login for the shopper, but the screen itself is a paired device: the store's staff pair it
from the associate app (``/associate/bornes``: a one-time code, then a long-lived token in an
HttpOnly, SameSite=Strict cookie, see ``parcours.stores.kiosks``). Every page of an unpaired
screen says so ("demandez à un conseiller") and every write needs the credential of this store's
kiosk: a revoked kiosk stops at its next tap. The shopper's selection is a cart of channel
``kiosk`` held by the kiosk's own session cookie (path ``/kiosk``, apart from the shopper cookie
of a phone). From it she can:

- send the selection to her phone: a handoff QR code whose page, opened on her phone
  (``/panier/reprendre/{token}``), moves the lines into her own cart; the kiosk forgets them;
- order a size this store lacks, for pickup here or home delivery (``Placement(kiosk=True)``),
  then pay on her phone (pay-by-link QR) or at the till;
- call an adviser, which rings on the associates' tablets of this store (a kiosk is one device:
  three calls waiting at most, 30 s between calls).

After 90 s without a touch the page counts down 10 s, then ends the kiosk session: the next
shopper never sees the previous one's items (``?idle=`` and ``?countdown=`` shorten it in tests).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from parcours.carts import service as carts
from parcours.carts.models import CartStatus, TouchpointKind
from parcours.catalog import qr
from parcours.catalog import service as catalog
from parcours.catalog.models import Product
from parcours.core.auth.principal import PUBLIC, Principal
from parcours.core.clock import utcnow
from parcours.core.deps import ReadUowDep, SettingsDep, UowDep
from parcours.core.errors import DomainError, NotFound
from parcours.core.money import format_money
from parcours.core.uow import UnitOfWork
from parcours.customers import shoppers
from parcours.customers.models import ShopperSession
from parcours.inventory import service as inventory
from parcours.orders import service as orders
from parcours.orders.models import FulfilmentMethod, Order
from parcours.stores import kiosks
from parcours.stores import service as stores
from parcours.stores.api import advice_client, publish_advice_change
from parcours.stores.directory import StoreCard
from parcours.stores.models import Kiosk, LocationKind, Service
from parcours.web.rendering import page_locale, render
from parcours.web.storefront.session import (
    open_shopper_session,
    set_shopper_cookie,
)

router = APIRouter(include_in_schema=False)
PublicDep = Annotated[Principal, Depends(PUBLIC)]

#: The kiosk's own session (its selection), scoped to the kiosk pages.
KIOSK_COOKIE = "parcours_kiosk"
#: The kiosk's device credential (its pairing token), set once when staff pair it.
DEVICE_COOKIE = "parcours_kiosk_device"
#: As long as browsers keep a cookie (400 days); revocation, not expiry, ends a kiosk.
DEVICE_COOKIE_AGE = 400 * 24 * 3600
#: The order just placed at this kiosk, for its confirmation page: ``<order id>.<link token>``.
ORDER_COOKIE = "parcours_kiosk_order"
#: A kiosk session outlives no shopper: the idle reset ends it well before this.
KIOSK_SESSION = timedelta(hours=2)
IDLE_SECONDS = 90
COUNTDOWN_SECONDS = 10
#: Other stores listed for a size: the nearest few are what she can act on.
OTHER_STORES = 4
_BABEL = {"fr": "fr_FR", "en": "en_GB"}
_ORDER_ERRORS = {
    "insufficient_stock": "kiosk.order.error.stock",
    "invalid_email": "kiosk.order.error.email",
    "invalid_address": "kiosk.order.error.address",
    "address_required": "kiosk.order.error.address",
    "service_not_offered": "kiosk.order.error.no_collect",
    "product_not_for_sale": "kiosk.order.error.not_for_sale",
}


# --- the kiosk, its session and its selection ---------------------------------------------------


def _kiosk_store(uow: UnitOfWork, store_code: str) -> StoreCard | None:
    """The open store a kiosk stands in; a warehouse or a closed store has no kiosk."""
    code = store_code.strip()[:32]
    return next(
        (
            card
            for card in stores.store_cards(uow=uow).values()
            if card.code == code and card.active and card.kind == LocationKind.STORE.value
        ),
        None,
    )


def _no_kiosk(request: Request) -> HTMLResponse:
    return render(request, "error.html", status_code=404, message_id="kiosk.error.no_store")


def _paired(request: Request, uow: UnitOfWork, store: StoreCard) -> Kiosk | None:
    """This screen's kiosk when it is paired with this store and not revoked."""
    return kiosks.find_kiosk(uow=uow, token=request.cookies.get(DEVICE_COOKIE), store_id=store.id)


def _device(request: Request, uow: UnitOfWork, store: StoreCard) -> Kiosk | None:
    """This screen's kiosk before a write (its ``last_seen_at`` moves on), or None."""
    kiosk = _paired(request, uow, store)
    if kiosk is not None:
        kiosks.mark_seen(uow=uow, kiosk=kiosk)
    return kiosk


def _unpaired(
    request: Request,
    store: StoreCard,
    *,
    status_code: int = 200,
    code: str | None = None,
    error: str | None = None,
) -> HTMLResponse:
    """What an unpaired screen shows instead of the catalogue: ask an adviser to pair it."""
    idle, countdown = _timing(request)
    return render(
        request,
        "storefront/kiosk_unpaired.html",
        status_code=status_code,
        store=store,
        home=_path(store),
        selection_count=0,
        idle=idle,
        countdown=countdown,
        here=request.url.path,
        unpaired=True,
        code=code if code is not None else request.query_params.get("code", "")[:20],
        error=error,
    )


def _kiosk_session(request: Request, uow: UnitOfWork) -> ShopperSession | None:
    token = request.cookies.get(KIOSK_COOKIE)
    session = shoppers.find_shopper_session(uow=uow, token=token) if token else None
    return session if session is not None and session.channel == "kiosk" else None


def _selection(uow: UnitOfWork, session: ShopperSession | None) -> Any:
    if session is None:
        return None
    return carts.find_active_cart(uow=uow, profile_id=None, anonymous_id=session.anonymous_id)


def _path(store: StoreCard, rest: str = "") -> str:
    return f"/kiosk/{store.code}{rest}"


def _timing(request: Request) -> tuple[int, int]:
    """The idle delay and countdown, shortened by ``?idle=``/``?countdown=`` (tests, demos)."""

    def read(name: str, default: int, low: int, high: int) -> int:
        raw = request.query_params.get(name, "")
        return min(high, max(low, int(raw))) if raw.isdigit() else default

    return read("idle", IDLE_SECONDS, 2, 600), read("countdown", COUNTDOWN_SECONDS, 1, 30)


def _page(
    request: Request,
    template: str,
    uow: UnitOfWork,
    store: StoreCard,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A kiosk page: the store, the selection's count, the idle timing, the adviser call."""
    session = _kiosk_session(request, uow)
    cart = _selection(uow, session)
    idle, countdown = _timing(request)
    return render(
        request,
        template,
        status_code=status_code,
        store=store,
        home=_path(store),
        selection_count=sum(line.quantity for line in carts.active_lines(cart)) if cart else 0,
        idle=idle,
        countdown=countdown,
        adviser_called=request.query_params.get("conseiller") == "1",
        here=request.url.path,
        **context,
    )


def _keep_session(response: Response, token: str, settings: Any) -> None:
    response.set_cookie(
        KIOSK_COOKIE,
        token,
        max_age=int(KIOSK_SESSION.total_seconds()),
        path="/kiosk",
        httponly=True,
        secure=settings.session_cookie_secure,
        samesite="lax",
    )


def _forget(response: Response) -> None:
    response.delete_cookie(KIOSK_COOKIE, path="/kiosk")
    response.delete_cookie(ORDER_COOKIE, path="/kiosk")


def _qr_svg(url: str, title: str) -> str:
    """The QR code fitted to its panel: an SVG without a viewBox would be cropped, not scaled."""
    svg = qr.render(url, qr.QrFormat.SVG, title=title).decode()
    size = re.search(r'<svg[^>]*\swidth="(\d+)"[^>]*\sheight="(\d+)"', svg)
    if size is None or "viewBox" in svg[: size.end()]:
        return svg
    return svg.replace("<svg ", f'<svg viewBox="0 0 {size.group(1)} {size.group(2)}" ', 1)


def _size_label(attributes: dict[str, Any], sku: str) -> str:
    return " · ".join(str(value) for value in attributes.values()) or sku


def _tile(product: Product, store: StoreCard, lang: str) -> dict[str, Any]:
    return {
        "name": product.name,
        "brand": product.brand,
        "url": _path(store, f"/produits/{product.slug}"),
        "image": product.image_urls[0] if product.image_urls else "",
        "price": format_money(product.price_amount, product.currency, _BABEL[lang]),
    }


#: Why an adviser call was refused, as the screen says it.
_ADVICE_REFUSALS = {
    "device_waiting": "kiosk.adviser.busy",
    "device_cooldown": "kiosk.adviser.just_called",
    "store_waiting": "kiosk.adviser.store_busy",
    "client_rate": "kiosk.adviser.just_called",
}


# --- browsing ----------------------------------------------------------------------------------


@router.get("/kiosk/{store_code}", response_class=HTMLResponse)
def kiosk_home(
    request: Request,
    store_code: str,
    uow: ReadUowDep,
    _: PublicDep,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The catalogue, or what her words find, in big tiles."""
    store = _kiosk_store(uow, store_code)
    if store is None:
        return _no_kiosk(request)
    if _paired(request, uow, store) is None:
        return _unpaired(request, store)
    lang = page_locale(request)
    query = q.strip()
    if query:
        products = list(
            catalog.search_products(uow=uow, query=query, limit=48, published_only=True).items
        )
    else:
        listing = catalog.list_products(uow=uow, limit=100, status="published")
        # One product per category first: the screen shows the range, not twelve trousers.
        first: list[Product] = []
        seen: set[str | None] = set()
        for product in listing.items:
            if product.category_id not in seen:
                seen.add(product.category_id)
                first.append(product)
        products = (first + [p for p in listing.items if p not in first])[:24]
    return _page(
        request,
        "storefront/kiosk_home.html",
        uow,
        store,
        query=query,
        products=[_tile(p, store, lang) for p in products],
    )


@dataclass(frozen=True, slots=True)
class SizeStock:
    """One size across the network, as the kiosk shows it."""

    id: str
    label: str
    price: str
    here: int
    others: list[tuple[str, str, int]]  # (store name, distance, units), nearest first
    warehouse: int

    @property
    def elsewhere(self) -> int:
        return sum(units for _, _, units in self.others) + self.warehouse


def _warehouse_ids(uow: UnitOfWork) -> list[str]:
    return [
        card.id
        for card in stores.store_cards(uow=uow).values()
        if card.active and card.kind == LocationKind.WAREHOUSE.value
    ]


def _km(distance: float, lang: str) -> str:
    text = f"{distance:.1f}"
    return text.replace(".", ",") if lang == "fr" else text


def network_stock(
    *, uow: UnitOfWork, store: StoreCard, product: Product, lang: str
) -> list[SizeStock]:
    """Each size's units here, in the nearest other stores and in the warehouses (three
    queries, whatever the number of sizes)."""
    infos = catalog.get_variants(uow=uow, variant_ids=[v.id for v in product.variants])
    ids = [v.id for v in product.variants if v.id in infos]
    grid = inventory.availability_of_variants(
        uow=uow,
        variant_ids=ids,
        latitude=store.latitude,
        longitude=store.longitude,
        limit=OTHER_STORES + 1,
    )
    warehouses = inventory.available_at(uow=uow, variant_ids=ids, location_ids=_warehouse_ids(uow))
    sizes = []
    for variant_id in ids:
        info = infos[variant_id]
        here = 0
        others = []
        for row in grid:
            units = row.variants[variant_id][0]
            if row.location.id == store.id:
                here = units
            elif units > 0:
                others.append((row.location.name, _km(row.distance_km, lang), units))
        sizes.append(
            SizeStock(
                id=variant_id,
                label=_size_label(info.attributes, info.sku),
                price=format_money(info.price_amount, info.currency, _BABEL[lang]),
                here=here,
                others=others[:OTHER_STORES],
                warehouse=sum(warehouses.get(variant_id, {}).values()),
            )
        )
    return sizes


def _collect_here(uow: UnitOfWork, store: StoreCard, variant_id: str, lang: str) -> str | None:
    """When she could collect this size here ("Retrait demain à 10:00"), if the store offers it."""
    if Service.CLICK_AND_COLLECT.value not in store.services:
        return None
    for option in inventory.availability_near(
        uow=uow,
        variant_id=variant_id,
        latitude=store.latitude,
        longitude=store.longitude,
        limit=OTHER_STORES + 1,
    ):
        if option.location.id == store.id and option.collect is not None:
            return option.collect.label_en if lang == "en" else option.collect.label_fr
    return None


@router.get("/kiosk/{store_code}/produits/{slug}", response_class=HTMLResponse)
def kiosk_product(
    request: Request, store_code: str, slug: str, uow: ReadUowDep, _: PublicDep
) -> Response:
    """A product with each size's stock across the network and what she can do with it."""
    store = _kiosk_store(uow, store_code)
    if store is None:
        return _no_kiosk(request)
    if _paired(request, uow, store) is None:
        return _unpaired(request, store)
    lang = page_locale(request)
    try:
        product = catalog.get_product_by_slug(uow=uow, slug=slug[:160], published_only=True)
    except NotFound:
        return _page(
            request,
            "storefront/kiosk_message.html",
            uow,
            store,
            status_code=404,
            message_id="kiosk.error.no_product",
        )
    sizes = network_stock(uow=uow, store=store, product=product, lang=lang)
    wanted = request.query_params.get("variant")
    chosen = next((s for s in sizes if s.id == wanted), None)
    if chosen is None and len(sizes) == 1:
        chosen = sizes[0]
    return _page(
        request,
        "storefront/kiosk_product.html",
        uow,
        store,
        product=product,
        price=format_money(product.price_amount, product.currency, _BABEL[lang]),
        sizes=sizes,
        chosen=chosen,
        collect_here=_collect_here(uow, store, chosen.id, lang) if chosen else None,
        added=request.query_params.get("ajoute") == "1",
    )


# --- the selection ----------------------------------------------------------------------------


@router.post("/kiosk/{store_code}/selection")
def add_to_selection(
    request: Request,
    store_code: str,
    uow: UowDep,
    settings: SettingsDep,
    _: PublicDep,
    variant_id: Annotated[str, Form(max_length=40)],
) -> Response:
    """A size goes into the kiosk's selection (a kiosk session opens on the first one)."""
    store = _kiosk_store(uow, store_code)
    if store is None:
        return _no_kiosk(request)
    kiosk = _device(request, uow, store)
    if kiosk is None:
        return _unpaired(request, store, status_code=403)
    session = _kiosk_session(request, uow)
    token = None
    if session is None:
        started = shoppers.start_shopper_session(uow=uow, channel="kiosk")
        session, token = started.session, started.token
        session.expires_at = utcnow() + KIOSK_SESSION
    cart = carts.open_cart(
        uow=uow,
        profile_id=None,
        anonymous_id=session.anonymous_id,
        channel="kiosk",
        currency=settings.default_currency,
        store_id=store.id,
    )
    try:
        carts.add_line(
            uow=uow,
            cart_id=cart.id,
            variant_id=variant_id,
            quantity=1,
            touchpoint=carts.Touchpoint(kind=TouchpointKind.KIOSK, store_id=store.id),
        )
        info = catalog.get_variants(uow=uow, variant_ids=[variant_id])[variant_id]
    except DomainError:
        uow.rollback()
        return _page(
            request,
            "storefront/kiosk_message.html",
            uow,
            store,
            status_code=409,
            message_id="kiosk.error.not_added",
        )
    uow.commit()
    response = RedirectResponse(
        _path(store, f"/produits/{info.product_slug}?variant={variant_id}&ajoute=1"),
        status_code=303,
    )
    if token is not None:
        _keep_session(response, token, settings)
    return response


def _selection_lines(view: carts.CartView, lang: str) -> list[dict[str, Any]]:
    lines = []
    for line in view.lines:
        variant = line.variant
        lines.append(
            {
                "id": line.line.id,
                "name": variant.product_name if variant else "",
                "slug": variant.product_slug if variant else "",
                "size": _size_label(variant.attributes, variant.sku) if variant else "",
                "quantity": line.line.quantity,
                "amount": format_money(
                    line.amount, variant.currency if variant else "EUR", _BABEL[lang]
                ),
                "image": "",
            }
        )
    return lines


@router.get("/kiosk/{store_code}/selection", response_class=HTMLResponse)
def selection_page(request: Request, store_code: str, uow: ReadUowDep, _: PublicDep) -> Response:
    """What she picked here, with "send to my phone"."""
    store = _kiosk_store(uow, store_code)
    if store is None:
        return _no_kiosk(request)
    if _paired(request, uow, store) is None:
        return _unpaired(request, store)
    lang = page_locale(request)
    cart = _selection(uow, _kiosk_session(request, uow))
    view = carts.view_cart(uow=uow, cart=cart, store_id=store.id) if cart else None
    return _page(
        request,
        "storefront/kiosk_selection.html",
        uow,
        store,
        lines=_selection_lines(view, lang) if view else [],
        subtotal=format_money(view.subtotal, view.cart.currency, _BABEL[lang]) if view else "",
    )


@router.post("/kiosk/{store_code}/selection/{line_id}/retirer")
def remove_from_selection(
    request: Request, store_code: str, line_id: str, uow: UowDep, _: PublicDep
) -> Response:
    store = _kiosk_store(uow, store_code)
    if store is None:
        return _no_kiosk(request)
    kiosk = _device(request, uow, store)
    if kiosk is None:
        return _unpaired(request, store, status_code=403)
    cart = _selection(uow, _kiosk_session(request, uow))
    if cart is not None:
        try:
            carts.remove_line(uow=uow, cart_id=cart.id, line_id=line_id[:40], channel="kiosk")
            uow.commit()
        except DomainError:
            uow.rollback()  # already gone (a double tap): the page shows what is left
    return RedirectResponse(_path(store, "/selection"), status_code=303)


@router.post("/kiosk/{store_code}/terminer")
def end_kiosk_session(request: Request, store_code: str, uow: UowDep, _: PublicDep) -> Response:
    """The shopper leaves (or the idle countdown ran out): the selection is set aside, the
    kiosk session ends, and the next shopper starts on a clean screen."""
    store = _kiosk_store(uow, store_code)
    if store is None:
        return _no_kiosk(request)
    kiosk = _device(request, uow, store)
    if kiosk is None:
        return _unpaired(request, store, status_code=403)
    session = _kiosk_session(request, uow)
    if session is not None:
        cart = _selection(uow, session)
        if cart is not None:
            carts.abandon_cart(uow=uow, cart_id=cart.id)
        shoppers.end_shopper_session(uow=uow, session=session)
        uow.commit()
    response = RedirectResponse(_path(store), status_code=303)
    _forget(response)
    return response


# --- send to my phone -------------------------------------------------------------------------


@router.post("/kiosk/{store_code}/telephone", response_class=HTMLResponse)
def send_to_phone(
    request: Request, store_code: str, uow: UowDep, settings: SettingsDep, _: PublicDep
) -> Response:
    """A QR code that moves the selection to her phone. The kiosk forgets the selection at once
    (its session ends): the code is the only way back to it, for 10 minutes, once."""
    store = _kiosk_store(uow, store_code)
    if store is None:
        return _no_kiosk(request)
    kiosk = _device(request, uow, store)
    if kiosk is None:
        return _unpaired(request, store, status_code=403)
    session = _kiosk_session(request, uow)
    cart = _selection(uow, session)
    if session is None or cart is None or not carts.active_lines(cart):
        return RedirectResponse(_path(store, "/selection"), status_code=303)
    issued = carts.create_handoff(uow=uow, cart_id=cart.id)
    shoppers.end_shopper_session(uow=uow, session=session)
    uow.commit()
    url = f"{settings.base_url}/panier/reprendre/{issued.token}"
    # Rendered here rather than after a redirect: the token is shown once and never stored.
    response = _page(
        request,
        "storefront/kiosk_phone.html",
        uow,
        store,
        qr_svg=_qr_svg(url, "Parcours"),
        url=url,
        cart_id=cart.id,
        count=sum(line.quantity for line in carts.active_lines(cart)),
        minutes=int(carts.HANDOFF_LIFETIME.total_seconds() // 60),
    )
    response.headers["Cache-Control"] = "no-store"
    _forget(response)
    return response


@router.get("/kiosk/{store_code}/telephone/{cart_id}/etat")
def phone_state(
    request: Request, store_code: str, cart_id: str, uow: ReadUowDep, _: PublicDep
) -> Response:
    """Whether the selection reached her phone (the kiosk's QR screen asks every 2 s)."""
    store = _kiosk_store(uow, store_code)
    if store is not None and _paired(request, uow, store) is None:
        store = None  # only the store's paired kiosk asks
    try:
        cart = carts.get_cart(uow=uow, cart_id=cart_id[:40])
    except NotFound:
        cart = None
    if store is None or cart is None or cart.channel != "kiosk" or cart.store_id != store.id:
        return JSONResponse({"detail": "not found"}, status_code=404)
    return JSONResponse(
        {"sent": cart.status == CartStatus.MERGED.value}, headers={"Cache-Control": "no-store"}
    )


@router.get("/panier/reprendre/{token}", response_class=HTMLResponse)
def takeover_page(request: Request, token: str, uow: ReadUowDep, _: PublicDep) -> Response:
    """On her phone: what the kiosk's code holds, and one tap to put it in her cart. Reading
    does not spend the code (a link preview must not take her selection)."""
    lang = page_locale(request)
    cart = carts.peek_handoff(uow=uow, token=token[:64])
    if cart is None:
        return render(request, "storefront/kiosk_takeover.html", status_code=410, lines=[])
    view = carts.view_cart(uow=uow, cart=cart)
    response = render(
        request,
        "storefront/kiosk_takeover.html",
        lines=_selection_lines(view, lang),
        subtotal=format_money(view.subtotal, cart.currency, _BABEL[lang]),
        token=token,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.post("/panier/reprendre/{token}")
def take_over(
    request: Request, token: str, uow: UowDep, settings: SettingsDep, _: PublicDep
) -> Response:
    """The kiosk's selection joins her phone's cart (a session opens for her if she has none)."""
    session, session_token = open_shopper_session(request, uow)
    try:
        attached = carts.take_handoff(
            uow=uow,
            token=token[:64],
            profile_id=session.profile_id,
            anonymous_id=session.anonymous_id,
            channel=session.channel,
            currency=settings.default_currency,
        )
    except DomainError:
        uow.rollback()
        return render(request, "storefront/kiosk_takeover.html", status_code=410, lines=[])
    view = carts.view_cart(uow=uow, cart=attached.cart)
    uow.commit()
    live = request.app.state.live
    live.publish(
        f"cart:{attached.cart.id}",
        {"type": "cart", "version": view.cart.version, "changed": "merged"},
    )
    if attached.ended is not None:
        live.publish(
            f"cart:{attached.ended.id}",
            {"type": "cart", "version": attached.ended.version, "changed": "merged"},
        )
    response = RedirectResponse("/panier?ajoute=1", status_code=303)
    set_shopper_cookie(response, session_token, settings)
    return response


# --- ordering what this store lacks -----------------------------------------------------------


def _order_form(
    request: Request,
    uow: UnitOfWork,
    store: StoreCard,
    variant_id: str,
    *,
    status_code: int = 200,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    lang = page_locale(request)
    info = catalog.get_variants(uow=uow, variant_ids=[variant_id]).get(variant_id)
    if info is None or info.product_status != "published":
        return _page(
            request,
            "storefront/kiosk_message.html",
            uow,
            store,
            status_code=404,
            message_id="kiosk.error.no_product",
        )
    collect = _collect_here(uow, store, variant_id, lang)
    free = info.price_amount >= orders.FREE_DELIVERY_FROM
    return _page(
        request,
        "storefront/kiosk_order.html",
        uow,
        store,
        status_code=status_code,
        variant=info,
        size=_size_label(info.attributes, info.sku),
        price=format_money(info.price_amount, info.currency, _BABEL[lang]),
        collect=collect,
        delivery_fee=None
        if free
        else format_money(orders.DELIVERY_FEE, info.currency, _BABEL[lang]),
        error=error,
        values=values or {"method": "pickup" if collect else "delivery"},
    )


@router.get("/kiosk/{store_code}/commander/{variant_id}", response_class=HTMLResponse)
def order_page(
    request: Request, store_code: str, variant_id: str, uow: ReadUowDep, _: PublicDep
) -> Response:
    """Order a size: pickup here (after a transfer) or delivered home; her email for the news."""
    store = _kiosk_store(uow, store_code)
    if store is None:
        return _no_kiosk(request)
    if _paired(request, uow, store) is None:
        return _unpaired(request, store)
    return _order_form(request, uow, store, variant_id[:40])


@router.post("/kiosk/{store_code}/commander/{variant_id}")
def place_kiosk_order(
    request: Request,
    store_code: str,
    variant_id: str,
    uow: UowDep,
    settings: SettingsDep,
    _: PublicDep,
    email: Annotated[str, Form(max_length=254)],
    method: Annotated[str, Form(max_length=20)] = "pickup",
    name: Annotated[str, Form(max_length=120)] = "",
    line1: Annotated[str, Form(max_length=200)] = "",
    postcode: Annotated[str, Form(max_length=16)] = "",
    city: Annotated[str, Form(max_length=120)] = "",
) -> Response:
    """Place the order from a cart of its own (her selection stays as it is); she pays on her
    phone through a payment link, or at the till within the store's hold."""
    store = _kiosk_store(uow, store_code)
    if store is None:
        return _no_kiosk(request)
    kiosk = _device(request, uow, store)
    if kiosk is None:
        return _unpaired(request, store, status_code=403)
    variant_id = variant_id[:40]
    values = {
        "method": method,
        "email": email,
        "name": name,
        "line1": line1,
        "postcode": postcode,
        "city": city,
    }
    delivery = method == "delivery"
    group = (
        orders.FulfilmentRequest(
            method=FulfilmentMethod.DELIVERY,
            address={"name": name, "line1": line1, "postcode": postcode, "city": city},
        )
        if delivery
        else orders.FulfilmentRequest(method=FulfilmentMethod.CLICK_AND_COLLECT, store_id=store.id)
    )
    hold = timedelta(hours=settings.store_hold_hours)
    try:
        # Nobody to find this cart by: it exists only to become this order.
        cart = carts.open_cart(
            uow=uow,
            profile_id=None,
            anonymous_id=None,
            channel="kiosk",
            currency=settings.default_currency,
            store_id=store.id,
        )
        carts.add_line(
            uow=uow,
            cart_id=cart.id,
            variant_id=variant_id,
            quantity=1,
            touchpoint=carts.Touchpoint(kind=TouchpointKind.KIOSK, store_id=store.id),
        )
        order = orders.place_order(
            uow=uow,
            cart_id=cart.id,
            groups=[group],
            placement=orders.Placement(channel="kiosk", store_id=store.id, kiosk=True),
            email=email,
            locale=page_locale(request),
            # She may pay at this store's till: the store's hold, not the web's 15 minutes.
            payment_window=hold,
        )
        link = orders.create_order_payment_link(
            uow=uow,
            order_id=order.id,
            channel="kiosk",
            store_id=store.id,
            ttl_seconds=int(hold.total_seconds()),
        )
    except DomainError as refused:
        uow.rollback()
        return _order_form(
            request,
            uow,
            store,
            variant_id,
            status_code=422 if refused.status < 500 else refused.status,
            error=_ORDER_ERRORS.get(refused.code, "kiosk.order.error.generic"),
            values=values,
        )
    uow.commit()
    response = RedirectResponse(_path(store, "/commande"), status_code=303)
    response.set_cookie(
        ORDER_COOKIE,
        f"{order.id}.{link.token}",
        max_age=15 * 60,
        path="/kiosk",
        httponly=True,
        secure=settings.session_cookie_secure,
        samesite="lax",
    )
    return response


def _masked(email: str | None) -> str:
    if not email or "@" not in email:
        return ""
    local, domain = email.split("@", 1)
    return f"{local[:1]}•••@{domain}"


@router.get("/kiosk/{store_code}/commande", response_class=HTMLResponse)
def order_placed(
    request: Request, store_code: str, uow: ReadUowDep, settings: SettingsDep, _: PublicDep
) -> Response:
    """The order just placed here: where and when she gets it, and two ways to pay."""
    store = _kiosk_store(uow, store_code)
    if store is None:
        return _no_kiosk(request)
    if _paired(request, uow, store) is None:
        return _unpaired(request, store)
    lang = page_locale(request)
    order_id, _dot, link_token = request.cookies.get(ORDER_COOKIE, "").partition(".")
    order: Order | None = None
    if order_id:
        try:
            order = orders.get_order(uow=uow, order_id=order_id[:40])
        except NotFound:
            order = None
    # Only the kiosk that placed it shows it, and only while its cookie lives (15 minutes).
    if order is None or order.channel != "kiosk" or order.store_id != store.id:
        return RedirectResponse(_path(store), status_code=303)
    fulfilment = order.fulfilments[0] if order.fulfilments else None
    ready = None
    if fulfilment is not None and fulfilment.ready_by is not None:
        where = stores.store_cards(uow=uow).get(fulfilment.pickup_location_id or store.id)
        ready = stores.describe_moment(
            fulfilment.ready_by.astimezone(ZoneInfo((where or store).timezone)),
            now=utcnow(),
            locale="en" if lang == "en" else "fr",
        )
    pay_url = f"{settings.base_url}/payer/{link_token}" if link_token else None
    return _page(
        request,
        "storefront/kiosk_order_placed.html",
        uow,
        store,
        order=order,
        pickup=fulfilment is not None and fulfilment.method != FulfilmentMethod.DELIVERY.value,
        ready=ready,
        email=_masked(order.email),
        total=format_money(order.total, order.currency, _BABEL[lang]),
        paid=order.paid_at is not None,
        pay_qr=_qr_svg(pay_url, "Payer") if pay_url else None,
    )


# --- call an adviser --------------------------------------------------------------------------


@router.post("/kiosk/{store_code}/conseiller")
def call_adviser(
    request: Request,
    store_code: str,
    uow: UowDep,
    _: PublicDep,
    product_id: Annotated[str | None, Form(max_length=40)] = None,
    variant_id: Annotated[str | None, Form(max_length=40)] = None,
    back: Annotated[str, Form(alias="next", max_length=300)] = "",
) -> Response:
    """An adviser is called to this kiosk: the call rings on the store's tablets at once."""
    store = _kiosk_store(uow, store_code)
    if store is None:
        return _no_kiosk(request)
    kiosk = _device(request, uow, store)
    if kiosk is None:
        return _unpaired(request, store, status_code=403)
    session = _kiosk_session(request, uow)
    product: str | None = None
    variant: str | None = None
    if variant_id:
        info = catalog.get_variants(uow=uow, variant_ids=[variant_id]).get(variant_id)
        if info is not None and info.product_status == "published":
            product, variant = info.product_id, info.id
    elif product_id:
        try:
            product = catalog.get_product(uow=uow, product_id=product_id, published_only=True).id
        except NotFound:
            product = None
    try:
        advice = stores.request_advice(
            uow=uow,
            store_id=store.id,
            source="kiosk",
            product_id=product,
            variant_id=variant,
            # The kiosk is the device (three calls waiting, a pause between calls); its session
            # stands for the shopper at the screen, on her journey.
            kiosk_id=kiosk.id,
            anonymous_id=session.anonymous_id if session else None,
            client_hash=advice_client(request),
        )
    except DomainError as refused:
        uow.rollback()
        retry_after = refused.extra.get("retry_after")
        response = _page(
            request,
            "storefront/kiosk_message.html",
            uow,
            store,
            status_code=refused.status,
            message_id=_ADVICE_REFUSALS.get(
                str(refused.extra.get("reason", "")), "kiosk.adviser.failed"
            ),
            retry_after=retry_after,
        )
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response
    uow.commit()
    publish_advice_change(request, uow, advice)
    target = urlsplit(back if back.startswith(_path(store)) and "//" not in back else "")
    query = [(k, v) for k, v in parse_qsl(target.query) if k != "conseiller"]
    query.append(("conseiller", "1"))
    return RedirectResponse(f"{target.path or _path(store)}?{urlencode(query)}", status_code=303)


# --- pairing the screen -----------------------------------------------------------------------


@router.get("/kiosk/{store_code}/appairer", response_class=HTMLResponse)
def pairing_page(request: Request, store_code: str, uow: ReadUowDep, _: PublicDep) -> Response:
    """The pairing form, filled in when the link from the associate app carries the code.
    Opening it pairs nothing (a link preview must not): the screen confirms with a tap."""
    store = _kiosk_store(uow, store_code)
    if store is None:
        return _no_kiosk(request)
    response = _unpaired(request, store)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.post("/kiosk/{store_code}/appairer")
def pair_screen(
    request: Request,
    store_code: str,
    uow: UowDep,
    settings: SettingsDep,
    _: PublicDep,
    code: Annotated[str, Form(max_length=40)],
) -> Response:
    """The one-time code issued by the store's staff pairs this screen with the store: its
    cookie holds the kiosk's token from now on (until the kiosk is revoked)."""
    store = _kiosk_store(uow, store_code)
    if store is None:
        return _no_kiosk(request)
    try:
        paired = kiosks.pair_kiosk(uow=uow, store_id=store.id, code=code)
    except DomainError:
        uow.rollback()
        return _unpaired(request, store, status_code=422, code=code, error="kiosk.pair.invalid")
    uow.commit()
    response = RedirectResponse(_path(store), status_code=303)
    _forget(response)  # whatever a previous pairing of this screen left behind
    response.set_cookie(
        DEVICE_COOKIE,
        paired.token,
        max_age=DEVICE_COOKIE_AGE,
        path="/kiosk",
        httponly=True,
        secure=settings.session_cookie_secure or request.url.scheme == "https",
        samesite="strict",
    )
    return response
