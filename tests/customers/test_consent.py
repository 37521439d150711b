"""Consent per purpose, with its full history, and ``can_contact``: the one question every
message asks before it is sent."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import service
from parcours.customers.models import ConsentPurpose
from parcours.tracking import service as tracking

from .conftest import at

P = ConsentPurpose


def test_grants_and_withdrawals_keep_their_history(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    person = client.post(
        "/v1/customers/identify",
        json={"email": "jeanne@example.com", "channel": "web"},
        headers=secret_headers,
    ).json()["id"]
    steps = [
        ("marketing_email", True, "web", "newsletter-v1", "2026-01-05T10:00:00Z"),
        ("marketing_email", False, "email", "newsletter-v1", "2026-02-01T08:30:00Z"),
        ("marketing_sms", True, "till", "sms-v2", "2026-02-03T15:00:00Z"),
        ("marketing_email", True, "till", "newsletter-v2", "2026-03-01T11:00:00Z"),
    ]
    for purpose, granted, channel, version, when in steps:
        answer = client.post(
            f"/v1/customers/{person}/consents",
            json={
                "purpose": purpose,
                "granted": granted,
                "channel": channel,
                "wording_version": version,
                "at": when,
            },
            headers=secret_headers,
        )
        assert answer.status_code == 201, answer.text

    consents = client.get(f"/v1/customers/{person}/consents", headers=secret_headers).json()
    assert {p: (c["granted"], c["wording_version"]) for p, c in consents["current"].items()} == {
        "marketing_email": (True, "newsletter-v2"),
        "marketing_sms": (True, "sms-v2"),
    }
    history = [(h["purpose"], h["granted"], h["channel"]) for h in consents["history"]]
    assert history == [(s[0], s[1], s[2]) for s in steps]

    first_page = client.get(
        f"/v1/customers/{person}/consents", params={"limit": 3}, headers=secret_headers
    ).json()
    rest = client.get(
        f"/v1/customers/{person}/consents",
        params={"limit": 3, "cursor": first_page["next_cursor"]},
        headers=secret_headers,
    ).json()
    assert len(first_page["history"]) == 3
    assert len(rest["history"]) == 1
    assert rest["next_cursor"] is None

    bad = client.post(
        f"/v1/customers/{person}/consents",
        json={"purpose": "telepathy", "granted": True, "channel": "web", "wording_version": "v1"},
        headers=secret_headers,
    )
    assert bad.status_code == 422


@pytest.fixture
def people(db: Database) -> dict[str, str]:
    """Profiles in every state ``can_contact`` must tell apart."""
    with UnitOfWork(db) as uow:

        def person(**traits: str) -> str:
            return service.identify(uow=uow, traits=traits, channel="web", at=at(0)).id

        made = {
            "opted_in": person(email="in@example.com", phone="0611111111"),
            "withdrawn": person(email="out@example.com", phone="0622222222"),
            "never_asked": person(email="silent@example.com", phone="0633333333"),
            "no_address": service.identify(uow=uow, user_id="u-only", channel="app", at=at(0)).id,
            "erased": person(email="gone@example.com", phone="0644444444"),
        }
        for key in ("opted_in", "withdrawn", "no_address", "erased"):
            for purpose in (P.MARKETING_EMAIL, P.MARKETING_SMS, P.MARKETING_PUSH):
                service.record_consent(
                    uow=uow,
                    profile_id=made[key],
                    purpose=purpose,
                    granted=True,
                    channel="web",
                    wording_version="v1",
                    at=at(1),
                )
        for purpose in (P.MARKETING_EMAIL, P.MARKETING_SMS, P.MARKETING_PUSH):
            service.record_consent(
                uow=uow,
                profile_id=made["withdrawn"],
                purpose=purpose,
                granted=False,
                channel="email",
                wording_version="v1",
                at=at(2),
            )
        service.erase_profile(uow=uow, profile_id=made["erased"], by="stf_dpo", at=at(3))
        uow.commit()
        return made


CAN_CONTACT = [
    # who, channel, purpose, expected
    ("opted_in", "email", "marketing_email", True),
    ("opted_in", "sms", "marketing_sms", True),
    ("opted_in", "push", "marketing_push", True),
    ("opted_in", "sms", "marketing_email", False),  # consent to emails is not consent to SMS
    ("opted_in", "email", "marketing_sms", False),
    ("opted_in", "email", "analytics", False),  # not a contact purpose
    ("opted_in", "email", "telepathy", False),
    ("withdrawn", "email", "marketing_email", False),
    ("withdrawn", "sms", "marketing_sms", False),
    ("never_asked", "email", "marketing_email", False),
    ("never_asked", "push", "marketing_push", False),
    ("no_address", "email", "marketing_email", False),  # consented, but no email to write to
    ("no_address", "sms", "marketing_sms", False),
    ("no_address", "push", "marketing_push", True),
    ("erased", "email", "marketing_email", False),
    ("unknown", "email", "marketing_email", False),
]


@pytest.mark.parametrize(("who", "channel", "purpose", "expected"), CAN_CONTACT)
def test_can_contact(
    db: Database, people: dict[str, str], who: str, channel: str, purpose: str, expected: bool
) -> None:
    with UnitOfWork(db, read_only=True) as uow:
        profile_id = people.get(who, "cus_unknown")
        assert (
            service.can_contact(uow=uow, profile_id=profile_id, channel=channel, purpose=purpose)
            is expected
        )


def test_withdrawing_analytics_strips_identifiers_from_the_persons_events(
    db: Database, raw: Callable[[str], list[dict[str, object]]]
) -> None:
    with UnitOfWork(db) as uow:
        profile = service.identify(
            uow=uow, anonymous_id="a-1", user_id="u-1", channel="web", at=at(0)
        )
        for minute in (1, 2):
            tracking.record_domain_event(
                uow=uow,
                name="Product Viewed",
                properties={"product_id": "prd_1"},
                channel="web",
                occurred_at=at(minute),
                anonymous_id="a-1",
                user_id="u-1",
                profile_id=profile.id,
            )
        service.record_consent(
            uow=uow,
            profile_id=profile.id,
            purpose=P.ANALYTICS,
            granted=False,
            channel="web",
            wording_version="cookies-v3",
            at=at(3),
        )
        uow.commit()
    events = raw("events")
    assert len(events) == 2  # the anonymous facts stay
    for event in events:
        assert (event["anonymous_id"], event["user_id"], event["profile_id"]) == (None, None, None)
        assert event["event"] == "Product Viewed"


def test_in_drop_mode_withdrawing_analytics_removes_the_persons_events(
    db: Database, raw: Callable[[str], list[dict[str, object]]]
) -> None:
    with UnitOfWork(db) as uow:
        profile = service.identify(uow=uow, anonymous_id="a-1", channel="web", at=at(0))
        other = service.identify(uow=uow, anonymous_id="a-2", channel="web", at=at(0))
        for who, pid in (("a-1", profile.id), ("a-2", other.id)):
            tracking.record_domain_event(
                uow=uow,
                name="Product Viewed",
                properties={},
                channel="web",
                occurred_at=at(1),
                anonymous_id=who,
                profile_id=pid,
            )
        service.record_consent(
            uow=uow,
            profile_id=profile.id,
            purpose=P.ANALYTICS,
            granted=False,
            channel="web",
            wording_version="cookies-v3",
            at=at(2),
            events_without_consent="drop",
        )
        uow.commit()
    assert [e["anonymous_id"] for e in raw("events")] == ["a-2"]  # only the other person's
