"""The profile 360 over HTTP: one person's web and till activity in one place, lookups,
server-side identify, and who may see what."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from parcours.core.auth.models import KeySource, Role
from parcours.core.db import Database
from parcours.customers import tasks


def test_web_then_till_by_loyalty_card_is_one_profile_with_both_activities(
    client: TestClient,
    db: Database,
    secret_headers: dict[str, str],
    send: Callable[[KeySource, list[dict[str, Any]]], None],
) -> None:
    # On the website: browsing anonymously, then signing in with the loyalty card on file.
    send(
        KeySource.WEB,
        [
            {"type": "page", "anonymousId": "a-web", "name": "Accueil"},
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
                    "email": "Jeanne@Example.com",
                    "loyaltyCard": "fid-0042",
                    "first_name": "Jeanne",
                },
            },
        ],
    )
    tasks.run_identity_projection(db, settle_seconds=0)

    # At the till, days later, the card is scanned.
    till = client.post(
        "/v1/customers/identify",
        json={"loyalty_card": "FID-0042", "channel": "till", "store_id": "loc_lyon"},
        headers=secret_headers,
    )
    assert till.status_code == 200, till.text
    profile_id = till.json()["id"]

    found = client.get(
        "/v1/customers", params={"email": "jeanne@example.com"}, headers=secret_headers
    )
    assert [c["id"] for c in found.json()["items"]] == [profile_id]

    view = client.get(f"/v1/customers/{profile_id}", headers=secret_headers)
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["traits"]["first_name"] == "Jeanne"
    assert {(i["kind"], i["value"]) for i in body["identifiers"]} == {
        ("anonymous_id", "a-web"),
        ("user_id", "u-42"),
        ("email", "jeanne@example.com"),
        ("loyalty_card", "FID-0042"),
    }
    assert set(body["activity"]["channels"]) == {"web", "till"}
    assert body["activity"]["channels"]["web"]["events"] == 3
    assert body["activity"]["counts"]["Product Viewed"] == 1
    assert {e["channel"] for e in body["latest_events"]} == {"web", "till"}
    till_event = next(e for e in body["latest_events"] if e["channel"] == "till")
    assert till_event["store_id"] == "loc_lyon"


def test_lookup_takes_exactly_one_key_and_answers_an_empty_page(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    nobody = client.get("/v1/customers", params={"phone": "0612345678"}, headers=secret_headers)
    assert nobody.status_code == 200
    assert nobody.json() == {"items": [], "next_cursor": None}
    both = client.get(
        "/v1/customers", params={"phone": "0612345678", "email": "a@b.fr"}, headers=secret_headers
    )
    assert both.status_code == 422
    assert both.json()["code"] == "one_lookup_key"
    missing = client.get("/v1/customers/cus_unknown", headers=secret_headers)
    assert missing.status_code == 404


def test_associates_see_emails_and_phones_masked(
    client: TestClient, secret_headers: dict[str, str], staff_client: Callable[..., TestClient]
) -> None:
    made = client.post(
        "/v1/customers/identify",
        json={"email": "jeanne@example.com", "phone": "06 12 34 56 78", "channel": "till"},
        headers=secret_headers,
    ).json()
    associate = staff_client(Role.ASSOCIATE, stores={"loc_lyon"})
    body = associate.get(f"/v1/customers/{made['id']}").json()
    values = {i["kind"]: i["value"] for i in body["identifiers"]}
    assert values == {"email": "j***@example.com", "phone": "+33*******78"}
    manager = staff_client(Role.MANAGER)
    values = {
        i["kind"]: i["value"]
        for i in manager.get(f"/v1/customers/{made['id']}").json()["identifiers"]
    }
    assert values == {"email": "jeanne@example.com", "phone": "+33612345678"}


def test_marketers_see_emails_and_phones_masked_in_every_answer(
    client: TestClient,
    db: Database,
    secret_headers: dict[str, str],
    staff_client: Callable[..., TestClient],
    send: Callable[[KeySource, list[dict[str, Any]]], None],
) -> None:
    send(
        KeySource.WEB,
        [
            {
                "type": "identify",
                "anonymousId": "a-mkt",
                "userId": "u-mkt",
                "traits": {"email": "jeanne@example.com", "first_name": "Jeanne"},
            },
            {
                "type": "track",
                "anonymousId": "a-mkt",
                "event": "Newsletter Subscribed",
                "properties": {"email": "jeanne@example.com", "form": {"phone": "0612345678"}},
            },
        ],
    )
    tasks.run_identity_projection(db, settle_seconds=0)
    made = client.post(
        "/v1/customers/identify",
        json={"user_id": "u-mkt", "phone": "06 12 34 56 78", "channel": "till"},
        headers=secret_headers,
    ).json()
    marketer = staff_client(Role.MARKETER)
    answers = [
        marketer.get(f"/v1/customers/{made['id']}"),
        marketer.get("/v1/customers", params={"email": "jeanne@example.com"}),
        marketer.get("/v1/customers", params={"phone": "0612345678"}),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert "jeanne@example.com" not in answer.text
        assert "612345678" not in answer.text
    body = answers[0].json()
    values = {i["kind"]: i["value"] for i in body["identifiers"]}
    assert values["email"] == "j***@example.com"
    assert values["phone"] == "+33*******78"
    assert body["traits"]["first_name"] == "Jeanne"
    assert answers[1].json()["items"][0]["id"] == made["id"]
    # The same masking as the associate's screens and the back office's lists.
    manager = staff_client(Role.MANAGER).get(f"/v1/customers/{made['id']}")
    assert "jeanne@example.com" in manager.text


def test_who_may_do_what(
    client: TestClient,
    secret_headers: dict[str, str],
    publishable_headers: dict[str, str],
    staff_client: Callable[..., TestClient],
) -> None:
    made = client.post(
        "/v1/customers/identify", json={"user_id": "u-1", "channel": "web"}, headers=secret_headers
    ).json()
    marketer = staff_client(Role.MARKETER)
    associate = staff_client(Role.ASSOCIATE, stores={"loc_lyon"})
    manager = staff_client(Role.MANAGER)
    assert client.get(f"/v1/customers/{made['id']}").status_code == 401
    assert client.get(f"/v1/customers/{made['id']}", headers=publishable_headers).status_code == 403
    assert marketer.get(f"/v1/customers/{made['id']}").status_code == 200
    assert (
        marketer.post(
            "/v1/customers/identify", json={"user_id": "u-2", "channel": "web"}
        ).status_code
        == 403
    )
    assert (
        associate.post(
            "/v1/customers/identify", json={"user_id": "u-2", "channel": "till"}
        ).status_code
        == 200
    )
    other = client.post(
        "/v1/customers/identify", json={"user_id": "u-3", "channel": "web"}, headers=secret_headers
    ).json()
    merge = associate.post(f"/v1/customers/{made['id']}/merge", json={"other_id": other["id"]})
    assert merge.status_code == 403
    for staff in (associate, manager, marketer):
        assert staff.get(f"/v1/customers/{made['id']}/export").status_code == 403
        assert staff.post(f"/v1/customers/{made['id']}/erase").status_code == 403
