"""Handing a cart to a till: a 6-digit code or a QR code opens the very same cart there, once,
for ten minutes, at any store."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from tests.carts.conftest import Headers, added, assert_problem, my_cart, skus

from parcours.carts.models import CartHandoff
from parcours.core.auth.models import Role
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork

if TYPE_CHECKING:
    from tests.conftest import Shop


def phone_with_cart(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop
) -> tuple[Headers, dict[str, Any]]:
    phone = shopper("app")
    return phone, added(client, phone, my_cart(client, phone)["id"], shop.variants["M"])


def hand_off(client: TestClient, phone: Headers, cart_id: str) -> dict[str, Any]:
    answer = client.post(f"/v1/carts/{cart_id}/handoff", headers=phone)
    assert answer.status_code == 201, answer.text
    handoff: dict[str, Any] = answer.json()
    return handoff


def test_the_till_opens_the_phones_cart_with_its_code_once(
    client: TestClient,
    shopper: Callable[..., Headers],
    staff_client: Callable[..., TestClient],
    shop: Shop,
) -> None:
    phone, cart = phone_with_cart(client, shopper, shop)
    handoff = hand_off(client, phone, cart["id"])
    assert re.fullmatch(r"\d{6}", handoff["code"])
    assert handoff["url"].endswith(f"/h/{handoff['token']}")
    assert handoff["qr_svg"].lstrip().startswith("<svg")
    till = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    opened = till.post(
        "/v1/cart-handoffs/claim", json={"code": f" {handoff['code']} ", "store_id": shop.store_a}
    )
    assert opened.status_code == 200, opened.text
    assert opened.json()["id"] == cart["id"], "the same cart, not a copy"
    assert opened.headers["ETag"] == f'"{cart["version"]}"'
    assert opened.json()["store_id"] == shop.store_a
    [warning] = opened.json()["lines"][0]["warnings"]
    assert warning["code"] == "low_stock", "the till sees its own stock: one M left"
    again = till.post("/v1/cart-handoffs/claim", json={"code": handoff["code"]})
    assert_problem(again, 404, "handoff_not_found")
    # What she adds on her phone now is in the till's cart too.
    added(client, phone, cart["id"], shop.variants["S"])
    assert skus(till.get(f"/v1/carts/{cart['id']}").json()) == [("PN-M", 1), ("PN-S", 1)]


def test_the_qr_code_opens_it_too(
    client: TestClient,
    shopper: Callable[..., Headers],
    staff_client: Callable[..., TestClient],
    shop: Shop,
) -> None:
    phone, cart = phone_with_cart(client, shopper, shop)
    first, second = hand_off(client, phone, cart["id"]), hand_off(client, phone, cart["id"])
    till = staff_client(Role.ASSOCIATE, stores={shop.store_b})
    by_token = till.post("/v1/cart-handoffs/claim", json={"token": first["token"]})
    assert (by_token.status_code, by_token.json()["id"]) == (200, cart["id"])
    # A scanner reads the whole link the QR code holds.
    by_link = till.post("/v1/cart-handoffs/claim", json={"token": second["url"]})
    assert by_link.status_code == 200, by_link.text
    assert till.post("/v1/cart-handoffs/claim", json={"token": first["token"]}).status_code == 404
    assert till.post("/v1/cart-handoffs/claim", json={"code": first["code"]}).status_code == 404


def test_a_code_expires(
    client: TestClient,
    shopper: Callable[..., Headers],
    staff_client: Callable[..., TestClient],
    shop: Shop,
    db: Database,
) -> None:
    phone, cart = phone_with_cart(client, shopper, shop)
    handoff = hand_off(client, phone, cart["id"])
    with UnitOfWork(db) as uow:
        uow.session.execute(update(CartHandoff).values(expires_at=utcnow() - timedelta(seconds=1)))
        uow.commit()
    till = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    for claim in ({"code": handoff["code"]}, {"token": handoff["token"]}):
        late = till.post("/v1/cart-handoffs/claim", json=claim)
        assert_problem(late, 404, "handoff_not_found")


def test_a_till_of_any_store_may_claim_for_its_own_store(
    client: TestClient,
    shopper: Callable[..., Headers],
    staff_client: Callable[..., TestClient],
    shop: Shop,
) -> None:
    phone, cart = phone_with_cart(client, shopper, shop)
    handoff = hand_off(client, phone, cart["id"])
    store_b = staff_client(Role.ASSOCIATE, stores={shop.store_b})
    elsewhere = store_b.post(
        "/v1/cart-handoffs/claim", json={"code": handoff["code"], "store_id": shop.store_a}
    )
    assert_problem(elsewhere, 403, "store_out_of_scope")
    here = store_b.post(
        "/v1/cart-handoffs/claim", json={"code": handoff["code"], "store_id": shop.store_b}
    )
    assert here.status_code == 200, "the refusal did not spend the code"
    assert here.json()["lines"][0]["warnings"] == [
        {
            "code": "low_stock",
            "message": "Plus que 2 dans ce magasin.",
            "details": {"store_id": shop.store_b, "available": 2},
        }
    ]


def test_only_a_till_claims_and_only_an_active_cart_is_handed_off(
    client: TestClient,
    shopper: Callable[..., Headers],
    staff_client: Callable[..., TestClient],
    shop: Shop,
) -> None:
    phone, cart = phone_with_cart(client, shopper, shop)
    handoff = hand_off(client, phone, cart["id"])
    by_phone = client.post("/v1/cart-handoffs/claim", json={"code": handoff["code"]}, headers=phone)
    assert by_phone.status_code == 403
    till = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    for body in ({}, {"code": handoff["code"], "token": handoff["token"]}):
        answer = till.post("/v1/cart-handoffs/claim", json=body)
        assert_problem(answer, 422, "handoff_code_required")
    placed = client.post(
        f"/v1/carts/{cart['id']}/checkout",
        json={"fulfilments": [{"method": "click_and_collect", "store_id": shop.store_b}]},
        headers=phone,
    )
    assert placed.status_code == 201, placed.text
    late = till.post("/v1/cart-handoffs/claim", json={"code": handoff["code"]})
    assert_problem(late, 409, "cart_not_active")
    refused = client.post(f"/v1/carts/{cart['id']}/handoff", headers=phone)
    assert_problem(refused, 409, "cart_not_active")


def test_two_tills_typing_the_same_code_at_once_open_it_once(
    client: TestClient,
    shopper: Callable[..., Headers],
    staff_client: Callable[..., TestClient],
    shop: Shop,
) -> None:
    phone, cart = phone_with_cart(client, shopper, shop)
    code = hand_off(client, phone, cart["id"])["code"]
    tills = [staff_client(Role.ASSOCIATE, stores={shop.store_a}) for _ in range(4)]
    start = threading.Barrier(len(tills))

    def claim(till: TestClient) -> int:
        start.wait()
        return till.post("/v1/cart-handoffs/claim", json={"code": code}).status_code

    with ThreadPoolExecutor(len(tills)) as pool:
        assert sorted(pool.map(claim, tills)) == [200, 404, 404, 404]
