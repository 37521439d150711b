"""JSON routes of shopper sessions and carts, the handoff to a till, scans and live sync.

Who may touch a cart: the shopper whose session owns it (storefront key + ``X-Shopper-Token``
header or the ``parcours_shopper`` cookie), store staff (a till or an associate's tablet) and
servers with a secret key. Every change answers with the cart and its ``ETag``; send it back as
``If-Match`` to refuse overwriting a change made on another device (412). After each commit the
cart's new version is published to ``cart:<id>``; ``GET /v1/carts/{id}/events`` (SSE) then sends
each open device the cart as it reads it (its language, its store's stock).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Header, Request, Response, UploadFile, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from parcours.carts import scan as scanning
from parcours.carts import service
from parcours.carts.models import Cart, TouchpointKind
from parcours.carts.schemas import (
    AttachCustomer,
    CartLineCreate,
    CartLineRead,
    CartLineUpdate,
    CartRead,
    HandoffClaim,
    HandoffRead,
    LineWarningRead,
    PromoCodeIn,
    PromoRead,
    ScanRead,
    ScanVariantRead,
    ShopperSessionCreate,
    ShopperSessionRead,
    SignInCodeRequest,
    SignInRequest,
    TillCartCreate,
    TouchpointRead,
)
from parcours.catalog import qr
from parcours.catalog.service import VariantInfo
from parcours.core.auth.models import KeyKind
from parcours.core.auth.principal import PUBLIC, STORE_STAFF, STOREFRONT, AccessPolicy, Principal
from parcours.core.auth.throttle import client_address
from parcours.core.deps import SettingsDep, UowDep
from parcours.core.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge
from parcours.core.live import LiveHub, sse_stream
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers import shoppers
from parcours.customers.http import shopper_token
from parcours.customers.models import ShopperSession
from parcours.loyalty import service as loyalty
from parcours.stores import service as stores

#: A cart may be read and changed by its shopper's storefront, store staff and servers.
CART_ACCESS = AccessPolicy(
    "cart_access", roles=STORE_STAFF, keys=frozenset({KeyKind.PUBLISHABLE, KeyKind.SECRET})
)
#: A till or an associate's tablet: open a cart by its code, build one, name its customer.
TILL = AccessPolicy("till", roles=STORE_STAFF, keys=frozenset({KeyKind.SECRET}))

MAX_SCAN_BYTES = 8 * 1024 * 1024

router = APIRouter(prefix="/v1", tags=["carts"])

Storefront = Annotated[Principal, Depends(STOREFRONT)]
CartCaller = Annotated[Principal, Depends(CART_ACCESS)]
Till = Annotated[Principal, Depends(TILL)]
Public = Annotated[Principal, Depends(PUBLIC)]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=32)]


def _session(request: Request, uow: UnitOfWork) -> ShopperSession:
    return shoppers.require_shopper_session(uow=uow, token=shopper_token(request))


def _optional_session(request: Request, uow: UnitOfWork) -> ShopperSession | None:
    token = shopper_token(request)
    return shoppers.find_shopper_session(uow=uow, token=token) if token else None


def _owns(session: ShopperSession | None, cart: Cart) -> bool:
    if session is None:
        return False
    if cart.profile_id is not None:
        return cart.profile_id == session.profile_id
    return cart.anonymous_id is not None and cart.anonymous_id == session.anonymous_id


def authorise_cart(
    request: Request, uow: UnitOfWork, principal: Principal, cart: Cart
) -> ShopperSession | None:
    """Staff and secret keys act on any cart; a storefront only on its shopper's."""
    if principal.kind == "staff" or principal.key_kind is KeyKind.SECRET:
        return _optional_session(request, uow)
    session = _session(request, uow)
    if not _owns(session, cart):
        raise Forbidden("this cart belongs to another shopper", code="cart_not_yours")
    return session


def _actor(principal: Principal) -> str | None:
    return principal.id if principal.kind == "staff" else None


def default_touchpoint(principal: Principal, session: ShopperSession | None) -> TouchpointKind:
    """Where an add happened when the caller does not say: an associate's tablet is the store,
    a shopper's session its own channel (web, app, kiosk)."""
    if principal.kind == "staff":
        return TouchpointKind.STORE
    if session is not None:
        return TouchpointKind(session.channel)
    return TouchpointKind.WEB


def _touchpoint_read(kind: str, medium: str | None, campaign: str | None, store: str | None) -> Any:
    return TouchpointRead(kind=kind, medium=medium, campaign=campaign, store_id=store)


def _line_read(view: service.LineView, lang: str) -> CartLineRead:
    line, variant = view.line, view.variant
    return CartLineRead(
        id=line.id,
        variant_id=line.variant_id,
        product_id=variant.product_id if variant else None,
        product_slug=variant.product_slug if variant else None,
        product_name=variant.product_name if variant else None,
        sku=variant.sku if variant else None,
        attributes=variant.attributes if variant else {},
        image_url=variant.image_url if variant else None,
        quantity=line.quantity,
        unit_price=view.unit_price,
        unit_price_seen=line.unit_price_seen,
        amount=view.amount,
        saved_for_later=line.saved_for_later,
        touchpoint=_touchpoint_read(
            line.touchpoint, line.medium, line.campaign, line.touchpoint_store_id
        ),
        warnings=[_warning_read(warning, lang) for warning in view.warnings],
        added_at=line.added_at,
    )


def _warning_read(warning: service.LineWarning, lang: str) -> LineWarningRead:
    return LineWarningRead(
        code=warning.code.value,
        message=warning.message_en if lang == "en" else warning.message_fr,
        details=warning.details,
    )


def cart_read(view: service.CartView, lang: str = "fr") -> CartRead:
    cart = view.cart
    promo = view.promo
    return CartRead(
        id=cart.id,
        status=cart.status,
        version=cart.version,
        currency=cart.currency,
        channel=cart.channel,
        store_id=view.store_id,
        profile_id=cart.profile_id,
        lines=[_line_read(line, lang) for line in view.lines],
        saved_for_later=[_line_read(line, lang) for line in view.saved],
        item_count=view.item_count,
        subtotal=view.subtotal,
        promo_code=view.promo_code,
        promo=None
        if promo is None
        else PromoRead(
            code=promo.code, description=promo.description, kind=promo.kind, value=promo.value
        ),
        discount=view.discount,
        total=view.total,
        warnings=[_warning_read(warning, lang) for warning in view.warnings],
        updated_at=cart.updated_at,
    )


def _lang(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "fr"


def answer_cart(
    request: Request,
    response: Response,
    uow: UnitOfWork,
    cart: Cart,
    *,
    store_id: str | None = None,
    commit: bool = True,
    changed: bool = True,
    ended: Cart | None = None,
) -> CartRead:
    """Commit, then answer the fresh view with its ETag and, if the cart ``changed``, tell its
    other devices (and those of ``ended``: a cart this change merged into it or set aside)."""
    view = service.view_cart(uow=uow, cart=cart, store_id=store_id)
    answer = cart_read(view, _lang(request))
    if commit:
        uow.commit()
        if changed:
            publish_cart(request, cart)
        if ended is not None:
            publish_ended(request, ended, cart)
    response.headers["ETag"] = view.etag
    return answer


def publish_cart(request: Request, cart: Cart) -> None:
    """Tell the cart's open devices (phone, laptop, till) that it has a new version: each reads
    it again in its own language and for its own store (see :func:`cart_events`)."""
    request.app.state.live.publish(
        f"cart:{cart.id}", {"type": "cart", "cart_id": cart.id, "version": cart.version}
    )


def publish_ended(request: Request, ended: Cart, survivor: Cart) -> None:
    """Tell the devices of a cart that ended (merged or set aside) where the shopper's cart is."""
    request.app.state.live.publish(
        f"cart:{ended.id}",
        {
            "type": "ended",
            "cart_id": ended.id,
            "status": ended.status,
            "version": ended.version,
            "moved_to": survivor.id,
        },
    )


# --- shopper sessions -----------------------------------------------------------------------------


def _session_read(session: ShopperSession, token: str | None = None) -> ShopperSessionRead:
    return ShopperSessionRead(
        token=token,
        anonymous_id=session.anonymous_id,
        profile_id=session.profile_id,
        signed_in=session.profile_id is not None,
        expires_at=session.expires_at,
    )


@router.post(
    "/shopper/sessions",
    status_code=status.HTTP_201_CREATED,
    response_model=ShopperSessionRead,
    tags=["shoppers"],
)
def start_shopper_session(
    body: ShopperSessionCreate, _: Storefront, uow: UowDep
) -> ShopperSessionRead:
    """Open an anonymous shopper session; its token is shown once."""
    started = shoppers.start_shopper_session(
        uow=uow, channel=body.channel, anonymous_id=body.anonymous_id
    )
    uow.commit()
    return _session_read(started.session, started.token)


@router.get("/shopper/session", response_model=ShopperSessionRead, tags=["shoppers"])
def read_shopper_session(request: Request, _: Storefront, uow: UowDep) -> ShopperSessionRead:
    return _session_read(_session(request, uow))


@router.delete("/shopper/session", status_code=status.HTTP_204_NO_CONTENT, tags=["shoppers"])
def end_shopper_session(request: Request, _: Storefront, uow: UowDep) -> Response:
    """Sign out: the token stops working."""
    shoppers.end_shopper_session(uow=uow, session=_session(request, uow))
    uow.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/shopper/sign-in-codes", status_code=status.HTTP_202_ACCEPTED, tags=["shoppers"])
def request_sign_in_code(
    body: SignInCodeRequest, request: Request, _: Storefront, uow: UowDep, settings: SettingsDep
) -> dict[str, str]:
    """Mail a 6-digit code to the shopper. The answer is the same whether or not the address
    is known: it reveals nothing about who shops here."""
    _session(request, uow)
    service.send_sign_in_code(
        uow=uow, email=body.email, locale=body.locale, client=client_address(request)
    )
    uow.commit()
    return {"status": "sent"}


@router.post("/shopper/sign-in", response_model=ShopperSessionRead, tags=["shoppers"])
def sign_in(
    body: SignInRequest, request: Request, _: Storefront, uow: UowDep, settings: SettingsDep
) -> ShopperSessionRead:
    """Check the code; the session now speaks for her, and this device's cart joins hers."""
    session = _session(request, uow)
    try:
        attached = service.sign_in(
            uow=uow,
            session=session,
            email=body.email,
            code=body.code,
            strategy=service.merge_strategy(settings.cart_merge_strategy),
        )
    except shoppers.InvalidSignInCode:
        uow.commit()  # the failed try counts: five burn the code
        raise
    uow.commit()
    if attached is not None:
        publish_cart(request, attached.cart)  # devices that saw its version skip it
        if attached.ended is not None:
            publish_ended(request, attached.ended, attached.cart)
    return _session_read(session)


# --- carts ----------------------------------------------------------------------------------------


@router.get("/me/cart", response_model=CartRead)
def read_my_cart(
    request: Request,
    response: Response,
    _: Storefront,
    uow: UowDep,
    settings: SettingsDep,
    store_id: str | None = None,
) -> CartRead:
    """The shopper's active cart (opened if she has none), with prices and stock re-checked
    against ``store_id`` (the store she collects from), if given."""
    session = _session(request, uow)
    cart = service.open_cart(
        uow=uow,
        profile_id=session.profile_id,
        anonymous_id=session.anonymous_id,
        channel=session.channel,
        currency=settings.default_currency,
    )
    # Committed when just opened; a read is no change the other devices need to hear of.
    return answer_cart(request, response, uow, cart, store_id=store_id, changed=False)


@router.post("/carts", status_code=status.HTTP_201_CREATED, response_model=CartRead)
def create_till_cart(
    body: TillCartCreate,
    request: Request,
    response: Response,
    principal: Till,
    uow: UowDep,
    settings: SettingsDep,
) -> CartRead:
    """A cart built at a till or on an associate's tablet, for a walk-in or a known customer
    (then it is her one cart: the one she has open on her phone, if any)."""
    principal.require_store(body.store_id)
    card = stores.store_cards(uow=uow).get(body.store_id)
    if card is None or card.kind != "store" or not card.active:
        raise NotFound(f"no open store {body.store_id!r}", code="store_not_found")
    if body.profile_id is not None:
        customers.get_live_profile(uow=uow, profile_id=body.profile_id)
    cart = service.open_cart(
        uow=uow,
        profile_id=body.profile_id,
        anonymous_id=None,
        channel="till",
        currency=settings.default_currency,
        store_id=body.store_id,
        actor=_actor(principal),
    )
    return answer_cart(request, response, uow, cart, changed=False)


@router.get("/carts/{cart_id}", response_model=CartRead)
def read_cart(
    cart_id: str,
    request: Request,
    response: Response,
    principal: CartCaller,
    uow: UowDep,
    store_id: str | None = None,
) -> CartRead:
    cart = service.get_cart(uow=uow, cart_id=cart_id)
    authorise_cart(request, uow, principal, cart)
    return answer_cart(request, response, uow, cart, store_id=store_id, commit=False)


@router.post("/carts/{cart_id}/lines", status_code=status.HTTP_201_CREATED, response_model=CartRead)
def add_line(
    cart_id: str,
    body: CartLineCreate,
    request: Request,
    response: Response,
    principal: CartCaller,
    uow: UowDep,
    if_match: IfMatch = None,
) -> CartRead:
    """Add an item, recording the touchpoint that brought it (a scanned poster, the app, the
    associate's tablet…)."""
    cart = service.get_cart(uow=uow, cart_id=cart_id)
    session = authorise_cart(request, uow, principal, cart)
    given = body.touchpoint
    if given is not None and given.kind is TouchpointKind.PRINT and given.medium is None:
        raise InvalidInput("a print touchpoint names its medium", code="medium_required")
    touchpoint = service.Touchpoint(
        kind=given.kind if given else default_touchpoint(principal, session),
        medium=given.medium.value if given and given.medium else None,
        campaign=given.campaign if given else None,
        store_id=(given.store_id if given else None) or cart.store_id,
    )
    cart = service.add_line(
        uow=uow,
        cart_id=cart.id,
        variant_id=body.variant_id,
        quantity=body.quantity,
        touchpoint=touchpoint,
        expected_version=service.parse_if_match(if_match),
        actor=_actor(principal),
    )
    return answer_cart(request, response, uow, cart)


@router.patch("/carts/{cart_id}/lines/{line_id}", response_model=CartRead)
def change_line(
    cart_id: str,
    line_id: str,
    body: CartLineUpdate,
    request: Request,
    response: Response,
    principal: CartCaller,
    uow: UowDep,
    if_match: IfMatch = None,
) -> CartRead:
    """Change a quantity, or save a line for later (and back)."""
    cart = service.get_cart(uow=uow, cart_id=cart_id)
    authorise_cart(request, uow, principal, cart)
    cart = service.change_line(
        uow=uow,
        cart_id=cart.id,
        line_id=line_id,
        quantity=body.quantity,
        saved_for_later=body.saved_for_later,
        expected_version=service.parse_if_match(if_match),
    )
    return answer_cart(request, response, uow, cart)


@router.delete("/carts/{cart_id}/lines/{line_id}", response_model=CartRead)
def remove_line(
    cart_id: str,
    line_id: str,
    request: Request,
    response: Response,
    principal: CartCaller,
    uow: UowDep,
    if_match: IfMatch = None,
) -> CartRead:
    cart = service.get_cart(uow=uow, cart_id=cart_id)
    session = authorise_cart(request, uow, principal, cart)
    cart = service.remove_line(
        uow=uow,
        cart_id=cart.id,
        line_id=line_id,
        expected_version=service.parse_if_match(if_match),
        channel=default_touchpoint(principal, session).value,
    )
    return answer_cart(request, response, uow, cart)


def _where(principal: Principal, session: ShopperSession | None) -> str:
    """The channel a promo code is used on: staff sell through the till, a shopper on her own
    channel, a server wherever the cart was started."""
    if principal.kind == "staff":
        return "till"
    if session is not None:
        return session.channel
    return "server"


@router.post("/carts/{cart_id}/promo-code", response_model=CartRead)
def apply_promo_code(
    cart_id: str,
    body: PromoCodeIn,
    request: Request,
    response: Response,
    principal: CartCaller,
    uow: UowDep,
    if_match: IfMatch = None,
) -> CartRead:
    """Apply a promo code: checked against the cart now, refused with 422 and a code saying
    why (``promo_code_unknown``, ``_inactive``, ``_not_started``, ``_expired``, ``_exhausted``,
    ``_minimum_not_met``, ``_channel``, ``_currency``), the cart unchanged."""
    cart = service.get_cart(uow=uow, cart_id=cart_id)
    session = authorise_cart(request, uow, principal, cart)
    where = _where(principal, session)
    try:
        cart = service.apply_promo_code(
            uow=uow,
            cart_id=cart.id,
            code=body.code,
            expected_version=service.parse_if_match(if_match),
            channel=None if where == "server" else where,
        )
    except loyalty.PromoCodeRefused:
        uow.commit()  # the refusal is on her journey ("Coupon Denied"); the cart is unchanged
        raise
    return answer_cart(request, response, uow, cart)


@router.delete("/carts/{cart_id}/promo-code", response_model=CartRead)
def remove_promo_code(
    cart_id: str,
    request: Request,
    response: Response,
    principal: CartCaller,
    uow: UowDep,
    if_match: IfMatch = None,
) -> CartRead:
    """Take the promo code off the cart."""
    cart = service.get_cart(uow=uow, cart_id=cart_id)
    session = authorise_cart(request, uow, principal, cart)
    where = _where(principal, session)
    cart = service.remove_promo_code(
        uow=uow,
        cart_id=cart.id,
        expected_version=service.parse_if_match(if_match),
        channel=None if where == "server" else where,
    )
    return answer_cart(request, response, uow, cart)


@router.post("/carts/{cart_id}/customer", response_model=CartRead)
def attach_customer(
    cart_id: str,
    body: AttachCustomer,
    request: Request,
    response: Response,
    principal: Till,
    uow: UowDep,
    settings: SettingsDep,
) -> CartRead:
    """The associate recognised the customer (loyalty QR, search): the till cart becomes hers,
    joined with the cart she may have open on her phone. Only a till cart, and for staff only
    one of her stores' tills: a shopper's own cart is never handed to someone else."""
    cart = service.get_cart(uow=uow, cart_id=cart_id)
    if cart.channel != "till" or cart.store_id is None:
        raise Conflict(
            "only a cart started at a till is given to a customer", code="not_a_till_cart"
        )
    principal.require_store(cart.store_id)
    profile = customers.get_live_profile(uow=uow, profile_id=body.profile_id)
    attached = service.attach_profile(
        uow=uow,
        cart_id=cart_id,
        profile_id=profile.id,
        strategy=service.merge_strategy(settings.cart_merge_strategy),
    )
    return answer_cart(request, response, uow, attached.cart, ended=attached.ended)


@router.post(
    "/carts/{cart_id}/handoff", status_code=status.HTTP_201_CREATED, response_model=HandoffRead
)
def create_handoff(
    cart_id: str, request: Request, principal: CartCaller, uow: UowDep, settings: SettingsDep
) -> HandoffRead:
    """A 6-digit code and a QR code that open this very cart at a till or a kiosk (10 minutes,
    single use)."""
    cart = service.get_cart(uow=uow, cart_id=cart_id)
    authorise_cart(request, uow, principal, cart)
    issued = service.create_handoff(uow=uow, cart_id=cart.id)
    uow.commit()
    url = f"{settings.base_url}/h/{issued.token}"
    return HandoffRead(
        code=issued.code,
        token=issued.token,
        url=url,
        qr_svg=qr.render(url, qr.QrFormat.SVG, title=f"Panier {issued.code}").decode(),
        expires_at=issued.handoff.expires_at,
    )


@router.post("/cart-handoffs/claim", response_model=CartRead)
def claim_handoff(
    body: HandoffClaim, request: Request, response: Response, principal: Till, uow: UowDep
) -> CartRead:
    """The till types the code (or scans the QR): it gets the shopper's cart itself, so what
    she adds on her phone meanwhile shows here too."""
    if body.store_id is not None:
        principal.require_store(body.store_id)
    cart = service.claim_handoff(
        uow=uow,
        code=body.code,
        token=body.token,
        actor=_actor(principal),
        store_id=body.store_id,
    )
    view = service.view_cart(uow=uow, cart=cart, store_id=body.store_id)
    answer = cart_read(view, _lang(request))
    uow.commit()
    response.headers["ETag"] = view.etag
    return answer


class _DeviceView:
    """The live hub as one open device sees it: after each change the cart is read again in
    the device's language and for its store, rather than passed on as the writer saw it (a
    phone in English would otherwise turn the laptop's warnings English, and a till would lose
    its store's "only 1 left here"). Changes at human pace, a few devices a cart: a read each
    is cheap. Versions already read are skipped, so a burst of changes costs one read."""

    def __init__(self, hub: LiveHub, read: Callable[[], CartRead]) -> None:
        self._hub = hub
        self._read = read
        self._version = 0

    def read(self) -> dict[str, Any]:
        answer = self._read()
        self._version = max(self._version, answer.version)
        return {"type": "cart", "version": answer.version, "cart": answer.model_dump(mode="json")}

    def publish(self, topic: str, message: Mapping[str, Any]) -> None:
        self._hub.publish(topic, message)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        async with self._hub.subscribe(topic) as messages:
            yield self._views(messages)

    async def _views(
        self, messages: AsyncIterator[dict[str, Any]]
    ) -> AsyncIterator[dict[str, Any]]:
        async for message in messages:
            if message.get("type") != "cart":
                yield message
                continue
            version = message.get("version")
            if isinstance(version, int) and version <= self._version:
                continue
            yield await run_in_threadpool(self.read)

    def subscriber_count(self, topic: str | None = None) -> int:
        return self._hub.subscriber_count(topic)

    async def aclose(self) -> None:
        """Nothing of its own to close: the app closes the hub."""


@router.get("/carts/{cart_id}/events", response_class=Response)
async def cart_events(
    cart_id: str, request: Request, principal: Public, store_id: str | None = None
) -> Response:
    """Server-Sent Events: the cart now, then the cart after every change, from any device,
    each time as this device reads it (its ``?lang=``, its ``store_id``'s stock).

    Public route, checked here: a browser's EventSource cannot send an Authorization header, so
    the shopper's session cookie (or header), a staff session or a secret key must own the cart.
    """
    if principal.kind == "staff" and principal.role not in STORE_STAFF:
        raise Forbidden("store staff only", code="insufficient_role")
    trusted = principal.kind == "staff" or principal.key_kind is KeyKind.SECRET
    lang = _lang(request)

    def check() -> None:
        with UnitOfWork(request.app.state.db, read_only=True) as uow:
            cart = service.get_cart(uow=uow, cart_id=cart_id)
            if not trusted:
                # As on every other cart route: no session is 401, someone else's is 403.
                session = _session(request, uow)
                if not _owns(session, cart):
                    raise Forbidden("this cart belongs to another shopper", code="cart_not_yours")

    def read() -> CartRead:
        with UnitOfWork(request.app.state.db, read_only=True) as uow:
            cart = service.get_cart(uow=uow, cart_id=cart_id)
            return cart_read(service.view_cart(uow=uow, cart=cart, store_id=store_id), lang)

    # Refused before the stream starts (once it has, the status is 200); the cart itself is
    # read once the stream is subscribed, so a change landing in between is not missed.
    await run_in_threadpool(check)
    device = _DeviceView(request.app.state.live, read)
    return await sse_stream(device, f"cart:{cart_id}", initial=device.read, request=request)


# --- scanning -------------------------------------------------------------------------------------


def _scan_variant(variant: VariantInfo) -> ScanVariantRead:
    return ScanVariantRead(
        id=variant.id,
        sku=variant.sku,
        gtin=variant.gtin,
        attributes=variant.attributes,
        price_amount=variant.price_amount,
        currency=variant.currency,
    )


@router.post("/scans", response_model=ScanRead)
async def scan(
    request: Request,
    principal: CartCaller,
    image: Annotated[UploadFile, File(description="a photo of an EAN-13 barcode or a QR code")],
) -> ScanRead:
    """Read a photo of a barcode or one of our QR codes: the product, the variant if the code
    names one, and the touchpoint (a printed code's medium and campaign) to add it with."""
    content = await image.read(MAX_SCAN_BYTES + 1)
    await image.close()
    if len(content) > MAX_SCAN_BYTES:
        raise TooLarge(f"a photo is at most {MAX_SCAN_BYTES // 1_048_576} MiB")

    def read() -> scanning.ScanResult:
        with UnitOfWork(request.app.state.db, read_only=True) as uow:
            return scanning.scan_image(uow=uow, image_bytes=content)

    found = await run_in_threadpool(read)
    kind = (
        TouchpointKind.PRINT
        if found.medium
        else (TouchpointKind.STORE if principal.kind == "staff" else TouchpointKind.APP)
    )
    return ScanRead(
        symbology=found.symbology,
        product_id=found.product_id,
        product_slug=found.product_slug,
        product_name=found.product_name,
        variant=_scan_variant(found.variant) if found.variant else None,
        variants=[_scan_variant(variant) for variant in found.variants],
        touchpoint=_touchpoint_read(kind.value, found.medium, found.campaign, None),
    )


class CodeReadRead(BaseModel):
    """What a code says, as text: a GTIN, a URL, a loyalty card number…"""

    text: str
    symbology: str


@router.post("/code-reads", response_model=CodeReadRead)
async def read_code(
    request: Request,
    _: Till,
    image: Annotated[UploadFile, File(description="a camera frame or photo holding a code")],
) -> CodeReadRead:
    """Decode a barcode or QR code in a camera frame, without looking it up: the associate's
    tablet scans product labels and loyalty cards with the same camera (browsers without a
    built-in barcode reader send frames here). Nothing readable: 422 ``code_unreadable``."""
    content = await image.read(MAX_SCAN_BYTES + 1)
    await image.close()
    if len(content) > MAX_SCAN_BYTES:
        raise TooLarge(f"a photo is at most {MAX_SCAN_BYTES // 1_048_576} MiB")
    found = await run_in_threadpool(scanning.read_code, image_bytes=content)
    return CodeReadRead(text=found.text, symbology=found.symbology)


__all__ = ["CART_ACCESS", "TILL", "authorise_cart", "router"]
