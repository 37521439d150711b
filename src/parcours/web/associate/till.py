"""The till on the associate's tablet: build a sale (scanner, her phone's cart by its code, her
name), take it in store, get paid (cash, card terminal, a link to her phone), give the receipt.

The sale in progress is a normal cart whose id is kept per store in an HttpOnly cookie, so the
tablet finds it again after a reload and another store's till never sees it. Opened from her
phone's code, it is her cart itself: what she adds on her phone shows here, and the reverse.

Payment forms carry an Idempotency-Key made when the page is drawn: a double tap, or the same
form sent twice, takes the money once. When the network is gone, ``offline-till.js`` builds the
sale from what the page shows and queues it for ``POST /v1/till/sales``.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from parcours.carts import service as carts
from parcours.carts.models import Cart, CartStatus, TouchpointKind
from parcours.core.auth import service as auth_service
from parcours.core.deps import ReadUowDep, SettingsDep, UowDep
from parcours.core.errors import DomainError, Forbidden, InvalidInput, NotFound
from parcours.core.i18n import translate
from parcours.core.money import format_money
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.models import IdentifierKind
from parcours.loyalty import service as loyalty
from parcours.orders import service as orders
from parcours.orders import till as till_sales
from parcours.orders.models import FulfilmentMethod, Order
from parcours.payments import service as payments
from parcours.web.associate.shell import HOME, Acting, ActingDep, render_associate
from parcours.web.rendering import page_locale

router = APIRouter(include_in_schema=False)

TILL = f"{HOME}/caisse"
COOKIE_PREFIX = "parcours_till_"
_BABEL = {"fr": "fr_FR", "en": "en_GB"}
_AMOUNT = re.compile(r"^\s*(\d{1,6})(?:[.,](\d{1,2}))?\s*(?:€|eur)?\s*$", re.IGNORECASE)


# --- the sale in progress ---------------------------------------------------------------------


def _cookie(acting: Acting) -> str:
    return f"{COOKIE_PREFIX}{acting.store_id}"


def _current_cart(request: Request, uow: UnitOfWork, acting: Acting) -> Cart | None:
    """The sale this tablet is building for this store, if it is still open."""
    cart_id = request.cookies.get(_cookie(acting))
    if not cart_id:
        return None
    try:
        cart = carts.get_cart(uow=uow, cart_id=cart_id)
    except NotFound:
        return None
    return cart if cart.status == CartStatus.ACTIVE.value else None


def _open_sale(request: Request, uow: UnitOfWork, acting: Acting, currency: str) -> Cart:
    return _current_cart(request, uow, acting) or carts.open_cart(
        uow=uow,
        profile_id=None,
        anonymous_id=None,
        channel="till",
        currency=currency,
        store_id=acting.store_id,
        actor=acting.principal.id,
    )


def _keep(response: Response, acting: Acting, settings: Any, cart_id: str | None) -> Response:
    if cart_id is None:
        response.delete_cookie(_cookie(acting), path="/")
    else:
        response.set_cookie(
            _cookie(acting),
            cart_id,
            max_age=12 * 3600,  # a working day: tomorrow's first sale starts empty
            httponly=True,
            secure=settings.session_cookie_secure,
            samesite="strict",
            path="/",
        )
    return response


def _back(
    acting: Acting, settings: Any, cart_id: str | None, *, to: str = TILL, **params: str
) -> Response:
    query = f"?{urlencode(params)}" if params else ""
    return _keep(RedirectResponse(f"{to}{query}", status_code=303), acting, settings, cart_id)


def _publish(request: Request, cart: Cart) -> None:
    """Her phone (and any other device on this cart) reads the cart again."""
    request.app.state.live.publish(
        f"cart:{cart.id}", {"type": "cart", "cart_id": cart.id, "version": cart.version}
    )


def _safe_next(value: str | None) -> str:
    if value and value.startswith(f"{HOME}/") and "//" not in value and "\\" not in value:
        return value
    return TILL


def _refusal(lang: str, error: DomainError | str) -> str:
    """The refusal in her words; the English detail when the code has no text of its own."""
    code = error if isinstance(error, str) else error.code
    text = translate(lang, f"associate.till.error.{code}")
    if text != f"associate.till.error.{code}":
        return text
    return translate(lang, "associate.till.error.other")


def _money(amount: int, currency: str, lang: str) -> str:
    return format_money(amount, currency, _BABEL[lang])


def _parse_amount(text: str) -> int:
    """``"100"``, ``"12,50"``, ``"12.5 €"`` -> minor units."""
    found = _AMOUNT.match(text or "")
    if found is None:
        raise InvalidInput("type an amount such as 50 or 12,50", code="invalid_amount")
    cents = (found.group(2) or "0").ljust(2, "0")
    return int(found.group(1)) * 100 + int(cents)


# --- what the page shows ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    name: str
    email: str | None


def _display_name(traits: dict[str, Any]) -> str:
    first = str(traits.get("first_name") or traits.get("firstName") or "").strip()
    last = str(traits.get("last_name") or traits.get("lastName") or "").strip()
    return " ".join(p for p in (first, last) if p) or str(traits.get("name") or "").strip()


def _customer(uow: UnitOfWork, profile_id: str | None) -> Customer | None:
    if profile_id is None:
        return None
    try:
        profile = customers.get_live_profile(uow=uow, profile_id=profile_id)
    except DomainError:
        return None
    identifiers = customers.identifiers_of(uow=uow, profile_id=profile.id)
    email = next((i.value for i in identifiers if i.kind == IdentifierKind.EMAIL.value), None)
    return Customer(id=profile.id, name=_display_name(dict(profile.traits)), email=_masked(email))


def _masked(email: str | None) -> str | None:
    return customers.mask_identifier(IdentifierKind.EMAIL.value, email) if email else None


def _lines(view: carts.CartView, lang: str) -> list[dict[str, Any]]:
    shown = []
    for line in view.lines:
        variant = line.variant
        shown.append(
            {
                "id": line.line.id,
                "variant_id": line.line.variant_id,
                "name": variant.product_name if variant else line.line.variant_id,
                "size": " · ".join(variant.attributes.values()) if variant else "",
                "sku": variant.sku if variant else "",
                "quantity": line.line.quantity,
                "unit_price": line.unit_price,
                "unit": _money(line.unit_price, view.cart.currency, lang),
                "amount": _money(line.amount, view.cart.currency, lang),
                "from_phone": line.line.touchpoint not in ("till", "store"),
                "warnings": [w.message_en if lang == "en" else w.message_fr for w in line.warnings],
                "short": any(
                    w.code
                    in (carts.WarningCode.OUT_OF_STOCK_HERE, carts.WarningCode.NOT_ENOUGH_STOCK)
                    for w in line.warnings
                ),
            }
        )
    return shown


@router.get(TILL, response_class=HTMLResponse)
def till_page(request: Request, acting: ActingDep, uow: UowDep, settings: SettingsDep) -> Response:
    lang = page_locale(request)
    asked = request.query_params.get("panier")
    if asked:  # the customer 360 opens her cart here
        try:
            opened = carts.get_cart(uow=uow, cart_id=asked)
        except NotFound:
            return _back(acting, settings, None, erreur="cart_not_found")
        if opened.status != CartStatus.ACTIVE.value:
            return _back(acting, settings, None, erreur="cart_not_active")
        return _back(acting, settings, opened.id)
    cart = _current_cart(request, uow, acting)
    view = carts.view_cart(uow=uow, cart=cart, store_id=acting.store_id) if cart else None
    discount = view.discount if view else 0
    error = request.query_params.get("erreur")
    return render_associate(
        request,
        "associate/till.html",
        acting,
        section="till",
        cart=cart,
        view=view,
        lines=_lines(view, lang) if view else [],
        customer=_customer(uow, cart.profile_id) if cart else None,
        subtotal=_money(view.subtotal, view.cart.currency, lang) if view else "",
        discount=_money(discount, view.cart.currency, lang) if view and discount else "",
        promo_code=view.promo_code if view else None,
        cart_warnings=[w.message_en if lang == "en" else w.message_fr for w in view.warnings]
        if view
        else [],
        total=_money(view.total, view.cart.currency, lang) if view else "",
        total_amount=view.total if view else 0,
        currency=view.cart.currency if view else settings.default_currency,
        error=_refusal(lang, error) if error else None,
        notice=request.query_params.get("ok"),
        scanned=request.query_params.get("ajoute"),
    )


@router.post(f"{TILL}/code")
def scan_code(
    request: Request,
    acting: ActingDep,
    uow: UowDep,
    settings: SettingsDep,
    code: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """What the scanner typed (GTIN or SKU, then Enter) or one of our product QR links."""
    cart = _current_cart(request, uow, acting)
    try:
        variant = till_sales.find_variant_by_code(uow=uow, code=code)
        cart = _open_sale(request, uow, acting, settings.default_currency)
        cart = carts.add_line(
            uow=uow,
            cart_id=cart.id,
            variant_id=variant.id,
            quantity=1,
            touchpoint=carts.Touchpoint(kind=TouchpointKind.TILL, store_id=acting.store_id),
            actor=acting.principal.id,
        )
    except DomainError as refused:
        uow.rollback()
        return _back(acting, settings, cart.id if cart else None, erreur=refused.code)
    uow.commit()
    _publish(request, cart)
    return _back(acting, settings, cart.id, ajoute=variant.sku)


@router.post(f"{TILL}/lignes")
def add_to_sale(
    request: Request,
    acting: ActingDep,
    uow: UowDep,
    settings: SettingsDep,
    variant_id: Annotated[str, Form(max_length=40)],
    quantity: Annotated[int, Form(ge=1, le=99)] = 1,
    next_url: Annotated[str | None, Form(alias="next", max_length=300)] = None,
) -> Response:
    """Other pages (the product sheet) put an item in the sale being built."""
    cart = _current_cart(request, uow, acting)
    try:
        cart = _open_sale(request, uow, acting, settings.default_currency)
        cart = carts.add_line(
            uow=uow,
            cart_id=cart.id,
            variant_id=variant_id,
            quantity=quantity,
            touchpoint=carts.Touchpoint(kind=TouchpointKind.TILL, store_id=acting.store_id),
            actor=acting.principal.id,
        )
    except DomainError as refused:
        uow.rollback()
        return _back(acting, settings, cart.id if cart else None, erreur=refused.code)
    uow.commit()
    _publish(request, cart)
    target = _safe_next(next_url)
    if target == TILL:
        return _back(acting, settings, cart.id, ok="added")
    return _keep(RedirectResponse(target, status_code=303), acting, settings, cart.id)


@router.post(f"{TILL}/lignes/{{line_id}}")
def change_line(
    line_id: str,
    request: Request,
    acting: ActingDep,
    uow: UowDep,
    settings: SettingsDep,
    action: Annotated[str, Form(pattern="^(plus|minus|remove)$")],
) -> Response:
    """+ / − / remove on one line of the sale."""
    cart = _current_cart(request, uow, acting)
    if cart is None:
        return _back(acting, settings, None)
    try:
        line = next((line for line in cart.lines if line.id == line_id), None)
        if line is None:
            raise NotFound("this line is gone", code="cart_line_not_found")
        if action == "remove" or (action == "minus" and line.quantity <= 1):
            cart = carts.remove_line(uow=uow, cart_id=cart.id, line_id=line_id, channel="till")
        else:
            step = 1 if action == "plus" else -1
            cart = carts.change_line(
                uow=uow, cart_id=cart.id, line_id=line_id, quantity=line.quantity + step
            )
    except DomainError as refused:
        uow.rollback()
        return _back(acting, settings, cart.id, erreur=refused.code)
    uow.commit()
    _publish(request, cart)
    return _back(acting, settings, cart.id)


@router.post(f"{TILL}/transfert")
def open_phone_cart(
    request: Request,
    acting: ActingDep,
    uow: UowDep,
    settings: SettingsDep,
    code: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Her phone shows a 6-digit code: the till now works on her cart itself."""
    current = _current_cart(request, uow, acting)
    digits = re.sub(r"\D", "", code)
    try:
        if len(digits) != 6:
            raise InvalidInput("a handoff code has 6 digits", code="handoff_code_invalid")
        cart = carts.claim_handoff(
            uow=uow, code=digits, actor=acting.principal.id, store_id=acting.store_id
        )
    except DomainError as refused:
        uow.rollback()
        return _back(acting, settings, current.id if current else None, erreur=refused.code)
    uow.commit()
    return _back(acting, settings, cart.id, ok="opened")


@router.post(f"{TILL}/cliente")
def name_customer(
    request: Request,
    acting: ActingDep,
    uow: UowDep,
    settings: SettingsDep,
    lookup: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """She gives her email or shows her loyalty card: the sale becomes hers (joined with the
    cart she may have open on her phone, as the merge strategy says)."""
    current = _current_cart(request, uow, acting)
    text = lookup.strip()
    try:
        kind = IdentifierKind.EMAIL if "@" in text else IdentifierKind.LOYALTY_CARD
        if not text:
            raise InvalidInput("type her email or scan her card", code="customer_lookup_required")
        profile = customers.find_profile(uow=uow, kind=kind, value=text)
        if profile is None or profile.erased_at is not None:
            raise NotFound("no customer with this email or card", code="customer_not_found")
        cart = _open_sale(request, uow, acting, settings.default_currency)
        attached = carts.attach_profile(
            uow=uow,
            cart_id=cart.id,
            profile_id=profile.id,
            strategy=carts.merge_strategy(settings.cart_merge_strategy),
        )
    except DomainError as refused:
        uow.rollback()
        return _back(acting, settings, current.id if current else None, erreur=refused.code)
    uow.commit()
    _publish(request, attached.cart)
    if attached.ended is not None:
        request.app.state.live.publish(
            f"cart:{attached.ended.id}",
            {
                "type": "ended",
                "cart_id": attached.ended.id,
                "status": attached.ended.status,
                "moved_to": attached.cart.id,
            },
        )
    return _back(acting, settings, attached.cart.id, ok="customer")


@router.post(f"{TILL}/promo")
def apply_promo(
    request: Request,
    acting: ActingDep,
    uow: UowDep,
    settings: SettingsDep,
    code: Annotated[str, Form(max_length=64)] = "",
    remove: Annotated[str | None, Form(max_length=10)] = None,
) -> Response:
    """Apply a promo code to the sale, or take it off."""
    cart = _current_cart(request, uow, acting)
    if cart is None:
        return _back(acting, settings, None, erreur="cart_empty")
    try:
        if remove:
            cart = carts.remove_promo_code(uow=uow, cart_id=cart.id, channel="till")
        else:
            if not code.strip():
                raise InvalidInput("type the code", code="promo_code_required")
            cart = carts.apply_promo_code(
                uow=uow, cart_id=cart.id, code=code.strip(), channel="till"
            )
    except loyalty.PromoCodeRefused as refused:
        uow.commit()  # the refusal is on her journey ("Coupon Denied"); the cart is unchanged
        return _back(acting, settings, cart.id, erreur=refused.code)
    except DomainError as refused:
        uow.rollback()
        return _back(acting, settings, cart.id, erreur=refused.code)
    uow.commit()
    _publish(request, cart)
    return _back(acting, settings, cart.id, ok="promo_removed" if remove else "promo")


@router.post(f"{TILL}/nouvelle")
def new_sale(request: Request, acting: ActingDep, settings: SettingsDep) -> Response:
    """Put the sale aside (her cart stays hers) and start an empty one."""
    return _back(acting, settings, None)


@router.post(f"{TILL}/encaisser")
def take_payment(
    request: Request, acting: ActingDep, uow: UowDep, settings: SettingsDep
) -> Response:
    """The sale becomes an in-store order, taken from this store's shelf; then the payment."""
    cart = _current_cart(request, uow, acting)
    if cart is None:
        return _back(acting, settings, None, erreur="cart_empty")
    try:
        order = orders.place_order(
            uow=uow,
            cart_id=cart.id,
            groups=[
                orders.FulfilmentRequest(method=FulfilmentMethod.IN_STORE, store_id=acting.store_id)
            ],
            placement=orders.Placement(
                channel="till", store_id=acting.store_id, actor=acting.principal.id
            ),
            locale=page_locale(request),
            payment_window=_payment_window(settings),
        )
    except DomainError as refused:
        uow.rollback()
        return _back(acting, settings, cart.id, erreur=refused.code)
    uow.commit()
    request.app.state.live.publish(
        f"cart:{cart.id}", {"type": "ended", "cart_id": cart.id, "order_id": order.id}
    )
    return _back(acting, settings, None, to=f"{TILL}/commandes/{order.id}")


def _payment_window(settings: Any) -> timedelta:
    # At the till she is standing there: the store's hold, not the web's 15 minutes, so a slow
    # card terminal or a phone paying the link never finds the items given back.
    return timedelta(hours=settings.store_hold_hours)


# --- paying -----------------------------------------------------------------------------------


def _order_here(uow: UnitOfWork, acting: Acting, order_id: str) -> Order:
    """An order this store took or hands over; another store's is not hers to cash."""
    order = orders.get_order(uow=uow, order_id=order_id)
    here = (
        {order.store_id}
        | {f.source_location_id for f in order.fulfilments}
        | {f.pickup_location_id for f in order.fulfilments}
    )
    if acting.store_id not in here:
        raise Forbidden("this order is another store's", code="store_out_of_scope")
    return order


def _cashier(uow: UnitOfWork, staff_id: str | None) -> str:
    """The first name of who served her, for the ticket."""
    name = auth_service.staff_names(uow=uow, staff_ids=[staff_id] if staff_id else []).get(
        staff_id or "", ""
    )
    return name.split()[0] if name.strip() else ""


def _order_context(uow: UnitOfWork, order: Order, lang: str) -> dict[str, Any]:
    taken = till_sales.captured_payments(uow=uow, order_id=order.id)
    cash = next((p for p in reversed(taken) if p.method == "cash"), None)
    return {
        "order": order,
        "lines": [
            {
                "name": line.name,
                "size": " · ".join(line.attributes.values()) if line.attributes else "",
                "quantity": line.quantity,
                "unit": _money(line.unit_price, order.currency, lang),
                "amount": _money(line.unit_price * line.quantity, order.currency, lang),
            }
            for line in order.lines
        ],
        "subtotal": _money(order.subtotal, order.currency, lang),
        "discount": _money(order.discount, order.currency, lang) if order.discount else "",
        "total": _money(order.total, order.currency, lang),
        "due_amount": max(0, order.total - order.paid_amount),
        "due": _money(max(0, order.total - order.paid_amount), order.currency, lang),
        "paid": order.paid_at is not None,
        "methods": [till_sales.payment_method_name(p, lang) for p in taken],
        "tendered": _money(cash.tendered_amount, order.currency, lang)
        if cash and cash.tendered_amount is not None
        else "",
        "change": _money(cash.change_due, order.currency, lang)
        if cash and cash.change_due is not None
        else "",
        "cashier": _cashier(uow, order.placed_by),
    }


@router.get(f"{TILL}/commandes/{{order_id}}", response_class=HTMLResponse)
def payment_page(
    order_id: str, request: Request, acting: ActingDep, uow: UowDep, settings: SettingsDep
) -> Response:
    lang = page_locale(request)
    order = _order_here(uow, acting, order_id)
    if order.paid_at is None:
        order = till_sales.settle_if_paid(uow=uow, order_id=order.id)
        uow.commit()
    link_token = request.query_params.get("lien")
    qr_svg = None
    if link_token and order.paid_at is None:
        try:
            qr_svg = _scalable(
                payments.payment_link_qr_svg(
                    uow=uow, token=link_token, base_url=settings.base_url
                ).decode()
            )
        except DomainError:
            qr_svg = None
    error = request.query_params.get("erreur")
    return render_associate(
        request,
        "associate/till_payment.html",
        acting,
        section="till",
        attempt=uuid.uuid4().hex,  # this drawing's Idempotency-Key: a double tap pays once
        qr_svg=qr_svg,
        link_token=link_token if qr_svg else None,
        receipt_to=_masked(till_sales.receipt_address(uow=uow, order=order)),
        sent=request.query_params.get("envoye"),
        error=_refusal(lang, error) if error else None,
        **_order_context(uow, order, lang),
    )


def _scalable(svg: str) -> str:
    """The QR code fitted to the panel: an SVG without a viewBox would be cropped, not scaled."""
    size = re.search(r'<svg[^>]*\swidth="(\d+)"[^>]*\sheight="(\d+)"', svg)
    if size is None or "viewBox" in svg[: size.end()]:
        return svg
    return svg.replace("<svg ", f'<svg viewBox="0 0 {size.group(1)} {size.group(2)}" ', 1)


def _pay(
    request: Request,
    acting: Acting,
    uow: UnitOfWork,
    settings: Any,
    order_id: str,
    method: str,
    details: dict[str, Any],
    attempt: str,
) -> Response:
    page = f"{TILL}/commandes/{order_id}"
    try:
        order = _order_here(uow, acting, order_id)
        if not re.fullmatch(r"[0-9a-f]{32}", attempt):
            raise InvalidInput("reload the page and try again", code="idempotency_key_required")
        payment = orders.pay_order(
            uow=uow,
            providers=request.app.state.payment_providers,
            order_id=order.id,
            method=method,
            details=details,
            idempotency_key=f"till-page:{attempt}",
            channel="till",
            store_id=acting.store_id,
            actor=acting.principal.id,
        )
    except DomainError as refused:
        uow.rollback()
        return _back(acting, settings, None, to=page, erreur=refused.code)
    uow.commit()
    if payment.status != "captured":
        return _back(acting, settings, None, to=page, erreur=payment.failure_code or "declined")
    return RedirectResponse(page, status_code=303)


@router.post(f"{TILL}/commandes/{{order_id}}/especes")
def pay_cash(
    order_id: str,
    request: Request,
    acting: ActingDep,
    uow: UowDep,
    settings: SettingsDep,
    tendered: Annotated[str, Form(max_length=20)],
    attempt: Annotated[str, Form(max_length=64)],
) -> Response:
    """Cash: what she handed over; the change due is shown big on the next page."""
    try:
        amount = _parse_amount(tendered)
    except DomainError as refused:
        return _back(acting, settings, None, to=f"{TILL}/commandes/{order_id}", erreur=refused.code)
    return _pay(request, acting, uow, settings, order_id, "cash", {"tendered": amount}, attempt)


@router.post(f"{TILL}/commandes/{{order_id}}/terminal")
def pay_terminal(
    order_id: str,
    request: Request,
    acting: ActingDep,
    uow: UowDep,
    settings: SettingsDep,
    terminal_reference: Annotated[str, Form(max_length=80)],
    attempt: Annotated[str, Form(max_length=64)],
) -> Response:
    """The card terminal printed its slip: its reference reconciles the day's takings."""
    details = {"terminal_reference": terminal_reference.strip()}
    return _pay(request, acting, uow, settings, order_id, "card_terminal", details, attempt)


@router.post(f"{TILL}/commandes/{{order_id}}/lien")
def payment_link(
    order_id: str, request: Request, acting: ActingDep, uow: UowDep, settings: SettingsDep
) -> Response:
    """A link (QR code) she pays on her own phone; the page waits for it."""
    page = f"{TILL}/commandes/{order_id}"
    try:
        order = _order_here(uow, acting, order_id)
        if order.paid_at is not None:
            return RedirectResponse(page, status_code=303)
        link = orders.create_order_payment_link(uow=uow, order_id=order.id)
    except DomainError as refused:
        uow.rollback()
        return _back(acting, settings, None, to=page, erreur=refused.code)
    uow.commit()
    return RedirectResponse(f"{page}?lien={quote(link.token)}", status_code=303)


@router.get(f"{TILL}/commandes/{{order_id}}/etat")
def payment_state(order_id: str, acting: ActingDep, uow: UowDep) -> Response:
    """Polled by the page while she pays the link on her phone."""
    try:
        order = _order_here(uow, acting, order_id)
        order = till_sales.settle_if_paid(uow=uow, order_id=order.id)
        uow.commit()
    except DomainError as refused:
        return JSONResponse({"code": refused.code}, status_code=refused.status)
    return JSONResponse(
        {"status": order.status, "paid": order.paid_at is not None},
        headers={"Cache-Control": "no-store"},
    )


@router.post(f"{TILL}/commandes/{{order_id}}/ticket-email")
def email_receipt(
    order_id: str,
    request: Request,
    acting: ActingDep,
    uow: UowDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """She asked for her receipt by email: to the address she gives now, or the one on file."""
    page = f"{TILL}/commandes/{order_id}"
    try:
        order = _order_here(uow, acting, order_id)
        address = email.strip() or till_sales.receipt_address(uow=uow, order=order)
        if not address:
            raise InvalidInput("type her email address", code="email_required")
        queued = till_sales.send_receipt(
            uow=uow,
            order=order,
            to_address=address,
            locale=page_locale(request),
            profile_id=order.profile_id,
        )
    except DomainError as refused:
        uow.rollback()
        return _back(acting, settings, None, to=page, erreur=refused.code)
    uow.commit()
    if queued.status.value != "queued":
        return _back(acting, settings, None, to=page, erreur="receipt_not_sent")
    return _back(acting, settings, None, to=page, envoye="1")


@router.get(f"{TILL}/commandes/{{order_id}}/ticket", response_class=HTMLResponse)
def print_receipt(order_id: str, request: Request, acting: ActingDep, uow: ReadUowDep) -> Response:
    """The receipt to print: the store, the date in its time zone, lines, payment, change."""
    lang = page_locale(request)
    order = _order_here(uow, acting, order_id)
    store = acting.store if order.store_id in (None, acting.store_id) else None
    when = order.paid_at or order.placed_at
    return render_associate(
        request,
        "associate/till_ticket.html",
        acting,
        section="till",
        store=store or acting.store,
        when=format_datetime(
            when, "d MMM y HH:mm", tzinfo=_zone(acting.store.timezone), locale=_BABEL[lang]
        ),
        **_order_context(uow, order, lang),
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Paris")
