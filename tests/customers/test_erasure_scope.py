"""Erasure covers everything that is hers, not only what carries her profile id: an order she
placed as a guest on her phone (linked to her later through the device), an order placed as a
guest under her address on another device, and the confirmation messages about them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.conftest import Shop

from parcours.core.auth.models import KeyKind
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import shoppers
from parcours.notifications.models import Message
from parcours.orders.models import Fulfilment, Order

EMAIL = "jeanne.guest@example.com"
ADDRESS = {
    "name": "Jeanne Martin",
    "line1": "5 rue Oberkampf",
    "postcode": "75011",
    "city": "Paris",
}


def _device(client: TestClient, key: str) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    answer = client.post("/v1/shopper/sessions", json={"channel": "web"}, headers=headers)
    assert answer.status_code == 201, answer.text
    return {**headers, "X-Shopper-Token": answer.json()["token"]}


def _guest_order(client: TestClient, device: dict[str, str], variant: str) -> dict[str, Any]:
    """A guest checkout, delivered to her, paid: its confirmation goes to her address."""
    cart = client.get("/v1/me/cart", headers=device).json()
    added = client.post(
        f"/v1/carts/{cart['id']}/lines", json={"variant_id": variant}, headers=device
    )
    assert added.status_code == 201, added.text
    order = client.post(
        f"/v1/carts/{cart['id']}/checkout",
        json={"fulfilments": [{"method": "delivery", "address": ADDRESS}], "email": EMAIL},
        headers=device,
    )
    assert order.status_code == 201, order.text
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": utcnow().year + 3}
    token = client.post(
        "/v1/payments/test-provider/tokens", json={**card, "cvc": "123"}, headers=device
    ).json()["token"]
    paid = client.post(
        f"/v1/orders/{order.json()['id']}/payments",
        json={"method": "card", "token": token},
        headers={**device, "Idempotency-Key": f"pay-{order.json()['id']}"},
    )
    assert paid.status_code in (200, 201), paid.text
    placed: dict[str, Any] = order.json()
    assert placed["profile_id"] is None, "a guest order"
    return placed


def _personal_data_left(db: Database, order_ids: list[str]) -> list[Any]:
    with UnitOfWork(db, read_only=True) as uow:
        orders = list(uow.session.scalars(select(Order).where(Order.id.in_(order_ids))))
        assert len(orders) == len(order_ids)
        addresses = list(
            uow.session.scalars(
                select(Fulfilment.address).where(Fulfilment.order_id.in_(order_ids))
            )
        )
        messages = list(
            uow.session.execute(
                select(Message.to_address, Message.body_text).where(
                    Message.reference.in_(order_ids) | (Message.to_address == EMAIL)
                )
            )
        )
        return (
            [o.email for o in orders if o.email]
            + [a for a in addresses if a]
            + [m for m in messages if m.to_address or m.body_text]
        )


def test_erasure_reaches_her_guest_orders_and_their_messages(
    client: TestClient,
    app: FastAPI,
    db: Database,
    shop: Shop,
    api_key: Callable[[KeyKind], str],
    secret_headers: dict[str, str],
) -> None:
    key = api_key(KeyKind.PUBLISHABLE)
    phone, friends_laptop = _device(client, key), _device(client, key)
    on_her_phone = _guest_order(client, phone, shop.variants["S"])
    elsewhere = _guest_order(client, friends_laptop, shop.variants["M"])
    order_ids = [on_her_phone["id"], elsewhere["id"]]
    with UnitOfWork(db, read_only=True) as uow:
        confirmations = uow.session.scalars(
            select(Message.id).where(Message.reference.in_(order_ids))
        ).all()
    assert len(confirmations) >= 2, "each guest order was confirmed by email"
    assert _personal_data_left(db, order_ids)

    # She creates her account on her phone: its guest order is now in her history.
    with UnitOfWork(db) as uow:
        code = shoppers.request_sign_in_code(uow=uow, email=EMAIL)
        uow.commit()
    signed_in = client.post(
        "/v1/shopper/sign-in", json={"email": EMAIL, "code": code}, headers=phone
    )
    assert signed_in.status_code == 200, signed_in.text
    mine = client.get("/v1/me/orders", headers=phone).json()["items"]
    assert on_her_phone["id"] in {o["id"] for o in mine}
    profile_id = signed_in.json()["profile_id"]

    erased = client.post(f"/v1/customers/{profile_id}/erase", headers=secret_headers)
    assert erased.status_code == 200, erased.text
    assert _personal_data_left(db, order_ids) == [], "nothing personal is left once it commits"
    app.state.relay.run_once()
    assert _personal_data_left(db, order_ids) == []
    assert erased.json()["counts"]["orders_orders"] == 2
    with UnitOfWork(db, read_only=True) as uow:
        kept = uow.session.scalars(select(Order.total).where(Order.id.in_(order_ids))).all()
    assert sorted(kept) == sorted([on_her_phone["total"], elsewhere["total"]])
