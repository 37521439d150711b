"""The shopper's cart in the pages: one tap adds the product she scanned on a poster, the cart
page shows it (with today's prices and stock), and a 6-digit code carries it to a till.

The storefront session lives in an HttpOnly cookie (``parcours_shopper``), created on the first
add; the JSON API accepts the same cookie, so the page's scripts and the live stream share it.
``SameSite=Lax`` keeps other sites from posting to her cart with it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from parcours.carts import service as carts
from parcours.carts.models import TouchpointKind
from parcours.catalog import qr
from parcours.core.auth.principal import PUBLIC, Principal
from parcours.core.deps import SettingsDep, UowDep
from parcours.core.errors import DomainError
from parcours.core.money import format_money
from parcours.core.uow import UnitOfWork
from parcours.customers import shoppers
from parcours.customers.http import SHOPPER_COOKIE
from parcours.customers.models import ShopperSession
from parcours.web.rendering import page_locale, render

router = APIRouter(include_in_schema=False)
PublicDep = Annotated[Principal, Depends(PUBLIC)]
_BABEL = {"fr": "fr_FR", "en": "en_GB"}


def _session(request: Request, uow: UnitOfWork) -> ShopperSession | None:
    token = request.cookies.get(SHOPPER_COOKIE)
    return shoppers.find_shopper_session(uow=uow, token=token) if token else None


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
    session = _session(request, uow)
    token = None
    if session is None:
        started = shoppers.start_shopper_session(uow=uow, channel="web")
        session, token = started.session, started.token
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
    view = carts.view_cart(uow=uow, cart=cart)
    uow.commit()
    request.app.state.live.publish(
        f"cart:{cart.id}", {"type": "cart", "version": view.cart.version, "changed": "line_added"}
    )
    response = RedirectResponse("/panier?ajoute=1", status_code=303)
    if token is not None:
        response.set_cookie(
            SHOPPER_COOKIE,
            token,
            max_age=int(shoppers.SESSION_LIFETIME.total_seconds()),
            httponly=True,
            secure=settings.session_cookie_secure,
            samesite="lax",
        )
    return response


def _line(view: carts.LineView, lang: str) -> dict[str, Any]:
    variant = view.variant
    return {
        "name": variant.product_name if variant else "",
        "slug": variant.product_slug if variant else "",
        "size": " · ".join(variant.attributes.values()) if variant else "",
        "quantity": view.line.quantity,
        "amount": format_money(view.amount, variant.currency if variant else "EUR", _BABEL[lang]),
        "from_print": view.line.touchpoint == TouchpointKind.PRINT.value,
        "warnings": [w.message_en if lang == "en" else w.message_fr for w in view.warnings],
    }


@router.get("/panier", response_class=HTMLResponse)
def cart_page(request: Request, uow: UowDep, settings: SettingsDep, _: PublicDep) -> Response:
    lang = page_locale(request)
    session = _session(request, uow)
    cart = (
        carts.find_active_cart(
            uow=uow, profile_id=session.profile_id, anonymous_id=session.anonymous_id
        )
        if session
        else None
    )
    view = carts.view_cart(uow=uow, cart=cart) if cart else None
    return render(
        request,
        "cart.html",
        cart=cart,
        lines=[_line(line, lang) for line in view.lines] if view else [],
        subtotal=format_money(view.subtotal, cart.currency, _BABEL[lang]) if view and cart else "",
        added=request.query_params.get("ajoute") == "1",
    )


@router.post("/panier/code", response_class=HTMLResponse)
def cart_handoff(request: Request, uow: UowDep, settings: SettingsDep, _: PublicDep) -> Response:
    """A code the till types (or scans) to open this very cart."""
    session = _session(request, uow)
    cart = (
        carts.find_active_cart(
            uow=uow, profile_id=session.profile_id, anonymous_id=session.anonymous_id
        )
        if session
        else None
    )
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
