"""Orders with a promo code: the discount spread over the lines to the penny, a payment for the
discounted total, returns refunded net of each line's share, the code's use given back when the
order is cancelled, and a capped code that twenty checkouts race for."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from tests.orders.test_fulfilment import ADDRESS, Phone

from parcours.carts import service as carts
from parcours.carts.models import TouchpointKind
from parcours.catalog import service as catalog
from parcours.core.auth.models import Role
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import shoppers
from parcours.inventory import service as inventory
from parcours.loyalty import service as loyalty
from parcours.orders import service as orders
from parcours.orders import tasks as order_tasks
from parcours.tracking.models import Event

if TYPE_CHECKING:
    from tests.conftest import Shop


def create_code(db: Database, code: str, **fields: Any) -> None:
    values: dict[str, Any] = {"kind": "percent", "value": 15}
    values.update(fields)
    with UnitOfWork(db) as uow:
        loyalty.create_promo_code(uow=uow, code=code, **values)
        uow.commit()


def redemptions(db: Database, code: str) -> int:
    with UnitOfWork(db, read_only=True) as uow:
        promo = loyalty.get_promo_code_by_code(uow=uow, code=code)
        assert promo is not None
        return promo.redemptions


def belt(db: Database, shop: Shop) -> str:
    """A second product at another price, held in store A: the shares then differ."""
    with UnitOfWork(db) as uow:
        product = catalog.create_product(
            uow=uow,
            name="Ceinture cuir",
            price_amount=1999,
            channels=["web", "app", "store"],
            status="published",
            variants=[{"sku": "CEINT-U", "attributes": {"taille": "U"}}],
        )
        variant = product.variants[0].id
        for location in (shop.store_a, shop.warehouse):
            inventory.set_stock(
                uow=uow, variant_id=variant, location_id=location, on_hand=10, reason="count"
            )
        uow.commit()
        return variant


@given(
    discount=st.integers(min_value=0, max_value=10**7),
    amounts=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30),
)
def test_shares_add_up_to_the_discount_and_never_exceed_a_line(
    discount: int, amounts: list[int]
) -> None:
    shares = orders.allocate_discount(discount, amounts)
    assert sum(shares) == min(discount, sum(amounts))
    assert all(0 <= share <= amount for share, amount in zip(shares, amounts, strict=True))


def test_till_sale_with_a_code_is_paid_discounted_and_returned_net_of_each_share(
    shop: Shop, staff_client: Callable[..., TestClient], db: Database
) -> None:
    create_code(db, "QUINZE")
    ceinture = belt(db, shop)
    till = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    cart = till.post("/v1/carts", json={"store_id": shop.store_a}).json()
    till.post(
        f"/v1/carts/{cart['id']}/lines", json={"variant_id": shop.variants["S"], "quantity": 2}
    )
    till.post(f"/v1/carts/{cart['id']}/lines", json={"variant_id": ceinture})
    shown = till.post(f"/v1/carts/{cart['id']}/promo-code", json={"code": "quinze"}).json()
    assert (shown["subtotal"], shown["discount"], shown["total"]) == (13979, 2096, 11883)

    order = till.post(
        f"/v1/carts/{cart['id']}/checkout",
        json={
            "fulfilments": [{"method": "in_store", "store_id": shop.store_a}],
            "store_id": shop.store_a,
        },
    ).json()
    assert (order["subtotal"], order["discount"], order["promo_code"]) == (13979, 2096, "QUINZE")
    assert (order["shipping"], order["total"], order["amount_due"]) == (0, 11883, 11883)
    # 2096 × 11980 / 13979 = 1796.3 and 2096 × 1999 / 13979 = 299.7: the penny left goes last.
    assert [(line["sku"], line["discount"]) for line in order["lines"]] == [
        ("PN-S", 1796),
        ("CEINT-U", 300),
    ]
    assert sum(line["discount"] for line in order["lines"]) == order["discount"]
    assert redemptions(db, "QUINZE") == 1

    paid = till.post(
        f"/v1/orders/{order['id']}/payments",
        json={"method": "cash", "tendered": 12000, "store_id": shop.store_a},
        headers={"Idempotency-Key": "cash-1"},
    ).json()
    assert (paid["payment"]["amount"], paid["payment"]["change_due"]) == (11883, 117)
    assert (paid["order"]["status"], paid["order"]["paid_amount"]) == ("collected", 11883)
    with UnitOfWork(db, read_only=True) as uow:
        completed = uow.session.scalars(select(Event).where(Event.event == "Order Completed")).one()
        assert completed.properties["coupon"] == "QUINZE"
        assert completed.properties["discount"] == 20.96
        assert completed.properties["total"] == 118.83

    s_line, belt_line = order["lines"]

    def take_back(line_id: str, quantity: int, key: str) -> int:
        answer = till.post(
            f"/v1/orders/{order['id']}/returns",
            json={"store_id": shop.store_a, "lines": [{"line_id": line_id, "quantity": quantity}]},
            headers={"Idempotency-Key": key},
        )
        assert answer.status_code == 201, answer.text
        amount: int = answer.json()["amount"]
        return amount

    # One trouser, then the other, then the belt: what she paid for each, to the penny.
    assert take_back(s_line["id"], 1, "r1") == 5990 - 898
    assert take_back(s_line["id"], 1, "r2") == 5990 - 898
    assert take_back(belt_line["id"], 1, "r3") == 1999 - 300
    final = till.get(f"/v1/orders/{order['id']}").json()
    assert final["refunded_amount"] == final["paid_amount"] == 11883
    assert final["status"] == "returned"


def test_delivery_total_is_subtotal_less_discount_plus_shipping(
    client: TestClient, shopper: Callable[..., dict[str, str]], shop: Shop, db: Database
) -> None:
    create_code(db, "CINQ", kind="amount", value=500)
    ceinture = belt(db, shop)
    phone = Phone(client, shopper("web"))
    phone.add(ceinture)
    client.post(
        f"/v1/carts/{phone.cart['id']}/promo-code", json={"code": "CINQ"}, headers=phone.headers
    )
    order = phone.checkout({"method": "delivery", "address": ADDRESS}).json()
    assert (order["subtotal"], order["discount"], order["shipping"]) == (1999, 500, 490)
    assert order["total"] == 1999 - 500 + 490
    assert order["lines"][0]["discount"] == 500
    paid = phone.pay(order["id"])
    assert paid.status_code == 201, paid.text
    assert paid.json()["payment"]["amount"] == 1989
    assert paid.json()["order"]["status"] == "paid"


def test_a_cancelled_order_gives_its_use_of_the_code_back(
    client: TestClient,
    shopper: Callable[..., dict[str, str]],
    staff_client: Callable[..., TestClient],
    shop: Shop,
    db: Database,
) -> None:
    create_code(db, "UNIQUE", max_redemptions=1)
    first = Phone(client, shopper("web"))
    first.add(shop.variants["S"])
    client.post(
        f"/v1/carts/{first.cart['id']}/promo-code", json={"code": "UNIQUE"}, headers=first.headers
    )
    order = first.checkout({"method": "click_and_collect", "store_id": shop.store_a}).json()
    assert order["discount"] == 898
    assert first.pay(order["id"]).json()["payment"]["amount"] == 5990 - 898
    assert redemptions(db, "UNIQUE") == 1

    second = Phone(client, shopper("app"))
    second.add(shop.variants["S"])
    used_up = client.post(
        f"/v1/carts/{second.cart['id']}/promo-code", json={"code": "UNIQUE"}, headers=second.headers
    )
    assert used_up.json()["code"] == "promo_code_exhausted"

    cancelled = staff_client(Role.MANAGER).post(
        f"/v1/orders/{order['id']}/cancel", json={"reason": "changed_mind"}
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["refunded_amount"] == 5990 - 898, "she gets back what she paid"
    assert redemptions(db, "UNIQUE") == 0
    again = client.post(
        f"/v1/carts/{second.cart['id']}/promo-code", json={"code": "UNIQUE"}, headers=second.headers
    )
    assert again.status_code == 200, again.text

    # An order nobody pays gives it back too, when its payment window closes.
    unpaid = second.checkout({"method": "click_and_collect", "store_id": shop.store_a}).json()
    assert unpaid["promo_code"] == "UNIQUE"
    assert redemptions(db, "UNIQUE") == 1
    order_tasks.cancel_unpaid_orders(db, now=utcnow() + timedelta(days=3))
    assert redemptions(db, "UNIQUE") == 0


CHECKOUTS, USES = 20, 3


def _cart_with_code(db: Database, shop: Shop) -> tuple[str, str]:
    """A shopper's token and her cart: one S, the capped code applied."""
    with UnitOfWork(db) as uow:
        started = shoppers.start_shopper_session(uow=uow, channel="web")
        cart = carts.open_cart(
            uow=uow,
            profile_id=None,
            anonymous_id=started.session.anonymous_id,
            channel="web",
            currency="EUR",
        )
        carts.add_line(
            uow=uow,
            cart_id=cart.id,
            variant_id=shop.variants["S"],
            quantity=1,
            touchpoint=carts.Touchpoint(TouchpointKind.WEB),
        )
        carts.apply_promo_code(uow=uow, cart_id=cart.id, code="TROIS")
        uow.commit()
        return started.token, cart.id


def test_twenty_checkouts_race_for_a_code_with_three_uses(
    client: TestClient, shop: Shop, db: Database, publishable_headers: dict[str, str]
) -> None:
    create_code(db, "TROIS", max_redemptions=USES)
    with UnitOfWork(db) as uow:
        inventory.set_stock(
            uow=uow,
            variant_id=shop.variants["S"],
            location_id=shop.warehouse,
            on_hand=100,
            reason="count",
        )
        uow.commit()
    attempts = [_cart_with_code(db, shop) for _ in range(CHECKOUTS)]
    start = threading.Barrier(len(attempts))

    def checkout(attempt: tuple[str, str]) -> tuple[int, str, dict[str, Any]]:
        token, cart_id = attempt
        start.wait()
        answer = client.post(
            f"/v1/carts/{cart_id}/checkout",
            json={"fulfilments": [{"method": "delivery", "address": ADDRESS}]},
            headers={**publishable_headers, "X-Shopper-Token": token},
        )
        payload = answer.json()
        if answer.status_code != 201:
            assert answer.headers["content-type"] == "application/problem+json"
        return answer.status_code, payload.get("code", ""), payload

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        outcomes = list(pool.map(checkout, attempts))

    won = [payload for status, _, payload in outcomes if status == 201]
    lost = Counter(code for status, code, _ in outcomes if status != 201)
    assert len(won) == USES, outcomes
    assert all(order["promo_code"] == "TROIS" and order["discount"] == 898 for order in won)
    # Refused at the last use's UPDATE (409), or, arriving after, at the check before (422).
    assert lost == {"promo_code_exhausted": CHECKOUTS - USES}
    assert {status for status, _, _ in outcomes if status != 201} <= {409, 422}
    assert redemptions(db, "TROIS") == USES
    with UnitOfWork(db, read_only=True) as uow:
        level = inventory.get_stock(
            uow=uow, variant_id=shop.variants["S"], location_id=shop.warehouse
        )
        assert level is not None
        assert level.reserved == USES, "the losers reserved nothing"
        for _, cart_id in attempts:
            cart = carts.get_cart(uow=uow, cart_id=cart_id)
            if cart.order_id is None:
                assert (cart.status, cart.promo_code) == ("active", "TROIS")
