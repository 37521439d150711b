"""The person's rights: one export of everything held, and an erasure that leaves no personal
data anywhere (profile, identifiers, events, logs) and cannot be undone by a later visit."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from parcours.core.auth.models import KeySource
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import service, tasks
from parcours.customers.models import ConsentPurpose
from parcours.tracking import service as tracking

from .conftest import at

EMAIL = "jeanne.martin@example.com"
PHONE_E164 = "+33612345678"
PERSONAL = (EMAIL, PHONE_E164, "0612345678", "Jeanne", "Martin", "FID-0042", "u-42", "a-web")

Send = Callable[[KeySource, list[dict[str, Any]]], None]


@pytest.fixture
def jeanne(client: TestClient, db: Database, secret_headers: dict[str, str], send: Send) -> str:
    """Jeanne: web browsing, an identify with her details, consents, a till visit, a merge."""
    send(
        KeySource.WEB,
        [
            {
                "type": "page",
                "anonymousId": "a-web",
                "name": "Accueil",
                "context": {
                    "page": {"url": f"https://shop.example/?email={EMAIL}"},
                    "ip": "203.0.113.9",
                },
            },
            {
                "type": "track",
                "anonymousId": "a-web",
                "event": "Product Viewed",
                "properties": {"product_id": "prd_1"},
            },
            {
                "type": "identify",
                "anonymousId": "a-web",
                "userId": "u-42",
                "traits": {
                    "email": EMAIL,
                    "phone": "06 12 34 56 78",
                    "first_name": "Jeanne",
                    "last_name": "Martin",
                    "loyalty_card": "fid-0042",
                },
            },
        ],
    )
    tasks.run_identity_projection(db, settle_seconds=0)
    person = client.get("/v1/customers", params={"email": EMAIL}, headers=secret_headers).json()
    profile_id: str = person["items"][0]["id"]
    other = client.post(
        "/v1/customers/identify",
        json={"device_id": "dev-tablet", "channel": "kiosk"},
        headers=secret_headers,
    ).json()["id"]
    merged = client.post(
        f"/v1/customers/{profile_id}/merge", json={"other_id": other}, headers=secret_headers
    )
    assert merged.status_code == 201
    for purpose, granted in (
        ("marketing_email", True),
        ("marketing_sms", True),
        ("marketing_sms", False),
    ):
        client.post(
            f"/v1/customers/{profile_id}/consents",
            json={
                "purpose": purpose,
                "granted": granted,
                "channel": "web",
                "wording_version": "v1",
            },
            headers=secret_headers,
        )
    client.post(
        "/v1/customers/identify",
        json={"loyalty_card": "FID-0042", "channel": "till"},
        headers=secret_headers,
    )
    return profile_id


def test_export_holds_everything_as_one_json_document(
    client: TestClient, secret_headers: dict[str, str], jeanne: str
) -> None:
    answer = client.get(f"/v1/customers/{jeanne}/export", headers=secret_headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert "attachment" in answer.headers["content-disposition"]
    document = json.loads(answer.content)
    assert document["format"] == "parcours.customer-export/1"
    assert document["profile"]["id"] == jeanne
    assert document["profile"]["traits"] == {"first_name": "Jeanne", "last_name": "Martin"}
    assert {(i["kind"], i["value"]) for i in document["identifiers"]} == {
        ("anonymous_id", "a-web"),
        ("user_id", "u-42"),
        ("email", EMAIL),
        ("phone", PHONE_E164),
        ("loyalty_card", "FID-0042"),
        ("device_id", "dev-tablet"),
    }
    assert [m["id"] for m in document["merged_profiles"]] == [document["merges"][0]["merged_id"]]
    assert [(h["purpose"], h["granted"]) for h in document["consents"]["history"]] == [
        ("marketing_email", True),
        ("marketing_sms", True),
        ("marketing_sms", False),
    ]
    assert document["consents"]["current"]["marketing_sms"]["granted"] is False
    names = sorted(e["event"] or e["type"] for e in document["events"])
    assert names == [
        "Accueil",
        "Customer Identified",
        "Customer Identified",
        "Product Viewed",
        "identify",
    ]
    assert document["activity"]["total"] == 5


def test_erasure_removes_personal_data_everywhere_and_logs_none(
    client: TestClient,
    secret_headers: dict[str, str],
    jeanne: str,
    raw: Callable[[str], list[dict[str, Any]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    erased = client.post(f"/v1/customers/{jeanne}/erase", headers=secret_headers)
    assert erased.status_code == 200, erased.text
    log_entry = erased.json()
    assert log_entry["profile_id"] == jeanne
    assert log_entry["counts"]["identifiers_email"] == 1
    assert log_entry["counts"]["profiles"] == 2
    assert log_entry["counts"]["events_anonymised"] == 5

    profiles = raw("customer_profiles")
    assert {p["id"] for p in profiles if p["erased_at"] is not None} >= {jeanne}
    stored = json.dumps(
        {
            table: raw(table)
            for table in (
                "customer_profiles",
                "customer_identifiers",
                "customer_consents",
                "customer_merges",
                "customer_identity_conflicts",
                "customer_erasures",
                "events",
                "outbox_messages",
            )
        },
        default=str,
    )
    for value in PERSONAL:
        assert value not in stored
    assert "203.0.113.9" not in stored
    assert raw("customer_identifiers") == []
    assert len(raw("events")) == 5  # the anonymous facts stay, for aggregate counts
    erasures = raw("customer_erasures")
    assert len(erasures) == 1

    assert client.get(f"/v1/customers/{jeanne}", headers=secret_headers).status_code == 410
    again = client.post(f"/v1/customers/{jeanne}/erase", headers=secret_headers)
    assert again.status_code == 410

    # She comes back: a new, empty profile, nothing of the old one.
    back = client.post(
        "/v1/customers/identify", json={"email": EMAIL, "channel": "web"}, headers=secret_headers
    ).json()
    assert back["id"] != jeanne
    assert back["traits"] == {}
    assert [i["kind"] for i in back["identifiers"]] == ["email"]
    view = client.get(f"/v1/customers/{back['id']}", headers=secret_headers).json()
    assert view["activity"]["total"] == 1  # only today's visit
    assert view["consents"] == {}


def test_logs_never_show_an_email_or_phone_in_clear(
    client: TestClient,
    secret_headers: dict[str, str],
    db: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    made = client.post(
        "/v1/customers/identify",
        json={
            "email": EMAIL,
            "phone": "0612345678",
            "traits": {"phone": "bad"},
            "channel": "web",
            "user_id": "u-1",
        },
        headers=secret_headers,
    ).json()
    client.post(
        "/v1/customers/identify",
        json={"email": "not-an-email", "user_id": "u-1", "channel": "web"},
        headers=secret_headers,
    )
    client.get("/v1/customers", params={"email": EMAIL}, headers=secret_headers)
    client.get("/v1/customers", params={"phone": "0612345678"}, headers=secret_headers)
    client.get(f"/v1/customers/{made['id']}/export", headers=secret_headers)
    with UnitOfWork(db) as uow:  # a conflict is logged too
        service.identify(uow=uow, user_id="u-1", traits={"loyalty_card": "A"}, channel="till")
        service.identify(uow=uow, user_id="u-1", traits={"loyalty_card": "B"}, channel="till")
        uow.commit()
    client.post(f"/v1/customers/{made['id']}/erase", headers=secret_headers)
    # The server's own records (the test's HTTP client logs the URLs it requests: not ours).
    ours = [r for r in caplog.records if r.name.startswith("parcours")]
    assert {r.name for r in ours} >= {"parcours.customers", "parcours.access"}
    logged = json.dumps([{**r.__dict__, "message": r.getMessage()} for r in ours], default=str)
    for value in (EMAIL, "0612345678", PHONE_E164, "jeanne.martin%40example.com"):
        assert value not in logged


def test_events_recorded_by_customers_carry_ids_only(
    db: Database, raw: Callable[[str], list[dict[str, Any]]]
) -> None:
    with UnitOfWork(db) as uow:
        profile = service.identify(
            uow=uow, traits={"email": EMAIL, "first_name": "Jeanne"}, channel="web", at=at(0)
        )
        service.record_consent(
            uow=uow,
            profile_id=profile.id,
            purpose=ConsentPurpose.MARKETING_EMAIL,
            granted=True,
            channel="web",
            wording_version="v1",
        )
        tracking.record_domain_event(
            uow=uow,
            name="Order Completed",
            properties={},
            channel="till",
            occurred_at=at(1),
            profile_id=profile.id,
        )
        service.erase_profile(uow=uow, profile_id=profile.id, by="key_1")
        uow.commit()
    outbox = raw("outbox_messages")
    assert {m["name"] for m in outbox} == {
        "customers.customer_identified",
        "customers.consent_changed",
        "customers.customer_erased",
    }
    assert not any(v in json.dumps(outbox, default=str) for v in (EMAIL, "Jeanne"))
