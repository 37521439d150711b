"""The payments API: test card tokens, reading and refunding payments (scoped to the staff's
stores), and the 3-D Secure challenge a shopper answers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from tests.conftest import Clock

from parcours.core.auth.models import Role
from parcours.core.clock import utcnow
from parcours.core.uow import UnitOfWork
from parcours.payments import service
from parcours.payments.models import Payment
from parcours.payments.providers import PaymentProviders

Headers = dict[str, str]
Pay = Callable[..., Payment]


def _card(number: str = "4242424242424242", **overrides: Any) -> dict[str, Any]:
    return {
        "number": number,
        "exp_month": 12,
        "exp_year": utcnow().year + 2,
        "cvc": "123",
        **overrides,
    }


# --- test card tokens ---------------------------------------------------------------------------


def test_a_browser_exchanges_a_test_card_for_a_token(
    client: TestClient, publishable_headers: Headers
) -> None:
    response = client.post(
        "/v1/payments/test-provider/tokens",
        json=_card("4242 4242 4242 4242"),
        headers=publishable_headers,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["token"].startswith("tok_")
    assert (body["brand"], body["last4"], body["exp_month"]) == ("visa", "4242", 12)
    assert "4242424242424242" not in response.text


@pytest.mark.parametrize(
    ("today", "last_month", "code"),
    [
        pytest.param(datetime(2026, 6, 10, 12, tzinfo=UTC), (2026, 5), "invalid_expiry_month"),
        pytest.param(datetime(2027, 1, 15, 12, tzinfo=UTC), (2026, 12), "invalid_expiry_year"),
    ],
    ids=["in-june", "in-january"],
)
def test_a_card_that_ran_out_last_month_is_refused(
    clock: Clock,
    client: TestClient,
    publishable_headers: Headers,
    today: datetime,
    last_month: tuple[int, int],
    code: str,
) -> None:
    clock.set(today)
    year, month = last_month
    response = client.post(
        "/v1/payments/test-provider/tokens",
        json=_card(exp_year=year, exp_month=month),
        headers=publishable_headers,
    )

    assert response.status_code == 422, response.text
    assert response.json()["code"] == code


@pytest.mark.parametrize(
    ("card", "code"),
    [
        (_card("4242424242424241"), "incorrect_number"),  # fails the Luhn check
        (_card(exp_year=utcnow().year - 1), "invalid_expiry_year"),
        (_card(exp_month=0), "validation_error"),
        (_card(cvc="12"), "validation_error"),
        (_card("4242-4242-4242-4242"), "validation_error"),
    ],
)
def test_a_bad_card_is_refused_without_repeating_it(
    client: TestClient, publishable_headers: Headers, card: dict[str, Any], code: str
) -> None:
    response = client.post(
        "/v1/payments/test-provider/tokens", json=card, headers=publishable_headers
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert card["number"] not in response.text
    assert card["number"].replace("-", "") not in response.text


def test_tokens_need_a_key(client: TestClient) -> None:
    response = client.post("/v1/payments/test-provider/tokens", json=_card())
    assert response.status_code == 401


# --- reading payments ---------------------------------------------------------------------------


def test_staff_and_servers_read_payments(
    pay: Pay,
    client: TestClient,
    secret_headers: Headers,
    publishable_headers: Headers,
    staff_client: Callable[..., TestClient],
) -> None:
    payment = pay(store_id="loc_a", channel="till")
    path = f"/v1/payments/{payment.id}"

    body = client.get(path, headers=secret_headers).json()
    assert body["id"] == payment.id
    assert (body["status"], body["amount"], body["currency"]) == ("captured", 4990, "EUR")
    assert (body["card_brand"], body["card_last4"]) == ("visa", "4242")
    assert (body["refunded_amount"], body["refundable_amount"]) == (0, 4990)
    assert "client_secret" not in body
    assert "idempotency_key" not in body

    assert staff_client(Role.ASSOCIATE, stores={"loc_a"}).get(path).status_code == 200
    assert staff_client(Role.MARKETER).get(path).status_code == 403
    assert client.get(path, headers=publishable_headers).status_code == 403
    assert client.get(path).status_code == 401
    missing = client.get("/v1/payments/pay_nope", headers=secret_headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "payment_not_found")


def test_the_payments_of_a_reference_page_by_page(
    pay: Pay, client: TestClient, secret_headers: Headers
) -> None:
    made = [pay(idempotency_key=f"k{i}").id for i in range(3)]
    pay(reference="ord_other")

    first = client.get("/v1/payments?reference=ord_1&limit=2", headers=secret_headers).json()
    assert [p["id"] for p in first["items"]] == made[:2]
    second = client.get(
        f"/v1/payments?reference=ord_1&limit=2&cursor={first['next_cursor']}",
        headers=secret_headers,
    ).json()
    assert [p["id"] for p in second["items"]] == made[2:]
    assert second["next_cursor"] is None
    bad = client.get("/v1/payments?reference=ord_1&cursor=nonsense", headers=secret_headers)
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")


# --- refunds ------------------------------------------------------------------------------------


def test_an_associate_refunds_a_payment_of_her_store(
    pay: Pay, staff_client: Callable[..., TestClient], uow: UnitOfWork
) -> None:
    payment = pay(store_id="loc_a", channel="till")
    associate = staff_client(Role.ASSOCIATE, stores={"loc_a"})
    path = f"/v1/payments/{payment.id}/refunds"

    missing_key = associate.post(path, json={"amount": 1000, "reason": "retour"})
    assert missing_key.status_code == 422

    refunded = associate.post(
        path, json={"amount": 1000, "reason": "retour"}, headers={"Idempotency-Key": "r1"}
    )
    assert refunded.status_code == 201, refunded.text
    assert refunded.json()["amount"] == 1000
    assert refunded.json()["status"] == "succeeded"

    too_much = associate.post(
        path, json={"amount": 4000, "reason": "retour"}, headers={"Idempotency-Key": "r2"}
    )
    assert too_much.status_code == 409
    assert too_much.headers["content-type"] == "application/problem+json"
    assert too_much.json()["code"] == "refund_exceeds_captured"
    assert too_much.json()["refundable_amount"] == 3990

    read = associate.get(f"/v1/payments/{payment.id}").json()
    assert (read["status"], read["refunded_amount"]) == ("partially_refunded", 1000)
    (refund,) = service.list_refunds(uow=uow, payment_id=payment.id)
    assert refund.actor is not None
    assert refund.actor.startswith("usr_")  # who refunded: the associate's account


def test_an_associate_cannot_refund_another_store(
    pay: Pay, staff_client: Callable[..., TestClient]
) -> None:
    payment = pay(store_id="loc_b", channel="till")
    associate = staff_client(Role.ASSOCIATE, stores={"loc_a"})

    response = associate.post(
        f"/v1/payments/{payment.id}/refunds",
        json={"amount": 100, "reason": "retour"},
        headers={"Idempotency-Key": "r1"},
    )

    assert response.status_code == 403
    assert response.json()["code"] == "store_out_of_scope"
    assert associate.get(f"/v1/payments/{payment.id}").json()["refunded_amount"] == 0


def test_a_publishable_key_cannot_refund(
    pay: Pay, client: TestClient, publishable_headers: Headers
) -> None:
    payment = pay()
    response = client.post(
        f"/v1/payments/{payment.id}/refunds",
        json={"amount": 100, "reason": "r"},
        headers={**publishable_headers, "Idempotency-Key": "r1"},
    )
    assert response.status_code == 403


# --- the 3-D Secure challenge -------------------------------------------------------------------


def _challenge(payment: Payment) -> tuple[str, str]:
    assert payment.next_action_url is not None
    url = urlsplit(payment.next_action_url)
    return url.path, parse_qs(url.query)["client_secret"][0]


def test_the_shopper_approves_the_challenge(
    pay: Pay, client: TestClient, uow: UnitOfWork, providers: PaymentProviders
) -> None:
    payment = pay("4000000000003220")
    path, secret = _challenge(payment)

    page = client.get(payment.next_action_url or "")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Approuver" in page.text
    assert "49,90" in page.text
    assert "3220" in page.text

    approved = client.post(path, json={"outcome": "approve", "client_secret": secret})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "captured"
    assert approved.json()["next_action_url"] is None
    assert service.captured_total(uow=uow, reference="ord_1") == 4990


def test_the_shopper_denies_the_challenge(pay: Pay, client: TestClient) -> None:
    payment = pay("4000000000003220")
    path, secret = _challenge(payment)

    denied = client.post(path, json={"outcome": "deny", "client_secret": secret})

    assert denied.json()["status"] == "failed"
    assert denied.json()["failure_code"] == "authentication_failed"


def test_nobody_else_can_answer_the_challenge(
    pay: Pay, client: TestClient, secret_headers: Headers
) -> None:
    payment = pay("4000000000003220")
    path, _ = _challenge(payment)
    other = pay("4000000000003220", idempotency_key="other")
    _, other_secret = _challenge(other)

    for secret in ("guess", other_secret, "é"):
        response = client.post(path, json={"outcome": "approve", "client_secret": secret})
        assert response.status_code == 403
        assert response.json()["code"] == "invalid_client_secret"
    assert client.get(f"{path}?client_secret=guess").status_code == 403
    read = client.get(f"/v1/payments/{payment.id}", headers=secret_headers).json()
    assert read["status"] == "requires_action"
