"""The Stripe adapter, driven through the official ``stripe`` library against a local HTTP
server that answers with Stripe's recorded payloads (``recorded/``); webhooks signed the way
Stripe signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi.testclient import TestClient

from parcours.app import create_app
from parcours.core.db import Database
from parcours.core.errors import Conflict, InvalidInput
from parcours.core.settings import Environment, Settings
from parcours.core.uow import UnitOfWork
from parcours.payments import service
from parcours.payments.errors import ProviderUnavailable
from parcours.payments.models import Payment
from parcours.payments.providers import PaymentProviders, build_providers

RECORDED = Path(__file__).parent / "recorded"
API_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
WEBHOOK_SECRET = "whsec_test_5bJ3kQ9mZ0pR7tX2"
SUCCEEDED_PI = "pi_3MoS6tLgUG5tbmjc1QJ2wW6d"
THREE_DS_PI = "pi_3MoS7BLgUG5tbmjc0Yq8dTqE"
Outbox = Callable[[str], list[dict[str, Any]]]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class StripeStub:
    """What Stripe would answer, per request; and every request the library sent."""

    url: str
    requests: list[Seen] = field(default_factory=list)
    fail_next: bool = False

    def posts(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.method == "POST" and r.path == path]


def _recorded(name: str) -> bytes:
    return (RECORDED / name).read_bytes()


def _answer(stub: StripeStub, seen: Seen) -> tuple[int, bytes]:
    if stub.fail_next:
        stub.fail_next = False
        return 500, _recorded("api_error.json")
    if seen.method == "POST" and seen.path == "/v1/payment_intents":
        payment_method = seen.form.get("payment_method")
        if payment_method == "pm_card_visa_chargeDeclinedInsufficientFunds":
            return 402, _recorded("card_error_insufficient_funds.json")
        if payment_method == "pm_card_threeDSecure2Required":
            return 200, _recorded("payment_intent_requires_action.json")
        return 200, _recorded("payment_intent_succeeded.json")
    if seen.method == "GET" and seen.path == f"/v1/payment_intents/{THREE_DS_PI}":
        return 200, _recorded("payment_intent_3ds_succeeded.json")
    if seen.method == "POST" and seen.path == "/v1/refunds":
        refund = json.loads(_recorded("refund_succeeded.json"))
        refund["amount"] = int(seen.form["amount"])
        return 200, json.dumps(refund).encode()
    if seen.method == "POST" and seen.path.endswith("/cancel"):
        intent = json.loads(_recorded("payment_intent_requires_action.json"))
        intent.update(status="canceled", next_action=None, cancellation_reason="abandoned")
        return 200, json.dumps(intent).encode()
    return 404, json.dumps({"error": {"type": "invalid_request_error"}}).encode()


@pytest.fixture
def stripe_stub() -> Iterator[StripeStub]:
    stub = StripeStub(url="")

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            url = urlsplit(self.path)
            form = dict(parse_qsl(body or url.query, keep_blank_values=True))
            seen = Seen(self.command, url.path, dict(self.headers.items()), form)
            stub.requests.append(seen)
            status, payload = _answer(stub, seen)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Request-Id", f"req_{len(stub.requests)}")
            if status >= 500:
                self.send_header("Stripe-Should-Retry", "false")
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _handle

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield stub
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def stripe_settings(database_url: str, stripe_stub: StripeStub) -> Settings:
    return Settings(
        environment=Environment.TEST,
        database_url=database_url,
        relay_in_process=False,
        log_json=False,
        payment_provider="stripe",
        stripe_api_key=API_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=stripe_stub.url,
    )


@pytest.fixture
def stripe_providers(stripe_settings: Settings) -> PaymentProviders:
    return build_providers(stripe_settings)


@pytest.fixture
def stripe_client(stripe_settings: Settings, db: Database) -> Iterator[TestClient]:
    app = create_app(stripe_settings, database=db)
    with TestClient(app, base_url="https://testserver") as client:
        yield client


def _start(uow: UnitOfWork, providers: PaymentProviders, **overrides: Any) -> Payment:
    arguments: dict[str, Any] = {
        "reference": "ord_stripe_1",
        "amount": 4990,
        "currency": "EUR",
        "method": "card",
        "details": {"payment_method": "pm_card_visa"},
        "idempotency_key": "checkout-1",
        "channel": "web",
    }
    arguments.update(overrides)
    return service.start_payment(uow=uow, providers=providers, **arguments)


def sign(payload: bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """The Stripe-Signature header: ``t=<unix time>,v1=HMAC-SHA256(secret, "<t>.<body>")``."""
    timestamp = int(time.time()) if at is None else at
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


# --- payments -----------------------------------------------------------------------------------


def test_a_payment_is_one_confirmed_payment_intent(
    uow: UnitOfWork, stripe_providers: PaymentProviders, stripe_stub: StripeStub, outbox: Outbox
) -> None:
    payment = _start(uow, stripe_providers)
    uow.commit()

    (sent,) = stripe_stub.posts("/v1/payment_intents")
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["Idempotency-Key"].startswith("parcours_")
    assert sent.form == {
        "amount": "4990",
        "currency": "eur",
        "payment_method": "pm_card_visa",
        "allowed_payment_method_types[0]": "card",
        "confirm": "true",
        "capture_method": "automatic",
        "metadata[parcours_reference]": "ord_stripe_1",
        "expand[0]": "payment_method",
    }
    assert (payment.provider, payment.status) == ("stripe", "captured")
    assert payment.provider_reference == SUCCEEDED_PI
    assert (payment.card_brand, payment.card_last4) == ("visa", "4242")
    assert len(outbox("payments.payment_captured")) == 1


def test_a_retry_reuses_stripes_idempotency_key(
    uow: UnitOfWork, stripe_providers: PaymentProviders, stripe_stub: StripeStub
) -> None:
    _start(uow, stripe_providers)
    uow.rollback()  # the request died before committing: our row is gone, Stripe's charge is not
    again = _start(uow, stripe_providers)
    uow.commit()
    replayed = _start(uow, stripe_providers)

    first, second = stripe_stub.posts("/v1/payment_intents")
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert first.form == second.form  # Stripe refuses a reused key with other parameters
    assert replayed.id == again.id
    assert len(stripe_stub.posts("/v1/payment_intents")) == 2  # the replay asked nothing


def test_a_declined_card_fails_with_stripes_decline_code(
    uow: UnitOfWork, stripe_providers: PaymentProviders, outbox: Outbox
) -> None:
    payment = _start(
        uow,
        stripe_providers,
        details={"payment_method": "pm_card_visa_chargeDeclinedInsufficientFunds"},
    )
    uow.commit()

    assert (payment.status, payment.failure_code) == ("failed", "insufficient_funds")
    assert payment.failure_message == "Your card has insufficient funds."
    assert payment.provider_reference == "pi_3MoS7RLgUG5tbmjc1Hk2cXzP"
    assert payment.card_last4 == "9995"
    assert [e["failure_code"] for e in outbox("payments.payment_failed")] == ["insufficient_funds"]


def test_stripe_down_leaves_nothing_behind(
    uow: UnitOfWork, stripe_providers: PaymentProviders, stripe_stub: StripeStub
) -> None:
    stripe_stub.fail_next = True
    with pytest.raises(ProviderUnavailable) as failed:
        _start(uow, stripe_providers)
    assert (failed.value.status, failed.value.code) == (502, "payment_provider_unavailable")
    uow.commit()
    assert service.payments_for(uow=uow, reference="ord_stripe_1") == []


def test_a_payment_method_that_is_not_one_is_refused_before_calling_stripe(
    uow: UnitOfWork, stripe_providers: PaymentProviders, stripe_stub: StripeStub
) -> None:
    with pytest.raises(InvalidInput) as refused:
        _start(uow, stripe_providers, details={"payment_method": "4242424242424242"})
    assert refused.value.code == "invalid_payment_method"
    assert "4242424242424242" not in str(refused.value)
    assert stripe_stub.requests == []


def test_3d_secure_points_to_stripe_then_confirms_by_reading_the_intent(
    uow: UnitOfWork, stripe_providers: PaymentProviders, stripe_stub: StripeStub, outbox: Outbox
) -> None:
    payment = _start(
        uow, stripe_providers, details={"payment_method": "pm_card_threeDSecure2Required"}
    )
    uow.commit()
    assert payment.status == "requires_action"
    assert payment.next_action_url is not None
    assert payment.next_action_url.startswith("https://hooks.stripe.com/3d_secure_2/hosted")
    assert payment.client_secret == f"{THREE_DS_PI}_secret_k6V9hY0aL3rBqXjJ4nQw2sEeT"

    # Whatever the caller claims, Stripe's intent says how the challenge ended.
    confirmed = service.confirm_payment_action(
        uow=uow, providers=stripe_providers, payment_id=payment.id, succeeded=False
    )
    uow.commit()
    (read,) = [r for r in stripe_stub.requests if r.method == "GET"]
    assert read.path == f"/v1/payment_intents/{THREE_DS_PI}"
    assert read.form == {"expand[0]": "payment_method"}
    assert confirmed.status == "captured"
    assert len(outbox("payments.payment_captured")) == 1


def test_a_refund_is_a_stripe_refund_with_its_own_key(
    uow: UnitOfWork, stripe_providers: PaymentProviders, stripe_stub: StripeStub
) -> None:
    payment = _start(uow, stripe_providers)
    uow.commit()

    refund = service.refund_payment(
        uow=uow,
        providers=stripe_providers,
        payment_id=payment.id,
        amount=1500,
        reason="retour",
        idempotency_key="return-1",
    )
    uow.commit()

    (sent,) = stripe_stub.posts("/v1/refunds")
    assert sent.form == {
        "payment_intent": SUCCEEDED_PI,
        "amount": "1500",
        "reason": "requested_by_customer",
        "metadata[parcours_reason]": "retour",
    }
    charge_key = stripe_stub.posts("/v1/payment_intents")[0].headers["Idempotency-Key"]
    assert sent.headers["Idempotency-Key"].startswith("parcours_")
    assert sent.headers["Idempotency-Key"] != charge_key
    assert refund.status == "succeeded"
    assert refund.provider_reference == "re_3MoS6tLgUG5tbmjc1qQ7nZ0a"
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", 1500)


# --- webhooks -----------------------------------------------------------------------------------


def _reload(db: Database, payment_id: str) -> Payment:
    """The payment as committed, read without holding the test's own transaction open."""
    with UnitOfWork(db, read_only=True) as unit:
        return service.get_payment(uow=unit, payment_id=payment_id)


def _three_ds_payment(uow: UnitOfWork, providers: PaymentProviders) -> Payment:
    payment = _start(uow, providers, details={"payment_method": "pm_card_threeDSecure2Required"})
    uow.commit()
    return payment


def test_a_signed_succeeded_event_captures_once_however_often_delivered(
    db: Database,
    uow: UnitOfWork,
    stripe_providers: PaymentProviders,
    stripe_client: TestClient,
    outbox: Outbox,
) -> None:
    payment = _three_ds_payment(uow, stripe_providers)
    payload = _recorded("event_payment_intent_succeeded.json")

    for _ in range(3):  # Stripe delivers at least once
        response = stripe_client.post(
            "/v1/payments/stripe/webhook",
            content=payload,
            headers={"Stripe-Signature": sign(payload), "Content-Type": "application/json"},
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"received": True, "payment_id": payment.id}

    payment = _reload(db, payment.id)
    assert payment.status == "captured"
    assert payment.next_action_url is None
    assert [e["payment_id"] for e in outbox("payments.payment_captured")] == [payment.id]

    # A late failure event for an intent that then succeeded changes nothing.
    failed = _recorded("event_payment_intent_payment_failed.json")
    stripe_client.post(
        "/v1/payments/stripe/webhook", content=failed, headers={"Stripe-Signature": sign(failed)}
    )
    payment = _reload(db, payment.id)
    assert payment.status == "captured"
    assert outbox("payments.payment_failed") == []


def test_a_failed_event_fails_the_payment(
    uow: UnitOfWork, stripe_providers: PaymentProviders, outbox: Outbox
) -> None:
    payment = _three_ds_payment(uow, stripe_providers)
    payload = _recorded("event_payment_intent_payment_failed.json")

    service.handle_stripe_webhook(
        uow=uow, providers=stripe_providers, payload=payload, signature_header=sign(payload)
    )
    uow.commit()

    assert (payment.status, payment.failure_code) == (
        "failed",
        "payment_intent_authentication_failure",
    )
    assert len(outbox("payments.payment_failed")) == 1


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda p: (p.replace(b'"amount": 4990', b'"amount": 1'), sign(p)), id="body"),
        pytest.param(lambda p: (p, sign(p, secret="whsec_someone_else")), id="secret"),
        pytest.param(lambda p: (p, sign(p, at=int(time.time()) - 600)), id="too-old"),
        pytest.param(lambda p: (p, ""), id="unsigned"),
        pytest.param(lambda p: (p, "t=soon,v1=abc"), id="garbled"),
    ],
)
def test_webhooks_that_stripe_did_not_sign_now_are_refused(
    db: Database,
    uow: UnitOfWork,
    stripe_providers: PaymentProviders,
    stripe_client: TestClient,
    tamper: Callable[[bytes], tuple[bytes, str]],
) -> None:
    payment = _three_ds_payment(uow, stripe_providers)
    payload, signature = tamper(_recorded("event_payment_intent_succeeded.json"))

    response = stripe_client.post(
        "/v1/payments/stripe/webhook", content=payload, headers={"Stripe-Signature": signature}
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_signature"
    payment = _reload(db, payment.id)
    assert payment.status == "requires_action"


def test_events_for_payments_we_do_not_know(
    uow: UnitOfWork, stripe_providers: PaymentProviders
) -> None:
    event = json.loads(_recorded("event_payment_intent_succeeded.json"))

    # Ours (our metadata), not committed yet: refuse, so that Stripe delivers it again later.
    payload = json.dumps(event).encode()
    with pytest.raises(Conflict) as later:
        service.handle_stripe_webhook(
            uow=uow, providers=stripe_providers, payload=payload, signature_header=sign(payload)
        )
    assert later.value.code == "payment_not_recorded_yet"

    # Another integration's payment on the same account: acknowledged, ignored.
    event["data"]["object"]["metadata"] = {}
    payload = json.dumps(event).encode()
    assert (
        service.handle_stripe_webhook(
            uow=uow, providers=stripe_providers, payload=payload, signature_header=sign(payload)
        )
        is None
    )


def test_without_stripe_configured_the_webhook_is_not_found(client: TestClient) -> None:
    payload = _recorded("event_payment_intent_succeeded.json")
    response = client.post(
        "/v1/payments/stripe/webhook", content=payload, headers={"Stripe-Signature": sign(payload)}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "stripe_not_configured"
