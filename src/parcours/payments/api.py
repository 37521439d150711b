"""JSON routes of payments: reading and refunding payments, test card tokens, the 3-D Secure
challenge, payment links, and Stripe's webhooks.

Who may call: store staff and secret keys read payments and refund them (an associate only for
her stores' payments); publishable keys may turn a test card into a token, as a browser does.
Three kinds of callers have no account, and hold a credential of their own instead: the payer of
a link (its unguessable token), the shopper in a 3-D Secure challenge (the payment's client
secret), and Stripe (the signature of each webhook). Taking payments is the orders API's part.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from parcours.core.auth.models import KeyKind
from parcours.core.auth.principal import STORE_STAFF, AccessPolicy, Principal
from parcours.core.deps import ReadUowDep, SettingsDep, UowDep
from parcours.core.errors import Forbidden, InvalidInput
from parcours.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from parcours.orders import service as orders
from parcours.payments import service
from parcours.payments.challenge import render_challenge_page
from parcours.payments.providers import PaymentProviders
from parcours.payments.schemas import (
    CardTokenCreate,
    CardTokenRead,
    ChallengeAnswer,
    PaymentLinkCreate,
    PaymentLinkPay,
    PaymentLinkPublicRead,
    PaymentLinkRead,
    PaymentPublicRead,
    PaymentRead,
    RefundCreate,
    RefundRead,
    WebhookReceipt,
)

_SECRET = frozenset({KeyKind.SECRET})

#: Read payments: store staff (the till, the back office) and servers.
PAYMENTS_READ = AccessPolicy("payments_read", roles=STORE_STAFF, keys=_SECRET)
#: Refund payments and create payment links: store staff and servers.
PAYMENTS_WRITE = AccessPolicy("payments_write", roles=STORE_STAFF, keys=_SECRET)
#: Turn a test card into a token: what a payment form in a browser does (publishable key).
CARD_TOKENIZE = AccessPolicy("card_tokenize", keys=frozenset({KeyKind.SECRET, KeyKind.PUBLISHABLE}))
#: A payer without an account: the link's token or the payment's client secret is the credential.
PAYER = AccessPolicy("payer", public=True)
#: Stripe's servers: the signature of the body, checked by the service, is the credential.
STRIPE_SIGNED = AccessPolicy("stripe_signed", public=True)

router = APIRouter(prefix="/v1", tags=["payments"])

Reader = Annotated[Principal, Depends(PAYMENTS_READ)]
Writer = Annotated[Principal, Depends(PAYMENTS_WRITE)]
Tokenizer = Annotated[Principal, Depends(CARD_TOKENIZE)]
Payer = Annotated[Principal, Depends(PAYER)]
StripeCaller = Annotated[Principal, Depends(STRIPE_SIGNED)]
PaymentId = Annotated[str, Path(min_length=1, max_length=40)]
LinkToken = Annotated[str, Path(min_length=1, max_length=64)]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Required: a retry with the same key never pays or refunds twice",
    ),
]


async def _providers(request: Request) -> PaymentProviders:  # async: no threadpool hop
    providers: PaymentProviders = request.app.state.payment_providers
    return providers


async def _raw_body(request: Request) -> bytes:
    """The body as sent: a webhook's signature covers these exact bytes."""
    return await request.body()


Providers = Annotated[PaymentProviders, Depends(_providers)]
RawBody = Annotated[bytes, Depends(_raw_body)]


def _actor(principal: Principal) -> str:
    return principal.id or principal.kind


# --- payments -----------------------------------------------------------------------------------


@router.get("/payments", response_model=Page[PaymentRead], summary="The payments of a reference")
def list_payments(
    uow: ReadUowDep,
    _: Reader,
    reference: Annotated[str, Query(min_length=1, max_length=80, description="An order id")],
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[PaymentRead]:
    rows, next_cursor = service.list_payments(
        uow=uow, reference=reference, cursor=cursor, limit=limit
    )
    return Page[PaymentRead](items=[PaymentRead.of(p) for p in rows], next_cursor=next_cursor)


@router.get("/payments/{payment_id}", response_model=PaymentRead, summary="A payment")
def get_payment(payment_id: PaymentId, uow: ReadUowDep, _: Reader) -> PaymentRead:
    return PaymentRead.of(service.get_payment(uow=uow, payment_id=payment_id))


@router.post(
    "/payments/{payment_id}/refunds",
    response_model=RefundRead,
    status_code=status.HTTP_201_CREATED,
    summary="Refund part or all of a captured payment",
)
def create_refund(
    payment_id: PaymentId,
    body: RefundCreate,
    uow: UowDep,
    providers: Providers,
    principal: Writer,
    idempotency_key: IdempotencyKey,
) -> RefundRead:
    payment = service.get_payment(uow=uow, payment_id=payment_id)
    order = orders.find_order(uow=uow, order_id=payment.reference)
    if order is not None:
        # An order's payment: scoped by the order's stores, and the order follows the refund.
        if principal.kind == "staff":
            principal.require_any_store(orders.order_store_ids(order))
        refund = orders.refund_order_payment(
            uow=uow,
            providers=providers,
            payment_id=payment.id,
            amount=body.amount,
            reason=body.reason,
            idempotency_key=idempotency_key,
            actor=_actor(principal),
        )
    else:
        if payment.store_id is not None:
            principal.require_store(payment.store_id)
        elif principal.kind == "staff" and not principal.acts_for_all_stores:
            raise Forbidden(
                "a payment of no store is refunded by a manager", code="store_out_of_scope"
            )
        refund = service.refund_payment(
            uow=uow,
            providers=providers,
            payment_id=payment_id,
            amount=body.amount,
            reason=body.reason,
            idempotency_key=idempotency_key,
            actor=_actor(principal),
        )
    uow.commit()
    return RefundRead.of(refund)


# --- the test provider --------------------------------------------------------------------------


@router.post(
    "/payments/test-provider/tokens",
    response_model=CardTokenRead,
    status_code=status.HTTP_201_CREATED,
    summary="Exchange a test card for a token (the test provider; never in production)",
)
def create_card_token(body: CardTokenCreate, providers: Providers, _: Tokenizer) -> CardTokenRead:
    card = service.create_test_card_token(
        providers=providers,
        number=body.number,
        exp_month=body.exp_month,
        exp_year=body.exp_year,
        cvc=body.cvc,
    )
    return CardTokenRead(
        token=card.token,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
    )


@router.get(
    "/payments/{payment_id}/3ds",
    response_class=HTMLResponse,
    summary="The 3-D Secure challenge page of the test provider",
)
def read_challenge(
    payment_id: PaymentId,
    uow: ReadUowDep,
    _: Payer,
    client_secret: Annotated[str, Query(min_length=1, max_length=255)],
) -> HTMLResponse:
    payment = service.get_payment_for_payer(
        uow=uow, payment_id=payment_id, client_secret=client_secret
    )
    return HTMLResponse(
        render_challenge_page(payment, client_secret=client_secret),
        headers={"Cache-Control": "no-store"},
    )


@router.post(
    "/payments/{payment_id}/3ds",
    response_model=PaymentPublicRead,
    summary="Answer the 3-D Secure challenge: the payment is captured or fails",
)
def answer_challenge(
    payment_id: PaymentId, body: ChallengeAnswer, uow: UowDep, providers: Providers, _: Payer
) -> PaymentPublicRead:
    payment = service.confirm_payment_action(
        uow=uow,
        providers=providers,
        payment_id=payment_id,
        succeeded=body.outcome == "approve",
        client_secret=body.client_secret,
    )
    uow.commit()
    return PaymentPublicRead.of(payment)


# --- payment links ------------------------------------------------------------------------------


@router.post(
    "/payment-links",
    response_model=PaymentLinkRead,
    status_code=status.HTTP_201_CREATED,
    summary="A link and QR code to pay an amount for a reference",
)
def create_payment_link(
    body: PaymentLinkCreate, uow: UowDep, settings: SettingsDep, principal: Writer
) -> PaymentLinkRead:
    if orders.find_order(uow=uow, order_id=body.reference) is not None:
        raise InvalidInput(
            "an order's link is made from the order (POST /v1/orders/{id}/payment-link): its "
            "amount and currency come from what the order owes",
            code="use_order_payment_link",
        )
    if body.store_id is not None:
        principal.require_store(body.store_id)
    elif principal.kind == "staff" and not principal.acts_for_all_stores:
        raise InvalidInput("name the store the link is made for", code="store_required")
    link = service.create_payment_link(
        uow=uow,
        reference=body.reference,
        amount=body.amount,
        currency=body.currency,
        description=body.description,
        ttl_seconds=body.ttl_seconds,
        channel=body.channel,
        store_id=body.store_id,
    )
    uow.commit()
    return PaymentLinkRead.of(link, base_url=settings.base_url)


@router.get(
    "/payment-links/{token}",
    response_model=PaymentLinkPublicRead,
    summary="What a payment link asks to pay (409 once paid, 410 once expired)",
)
def read_payment_link(token: LinkToken, uow: ReadUowDep, _: Payer) -> PaymentLinkPublicRead:
    return PaymentLinkPublicRead.of(service.get_payment_link(uow=uow, token=token))


@router.get(
    "/payment-links/{token}/qr.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
    summary="The QR code of a payment link",
)
def read_payment_link_qr(
    token: LinkToken, uow: ReadUowDep, settings: SettingsDep, _: Payer
) -> Response:
    svg = service.payment_link_qr_svg(uow=uow, token=token, base_url=settings.base_url)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@router.post(
    "/payment-links/{token}/payments",
    response_model=PaymentPublicRead,
    status_code=status.HTTP_201_CREATED,
    summary="Pay a payment link by card (a declined card answers with status failed)",
)
def pay_payment_link(
    token: LinkToken,
    body: PaymentLinkPay,
    uow: UowDep,
    providers: Providers,
    _: Payer,
    idempotency_key: IdempotencyKey,
) -> PaymentPublicRead:
    payment = orders.pay_payment_link(
        uow=uow,
        providers=providers,
        token=token,
        details=body.details(),
        idempotency_key=idempotency_key,
    )
    uow.commit()
    return PaymentPublicRead.of(payment)


# --- Stripe -------------------------------------------------------------------------------------


@router.post(
    "/payments/stripe/webhook",
    response_model=WebhookReceipt,
    summary="Stripe's events about our payments (signed with the webhook secret)",
    openapi_extra={
        "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}}
    },
)
def receive_stripe_webhook(
    payload: RawBody,
    uow: UowDep,
    providers: Providers,
    _: StripeCaller,
    stripe_signature: Annotated[
        str | None, Header(alias="Stripe-Signature", max_length=4096)
    ] = None,
) -> WebhookReceipt:
    payment_id = service.handle_stripe_webhook(
        uow=uow, providers=providers, payload=payload, signature_header=stripe_signature or ""
    )
    uow.commit()
    return WebhookReceipt(payment_id=payment_id)
