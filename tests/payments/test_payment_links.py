"""Pay-by-link: a link and QR code to pay an order on one's own phone, paid once, never charged
twice, gone when expired."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import segno
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from parcours.core.auth.models import Role
from parcours.core.clock import utcnow
from parcours.core.errors import Conflict, InvalidInput, NotFound
from parcours.core.uow import UnitOfWork
from parcours.payments import service
from parcours.payments.errors import Gone
from parcours.payments.models import PaymentLink
from parcours.payments.providers import PaymentProviders, SandboxCardProvider

Outbox = Callable[[str], list[dict[str, Any]]]
Headers = dict[str, str]
VISA = "4242424242424242"
THREE_D_SECURE = "4000000000003220"


def _link(uow: UnitOfWork, **overrides: Any) -> PaymentLink:
    arguments: dict[str, Any] = {
        "reference": "ord_1",
        "amount": 2590,
        "currency": "EUR",
        "description": "Commande 1042",
        "channel": "store",
        "store_id": "loc_lyon",
    }
    arguments.update(overrides)
    link = service.create_payment_link(uow=uow, **arguments)
    uow.commit()
    return link


def _expire(uow: UnitOfWork, link: PaymentLink) -> None:
    uow.session.execute(
        update(PaymentLink)
        .where(PaymentLink.id == link.id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    uow.commit()


def test_a_link_has_an_unguessable_token_and_an_expiry(uow: UnitOfWork) -> None:
    before = utcnow()
    link = _link(uow, ttl_seconds=3600)
    other = _link(uow)

    assert link.id.startswith("plk_")
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", link.token)
    assert link.token != other.token
    assert link.url_path == f"/payer/{link.token}"
    assert link.status == "open"
    assert before + timedelta(seconds=3600) <= link.expires_at <= utcnow() + timedelta(seconds=3600)
    assert service.get_payment_link(uow=uow, token=link.token).id == link.id


def test_paying_a_link_captures_and_closes_it(
    uow: UnitOfWork,
    providers: PaymentProviders,
    sandbox: SandboxCardProvider,
    card: Callable[[str], str],
    outbox: Outbox,
) -> None:
    link = _link(uow)
    payment = service.pay_payment_link(
        uow=uow,
        providers=providers,
        token=link.token,
        details={"token": card(VISA)},
        idempotency_key="pay-1",
    )
    uow.commit()

    assert (payment.status, payment.amount, payment.reference) == ("captured", 2590, "ord_1")
    assert (payment.channel, payment.store_id, payment.payment_link_id) == (
        "store",
        "loc_lyon",
        link.id,
    )
    assert link.status == "paid"
    assert link.paid_at is not None
    with pytest.raises(Conflict) as paid:
        service.get_payment_link(uow=uow, token=link.token)
    assert paid.value.code == "payment_link_paid"

    with pytest.raises(Conflict) as twice:
        service.pay_payment_link(
            uow=uow,
            providers=providers,
            token=link.token,
            details={"token": card(VISA)},
            idempotency_key="pay-2",
        )
    assert twice.value.code == "payment_link_paid"
    assert sandbox.charge_attempts == 1
    assert len(outbox("payments.payment_captured")) == 1


def test_a_retried_payment_of_a_paid_link_gets_its_payment_back(
    uow: UnitOfWork, providers: PaymentProviders, card: Callable[[str], str]
) -> None:
    link = _link(uow)
    details = {"token": card(VISA)}
    first = service.pay_payment_link(
        uow=uow, providers=providers, token=link.token, details=details, idempotency_key="k"
    )
    uow.commit()
    again = service.pay_payment_link(
        uow=uow, providers=providers, token=link.token, details=details, idempotency_key="k"
    )
    assert again.id == first.id


def test_a_declined_card_leaves_the_link_open_for_another(
    uow: UnitOfWork, providers: PaymentProviders, card: Callable[[str], str]
) -> None:
    link = _link(uow)
    declined = service.pay_payment_link(
        uow=uow,
        providers=providers,
        token=link.token,
        details={"token": card("4000000000009995")},
        idempotency_key="k1",
    )
    uow.commit()
    assert declined.failure_code == "insufficient_funds"
    assert link.status == "open"

    paid = service.pay_payment_link(
        uow=uow,
        providers=providers,
        token=link.token,
        details={"token": card(VISA)},
        idempotency_key="k2",
    )
    assert paid.status == "captured"


def test_a_link_paid_after_3d_secure_is_closed_by_the_confirmation(
    uow: UnitOfWork, providers: PaymentProviders, card: Callable[[str], str], outbox: Outbox
) -> None:
    link = _link(uow)
    payment = service.pay_payment_link(
        uow=uow,
        providers=providers,
        token=link.token,
        details={"token": card(THREE_D_SECURE)},
        idempotency_key="k",
    )
    uow.commit()
    assert payment.status == "requires_action"
    assert service.get_payment_link(uow=uow, token=link.token).status == "open"

    service.confirm_payment_action(
        uow=uow, providers=providers, payment_id=payment.id, succeeded=True
    )
    uow.commit()
    uow.session.refresh(link)
    assert link.status == "paid"
    assert [e["payment_id"] for e in outbox("payments.payment_captured")] == [payment.id]


def test_a_new_attempt_replaces_one_waiting_for_3d_secure(
    uow: UnitOfWork, providers: PaymentProviders, card: Callable[[str], str], outbox: Outbox
) -> None:
    """Otherwise approving the old challenge after paying with another card charges twice."""
    link = _link(uow)
    waiting = service.pay_payment_link(
        uow=uow,
        providers=providers,
        token=link.token,
        details={"token": card(THREE_D_SECURE)},
        idempotency_key="k1",
    )
    uow.commit()
    paid = service.pay_payment_link(
        uow=uow,
        providers=providers,
        token=link.token,
        details={"token": card(VISA)},
        idempotency_key="k2",
    )
    uow.commit()

    assert paid.status == "captured"
    assert (waiting.status, waiting.failure_code) == ("failed", "abandoned")
    with pytest.raises(Conflict):
        service.confirm_payment_action(
            uow=uow, providers=providers, payment_id=waiting.id, succeeded=True
        )
    assert [e["payment_id"] for e in outbox("payments.payment_captured")] == [paid.id]


def test_a_bad_card_does_not_abandon_the_attempt_waiting_for_3d_secure(
    uow: UnitOfWork, providers: PaymentProviders, card: Callable[[str], str]
) -> None:
    link = _link(uow)
    waiting = service.pay_payment_link(
        uow=uow,
        providers=providers,
        token=link.token,
        details={"token": card(THREE_D_SECURE)},
        idempotency_key="k1",
    )
    uow.commit()
    with pytest.raises(InvalidInput):
        service.pay_payment_link(
            uow=uow,
            providers=providers,
            token=link.token,
            details={"token": "tok_typo"},
            idempotency_key="k2",
        )
    assert waiting.status == "requires_action"


def test_an_expired_link_is_gone(
    uow: UnitOfWork, providers: PaymentProviders, card: Callable[[str], str]
) -> None:
    link = _link(uow)
    _expire(uow, link)

    with pytest.raises(Gone) as gone:
        service.get_payment_link(uow=uow, token=link.token)
    assert (gone.value.status, gone.value.code) == (410, "payment_link_expired")
    with pytest.raises(Gone):
        service.pay_payment_link(
            uow=uow,
            providers=providers,
            token=link.token,
            details={"token": card(VISA)},
            idempotency_key="k",
        )
    with pytest.raises(NotFound):
        service.get_payment_link(uow=uow, token="no-such-token")


# --- the API ------------------------------------------------------------------------------------


def test_staff_create_a_link_and_the_payer_pays_it(
    client: TestClient,
    app: FastAPI,
    secret_headers: Headers,
    publishable_headers: Headers,
) -> None:
    created = client.post(
        "/v1/payment-links",
        json={
            "reference": "ord_9",
            "amount": 4990,
            "currency": "EUR",
            "description": "Commande 1042",
        },
        headers=secret_headers,
    )
    assert created.status_code == 201, created.text
    link = created.json()
    assert link["url"] == f"http://127.0.0.1:8000/payer/{link['token']}"
    assert link["status"] == "open"

    # The payer's phone: no credentials, only the link.
    shown = client.get(f"/v1/payment-links/{link['token']}")
    assert shown.status_code == 200
    assert shown.json()["amount"] == 4990
    assert shown.json()["description"] == "Commande 1042"
    assert "reference" not in shown.json()
    assert "store_id" not in shown.json()

    token = client.post(
        "/v1/payments/test-provider/tokens",
        json={
            "number": "4242 4242 4242 4242",
            "exp_month": 12,
            "exp_year": utcnow().year + 5,
            "cvc": "123",
        },
        headers=publishable_headers,
    ).json()["token"]
    pay_path = shown.json()["pay_path"]

    missing_key = client.post(pay_path, json={"token": token})
    assert missing_key.status_code == 422
    assert missing_key.headers["content-type"] == "application/problem+json"

    paid = client.post(pay_path, json={"token": token}, headers={"Idempotency-Key": "a1"})
    assert paid.status_code == 201, paid.text
    assert paid.json()["status"] == "captured"
    assert paid.json()["card_last4"] == "4242"

    replayed = client.post(pay_path, json={"token": token}, headers={"Idempotency-Key": "a1"})
    assert replayed.json() == paid.json()

    twice = client.post(pay_path, json={"token": token}, headers={"Idempotency-Key": "a2"})
    assert twice.status_code == 409
    assert twice.json()["code"] == "payment_link_paid"
    assert client.get(f"/v1/payment-links/{link['token']}").json()["code"] == "payment_link_paid"
    sandbox = app.state.payment_providers.find("test")
    assert sandbox.charge_attempts == 1


def test_the_qr_code_encodes_the_link(
    client: TestClient, uow: UnitOfWork, secret_headers: Headers
) -> None:
    link = _link(uow)

    response = client.get(f"/v1/payment-links/{link.token}/qr.svg")

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    buffer = io.BytesIO()
    expected = segno.make_qr(f"http://127.0.0.1:8000/payer/{link.token}", error="m")
    expected.save(buffer, kind="svg", scale=10, border=4, title="Payer", xmldecl=False)
    assert response.content == buffer.getvalue()
    assert client.get("/v1/payment-links/unknown/qr.svg").status_code == 404


def test_an_expired_link_answers_410(client: TestClient, uow: UnitOfWork) -> None:
    link = _link(uow)
    _expire(uow, link)

    response = client.get(f"/v1/payment-links/{link.token}")

    assert response.status_code == 410
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "payment_link_expired"


def test_an_associate_makes_links_for_her_store_only(
    staff_client: Callable[..., TestClient],
) -> None:
    associate = staff_client(Role.ASSOCIATE, stores={"loc_a"})
    body = {"reference": "ord_1", "amount": 100, "currency": "EUR", "description": "Commande"}

    mine = associate.post("/v1/payment-links", json={**body, "store_id": "loc_a"})
    assert mine.status_code == 201, mine.text
    refused = associate.post("/v1/payment-links", json={**body, "store_id": "loc_b"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "store_out_of_scope"
