"""A hundred checkouts for the last five units, from the web, the till and click-and-collect:
no oversell, no double payment, every loser told why, and unpaid holds come back."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi.testclient import TestClient

from parcours.carts import service as carts
from parcours.carts.models import TouchpointKind
from parcours.core.auth.models import Role
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import shoppers
from parcours.inventory import service as inventory
from parcours.orders import tasks as order_tasks

if TYPE_CHECKING:
    from tests.conftest import Shop

LAST_UNITS = 5
WEB, TILL, COLLECT = 40, 30, 30


def _only_at_store_a(db: Database, shop: Shop) -> None:
    with UnitOfWork(db) as uow:
        for location, units in ((shop.store_a, LAST_UNITS), (shop.warehouse, 0)):
            inventory.set_stock(
                uow=uow,
                variant_id=shop.variants["S"],
                location_id=location,
                on_hand=units,
                reason="count",
            )
        uow.commit()


def _shopper_cart(db: Database, shop: Shop, channel: str) -> tuple[str, str]:
    """A shopper's session token and her cart holding one S."""
    with UnitOfWork(db) as uow:
        started = shoppers.start_shopper_session(uow=uow, channel=channel)
        cart = carts.open_cart(
            uow=uow,
            profile_id=None,
            anonymous_id=started.session.anonymous_id,
            channel=channel,
            currency="EUR",
        )
        carts.add_line(
            uow=uow,
            cart_id=cart.id,
            variant_id=shop.variants["S"],
            quantity=1,
            touchpoint=carts.Touchpoint(TouchpointKind(channel)),
        )
        uow.commit()
        return started.token, cart.id


def _till_cart(db: Database, shop: Shop) -> str:
    with UnitOfWork(db) as uow:
        cart = carts.open_cart(
            uow=uow,
            profile_id=None,
            anonymous_id=None,
            channel="till",
            currency="EUR",
            store_id=shop.store_a,
        )
        carts.add_line(
            uow=uow,
            cart_id=cart.id,
            variant_id=shop.variants["S"],
            quantity=1,
            touchpoint=carts.Touchpoint(TouchpointKind.TILL, store_id=shop.store_a),
        )
        uow.commit()
        return cart.id


def test_hundred_checkouts_for_the_last_units(
    client: TestClient,
    db: Database,
    shop: Shop,
    shopper: Callable[..., dict[str, str]],
    staff_client: Callable[..., TestClient],
    publishable_headers: dict[str, str],
) -> None:
    _only_at_store_a(db, shop)
    till = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    attempts: list[tuple[str, TestClient, str, dict[str, Any], dict[str, str]]] = []
    for _ in range(WEB):
        token, cart_id = _shopper_cart(db, shop, "web")
        body = {"fulfilments": [{"method": "click_and_collect", "store_id": shop.store_a}]}
        attempts.append(
            ("web", client, cart_id, body, {**publishable_headers, "X-Shopper-Token": token})
        )
    for _ in range(COLLECT):
        token, cart_id = _shopper_cart(db, shop, "app")
        body = {"fulfilments": [{"method": "reserve_in_store", "store_id": shop.store_a}]}
        attempts.append(
            ("app", client, cart_id, body, {**publishable_headers, "X-Shopper-Token": token})
        )
    for _ in range(TILL):
        body = {
            "fulfilments": [{"method": "in_store", "store_id": shop.store_a}],
            "store_id": shop.store_a,
        }
        attempts.append(("till", till, _till_cart(db, shop), body, {}))

    start = threading.Barrier(len(attempts))

    def checkout(
        attempt: tuple[str, TestClient, str, dict[str, Any], dict[str, str]],
    ) -> tuple[str, int, str, str]:
        channel, http, cart_id, body, headers = attempt
        start.wait()
        answer = http.post(f"/v1/carts/{cart_id}/checkout", json=body, headers=headers)
        payload = answer.json()
        if answer.status_code != 201:
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert payload["detail"], "a loser is told why"
        return channel, answer.status_code, payload.get("code", ""), payload.get("id", "")

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        outcomes = list(pool.map(checkout, attempts))

    assert Counter((status, code) for _, status, code, _ in outcomes) == {
        (201, ""): LAST_UNITS,
        (409, "insufficient_stock"): len(attempts) - LAST_UNITS,
    }
    with UnitOfWork(db, read_only=True) as uow:
        level = inventory.get_stock(
            uow=uow, variant_id=shop.variants["S"], location_id=shop.store_a
        )
        assert level is not None
        assert (level.on_hand, level.reserved) == (LAST_UNITS, LAST_UNITS)

    # Every winner pays twice at once with the same key: one payment each, never two.
    winners = [(channel, order_id) for channel, status, _, order_id in outcomes if status == 201]
    paid_online = [order_id for channel, order_id in winners if channel == "web"]
    paid_at_till = [order_id for channel, order_id in winners if channel == "till"]

    def pay(
        order_id: str, http: TestClient, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, str]:
        answer = http.post(f"/v1/orders/{order_id}/payments", json=body, headers=headers)
        return answer.status_code, answer.json().get("payment", {}).get(
            "id", answer.json().get("code")
        )

    jobs = []
    secret_http = staff_client(Role.MANAGER)
    for order_id in paid_online + paid_at_till:
        body = {"method": "cash", "tendered": 10000, "store_id": shop.store_a}
        for _ in range(2):
            jobs.append((order_id, secret_http, body, {"Idempotency-Key": f"pay-{order_id}"}))
    with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
        paid = list(pool.map(lambda job: pay(*job), jobs))
    by_order: dict[str, set[str]] = {}
    for (order_id, *_), (status, payment) in zip(jobs, paid, strict=True):
        if status == 201:
            by_order.setdefault(order_id, set()).add(payment)
        else:
            # The twin arrived while the first was still charging: told to retry, nothing charged.
            assert status == 409, payment
    assert all(len(ids) == 1 for ids in by_order.values())
    for order_id in paid_online + paid_at_till:
        order = secret_http.get(f"/v1/orders/{order_id}").json()
        assert order["paid_amount"] == order["total"], "charged exactly once"

    # The reservations nobody paid for come back when their time runs out.
    order_tasks.cancel_unpaid_orders(db, now=utcnow() + timedelta(days=3))
    unpaid = len(winners) - len(paid_online) - len(paid_at_till)
    with UnitOfWork(db, read_only=True) as uow:
        level = inventory.get_stock(
            uow=uow, variant_id=shop.variants["S"], location_id=shop.store_a
        )
        sold = len(paid_online) + len(paid_at_till)
        assert level is not None
        assert (level.on_hand, level.reserved) == (LAST_UNITS - sold, 0), unpaid
