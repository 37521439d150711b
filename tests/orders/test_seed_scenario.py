"""The seed-000 journey, through the API: a cart started on a phone, a poster scanned into it, the
same cart opened at a till by its code, paid there (or by link on the phone), collected in store,
returned in another store — with one history and one stock all along."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
import segno
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from tests.conftest import sandbox_card

from parcours.core.auth.models import KeyKind, Role
from parcours.core.db import Database
from parcours.core.settings import Settings
from parcours.core.uow import UnitOfWork
from parcours.inventory import service as inventory
from parcours.notifications import tasks as notification_tasks
from parcours.tracking.models import Event

if TYPE_CHECKING:
    from tests.conftest import Shop


def stock(db: Database, variant_id: str, location_id: str) -> tuple[int, int]:
    """(on hand, reserved) of a variant at a location."""
    with UnitOfWork(db, read_only=True) as uow:
        level = inventory.get_stock(uow=uow, variant_id=variant_id, location_id=location_id)
        return (level.on_hand, level.reserved) if level else (0, 0)


def poster_photo(shop: Shop, variant_id: str) -> bytes:
    """A photo of the poster's QR code, as the shopper's phone would upload it."""
    code = segno.make_qr(
        f"https://boutique.example/q/{variant_id}?m=poster&c=soldes-hiver", error="m"
    )
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def journey(db: Database) -> list[tuple[str, str, str | None, dict[str, Any]]]:
    with UnitOfWork(db, read_only=True) as uow:
        rows = uow.session.scalars(select(Event).order_by(Event.id)).all()
        return [(row.event, row.channel, row.store_id, row.properties) for row in rows]


def start_on_phone_and_hand_to_till(
    client: TestClient,
    shop: Shop,
    phone: dict[str, str],
    till: TestClient,
) -> tuple[str, dict[str, Any]]:
    """Phone: add a size S; scan a poster (size M); show the handoff code. Till: open it."""
    cart = client.get("/v1/me/cart", headers=phone).json()
    added = client.post(
        f"/v1/carts/{cart['id']}/lines",
        json={"variant_id": shop.variants["S"]},
        headers={**phone, "If-Match": f'"{cart["version"]}"'},
    )
    assert added.status_code == 201, added.text

    scanned = client.post(
        "/v1/scans",
        files={"image": ("poster.png", poster_photo(shop, shop.variants["M"]), "image/png")},
        headers=phone,
    )
    assert scanned.status_code == 200, scanned.text
    found = scanned.json()
    assert found["variant"]["id"] == shop.variants["M"]
    assert found["touchpoint"] == {
        "kind": "print",
        "medium": "poster",
        "campaign": "soldes-hiver",
        "store_id": None,
    }
    from_poster = client.post(
        f"/v1/carts/{cart['id']}/lines",
        json={"variant_id": found["variant"]["id"], "touchpoint": found["touchpoint"]},
        headers=phone,
    )
    assert from_poster.status_code == 201, from_poster.text
    lines = from_poster.json()["lines"]
    assert [(line["sku"], line["touchpoint"]["kind"]) for line in lines] == [
        ("PN-S", "app"),
        ("PN-M", "print"),
    ]

    handoff = client.post(f"/v1/carts/{cart['id']}/handoff", headers=phone).json()
    assert len(handoff["code"]) == 6
    assert handoff["code"].isdigit()
    assert handoff["qr_svg"].lstrip().startswith("<svg")
    opened = till.post(
        "/v1/cart-handoffs/claim", json={"code": handoff["code"], "store_id": shop.store_a}
    )
    assert opened.status_code == 200, opened.text
    assert opened.json()["id"] == cart["id"], "the till opens the same cart, not a copy"
    again = till.post("/v1/cart-handoffs/claim", json={"code": handoff["code"]})
    assert again.status_code == 404, "a handoff code works once"
    return cart["id"], opened.json()


def test_phone_cart_paid_at_till_collected_then_returned_in_another_store(
    client: TestClient,
    db: Database,
    app: FastAPI,
    settings: Settings,
    shop: Shop,
    shopper: Callable[..., dict[str, str]],
    staff_client: Callable[..., TestClient],
    smtp_inbox: tuple[str, Any],
) -> None:
    phone = shopper("app")
    till = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    cart_id, cart = start_on_phone_and_hand_to_till(client, shop, phone, till)
    assert cart["store_id"] == shop.store_a
    # The till sees the store's stock: one M left here.
    m_line = next(line for line in cart["lines"] if line["sku"] == "PN-M")
    assert [w["code"] for w in m_line["warnings"]] == ["low_stock"]

    placed = till.post(
        f"/v1/carts/{cart_id}/checkout",
        json={
            "fulfilments": [{"method": "click_and_collect", "store_id": shop.store_a}],
            "email": "Jeanne.Martin@example.com",
            "store_id": shop.store_a,
        },
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["status"] == "placed"
    assert order["total"] == 2 * shop.price
    assert order["origin"] == "till"
    assert stock(db, shop.variants["M"], shop.store_a) == (1, 1), "reserved at checkout"
    # The phone's cart is closed; its next read opens a new, empty one.
    assert client.get("/v1/me/cart", headers=phone).json()["id"] != cart_id

    paid = till.post(
        f"/v1/orders/{order['id']}/payments",
        json={"method": "cash", "tendered": 15000, "store_id": shop.store_a},
        headers={"Idempotency-Key": "till-1"},
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["payment"]["status"] == "captured"
    assert paid.json()["payment"]["change_due"] == 15000 - 2 * shop.price
    assert paid.json()["order"]["status"] == "paid"
    replay = till.post(
        f"/v1/orders/{order['id']}/payments",
        json={"method": "cash", "tendered": 15000, "store_id": shop.store_a},
        headers={"Idempotency-Key": "till-1"},
    )
    assert replay.json()["payment"]["id"] == paid.json()["payment"]["id"], "never paid twice"
    assert stock(db, shop.variants["M"], shop.store_a) == (0, 0), "allocated on payment"

    ready = till.post(f"/v1/orders/{order['id']}/ready", json={"store_id": shop.store_a})
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready_for_pickup"
    url, inbox = smtp_inbox
    mail_settings = settings.model_copy(update={"smtp_url": SecretStr(url)})
    notification_tasks.deliver_due_messages(db, settings=mail_settings)
    pickup_mails = [
        text
        for to, text in inbox.received
        if "Pantalon noir" in text or order["pickup_code"] in text
    ]
    assert pickup_mails, [text[:200] for _, text in inbox.received]
    assert any(order["pickup_code"] in text for text in pickup_mails)
    assert all(to == ["jeanne.martin@example.com"] for to, _ in inbox.received)

    wrong = till.post(
        f"/v1/orders/{order['id']}/collect",
        json={"store_id": shop.store_a, "pickup_code": "000000"},
    )
    assert wrong.status_code == 409
    assert wrong.json()["code"] == "wrong_pickup_code"
    collected = till.post(
        f"/v1/orders/{order['id']}/collect",
        json={"store_id": shop.store_a, "pickup_code": order["pickup_code"]},
    )
    assert collected.status_code == 200, collected.text
    assert collected.json()["status"] == "collected"

    # A week later she brings the M back to the other store.
    other_store = staff_client(Role.ASSOCIATE, stores={shop.store_b})
    m_order_line = next(line for line in order["lines"] if line["sku"] == "PN-M")
    returned = other_store.post(
        f"/v1/orders/{order['id']}/returns",
        json={"store_id": shop.store_b, "lines": [{"line_id": m_order_line["id"], "quantity": 1}]},
        headers={"Idempotency-Key": "return-1"},
    )
    assert returned.status_code == 201, returned.text
    assert returned.json()["amount"] == shop.price
    assert returned.json()["order_status"] == "partly_returned"
    assert stock(db, shop.variants["M"], shop.store_b) == (3, 0), "restocked where returned"
    payment = till.get(f"/v1/payments/{paid.json()['payment']['id']}").json()
    assert payment["refunded_amount"] == shop.price, "refunded to the original payment"

    events = journey(db)
    names = [(name, channel) for name, channel, _, _ in events]
    assert ("Product Added", "app") in names
    poster = next(props for name, channel, _, props in events if channel == "print")
    assert (poster["medium"], poster["campaign"]) == ("poster", "soldes-hiver")
    assert ("Checkout Started", "till") in names
    completed = next(e for e in events if e[0] == "Order Completed")
    assert completed[1:3] == ("till", shop.store_a)
    refunded = next(e for e in events if e[0] == "Order Refunded")
    assert refunded[1:3] == ("store", shop.store_b)


def test_till_order_paid_by_link_on_the_phone(
    client: TestClient,
    db: Database,
    app: FastAPI,
    shop: Shop,
    shopper: Callable[..., dict[str, str]],
    staff_client: Callable[..., TestClient],
    api_key: Callable[[KeyKind], str],
) -> None:
    phone = shopper("app")
    till = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    cart_id, _ = start_on_phone_and_hand_to_till(client, shop, phone, till)
    order = till.post(
        f"/v1/carts/{cart_id}/checkout",
        json={
            "fulfilments": [{"method": "click_and_collect", "store_id": shop.store_a}],
            "store_id": shop.store_a,
        },
    ).json()
    link = till.post(f"/v1/orders/{order['id']}/payment-link")
    assert link.status_code == 201, link.text
    token = link.json()["token"]
    assert link.json()["amount"] == order["total"]

    # On her phone: what is to be paid, then pay it with a card.
    public = TestClient(app, base_url="https://testserver")
    shown = public.get(f"/v1/payment-links/{token}")
    assert shown.status_code == 200, shown.text
    publishable = {"Authorization": f"Bearer {api_key(KeyKind.PUBLISHABLE)}"}
    card = public.post(
        "/v1/payments/test-provider/tokens",
        json=sandbox_card(),
        headers=publishable,
    )
    assert card.status_code == 201, card.text
    paid = public.post(
        f"/v1/payment-links/{token}/payments",
        json={"token": card.json()["token"]},
        headers={"Idempotency-Key": "phone-1"},
    )
    assert paid.status_code in (200, 201), paid.text
    assert paid.json()["status"] == "captured"
    app.state.relay.run_once()  # the PaymentCaptured handler settles the order
    settled = till.get(f"/v1/orders/{order['id']}").json()
    assert settled["status"] == "paid"
    assert settled["paid_amount"] == order["total"]
    again = public.post(
        f"/v1/payment-links/{token}/payments",
        json={"token": card.json()["token"]},
        headers={"Idempotency-Key": "phone-2"},
    )
    assert again.status_code == 409, "a link is paid once"
    assert stock(db, shop.variants["S"], shop.store_a) == (4, 0)


@pytest.mark.parametrize("number", ["4000000000000002"])
def test_declined_card_leaves_the_order_waiting(
    client: TestClient,
    shop: Shop,
    shopper: Callable[..., dict[str, str]],
    db: Database,
    number: str,
) -> None:
    phone = shopper("web")
    cart = client.get("/v1/me/cart", headers=phone).json()
    client.post(
        f"/v1/carts/{cart['id']}/lines", json={"variant_id": shop.variants["S"]}, headers=phone
    )
    order = client.post(
        f"/v1/carts/{cart['id']}/checkout",
        json={"fulfilments": [{"method": "click_and_collect", "store_id": shop.store_b}]},
        headers=phone,
    ).json()
    assert order["fulfilments"][0]["source_location_id"] == shop.warehouse, "sent to B"
    token = client.post(
        "/v1/payments/test-provider/tokens",
        json=sandbox_card(number),
        headers=phone,
    ).json()["token"]
    declined = client.post(
        f"/v1/orders/{order['id']}/payments",
        json={"method": "card", "token": token},
        headers={**phone, "Idempotency-Key": "try-1"},
    )
    assert declined.status_code == 402, declined.text
    assert declined.json()["code"] == "payment_declined"
    assert client.get(f"/v1/orders/{order['id']}", headers=phone).json()["status"] == "placed"
    assert stock(db, shop.variants["S"], shop.warehouse) == (20, 1), "still held for her"
    good = client.post(
        "/v1/payments/test-provider/tokens",
        json=sandbox_card(),
        headers=phone,
    ).json()["token"]
    paid = client.post(
        f"/v1/orders/{order['id']}/payments",
        json={"method": "card", "token": good},
        headers={**phone, "Idempotency-Key": "try-2"},
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["order"]["status"] == "paid"
    assert paid.json()["order"]["fulfilments"][0]["status"] == "in_transit"
