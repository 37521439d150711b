"""A card number or CVC never lands in a table, a log line or an answer: after paying, refunding
and typing a wrong number, every text and binary column of every table and every log record is
searched for them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from parcours.core.auth.models import Role
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.models import Base

NUMBER = "4242424242424242"
WRONG_NUMBER = "4242424242424241"  # fails the Luhn check
CVC = "987"
Headers = dict[str, str]


def _forms(number: str) -> list[str]:
    """How a number may be written: plain, in groups of four, with dashes."""
    groups = [number[i : i + 4] for i in range(0, len(number), 4)]
    return [number, " ".join(groups), "-".join(groups)]


def _stored_values(db: Database) -> Iterator[tuple[str, str]]:
    """(table.column, text) of every value in every table."""
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for column, value in row._mapping.items():
                    if isinstance(value, bytes | bytearray | memoryview):
                        text = bytes(value).decode("latin-1")
                    elif value is None:
                        continue
                    else:
                        text = str(value)
                    yield f"{table.name}.{column}", text


def test_no_card_number_or_cvc_is_stored_logged_or_echoed(
    client: TestClient,
    db: Database,
    secret_headers: Headers,
    publishable_headers: Headers,
    staff_client: Callable[..., TestClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level, the library's too
    year = utcnow().year + 3
    answers: list[str] = []

    wrong = client.post(
        "/v1/payments/test-provider/tokens",
        json={"number": WRONG_NUMBER, "exp_month": 1, "exp_year": year, "cvc": CVC},
        headers={**publishable_headers, "Idempotency-Key": "tok-0"},
    )
    assert wrong.status_code == 422
    answers.append(wrong.text)
    tokenised = client.post(
        "/v1/payments/test-provider/tokens",
        json={"number": _forms(NUMBER)[1], "exp_month": 1, "exp_year": year, "cvc": CVC},
        headers={**publishable_headers, "Idempotency-Key": "tok-1"},
    )
    assert tokenised.status_code == 201, tokenised.text
    answers.append(tokenised.text)

    link = client.post(
        "/v1/payment-links",
        json={"reference": "ord_p", "amount": 4990, "currency": "EUR", "description": "Commande"},
        headers=secret_headers,
    ).json()
    paid = client.post(
        f"/v1/payment-links/{link['token']}/payments",
        json={"token": tokenised.json()["token"]},
        headers={"Idempotency-Key": "pay-1"},
    )
    assert paid.json()["status"] == "captured"
    answers.append(paid.text)
    manager = staff_client(Role.MANAGER)
    refunded = manager.post(
        f"/v1/payments/{paid.json()['id']}/refunds",
        json={"amount": 990, "reason": "geste commercial"},
        headers={"Idempotency-Key": "r-1"},
    )
    assert refunded.status_code == 201
    answers.append(refunded.text)
    answers.append(manager.get("/v1/payments?reference=ord_p").text)

    secrets = [*_forms(NUMBER), *_forms(WRONG_NUMBER)]
    stored = list(_stored_values(db))
    assert any(column == "payments.card_last4" and text == "4242" for column, text in stored)
    leaks = [column for column, text in stored for secret in secrets if secret in text]
    assert leaks == []
    # The CVC is three digits: look for it where it could only be the CVC.
    assert [c for c, text in stored if f'"{CVC}"' in text or f"cvc={CVC}" in text] == []

    logged = [f"{record.getMessage()} {record.__dict__}" for record in caplog.records]
    assert logged, "the scenario logs nothing: the search would prove nothing"
    assert [line for line in logged for secret in secrets if secret in line] == []
    assert [line for line in logged if f"'{CVC}'" in line or f'"{CVC}"' in line] == []
    assert [a for a in answers for secret in secrets if secret in a] == []
