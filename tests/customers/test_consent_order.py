"""What is current is the last word written, not the latest date a caller claims; a consent's
date stays within sane bounds; and a guest's cookie-banner answer follows her when she signs in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from tests.carts.conftest import mailed_code

from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import service
from parcours.customers.models import ConsentPurpose, IdentifierKind

EMAIL = "nora.petit@example.com"


def _person(client: TestClient, headers: dict[str, str]) -> str:
    answer = client.post(
        "/v1/customers/identify", json={"email": EMAIL, "channel": "web"}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    person: str = answer.json()["id"]
    return person


def _consent(
    client: TestClient, headers: dict[str, str], person: str, granted: bool, at: str | None
) -> tuple[int, dict[str, object]]:
    body: dict[str, object] = {
        "purpose": "marketing_email",
        "granted": granted,
        "channel": "web",
        "wording_version": "newsletter-v1",
    }
    if at is not None:
        body["at"] = at
    answer = client.post(f"/v1/customers/{person}/consents", json=body, headers=headers)
    return answer.status_code, answer.json()


@pytest.mark.parametrize(
    "when", ["2099-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z"]
)
def test_a_consent_dated_out_of_bounds_is_refused(
    client: TestClient, secret_headers: dict[str, str], when: str
) -> None:
    person = _person(client, secret_headers)
    status, problem = _consent(client, secret_headers, person, True, when)
    assert status == 422
    assert problem["code"] == "consent_time_out_of_range"
    consents = client.get(f"/v1/customers/{person}/consents", headers=secret_headers).json()
    assert consents["history"] == []


def test_the_last_word_written_is_current_whatever_its_date(
    client: TestClient, db: Database, secret_headers: dict[str, str]
) -> None:
    person = _person(client, secret_headers)
    now = utcnow()
    soon = (now + timedelta(minutes=4)).isoformat()  # a till's clock a little ahead: accepted
    earlier = (now - timedelta(hours=1)).isoformat()
    assert _consent(client, secret_headers, person, True, soon)[0] == 201
    assert _consent(client, secret_headers, person, False, earlier)[0] == 201
    consents = client.get(f"/v1/customers/{person}/consents", headers=secret_headers).json()
    assert consents["current"]["marketing_email"]["granted"] is False
    with UnitOfWork(db, read_only=True) as uow:
        assert not service.can_contact(
            uow=uow, profile_id=person, channel="email", purpose="marketing_email"
        )


def test_a_guests_banner_answer_follows_her_when_she_signs_in(
    client: TestClient, db: Database
) -> None:
    # She answered the banner on an earlier visit and already has an account.
    with UnitOfWork(db) as uow:
        known = service.identify(
            uow=uow, traits={"email": EMAIL}, channel="web", verified=[IdentifierKind.EMAIL]
        )
        uow.commit()
    before = utcnow()
    answered = client.post("/consentement", json={"analytics": True, "personalisation": True})
    assert answered.status_code == 204
    assert client.post("/compte/code", data={"email": EMAIL}).status_code == 200
    signed_in = client.post(
        "/compte/connexion",
        data={"email": EMAIL, "code": mailed_code(db, EMAIL)},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text
    with UnitOfWork(db, read_only=True) as uow:
        profile = service.find_profile(uow=uow, kind=IdentifierKind.EMAIL, value=EMAIL)
        assert profile is not None
        assert profile.id == known.id
        current = service.current_consents(uow=uow, profile_id=profile.id)
    assert {p: r.granted for p, r in current.items()} == {
        ConsentPurpose.ANALYTICS: True,
        ConsentPurpose.PERSONALISATION: True,
    }
    for record in current.values():
        assert record.wording_version == "banner-2026-11"
        assert record.recorded_at >= before - timedelta(seconds=1)
    page = client.get("/compte").text
    for purpose in ("analytics", "personalisation"):
        assert f'name="{purpose}" checked' in page, "her account page shows what she chose"
