"""The shopper's cart in the pages: one tap adds the product she scanned on a poster, the cart
page shows it (with today's prices and stock), she changes quantities, saves lines for later,
types a promo code, and a 6-digit code carries it to a till.

The storefront session lives in an HttpOnly cookie (``parcours_shopper``), created on the first
add; the JSON API accepts the same cookie, so the page's scripts and the live stream share it.
``SameSite=Lax`` keeps other sites from posting to her cart with it.

Live sync: every change publishes the cart's new version on ``cart:<id>`` (as the JSON API
does); ``GET /panier/evenements`` streams that topic to the page (Server-Sent Events, her cookie
is the credential since an EventSource cannot send headers), and ``cart.js`` reloads the lines.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from parcours.carts import service as carts
from parcours.carts.models import Cart, TouchpointKind
from parcours.catalog import qr
from parcours.core.auth.principal import PUBLIC, Principal
from parcours.core.deps import SettingsDep, UowDep
from parcours.core.errors import DomainError
from parcours.core.live import sse_stream
from parcours.core.money import format_money
from parcours.core.uow import UnitOfWork
from parcours.customers.models import ShopperSession
from parcours.loyalty import service as loyalty
from parcours.web.rendering import page_locale, render
from parcours.web.storefront.session import (
    open_shopper_session,
    set_shopper_cookie,
    shopper_session,
)

router = APIRouter(include_in_schema=False)
PublicDep = Annotated[Principal, Depends(PUBLIC)]
BABEL = {"fr": "fr_FR", "en": "en_GB"}
#: The most of one item a line may hold from the page's "+" (the service's own cap is higher).
MAX_PAGE_QUANTITY = 20


# --- the shopper's session and cart, shared by the storefront's pages ---------------------------


def active_cart(uow: UnitOfWork, session: ShopperSession | None) -> Cart | None:
    if session is None:
        return None
    return carts.find_active_cart(
        uow=uow, profile_id=session.profile_id, anonymous_id=session.anonymous_id
    )


def publish_cart(request: Request, cart: Cart, changed: str) -> None:
    """After the commit: her other devices read the cart again."""
    request.app.state.live.publish(
        f"cart:{cart.id}",
        {"type": "cart", "cart_id": cart.id, "version": cart.version, "changed": changed},
    )


def _cart_of(uow: UnitOfWork, session: ShopperSession, currency: str) -> Any:
    return carts.open_cart(
        uow=uow,
        profile_id=session.profile_id,
        anonymous_id=session.anonymous_id,
        channel=session.channel,
        currency=currency,
    )


@router.post("/panier/lignes")
def add_to_cart(
    request: Request,
    uow: UowDep,
    settings: SettingsDep,
    _: PublicDep,
    variant_id: Annotated[str, Form(max_length=40)],
    medium: Annotated[str | None, Form(max_length=30)] = None,
    campaign: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    """The one tap: the product goes into her cart with its touchpoint (the poster she scanned,
    or the web), then she sees her cart."""
    session, token = open_shopper_session(request, uow)
    printed_on = qr.parse_medium(medium)
    touchpoint = carts.Touchpoint(
        kind=TouchpointKind.PRINT if printed_on else TouchpointKind.WEB,
        medium=printed_on.value if printed_on else None,
        campaign=campaign if printed_on and campaign and qr.is_campaign(campaign) else None,
    )
    cart = _cart_of(uow, session, settings.default_currency)
    try:
        carts.add_line(
            uow=uow,
            cart_id=cart.id,
            variant_id=variant_id,
            quantity=1,
            touchpoint=touchpoint,
        )
    except DomainError as refused:
        uow.rollback()
        return render(request, "error.html", status_code=refused.status, message=refused.detail)
    uow.commit()
    publish_cart(request, cart, "line_added")
    response = RedirectResponse("/panier?ajoute=1", status_code=303)
    if token is not None:
        set_shopper_cookie(response, token, settings)
    return response


def _line(view: carts.LineView, lang: str) -> dict[str, Any]:
    variant = view.variant
    return {
        "id": view.line.id,
        "name": variant.product_name if variant else "",
        "slug": variant.product_slug if variant else "",
        "image": variant.image_url if variant else None,
        "size": " · ".join(variant.attributes.values()) if variant else "",
        "quantity": view.line.quantity,
        "can_add": view.line.quantity < MAX_PAGE_QUANTITY,
        "unit": format_money(view.unit_price, variant.currency if variant else "EUR", BABEL[lang]),
        "amount": format_money(view.amount, variant.currency if variant else "EUR", BABEL[lang]),
        "from_print": view.line.touchpoint == TouchpointKind.PRINT.value,
        "warnings": [w.message_en if lang == "en" else w.message_fr for w in view.warnings],
    }


def cart_context(request: Request, uow: UnitOfWork, cart: Cart | None) -> dict[str, Any]:
    """What the cart page (and its live fragment) shows."""
    lang = page_locale(request)
    view = carts.view_cart(uow=uow, cart=cart) if cart else None
    money = BABEL[lang]
    return {
        "cart": cart,
        "version": cart.version if cart else 0,
        "lines": [_line(line, lang) for line in view.lines] if view else [],
        "saved": [_line(line, lang) for line in view.saved] if view else [],
        "subtotal": format_money(view.subtotal, view.cart.currency, money) if view else "",
        "discount": format_money(view.discount, view.cart.currency, money)
        if view and view.discount
        else "",
        "total": format_money(view.subtotal - view.discount, view.cart.currency, money)
        if view
        else "",
        "promo_code": view.promo_code if view else None,
        "promo_warnings": [w.message_en if lang == "en" else w.message_fr for w in view.warnings]
        if view
        else [],
        "buyable": bool(view and view.item_count),
    }


@router.get("/panier", response_class=HTMLResponse)
def cart_page(request: Request, uow: UowDep, _: PublicDep) -> Response:
    cart = active_cart(uow, shopper_session(request, uow))
    context = cart_context(request, uow, cart)
    if request.query_params.get("fragment") == "1":
        # The live refresh: only the part that changes, for cart.js to swap in.
        response = render(request, "storefront/cart_body.html", **context)
        response.headers["Cache-Control"] = "no-store"
        return response
    refusal = (request.query_params.get("promo_refus") or "")[:60] or None
    return render(
        request,
        "cart.html",
        **context,
        added=request.query_params.get("ajoute") == "1",
        promo_error=refusal,
        promo_message=promo_refusal_text(
            request, refusal, request.query_params.get("min"), cart.currency if cart else "EUR"
        )
        if refusal
        else "",
        note=request.query_params.get("note"),
    )


LineAction = Literal["plus", "minus", "remove", "save", "restore"]


@router.post("/panier/lignes/{line_id}")
def change_cart_line(
    line_id: str,
    request: Request,
    uow: UowDep,
    _: PublicDep,
    action: Annotated[LineAction, Form()],
) -> Response:
    """One button on a line: one more, one less, remove it, save it for later or bring it back."""
    session = shopper_session(request, uow)
    cart = active_cart(uow, session)
    if cart is None or len(line_id) > 40:
        return RedirectResponse("/panier", status_code=303)
    line = next((line for line in cart.lines if line.id == line_id), None)
    if line is None:  # changed meanwhile on another device: show her the cart as it is now
        return RedirectResponse("/panier?note=stale", status_code=303)
    channel = session.channel if session else "web"
    try:
        if action == "remove" or (action == "minus" and line.quantity <= 1):
            carts.remove_line(uow=uow, cart_id=cart.id, line_id=line.id, channel=channel)
        elif action in ("plus", "minus"):
            quantity = line.quantity + (1 if action == "plus" else -1)
            carts.change_line(
                uow=uow,
                cart_id=cart.id,
                line_id=line.id,
                quantity=min(quantity, MAX_PAGE_QUANTITY),
            )
        else:
            carts.change_line(
                uow=uow, cart_id=cart.id, line_id=line.id, saved_for_later=action == "save"
            )
    except DomainError:
        # Ended or changed meanwhile (checked out on her phone, say): nothing kept, and she
        # sees her cart as it is now.
        uow.rollback()
        return RedirectResponse("/panier?note=stale", status_code=303)
    uow.commit()
    publish_cart(request, cart, "line_changed")
    return RedirectResponse("/panier", status_code=303)


@router.post("/panier/promo")
def cart_promo_code(
    request: Request,
    uow: UowDep,
    _: PublicDep,
    code: Annotated[str, Form(max_length=64)] = "",
    action: Annotated[Literal["apply", "remove"], Form()] = "apply",
) -> Response:
    """Apply or take off a promo code; a refused code says why (expired, minimum not met…)."""
    session = shopper_session(request, uow)
    cart = active_cart(uow, session)
    if cart is None:
        return RedirectResponse("/panier", status_code=303)
    channel = session.channel if session else "web"
    if action != "remove" and not code.strip():
        return RedirectResponse("/panier?promo_refus=promo_code_missing", status_code=303)
    try:
        if action == "remove":
            carts.remove_promo_code(uow=uow, cart_id=cart.id, channel=channel)
        else:
            carts.apply_promo_code(uow=uow, cart_id=cart.id, code=code, channel=channel)
    except loyalty.PromoCodeRefused as refused:
        uow.commit()  # "Coupon Denied" stays on her journey
        minimum = refused.extra.get("minimum")
        suffix = f"&min={int(minimum)}" if minimum is not None else ""
        return RedirectResponse(f"/panier?promo_refus={refused.code}{suffix}", status_code=303)
    except DomainError:
        uow.rollback()
        return RedirectResponse("/panier?note=stale", status_code=303)
    uow.commit()
    publish_cart(request, cart, "promo_code")
    return RedirectResponse("/panier", status_code=303)


def promo_refusal_text(request: Request, code: str, minimum: str | None, currency: str) -> str:
    """The refusal in her words, from loyalty's own wording of each code."""
    extra: dict[str, Any] = {}
    if minimum and minimum.isdigit():
        extra = {"minimum": int(minimum), "currency": currency}
    if code == "promo_code_missing":
        return "Saisissez un code." if page_locale(request) == "fr" else "Type a code."
    refused = loyalty.PromoCodeRefused("refused", code=code[:60], **extra)
    return loyalty.describe_refusal(refused, page_locale(request))


@router.get("/panier/evenements", response_class=Response)
async def cart_page_events(request: Request, _: PublicDep) -> Response:
    """Server-Sent Events for the cart page: the cart's version now, then one message per
    change made on any of her devices. Her cookie names the cart; without one, 204 (an
    EventSource stops asking)."""

    def find() -> tuple[str, int] | None:
        with UnitOfWork(request.app.state.db, read_only=True) as uow:
            cart = active_cart(uow, shopper_session(request, uow))
            return (cart.id, cart.version) if cart else None

    found = await run_in_threadpool(find)
    if found is None:
        return Response(status_code=204)
    cart_id, _version = found

    def initial() -> dict[str, Any]:
        with UnitOfWork(request.app.state.db, read_only=True) as uow:
            cart = carts.get_cart(uow=uow, cart_id=cart_id)
            return {"type": "cart", "cart_id": cart.id, "version": cart.version}

    return await sse_stream(
        request.app.state.live, f"cart:{cart_id}", initial=initial, request=request
    )


@router.post("/panier/code", response_class=HTMLResponse)
def cart_handoff(request: Request, uow: UowDep, settings: SettingsDep, _: PublicDep) -> Response:
    """A code the till types (or scans) to open this very cart."""
    cart = active_cart(uow, shopper_session(request, uow))
    if cart is None:
        return RedirectResponse("/panier", status_code=303)
    issued = carts.create_handoff(uow=uow, cart_id=cart.id)
    uow.commit()
    url = f"{settings.base_url}/h/{issued.token}"
    return render(
        request,
        "handoff.html",
        code=f"{issued.code[:3]} {issued.code[3:]}",
        qr_svg=qr.render(url, qr.QrFormat.SVG, title=issued.code).decode(),
        minutes=int(carts.HANDOFF_LIFETIME.total_seconds() // 60),
    )
