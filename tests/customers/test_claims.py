"""What a browser says is a claim: the web write key is in every page, so an identify sent with it
may not take over a verified person's profile, pull another device's history into a profile, or
make a browser's "Order Completed" one of her orders. Her own signed-in session may speak for
her; servers stay trusted."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from parcours.core.auth import service as auth_service
from parcours.core.auth.models import KeyKind, KeySource
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import service, shoppers, tasks
from parcours.customers.http import SHOPPER_HEADER
from parcours.customers.models import IdentifierKind

VICTIM = "camille.durand@example.com"
ATTACKER_PHONE = "+33698765432"

Post = Callable[..., Any]


@pytest.fixture
def post_batch(client: TestClient, db: Database) -> Post:
    """``post_batch(source, messages, headers=…)``: a Segment batch with a write key of that
    source, with extra headers (a shopper session token); then the identity projection runs."""
    tokens: dict[KeySource, str] = {}

    def post(
        source: KeySource, messages: list[dict[str, Any]], headers: dict[str, str] | None = None
    ) -> None:
        if source not in tokens:
            with UnitOfWork(db) as uow:
                issued = auth_service.create_api_key(
                    uow=uow, kind=KeyKind.WRITE, name=f"{source} events", source=source
                )
                uow.commit()
            tokens[source] = issued.token
        auth = base64.b64encode(f"{tokens[source]}:".encode()).decode()
        answer = client.post(
            "/v1/batch",
            json={"batch": messages},
            headers={"Authorization": f"Basic {auth}", **(headers or {})},
        )
        assert answer.status_code == 200, answer.text
        tasks.run_identity_projection(db, settle_seconds=0)

    return post


def _signed_in(db: Database, email: str) -> tuple[str, str, str]:
    """A shopper signed in with a mailed code: (token, anonymous id, profile id)."""
    with UnitOfWork(db) as uow:
        started = shoppers.start_shopper_session(uow=uow, channel="web")
        code = shoppers.request_sign_in_code(uow=uow, email=email)
        session = shoppers.sign_in_shopper(
            uow=uow, session=started.session, email=email, code=code, channel="web"
        )
        assert session.profile_id is not None
        uow.commit()
        return started.token, session.anonymous_id, session.profile_id


def _victim(client: TestClient, db: Database, secret_headers: dict[str, str]) -> str:
    """Camille: verified email (she signed in), a name and a city from the shop's server."""
    _, _, profile_id = _signed_in(db, VICTIM)
    answer = client.post(
        "/v1/customers/identify",
        json={
            "email": VICTIM,
            "traits": {"first_name": "Camille", "city": "Nantes"},
            "channel": "web",
        },
        headers=secret_headers,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == profile_id
    return profile_id


def _kinds(db: Database, profile_id: str) -> set[tuple[str, str]]:
    with UnitOfWork(db, read_only=True) as uow:
        return {(i.kind, i.value) for i in service.identifiers_of(uow=uow, profile_id=profile_id)}


def test_a_browser_identify_cannot_take_over_a_verified_profile(
    client: TestClient, db: Database, secret_headers: dict[str, str], post_batch: Post
) -> None:
    victim = _victim(client, db, secret_headers)
    post_batch(
        KeySource.WEB,
        [
            {
                "type": "identify",
                "anonymousId": "a-attacker",
                "traits": {
                    "email": VICTIM,
                    "phone": ATTACKER_PHONE,
                    "first_name": "Mallory",
                    "city": "Lille",
                },
            },
            {
                "type": "track",
                "anonymousId": "a-attacker",
                "event": "Order Completed",
                "properties": {"order_id": "forged", "revenue": 999},
            },
        ],
    )
    with UnitOfWork(db, read_only=True) as uow:
        profile = service.get_live_profile(uow=uow, profile_id=victim)
        assert profile.traits == {"first_name": "Camille", "city": "Nantes"}
        by_phone = service.find_profile(uow=uow, kind=IdentifierKind.PHONE, value=ATTACKER_PHONE)
        assert by_phone is not None
        assert by_phone.id != victim, "the phone is not hers"
        conflicts = service.conflicts_of(uow=uow, profile_ids=[victim])
        assert [c.reason for c in conflicts] == ["unverified_claim"]
    held = _kinds(db, victim)
    assert ("phone", ATTACKER_PHONE) not in held
    assert ("anonymous_id", "a-attacker") not in held
    seen = client.get(f"/v1/customers/{victim}", headers=secret_headers).json()
    assert "Order Completed" not in [e["event"] for e in seen["latest_events"]]
    export = client.get(f"/v1/customers/{victim}/export", headers=secret_headers).json()
    assert "Order Completed" not in [e["event"] for e in export["events"]]


def test_her_signed_in_session_speaks_for_her_and_a_forged_stamp_does_not(
    client: TestClient, db: Database, secret_headers: dict[str, str], post_batch: Post
) -> None:
    victim = _victim(client, db, secret_headers)
    forged = {"parcoursSignedIn": {"profile_id": victim, "anonymous_id": "a-attacker"}}
    post_batch(
        KeySource.WEB,
        [
            {
                "type": "identify",
                "anonymousId": "a-attacker",
                "traits": {"email": VICTIM, "city": "Lille"},
                "context": forged,
            }
        ],
    )
    with UnitOfWork(db, read_only=True) as uow:
        assert service.get_live_profile(uow=uow, profile_id=victim).traits["city"] == "Nantes"

    token, anonymous_id, _ = _signed_in(db, VICTIM)
    post_batch(
        KeySource.WEB,
        [
            {
                "type": "identify",
                "anonymousId": anonymous_id,
                "traits": {"email": VICTIM, "phone": "06 12 34 56 78", "city": "Rennes"},
            }
        ],
        headers={SHOPPER_HEADER: token},
    )
    with UnitOfWork(db, read_only=True) as uow:
        assert service.get_live_profile(uow=uow, profile_id=victim).traits["city"] == "Rennes"
    assert ("phone", "+33612345678") in _kinds(db, victim)


def test_a_browser_order_is_an_unverified_claim_on_her_timeline(
    client: TestClient, db: Database, secret_headers: dict[str, str], post_batch: Post
) -> None:
    victim = _victim(client, db, secret_headers)
    token, anonymous_id, _ = _signed_in(db, VICTIM)
    post_batch(
        KeySource.WEB,
        [
            {"type": "identify", "anonymousId": anonymous_id, "traits": {"email": VICTIM}},
            {"type": "track", "anonymousId": anonymous_id, "event": "Product Viewed"},
            {"type": "track", "anonymousId": anonymous_id, "event": "Completed Order"},
        ],
        headers={SHOPPER_HEADER: token},
    )
    seen = client.get(f"/v1/customers/{victim}", headers=secret_headers).json()
    names = [e["event"] for e in seen["latest_events"]]
    assert "Product Viewed" in names
    assert "Order Completed" not in names
    assert "Order Completed" not in seen["activity"]["counts"]
    assert seen["activity"]["counts"]["Order Completed (unverified claim)"] == 1
    export = client.get(f"/v1/customers/{victim}/export", headers=secret_headers).json()
    claimed = [e for e in export["events"] if e["event"] == "Order Completed"]
    assert [e["unverified_claim"] for e in claimed] == [True]
    viewed = [e for e in export["events"] if e["event"] == "Product Viewed"]
    assert [e["unverified_claim"] for e in viewed] == [False]


def test_a_server_identify_stays_trusted(
    client: TestClient, db: Database, secret_headers: dict[str, str], post_batch: Post
) -> None:
    victim = _victim(client, db, secret_headers)
    post_batch(
        KeySource.SERVER,
        [{"type": "identify", "userId": "u-7", "traits": {"email": VICTIM, "city": "Brest"}}],
    )
    with UnitOfWork(db, read_only=True) as uow:
        assert service.get_live_profile(uow=uow, profile_id=victim).traits["city"] == "Brest"
    assert ("user_id", "u-7") in _kinds(db, victim)


# --- another device's history ------------------------------------------------------------------


def test_a_signed_in_shopper_cannot_pull_another_devices_history(
    client: TestClient, db: Database, secret_headers: dict[str, str], post_batch: Post
) -> None:
    # Two devices with history: one never identified, one a guest profile that did things.
    post_batch(
        KeySource.WEB,
        [
            {"type": "page", "anonymousId": "a-other", "name": "Robe"},
            {"type": "track", "anonymousId": "a-other", "event": "Product Viewed"},
            {"type": "identify", "anonymousId": "a-guest", "traits": {"first_name": "Zoé"}},
            {"type": "track", "anonymousId": "a-guest", "event": "Product Added"},
        ],
    )
    token, own_device, mine = _signed_in(db, "lea@example.com")
    for stolen in ("a-other", "a-guest"):
        post_batch(
            KeySource.WEB,
            [
                {
                    "type": "identify",
                    "anonymousId": stolen,
                    "traits": {"email": "lea@example.com"},
                }
            ],
            headers={SHOPPER_HEADER: token},
        )
    held = {value for kind, value in _kinds(db, mine) if kind == "anonymous_id"}
    assert held == {own_device}
    export = client.get(f"/v1/customers/{mine}/export", headers=secret_headers).json()
    assert [e["anonymous_id"] for e in export["events"] if e["type"] != "identify"] == []


def test_a_device_bound_to_an_active_profile_is_not_moved_by_a_claim(
    db: Database, post_batch: Post
) -> None:
    post_batch(
        KeySource.WEB,
        [
            {"type": "identify", "anonymousId": "a-shared", "traits": {"email": "one@example.com"}},
            {"type": "track", "anonymousId": "a-shared", "event": "Product Viewed"},
        ],
    )
    post_batch(
        KeySource.APP,
        [{"type": "identify", "anonymousId": "a-shared", "traits": {"email": "two@example.com"}}],
    )
    with UnitOfWork(db, read_only=True) as uow:
        device = service.find_profile(uow=uow, kind=IdentifierKind.ANONYMOUS_ID, value="a-shared")
        first = service.find_profile(uow=uow, kind=IdentifierKind.EMAIL, value="one@example.com")
        assert device is not None
        assert first is not None
        assert device.id == first.id
