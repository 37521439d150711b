"""A sale at the till in one request: the cart, the in-store order and its payment together.

The offline till queues sales in the browser and sends each one later with the Idempotency-Key
it generated when the sale was finalised. The HTTP middleware replays a key it has seen from the
same caller; :class:`TillSaleKey` also remembers the key per store in the database, so a sale sent
again after the associate signed in anew (another session, another middleware scope) or by two
tabs at once is still recorded once: the unique key is claimed before anything else is written.

Also here: what the till shows and sends about a sale already made (the receipt by email, the
ticket's payment method), and reading a scanned code (GTIN, SKU, our product QR links).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from parcours.carts import service as carts
from parcours.carts.models import CartStatus, TouchpointKind
from parcours.catalog import service as catalog
from parcours.catalog.service import VariantInfo
from parcours.core.clock import as_utc, utcnow
from parcours.core.errors import Conflict, DomainError, InvalidInput, NotFound
from parcours.core.idempotency import request_fingerprint
from parcours.core.ids import new_id
from parcours.core.money import format_money
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.notifications import service as notifications
from parcours.orders import service as orders
from parcours.orders.models import FulfilmentMethod, Order, TillSaleKey
from parcours.payments import service as payments
from parcours.payments.models import Payment
from parcours.payments.providers import PaymentProviders
from parcours.stores import service as stores

#: A till's clock may run a little fast; a sale from the future beyond this is refused.
CLOCK_SKEW = timedelta(minutes=5)
#: An offline sale older than this is refused: a queue forgotten for a week needs a person.
OFFLINE_LIMIT = timedelta(days=7)
MAX_LINES = 100
PAYMENT_METHODS = {"cash": "cash", "terminal": "card_terminal", "card_terminal": "card_terminal"}


@dataclass(frozen=True, slots=True)
class TillLine:
    """One line as the till sends it: exactly one of ``variant_id``, ``sku``, ``gtin``."""

    quantity: int
    variant_id: str | None = None
    sku: str | None = None
    gtin: str | None = None


@dataclass(frozen=True, slots=True)
class TillPayment:
    method: str  # cash | terminal (card_terminal)
    tendered: int | None = None
    terminal_reference: str | None = None


@dataclass(frozen=True, slots=True)
class TillSale:
    order: Order
    payment: Payment
    #: True when this key had already recorded the sale: nothing new was written.
    replayed: bool = False


# --- reading what the till scans --------------------------------------------------------------


def find_variant_by_code(*, uow: UnitOfWork, code: str) -> VariantInfo:
    """The variant a scanner typed (a GTIN or a SKU) or a product QR link named (``…/q/var_…``,
    or a bare variant id). NotFound ``variant_not_found`` otherwise."""
    text = code.strip()
    if not text:
        raise InvalidInput("scan or type a code", code="code_required")
    variant_id: str | None = None
    if "/q/" in text:
        segments = [s for s in urlsplit(text).path.split("/") if s]
        target = segments[-1] if len(segments) >= 2 and segments[-2] == "q" else ""
        if target.startswith("var_"):
            variant_id = target
        elif target:
            # A product's code (not a size): one size only is unambiguous.
            product = catalog.get_product(uow=uow, product_id=target, published_only=True)
            if len(product.variants) != 1:
                raise InvalidInput(
                    "this code names the product, not a size: scan the label of the size",
                    code="size_required",
                )
            variant_id = product.variants[0].id
    elif text.startswith("var_"):
        variant_id = text
    elif text.isdigit() and len(text) in (8, 12, 13, 14):
        try:
            variant_id = catalog.find_variant_by_gtin(uow=uow, gtin=text, published_only=True).id
        except (InvalidInput, NotFound):
            variant_id = None
    if variant_id is None:
        try:
            variant_id = catalog.find_variant_by_sku(uow=uow, sku=text, published_only=True).id
        except NotFound:
            raise NotFound("no item has this code", code="variant_not_found") from None
    found = catalog.get_variants(uow=uow, variant_ids=[variant_id]).get(variant_id)
    if found is None or found.product_status != "published":
        raise NotFound("no item for sale has this code", code="variant_not_found")
    return found


def _line_variant(uow: UnitOfWork, line: TillLine, index: int) -> VariantInfo:
    given = [value for value in (line.variant_id, line.sku, line.gtin) if value]
    if len(given) != 1:
        raise InvalidInput(
            "each line names exactly one of variant_id, sku or gtin",
            code="invalid_line",
            line=index,
        )
    if not 1 <= line.quantity <= carts.MAX_QUANTITY:
        raise InvalidInput(
            f"a quantity is between 1 and {carts.MAX_QUANTITY}", code="invalid_quantity", line=index
        )
    variant_id = line.variant_id
    try:
        if line.gtin:
            variant_id = catalog.find_variant_by_gtin(
                uow=uow, gtin=line.gtin, published_only=True
            ).id
        elif line.sku:
            variant_id = catalog.find_variant_by_sku(uow=uow, sku=line.sku, published_only=True).id
    except (InvalidInput, NotFound):
        variant_id = None
    found = (
        catalog.get_variants(uow=uow, variant_ids=[variant_id]).get(variant_id)
        if variant_id
        else None
    )
    if found is None or found.product_status != "published":
        raise InvalidInput("no item for sale matches this line", code="unknown_item", line=index)
    return found


# --- the one-request sale ---------------------------------------------------------------------


def _check_sold_at(sold_at: datetime, now: datetime) -> datetime:
    when = as_utc(sold_at)
    if when > now + CLOCK_SKEW:
        raise InvalidInput(
            "sold_at is in the future: check the till's clock", code="sold_at_in_future"
        )
    if when < now - OFFLINE_LIMIT:
        raise InvalidInput(
            "this sale is more than 7 days old: record it by hand", code="sold_at_too_old"
        )
    return when


def _existing(
    uow: UnitOfWork, store_id: str, key: str, fingerprint: str | None = None
) -> TillSale | None:
    claimed = uow.session.scalars(
        select(TillSaleKey).where(
            TillSaleKey.store_id == store_id, TillSaleKey.idempotency_key == key
        )
    ).first()
    if claimed is None:
        return None
    if (
        fingerprint is not None
        and claimed.request_fingerprint is not None
        and claimed.request_fingerprint != fingerprint
    ):
        raise InvalidInput(
            "this Idempotency-Key was already used for another sale; send a new key",
            code="idempotency_key_reused",
            order_id=claimed.order_id,
        )
    if claimed.order_id is None:  # pragma: no cover - claimed and filled in one transaction
        raise Conflict("this sale is being recorded; retry shortly", code="idempotency_in_progress")
    order = orders.get_order(uow=uow, order_id=claimed.order_id)
    paid = [
        p
        for p in payments.payments_for(uow=uow, reference=order.id)
        if p.idempotency_key == _payment_key(key)
    ]
    if not paid:  # pragma: no cover - the payment is written with the order
        raise Conflict("this sale has no payment", code="till_sale_incomplete")
    return TillSale(order=order, payment=paid[0], replayed=True)


def _payment_key(key: str) -> str:
    return f"till-sale:{key}"[:255]


def record_till_sale(
    *,
    uow: UnitOfWork,
    providers: PaymentProviders,
    store_id: str,
    lines: Sequence[TillLine],
    payment: TillPayment,
    idempotency_key: str,
    sold_at: datetime,
    actor: str | None,
    currency: str,
    profile_id: str | None = None,
    email: str | None = None,
    cart_id: str | None = None,
    locale: str = "fr",
) -> TillSale:
    """Record a sale made at the till (perhaps offline, hours ago): an in-store order taken from
    this store's shelf and paid in cash or on the terminal, in the caller's transaction; all or
    nothing (short stock refuses it: ``insufficient_stock``). The same key for the same store
    returns the sale already recorded. ``cart_id``: the till cart the lines were shown from,
    closed with this order so it is not sold twice. ``email``: she asked for a receipt."""
    if not idempotency_key or len(idempotency_key) > 255:
        raise InvalidInput("send an Idempotency-Key header", code="idempotency_key_required")
    now = utcnow()
    when = _check_sold_at(sold_at, now)
    card = stores.store_cards(uow=uow).get(store_id)
    if card is None or card.kind != "store":
        raise NotFound(f"no store {store_id!r}", code="store_not_found")
    fingerprint = request_fingerprint(
        store_id=store_id,
        lines=[[line.variant_id, line.sku, line.gtin, line.quantity] for line in lines],
        payment=[payment.method, payment.tendered, payment.terminal_reference],
        sold_at=when.isoformat(),
        currency=currency,
        profile_id=profile_id,
        email=email,
        cart_id=cart_id,
    )
    earlier = _existing(uow, store_id, idempotency_key, fingerprint)
    if earlier is not None:
        return earlier
    method = PAYMENT_METHODS.get(payment.method)
    if method is None:
        raise InvalidInput("pay in cash or on the card terminal", code="invalid_payment_method")
    if not lines:
        raise InvalidInput("a sale has at least one line", code="lines_required")
    if len(lines) > MAX_LINES:
        raise InvalidInput(f"a sale has at most {MAX_LINES} lines", code="too_many_lines")
    variants = [_line_variant(uow, line, index) for index, line in enumerate(lines)]
    contact = None
    if email is not None:
        contact = customers.normalise_email(email)
        if contact is None:
            raise InvalidInput("this is not an email address", code="invalid_email")
    if profile_id is not None:
        profile_id = customers.get_live_profile(uow=uow, profile_id=profile_id).id

    # Claim the key first: a second request with it waits here (PostgreSQL's unique index holds
    # it until the first commits) and then finds the sale, instead of making another.
    claim = TillSaleKey(
        id=new_id("tsk"),
        store_id=store_id,
        idempotency_key=idempotency_key,
        order_id=None,
        sold_at=when,
        recorded_by=actor,
        created_at=now,
        request_fingerprint=fingerprint,
    )
    try:
        with uow.session.begin_nested():
            uow.session.add(claim)
            uow.session.flush()
    except IntegrityError:
        earlier = _existing(uow, store_id, idempotency_key, fingerprint)
        if earlier is None:  # pragma: no cover - the unique index named a claim that is gone
            raise
        return earlier

    cart = carts.open_cart(
        uow=uow,
        profile_id=None,
        anonymous_id=None,
        channel="till",
        currency=currency,
        store_id=store_id,
        actor=actor,
    )
    touchpoint = carts.Touchpoint(kind=TouchpointKind.TILL, store_id=store_id)
    for line, variant in zip(lines, variants, strict=True):
        carts.add_line(
            uow=uow,
            cart_id=cart.id,
            variant_id=variant.id,
            quantity=line.quantity,
            touchpoint=touchpoint,
            actor=actor,
        )
    order = orders.place_order(
        uow=uow,
        cart_id=cart.id,
        groups=[orders.FulfilmentRequest(method=FulfilmentMethod.IN_STORE, store_id=store_id)],
        placement=orders.Placement(channel="till", store_id=store_id, actor=actor),
        locale=locale,
    )
    # The cart was a walk-in's, so the order knows her only now: naming her through the cart
    # would merge the cart open on her phone into this sale.
    order.profile_id = profile_id
    order.placed_at = min(when, order.placed_at)  # when the sale happened, not when it synced
    details: dict[str, Any] = (
        {"tendered": payment.tendered}
        if method == "cash"
        else {"terminal_reference": payment.terminal_reference}
    )
    paid = orders.pay_order(
        uow=uow,
        providers=providers,
        order_id=order.id,
        method=method,
        details={k: v for k, v in details.items() if v is not None},
        idempotency_key=_payment_key(idempotency_key),
        channel="till",
        store_id=store_id,
        actor=actor,
    )
    claim.order_id = order.id
    if cart_id is not None:
        _close_shown_cart(uow, cart_id, order.id, store_id)
    if contact is not None:
        send_receipt(
            uow=uow,
            order=order,
            to_address=contact,
            locale=locale,
            profile_id=profile_id,
        )
    uow.session.flush()
    return TillSale(order=order, payment=paid)


def _close_shown_cart(uow: UnitOfWork, cart_id: str, order_id: str, store_id: str) -> None:
    """The till cart the offline sale was built from became this order (if nobody closed it
    meanwhile): the next sale starts empty instead of selling the same items again. Only a
    till cart of this store is closed: a cart id is a claim, and a shopper's own cart (web, app)
    or another store's sale is never closed by a sale it did not become."""
    try:
        shown = carts.get_cart(uow=uow, cart_id=cart_id)
    except NotFound:
        return
    if shown.channel != "till" or shown.store_id != store_id:
        return
    if shown.status == CartStatus.ACTIVE.value:
        carts.mark_checked_out(uow=uow, cart_id=shown.id, order_id=order_id)


# --- what the till tells about a sale -----------------------------------------------------------

_METHOD_NAMES = {
    "fr": {
        "cash": "Espèces",
        "card_terminal": "Carte (terminal)",
        "card": "Carte",
        "link": "Carte (lien de paiement)",
    },
    "en": {
        "cash": "Cash",
        "card_terminal": "Card (terminal)",
        "card": "Card",
        "link": "Card (payment link)",
    },
}


def captured_payments(*, uow: UnitOfWork, order_id: str) -> list[Payment]:
    """The money taken for an order, oldest first."""
    return [p for p in payments.payments_for(uow=uow, reference=order_id) if p.status == "captured"]


def payment_method_name(payment: Payment, locale: str) -> str:
    """How the ticket names a payment (the terminal's slip reference for a card terminal)."""
    names = _METHOD_NAMES["en" if locale == "en" else "fr"]
    if payment.payment_link_id is not None:
        return names["link"]
    name = names.get(payment.method, payment.method)
    if payment.card_last4:
        name += f" •••• {payment.card_last4}"
    return name


def settle_if_paid(*, uow: UnitOfWork, order_id: str) -> Order:
    """The order as paid as its captured money says: a payment link paid on her phone settles
    through the PaymentCaptured handler, and the till asking meanwhile settles it sooner
    (``settle_payments`` is safe to run twice)."""
    order = orders.get_order(uow=uow, order_id=order_id)
    if order.paid_at is None and captured_payments(uow=uow, order_id=order_id):
        order = orders.settle_payments(
            uow=uow, order_id=order_id, channel="till", store_id=order.store_id
        )
    return order


def receipt_address(*, uow: UnitOfWork, order: Order) -> str | None:
    """Where her receipt goes if she asks for it: the address of the order, else the one on her
    profile (none for an erased profile)."""
    if order.email:
        return order.email
    if order.profile_id is None:
        return None
    try:
        profile = customers.get_live_profile(uow=uow, profile_id=order.profile_id)
    except DomainError:
        return None
    emails = [
        i.value
        for i in customers.identifiers_of(uow=uow, profile_id=profile.id)
        if i.kind == "email"
    ]
    return emails[0] if emails else None


def send_receipt(
    *,
    uow: UnitOfWork,
    order: Order,
    to_address: str,
    locale: str,
    profile_id: str | None = None,
) -> notifications.QueuedMessage:
    """Queue the receipt she asked for at the till (transactional: she asked; an erased profile
    is never written to, queue_email checks)."""
    address = customers.normalise_email(to_address)
    if address is None:
        raise InvalidInput("this is not an email address", code="invalid_email")
    if order.paid_at is None:
        raise Conflict("a receipt follows the payment", code="order_not_paid")
    store = stores.get_location(uow=uow, location_id=order.store_id) if order.store_id else None
    taken = captured_payments(uow=uow, order_id=order.id)
    babel = "en_GB" if locale == "en" else "fr_FR"
    return notifications.queue_email(
        uow=uow,
        template="receipt",
        to_address=address,
        locale=locale,
        context={
            "store_name": store.name if store else "",
            "store_address": (
                [store.street, f"{store.postcode} {store.city}"] if store is not None else None
            ),
            "timezone": store.timezone if store is not None else "Europe/Paris",
            "date": order.paid_at,
            "order_number": order.number,
            "lines": [
                {
                    "name": line.name,
                    "quantity": line.quantity,
                    "amount": format_money(line.unit_price * line.quantity, order.currency, babel),
                }
                for line in order.lines
            ],
            "total": format_money(order.total, order.currency, babel),
            "discount": format_money(order.discount, order.currency, babel)
            if order.discount
            else "",
            "promo_code": order.promo_code or "",
            "currency": order.currency,
            "payment_method": ", ".join(payment_method_name(p, locale) for p in taken) or "—",
        },
        purpose=notifications.TRANSACTIONAL,
        profile_id=profile_id or order.profile_id,
        reference=order.id,
    )


__all__ = [
    "TillLine",
    "TillPayment",
    "TillSale",
    "TillSaleKey",
    "captured_payments",
    "find_variant_by_code",
    "payment_method_name",
    "receipt_address",
    "record_till_sale",
    "send_receipt",
    "settle_if_paid",
]
