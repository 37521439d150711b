"""Checkout in the pages: how she gets her order (home delivery, click-and-collect in a store that
has it, or reserve in store and pay there), the card payment with the test provider (3-D Secure
included), the confirmation with the pickup QR code and the order's tracking, and the page a
pay-by-link opens.

Card numbers are posted to these routes only to be exchanged at once for a test-provider token
(what a processor's script does in the browser); they are never logged, stored or sent back in a
page, not even when the form is shown again after a refusal. Every payment carries an
Idempotency-Key made when the form was rendered, so a double submit pays once.
"""

from __future__ import annotations

import io
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import segno
from babel.dates import format_date, format_datetime
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from parcours.carts import service as carts
from parcours.carts.models import Cart
from parcours.core.auth.principal import PUBLIC, Principal
from parcours.core.clock import utcnow
from parcours.core.deps import SettingsDep, UowDep
from parcours.core.errors import DomainError, NotFound
from parcours.core.i18n import translate
from parcours.core.money import format_money
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.models import IdentifierKind, ShopperSession
from parcours.inventory import service as inventory
from parcours.loyalty import service as loyalty
from parcours.orders import pickup_desk, sourcing
from parcours.orders import service as orders
from parcours.orders.models import FulfilmentMethod, FulfilmentStatus, Order
from parcours.payments import service as payments
from parcours.payments.models import Payment, PaymentLink, PaymentStatus
from parcours.stores import service as stores
from parcours.stores.directory import StoreCard
from parcours.stores.models import LocationKind, Service
from parcours.web.rendering import page_locale, render
from parcours.web.storefront.cart import BABEL, active_cart
from parcours.web.storefront.catalogue import locate_shopper
from parcours.web.storefront.session import shopper_session

router = APIRouter(include_in_schema=False)
PublicDep = Annotated[Principal, Depends(PUBLIC)]
Method = Literal["click_and_collect", "delivery", "reserve_in_store"]
#: Stores offered at checkout: the nearest ones, as on the product page.
STORES_SHOWN = 6

#: Refusals at checkout and payment, by their stable code, in her words.
_REFUSALS = frozenset(
    {
        "cart_empty",
        "cart_version_mismatch",
        "cart_not_active",
        "insufficient_stock",
        "service_not_offered",
        "store_required",
        "store_not_found",
        "invalid_address",
        "address_required",
        "invalid_email",
        "product_not_for_sale",
        "payment_window_closed",
        "order_not_payable",
        "incorrect_number",
        "invalid_number",
        "invalid_expiry_month",
        "invalid_expiry_year",
        "invalid_cvc",
        "expired_card",
        "card_declined",
        "insufficient_funds",
        "incorrect_cvc",
        "authentication_failed",
        "live_card_in_test_mode",
        "abandoned",
        "payment_link_paid",
        "payment_link_expired",
        "payment_link_not_found",
        "nothing_to_collect_here",
        "payment_required",
        "not_in_store_yet",
        "order_cancelled",
    }
)


def refusal_text(lang: str, code: str | None) -> str:
    """The message of a refusal code (a generic one for codes this page does not know)."""
    key = f"checkout.refused.{code}" if code in _REFUSALS else "checkout.refused.other"
    return translate(lang, key)


def _money(amount: int, currency: str, lang: str) -> str:
    return format_money(amount, currency, BABEL[lang])


def _zone(card: StoreCard | None) -> ZoneInfo:
    return ZoneInfo(card.timezone if card else "Europe/Paris")


def local_time(moment: datetime | None, card: StoreCard | None, lang: str) -> str:
    """A moment in the store's time zone, as she reads it."""
    if moment is None:
        return ""
    return format_datetime(moment, "EEEE d MMMM, HH:mm", tzinfo=_zone(card), locale=BABEL[lang])


def _ready_words(moment: datetime | None, card: StoreCard, lang: str, now: datetime) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(_zone(card))
    return stores.describe_moment(local, now=now, locale="en" if lang == "en" else "fr")


# --- the shopper and her orders -------------------------------------------------------------------


def her_email(uow: UnitOfWork, session: ShopperSession | None) -> str:
    """The email she signed in with, to prefill forms."""
    if session is None or session.profile_id is None:
        return ""
    for identifier in customers.identifiers_of(uow=uow, profile_id=session.profile_id):
        if identifier.kind == IdentifierKind.EMAIL.value:
            return identifier.value
    return ""


def her_order(uow: UnitOfWork, session: ShopperSession | None, order_id: str) -> Order:
    """Her order (placed from this device, or under her profile on any channel); anyone
    else's, or none, is NotFound: an order id says nothing to someone it is not for."""
    if session is None or len(order_id) > 40:
        raise NotFound("no such order", code="order_not_found")
    order = orders.get_order(uow=uow, order_id=order_id)
    cluster: set[str] = set()
    if session.profile_id is not None:
        cluster = {
            session.profile_id,
            *customers.merged_profile_ids(uow=uow, profile_id=session.profile_id),
        }
    mine = (order.profile_id is not None and order.profile_id in cluster) or (
        order.anonymous_id is not None and order.anonymous_id == session.anonymous_id
    )
    if not mine:
        raise NotFound("no such order", code="order_not_found")
    return order


def _not_found(request: Request) -> Response:
    lang = page_locale(request)
    return render(request, "error.html", status_code=404, message=translate(lang, "order.missing"))


# --- checkout -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoreChoice:
    id: str
    name: str
    address: str
    km: str
    collect: str  # "Prêt aujourd'hui à 16:00", or "" when it cannot be collected there
    collect_transfer: bool
    reserve: str  # the same for "reserve in store"


def _store_choices(
    uow: UnitOfWork, cart: Cart, latitude: float, longitude: float, lang: str
) -> list[StoreChoice]:
    """The stores near her that offer click-and-collect or reservation, with when the whole
    cart could be ready there (from their shelf, or sent from another location)."""
    lines = carts.active_lines(cart)
    quantities: dict[str, int] = defaultdict(int)
    for line in lines:
        quantities[line.variant_id] += line.quantity
    nearest = stores.find_nearest_locations(
        uow=uow, latitude=latitude, longitude=longitude, limit=STORES_SHOWN, kind=LocationKind.STORE
    )
    if not quantities:
        return []
    holders = set(inventory.locations_holding(uow=uow, quantities=quantities))
    now = utcnow()
    choices = []
    for card, km in nearest:
        offers_collect = card.offers(Service.CLICK_AND_COLLECT)
        offers_reserve = card.offers(Service.RESERVE_IN_STORE)
        if not (offers_collect or offers_reserve):
            continue
        here = card.id in holders
        collect = reserve = ""
        transfer = False
        if offers_collect and (here or holders):
            lead = inventory.COLLECT_PREPARATION if here else inventory.TRANSFER_LEAD_TIME
            ready = stores.ready_time(
                card, at=now, lead=lead, at_opening=inventory.READY_AFTER_OPENING
            )
            if ready is not None:
                collect = _ready_words(ready, card, lang, now)
                transfer = not here
        if offers_reserve and here:
            ready = stores.ready_time(card, at=now, lead=sourcing.HOLD_PREPARATION)
            if ready is not None:
                reserve = _ready_words(ready, card, lang, now)
        choices.append(
            StoreChoice(
                id=card.id,
                name=card.name,
                address=f"{card.street}, {card.postcode} {card.city}",
                km=f"{km:.1f}".replace(".", "," if lang == "fr" else "."),
                collect=collect,
                collect_transfer=transfer,
                reserve=reserve,
            )
        )
    return choices


def _checkout_page(
    request: Request,
    uow: UnitOfWork,
    session: ShopperSession,
    cart: Cart,
    *,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    lang = page_locale(request)
    where = locate_shopper(request, uow)
    view = carts.view_cart(uow=uow, cart=cart)
    delivers_free = view.subtotal - view.discount >= orders.FREE_DELIVERY_FROM
    delivery_day = format_date(
        (utcnow() + sourcing.WAREHOUSE_DELIVERY).astimezone(ZoneInfo("Europe/Paris")),
        "EEEE d MMMM",
        locale=BABEL[lang],
    )
    values = {"email": her_email(uow, session), "method": "click_and_collect", **(form or {})}
    choices = _store_choices(uow, cart, where.place.latitude, where.place.longitude, lang)
    if "collect_store" not in values:
        first = next((c for c in choices if c.collect and not c.collect_transfer), None)
        values["collect_store"] = first.id if first else ""
    return render(
        request,
        "storefront/checkout_form.html",
        status_code=status_code,
        where=where,
        chosen=None,
        action="/commande",
        stores=choices,
        lines=[
            {
                "name": line.variant.product_name if line.variant else "",
                "size": " · ".join(line.variant.attributes.values()) if line.variant else "",
                "quantity": line.line.quantity,
                "amount": _money(line.amount, cart.currency, lang),
            }
            for line in view.lines
        ],
        subtotal=_money(view.subtotal, cart.currency, lang),
        discount=_money(view.discount, cart.currency, lang) if view.discount else "",
        total=_money(view.subtotal - view.discount, cart.currency, lang),
        promo_code=view.promo_code,
        delivery_fee="" if delivers_free else _money(orders.DELIVERY_FEE, cart.currency, lang),
        free_from=_money(orders.FREE_DELIVERY_FROM, cart.currency, lang),
        delivery_day=delivery_day,
        version=cart.version,
        error=error,
        form=values,
    )


def _checkout_target(request: Request, uow: UnitOfWork) -> tuple[ShopperSession, Cart] | None:
    session = shopper_session(request, uow)
    cart = active_cart(uow, session)
    if session is None or cart is None or not carts.active_lines(cart):
        return None
    return session, cart


@router.get("/commande", response_class=HTMLResponse)
def checkout_page(request: Request, uow: UowDep, _: PublicDep) -> Response:
    target = _checkout_target(request, uow)
    if target is None:
        return RedirectResponse("/panier", status_code=303)
    return _checkout_page(request, uow, *target)


@router.post("/commande")
def place_order(
    request: Request,
    uow: UowDep,
    settings: SettingsDep,
    _: PublicDep,
    email: Annotated[str, Form(max_length=320)] = "",
    method: Annotated[str, Form(max_length=30)] = "click_and_collect",
    collect_store: Annotated[str, Form(max_length=40)] = "",
    reserve_store: Annotated[str, Form(max_length=40)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    line1: Annotated[str, Form(max_length=200)] = "",
    line2: Annotated[str, Form(max_length=200)] = "",
    postcode: Annotated[str, Form(max_length=20)] = "",
    city: Annotated[str, Form(max_length=100)] = "",
    phone: Annotated[str, Form(max_length=30)] = "",
    version: Annotated[int | None, Form()] = None,
) -> Response:
    """Place the order from her cart as she saw it (its version: a change made meanwhile on
    another device is shown to her before anything is ordered)."""
    target = _checkout_target(request, uow)
    if target is None:
        return RedirectResponse("/panier", status_code=303)
    session, cart = target
    lang = page_locale(request)
    form = {
        "email": email,
        "method": method,
        "collect_store": collect_store,
        "reserve_store": reserve_store,
        "name": name,
        "line1": line1,
        "line2": line2,
        "postcode": postcode,
        "city": city,
        "phone": phone,
    }
    if method not in ("click_and_collect", "delivery", "reserve_in_store"):
        method = "click_and_collect"
    address = None
    store_id: str | None = None
    if method == "delivery":
        address = {
            "name": name,
            "line1": line1,
            "line2": line2,
            "postcode": postcode,
            "city": city,
            "country": "FR",
            "phone": phone,
        }
    else:
        store_id = (collect_store if method == "click_and_collect" else reserve_store) or None
    try:
        order = orders.place_order(
            uow=uow,
            cart_id=cart.id,
            groups=[
                orders.FulfilmentRequest(
                    method=FulfilmentMethod(method), store_id=store_id, address=address
                )
            ],
            placement=orders.Placement(channel=session.channel),
            email=email.strip() or None,
            locale=lang,
            expected_version=version,
            payment_window=timedelta(seconds=settings.reservation_ttl_seconds),
            store_hold=timedelta(hours=settings.store_hold_hours),
            delivery_strategy=settings.delivery_sourcing,
        )
    except loyalty.PromoCodeRefused as refused:
        uow.rollback()
        return _refused_checkout(request, uow, loyalty.describe_refusal(refused, lang), form)
    except DomainError as refused:
        uow.rollback()
        return _refused_checkout(request, uow, refusal_text(lang, refused.code), form)
    uow.commit()
    request.app.state.live.publish(
        f"cart:{cart.id}", {"type": "ended", "cart_id": cart.id, "order_id": order.id}
    )
    if method == "reserve_in_store":
        return RedirectResponse(f"/commandes/{order.id}?reservee=1", status_code=303)
    return RedirectResponse(f"/commandes/{order.id}/paiement", status_code=303)


def _refused_checkout(
    request: Request, uow: UnitOfWork, message: str, form: dict[str, str]
) -> Response:
    target = _checkout_target(request, uow)
    if target is None:
        return RedirectResponse("/panier", status_code=303)
    session, cart = target
    return _checkout_page(request, uow, session, cart, status_code=422, error=message, form=form)


# --- payment --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CardForm:
    number: str
    exp_month: int
    exp_year: int
    cvc: str


def _card(number: str, expiry: str, cvc: str) -> CardForm | None:
    """The form's fields as the test provider takes them; None if they cannot be read (the
    provider says what exactly is wrong with a readable card)."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if not 12 <= len(digits) <= 19 or any(ch not in "0123456789 -" for ch in number):
        return None
    parts = [part.strip() for part in expiry.replace("-", "/").split("/")]
    if len(parts) != 2 or not all(part.isdigit() for part in parts):
        return None
    month, year = int(parts[0]), int(parts[1])
    if year < 100:
        year += 2000
    code = cvc.strip()
    if not code.isdigit() or not 3 <= len(code) <= 4:
        return None
    return CardForm(digits, month, year, code)


def _tokenize(request: Request, card: CardForm) -> str:
    token = payments.create_test_card_token(
        providers=request.app.state.payment_providers,
        number=card.number,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
        cvc=card.cvc,
    )
    return token.token


def _order_summary(order: Order, lang: str) -> dict[str, Any]:
    return {
        "id": order.id,
        "number": order.number,
        "total": _money(order.total, order.currency, lang),
        "due": _money(max(0, order.total - order.paid_amount), order.currency, lang),
    }


def _payment_page(
    request: Request,
    order: Order,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    lang = page_locale(request)
    due_by = order.payment_due_by
    return render(
        request,
        "storefront/checkout_payment.html",
        status_code=status_code,
        order=_order_summary(order, lang),
        # Made now: the form posts it back, and a second post with it pays nothing more.
        idempotency_key=secrets.token_urlsafe(24),
        action=f"/commandes/{order.id}/paiement",
        error=error,
        due_by=local_time(due_by, None, lang) if due_by else "",
    )


@router.get("/commandes/{order_id}/paiement", response_class=HTMLResponse)
def payment_page(order_id: str, request: Request, uow: UowDep, _: PublicDep) -> Response:
    try:
        order = her_order(uow, shopper_session(request, uow), order_id)
    except NotFound:
        return _not_found(request)
    if order.paid_at is not None or not _needs_payment(order):
        return RedirectResponse(f"/commandes/{order.id}", status_code=303)
    refused = request.query_params.get("refus")
    error = refusal_text(page_locale(request), refused[:60]) if refused else None
    return _payment_page(request, order, error=error)


def _needs_payment(order: Order) -> bool:
    pay_there = all(f.method == FulfilmentMethod.RESERVE_IN_STORE.value for f in order.fulfilments)
    return order.status == "placed" and not pay_there


@router.post("/commandes/{order_id}/paiement")
def pay(
    order_id: str,
    request: Request,
    uow: UowDep,
    _: PublicDep,
    idempotency_key: Annotated[str, Form(min_length=16, max_length=64)],
    # Plain strings, read by hand: a validation error must never echo a card number.
    number: Annotated[str, Form()] = "",
    expiry: Annotated[str, Form()] = "",
    cvc: Annotated[str, Form()] = "",
) -> Response:
    """Pay the order by card. Declined: the reason, and the form again (a new key: nothing was
    charged). 3-D Secure: the bank's challenge, then back here."""
    lang = page_locale(request)
    try:
        order = her_order(uow, shopper_session(request, uow), order_id)
    except NotFound:
        return _not_found(request)
    already = _payment_with_key(uow, order, idempotency_key)
    if already is None and (order.paid_at is not None or not _needs_payment(order)):
        return RedirectResponse(f"/commandes/{order.id}", status_code=303)
    details: dict[str, Any]
    if already is not None:
        details = {}
    else:
        card = _card(number[:40], expiry[:10], cvc[:6])
        if card is None:
            return _payment_page(
                request, order, error=refusal_text(lang, "invalid_number"), status_code=422
            )
        try:
            details = {"token": _tokenize(request, card)}
        except DomainError as refused:
            return _payment_page(
                request, order, error=refusal_text(lang, refused.code), status_code=422
            )
    try:
        payment = (
            already
            if already is not None
            else orders.pay_order(
                uow=uow,
                providers=request.app.state.payment_providers,
                order_id=order.id,
                method="card",
                details=details,
                idempotency_key=idempotency_key,
                channel=order.channel,
            )
        )
    except DomainError as refused:
        uow.rollback()
        return _payment_page(
            request, order, error=refusal_text(lang, refused.code), status_code=409
        )
    uow.commit()
    return _after_payment(order, payment)


def _payment_with_key(uow: UnitOfWork, order: Order, key: str) -> Payment | None:
    return next(
        (p for p in payments.payments_for(uow=uow, reference=order.id) if p.idempotency_key == key),
        None,
    )


def _after_payment(order: Order, payment: Payment) -> Response:
    if payment.status == PaymentStatus.REQUIRES_ACTION.value:
        return RedirectResponse(
            f"/commandes/{order.id}/paiement/3ds?paiement={payment.id}", status_code=303
        )
    if payment.status in (PaymentStatus.FAILED.value,):
        return RedirectResponse(
            f"/commandes/{order.id}/paiement?refus={payment.failure_code or 'card_declined'}",
            status_code=303,
        )
    return RedirectResponse(f"/commandes/{order.id}?paye=1", status_code=303)


def _her_payment(uow: UnitOfWork, order: Order, payment_id: str) -> Payment | None:
    return next(
        (p for p in payments.payments_for(uow=uow, reference=order.id) if p.id == payment_id),
        None,
    )


@router.get("/commandes/{order_id}/paiement/3ds", response_class=HTMLResponse)
def challenge_page(order_id: str, request: Request, uow: UowDep, _: PublicDep) -> Response:
    """The bank's 3-D Secure page in a frame, and the way back once she answered."""
    try:
        order = her_order(uow, shopper_session(request, uow), order_id)
    except NotFound:
        return _not_found(request)
    payment = _her_payment(uow, order, request.query_params.get("paiement", "")[:40])
    if payment is None or payment.status != PaymentStatus.REQUIRES_ACTION.value:
        return RedirectResponse(f"/commandes/{order.id}", status_code=303)
    response = render(
        request,
        "storefront/checkout_3ds.html",
        order=_order_summary(order, page_locale(request)),
        challenge_url=payment.next_action_url,
        action=f"/commandes/{order.id}/paiement/3ds",
        payment_id=payment.id,
    )
    response.headers["Cache-Control"] = "no-store"  # the frame's address holds its secret
    return response


@router.post("/commandes/{order_id}/paiement/3ds")
def challenge_answered(
    order_id: str,
    request: Request,
    uow: UowDep,
    _: PublicDep,
    payment_id: Annotated[str, Form(max_length=40)],
) -> Response:
    """Back from the bank: the order is paid (settled now rather than when the event arrives),
    or the form again with the reason."""
    try:
        order = her_order(uow, shopper_session(request, uow), order_id)
    except NotFound:
        return _not_found(request)
    payment = _her_payment(uow, order, payment_id)
    if payment is None:
        return RedirectResponse(f"/commandes/{order.id}", status_code=303)
    if payment.status in (PaymentStatus.CAPTURED.value,):
        orders.settle_payments(uow=uow, order_id=order.id, channel=order.channel)
        uow.commit()
    return _after_payment(order, payment)


# --- confirmation and tracking ------------------------------------------------------------------


_DESK_METHODS = frozenset(
    {FulfilmentMethod.CLICK_AND_COLLECT.value, FulfilmentMethod.RESERVE_IN_STORE.value}
)
_TIMELINE = {
    "placed",
    "paid",
    "ready_for_pickup",
    "customer_arrived",
    "collected",
    "shipped",
    "delivered",
    "cancelled",
    "returned",
}


def _pickup_qr(code: str) -> str:
    """The pickup code as a QR code: the desk's scanner reads the same six digits she could
    type."""
    buffer = io.BytesIO()
    segno.make_qr(code, error="m").save(
        buffer, kind="svg", scale=8, border=4, title=f"Code de retrait {code}", xmldecl=False
    )
    return buffer.getvalue().decode()


def order_context(request: Request, uow: UnitOfWork, order: Order) -> dict[str, Any]:
    """The confirmation and tracking page's content."""
    lang = page_locale(request)
    cards = stores.store_cards(uow=uow)
    now = utcnow()
    zone_card = cards.get(order.store_id or "") or next(
        (cards[f.pickup_location_id] for f in order.fulfilments if f.pickup_location_id in cards),
        None,
    )
    groups = []
    for fulfilment in order.fulfilments:
        card = cards.get(fulfilment.pickup_location_id or "")
        hours: dict[int, list[str]] = {}
        if card is not None:
            for row in card.hours:
                hours.setdefault(row.weekday, []).append(f"{row.opens}–{row.closes}")
        groups.append(
            {
                "id": fulfilment.id,
                "method": fulfilment.method,
                "status": fulfilment.status,
                "store": card.name if card else "",
                "store_id": card.id if card else "",
                "address": f"{card.street}, {card.postcode} {card.city}" if card else "",
                "hours": [(day, ", ".join(hours.get(day, []))) for day in range(7)],
                "ready_by": _ready_words(fulfilment.ready_by, card, lang, now)
                if card and fulfilment.ready_by
                else "",
                "deliver_by": local_time(fulfilment.ready_by, zone_card, lang)
                if not card and fulfilment.ready_by
                else "",
                "ready": fulfilment.status == FulfilmentStatus.READY.value,
                "arrived": fulfilment.arrived_at is not None,
                "can_check_in": card is not None
                and fulfilment.status == FulfilmentStatus.READY.value
                and fulfilment.arrived_at is None
                and fulfilment.method in _DESK_METHODS,
                "tracking": fulfilment.tracking_reference,
                "address_to": fulfilment.address or {},
            }
        )
    events = [
        {
            "kind": event.kind,
            "at": local_time(event.at, cards.get(event.location_id or "") or zone_card, lang),
            "store": cards[event.location_id].name if event.location_id in cards else "",
        }
        for event in orders.timeline(uow=uow, order_id=order.id)
        if event.kind in _TIMELINE
    ]
    pickup = any(g["store"] for g in groups)
    return {
        "order": order,
        "number": order.number,
        "status": order.status,
        "placed_at": local_time(order.placed_at, zone_card, lang),
        "lines": [
            {
                "name": line.name,
                "size": " · ".join(line.attributes.values()),
                "quantity": line.quantity,
                "amount": _money(line.unit_price * line.quantity, order.currency, lang),
            }
            for line in order.lines
        ],
        "subtotal": _money(order.subtotal, order.currency, lang),
        "discount": _money(order.discount or 0, order.currency, lang) if order.discount else "",
        "shipping": _money(order.shipping, order.currency, lang),
        "total": _money(order.total, order.currency, lang),
        "paid": order.paid_at is not None,
        "due": _money(max(0, order.total - order.paid_amount), order.currency, lang),
        "needs_payment": _needs_payment(order),
        "pay_in_store": all(
            f.method == FulfilmentMethod.RESERVE_IN_STORE.value for f in order.fulfilments
        ),
        "groups": groups,
        "events": events,
        "pickup_code": order.pickup_code if pickup and order.status != "cancelled" else None,
        "pickup_qr": _pickup_qr(order.pickup_code)
        if pickup and order.pickup_code and order.status not in ("cancelled", "collected")
        else "",
    }


@router.get("/commandes/{order_id}", response_class=HTMLResponse)
def order_page(order_id: str, request: Request, uow: UowDep, _: PublicDep) -> Response:
    try:
        order = her_order(uow, shopper_session(request, uow), order_id)
    except NotFound:
        return _not_found(request)
    response = render(
        request,
        "storefront/order_detail.html",
        **order_context(request, uow, order),
        just_paid=request.query_params.get("paye") == "1",
        just_reserved=request.query_params.get("reservee") == "1",
        arrived=request.query_params.get("arrivee") == "1",
        error=refusal_text(page_locale(request), request.query_params["refus"][:60])
        if request.query_params.get("refus")
        else None,
    )
    response.headers["Cache-Control"] = "no-store"  # her pickup code
    return response


@router.post("/commandes/{order_id}/arrivee")
def check_in(
    order_id: str,
    request: Request,
    uow: UowDep,
    _: PublicDep,
    store_id: Annotated[str, Form(max_length=40)],
) -> Response:
    """ "I'm here": she checks in at the pickup desk from her phone; the desk sees her waiting."""
    session = shopper_session(request, uow)
    try:
        order = her_order(uow, session, order_id)
    except NotFound:
        return _not_found(request)
    assert session is not None
    try:
        pickup_desk.record_arrival(
            uow=uow, order_id=order.id, location_id=store_id, by="shopper", channel=session.channel
        )
    except DomainError as refused:
        uow.rollback()
        return RedirectResponse(f"/commandes/{order.id}?refus={refused.code}", status_code=303)
    uow.commit()
    return RedirectResponse(f"/commandes/{order.id}?arrivee=1", status_code=303)


# --- pay-by-link --------------------------------------------------------------------------------


def _link_page(
    request: Request,
    uow: UnitOfWork,
    token: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    lang = page_locale(request)
    try:
        link = payments.get_payment_link(uow=uow, token=token)
    except DomainError as refused:
        paid = refused.code == "payment_link_paid"
        return render(
            request,
            "storefront/pay_link_done.html",
            status_code=200 if paid else refused.status,
            paid=paid,
            message=refusal_text(lang, refused.code),
        )
    cards = stores.store_cards(uow=uow)
    card = cards.get(link.store_id or "")
    number = None
    if link.reference.startswith("ord_"):
        try:
            number = orders.get_order(uow=uow, order_id=link.reference).number
        except NotFound:
            number = None
    return render(
        request,
        "storefront/pay_link.html",
        status_code=status_code,
        amount=_money(link.amount, link.currency, lang),
        shop=card.name if card else "Parcours",
        description=link.description,
        number=number,
        expires=local_time(link.expires_at, card, lang),
        idempotency_key=secrets.token_urlsafe(24),
        action=f"/payer/{token}",
        error=error,
    )


@router.get("/payer/{token}", response_class=HTMLResponse)
def pay_link_page(token: str, request: Request, uow: UowDep, _: PublicDep) -> Response:
    """What a payment link asks to pay, and the card form; "Payé" once paid."""
    payment_id = request.query_params.get("paiement", "")[:40]
    if payment_id:
        waiting = _link_payment(uow, token, payment_id)
        if waiting is not None and waiting.status == PaymentStatus.REQUIRES_ACTION.value:
            response = render(
                request,
                "storefront/pay_link_3ds.html",
                challenge_url=waiting.next_action_url,
                back=f"/payer/{token}",
            )
            response.headers["Cache-Control"] = "no-store"
            return response
        if waiting is not None and waiting.status == PaymentStatus.FAILED.value:
            return _link_page(
                request, uow, token, error=refusal_text(page_locale(request), waiting.failure_code)
            )
    page = _link_page(request, uow, token)
    page.headers["Cache-Control"] = "no-store"
    return page


def _link_payment(uow: UnitOfWork, token: str, payment_id: str) -> Payment | None:
    try:
        payment = payments.get_payment(uow=uow, payment_id=payment_id)
    except NotFound:
        return None
    link_id = payment.payment_link_id
    if link_id is None:
        return None
    link = uow.session.get(PaymentLink, link_id)
    return payment if link is not None and link.token == token else None


@router.post("/payer/{token}")
def pay_link(
    token: str,
    request: Request,
    uow: UowDep,
    _: PublicDep,
    idempotency_key: Annotated[str, Form(min_length=16, max_length=64)],
    number: Annotated[str, Form()] = "",
    expiry: Annotated[str, Form()] = "",
    cvc: Annotated[str, Form()] = "",
) -> Response:
    """Pay a link by card: the link's token is the credential (no account needed)."""
    lang = page_locale(request)
    if len(token) > 64:
        return _link_page(request, uow, token)
    card = _card(number[:40], expiry[:10], cvc[:6])
    if card is None:
        return _link_page(
            request, uow, token, error=refusal_text(lang, "invalid_number"), status_code=422
        )
    try:
        payment = orders.pay_payment_link(
            uow=uow,
            providers=request.app.state.payment_providers,
            token=token,
            details={"token": _tokenize(request, card)},
            idempotency_key=idempotency_key,
        )
    except DomainError as refused:
        uow.rollback()
        if refused.code in ("payment_link_paid", "payment_link_expired", "payment_link_not_found"):
            return RedirectResponse(f"/payer/{token}", status_code=303)
        return _link_page(
            request, uow, token, error=refusal_text(lang, refused.code), status_code=422
        )
    uow.commit()
    if payment.status == PaymentStatus.CAPTURED.value:
        return RedirectResponse(f"/payer/{token}", status_code=303)
    return RedirectResponse(f"/payer/{token}?paiement={payment.id}", status_code=303)


__all__ = ["her_email", "her_order", "local_time", "refusal_text", "router"]
