"""Merging two profiles is recorded, and undoing it gives both people back everything: their
identifiers, traits, consents and events."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from parcours.core.auth.models import Role
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import service
from parcours.customers.models import ConsentPurpose, Profile
from parcours.tracking import service as tracking

from .conftest import at


def _people(db: Database) -> tuple[str, str]:
    """Jeanne on the web and a till profile of the same person, each with history."""
    with UnitOfWork(db) as uow:
        for minute, anonymous_id, channel in ((1, "a-web", "web"), (2, "a-till", "till")):
            tracking.record_domain_event(
                uow=uow,
                name="Product Viewed",
                properties={},
                channel=channel,
                occurred_at=at(minute),
                anonymous_id=anonymous_id,
            )
        web = service.identify(
            uow=uow,
            anonymous_id="a-web",
            traits={"email": "jeanne@example.com", "first_name": "Jeanne"},
            channel="web",
            at=at(3),
        )
        till = service.identify(
            uow=uow,
            anonymous_id="a-till",
            traits={"phone": "0612345678", "city": "Lyon"},
            channel="till",
            at=at(4),
        )
        service.record_consent(
            uow=uow,
            profile_id=till.id,
            purpose=ConsentPurpose.MARKETING_SMS,
            granted=True,
            channel="till",
            wording_version="sms-v1",
            at=at(5),
        )
        uow.commit()
        return web.id, till.id


def _state(db: Database, profile_id: str) -> dict[str, object]:
    with UnitOfWork(db, read_only=True) as uow:
        profile = service.resolve_profile(uow=uow, profile_id=profile_id)
        events, _ = tracking.events_of_profile(uow=uow, profile_id=profile_id)
        return {
            "merged_into": profile.merged_into if profile.id == profile_id else profile.id,
            "traits": dict(uow.session.get(Profile, profile_id).traits),  # type: ignore[union-attr]
            "identifiers": sorted(
                (i.kind, i.value) for i in service.identifiers_of(uow=uow, profile_id=profile_id)
            ),
            "consents": sorted(
                p.value for p in service.current_consents(uow=uow, profile_id=profile_id)
            ),
            "events": sorted(e.anonymous_id or "" for e in events),
        }


def test_merge_then_undo_restores_both_profiles_and_their_events(
    client: TestClient, db: Database, staff_client: Callable[..., TestClient]
) -> None:
    web_id, till_id = _people(db)
    before = {pid: _state(db, pid) for pid in (web_id, till_id)}
    manager = staff_client(Role.MANAGER)

    merged = manager.post(f"/v1/customers/{web_id}/merge", json={"other_id": till_id})
    assert merged.status_code == 201, merged.text
    merge = merged.json()
    assert (merge["survivor_id"], merge["merged_id"], merge["reason"]) == (
        web_id,
        till_id,
        "manual",
    )

    joined = _state(db, web_id)
    assert joined["identifiers"] == sorted(
        [*before[web_id]["identifiers"], *before[till_id]["identifiers"]]  # type: ignore[misc]
    )
    assert joined["traits"] == {"first_name": "Jeanne", "city": "Lyon"}
    assert joined["consents"] == ["marketing_sms"]
    assert joined["events"] == ["a-till", "a-web"]
    # The merged id still leads to the person.
    view = manager.get(f"/v1/customers/{till_id}").json()
    assert view["id"] == web_id
    assert view["merged_profile_ids"] == [till_id]
    assert set(view["activity"]["channels"]) == {"web", "till"}

    undone = manager.post(f"/v1/merges/{merge['id']}/undo")
    assert undone.status_code == 200, undone.text
    assert undone.json()["undone_at"] is not None
    assert {pid: _state(db, pid) for pid in (web_id, till_id)} == before

    again = manager.post(f"/v1/merges/{merge['id']}/undo")
    assert again.status_code == 409
    assert again.json()["code"] == "merge_already_undone"


def test_identifiers_linked_after_the_merge_stay_with_the_survivor(db: Database) -> None:
    web_id, till_id = _people(db)
    with UnitOfWork(db) as uow:
        merge = service.merge_profiles(uow=uow, survivor_id=web_id, merged_id=till_id, by="stf_1")
        service.identify(
            uow=uow, user_id="u-9", traits={"email": "jeanne@example.com"}, channel="app"
        )
        service.unmerge(uow=uow, merge_id=merge.id, by="stf_1")
        uow.commit()
    assert ("user_id", "u-9") in _state(db, web_id)["identifiers"]  # type: ignore[operator]


def test_merging_two_verified_people_needs_force(
    client: TestClient, secret_headers: dict[str, str], db: Database
) -> None:
    ids = []
    for email in ("jeanne@example.com", "paul@example.com"):
        made = client.post(
            "/v1/customers/identify",
            json={"email": email, "email_verified": True, "channel": "web"},
            headers=secret_headers,
        )
        ids.append(made.json()["id"])
    refused = client.post(
        f"/v1/customers/{ids[0]}/merge", json={"other_id": ids[1]}, headers=secret_headers
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "profiles_conflict"
    forced = client.post(
        f"/v1/customers/{ids[0]}/merge",
        json={"other_id": ids[1], "force": True},
        headers=secret_headers,
    )
    assert forced.status_code == 201
    same = client.post(
        f"/v1/customers/{ids[0]}/merge", json={"other_id": ids[1]}, headers=secret_headers
    )
    assert same.status_code == 409
    assert same.json()["code"] == "same_profile"
