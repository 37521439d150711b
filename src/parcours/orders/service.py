"""Use cases of orders: checkout from the one cart, payment, pickup, shipping, cancellation and
returns anywhere.

Stock follows the order: reserved at checkout (with the payment window as expiry, or the store
hold for "reserve in store, pay there"), allocated when paid, released when cancelled or expired,
put back on the shelf of whichever store takes a return.

The order's status is derived from its fulfilment groups and its money (:func:`_derive_status`),
so an order with a pickup and a delivery reads naturally at every step. The allowed moves:

====================  ====================================================================
order                 placed → paid → (ready_for_pickup → collected | shipped → delivered)
                      placed → ready_for_pickup (reserve in store: paid at the till on pickup)
                      placed | paid → cancelled;  collected | delivered → (partly_)returned
fulfilment group      pending → [in_transit →] ready → collected;  pending → shipped → delivered
====================  ====================================================================
"""

from __future__ import annotations

import hmac
import secrets
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement

from parcours.carts import service as carts
from parcours.catalog import service as catalog
from parcours.core.clock import utcnow
from parcours.core.errors import Conflict, DomainError, InvalidInput, NotFound
from parcours.core.ids import new_id
from parcours.core.money import format_money
from parcours.core.pagination import decode_cursor, encode_cursor
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.models import IdentifierKind
from parcours.inventory import service as inventory
from parcours.inventory.models import MovementKind, ReservationStatus
from parcours.loyalty import service as loyalty
from parcours.notifications import service as notifications
from parcours.orders import sourcing
from parcours.orders.events import (
    OrderCancelled,
    OrderCollected,
    OrderDelivered,
    OrderPaid,
    OrderPlaced,
    OrderReadyForPickup,
    OrderReturned,
    OrderShipped,
)
from parcours.orders.models import (
    PICKUP_METHODS,
    Fulfilment,
    FulfilmentMethod,
    FulfilmentStatus,
    Order,
    OrderEvent,
    OrderLine,
    OrderReturn,
    OrderStatus,
)
from parcours.payments import service as payments
from parcours.payments.models import Payment, PaymentLink, PaymentStatus, Refund
from parcours.payments.providers import PaymentProviders
from parcours.stores import service as stores
from parcours.tracking import service as tracking

#: Delivery is free from this subtotal; below it, a flat fee.
FREE_DELIVERY_FROM = 5000
DELIVERY_FEE = 490
_DONE = frozenset({FulfilmentStatus.COLLECTED.value, FulfilmentStatus.DELIVERED.value})
_PAYABLE = frozenset({OrderStatus.PLACED.value, OrderStatus.READY_FOR_PICKUP.value})


class PaymentDeclined(DomainError):
    status, code, title = 402, "payment_declined", "Payment declined"


@dataclass(frozen=True, slots=True)
class FulfilmentRequest:
    method: FulfilmentMethod
    line_ids: Sequence[str] | None = None  # None: every line not named by another group
    store_id: str | None = None
    address: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    """Where and by whom the order is placed: a shopper online, a till, an associate."""

    channel: str
    store_id: str | None = None
    actor: str | None = None
    kiosk: bool = False
    #: The customer an associate orders for from a walk-in cart (endless aisle): the order joins
    #: her history without touching the cart she may be filling on her phone.
    profile_id: str | None = None


# --- reading -------------------------------------------------------------------------------------


def get_order(*, uow: UnitOfWork, order_id: str) -> Order:
    """An order with its groups and lines, or NotFound ``order_not_found``."""
    order = uow.session.get(Order, order_id)
    if order is None:
        raise NotFound(f"no order {order_id!r}", code="order_not_found")
    return order


def find_order(*, uow: UnitOfWork, order_id: str) -> Order | None:
    """The order with this id, or None (a payment's reference may name something else)."""
    return uow.session.get(Order, order_id) if 0 < len(order_id) <= 40 else None


def lock_order(*, uow: UnitOfWork, order_id: str) -> Order:
    """The order, held for this transaction, with its groups and lines read again once held.

    Every write that depends on what the order owes, has paid or has had returned (payments,
    refunds, returns, cancellation) starts here: on PostgreSQL a concurrent writer waits on the
    row (``SELECT … FOR UPDATE``) and then sees the first one's result; SQLite's writers are
    serialised by ``BEGIN IMMEDIATE`` already. Reading the lines again matters: a request that
    looked at the order before taking the lock must not decide on what it saw then.
    """
    query = (
        select(Order)
        .where(Order.id == order_id)
        .options(selectinload(Order.lines), selectinload(Order.fulfilments))
        .with_for_update(of=Order)
        .execution_options(populate_existing=True)
    )
    order = uow.session.scalars(query).first() if len(order_id) <= 40 else None
    if order is None:
        raise NotFound(f"no order {order_id!r}", code="order_not_found")
    return order


def order_store_ids(order: Order) -> frozenset[str]:
    """The stores an order belongs to: where it was placed, and where each group is collected
    or shipped from. Store staff act on an order only for one of these."""
    ids = {order.store_id} if order.store_id else set()
    for fulfilment in order.fulfilments:
        ids.update(
            location
            for location in (fulfilment.pickup_location_id, fulfilment.source_location_id)
            if location
        )
    return frozenset(ids)


def timeline(*, uow: UnitOfWork, order_id: str) -> list[OrderEvent]:
    return list(
        uow.session.scalars(
            select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
        )
    )


def orders_of(
    *, uow: UnitOfWork, profile_id: str, cursor: str | None = None, limit: int = 20
) -> tuple[list[Order], str | None]:
    """One order history per person, across web, app and till, newest first (merged profiles
    included: she is one person)."""
    survivor = customers.resolve_profile(uow=uow, profile_id=profile_id).id
    ids = [survivor, *customers.merged_profile_ids(uow=uow, profile_id=survivor)]
    # Orders placed before she was known (a guest checkout on her phone) are hers too once her
    # device's anonymous id is linked to her profile.
    devices = [
        identifier.value
        for profile in ids
        for identifier in customers.identifiers_of(uow=uow, profile_id=profile)
        if identifier.kind == IdentifierKind.ANONYMOUS_ID.value
    ]
    mine: ColumnElement[bool] = Order.profile_id.in_(ids)
    if devices:
        mine = or_(mine, Order.anonymous_id.in_(devices))
    statement = select(Order).where(mine)
    if cursor:
        (before,) = decode_cursor(cursor, arity=1)
        statement = statement.where(Order.id < before)
    rows = list(uow.session.scalars(statement.order_by(Order.id.desc()).limit(limit + 1)))
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1].id)
    return rows, None


def list_orders(
    *,
    uow: UnitOfWork,
    pickup_location_id: str | None = None,
    statuses: Sequence[str] = (),
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Order], str | None]:
    """Orders for the back office or a store's pickup desk, newest first."""
    statement = select(Order)
    if pickup_location_id:
        statement = statement.where(
            Order.id.in_(
                select(Fulfilment.order_id).where(
                    Fulfilment.pickup_location_id == pickup_location_id
                )
            )
        )
    if statuses:
        statement = statement.where(Order.status.in_(list(statuses)))
    if cursor:
        (before,) = decode_cursor(cursor, arity=1)
        statement = statement.where(Order.id < before)
    rows = list(uow.session.scalars(statement.order_by(Order.id.desc()).limit(limit + 1)))
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1].id)
    return rows, None


# --- the journey ----------------------------------------------------------------------------------


def _products(
    lines: Sequence[OrderLine], quantities: Mapping[str, int] | None = None
) -> list[dict[str, Any]]:
    return [
        {
            "product_id": line.product_id,
            "variant": line.variant_id,
            "sku": line.sku,
            "name": line.name,
            "price": line.unit_price / 100,
            "quantity": quantities[line.id] if quantities else line.quantity,
        }
        for line in lines
        if quantities is None or line.id in quantities
    ]


def _journey(
    uow: UnitOfWork,
    order: Order,
    name: str,
    properties: Mapping[str, Any],
    *,
    channel: str | None = None,
    store_id: str | None = None,
    at: datetime,
) -> None:
    """Record the order's step on the shopper's timeline, online or at the till alike."""
    tracking.record_domain_event(
        uow=uow,
        name=name,
        properties={"order_id": order.id, "currency": order.currency, **properties},
        channel=channel or order.channel,
        occurred_at=at,
        store_id=store_id or order.store_id,
        anonymous_id=order.anonymous_id,
        profile_id=order.profile_id,
    )


def _log(
    uow: UnitOfWork,
    order: Order,
    kind: str,
    at: datetime,
    *,
    actor: str | None = None,
    location_id: str | None = None,
    **detail: Any,
) -> None:
    uow.session.add(
        OrderEvent(
            id=new_id("oev"),
            order_id=order.id,
            at=at,
            kind=kind,
            status=order.status,
            detail=detail,
            actor=actor,
            location_id=location_id,
        )
    )


def _derive_status(order: Order) -> str:
    """The order's status from its groups and money (see the module's table)."""
    if order.status == OrderStatus.CANCELLED.value:
        return order.status
    returned = sum(line.returned_quantity for line in order.lines)
    if not returned and order.paid_amount and order.refunded_amount >= order.paid_amount:
        return OrderStatus.REFUNDED.value  # every cent given back, nothing brought back
    if returned:
        everything = sum(line.quantity for line in order.lines)
        return (
            OrderStatus.RETURNED if returned >= everything else OrderStatus.PARTLY_RETURNED
        ).value
    groups = [f for f in order.fulfilments if f.status != FulfilmentStatus.CANCELLED.value]
    if groups and all(f.status in _DONE for f in groups):
        pickups = any(f.status == FulfilmentStatus.COLLECTED.value for f in groups)
        return (OrderStatus.COLLECTED if pickups else OrderStatus.DELIVERED).value
    if any(f.status == FulfilmentStatus.READY.value for f in groups):
        return OrderStatus.READY_FOR_PICKUP.value
    if any(f.status == FulfilmentStatus.SHIPPED.value for f in groups):
        return OrderStatus.SHIPPED.value
    if order.paid_at is not None:
        return OrderStatus.PAID.value
    return OrderStatus.PLACED.value


def _touch(order: Order, now: datetime) -> None:
    order.status = _derive_status(order)
    order.updated_at = now
    order.version += 1


def _coupon(order: Order) -> dict[str, Any]:
    """Segment's ``coupon`` and ``discount`` (major units) of an order."""
    return {"coupon": order.promo_code, "discount": (order.discount or 0) / 100}


# --- checkout -------------------------------------------------------------------------------------


def allocate_discount(discount: int, amounts: Sequence[int]) -> list[int]:
    """Spread ``discount`` over lines in proportion to their amounts, rounded down, the pennies
    left on the last line (then the ones before it, never more than a line's own amount): the
    shares add up to the discount exactly, so a return refunds what was really paid."""
    subtotal = sum(amounts)
    if discount <= 0 or subtotal <= 0:
        return [0] * len(amounts)
    discount = min(discount, subtotal)
    shares = [discount * amount // subtotal for amount in amounts]
    left = discount - sum(shares)
    for index in reversed(range(len(amounts))):
        if left <= 0:
            break
        extra = min(left, amounts[index] - shares[index])
        shares[index] += extra
        left -= extra
    return shares


def _assign_lines(
    lines: Sequence[Any], groups: Sequence[FulfilmentRequest]
) -> list[tuple[FulfilmentRequest, list[Any]]]:
    if not groups:
        raise InvalidInput("choose how to receive the items", code="fulfilment_required")
    by_id = {line.id: line for line in lines}
    taken: set[str] = set()
    named = [group for group in groups if group.line_ids is not None]
    rest = [group for group in groups if group.line_ids is None]
    if len(rest) > 1:
        raise InvalidInput(
            "only one fulfilment group may leave line_ids out (it takes the other lines)",
            code="ambiguous_fulfilment",
        )
    assigned: list[tuple[FulfilmentRequest, list[Any]]] = []
    for group in named:
        chosen = []
        for line_id in group.line_ids or ():
            if line_id not in by_id:
                raise InvalidInput(
                    f"line {line_id!r} is not in this cart", code="unknown_line", line_id=line_id
                )
            if line_id in taken:
                raise InvalidInput(
                    f"line {line_id!r} is in two groups", code="line_in_two_groups", line_id=line_id
                )
            taken.add(line_id)
            chosen.append(by_id[line_id])
        if not chosen:
            raise InvalidInput("a fulfilment group needs lines", code="empty_fulfilment")
        assigned.append((group, chosen))
    left = [line for line in lines if line.id not in taken]
    if rest:
        if not left:
            raise InvalidInput("a fulfilment group needs lines", code="empty_fulfilment")
        assigned.append((rest[0], left))
    elif left:
        raise InvalidInput(
            "every line needs a way to reach the shopper",
            code="lines_without_fulfilment",
            line_ids=[line.id for line in left],
        )
    return assigned


def _origin_of(
    placement: Placement, assigned: Sequence[tuple[FulfilmentRequest, sourcing.Sourced]]
) -> str:
    if placement.kiosk:
        return "kiosk"
    if placement.actor is None:
        return "online"
    # An associate ordering what her store cannot hand over now: the endless aisle.
    if any(
        group.method is not FulfilmentMethod.IN_STORE
        and sourced.source_location_id != placement.store_id
        for group, sourced in assigned
    ):
        return "endless_aisle"
    return "till"


def _address(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    required = ("name", "line1", "postcode", "city")
    missing = [key for key in required if not str(value.get(key) or "").strip()]
    if missing:
        raise InvalidInput(
            f"the address needs: {', '.join(missing)}", code="invalid_address", missing=missing
        )
    return {
        key: str(value[key])[:200]
        for key in (*required, "line2", "country", "phone")
        if value.get(key)
    }


def place_order(
    *,
    uow: UnitOfWork,
    cart_id: str,
    groups: Sequence[FulfilmentRequest],
    placement: Placement,
    email: str | None = None,
    locale: str = "fr",
    expected_version: int | None = None,
    payment_window: timedelta = timedelta(minutes=15),
    store_hold: timedelta = timedelta(hours=48),
    delivery_strategy: str = "warehouse_first",
) -> Order:
    """Turn the cart into an order: choose a source per group, reserve every line there (all or
    nothing: one short line refuses the order, nothing stays reserved), and close the cart.
    Records "Checkout Started" on the journey."""
    cart = carts.hold_for_checkout(uow=uow, cart_id=cart_id, expected_version=expected_version)
    lines = carts.active_lines(cart)
    if not lines:
        raise Conflict("the cart is empty", code="cart_empty")
    contact = None
    if email is not None:
        contact = customers.normalise_email(email)
        if contact is None:
            raise InvalidInput("this is not an email address", code="invalid_email")
    assigned_lines = _assign_lines(lines, groups)
    variants = catalog.get_variants(uow=uow, variant_ids=[line.variant_id for line in lines])
    for line in lines:
        variant = variants.get(line.variant_id)
        if variant is None or variant.product_status != "published":
            raise Conflict(
                "an item in the cart is no longer sold",
                code="product_not_for_sale",
                line_id=line.id,
            )
    now = utcnow()
    planned: list[tuple[FulfilmentRequest, sourcing.Sourced, list[Any]]] = []
    for group, group_lines in assigned_lines:
        quantities: dict[str, int] = defaultdict(int)
        for line in group_lines:
            quantities[line.variant_id] += line.quantity
        if group.method in (FulfilmentMethod.IN_STORE,) and placement.actor is None:
            raise InvalidInput("an in-store purchase is made at a till", code="till_only")
        sourced = sourcing.choose_source(
            uow=uow,
            method=group.method,
            quantities=quantities,
            store_id=group.store_id,
            address=_address(group.address),
            delivery_strategy=delivery_strategy,
            now=now,
        )
        planned.append((group, sourced, group_lines))
    pay_in_store = all(g.method is FulfilmentMethod.RESERVE_IN_STORE for g, _, _ in planned)
    subtotal = sum(variants[line.variant_id].price_amount * line.quantity for line in lines)
    delivers = any(
        g.method in (FulfilmentMethod.DELIVERY, FulfilmentMethod.SHIP_FROM_STORE)
        for g, _, _ in planned
    )
    shipping = DELIVERY_FEE if delivers and subtotal < FREE_DELIVERY_FROM else 0
    # The cart's code is checked again here, where she pays: a code that no longer applies
    # (expired, minimum no longer met, not valid on this channel) refuses the checkout with its
    # reason rather than charging her a price she was not shown.
    discount = (
        loyalty.quote_discount(
            uow=uow,
            code=cart.promo_code,
            subtotal=subtotal,
            currency=cart.currency,
            channel=carts.promo_channel(placement.channel),
            at=now,
        )
        if cart.promo_code
        else None
    )
    discount_amount = discount.amount if discount else 0
    order_id = new_id("ord")
    order = Order(
        id=order_id,
        number=f"{order_id[-10:-5]}-{order_id[-5:]}".upper(),
        cart_id=cart.id,
        profile_id=cart.profile_id or placement.profile_id,
        anonymous_id=cart.anonymous_id,
        email=contact,
        locale=locale,
        channel=placement.channel,
        store_id=placement.store_id,
        placed_by=placement.actor,
        origin=_origin_of(placement, [(g, s) for g, s, _ in planned]),
        status=OrderStatus.PLACED.value,
        currency=cart.currency,
        subtotal=subtotal,
        shipping=shipping,
        discount=discount_amount,
        promo_code=discount.code if discount else None,
        total=subtotal - discount_amount + shipping,
        paid_amount=0,
        refunded_amount=0,
        pickup_code=(
            f"{secrets.randbelow(1_000_000):06d}"
            if any(g.method in PICKUP_METHODS for g, _, _ in planned)
            else None
        ),
        # Paid online within the window, or at the till before the store's hold ends.
        payment_due_by=now + (store_hold if pay_in_store else payment_window),
        placed_at=now,
        paid_at=None,
        updated_at=now,
        version=1,
        # Empty from the start: appending must not lazy-load what cannot exist yet.
        fulfilments=[],
        lines=[],
    )
    uow.session.add(order)
    uow.session.flush()
    ttl = store_hold if pay_in_store else payment_window
    position = 0
    for index, (group, sourced, group_lines) in enumerate(planned):
        fulfilment = Fulfilment(
            id=new_id("ful"),
            order_id=order.id,
            position=index,
            method=group.method.value,
            status=FulfilmentStatus.PENDING.value,
            source_location_id=sourced.source_location_id,
            pickup_location_id=sourced.pickup_location_id,
            ready_by=sourced.ready_by,
            address=_address(group.address),
        )
        order.fulfilments.append(fulfilment)
        for line in group_lines:
            variant = variants[line.variant_id]
            reservation = inventory.reserve_stock(
                uow=uow,
                variant_id=line.variant_id,
                location_id=sourced.source_location_id,
                quantity=line.quantity,
                reference=order.id,
                ttl_seconds=int(ttl.total_seconds()),
                actor=placement.actor,
                now=now,
            )
            order.lines.append(
                OrderLine(
                    id=new_id("oln"),
                    order_id=order.id,
                    fulfilment_id=fulfilment.id,
                    position=position,
                    variant_id=line.variant_id,
                    product_id=variant.product_id,
                    sku=variant.sku,
                    name=variant.product_name,
                    attributes=variant.attributes,
                    quantity=line.quantity,
                    unit_price=variant.price_amount,
                    returned_quantity=0,
                    reservation_id=reservation.id,
                    touchpoint=line.touchpoint,
                    medium=line.medium,
                    campaign=line.campaign,
                )
            )
            position += 1
    for order_line, share in zip(
        order.lines,
        allocate_discount(
            discount_amount, [line.unit_price * line.quantity for line in order.lines]
        ),
        strict=True,
    ):
        order_line.discount = share
    if discount is not None:
        # Last: the code's row is held only for the end of the transaction. Used up meanwhile
        # (409 promo_code_exhausted): everything above rolls back, nothing stays reserved.
        loyalty.redeem_promo_code(
            uow=uow,
            code=discount.code,
            order_id=order.id,
            profile_id=order.profile_id,
            amount=discount_amount,
            at=now,
        )
    carts.mark_checked_out(uow=uow, cart_id=cart.id, order_id=order.id)
    _log(uow, order, "placed", now, actor=placement.actor, location_id=placement.store_id)
    uow.record(
        OrderPlaced(
            order_id=order.id,
            channel=order.channel,
            store_id=order.store_id,
            total=order.total,
            currency=order.currency,
        )
    )
    _journey(
        uow,
        order,
        "Checkout Started",
        {
            "value": order.total / 100,
            "revenue": order.subtotal / 100,
            "shipping": order.shipping / 100,
            **_coupon(order),
            "fulfilment": sorted({f.method for f in order.fulfilments}),
            "products": _products(order.lines),
        },
        at=now,
    )
    uow.session.flush()
    return order


# --- payment --------------------------------------------------------------------------------------


def _amount_due(order: Order) -> int:
    return max(0, order.total - order.paid_amount)


def _ensure_reservations(uow: UnitOfWork, order: Order, now: datetime) -> None:
    """Before charging: every line's units must still be held (a sweep may have given them
    back at the very end of the payment window). Re-reserve what can be; refuse otherwise,
    before any money moves."""
    for line in order.lines:
        if line.reservation_id is None:
            continue
        reservation = inventory.get_reservation(uow=uow, reservation_id=line.reservation_id)
        if reservation.status in (
            ReservationStatus.ACTIVE.value,
            ReservationStatus.ALLOCATED.value,
        ):
            continue
        again = inventory.reserve_stock(
            uow=uow,
            variant_id=line.variant_id,
            location_id=reservation.location_id,
            quantity=line.quantity,
            reference=order.id,
            ttl_seconds=900,
            now=now,
        )
        line.reservation_id = again.id


def _pays_in_store(order: Order) -> bool:
    """Reserve in store, pay there: every group is held in a store for payment at its till."""
    groups = [f for f in order.fulfilments if f.status != FulfilmentStatus.CANCELLED.value]
    return bool(groups) and all(f.method == FulfilmentMethod.RESERVE_IN_STORE.value for f in groups)


def _refuse_unpayable(order: Order, now: datetime) -> None:
    if order.status not in _PAYABLE or order.paid_at is not None or _amount_due(order) <= 0:
        raise Conflict(
            f"this order is {order.status}: nothing to pay",
            code="order_not_payable",
            status_now=order.status,
        )
    if order.payment_due_by is not None and order.payment_due_by <= now:
        raise Conflict(
            "the time to pay this order has run out; its items were given back",
            code="payment_window_closed",
        )


def pay_order(
    *,
    uow: UnitOfWork,
    providers: PaymentProviders,
    order_id: str,
    method: str,
    details: Mapping[str, Any],
    idempotency_key: str,
    channel: str,
    store_id: str | None = None,
    actor: str | None = None,
) -> Payment:
    """Pay what the order still owes. A retry with the same Idempotency-Key returns the same
    payment and never charges twice; another key while the order is already paid gets
    ``order_not_payable``: the order is held (:func:`lock_order`) from the check to the charge,
    so two payments racing with different keys can never both be captured. Captured: the order
    is paid and its stock allocated. "Reserve in store" orders are paid at the store's till
    (``pay_in_store`` for a card payment from the storefront)."""
    order = lock_order(uow=uow, order_id=order_id)
    earlier = payments.find_payment(uow=uow, reference=order.id, idempotency_key=idempotency_key)
    if earlier is not None:
        return payments.replay_payment(
            providers=providers,
            payment=earlier,
            method=method,
            details=details,
            channel=channel,
            store_id=store_id,
        )
    now = utcnow()
    _refuse_unpayable(order, now)
    if _pays_in_store(order) and channel != "till":
        raise Conflict(
            "this order is reserved in store: it is paid at the store's till on collection",
            code="pay_in_store",
        )
    # An attempt still waiting for 3-D Secure is abandoned first, so the two can never both
    # capture; what is owed is read again after that (the attempt may have just succeeded).
    payments.abandon_waiting_payments(uow=uow, providers=providers, reference=order.id)
    order.paid_amount = _gross_paid(uow, order)
    _refuse_unpayable(order, now)
    _ensure_reservations(uow, order, now)
    payment = payments.start_payment(
        uow=uow,
        providers=providers,
        reference=order.id,
        amount=_amount_due(order),
        currency=order.currency,
        method=method,
        details=details,
        idempotency_key=idempotency_key,
        channel=channel,
        store_id=store_id,
        actor=actor,
    )
    _settle(uow, order, actor, channel, store_id)
    return payment


def create_order_payment_link(
    *,
    uow: UnitOfWork,
    order_id: str,
    channel: str | None = None,
    store_id: str | None = None,
    ttl_seconds: int | None = None,
) -> PaymentLink:
    """A link (and QR code) to pay what the order still owes, in the order's currency, on the
    shopper's own phone. The amount and currency come from the order, never from the caller."""
    order = lock_order(uow=uow, order_id=order_id)
    _refuse_unpayable(order, utcnow())
    extra = {"ttl_seconds": ttl_seconds} if ttl_seconds is not None else {}
    return payments.create_payment_link(
        uow=uow,
        reference=order.id,
        amount=_amount_due(order),
        currency=order.currency,
        description=f"Commande {order.number}",
        channel=channel or order.channel,
        store_id=store_id if store_id is not None else order.store_id,
        **extra,
    )


def pay_payment_link(
    *,
    uow: UnitOfWork,
    providers: PaymentProviders,
    token: str,
    details: Mapping[str, Any],
    idempotency_key: str,
) -> Payment:
    """Pay a link by card. For an order's link the order is held first and must still owe the
    link's amount in the link's currency: a link made before the order was paid another way is
    refused (``order_not_payable``, ``payment_link_outdated``) and nothing is charged."""
    link = payments.find_payment_link(uow=uow, token=token)
    if link is None or find_order(uow=uow, order_id=link.reference) is None:
        return payments.pay_payment_link(
            uow=uow,
            providers=providers,
            token=token,
            details=details,
            idempotency_key=idempotency_key,
        )
    order = lock_order(uow=uow, order_id=link.reference)
    if payments.find_payment(uow=uow, reference=order.id, idempotency_key=idempotency_key) is None:
        payments.get_payment_link(uow=uow, token=token)  # paid or expired: said first
        _refuse_unpayable(order, utcnow())
        payments.abandon_waiting_payments(uow=uow, providers=providers, reference=order.id)
        order.paid_amount = _gross_paid(uow, order)
        _refuse_unpayable(order, utcnow())
        if link.currency != order.currency or link.amount > _amount_due(order):
            raise Conflict(
                "this link no longer matches what the order owes; ask the shop for a new one",
                code="payment_link_outdated",
            )
    payment = payments.pay_payment_link(
        uow=uow, providers=providers, token=token, details=details, idempotency_key=idempotency_key
    )
    if payment.status == PaymentStatus.CAPTURED.value:
        _settle(uow, order, None, link.channel, link.store_id)
    return payment


def _gross_paid(uow: UnitOfWork, order: Order) -> int:
    """Everything captured for the order in its own currency, refunds included (they are
    counted in ``refunded_amount``). Money in another currency never pays an order."""
    return payments.captured_gross(uow=uow, reference=order.id, currency=order.currency)


def settle_payments(
    *,
    uow: UnitOfWork,
    order_id: str,
    actor: str | None = None,
    channel: str | None = None,
    store_id: str | None = None,
) -> Order:
    """Bring the order up to date with its captured money; once fully paid: allocate the
    stock, mark it paid, record "Order Completed", confirm by email. Safe to call again (the
    synchronous path and the PaymentCaptured handler both do)."""
    return _settle(uow, lock_order(uow=uow, order_id=order_id), actor, channel, store_id)


def _settle(
    uow: UnitOfWork, order: Order, actor: str | None, channel: str | None, store_id: str | None
) -> Order:
    """:func:`settle_payments` on an order this transaction already holds."""
    if order.paid_at is not None or order.status == OrderStatus.CANCELLED.value:
        return order
    order.paid_amount = _gross_paid(uow, order)
    if order.paid_amount < order.total:
        uow.session.flush()
        return order
    now = utcnow()
    for line in order.lines:
        if line.reservation_id is not None:
            inventory.allocate_reservation(
                uow=uow,
                reservation_id=line.reservation_id,
                actor=actor,
                reference=order.id,
                now=now,
            )
    order.paid_at = now
    order.payment_due_by = None
    for fulfilment in order.fulfilments:
        if fulfilment.method == FulfilmentMethod.IN_STORE.value:
            # Bought at the till: handed over there and then.
            fulfilment.status = FulfilmentStatus.COLLECTED.value
            fulfilment.ready_at = fulfilment.done_at = now
        elif fulfilment.source_location_id != fulfilment.pickup_location_id and (
            fulfilment.method == FulfilmentMethod.CLICK_AND_COLLECT.value
        ):
            fulfilment.status = FulfilmentStatus.IN_TRANSIT.value
    _touch(order, now)
    _log(uow, order, "paid", now, actor=actor, location_id=store_id, amount=order.paid_amount)
    uow.record(OrderPaid(order_id=order.id, amount=order.paid_amount, currency=order.currency))
    _journey(
        uow,
        order,
        "Order Completed",
        {
            "total": order.total / 100,
            "revenue": order.subtotal / 100,
            "shipping": order.shipping / 100,
            **_coupon(order),
            "origin": order.origin,
            "products": _products(order.lines),
            # The associate who made the sale (till, endless aisle): store performance per person.
            **({"associate_id": order.placed_by} if order.placed_by else {}),
        },
        channel=channel,
        store_id=store_id,
        at=now,
    )
    if order.status == OrderStatus.COLLECTED.value:
        uow.record(
            OrderCollected(
                order_id=order.id,
                fulfilment_id=order.fulfilments[0].id,
                location_id=order.fulfilments[0].source_location_id,
                waited_seconds=None,
            )
        )
    if order.email:
        notifications.queue_email(
            uow=uow,
            template="order_confirmation",
            to_address=order.email,
            locale=order.locale,
            context=_email_context(order),
            purpose="transactional",
            profile_id=order.profile_id,
            reference=order.id,
        )
    uow.session.flush()
    return order


def _money(order: Order, amount: int) -> str:
    return format_money(amount, order.currency, "en_GB" if order.locale == "en" else "fr_FR")


def _email_context(order: Order) -> dict[str, Any]:
    def money(amount: int) -> str:
        return _money(order, amount)

    methods = {
        "fr": {
            "delivery": "Livraison à domicile",
            "ship_from_store": "Livraison depuis un magasin",
            "click_and_collect": "Retrait en magasin",
            "reserve_in_store": "Réservé en magasin, paiement sur place",
            "in_store": "Acheté en magasin",
        },
        "en": {
            "delivery": "Home delivery",
            "ship_from_store": "Delivery from a store",
            "click_and_collect": "Click and collect",
            "reserve_in_store": "Reserved in store, pay there",
            "in_store": "Bought in store",
        },
    }["en" if order.locale == "en" else "fr"]
    return {
        "order_number": order.number,
        "lines": [
            {
                "name": line.name,
                "quantity": line.quantity,
                "amount": money(line.unit_price * line.quantity),
            }
            for line in order.lines
        ],
        "total": money(order.total),
        "discount": money(order.discount) if order.discount else "",
        "promo_code": order.promo_code or "",
        "fulfilment_summary": ", ".join(methods[f.method] for f in order.fulfilments),
    }


# --- pickup, shipping -----------------------------------------------------------------------------


def _group(order: Order, fulfilment_id: str) -> Fulfilment:
    for fulfilment in order.fulfilments:
        if fulfilment.id == fulfilment_id:
            return fulfilment
    raise NotFound(f"this order has no fulfilment {fulfilment_id!r}", code="fulfilment_not_found")


def _pickups_at(order: Order, location_id: str, statuses: set[str]) -> list[Fulfilment]:
    return [
        f
        for f in order.fulfilments
        if f.pickup_location_id == location_id
        and f.method in {m.value for m in PICKUP_METHODS}
        and f.status in statuses
    ]


def _hours_lines(uow: UnitOfWork, location_id: str, locale: str) -> tuple[str, str, list[str]]:
    card = stores.store_cards(uow=uow).get(location_id)
    if card is None:
        return "", "", []
    days = (
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        if locale == "en"
        else ["Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche"]
    )
    by_day: dict[int, list[str]] = defaultdict(list)
    for row in card.hours:
        by_day[row.weekday].append(f"{row.opens}–{row.closes}")
    closed = "closed" if locale == "en" else "fermé"
    lines = [f"{days[day]} : {', '.join(by_day[day]) or closed}" for day in range(7)]
    address = f"{card.street}, {card.postcode} {card.city}"
    return card.name, address, lines


def mark_ready_for_pickup(
    *,
    uow: UnitOfWork,
    order_id: str,
    location_id: str,
    actor: str | None = None,
    order_url: str = "",
) -> Order:
    """The store put the order on its pickup shelf: tell the shopper by email, with her pickup
    code and the store's hours. Only a paid order, or one reserved to be paid in store."""
    order = get_order(uow=uow, order_id=order_id)
    groups = _pickups_at(
        order, location_id, {FulfilmentStatus.PENDING.value, FulfilmentStatus.IN_TRANSIT.value}
    )
    if not groups:
        raise Conflict(
            "nothing of this order waits to be prepared in this store", code="nothing_to_prepare"
        )
    if order.status == OrderStatus.CANCELLED.value:
        raise Conflict("this order is cancelled", code="order_cancelled")
    if order.paid_at is None and any(
        f.method != FulfilmentMethod.RESERVE_IN_STORE.value for f in groups
    ):
        raise Conflict("this order is not paid yet", code="payment_required")
    now = utcnow()
    for fulfilment in groups:
        fulfilment.status = FulfilmentStatus.READY.value
        fulfilment.ready_at = now
        uow.record(
            OrderReadyForPickup(
                order_id=order.id, fulfilment_id=fulfilment.id, location_id=location_id
            )
        )
    _touch(order, now)
    _log(uow, order, "ready_for_pickup", now, actor=actor, location_id=location_id)
    if order.email:
        store_name, store_address, hours = _hours_lines(uow, location_id, order.locale)
        notifications.queue_email(
            uow=uow,
            template="ready_for_pickup",
            to_address=order.email,
            locale=order.locale,
            context={
                "order_number": order.number,
                "pickup_code": order.pickup_code,
                "store_name": store_name,
                "store_address": store_address,
                "opening_hours": hours,
                "lines": [
                    {"name": line.name, "quantity": line.quantity}
                    for line in order.lines
                    if line.fulfilment_id in {f.id for f in groups}
                ],
                "order_url": order_url,
            },
            purpose="transactional",
            profile_id=order.profile_id,
            reference=order.id,
        )
    uow.session.flush()
    return order


def collect_order(
    *,
    uow: UnitOfWork,
    order_id: str,
    pickup_code: str,
    location_id: str,
    actor: str | None = None,
    at: datetime | None = None,
) -> Order:
    """Hand the order over at the pickup desk, against the shopper's code. Measures her wait:
    from her arrival at the desk (or, never checked in, from this code check) to now."""
    order = get_order(uow=uow, order_id=order_id)
    if not order.pickup_code or not hmac.compare_digest(order.pickup_code, pickup_code.strip()):
        raise Conflict("this pickup code is not this order's", code="wrong_pickup_code")
    groups = _pickups_at(order, location_id, {FulfilmentStatus.READY.value})
    if not groups:
        raise Conflict("nothing of this order is ready in this store", code="not_ready_here")
    if order.paid_at is None:
        raise Conflict(
            "this order is to be paid at the till before it is handed over",
            code="payment_required",
            amount_due=_amount_due(order),
        )
    now = at or utcnow()
    waited = shelf = None
    for fulfilment in groups:
        fulfilment.status = FulfilmentStatus.COLLECTED.value
        fulfilment.done_at = now
        fulfilment.arrived_at = fulfilment.arrived_at or now
        waited = max(0, int((now - fulfilment.arrived_at).total_seconds()))
        shelf = (
            max(0, int((now - fulfilment.ready_at).total_seconds()))
            if fulfilment.ready_at
            else None
        )
        uow.record(
            OrderCollected(
                order_id=order.id,
                fulfilment_id=fulfilment.id,
                location_id=location_id,
                waited_seconds=waited,
                shelf_seconds=shelf,
            )
        )
    _touch(order, now)
    _log(
        uow,
        order,
        "collected",
        now,
        actor=actor,
        location_id=location_id,
        waited_seconds=waited,
        shelf_seconds=shelf,
    )
    _journey(
        uow,
        order,
        "Order Collected",
        {
            "products": _products(
                [line for line in order.lines if line.fulfilment_id in {g.id for g in groups}]
            ),
            "waited_seconds": waited,
            "shelf_seconds": shelf,
        },
        channel="store",
        store_id=location_id,
        at=now,
    )
    uow.session.flush()
    return order


def ship_fulfilment(
    *,
    uow: UnitOfWork,
    order_id: str,
    fulfilment_id: str,
    tracking_reference: str | None = None,
    actor: str | None = None,
) -> Order:
    """A delivery group left its source location."""
    order = get_order(uow=uow, order_id=order_id)
    fulfilment = _group(order, fulfilment_id)
    if fulfilment.method not in (
        FulfilmentMethod.DELIVERY.value,
        FulfilmentMethod.SHIP_FROM_STORE.value,
    ):
        raise Conflict("only a delivery is shipped", code="not_a_delivery")
    if order.paid_at is None:
        raise Conflict("this order is not paid yet", code="payment_required")
    if fulfilment.status != FulfilmentStatus.PENDING.value:
        raise Conflict(f"this delivery is {fulfilment.status}", code="fulfilment_not_pending")
    now = utcnow()
    fulfilment.status = FulfilmentStatus.SHIPPED.value
    fulfilment.tracking_reference = tracking_reference
    _touch(order, now)
    _log(uow, order, "shipped", now, actor=actor, location_id=fulfilment.source_location_id)
    uow.record(
        OrderShipped(
            order_id=order.id,
            fulfilment_id=fulfilment.id,
            location_id=fulfilment.source_location_id,
        )
    )
    uow.session.flush()
    return order


def mark_delivered(
    *, uow: UnitOfWork, order_id: str, fulfilment_id: str, actor: str | None = None
) -> Order:
    order = get_order(uow=uow, order_id=order_id)
    fulfilment = _group(order, fulfilment_id)
    if fulfilment.status != FulfilmentStatus.SHIPPED.value:
        raise Conflict(f"this delivery is {fulfilment.status}", code="fulfilment_not_shipped")
    now = utcnow()
    fulfilment.status = FulfilmentStatus.DELIVERED.value
    fulfilment.done_at = now
    _touch(order, now)
    _log(uow, order, "delivered", now, actor=actor)
    uow.record(OrderDelivered(order_id=order.id, fulfilment_id=fulfilment.id))
    uow.session.flush()
    return order


# --- cancellation and expiry ----------------------------------------------------------------------


def cancel_order(
    *,
    uow: UnitOfWork,
    providers: PaymentProviders | None,
    order_id: str,
    reason: str,
    actor: str | None = None,
) -> Order:
    """Cancel before anything left: reserved units go back at once; a paid order's units go
    back on the shelf and the money back to the card."""
    order = lock_order(uow=uow, order_id=order_id)
    if order.status == OrderStatus.CANCELLED.value:
        return order
    if any(
        f.status
        not in (
            FulfilmentStatus.PENDING.value,
            FulfilmentStatus.IN_TRANSIT.value,
            FulfilmentStatus.READY.value,
        )
        for f in order.fulfilments
    ):
        raise Conflict(
            "part of this order has left already: return it instead", code="order_not_cancellable"
        )
    now = utcnow()
    for line in order.lines:
        if line.reservation_id is None:
            continue
        reservation = inventory.get_reservation(uow=uow, reservation_id=line.reservation_id)
        if reservation.status == ReservationStatus.ACTIVE.value:
            inventory.release_reservation(
                uow=uow, reservation_id=reservation.id, actor=actor, now=now
            )
        elif reservation.status == ReservationStatus.ALLOCATED.value:
            inventory.adjust_stock(
                uow=uow,
                variant_id=line.variant_id,
                location_id=reservation.location_id,
                delta=line.quantity,
                reason="order cancelled",
                actor=actor,
                kind=MovementKind.RETURN,
                reference=order.id,
                now=now,
            )
    refunded = 0
    if order.paid_amount > order.refunded_amount:
        if providers is None:
            raise Conflict(
                "a paid order is cancelled by staff, with its refund", code="refund_needed"
            )
        due_back = order.paid_amount - order.refunded_amount
        refunded, _ = _refund(uow, providers, order, due_back, f"cancel:{order.id}", reason, actor)
        order.refunded_amount += refunded
    for fulfilment in order.fulfilments:
        fulfilment.status = FulfilmentStatus.CANCELLED.value
    order.status = OrderStatus.CANCELLED.value
    order.payment_due_by = None
    order.updated_at = now
    order.version += 1
    if order.promo_code:
        # The code's use comes back: a capped code is not lost to an order never fulfilled.
        loyalty.release_redemption(uow=uow, order_id=order.id, at=now)
    _log(uow, order, "cancelled", now, actor=actor, reason=reason, refunded=refunded)
    uow.record(OrderCancelled(order_id=order.id, reason=reason))
    _journey(uow, order, "Order Cancelled", {"total": order.total / 100, "reason": reason}, at=now)
    uow.session.flush()
    return order


def cancel_unpaid_orders(*, uow: UnitOfWork, now: datetime | None = None, limit: int = 200) -> int:
    """Orders whose payment window closed give their stock back: the sweep the worker runs."""
    now = now or utcnow()
    due = list(
        uow.session.scalars(
            select(Order.id)
            .where(
                Order.status == OrderStatus.PLACED.value,
                Order.payment_due_by.is_not(None),
                Order.payment_due_by <= now,
            )
            .order_by(Order.payment_due_by)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for order_id in due:
        cancel_order(uow=uow, providers=None, order_id=order_id, reason="payment_window_closed")
    return len(due)


# --- returns anywhere -----------------------------------------------------------------------------


def _refund(
    uow: UnitOfWork,
    providers: PaymentProviders,
    order: Order,
    amount: int,
    key: str,
    reason: str,
    actor: str | None,
) -> tuple[int, list[str]]:
    """Refund ``amount`` to the order's own payments, newest first: the money goes back where
    it came from (the card, or cash at the till)."""
    left = amount
    refund_ids = []
    for payment in sorted(
        payments.payments_for(uow=uow, reference=order.id), key=lambda p: p.created_at, reverse=True
    ):
        if left <= 0:
            break
        refundable = (
            payment.amount - payment.refunded_amount
            if payment.status in ("captured", "partially_refunded")
            else 0
        )
        if refundable <= 0:
            continue
        part = min(left, refundable)
        refund = payments.refund_payment(
            uow=uow,
            providers=providers,
            payment_id=payment.id,
            amount=part,
            reason=reason or "return",
            idempotency_key=f"{key}:{payment.id}",
            actor=actor,
        )
        refund_ids.append(refund.id)
        left -= part
    return amount - left, refund_ids


def refund_order_payment(
    *,
    uow: UnitOfWork,
    providers: PaymentProviders,
    payment_id: str,
    amount: int,
    reason: str,
    idempotency_key: str,
    actor: str | None = None,
) -> Refund:
    """Refund part of one of an order's payments without a return (a goodwill gesture, a
    missing item): the order is held, and its refunded amount and status follow at once."""
    payment = payments.get_payment(uow=uow, payment_id=payment_id)
    order = lock_order(uow=uow, order_id=payment.reference)
    refund = payments.refund_payment(
        uow=uow,
        providers=providers,
        payment_id=payment.id,
        amount=amount,
        reason=reason,
        idempotency_key=idempotency_key,
        actor=actor,
    )
    _follow_refunds(uow, order, actor)
    return refund


def follow_refunds(*, uow: UnitOfWork, order_id: str, actor: str | None = None) -> Order:
    """Bring the order's refunded amount up to what its payments gave back, whatever route
    made the refund (a return, a cancellation, the payments API, a provider's dashboard)."""
    return _follow_refunds(uow, lock_order(uow=uow, order_id=order_id), actor)


def _follow_refunds(uow: UnitOfWork, order: Order, actor: str | None) -> Order:
    """:func:`follow_refunds` on an order this transaction already holds."""
    refunded = payments.refunded_total(uow=uow, reference=order.id, currency=order.currency)
    if refunded == order.refunded_amount:
        return order
    given = refunded - order.refunded_amount
    now = utcnow()
    order.refunded_amount = refunded
    _touch(order, now)
    _log(uow, order, "refunded", now, actor=actor, amount=given)
    uow.session.flush()
    return order


def _discount_share(line: OrderLine, quantity: int) -> int:
    """The part of the line's discount borne by the next ``quantity`` units returned: rounded
    so that returning every unit, in any number of returns, gives back exactly its discount."""
    if not line.discount:
        return 0
    before = line.returned_quantity
    return (line.discount * (before + quantity)) // line.quantity - (
        line.discount * before
    ) // line.quantity


def return_items(
    *,
    uow: UnitOfWork,
    providers: PaymentProviders,
    order_id: str,
    quantities: Mapping[str, int],
    location_id: str,
    idempotency_key: str,
    reason: str = "",
    actor: str | None = None,
) -> OrderReturn:
    """Take items back in any store: they go back on that store's shelf and the money back to
    the original payment. Records "Order Refunded" on the journey, in that store.

    The order is held from the check of what may still come back to the restock, so returns
    racing for the same unit give one return and one restock, never phantom stock."""
    order = lock_order(uow=uow, order_id=order_id)
    existing = uow.session.scalars(
        select(OrderReturn).where(
            OrderReturn.order_id == order.id, OrderReturn.idempotency_key == idempotency_key
        )
    ).first()
    if existing is not None:
        return existing
    card = stores.store_cards(uow=uow).get(location_id)
    if card is None or card.kind != "store":
        raise NotFound(f"no store {location_id!r}", code="store_not_found")
    if not quantities:
        raise InvalidInput("name the lines and quantities to return", code="nothing_to_return")
    lines = {line.id: line for line in order.lines}
    done = {f.id for f in order.fulfilments if f.status in _DONE}
    amount = 0
    for line_id, quantity in quantities.items():
        line = lines.get(line_id)
        if line is None:
            raise InvalidInput(f"line {line_id!r} is not in this order", code="unknown_line")
        if line.fulfilment_id not in done:
            raise Conflict(
                "this item has not been handed over yet", code="not_returnable", line_id=line_id
            )
        if quantity <= 0 or quantity > line.quantity - line.returned_quantity:
            raise InvalidInput(
                f"at most {line.quantity - line.returned_quantity} of this line can come back",
                code="invalid_quantity",
                line_id=line_id,
            )
        amount += line.unit_price * quantity - _discount_share(line, quantity)
    now = utcnow()
    for line_id, quantity in quantities.items():
        line = lines[line_id]
        line.returned_quantity += quantity
        inventory.adjust_stock(
            uow=uow,
            variant_id=line.variant_id,
            location_id=location_id,
            delta=quantity,
            reason="customer return",
            actor=actor,
            kind=MovementKind.RETURN,
            reference=order.id,
            now=now,
        )
    refunded, refund_ids = _refund(
        uow, providers, order, amount, f"return:{idempotency_key}", reason, actor
    )
    order.refunded_amount += refunded
    record = OrderReturn(
        id=new_id("ret"),
        order_id=order.id,
        location_id=location_id,
        lines=[{"line_id": k, "quantity": v} for k, v in quantities.items()],
        amount=refunded,
        refund_ids=refund_ids,
        reason=reason[:500],
        actor=actor,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    uow.session.add(record)
    _touch(order, now)
    _log(uow, order, "returned", now, actor=actor, location_id=location_id, amount=refunded)
    uow.record(
        OrderReturned(
            order_id=order.id,
            return_id=record.id,
            location_id=location_id,
            amount=refunded,
            currency=order.currency,
        )
    )
    _journey(
        uow,
        order,
        "Order Refunded",
        {"total": refunded / 100, "products": _products(order.lines, dict(quantities))},
        channel="store",
        store_id=location_id,
        at=now,
    )
    if order.email and refunded:
        notifications.queue_email(
            uow=uow,
            template="order_refunded",
            to_address=order.email,
            locale=order.locale,
            context={
                "order_number": order.number,
                "amount": _money(order, refunded),
            },
            purpose="transactional",
            profile_id=order.profile_id,
            reference=order.id,
        )
    uow.session.flush()
    return record


def erase_customer_data(
    *,
    uow: UnitOfWork,
    profile_id: str,
    emails: Sequence[str] = (),
    anonymous_ids: Sequence[str] = (),
) -> int:
    """Right to erasure: every order that is hers — placed under her profile (or one merged
    into it), on one of her devices (``anonymous_ids``: a guest checkout on her phone) or under
    one of her addresses (``emails``: a guest checkout anywhere) — keeps its amounts and items
    (the shop's accounts need them) but loses her email and delivery addresses, and the messages
    about it (the confirmation) lose theirs. Returns how many orders were touched."""
    cluster = [profile_id, *customers.merged_profile_ids(uow=uow, profile_id=profile_id)]
    hers: ColumnElement[bool] = Order.profile_id.in_(cluster)
    if anonymous_ids:
        hers = or_(hers, Order.anonymous_id.in_(list(anonymous_ids)))
    if emails:
        hers = or_(hers, Order.email.in_(list(emails)))  # stored normalised, as emails are
    orders = list(uow.session.scalars(select(Order).where(hers)))
    addresses = sorted({order.email for order in orders if order.email})
    for order in orders:
        order.email = None
        for fulfilment in order.fulfilments:
            fulfilment.address = None
    uow.session.flush()
    notifications.erase_messages_about(
        uow=uow, references=[order.id for order in orders], addresses=addresses
    )
    return len(orders)


def returns_of(*, uow: UnitOfWork, order_ids: Sequence[str]) -> list[OrderReturn]:
    """The returns of these orders, newest first: the associate's 360 shows them on her
    timeline (read only)."""
    if not order_ids:
        return []
    return list(
        uow.session.scalars(
            select(OrderReturn)
            .where(OrderReturn.order_id.in_(list(order_ids)))
            .order_by(OrderReturn.created_at.desc(), OrderReturn.id.desc())
        )
    )
