"""Web push: the browser's subscription, and "Votre commande est prête" delivered to a local HTTP
server that plays a push service (no internet here). It checks what a real push service checks:
the VAPID ``Authorization: vapid t=…, k=…`` header (the JWT's signature verified with the public
key), ``Content-Encoding: aes128gcm`` and ``TTL``; and decrypts the payload with the
subscription's private key, as the browser would. A 410 revokes the subscription."""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from tests.conftest import Shop
from tests.orders.test_fulfilment import Phone

from parcours.app import build_bus
from parcours.core.auth.models import KeyKind
from parcours.core.db import Database
from parcours.core.outbox import Relay
from parcours.core.settings import Settings
from parcours.core.uow import UnitOfWork
from parcours.notifications import service
from parcours.notifications.models import PushSubscription
from parcours.notifications.push import (
    PushError,
    PushTarget,
    b64url,
    b64url_decode,
    generate_vapid_keys,
    send_push,
)
from parcours.orders import service as orders


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class PushService:
    """A push service on loopback: it records each POST and answers ``status``."""

    url: str
    received: list[Received] = field(default_factory=list)
    status: int = 201


@pytest.fixture
def push_service() -> Iterator[PushService]:
    state = PushService(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's hook name)
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            state.received.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class Browser:
    """What a browser keeps for one push subscription: its P-256 key pair and auth secret."""

    key: ec.EllipticCurvePrivateKey
    auth: bytes
    endpoint: str

    @property
    def p256dh(self) -> str:
        return b64url(
            self.key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    def subscription(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)},
        }

    def decrypt(self, body: bytes) -> Any:
        plain = http_ece.decrypt(
            body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"
        )
        return json.loads(plain)


def new_browser(push: PushService) -> Browser:
    return Browser(
        key=ec.generate_private_key(ec.SECP256R1()),
        auth=os.urandom(16),
        endpoint=f"{push.url}/wpush/v2/{secrets.token_urlsafe(12)}",
    )


def check_vapid(received: Received, public_key: str, push: PushService) -> dict[str, Any]:
    """What a push service does before accepting a message; returns the JWT's claims."""
    scheme, _, params = received.headers["authorization"].partition(" ")
    assert scheme == "vapid"
    parts = dict(part.strip().split("=", 1) for part in params.split(","))
    assert parts["k"] == public_key
    point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(parts["k"]))
    claims: dict[str, Any] = jwt.decode(
        parts["t"], key=point, algorithms=["ES256"], audience=push.url
    )
    assert claims["sub"].startswith("mailto:")
    return claims


def test_sender_signs_encrypts_and_sets_ttl(push_service: PushService) -> None:
    keys = generate_vapid_keys()
    browser = new_browser(push_service)
    target = PushTarget(browser.endpoint, browser.p256dh, b64url(browser.auth))
    send_push(target, {"title": "Bonjour", "body": "é"}, keys=keys, subject="mailto:a@b.example")
    [received] = push_service.received
    assert received.path.startswith("/wpush/v2/")
    assert received.headers["content-encoding"] == "aes128gcm"
    assert int(received.headers["ttl"]) == 24 * 3600
    assert received.headers["urgency"] == "high"
    check_vapid(received, keys.public, push_service)
    assert browser.decrypt(received.body) == {"title": "Bonjour", "body": "é"}
    # A forged key would not verify.
    other = generate_vapid_keys()
    with pytest.raises(AssertionError):
        check_vapid(received, other.public, push_service)


@pytest.mark.parametrize(
    ("status", "gone", "retry"),
    [(410, True, False), (404, True, False), (503, False, True), (400, False, False)],
)
def test_sender_reads_the_push_service_answer(
    push_service: PushService, status: int, gone: bool, retry: bool
) -> None:
    push_service.status = status
    browser = new_browser(push_service)
    target = PushTarget(browser.endpoint, browser.p256dh, b64url(browser.auth))
    with pytest.raises(PushError) as raised:
        send_push(target, {"title": "x"}, keys=generate_vapid_keys(), subject="mailto:a@b.example")
    assert raised.value.gone is gone
    assert raised.value.retry is retry
    assert browser.endpoint not in raised.value.error  # codes only, never the address


# --- the order is ready: end to end ------------------------------------------------------------


@pytest.fixture
def storefront_phone(client: TestClient, api_key: Callable[[KeyKind], str]) -> Callable[[], Phone]:
    key = api_key(KeyKind.PUBLISHABLE)

    def start() -> Phone:
        headers = {"Authorization": f"Bearer {key}"}
        answer = client.post("/v1/shopper/sessions", json={"channel": "web"}, headers=headers)
        assert answer.status_code == 201, answer.text
        return Phone(client, {**headers, "X-Shopper-Token": answer.json()["token"]})

    return start


def ready_order(phone: Phone, shop: Shop, db: Database) -> str:
    phone.add(shop.variants["S"])
    placed = phone.checkout({"method": "click_and_collect", "store_id": shop.store_a})
    assert placed.status_code == 201, placed.text
    order_id: str = placed.json()["id"]
    paid = phone.pay(order_id, key=f"pay-{order_id}")
    assert paid.status_code == 201, paid.text
    with UnitOfWork(db) as uow:
        orders.mark_ready_for_pickup(uow=uow, order_id=order_id, location_id=shop.store_a)
        uow.commit()
    phone.cart = phone.client.get("/v1/me/cart", headers=phone.headers).json()
    return order_id


def run_relay(db: Database, settings: Settings) -> None:
    relay = Relay(db, build_bus(settings))
    while relay.run_once():
        pass


def test_order_ready_reaches_her_subscribed_phone_only(
    client: TestClient,
    db: Database,
    shop: Shop,
    settings: Settings,
    push_service: PushService,
    storefront_phone: Callable[[], Phone],
) -> None:
    keys = generate_vapid_keys()
    settings = settings.model_copy(
        update={"vapid_private_key": SecretStr(keys.private), "vapid_public_key": keys.public}
    )
    subscribed, silent = storefront_phone(), storefront_phone()
    browser = new_browser(push_service)
    answer = client.post(
        "/v1/push/subscriptions", json=browser.subscription(), headers=subscribed.headers
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["id"].startswith("psh_")
    again = client.post(
        "/v1/push/subscriptions", json=browser.subscription(), headers=subscribed.headers
    )
    assert again.json()["id"] == answer.json()["id"]  # the same browser, one row

    order_id = ready_order(subscribed, shop, db)
    ready_order(silent, shop, db)  # no subscription: nothing is pushed for her
    run_relay(db, settings)

    [received] = push_service.received
    check_vapid(received, keys.public, push_service)
    assert received.headers["content-encoding"] == "aes128gcm"
    message = browser.decrypt(received.body)
    assert message["title"] == "Votre commande est prête"
    assert message["url"] == f"/commandes/{order_id}"
    with UnitOfWork(db, read_only=True) as uow:
        number = orders.get_order(uow=uow, order_id=order_id).number
        row = uow.session.scalars(select(PushSubscription)).one()
        assert row.last_sent_at is not None
        assert row.last_error is None
    assert number in message["body"]
    assert "code" not in message["body"].lower()  # no pickup code on a lock screen


def test_a_subscription_the_browser_dropped_is_revoked(
    client: TestClient,
    db: Database,
    shop: Shop,
    settings: Settings,
    push_service: PushService,
    storefront_phone: Callable[[], Phone],
) -> None:
    keys = generate_vapid_keys()
    settings = settings.model_copy(
        update={"vapid_private_key": SecretStr(keys.private), "vapid_public_key": keys.public}
    )
    phone = storefront_phone()
    browser = new_browser(push_service)
    client.post("/v1/push/subscriptions", json=browser.subscription(), headers=phone.headers)
    push_service.status = 410
    ready_order(phone, shop, db)
    run_relay(db, settings)
    assert len(push_service.received) == 1  # gone: not retried
    with UnitOfWork(db, read_only=True) as uow:
        row = uow.session.scalars(select(PushSubscription)).one()
        assert row.revoked_at is not None
        assert row.last_error == "push service 410: subscription gone"
        assert (
            service.push_subscriptions_of(uow=uow, profile_id=None, anonymous_id=row.anonymous_id)
            == []
        )
    # A second order: nothing is sent to a revoked subscription.
    push_service.status = 201
    ready_order(phone, shop, db)
    run_relay(db, settings)
    assert len(push_service.received) == 1


def test_subscriptions_are_checked_and_can_be_removed(
    client: TestClient,
    db: Database,
    push_service: PushService,
    storefront_phone: Callable[[], Phone],
) -> None:
    phone = storefront_phone()
    browser = new_browser(push_service)
    bad = {**browser.subscription(), "endpoint": "http://push.example.net/x"}
    refused = client.post("/v1/push/subscriptions", json=bad, headers=phone.headers)
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_push_endpoint"
    client.post("/v1/push/subscriptions", json=browser.subscription(), headers=phone.headers)
    removed = client.request(
        "DELETE",
        "/v1/push/subscriptions",
        content=json.dumps({"endpoint": browser.endpoint}),
        headers={**phone.headers, "Content-Type": "application/json"},
    )
    assert removed.status_code == 204
    with UnitOfWork(db, read_only=True) as uow:
        assert uow.session.scalars(select(PushSubscription)).one().revoked_at is not None


@pytest.mark.parametrize(
    ("endpoint", "allow_local", "accepted"),
    [
        ("https://fcm.googleapis.com/fcm/send/abc", False, True),
        ("https://updates.push.services.mozilla.com/wpush/v2/abc", False, True),
        ("http://fcm.googleapis.com/fcm/send/abc", False, False),  # not https
        ("http://127.0.0.1:8000/push", False, False),  # loopback in production
        ("http://127.0.0.1:8000/push", True, True),  # a local push server in tests
        ("https://127.0.0.1@evil.example/push", False, False),  # userinfo trick
        ("https://localhost.evil.example/push", False, True),  # a real outside host
        ("https://10.0.0.5/push", False, False),  # private network
        ("https://169.254.169.254/latest/meta-data", False, False),  # cloud metadata
        ("https://[::1]/push", False, False),
        ("https://intranet/push", False, False),  # a bare internal name
    ],
)
def test_only_public_push_services_are_accepted(
    endpoint: str, allow_local: bool, accepted: bool
) -> None:
    from parcours.core.errors import InvalidInput
    from parcours.notifications.service import _check_push_endpoint

    if accepted:
        _check_push_endpoint(endpoint, allow_local=allow_local)
    else:
        with pytest.raises(InvalidInput):
            _check_push_endpoint(endpoint, allow_local=allow_local)


def test_only_the_browser_that_subscribed_may_remove_or_rebind_it(
    client: TestClient,
    db: Database,
    push_service: PushService,
    publishable_headers: dict[str, str],
    storefront_phone: Callable[[], Phone],
) -> None:
    """The endpoint travels to push services and logs: knowing it proves nothing. Only the
    session that subscribed it, or the subscription's own ``keys.auth``, may act on it."""
    phone, stranger = storefront_phone(), storefront_phone()
    browser = new_browser(push_service)
    subscribed = client.post(
        "/v1/push/subscriptions", json=browser.subscription(), headers=phone.headers
    )
    assert subscribed.status_code == 201
    with UnitOfWork(db, read_only=True) as uow:
        before = uow.session.scalars(select(PushSubscription)).one()
        owner, keys = before.anonymous_id, (before.p256dh, before.auth)

    def delete(headers: dict[str, str], body: dict[str, Any]) -> Any:
        return client.request(
            "DELETE",
            "/v1/push/subscriptions",
            content=json.dumps(body),
            headers={**headers, "Content-Type": "application/json"},
        )

    wrong_auth = {"endpoint": browser.endpoint, "keys": {"auth": b64url(os.urandom(16))}}
    for headers, body in (
        (stranger.headers, {"endpoint": browser.endpoint}),
        (publishable_headers, {"endpoint": browser.endpoint}),
        (stranger.headers, wrong_auth),
    ):
        refused = delete(headers, body)
        assert refused.status_code == 403
        assert refused.json()["code"] == "push_subscription_not_yours"
    # Rebinding her endpoint to another session (with its own keys) is refused too.
    impostor = new_browser(push_service)
    impostor.endpoint = browser.endpoint
    rebound = client.post(
        "/v1/push/subscriptions", json=impostor.subscription(), headers=stranger.headers
    )
    assert rebound.status_code == 403
    with UnitOfWork(db, read_only=True) as uow:
        after = uow.session.scalars(select(PushSubscription)).one()
        assert (after.anonymous_id, (after.p256dh, after.auth)) == (owner, keys)
        assert after.revoked_at is None
    # Her browser's secret works from anywhere (her session may have ended).
    assert delete(publishable_headers, browser.subscription()).status_code == 204
    with UnitOfWork(db, read_only=True) as uow:
        assert uow.session.scalars(select(PushSubscription)).one().revoked_at is not None
