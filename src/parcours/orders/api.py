"""JSON routes of checkout and orders: place, pay (card, cash, terminal, link), prepare, hand
over, ship, cancel, return anywhere; one order history per shopper across channels.

A shopper reaches her own orders through her storefront session; store staff act for their
stores (``require_store``); servers with a secret key act for all. Payments require an
``Idempotency-Key``: a retried request never charges twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt

from parcours.carts import service as carts
from parcours.carts.api import CART_ACCESS, TILL, authorise_cart
from parcours.catalog import qr
from parcours.core.auth.models import KeyKind, Role
from parcours.core.auth.principal import STORE_STAFF, STOREFRONT, AccessPolicy, Principal
from parcours.core.deps import SettingsDep, UowDep
from parcours.core.errors import Forbidden, InvalidInput
from parcours.core.pagination import MAX_LIMIT
from parcours.core.uow import UnitOfWork
from parcours.customers import shoppers
from parcours.customers.api import CUSTOMERS_READ
from parcours.customers.http import shopper_token
from parcours.orders import pickup_desk, service, till
from parcours.orders.models import Order
from parcours.orders.schemas import (
    CancelIn,
    CheckoutCreate,
    CollectIn,
    DeliveredIn,
    FulfilmentRead,
    OrderEventRead,
    OrderLineRead,
    OrderPage,
    OrderPaymentRead,
    OrderRead,
    OrderSummaryRead,
    PaymentIn,
    PaymentLinkRead,
    PaymentRead,
    PickupStoreIn,
    ReturnCreate,
    ReturnRead,
    ShipIn,
)
from parcours.payments.models import Payment

#: Reading orders: store staff and marketers, servers, and a shopper's storefront (her own).
ORDER_READ = AccessPolicy(
    "order_read",
    roles=frozenset({*STORE_STAFF, Role.MARKETER}),
    keys=frozenset({KeyKind.SECRET, KeyKind.PUBLISHABLE}),
)
#: Preparing, handing over, shipping and taking back: store staff for their stores, servers.
ORDER_FULFIL = AccessPolicy("order_fulfil", roles=STORE_STAFF, keys=frozenset({KeyKind.SECRET}))

router = APIRouter(prefix="/v1", tags=["orders"])

CartCaller = Annotated[Principal, Depends(CART_ACCESS)]
Storefront = Annotated[Principal, Depends(STOREFRONT)]
Reader = Annotated[Principal, Depends(ORDER_READ)]
Fulfiller = Annotated[Principal, Depends(ORDER_FULFIL)]
CustomerReader = Annotated[Principal, Depends(CUSTOMERS_READ)]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=32)]
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=255, description="required")
]
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def _staff(principal: Principal) -> bool:
    return principal.kind == "staff" or principal.key_kind is KeyKind.SECRET


def _actor(principal: Principal) -> str | None:
    return principal.id if principal.kind == "staff" else None


def _require_key(key: str | None) -> str:
    if not key:
        raise InvalidInput(
            "send an Idempotency-Key header: a retried payment must never charge twice",
            code="idempotency_key_required",
        )
    return key


def _authorise_order(request: Request, uow: UnitOfWork, principal: Principal, order: Order) -> None:
    """Staff and servers see every order; a storefront only its shopper's."""
    if _staff(principal):
        return
    session = shoppers.require_shopper_session(uow=uow, token=shopper_token(request))
    mine = (order.profile_id is not None and order.profile_id == session.profile_id) or (
        order.anonymous_id is not None and order.anonymous_id == session.anonymous_id
    )
    if not mine:
        raise Forbidden("this order belongs to another shopper", code="order_not_yours")


def require_order_scope(principal: Principal, order: Order) -> None:
    """Store staff act on an order (payment, link, refund) only for one of its stores; servers,
    managers and admins on every order; shoppers are checked by :func:`_authorise_order`."""
    if principal.kind == "staff":
        principal.require_any_store(service.order_store_ids(order))


def order_read(
    order: Order, *, events: list[Any] | None = None, show_code: bool = True
) -> OrderRead:
    return OrderRead(
        id=order.id,
        number=order.number,
        status=order.status,
        channel=order.channel,
        origin=order.origin,
        store_id=order.store_id,
        profile_id=order.profile_id,
        currency=order.currency,
        subtotal=order.subtotal,
        shipping=order.shipping,
        discount=order.discount or 0,
        promo_code=order.promo_code,
        total=order.total,
        paid_amount=order.paid_amount,
        refunded_amount=order.refunded_amount,
        amount_due=max(0, order.total - order.paid_amount),
        pickup_code=order.pickup_code if show_code else None,
        payment_due_by=order.payment_due_by,
        placed_at=order.placed_at,
        paid_at=order.paid_at,
        fulfilments=[
            FulfilmentRead.model_validate(fulfilment, from_attributes=True)
            for fulfilment in order.fulfilments
        ],
        lines=[
            OrderLineRead(
                id=line.id,
                fulfilment_id=line.fulfilment_id,
                variant_id=line.variant_id,
                product_id=line.product_id,
                sku=line.sku,
                name=line.name,
                attributes=line.attributes,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=line.unit_price * line.quantity,
                discount=line.discount or 0,
                returned_quantity=line.returned_quantity,
                touchpoint=line.touchpoint,
                medium=line.medium,
                campaign=line.campaign,
            )
            for line in order.lines
        ],
        timeline=None
        if events is None
        else [OrderEventRead.model_validate(event, from_attributes=True) for event in events],
    )


def _summary(order: Order) -> OrderSummaryRead:
    return OrderSummaryRead(
        id=order.id,
        number=order.number,
        status=order.status,
        channel=order.channel,
        origin=order.origin,
        store_id=order.store_id,
        total=order.total,
        currency=order.currency,
        placed_at=order.placed_at,
        item_count=sum(line.quantity for line in order.lines),
    )


@router.post(
    "/carts/{cart_id}/checkout", status_code=status.HTTP_201_CREATED, response_model=OrderRead
)
def checkout(
    cart_id: str,
    body: CheckoutCreate,
    request: Request,
    principal: CartCaller,
    uow: UowDep,
    settings: SettingsDep,
    if_match: IfMatch = None,
) -> OrderRead:
    """Place the order: stock is reserved at each group's source until it is paid (the payment
    window) or, for "reserve in store", for the store's hold. The cart closes."""
    cart = carts.get_cart(uow=uow, cart_id=cart_id)
    session = authorise_cart(request, uow, principal, cart)
    if principal.kind == "staff":
        if body.store_id is None:
            raise InvalidInput("staff name the store the sale is made in", code="store_required")
        principal.require_store(body.store_id)
        placement = service.Placement(
            channel="till",
            store_id=body.store_id,
            actor=principal.id,
        )
    else:
        if body.store_id is not None and principal.key_kind is not KeyKind.SECRET:
            # The store an order is credited to is where a till or an associate sold it, never
            # a shopper's claim (a kiosk's orders are placed by its own pages).
            raise InvalidInput(
                "store_id is set by store staff at a till", code="store_id_not_allowed"
            )
        channel = session.channel if session is not None else "server"
        placement = service.Placement(
            channel=channel, store_id=body.store_id, kiosk=channel == "kiosk"
        )
    order = service.place_order(
        uow=uow,
        cart_id=cart.id,
        groups=[
            service.FulfilmentRequest(
                method=group.method,
                line_ids=group.line_ids,
                store_id=group.store_id,
                address=group.address.model_dump() if group.address else None,
            )
            for group in body.fulfilments
        ],
        placement=placement,
        email=body.email,
        locale=body.locale,
        expected_version=carts.parse_if_match(if_match),
        payment_window=timedelta(seconds=settings.reservation_ttl_seconds),
        store_hold=timedelta(hours=settings.store_hold_hours),
        delivery_strategy=settings.delivery_sourcing,
    )
    answer = order_read(order)
    uow.commit()
    request.app.state.live.publish(
        f"cart:{cart.id}", {"type": "ended", "cart_id": cart.id, "order_id": order.id}
    )
    return answer


@router.get("/orders/{order_id}", response_model=OrderRead)
def read_order(order_id: str, request: Request, principal: Reader, uow: UowDep) -> OrderRead:
    """An order with its groups, lines and timeline."""
    order = service.get_order(uow=uow, order_id=order_id)
    _authorise_order(request, uow, principal, order)
    show_code = not (principal.kind == "staff" and principal.role is Role.MARKETER)
    if show_code and principal.kind == "staff" and not principal.acts_for_all_stores:
        # Any store takes a return, so an associate reads any order; its pickup code, which
        # hands the parcel over, only where it is collected.
        show_code = any(f.pickup_location_id in principal.store_ids for f in order.fulfilments)
    return order_read(
        order, events=service.timeline(uow=uow, order_id=order.id), show_code=show_code
    )


@router.get("/orders", response_model=OrderPage)
def list_orders(
    principal: Reader,
    uow: UowDep,
    pickup_store_id: Annotated[str | None, Query(max_length=40)] = None,
    status_in: Annotated[list[str] | None, Query(alias="status", max_length=10)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> OrderPage:
    """Orders for the back office, or one store's pickup desk (``pickup_store_id``)."""
    if not _staff(principal):
        raise Forbidden(
            "a storefront reads its shopper's orders at /v1/me/orders", code="insufficient_role"
        )
    if principal.role is Role.ASSOCIATE:
        # An associate sees her own stores' desks, never another store's queue or the network's.
        if pickup_store_id is None:
            raise Forbidden(
                "name your store's pickup_store_id to list its orders", code="store_out_of_scope"
            )
        principal.require_store(pickup_store_id)
    rows, next_cursor = service.list_orders(
        uow=uow,
        pickup_location_id=pickup_store_id,
        statuses=status_in or (),
        cursor=cursor,
        limit=limit,
    )
    return OrderPage(items=[_summary(order) for order in rows], next_cursor=next_cursor)


@router.get("/me/orders", response_model=OrderPage)
def my_orders(
    request: Request, _: Storefront, uow: UowDep, cursor: Cursor = None, limit: Limit = 20
) -> OrderPage:
    """The signed-in shopper's orders from every channel: web, app and till alike."""
    session = shoppers.require_shopper_session(uow=uow, token=shopper_token(request))
    if session.profile_id is None:
        raise Forbidden("sign in to see your orders", code="sign_in_required")
    rows, next_cursor = service.orders_of(
        uow=uow, profile_id=session.profile_id, cursor=cursor, limit=limit
    )
    return OrderPage(items=[_summary(order) for order in rows], next_cursor=next_cursor)


@router.get("/customers/{profile_id}/orders", response_model=OrderPage, tags=["customers"])
def customer_orders(
    profile_id: str, _: CustomerReader, uow: UowDep, cursor: Cursor = None, limit: Limit = 20
) -> OrderPage:
    """A customer's one order history across channels, for the associate's 360."""
    rows, next_cursor = service.orders_of(
        uow=uow, profile_id=profile_id, cursor=cursor, limit=limit
    )
    return OrderPage(items=[_summary(order) for order in rows], next_cursor=next_cursor)


def payment_read(payment: Payment, change_due: int | None = None) -> PaymentRead:
    return PaymentRead(
        id=payment.id,
        status=payment.status,
        method=payment.method,
        provider=payment.provider,
        amount=payment.amount,
        currency=payment.currency,
        failure_code=payment.failure_code,
        failure_message=payment.failure_message,
        card_brand=payment.card_brand,
        card_last4=payment.card_last4,
        next_action_url=payment.next_action_url,
        change_due=change_due,
    )


@router.post(
    "/orders/{order_id}/payments",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderPaymentRead,
)
def pay_order(
    order_id: str,
    body: PaymentIn,
    request: Request,
    principal: CartCaller,
    uow: UowDep,
    idempotency_key: IdempotencyKey = None,
) -> OrderPaymentRead:
    """Pay what the order owes: by card (a test-provider token or a Stripe PaymentMethod), or at
    the till in cash or on the card terminal (store staff). Declined: 402 with the reason, the
    order still waiting for another try."""
    key = _require_key(idempotency_key)
    order = service.get_order(uow=uow, order_id=order_id)
    _authorise_order(request, uow, principal, order)
    require_order_scope(principal, order)
    details: dict[str, Any]
    if body.method == "card":
        if body.token:
            details = {"token": body.token}
        elif body.payment_method:
            details = {"payment_method": body.payment_method}
        else:
            raise InvalidInput("a card payment needs a token", code="card_token_required")
        channel = order.channel if not _staff(principal) else "till"
    else:
        if principal.kind != "staff":
            raise Forbidden("cash and terminal payments are taken at a till", code="till_only")
        if body.store_id is None:
            raise InvalidInput("name the till's store", code="store_required")
        principal.require_store(body.store_id)
        details = (
            {"tendered": body.tendered}
            if body.method == "cash"
            else {"terminal_reference": body.terminal_reference}
        )
        channel = "till"
    store_id = body.store_id if principal.kind == "staff" else None
    if store_id is not None and body.method == "card":
        principal.require_store(store_id)  # cash and terminal checked it above
    payment = service.pay_order(
        uow=uow,
        providers=request.app.state.payment_providers,
        order_id=order.id,
        method=body.method,
        details={k: v for k, v in details.items() if v is not None},
        idempotency_key=key,
        channel=channel,
        store_id=store_id,
        actor=_actor(principal),
    )
    change = (
        body.tendered - payment.amount
        if body.method == "cash" and body.tendered is not None and payment.status == "captured"
        else None
    )
    answer = OrderPaymentRead(payment=payment_read(payment, change), order=order_read(order))
    uow.commit()
    if payment.status == "failed":
        raise service.PaymentDeclined(
            payment.failure_message or "the card was declined",
            code="payment_declined",
            decline_code=payment.failure_code,
            payment_id=payment.id,
        )
    return answer


@router.post(
    "/orders/{order_id}/payment-link",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentLinkRead,
)
def create_payment_link(
    order_id: str, request: Request, principal: CartCaller, uow: UowDep, settings: SettingsDep
) -> PaymentLinkRead:
    """A link and QR code to pay this order on the shopper's own phone: for an order started at
    a kiosk, a till or an associate's tablet."""
    order = service.get_order(uow=uow, order_id=order_id)
    _authorise_order(request, uow, principal, order)
    require_order_scope(principal, order)
    link = service.create_order_payment_link(uow=uow, order_id=order.id)
    uow.commit()
    url = f"{settings.base_url}{link.url_path}"
    return PaymentLinkRead(
        url=url,
        token=link.token,
        qr_svg=qr.render(url, qr.QrFormat.SVG, title=f"Payer {order.number}").decode(),
        amount=link.amount,
        currency=link.currency,
        expires_at=link.expires_at,
    )


@router.post("/orders/{order_id}/ready", response_model=OrderRead)
def mark_ready(
    order_id: str, body: PickupStoreIn, principal: Fulfiller, uow: UowDep, settings: SettingsDep
) -> OrderRead:
    """The order is on this store's pickup shelf: the shopper gets an email with her code."""
    principal.require_store(body.store_id)
    order = service.mark_ready_for_pickup(
        uow=uow,
        order_id=order_id,
        location_id=body.store_id,
        actor=_actor(principal),
        order_url=f"{settings.base_url}/commandes/{order_id}",
    )
    answer = order_read(order)
    uow.commit()
    return answer


@router.post("/orders/{order_id}/collect", response_model=OrderRead)
def collect(order_id: str, body: CollectIn, principal: Fulfiller, uow: UowDep) -> OrderRead:
    """Hand the order over at the pickup desk, against the shopper's 6-digit code."""
    principal.require_store(body.store_id)
    order = service.collect_order(
        uow=uow,
        order_id=order_id,
        pickup_code=body.pickup_code,
        location_id=body.store_id,
        actor=_actor(principal),
    )
    answer = order_read(order)
    uow.commit()
    return answer


@router.post("/orders/{order_id}/ship", response_model=OrderRead)
def ship(order_id: str, body: ShipIn, principal: Fulfiller, uow: UowDep) -> OrderRead:
    order = service.get_order(uow=uow, order_id=order_id)
    source = next(
        (f.source_location_id for f in order.fulfilments if f.id == body.fulfilment_id), None
    )
    if source is not None:
        principal.require_store(source)
    order = service.ship_fulfilment(
        uow=uow,
        order_id=order_id,
        fulfilment_id=body.fulfilment_id,
        tracking_reference=body.tracking_reference,
        actor=_actor(principal),
    )
    answer = order_read(order)
    uow.commit()
    return answer


@router.post("/orders/{order_id}/delivered", response_model=OrderRead)
def delivered(order_id: str, body: DeliveredIn, principal: Fulfiller, uow: UowDep) -> OrderRead:
    if not principal.acts_for_all_stores:
        raise Forbidden(
            "deliveries are confirmed by the back office or the carrier", code="insufficient_role"
        )
    order = service.mark_delivered(
        uow=uow, order_id=order_id, fulfilment_id=body.fulfilment_id, actor=_actor(principal)
    )
    answer = order_read(order)
    uow.commit()
    return answer


@router.post("/orders/{order_id}/cancel", response_model=OrderRead)
def cancel(
    order_id: str, body: CancelIn, request: Request, principal: CartCaller, uow: UowDep
) -> OrderRead:
    """Cancel: the shopper while it is unpaid; staff also once paid (with the refund)."""
    order = service.get_order(uow=uow, order_id=order_id)
    _authorise_order(request, uow, principal, order)
    if not _staff(principal) and order.paid_at is not None:
        raise Forbidden("a paid order is cancelled by the shop: contact us", code="ask_the_shop")
    if principal.kind == "staff" and not principal.acts_for_all_stores:
        stores_of_order = {f.source_location_id for f in order.fulfilments} | {
            f.pickup_location_id for f in order.fulfilments if f.pickup_location_id
        }
        if order.store_id:
            stores_of_order.add(order.store_id)
        if not stores_of_order & principal.store_ids:
            raise Forbidden("this order is not one of your stores'", code="store_out_of_scope")
    order = service.cancel_order(
        uow=uow,
        providers=request.app.state.payment_providers,
        order_id=order.id,
        reason=body.reason,
        actor=_actor(principal),
    )
    answer = order_read(order)
    uow.commit()
    return answer


@router.post(
    "/orders/{order_id}/returns", status_code=status.HTTP_201_CREATED, response_model=ReturnRead
)
def return_items(
    order_id: str,
    body: ReturnCreate,
    request: Request,
    principal: Fulfiller,
    uow: UowDep,
    idempotency_key: IdempotencyKey = None,
) -> ReturnRead:
    """Take items back in this store, whatever the channel they were bought on: restocked here,
    refunded to the original payment."""
    key = _require_key(idempotency_key)
    principal.require_store(body.store_id)
    quantities: dict[str, int] = {}
    for line in body.lines:
        quantities[line.line_id] = quantities.get(line.line_id, 0) + line.quantity
    record = service.return_items(
        uow=uow,
        providers=request.app.state.payment_providers,
        order_id=order_id,
        quantities=quantities,
        location_id=body.store_id,
        idempotency_key=key,
        reason=body.reason,
        actor=_actor(principal),
    )
    order = service.get_order(uow=uow, order_id=order_id)
    answer = ReturnRead(
        id=record.id,
        order_id=record.order_id,
        location_id=record.location_id,
        amount=record.amount,
        refund_ids=list(record.refund_ids),
        lines=list(record.lines),
        created_at=record.created_at,
        order_status=order.status,
    )
    uow.commit()
    return answer


# --- the till's one-request sale (the offline till's queue) ---------------------------------------


class TillSaleLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variant_id: str | None = Field(default=None, max_length=40)
    sku: str | None = Field(default=None, max_length=64)
    gtin: str | None = Field(default=None, max_length=14)
    quantity: StrictInt = Field(default=1, ge=1, le=99)


class TillSalePaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: Literal["cash", "terminal", "card_terminal"]
    tendered: StrictInt | None = Field(default=None, ge=0, le=10_000_000, description="cash given")
    terminal_reference: str | None = Field(default=None, max_length=80)


class TillSaleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    store_id: str = Field(min_length=1, max_length=40)
    lines: list[TillSaleLineIn] = Field(min_length=1, max_length=100)
    payment: TillSalePaymentIn
    profile_id: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=320, description="send her a receipt")
    cart_id: str | None = Field(
        default=None, max_length=40, description="the till cart the sale was built from: closed"
    )
    sold_at: AwareDatetime = Field(
        description="the till's clock when the sale was finalised, with its UTC offset"
    )
    locale: Literal["fr", "en"] = "fr"


@router.post(
    "/till/sales",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderPaymentRead,
    responses={200: {"description": "this Idempotency-Key already recorded the sale"}},
)
def record_till_sale(
    body: TillSaleCreate,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(TILL)],
    uow: UowDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> OrderPaymentRead:
    """A whole sale in one request — cart, in-store order, cash or terminal payment — as the
    offline till sends what it queued. ``Idempotency-Key`` is required: sent again (after a
    dropped connection, from another session), the sale is recorded once. Short stock: 409
    ``insufficient_stock`` and nothing is kept."""
    key = _require_key(idempotency_key)
    principal.require_store(body.store_id)
    sale = till.record_till_sale(
        uow=uow,
        providers=request.app.state.payment_providers,
        store_id=body.store_id,
        lines=[
            till.TillLine(
                quantity=line.quantity, variant_id=line.variant_id, sku=line.sku, gtin=line.gtin
            )
            for line in body.lines
        ],
        payment=till.TillPayment(
            method=body.payment.method,
            tendered=body.payment.tendered,
            terminal_reference=body.payment.terminal_reference,
        ),
        idempotency_key=key,
        sold_at=body.sold_at,
        # A server key stands for a till device: its id is who recorded the sale.
        actor=principal.id,
        currency=settings.default_currency,
        profile_id=body.profile_id,
        email=body.email,
        cart_id=body.cart_id,
        locale=body.locale,
    )
    payment = sale.payment
    answer = OrderPaymentRead(
        payment=payment_read(payment, payment.change_due), order=order_read(sale.order)
    )
    uow.commit()
    if sale.replayed:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    elif body.cart_id is not None:
        request.app.state.live.publish(
            f"cart:{body.cart_id}", {"type": "ended", "cart_id": body.cart_id}
        )
    return answer


@router.post("/orders/{order_id}/arrived", response_model=OrderRead)
def customer_arrived(
    order_id: str, body: PickupStoreIn, request: Request, principal: CartCaller, uow: UowDep
) -> OrderRead:
    """She is at the pickup desk of ``store_id``: the associate checks her in, or she does from
    her phone. Her wait is measured from the first check-in to the hand-over."""
    order = service.get_order(uow=uow, order_id=order_id)
    if principal.kind == "staff":
        principal.require_store(body.store_id)
        by, channel = "staff", "store"
    elif principal.key_kind is KeyKind.SECRET:
        by, channel = "server", "store"
    else:
        _authorise_order(request, uow, principal, order)
        session = shoppers.require_shopper_session(uow=uow, token=shopper_token(request))
        by, channel = "shopper", session.channel
    order = pickup_desk.record_arrival(
        uow=uow,
        order_id=order.id,
        location_id=body.store_id,
        by=by,
        channel=channel,
        actor=_actor(principal),
    )
    answer = order_read(order, show_code=principal.kind != "staff" or by == "staff")
    uow.commit()
    return answer
