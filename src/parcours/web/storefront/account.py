"""Her account in the pages: signing in with a 6-digit code mailed to her (no password), her
orders from every channel (till purchases included), her loyalty card as a QR code the till
scans, her consents, a download of her data and the deletion of her account.

Signing in merges this device's guest cart into hers (the configured strategy), so the cart she
filled on her phone is the one she finds on her laptop. Every route acts for the session in her
cookie only: there is no profile id in any address.
"""

from __future__ import annotations

import io
import json
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from parcours.carts import service as carts
from parcours.core.auth.principal import PUBLIC, Principal
from parcours.core.auth.throttle import client_address
from parcours.core.deps import SettingsDep, UowDep
from parcours.core.errors import DomainError
from parcours.core.i18n import translate
from parcours.core.money import format_money
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers import shoppers
from parcours.customers.http import SHOPPER_COOKIE
from parcours.customers.models import ConsentPurpose, ShopperSession
from parcours.orders import service as orders
from parcours.stores import service as stores
from parcours.web.rendering import page_locale, render
from parcours.web.storefront.cart import BABEL, publish_cart
from parcours.web.storefront.checkout import her_email, local_time
from parcours.web.storefront.session import (
    open_shopper_session,
    set_shopper_cookie,
    shopper_session,
)

router = APIRouter(include_in_schema=False)
PublicDep = Annotated[Principal, Depends(PUBLIC)]
#: The wording of the consent choices on this page; a change of words is a new version.
CONSENT_WORDING = "storefront-account-2026-11"
#: Orders shown on the account page (the newest; each opens its tracking page).
ORDERS_SHOWN = 20


def _signed_in(request: Request, uow: UnitOfWork) -> ShopperSession | None:
    session = shopper_session(request, uow)
    return session if session is not None and session.profile_id is not None else None


def _sign_in_page(
    request: Request,
    *,
    email: str = "",
    code_sent: bool = False,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "storefront/account_sign_in.html",
        status_code=status_code,
        email=email,
        code_sent=code_sent,
        error=error,
        next_path=_next(request.query_params.get("suite")),
    )


def _next(value: str | None) -> str:
    """Where to go after signing in: a path of this site only."""
    if value and value.startswith("/") and not value.startswith("//") and len(value) < 200:
        return value
    return "/compte"


@router.get("/compte", response_class=HTMLResponse)
def account_page(request: Request, uow: UowDep, _: PublicDep) -> Response:
    session = _signed_in(request, uow)
    if session is None:
        return _sign_in_page(request)
    assert session.profile_id is not None
    lang = page_locale(request)
    cards = stores.store_cards(uow=uow)
    rows, _cursor = orders.orders_of(uow=uow, profile_id=session.profile_id, limit=ORDERS_SHOWN)
    consents = customers.current_consents(uow=uow, profile_id=session.profile_id)
    card_number = customers.loyalty_card_of(uow=uow, profile_id=session.profile_id)
    profile = customers.get_live_profile(uow=uow, profile_id=session.profile_id)
    response = render(
        request,
        "storefront/account_home.html",
        email=her_email(uow, session),
        name=customers.display_name(profile.traits),
        orders=[
            {
                "id": order.id,
                "number": order.number,
                "status": order.status,
                "channel": order.channel,
                "store": cards[order.store_id].name if order.store_id in cards else "",
                "placed_at": local_time(order.placed_at, cards.get(order.store_id or ""), lang),
                "total": format_money(order.total, order.currency, BABEL[lang]),
                "item_count": sum(line.quantity for line in order.lines),
            }
            for order in rows
        ],
        card_number=card_number,
        card_qr=_card_qr(card_number, lang) if card_number else "",
        consents=[
            {
                "purpose": purpose.value,
                "granted": bool(consents[purpose].granted) if purpose in consents else False,
                "recorded_at": local_time(consents[purpose].recorded_at, None, lang)
                if purpose in consents
                else "",
            }
            for purpose in ConsentPurpose
        ],
        saved=request.query_params.get("enregistre") == "1",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _card_qr(number: str, lang: str) -> str:
    """The card number itself, as a QR code: the till's and the associate's scanners read it
    and open her profile."""
    buffer = io.BytesIO()
    segno.make_qr(number, error="m").save(
        buffer,
        kind="svg",
        scale=8,
        border=4,
        title=translate(lang, "account.card_qr", number=number),
        xmldecl=False,
    )
    return buffer.getvalue().decode()


@router.post("/compte/code")
def ask_code(
    request: Request,
    uow: UowDep,
    settings: SettingsDep,
    _: PublicDep,
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """Mail her a 6-digit code. The answer is the same whether the address is known or not."""
    lang = page_locale(request)
    session, token = open_shopper_session(request, uow)
    try:
        carts.send_sign_in_code(uow=uow, email=email, locale=lang, client=client_address(request))
    except DomainError as refused:
        uow.rollback()
        key = "account.too_many" if refused.status == 429 else "account.bad_email"
        page = _sign_in_page(
            request, email=email, error=translate(lang, key), status_code=refused.status
        )
        headers = refused.extra.get("headers") or {}
        if "Retry-After" in headers:
            page.headers["Retry-After"] = headers["Retry-After"]
        return page
    uow.commit()
    response = _sign_in_page(
        request, email=customers.normalise_email(email) or email, code_sent=True
    )
    if token is not None:
        set_shopper_cookie(response, token, settings)
    return response


@router.post("/compte/connexion")
def sign_in(
    request: Request,
    uow: UowDep,
    settings: SettingsDep,
    _: PublicDep,
    email: Annotated[str, Form(max_length=320)] = "",
    code: Annotated[str, Form(max_length=12)] = "",
    suite: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Check the code: this device now speaks for her, its cart joins hers, and she has a
    loyalty card (given now if she had none)."""
    lang = page_locale(request)
    session = shopper_session(request, uow)
    if session is None:
        return RedirectResponse("/compte", status_code=303)
    try:
        attached = carts.sign_in(
            uow=uow,
            session=session,
            email=email,
            code=code.replace(" ", ""),
            strategy=carts.merge_strategy(settings.cart_merge_strategy),
        )
    except shoppers.InvalidSignInCode:
        uow.commit()  # the failed try counts: five burn the code
        return _sign_in_page(
            request,
            email=email,
            code_sent=True,
            error=translate(lang, "account.bad_code"),
            status_code=422,
        )
    except DomainError:
        uow.rollback()
        return _sign_in_page(
            request, email=email, error=translate(lang, "account.bad_email"), status_code=422
        )
    assert session.profile_id is not None
    customers.issue_loyalty_card(
        uow=uow,
        profile_id=session.profile_id,
        anonymous_id=session.anonymous_id,
        channel=session.channel,
    )
    uow.commit()
    if attached is not None:
        publish_cart(request, attached.cart, "signed_in")
        if attached.ended is not None:
            request.app.state.live.publish(
                f"cart:{attached.ended.id}",
                {"type": "ended", "cart_id": attached.ended.id, "moved_to": attached.cart.id},
            )
    return RedirectResponse(_next(suite), status_code=303)


@router.post("/compte/deconnexion")
def sign_out(request: Request, uow: UowDep, _: PublicDep) -> Response:
    session = shopper_session(request, uow)
    if session is not None:
        shoppers.end_shopper_session(uow=uow, session=session)
        uow.commit()
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SHOPPER_COOKIE)
    return response


@router.post("/compte/carte")
def get_card(request: Request, uow: UowDep, _: PublicDep) -> Response:
    """A loyalty card for a shopper who signed in before cards were given at sign-in."""
    session = _signed_in(request, uow)
    if session is None or session.profile_id is None:
        return RedirectResponse("/compte", status_code=303)
    customers.issue_loyalty_card(
        uow=uow,
        profile_id=session.profile_id,
        anonymous_id=session.anonymous_id,
        channel=session.channel,
    )
    uow.commit()
    return RedirectResponse("/compte#carte", status_code=303)


@router.post("/compte/consentements")
def save_consents(
    request: Request,
    uow: UowDep,
    _: PublicDep,
    analytics: Annotated[str, Form(max_length=3)] = "",
    personalisation: Annotated[str, Form(max_length=3)] = "",
    marketing_email: Annotated[str, Form(max_length=3)] = "",
    marketing_sms: Annotated[str, Form(max_length=3)] = "",
    marketing_push: Annotated[str, Form(max_length=3)] = "",
    profiling: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """Each purpose ticked or not; only the choices that changed are recorded (with the date)."""
    ticked = {
        ConsentPurpose.ANALYTICS: analytics,
        ConsentPurpose.PERSONALISATION: personalisation,
        ConsentPurpose.MARKETING_EMAIL: marketing_email,
        ConsentPurpose.MARKETING_SMS: marketing_sms,
        ConsentPurpose.MARKETING_PUSH: marketing_push,
        ConsentPurpose.PROFILING: profiling,
    }
    session = _signed_in(request, uow)
    if session is None or session.profile_id is None:
        return RedirectResponse("/compte", status_code=303)
    current = customers.current_consents(uow=uow, profile_id=session.profile_id)
    for purpose, value in ticked.items():
        granted = value == "on"
        was = current.get(purpose)
        if was is None and not granted:
            continue  # never asked, still no: nothing to record
        if was is not None and bool(was.granted) == granted:
            continue
        customers.record_consent(
            uow=uow,
            profile_id=session.profile_id,
            purpose=purpose,
            granted=granted,
            channel=session.channel,
            wording_version=CONSENT_WORDING,
            by="shopper",
        )
    uow.commit()
    return RedirectResponse("/compte?enregistre=1#consentements", status_code=303)


@router.get("/compte/donnees")
def download_data(request: Request, uow: UowDep, _: PublicDep) -> Response:
    """Right of access: everything held about her, as one JSON file."""
    session = _signed_in(request, uow)
    if session is None or session.profile_id is None:
        return RedirectResponse("/compte", status_code=303)
    document: dict[str, Any] = customers.export_profile(uow=uow, profile_id=session.profile_id)
    rows, _cursor = orders.orders_of(uow=uow, profile_id=session.profile_id, limit=100)
    document["orders"] = [
        {
            "number": order.number,
            "placed_at": order.placed_at.isoformat(),
            "channel": order.channel,
            "status": order.status,
            "total": order.total,
            "currency": order.currency,
        }
        for order in rows
    ]
    body = json.dumps(document, ensure_ascii=False, indent=2)
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="mes-donnees-parcours.json"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/compte/suppression", response_class=HTMLResponse)
def delete_confirm(request: Request, uow: UowDep, _: PublicDep) -> Response:
    session = _signed_in(request, uow)
    if session is None:
        return RedirectResponse("/compte", status_code=303)
    return render(request, "storefront/account_delete.html", email=her_email(uow, session))


@router.post("/compte/suppression")
def delete_account(
    request: Request,
    uow: UowDep,
    _: PublicDep,
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Right to erasure, for herself: her data goes, every device of hers is signed out."""
    session = _signed_in(request, uow)
    if session is None or session.profile_id is None:
        return RedirectResponse("/compte", status_code=303)
    if confirm != "oui":
        return render(
            request,
            "storefront/account_delete.html",
            status_code=422,
            email=her_email(uow, session),
            error=translate(page_locale(request), "account.delete_confirm_missing"),
        )
    customers.erase_profile(uow=uow, profile_id=session.profile_id, by="shopper")
    uow.commit()
    response = RedirectResponse("/compte/au-revoir", status_code=303)
    response.delete_cookie(SHOPPER_COOKIE)
    return response


@router.get("/compte/au-revoir", response_class=HTMLResponse)
def goodbye(request: Request, _: PublicDep) -> Response:
    return render(request, "storefront/account_goodbye.html")
