"""A till sale in one request (what the offline till sends when the network is back): one order,
one payment and one stock movement per Idempotency-Key, whoever sends it and however often."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from parcours.core.auth.models import KeyKind, Role
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.inventory import service as inventory
from parcours.notifications.models import Message
from parcours.orders.models import Order
from parcours.payments.models import Payment
from parcours.tracking.models import Event

if TYPE_CHECKING:
    from tests.conftest import Shop


def _stock(db: Database, variant_id: str, location_id: str) -> tuple[int, int]:
    with UnitOfWork(db, read_only=True) as uow:
        level = inventory.get_stock(uow=uow, variant_id=variant_id, location_id=location_id)
        return (level.on_hand, level.reserved) if level else (0, 0)


def _count(db: Database, model: Any) -> int:
    with UnitOfWork(db, read_only=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def _sale(shop: Shop, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "store_id": shop.store_a,
        "lines": [
            {"variant_id": shop.variants["S"], "quantity": 2},
            {"gtin": shop.gtins["M"], "quantity": 1},
        ],
        "payment": {"method": "cash", "tendered": 20000},
        "sold_at": (utcnow() - timedelta(hours=2)).isoformat(),
    }
    body.update(changes)
    return body


@pytest.fixture
def till(staff_client: Callable[..., TestClient], shop: Shop) -> TestClient:
    return staff_client(Role.ASSOCIATE, stores={shop.store_a})


def test_a_sale_in_one_request(till: TestClient, db: Database, shop: Shop) -> None:
    answer = till.post("/v1/till/sales", json=_sale(shop), headers={"Idempotency-Key": "sale-1"})
    assert answer.status_code == 201, answer.text
    order, payment = answer.json()["order"], answer.json()["payment"]
    assert order["status"] == "collected", "bought at the till: handed over at once"
    assert (order["channel"], order["store_id"], order["origin"]) == ("till", shop.store_a, "till")
    assert order["total"] == 3 * shop.price
    assert [(line["sku"], line["quantity"]) for line in order["lines"]] == [
        ("PN-S", 2),
        ("PN-M", 1),
    ]
    assert [line["touchpoint"] for line in order["lines"]] == ["till", "till"]
    assert payment["status"] == "captured"
    assert payment["change_due"] == 20000 - 3 * shop.price
    assert _stock(db, shop.variants["S"], shop.store_a) == (3, 0)
    assert _stock(db, shop.variants["M"], shop.store_a) == (0, 0)
    with UnitOfWork(db, read_only=True) as uow:
        completed = uow.session.scalars(select(Event).where(Event.event == "Order Completed")).one()
    assert (completed.channel, completed.store_id) == ("till", shop.store_a)


def test_the_same_key_twice_records_one_sale(till: TestClient, db: Database, shop: Shop) -> None:
    body = _sale(shop)
    first = till.post("/v1/till/sales", json=body, headers={"Idempotency-Key": "sale-2"})
    again = till.post("/v1/till/sales", json=body, headers={"Idempotency-Key": "sale-2"})
    assert first.status_code == 201, first.text
    assert again.status_code == 201, "the middleware replays the first answer"
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["order"]["id"] == first.json()["order"]["id"]
    assert (_count(db, Order), _count(db, Payment)) == (1, 1)
    assert _stock(db, shop.variants["S"], shop.store_a) == (3, 0), "stock moved once"


def test_the_same_key_from_another_session_records_one_sale(
    staff_client: Callable[..., TestClient], db: Database, shop: Shop
) -> None:
    """She signed in again while offline: the middleware cannot tell, the store's key can."""
    body = _sale(shop)
    first = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    second = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    made = first.post("/v1/till/sales", json=body, headers={"Idempotency-Key": "sale-3"})
    replay = second.post("/v1/till/sales", json=body, headers={"Idempotency-Key": "sale-3"})
    assert made.status_code == 201, made.text
    assert replay.status_code == 200, replay.text
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["order"]["id"] == made.json()["order"]["id"]
    assert replay.json()["payment"]["id"] == made.json()["payment"]["id"]
    assert (_count(db, Order), _count(db, Payment)) == (1, 1)


def test_concurrent_requests_with_one_key_record_one_sale(
    staff_client: Callable[..., TestClient], db: Database, shop: Shop
) -> None:
    body = _sale(shop)
    tills = [staff_client(Role.ASSOCIATE, stores={shop.store_a}) for _ in range(4)]
    tills.append(tills[0])  # the same session twice too: the middleware's own guard

    def send(client: TestClient) -> tuple[int, bool, str | None]:
        answer = client.post("/v1/till/sales", json=body, headers={"Idempotency-Key": "sale-4"})
        order_id = answer.json()["order"]["id"] if answer.is_success else None
        return answer.status_code, "Idempotent-Replayed" in answer.headers, order_id

    with ThreadPoolExecutor(max_workers=len(tills)) as pool:
        answers = list(pool.map(send, tills))
    made = [a for a in answers if a[0] == 201 and not a[1]]
    assert len(made) == 1, answers
    # 409: "in progress, retry" (the same session, while the first runs); others are replays.
    assert {code for code, _, _ in answers} <= {200, 201, 409}, answers
    assert {order for _, _, order in answers if order} == {made[0][2]}
    assert (_count(db, Order), _count(db, Payment)) == (1, 1)
    assert _stock(db, shop.variants["S"], shop.store_a) == (3, 0)


def test_another_store_is_refused(
    staff_client: Callable[..., TestClient], db: Database, shop: Shop
) -> None:
    other = staff_client(Role.ASSOCIATE, stores={shop.store_b})
    answer = other.post("/v1/till/sales", json=_sale(shop), headers={"Idempotency-Key": "k"})
    assert answer.status_code == 403
    assert answer.json()["code"] == "store_out_of_scope"
    assert _count(db, Order) == 0


def test_a_server_key_records_sales_for_any_store(
    client: TestClient, api_key: Callable[[KeyKind], str], shop: Shop
) -> None:
    headers = {"Authorization": f"Bearer {api_key(KeyKind.SECRET)}", "Idempotency-Key": "srv-1"}
    answer = client.post("/v1/till/sales", json=_sale(shop), headers=headers)
    assert answer.status_code == 201, answer.text
    publishable = {"Authorization": f"Bearer {api_key(KeyKind.PUBLISHABLE)}"}
    refused = client.post(
        "/v1/till/sales", json=_sale(shop), headers={**publishable, "Idempotency-Key": "x"}
    )
    assert refused.status_code == 403


def test_the_key_is_required(till: TestClient, db: Database, shop: Shop) -> None:
    answer = till.post("/v1/till/sales", json=_sale(shop))
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "idempotency_key_required"
    assert _count(db, Order) == 0


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"lines": []}, "validation_error"),
        ({"lines": [{"quantity": 1}]}, "invalid_line"),
        ({"lines": [{"sku": "PN-S", "gtin": "1234567890128", "quantity": 1}]}, "invalid_line"),
        ({"lines": [{"sku": "NOPE-1", "quantity": 1}]}, "unknown_item"),
        ({"lines": [{"variant_id": "var_nope", "quantity": 1}]}, "unknown_item"),
        ({"lines": [{"sku": "PN-S", "quantity": 0}]}, "validation_error"),
        ({"payment": {"method": "cash"}}, "tendered_missing"),
        ({"payment": {"method": "cash", "tendered": 100}}, "insufficient_tender"),
        ({"payment": {"method": "terminal"}}, "terminal_reference_missing"),
        ({"sold_at": (utcnow() + timedelta(minutes=30)).isoformat()}, "sold_at_in_future"),
        ({"sold_at": (utcnow() - timedelta(days=8)).isoformat()}, "sold_at_too_old"),
        ({"email": "not an address"}, "invalid_email"),
        # Strict types at the edge: text and booleans are not counts, a time carries its offset.
        ({"lines": [{"sku": "PN-S", "quantity": "1"}]}, "validation_error"),
        ({"lines": [{"sku": "PN-S", "quantity": True}]}, "validation_error"),
        ({"payment": {"method": "cash", "tendered": "20000"}}, "validation_error"),
        ({"sold_at": utcnow().replace(tzinfo=None).isoformat()}, "validation_error"),
    ],
)
def test_bad_sales_are_refused(
    till: TestClient, db: Database, shop: Shop, changes: dict[str, Any], code: str
) -> None:
    answer = till.post(
        "/v1/till/sales", json=_sale(shop, **changes), headers={"Idempotency-Key": f"bad-{code}"}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == code
    assert (_count(db, Order), _count(db, Payment)) == (0, 0)
    assert _stock(db, shop.variants["S"], shop.store_a) == (5, 0)


def test_insufficient_stock_keeps_nothing(till: TestClient, db: Database, shop: Shop) -> None:
    body = _sale(shop, lines=[{"sku": "PN-S", "quantity": 1}, {"sku": "PN-M", "quantity": 2}])
    answer = till.post("/v1/till/sales", json=body, headers={"Idempotency-Key": "short-1"})
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "insufficient_stock"
    assert (_count(db, Order), _count(db, Payment)) == (0, 0)
    assert _stock(db, shop.variants["S"], shop.store_a) == (5, 0)
    assert _stock(db, shop.variants["M"], shop.store_a) == (1, 0)
    # Fixed on the till (one M), the same sale goes through under a new key.
    body["lines"][1]["quantity"] = 1
    fixed = till.post("/v1/till/sales", json=body, headers={"Idempotency-Key": "short-2"})
    assert fixed.status_code == 201, fixed.text


def test_a_terminal_sale_with_a_receipt_and_the_cart_it_was_shown_from(
    till: TestClient, db: Database, shop: Shop
) -> None:
    cart = till.post("/v1/carts", json={"store_id": shop.store_a}).json()
    till.post(f"/v1/carts/{cart['id']}/lines", json={"variant_id": shop.variants["S"]})
    body = _sale(
        shop,
        lines=[{"sku": "PN-S", "quantity": 1}],
        payment={"method": "terminal", "terminal_reference": "TPE-0042"},
        email="Jeanne@example.com",
        cart_id=cart["id"],
    )
    answer = till.post("/v1/till/sales", json=body, headers={"Idempotency-Key": "tpe-1"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["payment"]["method"] == "card_terminal"
    closed = till.get(f"/v1/carts/{cart['id']}").json()
    assert closed["status"] == "checked_out", "the shown cart is not sold twice"
    with UnitOfWork(db, read_only=True) as uow:
        message = uow.session.scalars(select(Message)).one()
    assert (message.template, message.to_address, message.status) == (
        "receipt",
        "jeanne@example.com",
        "queued",
    )
    assert "TPE" not in (message.body_text or ""), "the slip reference stays off the mail"
