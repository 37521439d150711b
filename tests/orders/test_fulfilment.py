"""Checkout per group of lines: where the stock comes from, when she gets it, what she pays and
what the store does next; and the requests checkout refuses, leaving everything as it was."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import sandbox_card

from parcours.core.auth.models import Role
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.inventory import service as inventory

if TYPE_CHECKING:
    from tests.conftest import Shop

ADDRESS = {
    "name": "Jeanne Martin",
    "line1": "5 rue Oberkampf",
    "postcode": "75011",
    "city": "Paris",
}


def reserved(db: Database, variant_id: str, location_id: str) -> int:
    with UnitOfWork(db, read_only=True) as uow:
        level = inventory.get_stock(uow=uow, variant_id=variant_id, location_id=location_id)
        return level.reserved if level else 0


class Phone:
    """A shopper's storefront session, with its cart."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers
        self.cart = client.get("/v1/me/cart", headers=headers).json()

    def add(self, variant_id: str, quantity: int = 1) -> dict[str, Any]:
        answer = self.client.post(
            f"/v1/carts/{self.cart['id']}/lines",
            json={"variant_id": variant_id, "quantity": quantity},
            headers=self.headers,
        )
        assert answer.status_code == 201, answer.text
        self.cart = answer.json()
        return self.cart

    def checkout(self, *fulfilments: dict[str, Any], **extra: Any) -> Any:
        headers = {**self.headers, **extra.pop("headers", {})}
        return self.client.post(
            f"/v1/carts/{self.cart['id']}/checkout",
            json={"fulfilments": list(fulfilments), **extra},
            headers=headers,
        )

    def pay(self, order_id: str, key: str = "k1") -> Any:
        token = self.client.post(
            "/v1/payments/test-provider/tokens", json=sandbox_card(), headers=self.headers
        ).json()["token"]
        return self.client.post(
            f"/v1/orders/{order_id}/payments",
            json={"method": "card", "token": token},
            headers={**self.headers, "Idempotency-Key": key},
        )


@pytest.fixture
def phone(client: TestClient, shopper: Callable[..., dict[str, str]]) -> Phone:
    return Phone(client, shopper("web"))


def test_home_delivery_ships_from_the_warehouse_by_default(phone: Phone, shop: Shop) -> None:
    phone.add(shop.variants["S"])
    order = phone.checkout({"method": "delivery", "address": ADDRESS}).json()
    [group] = order["fulfilments"]
    assert group["source_location_id"] == shop.warehouse
    assert group["pickup_location_id"] is None
    assert order["shipping"] == 0, "free delivery from 50 €"
    assert order["pickup_code"] is None


def test_ship_from_store_takes_the_nearest_store_that_holds_everything(
    phone: Phone, shop: Shop
) -> None:
    phone.add(shop.variants["S"], 2)
    order = phone.checkout({"method": "ship_from_store", "address": ADDRESS}).json()
    assert order["fulfilments"][0]["source_location_id"] == shop.store_a


def test_small_delivery_pays_the_fee(phone: Phone, shop: Shop, db: Database) -> None:
    from parcours.catalog import service as catalog

    with UnitOfWork(db) as uow:
        catalog.update_product(uow=uow, product_id=shop.product_id, price_amount=2000)
        uow.commit()
    phone.add(shop.variants["L"])
    order = phone.checkout({"method": "delivery", "address": ADDRESS}).json()
    assert (order["subtotal"], order["shipping"], order["total"]) == (2000, 490, 2490)


def test_click_and_collect_in_a_store_without_it_comes_by_transfer(
    phone: Phone, shop: Shop, db: Database
) -> None:
    phone.add(shop.variants["S"])
    order = phone.checkout({"method": "click_and_collect", "store_id": shop.store_b}).json()
    [group] = order["fulfilments"]
    assert (group["source_location_id"], group["pickup_location_id"]) == (
        shop.warehouse,
        shop.store_b,
    )
    ready_by = datetime.fromisoformat(group["ready_by"])
    assert ready_by - utcnow() > timedelta(days=1, hours=23), "after the transfer lead time"
    assert reserved(db, shop.variants["S"], shop.warehouse) == 1


def test_a_mixed_cart_gets_one_group_per_way(phone: Phone, shop: Shop) -> None:
    s_line = phone.add(shop.variants["S"])["lines"][0]["id"]
    phone.add(shop.variants["L"])
    order = phone.checkout(
        {"method": "click_and_collect", "store_id": shop.store_a, "line_ids": [s_line]},
        {"method": "delivery", "address": ADDRESS},
    ).json()
    methods = {(g["method"], g["source_location_id"]) for g in order["fulfilments"]}
    assert methods == {("click_and_collect", shop.store_a), ("delivery", shop.warehouse)}
    assert order["pickup_code"] is not None


def test_reserve_in_store_is_paid_at_the_till_before_handover(
    phone: Phone, shop: Shop, staff_client: Callable[..., TestClient], db: Database
) -> None:
    phone.add(shop.variants["M"])
    order = phone.checkout({"method": "reserve_in_store", "store_id": shop.store_a}).json()
    assert order["status"] == "placed"
    due = order["payment_due_by"]
    assert due is not None
    held = datetime.fromisoformat(due) - utcnow()
    assert held > timedelta(hours=47), "held for the store's hold, not the online payment window"
    till = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    ready = till.post(f"/v1/orders/{order['id']}/ready", json={"store_id": shop.store_a})
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready_for_pickup"
    unpaid = till.post(
        f"/v1/orders/{order['id']}/collect",
        json={"store_id": shop.store_a, "pickup_code": order["pickup_code"]},
    )
    assert unpaid.status_code == 409
    assert unpaid.json()["code"] == "payment_required"
    paid = till.post(
        f"/v1/orders/{order['id']}/payments",
        json={
            "method": "card_terminal",
            "terminal_reference": "TPE-0042",
            "store_id": shop.store_a,
        },
        headers={"Idempotency-Key": "tpe-1"},
    )
    assert paid.status_code == 201, paid.text
    collected = till.post(
        f"/v1/orders/{order['id']}/collect",
        json={"store_id": shop.store_a, "pickup_code": order["pickup_code"]},
    )
    assert collected.json()["status"] == "collected"
    assert reserved(db, shop.variants["M"], shop.store_a) == 0


def test_reserve_in_store_only_where_the_store_offers_it(phone: Phone, shop: Shop) -> None:
    phone.add(shop.variants["M"])
    refused = phone.checkout({"method": "reserve_in_store", "store_id": shop.store_b})
    assert refused.status_code == 409
    assert refused.json()["code"] == "service_not_offered"


def test_an_in_store_purchase_is_made_at_a_till(phone: Phone, shop: Shop) -> None:
    phone.add(shop.variants["S"])
    refused = phone.checkout({"method": "in_store", "store_id": shop.store_a})
    assert refused.status_code == 422
    assert refused.json()["code"] == "till_only"


def test_till_sale_is_handed_over_when_paid(
    shop: Shop, staff_client: Callable[..., TestClient], db: Database
) -> None:
    till = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    cart = till.post("/v1/carts", json={"store_id": shop.store_a}).json()
    till.post(f"/v1/carts/{cart['id']}/lines", json={"variant_id": shop.variants["S"]})
    order = till.post(
        f"/v1/carts/{cart['id']}/checkout",
        json={
            "fulfilments": [{"method": "in_store", "store_id": shop.store_a}],
            "store_id": shop.store_a,
        },
    ).json()
    assert order["origin"] == "till"
    paid = till.post(
        f"/v1/orders/{order['id']}/payments",
        json={"method": "cash", "tendered": 6000, "store_id": shop.store_a},
        headers={"Idempotency-Key": "cash-1"},
    ).json()
    assert paid["payment"]["change_due"] == 10
    assert paid["order"]["status"] == "collected"
    with UnitOfWork(db, read_only=True) as uow:
        level = inventory.get_stock(
            uow=uow, variant_id=shop.variants["S"], location_id=shop.store_a
        )
        assert level is not None
        assert (level.on_hand, level.reserved) == (4, 0)


def test_endless_aisle_an_associate_orders_what_her_store_lacks(
    shop: Shop, staff_client: Callable[..., TestClient]
) -> None:
    associate = staff_client(Role.ASSOCIATE, stores={shop.store_b})
    cart = associate.post("/v1/carts", json={"store_id": shop.store_b}).json()
    added = associate.post(f"/v1/carts/{cart['id']}/lines", json={"variant_id": shop.variants["L"]})
    assert added.json()["lines"][0]["touchpoint"]["kind"] == "store"
    assert added.json()["lines"][0]["warnings"][0]["code"] == "out_of_stock_here"
    order = associate.post(
        f"/v1/carts/{cart['id']}/checkout",
        json={
            "fulfilments": [{"method": "click_and_collect", "store_id": shop.store_b}],
            "store_id": shop.store_b,
            "email": "client@example.com",
        },
    ).json()
    assert order["origin"] == "endless_aisle"
    assert order["fulfilments"][0]["source_location_id"] == shop.warehouse


def test_stale_or_malformed_checkouts_change_nothing(
    phone: Phone, shop: Shop, db: Database, client: TestClient
) -> None:
    empty = phone.checkout({"method": "delivery", "address": ADDRESS})
    assert empty.status_code == 409
    assert empty.json()["code"] == "cart_empty"
    version = phone.add(shop.variants["S"])["version"]
    stale = phone.checkout(
        {"method": "click_and_collect", "store_id": shop.store_a},
        headers={"If-Match": f'"{version - 1}"'},
    )
    assert stale.status_code == 412
    assert stale.json()["code"] == "cart_version_mismatch"
    unknown = phone.checkout(
        {"method": "click_and_collect", "store_id": shop.store_a, "line_ids": ["cln_nope"]}
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unknown_line"
    no_address = phone.checkout({"method": "delivery"})
    assert no_address.status_code == 422
    assert no_address.json()["code"] == "address_required"
    bad_method = phone.checkout({"method": "teleport"})
    assert bad_method.status_code == 422
    assert bad_method.headers["content-type"].startswith("application/problem+json")
    too_many = phone.add(shop.variants["M"], 2)  # A has one M, B two: no single store has it
    assert too_many["lines"][1]["quantity"] == 2
    short = phone.checkout({"method": "reserve_in_store", "store_id": shop.store_a})
    assert short.status_code == 409
    assert short.json()["code"] == "insufficient_stock"
    assert reserved(db, shop.variants["S"], shop.store_a) == 0, "nothing half-reserved"
    assert client.get(f"/v1/carts/{phone.cart['id']}", headers=phone.headers).json()["status"] == (
        "active"
    )
    placed = phone.checkout({"method": "click_and_collect", "store_id": shop.store_a})
    assert placed.status_code == 201, placed.text
    again = phone.checkout({"method": "click_and_collect", "store_id": shop.store_a})
    assert again.status_code == 409
    assert again.json()["code"] == "cart_not_active"


def test_unpaid_order_expires_and_gives_its_stock_back(
    phone: Phone, shop: Shop, db: Database
) -> None:
    from parcours.orders import tasks

    phone.add(shop.variants["S"])
    order = phone.checkout({"method": "click_and_collect", "store_id": shop.store_a}).json()
    assert reserved(db, shop.variants["S"], shop.store_a) == 1
    tasks.cancel_unpaid_orders(db, now=utcnow() + timedelta(minutes=16))
    assert reserved(db, shop.variants["S"], shop.store_a) == 0
    status = phone.client.get(f"/v1/orders/{order['id']}", headers=phone.headers).json()
    assert status["status"] == "cancelled"
    late = phone.pay(order["id"])
    assert late.status_code == 409
    assert late.json()["code"] == "order_not_payable"


def test_shopper_cancels_unpaid_but_the_shop_cancels_paid_with_refund(
    phone: Phone, shop: Shop, db: Database, staff_client: Callable[..., TestClient]
) -> None:
    phone.add(shop.variants["S"])
    order = phone.checkout({"method": "click_and_collect", "store_id": shop.store_a}).json()
    assert phone.pay(order["id"]).status_code == 201
    mine = phone.client.post(
        f"/v1/orders/{order['id']}/cancel", json={"reason": "changed_mind"}, headers=phone.headers
    )
    assert mine.status_code == 403
    assert mine.json()["code"] == "ask_the_shop"
    manager = staff_client(Role.MANAGER)
    cancelled = manager.post(f"/v1/orders/{order['id']}/cancel", json={"reason": "changed_mind"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["refunded_amount"] == order["total"]
    with UnitOfWork(db, read_only=True) as uow:
        level = inventory.get_stock(
            uow=uow, variant_id=shop.variants["S"], location_id=shop.store_a
        )
        assert level is not None
        assert level.on_hand == 5, "back on the shelf"


def test_delivery_is_shipped_then_delivered(
    phone: Phone, shop: Shop, staff_client: Callable[..., TestClient]
) -> None:
    phone.add(shop.variants["S"])
    order = phone.checkout({"method": "ship_from_store", "address": ADDRESS}).json()
    group = order["fulfilments"][0]["id"]
    associate = staff_client(Role.ASSOCIATE, stores={shop.store_b})
    early = staff_client(Role.ASSOCIATE, stores={shop.store_a}).post(
        f"/v1/orders/{order['id']}/ship", json={"fulfilment_id": group}
    )
    assert early.status_code == 409
    assert early.json()["code"] == "payment_required"
    phone.pay(order["id"])
    elsewhere = associate.post(f"/v1/orders/{order['id']}/ship", json={"fulfilment_id": group})
    assert elsewhere.status_code == 403, "only the store shipping it"
    shipped = staff_client(Role.ASSOCIATE, stores={shop.store_a}).post(
        f"/v1/orders/{order['id']}/ship",
        json={"fulfilment_id": group, "tracking_reference": "CP123"},
    )
    assert shipped.json()["status"] == "shipped"
    delivered = staff_client(Role.MANAGER).post(
        f"/v1/orders/{order['id']}/delivered", json={"fulfilment_id": group}
    )
    assert delivered.json()["status"] == "delivered"


def test_one_order_history_across_web_and_till(
    client: TestClient,
    shop: Shop,
    shopper: Callable[..., dict[str, str]],
    staff_client: Callable[..., TestClient],
    db: Database,
) -> None:
    """A guest order on her phone and a till sale once the associate recognised her: both in
    her account once she signs in."""
    from parcours.customers import service as customers

    phone = Phone(client, shopper("app"))
    phone.add(shop.variants["S"])
    web_order = phone.checkout({"method": "click_and_collect", "store_id": shop.store_a}).json()

    with UnitOfWork(db) as uow:
        profile = customers.identify(
            uow=uow, traits={"email": "jeanne@example.com"}, channel="till", trusted=True
        )
        uow.commit()
        profile_id = profile.id
    till = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    cart = till.post("/v1/carts", json={"store_id": shop.store_a, "profile_id": profile_id}).json()
    till.post(f"/v1/carts/{cart['id']}/lines", json={"variant_id": shop.variants["M"]})
    till_order = till.post(
        f"/v1/carts/{cart['id']}/checkout",
        json={
            "fulfilments": [{"method": "in_store", "store_id": shop.store_a}],
            "store_id": shop.store_a,
        },
    ).json()

    signed_out = client.get("/v1/me/orders", headers=phone.headers)
    assert signed_out.status_code == 403
    assert signed_out.json()["code"] == "sign_in_required"
    from parcours.customers import shoppers

    with UnitOfWork(db) as uow:
        code = shoppers.request_sign_in_code(uow=uow, email="jeanne@example.com")
        uow.commit()
    signed_in = client.post(
        "/v1/shopper/sign-in",
        json={"email": "jeanne@example.com", "code": code},
        headers=phone.headers,
    )
    assert signed_in.status_code == 200, signed_in.text
    history = client.get("/v1/me/orders", headers=phone.headers).json()["items"]
    assert {o["id"] for o in history} == {web_order["id"], till_order["id"]}
    assert {o["channel"] for o in history} == {"app", "till"}
    staff_view = staff_client(Role.MARKETER).get(f"/v1/customers/{profile_id}/orders").json()
    assert {o["id"] for o in staff_view["items"]} == {web_order["id"], till_order["id"]}


def test_erasure_removes_her_email_and_address_from_orders_and_signs_her_out(
    client: TestClient,
    shop: Shop,
    shopper: Callable[..., dict[str, str]],
    staff_client: Callable[..., TestClient],
    db: Database,
    app: Any,
) -> None:
    from parcours.customers import shoppers

    phone = Phone(client, shopper("app"))
    with UnitOfWork(db) as uow:
        code = shoppers.request_sign_in_code(uow=uow, email="jeanne@example.com")
        uow.commit()
    client.post(
        "/v1/shopper/sign-in",
        json={"email": "jeanne@example.com", "code": code},
        headers=phone.headers,
    )
    phone.cart = client.get("/v1/me/cart", headers=phone.headers).json()
    phone.add(shop.variants["S"])
    order = phone.checkout(
        {"method": "delivery", "address": ADDRESS}, email="jeanne@example.com"
    ).json()
    profile_id = order["profile_id"]
    assert profile_id is not None

    admin = staff_client(Role.ADMIN)
    erased = admin.post(f"/v1/customers/{profile_id}/erase")
    assert erased.status_code in (200, 201), erased.text
    app.state.relay.run_once()
    from parcours.orders.models import Fulfilment, Order

    with UnitOfWork(db, read_only=True) as uow:
        stored = uow.session.get(Order, order["id"])
        assert stored is not None
        assert stored.email is None
        assert stored.total == order["total"], "the accounts keep the amounts"
        assert all(
            f.address is None for f in uow.session.query(Fulfilment).filter_by(order_id=order["id"])
        )
    signed_out = client.get("/v1/me/orders", headers=phone.headers)
    assert signed_out.status_code == 401, "her sessions ended with her data"
    assert signed_out.json()["code"] == "shopper_session_required"
