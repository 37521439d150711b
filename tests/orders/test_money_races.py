"""Every money and stock write fired at one instant with every mix of Idempotency-Keys (several
devices, a retry, a key reused for another request): one order never captures more than it owes,
never refunds more than it captured, never restocks a unit twice; and the ledgers hold.

The same tests run on SQLite (writers queue up) and on PostgreSQL (they really overlap)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import sandbox_card
from tests.orders.test_fulfilment import Phone as ShopperPhone
from tests.race import KEY_MIXES, assert_ledgers, keys_for, race

from parcours.core.auth.models import Role
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.inventory import service as inventory

if TYPE_CHECKING:
    from tests.conftest import Shop

VISA, MASTERCARD, VISA_3DS = "4242424242424242", "5555555555554444", "4000000000003220"
RACERS = 5


def _problem(answer: Any) -> tuple[int, str]:
    return answer.status_code, answer.json().get("code", "")


class Phone(ShopperPhone):
    """A shopper's storefront session with her cart, paying with a card token of her choice (a
    retry sends the very same token; another request another card)."""

    def card(self, number: str = VISA) -> str:
        answer = self.client.post(
            "/v1/payments/test-provider/tokens", json=sandbox_card(number), headers=self.headers
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["token"])

    def pay_with(self, order_id: str, key: str, token: str) -> Any:
        return self.client.post(
            f"/v1/orders/{order_id}/payments",
            json={"method": "card", "token": token},
            headers={**self.headers, "Idempotency-Key": key},
        )


@pytest.fixture
def phone(client: TestClient, shopper: Callable[..., dict[str, str]]) -> Phone:
    return Phone(client, shopper("web"))


@pytest.fixture
def associate_a(staff_client: Callable[..., TestClient], shop: Shop) -> TestClient:
    return staff_client(Role.ASSOCIATE, stores={shop.store_a})


@pytest.fixture
def associate_b(staff_client: Callable[..., TestClient], shop: Shop) -> TestClient:
    return staff_client(Role.ASSOCIATE, stores={shop.store_b})


def _collect_order(phone: Phone, shop: Shop, store: str | None = None) -> dict[str, Any]:
    phone.add(shop.variants["S"])
    answer = phone.checkout({"method": "click_and_collect", "store_id": store or shop.store_a})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _sale(shop: Shop, quantity: int = 1, tendered: int = 20000) -> dict[str, Any]:
    return {
        "store_id": shop.store_a,
        "lines": [{"variant_id": shop.variants["S"], "quantity": quantity}],
        "payment": {"method": "cash", "tendered": tendered},
        "sold_at": (utcnow() - timedelta(minutes=5)).isoformat(),
    }


def _captured(client: TestClient, headers: dict[str, str], order_id: str) -> list[dict[str, Any]]:
    page = client.get("/v1/payments", params={"reference": order_id}, headers=headers).json()
    return [p for p in page["items"] if p["status"] in ("captured", "partially_refunded")]


def _on_hand(db: Database, shop: Shop, size: str = "S") -> int:
    with UnitOfWork(db, read_only=True) as uow:
        level = inventory.get_stock(
            uow=uow, variant_id=shop.variants[size], location_id=shop.store_a
        )
        return level.on_hand if level else 0


# --- paying -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mix", KEY_MIXES)
def test_card_payments_racing_for_one_order_capture_once(
    mix: str, phone: Phone, shop: Shop, db: Database, secret_headers: dict[str, str]
) -> None:
    order = _collect_order(phone, shop)
    shots = keys_for(mix, RACERS, f"card-{mix}")
    # One token per card: a retry sends the very same body, another request another card.
    by_card = {other: phone.card(MASTERCARD if other else VISA) for _, other in shots}
    tokens = [by_card[other] for _, other in shots]
    answers = race(
        [
            lambda key=key, token=token: phone.pay_with(order["id"], key, token)
            for (key, _), token in zip(shots, tokens, strict=True)
        ]
    )
    won = {a.json()["payment"]["id"] for a in answers if a.status_code == 201}
    refused = Counter(_problem(a) for a in answers if a.status_code != 201)
    assert len(won) == 1, [a.text for a in answers]
    allowed = {
        "different_keys": {(409, "order_not_payable")},
        "same_key": {(409, "idempotency_in_progress")},
        "same_key_other_body": {
            (409, "idempotency_in_progress"),
            (409, "idempotency_key_reused"),
            (422, "idempotency_key_reused"),
        },
    }[mix]
    assert set(refused) <= allowed, refused
    if mix == "different_keys":
        assert sum(refused.values()) == RACERS - 1
    captured = _captured(phone.client, secret_headers, order["id"])
    assert [p["amount"] for p in captured] == [order["total"]]
    after = phone.client.get(f"/v1/orders/{order['id']}", headers=phone.headers).json()
    assert (after["status"], after["paid_amount"]) == ("paid", order["total"])
    assert_ledgers(db)


@pytest.mark.parametrize("mix", KEY_MIXES)
def test_cash_payments_racing_at_the_till_capture_once(
    mix: str, associate_a: TestClient, phone: Phone, shop: Shop, db: Database
) -> None:
    order = _collect_order(phone, shop)
    shots = keys_for(mix, RACERS + 1, f"cash-{mix}")
    answers = race(
        [
            lambda key=key, other=other: associate_a.post(
                f"/v1/orders/{order['id']}/payments",
                json={
                    "method": "cash",
                    "tendered": 20000 if other else 10000,
                    "store_id": shop.store_a,
                },
                headers={"Idempotency-Key": key},
            )
            for key, other in shots
        ]
    )
    won = {a.json()["payment"]["id"] for a in answers if a.status_code == 201}
    assert len(won) == 1, [a.text for a in answers]
    codes = {_problem(a)[1] for a in answers if a.status_code != 201}
    assert codes <= {"order_not_payable", "idempotency_in_progress", "idempotency_key_reused"}
    order_now = associate_a.get(f"/v1/orders/{order['id']}").json()
    assert order_now["paid_amount"] == order["total"]
    assert_ledgers(db)


def test_a_retry_with_the_same_key_and_another_card_is_refused(phone: Phone, shop: Shop) -> None:
    order = _collect_order(phone, shop)
    token = phone.card(VISA)
    first = phone.pay_with(order["id"], "pay-1", token)
    assert first.status_code == 201, first.text
    again = phone.pay_with(order["id"], "pay-1", token)
    assert again.status_code == 201
    assert again.json()["payment"]["id"] == first.json()["payment"]["id"]
    other = phone.client.post(
        f"/v1/orders/{order['id']}/payments",
        json={"method": "card", "token": phone.card(MASTERCARD)},
        headers={**phone.headers, "Idempotency-Key": "pay-1", "X-Other": "1"},
    )
    assert _problem(other) in {(409, "idempotency_key_reused"), (422, "idempotency_key_reused")}


def test_a_new_attempt_abandons_the_one_waiting_for_3ds(
    phone: Phone, shop: Shop, db: Database, secret_headers: dict[str, str]
) -> None:
    order = _collect_order(phone, shop)
    waiting = phone.pay_with(order["id"], "first", phone.card(VISA_3DS)).json()["payment"]
    assert waiting["status"] == "requires_action"
    paid = phone.pay_with(order["id"], "second", phone.card(VISA))
    assert paid.status_code == 201
    assert paid.json()["payment"]["status"] == "captured"
    secret = waiting["next_action_url"].split("client_secret=")[1]
    late = phone.client.post(
        f"/v1/payments/{waiting['id']}/3ds", json={"outcome": "approve", "client_secret": secret}
    )
    assert _problem(late) == (409, "payment_not_awaiting_action")
    assert len(_captured(phone.client, secret_headers, order["id"])) == 1
    assert_ledgers(db)


def test_an_order_reserved_in_store_is_paid_at_the_till(
    phone: Phone, shop: Shop, associate_a: TestClient
) -> None:
    phone.add(shop.variants["S"])
    order = phone.checkout({"method": "reserve_in_store", "store_id": shop.store_a}).json()
    online = phone.pay_with(order["id"], "online", phone.card(VISA))
    assert _problem(online) == (409, "pay_in_store")
    at_till = associate_a.post(
        f"/v1/orders/{order['id']}/payments",
        json={"method": "cash", "tendered": order["total"], "store_id": shop.store_a},
        headers={"Idempotency-Key": "till"},
    )
    assert at_till.status_code == 201, at_till.text


# --- refunds ------------------------------------------------------------------------------------


def _paid_order(phone: Phone, shop: Shop, store: str | None = None) -> tuple[dict[str, Any], str]:
    order = _collect_order(phone, shop, store)
    paid = phone.pay_with(order["id"], f"pay-{order['id']}", phone.card(VISA))
    assert paid.status_code == 201, paid.text
    return order, str(paid.json()["payment"]["id"])


@pytest.mark.parametrize("mix", KEY_MIXES)
def test_refunds_racing_never_give_back_more_than_captured(
    mix: str,
    phone: Phone,
    shop: Shop,
    db: Database,
    client: TestClient,
    secret_headers: dict[str, str],
) -> None:
    order, payment_id = _paid_order(phone, shop)
    half = order["total"] // 2
    shots = keys_for(mix, RACERS, f"refund-{mix}")
    answers = race(
        [
            lambda key=key, other=other: client.post(
                f"/v1/payments/{payment_id}/refunds",
                json={"amount": half - 1 if other else half, "reason": "geste commercial"},
                headers={**secret_headers, "Idempotency-Key": key},
            )
            for key, other in shots
        ]
    )
    made = {a.json()["id"]: a.json()["amount"] for a in answers if a.status_code == 201}
    expected = {"different_keys": 2, "same_key": 1, "same_key_other_body": 1}[mix]
    assert len(made) == expected, [a.text for a in answers]
    codes = {_problem(a)[1] for a in answers if a.status_code != 201}
    assert codes <= {"refund_exceeds_captured", "idempotency_in_progress", "idempotency_key_reused"}
    refunded = sum(made.values())
    after = client.get(f"/v1/orders/{order['id']}", headers=secret_headers).json()
    assert after["refunded_amount"] == refunded, "the order follows refunds made by the API"
    assert_ledgers(db)


def test_a_full_refund_through_the_payments_api_shows_on_the_order(
    phone: Phone, shop: Shop, client: TestClient, secret_headers: dict[str, str], db: Database
) -> None:
    order, payment_id = _paid_order(phone, shop)
    answer = client.post(
        f"/v1/payments/{payment_id}/refunds",
        json={"amount": order["total"], "reason": "article manquant"},
        headers={**secret_headers, "Idempotency-Key": "all"},
    )
    assert answer.status_code == 201, answer.text
    after = client.get(f"/v1/orders/{order['id']}", headers=secret_headers).json()
    assert (after["status"], after["refunded_amount"]) == ("refunded", order["total"])
    timeline = client.get(f"/v1/orders/{order['id']}", headers=secret_headers).json()
    assert after == timeline
    assert_ledgers(db)


def test_an_associate_refunds_only_her_stores_orders(
    phone: Phone, shop: Shop, associate_a: TestClient, associate_b: TestClient
) -> None:
    order, payment_id = _paid_order(phone, shop, store=shop.store_b)  # collected at B
    refused = associate_a.post(
        f"/v1/payments/{payment_id}/refunds",
        json={"amount": order["total"], "reason": "x"},
        headers={"Idempotency-Key": "cross"},
    )
    assert _problem(refused) == (403, "store_out_of_scope")
    allowed = associate_b.post(
        f"/v1/payments/{payment_id}/refunds",
        json={"amount": 100, "reason": "x"},
        headers={"Idempotency-Key": "own"},
    )
    assert allowed.status_code == 201, allowed.text


def test_an_associate_takes_cash_and_makes_links_only_for_her_stores_orders(
    phone: Phone, shop: Shop, associate_a: TestClient, associate_b: TestClient
) -> None:
    order = _collect_order(phone, shop, store=shop.store_a)
    cash = associate_b.post(
        f"/v1/orders/{order['id']}/payments",
        json={"method": "cash", "tendered": 10000, "store_id": shop.store_b},
        headers={"Idempotency-Key": "other-store"},
    )
    assert _problem(cash) == (403, "store_out_of_scope")
    link = associate_b.post(f"/v1/orders/{order['id']}/payment-link")
    assert _problem(link) == (403, "store_out_of_scope")
    # A link for an order is made from the order: never with an amount or currency of one's own.
    forged = associate_a.post(
        "/v1/payment-links",
        json={
            "reference": order["id"],
            "amount": 1,
            "currency": "USD",
            "description": "x",
            "channel": "till",
            "store_id": shop.store_a,
        },
    )
    assert _problem(forged) == (422, "use_order_payment_link")
    assert associate_a.get(f"/v1/orders/{order['id']}").json()["paid_amount"] == 0


# --- payment links ------------------------------------------------------------------------------


@pytest.mark.parametrize("mix", KEY_MIXES)
def test_payers_racing_on_one_link_pay_once(
    mix: str, phone: Phone, shop: Shop, associate_a: TestClient, client: TestClient, db: Database
) -> None:
    order = _collect_order(phone, shop)
    link = associate_a.post(f"/v1/orders/{order['id']}/payment-link")
    assert link.status_code == 201, link.text
    token = link.json()["token"]
    shots = keys_for(mix, RACERS, f"link-{mix}")
    by_card = {other: phone.card(MASTERCARD if other else VISA) for _, other in shots}
    cards = [by_card[other] for _, other in shots]
    answers = race(
        [
            lambda key=key, card=card: client.post(
                f"/v1/payment-links/{token}/payments",
                json={"token": card},
                headers={"Idempotency-Key": key},
            )
            for (key, _), card in zip(shots, cards, strict=True)
        ]
    )
    won = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(won) == 1, [a.text for a in answers]
    codes = {_problem(a)[1] for a in answers if a.status_code != 201}
    assert codes <= {
        "payment_link_paid",
        "order_not_payable",
        "idempotency_in_progress",
        "idempotency_key_reused",
    }
    assert associate_a.get(f"/v1/orders/{order['id']}").json()["paid_amount"] == order["total"]
    assert_ledgers(db)


def test_a_link_made_before_a_cash_payment_charges_nothing(
    phone: Phone, shop: Shop, associate_a: TestClient, client: TestClient, db: Database
) -> None:
    order = _collect_order(phone, shop)
    token = associate_a.post(f"/v1/orders/{order['id']}/payment-link").json()["token"]
    cash = associate_a.post(
        f"/v1/orders/{order['id']}/payments",
        json={"method": "cash", "tendered": 10000, "store_id": shop.store_a},
        headers={"Idempotency-Key": "cash"},
    )
    assert cash.status_code == 201, cash.text
    late = client.post(
        f"/v1/payment-links/{token}/payments",
        json={"token": phone.card(VISA)},
        headers={"Idempotency-Key": "late"},
    )
    assert _problem(late) == (409, "order_not_payable")
    assert associate_a.get(f"/v1/orders/{order['id']}").json()["paid_amount"] == order["total"]
    assert_ledgers(db)


# --- returns ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mix", KEY_MIXES)
def test_returns_racing_for_one_unit_restock_it_once(
    mix: str, associate_a: TestClient, shop: Shop, db: Database
) -> None:
    sale = associate_a.post("/v1/till/sales", json=_sale(shop), headers={"Idempotency-Key": "s"})
    assert sale.status_code == 201, sale.text
    order = sale.json()["order"]
    line_id = order["lines"][0]["id"]
    before = _on_hand(db, shop)
    shots = keys_for(mix, RACERS, f"return-{mix}")
    answers = race(
        [
            lambda key=key, other=other: associate_a.post(
                f"/v1/orders/{order['id']}/returns",
                json={
                    "store_id": shop.store_a,
                    "lines": [{"line_id": line_id, "quantity": 1}],
                    "reason": "taille" if other else "couleur",
                },
                headers={"Idempotency-Key": key},
            )
            for key, other in shots
        ]
    )
    made = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(made) == 1, [a.text for a in answers]
    codes = {_problem(a)[1] for a in answers if a.status_code != 201}
    assert codes <= {"invalid_quantity", "idempotency_in_progress", "idempotency_key_reused"}
    assert _on_hand(db, shop) == before + 1
    after = associate_a.get(f"/v1/orders/{order['id']}").json()
    assert (after["status"], after["refunded_amount"]) == ("returned", order["total"])
    assert_ledgers(db)


# --- till sales ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mix", KEY_MIXES)
def test_till_sales_racing_record_each_key_once(
    mix: str, associate_a: TestClient, shop: Shop, db: Database
) -> None:
    before = _on_hand(db, shop)
    shots = keys_for(mix, RACERS - 1, f"sale-{mix}")
    answers = race(
        [
            lambda key=key, other=other: associate_a.post(
                "/v1/till/sales",
                json=_sale(shop, quantity=2 if other else 1),
                headers={"Idempotency-Key": key},
            )
            for key, other in shots
        ]
    )
    orders = {a.json()["order"]["id"] for a in answers if a.status_code in (200, 201)}
    codes = {_problem(a)[1] for a in answers if a.status_code not in (200, 201)}
    expected = {"different_keys": RACERS - 1, "same_key": 1, "same_key_other_body": 1}[mix]
    assert len(orders) == expected, [a.text for a in answers]
    assert codes <= {"idempotency_in_progress", "idempotency_key_reused", "insufficient_stock"}
    sold = sum(
        line["quantity"]
        for order_id in orders
        for line in associate_a.get(f"/v1/orders/{order_id}").json()["lines"]
    )
    assert _on_hand(db, shop) == before - sold
    assert_ledgers(db)


def test_a_till_key_resent_with_another_sale_is_refused(
    staff_client: Callable[..., TestClient], shop: Shop, db: Database
) -> None:
    # Two sessions, as a till that signed in again resends its queue: the request-level
    # idempotency (per caller) does not see the first, the till's own key record does.
    first = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    second = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    one = first.post("/v1/till/sales", json=_sale(shop), headers={"Idempotency-Key": "q-1"})
    assert one.status_code == 201, one.text
    three = second.post(
        "/v1/till/sales", json=_sale(shop, quantity=3), headers={"Idempotency-Key": "q-1"}
    )
    assert _problem(three) == (422, "idempotency_key_reused")
    assert _on_hand(db, shop) == 4, "only the first sale's unit left the shelf"


def test_a_till_sale_never_closes_a_shoppers_own_cart(
    phone: Phone, associate_a: TestClient, shop: Shop
) -> None:
    phone.add(shop.variants["M"])
    body = {**_sale(shop), "cart_id": phone.cart["id"]}
    sale = associate_a.post("/v1/till/sales", json=body, headers={"Idempotency-Key": "web"})
    assert sale.status_code == 201, sale.text
    mine = phone.client.get("/v1/me/cart", headers=phone.headers).json()
    assert mine["id"] == phone.cart["id"]
    assert [line["sku"] for line in mine["lines"]] == ["PN-M"]


# --- stock writes -------------------------------------------------------------------------------


@pytest.mark.parametrize("mix", KEY_MIXES)
def test_stock_writes_racing_keep_the_ledger(
    mix: str, associate_a: TestClient, shop: Shop, db: Database
) -> None:
    before = _on_hand(db, shop)  # 5
    shots = keys_for(mix, RACERS + 3, f"adjust-{mix}")
    answers = race(
        [
            lambda key=key, other=other: associate_a.post(
                "/v1/stock/adjustments",
                json={
                    "variant_id": shop.variants["S"],
                    "location_id": shop.store_a,
                    "delta": -2 if other else -1,
                    "reason": "casse",
                },
                headers={"Idempotency-Key": key},
            )
            for key, other in shots
        ]
    )
    applied = [a.json() for a in answers if a.status_code == 201]
    codes = {_problem(a)[1] for a in answers if a.status_code != 201}
    assert codes <= {"insufficient_stock", "idempotency_in_progress", "idempotency_key_reused"}
    if mix == "different_keys":
        assert len(applied) == before
        assert _on_hand(db, shop) == 0
    else:
        assert _on_hand(db, shop) in (before - 1, before - 2)
    reservations = race(
        [
            lambda n=n: associate_a.post(
                "/v1/reservations",
                json={
                    "variant_id": shop.variants["M"],
                    "location_id": shop.store_a,
                    "quantity": 1,
                    "reference": f"hold-{n}",
                },
                headers={"Idempotency-Key": f"hold-{mix}-{n}"},
            )
            for n in range(3)
        ]
    )
    assert sorted(r.status_code for r in reservations) == [201, 409, 409]  # one M at A
    assert_ledgers(db)


def test_a_transfer_received_at_once_from_two_tablets_is_put_in_once(
    staff_client: Callable[..., TestClient], shop: Shop, db: Database
) -> None:
    manager = staff_client(Role.MANAGER)
    made = manager.post(
        "/v1/transfers",
        json={
            "from_location_id": shop.warehouse,
            "to_location_id": shop.store_a,
            "lines": [{"variant_id": shop.variants["S"], "quantity": 3}],
            "reason": "réassort",
        },
    )
    assert made.status_code == 201, made.text
    before = _on_hand(db, shop)
    answers = race(
        [
            lambda n=n: manager.post(
                f"/v1/transfers/{made.json()['id']}/receive",
                headers={"Idempotency-Key": f"receive-{n}"},
            )
            for n in range(RACERS)
        ]
    )
    assert Counter(a.status_code for a in answers)[200] >= 1
    assert _on_hand(db, shop) == before + 3
    assert_ledgers(db)


# --- carts and checkout -------------------------------------------------------------------------


def test_checkout_moves_a_saved_line_to_her_next_cart(phone: Phone, shop: Shop) -> None:
    phone.add(shop.variants["S"])
    cart = phone.add(shop.variants["M"])
    saved = next(line for line in cart["lines"] if line["sku"] == "PN-M")
    moved = phone.client.patch(
        f"/v1/carts/{cart['id']}/lines/{saved['id']}",
        json={"saved_for_later": True},
        headers=phone.headers,
    )
    assert moved.status_code == 200, moved.text
    order = phone.checkout({"method": "click_and_collect", "store_id": shop.store_a})
    assert order.status_code == 201, order.text
    assert [line["sku"] for line in order.json()["lines"]] == ["PN-S"]
    following = phone.client.get("/v1/me/cart", headers=phone.headers).json()
    assert following["id"] != cart["id"]
    assert [line["sku"] for line in following["saved_for_later"]] == ["PN-M"]


def test_a_shopper_cannot_credit_her_order_to_a_store(phone: Phone, shop: Shop) -> None:
    phone.add(shop.variants["S"])
    answer = phone.checkout(
        {"method": "click_and_collect", "store_id": shop.store_a}, store_id=shop.store_b
    )
    assert _problem(answer) == (422, "store_id_not_allowed")
    assert phone.client.get("/v1/me/cart", headers=phone.headers).json()["id"] == phone.cart["id"]


def test_only_a_till_cart_of_her_store_is_given_to_a_customer(
    phone: Phone,
    shop: Shop,
    associate_a: TestClient,
    associate_b: TestClient,
    db: Database,
) -> None:
    with UnitOfWork(db) as uow:
        profile_id = customers.identify(
            uow=uow, traits={"email": "claire@exemple.fr"}, channel="store", trusted=True
        ).id
        uow.commit()
    web = associate_a.post(
        f"/v1/carts/{phone.cart['id']}/customer", json={"profile_id": profile_id}
    )
    assert _problem(web) == (409, "not_a_till_cart")
    till_cart = associate_a.post("/v1/carts", json={"store_id": shop.store_a})
    assert till_cart.status_code == 201, till_cart.text
    other = associate_b.post(
        f"/v1/carts/{till_cart.json()['id']}/customer", json={"profile_id": profile_id}
    )
    assert _problem(other) == (403, "store_out_of_scope")
    own = associate_a.post(
        f"/v1/carts/{till_cart.json()['id']}/customer", json={"profile_id": profile_id}
    )
    assert own.status_code == 200, own.text
