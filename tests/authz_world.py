"""The world the authorisation matrix asks about: real objects behind every path.

Two stores (A and B, from the ``shop`` fixture), shoppers A and B signed in, each object a route
names (a cart, an order paid and collected at store A, its payment, payment links, a transfer,
a reservation, profiles, an adviser call…), so that each cell of the matrix is decided by
authorisation on an object that exists, never by a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.conftest import Shop, sandbox_card

from parcours.core.auth import service as auth_service
from parcours.core.auth.models import KeyKind
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import shoppers
from parcours.inventory import service as inventory
from parcours.notifications.models import Message
from parcours.stores import kiosks

Headers = dict[str, str]

#: A 3-D Secure test card: its payment waits for the challenge.
CARD_3DS = "4000000000003220"


@dataclass(frozen=True)
class World:
    shop: Shop
    publishable: str
    secret: str
    write: str
    shopper_a: Headers
    shopper_b: Headers
    profile_a: str
    cart_a: str
    line_a: str
    order_a: str  # shopper A's, collected at store A, paid
    fulfilment_a: str
    order_line_a: str
    pickup_code_a: str
    order_unpaid: str  # shopper A's, collected at store A, not paid (to cancel)
    order_to_cash: str  # another, for the till's pages to take cash for
    return_id: str  # one item of order A, taken back at store A
    line_kept: str  # a line of cart A that no JSON row touches (for the cart page)
    handoff_token: str  # a handoff QR's token, for /panier/reprendre
    advice_request_2: str  # another call at store A, for the tablets' pages
    category_slug: str
    push_endpoints: tuple[str, str]  # shopper A's browser's, for the API's rows and the pages'
    other_kiosk: str  # a second paired kiosk of store A (the kiosk caller is the first)
    payment_a: str
    link_token: str  # a payment link of store A, unpaid
    payment_3ds: str  # waiting for its 3-D Secure challenge
    client_secret_3ds: str
    till_cart: str  # started at store A's till, no customer yet
    handoff_code: str  # of a third shopper's cart
    profile_walk_in: str
    profile_erase: str
    profile_merge: tuple[str, str]
    merge_id: str
    advice_request: str  # a call at store A
    transfer: str  # from store A to store B
    reservation: str  # at store A
    promo_code: str
    message: str  # a shopper's sign-in code, mailed and still valid
    revocable_key: str
    card_token: str
    # The kiosk's selection, made once the kiosk caller exists (see the matrix's fixtures).
    kiosk_line: str = ""
    kiosk_cart: str = ""

    def headers(self, kind: KeyKind) -> Headers:
        token = {KeyKind.PUBLISHABLE: self.publishable, KeyKind.SECRET: self.secret}[kind]
        return {"Authorization": f"Bearer {token}"}


def _ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def _idempotent(headers: Headers) -> Headers:
    return {**headers, "Idempotency-Key": uuid4().hex}


def build_world(
    client: TestClient, db: Database, shop: Shop, api_key: Callable[[KeyKind], str]
) -> World:
    """Every object the matrix's paths name, made through the API as its users would."""
    publishable, secret, write = (
        api_key(KeyKind.PUBLISHABLE),
        api_key(KeyKind.SECRET),
        api_key(KeyKind.WRITE),
    )
    server = {"Authorization": f"Bearer {secret}"}
    storefront = {"Authorization": f"Bearer {publishable}"}
    with UnitOfWork(db) as uow:
        for location in (shop.store_a, shop.store_b):
            for variant in shop.variants.values():
                inventory.set_stock(
                    uow=uow, variant_id=variant, location_id=location, on_hand=50, reason="count"
                )
        revocable = auth_service.create_api_key(uow=uow, kind=KeyKind.SECRET, name="to revoke")
        uow.commit()

    def session(email: str | None) -> Headers:
        token = _ok(client.post("/v1/shopper/sessions", json={}, headers=storefront), 201)["token"]
        device = {**storefront, "X-Shopper-Token": token}
        if email is not None:
            asked = client.post("/v1/shopper/sign-in-codes", json={"email": email}, headers=device)
            _ok(asked, 202)
            with UnitOfWork(db) as uow:
                code = shoppers.request_sign_in_code(uow=uow, email=email)
                uow.commit()
            body = {"email": email, "code": code}
            _ok(client.post("/v1/shopper/sign-in", json=body, headers=device))
        return device

    shopper_a, shopper_b, shopper_c = (
        session("a@example.com"),
        session("b@example.com"),
        session(None),
    )
    profile_a = _ok(client.get("/v1/shopper/session", headers=shopper_a))["profile_id"]
    small = shop.variants["S"]

    def cart_with_a_line(device: Headers) -> tuple[str, str]:
        cart = _ok(client.get("/v1/me/cart", headers=device))["id"]
        added = client.post(f"/v1/carts/{cart}/lines", json={"variant_id": small}, headers=device)
        return cart, _ok(added, 201)["lines"][0]["id"]

    def order_at_store_a(quantity: int = 1) -> dict[str, Any]:
        cart, line = cart_with_a_line(shopper_a)
        if quantity > 1:
            more = {"quantity": quantity}
            changed = client.patch(f"/v1/carts/{cart}/lines/{line}", json=more, headers=shopper_a)
            _ok(changed)
        body = {"fulfilments": [{"method": "click_and_collect", "store_id": shop.store_a}]}
        return _ok(client.post(f"/v1/carts/{cart}/checkout", json=body, headers=shopper_a), 201)

    card_token = _ok(
        client.post("/v1/payments/test-provider/tokens", json=sandbox_card(), headers=storefront),
        201,
    )["token"]
    order = order_at_store_a(quantity=2)
    paid = client.post(
        f"/v1/orders/{order['id']}/payments",
        json={"method": "card", "token": card_token},
        headers=_idempotent(shopper_a),
    )
    payment_a = _ok(paid, 201)["payment"]["id"]
    order = _ok(client.get(f"/v1/orders/{order['id']}", headers=shopper_a))
    unpaid, to_cash = order_at_store_a(), order_at_store_a()
    cart_a, line_a = cart_with_a_line(shopper_a)
    kept = client.post(
        f"/v1/carts/{cart_a}/lines", json={"variant_id": shop.variants["L"]}, headers=shopper_a
    )
    line_kept = next(
        line["id"] for line in _ok(kept, 201)["lines"] if line["variant_id"] == shop.variants["L"]
    )
    at_a = {"store_id": shop.store_a}
    _ok(client.post(f"/v1/orders/{order['id']}/ready", json=at_a, headers=server))
    code = {**at_a, "pickup_code": order["pickup_code"]}
    _ok(client.post(f"/v1/orders/{order['id']}/collect", json=code, headers=server))
    taken_back = client.post(
        f"/v1/orders/{order['id']}/returns",
        json={**at_a, "lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}]},
        headers=_idempotent(server),
    )
    return_id = _ok(taken_back, 201)["id"]

    cart_c, _ = cart_with_a_line(shopper_c)
    handoff = _ok(client.post(f"/v1/carts/{cart_c}/handoff", headers=shopper_c), 201)["code"]
    shopper_d = session(None)
    cart_d, _ = cart_with_a_line(shopper_d)
    handoff_d = _ok(client.post(f"/v1/carts/{cart_d}/handoff", headers=shopper_d), 201)["token"]
    till_cart = _ok(client.post("/v1/carts", json={"store_id": shop.store_a}, headers=server), 201)

    def link(reference: str) -> str:
        body = {
            "reference": reference,
            "amount": 1500,
            "currency": "EUR",
            "description": "Retouche",
            "store_id": shop.store_a,
        }
        return str(_ok(client.post("/v1/payment-links", json=body, headers=server), 201)["token"])

    link_token, link_3ds = link("RETOUCHE-1"), link("RETOUCHE-2")
    card_3ds = sandbox_card(CARD_3DS)
    token_3ds = _ok(
        client.post("/v1/payments/test-provider/tokens", json=card_3ds, headers=storefront), 201
    )["token"]
    pending = _ok(
        client.post(
            f"/v1/payment-links/{link_3ds}/payments",
            json={"token": token_3ds},
            headers={"Idempotency-Key": uuid4().hex},
        ),
        201,
    )
    assert pending["status"] == "requires_action", pending
    client_secret = (
        pending["client_secret"]
        or parse_qs(urlsplit(pending["next_action_url"]).query)["client_secret"][0]
    )

    def profile(email: str) -> str:
        body = {"email": email, "channel": "till"}
        return str(_ok(client.post("/v1/customers/identify", json=body, headers=server))["id"])

    walk_in, erase = profile("walk-in@example.com"), profile("erase@example.com")
    merge_pair = (profile("merge-1@example.com"), profile("merge-2@example.com"))
    undo_into, undo_other = profile("undo-1@example.com"), profile("undo-2@example.com")
    merged = client.post(
        f"/v1/customers/{undo_into}/merge",
        json={"other_id": undo_other, "force": True},
        headers=server,
    )
    merge_id = _ok(merged, 201 if merged.status_code == 201 else 200)["id"]

    advice = client.post(
        f"/v1/locations/{shop.store_a}/advice-requests",
        json={"source": "app", "product_id": shop.product_id},
        headers=shopper_a,
    )
    advice_id = _ok(advice, 201)["id"]
    advice_2 = client.post(  # from another device: one device calls an adviser at a time
        f"/v1/locations/{shop.store_a}/advice-requests", json={"source": "web"}, headers=shopper_b
    )
    category = client.post("/v1/categories", json={"name": "Pantalons"}, headers=server)
    endpoints = ("https://push.example.com/send/a-api", "https://push.example.com/send/a-page")
    for endpoint in endpoints:
        subscribed = client.post(
            "/v1/push/subscriptions",
            json={"endpoint": endpoint, "keys": {"p256dh": "BPk" + "A" * 84, "auth": "a" * 22}},
            headers=shopper_a,
        )
        _ok(subscribed, 201)
    transfer = client.post(
        "/v1/transfers",
        json={
            "from_location_id": shop.store_a,
            "to_location_id": shop.store_b,
            "lines": [{"variant_id": small, "quantity": 1}],
        },
        headers=server,
    )
    reservation = client.post(
        "/v1/reservations",
        json={
            "variant_id": small,
            "location_id": shop.store_a,
            "quantity": 1,
            "reference": "world",
        },
        headers=server,
    )
    promo = client.post(
        "/v1/promo-codes",
        json={"code": "BIENVENUE", "kind": "percent", "value": 10},
        headers=server,
    )
    with UnitOfWork(db) as uow:
        issued = kiosks.start_pairing(
            uow=uow, store_id=shop.store_a, name="Sortie", created_by=None
        )
        kiosks.pair_kiosk(uow=uow, store_id=shop.store_a, code=issued.code)
        other_kiosk = issued.kiosk.id
        uow.commit()
    with UnitOfWork(db, read_only=True) as uow:
        message = uow.session.scalars(
            select(Message.id).where(Message.template == "sign_in_code").limit(1)
        ).one()

    fulfilment = order["fulfilments"][0]
    return World(
        shop=shop,
        publishable=publishable,
        secret=secret,
        write=write,
        shopper_a=shopper_a,
        shopper_b=shopper_b,
        profile_a=profile_a,
        cart_a=cart_a,
        line_a=line_a,
        order_a=order["id"],
        fulfilment_a=fulfilment["id"],
        order_line_a=order["lines"][0]["id"],
        pickup_code_a=order["pickup_code"],
        order_unpaid=unpaid["id"],
        order_to_cash=to_cash["id"],
        return_id=return_id,
        line_kept=line_kept,
        handoff_token=handoff_d,
        payment_a=payment_a,
        link_token=link_token,
        payment_3ds=pending["id"],
        client_secret_3ds=client_secret,
        till_cart=till_cart["id"],
        handoff_code=handoff,
        profile_walk_in=walk_in,
        profile_erase=erase,
        profile_merge=merge_pair,
        merge_id=merge_id,
        advice_request=advice_id,
        advice_request_2=_ok(advice_2, 201)["id"],
        category_slug=_ok(category, 201)["slug"],
        push_endpoints=endpoints,
        other_kiosk=other_kiosk,
        transfer=_ok(transfer, 201)["id"],
        reservation=_ok(reservation, 201)["id"],
        promo_code=_ok(promo, 201)["code"],
        message=message,
        revocable_key=revocable.key.id,
        card_token=card_token,
    )
