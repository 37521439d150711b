"""The identity projector: identify and alias events sent by browsers, apps and tills become
profiles, and every event of a known person is attached to them — resumably, idempotently."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from parcours.core.auth.models import KeySource
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import service, tasks
from parcours.customers.models import ConsentPurpose, IdentifierKind, Profile

Send = Callable[[KeySource, list[dict[str, Any]]], None]


def _journey() -> list[dict[str, Any]]:
    return [
        {"type": "page", "anonymousId": "a-1", "name": "Accueil"},
        {
            "type": "track",
            "anonymousId": "a-1",
            "event": "Product Viewed",
            "properties": {"product_id": "p1"},
        },
        {
            "type": "identify",
            "anonymousId": "a-1",
            "userId": "u-1",
            "traits": {"email": "Jeanne@Example.com", "email_verified": True},
        },
        {
            "type": "track",
            "userId": "u-1",
            "event": "Product Added",
            "properties": {"product_id": "p1"},
        },
        {"type": "page", "anonymousId": "a-2", "name": "Panier"},
        {"type": "alias", "previousId": "a-2", "userId": "u-1"},
        {"type": "track", "anonymousId": "a-stranger", "event": "Product Viewed"},
    ]


def _snapshot(db: Database) -> dict[str, Any]:
    from parcours.tracking import service as tracking

    with UnitOfWork(db, read_only=True) as uow:
        profiles = list(uow.session.scalars(select(Profile).order_by(Profile.id)))
        events = tracking.read_events(uow=uow, after_id=None, limit=100)
        return {
            "profiles": [(p.id, p.merged_into) for p in profiles],
            "identifiers": sorted(
                (i.kind, i.value, i.verified)
                for p in profiles
                for i in service.identifiers_of(uow=uow, profile_id=p.id)
            ),
            "assigned": sorted(
                (e.anonymous_id or e.user_id or "", e.profile_id or "") for e in events
            ),
        }


def test_identify_events_become_one_profile_holding_all_the_persons_events(
    db: Database, send: Send
) -> None:
    send(KeySource.WEB, _journey())
    tasks.run_identity_projection(db, settle_seconds=0)
    state = _snapshot(db)
    assert len(state["profiles"]) == 1
    ((profile_id, _),) = state["profiles"]
    assert state["identifiers"] == [
        ("anonymous_id", "a-1", False),
        ("anonymous_id", "a-2", False),
        ("email", "jeanne@example.com", False),  # a browser cannot vouch for an address
        ("user_id", "u-1", False),
    ]
    assigned = dict.fromkeys(("a-1", "a-2", "u-1"), profile_id)
    assert all(pid == assigned.get(who, "") for who, pid in state["assigned"])
    assert ("a-stranger", "") in state["assigned"]

    tasks.run_identity_projection(db, settle_seconds=0)  # nothing new: nothing changes
    assert _snapshot(db) == state


def test_a_projection_stopped_between_batches_resumes_to_the_same_result(
    db: Database, send: Send
) -> None:
    send(KeySource.WEB, _journey())
    assert tasks.run_identity_projection(db, settle_seconds=0, batch=2, max_batches=1) == 1
    with UnitOfWork(db, read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Profile)) == 0
    assert tasks.run_identity_projection(db, settle_seconds=0, batch=2) == 3
    resumed = _snapshot(db)

    # Replaying the whole stream from the start (a lost position) changes nothing either.
    with UnitOfWork(db) as uow:
        service.save_projection_position(uow=uow, last_event_id=None)
        uow.commit()
    tasks.run_identity_projection(db, settle_seconds=0)
    assert _snapshot(db) == resumed
    assert len(resumed["profiles"]) == 1


def test_only_a_server_may_say_an_email_was_verified(db: Database, send: Send) -> None:
    send(
        KeySource.SERVER,
        [
            {
                "type": "identify",
                "userId": "u-9",
                "traits": {"email": "paul@example.com", "email_verified": True},
            }
        ],
    )
    tasks.run_identity_projection(db, settle_seconds=0)
    with UnitOfWork(db, read_only=True) as uow:
        profile = service.find_profile(uow=uow, kind=IdentifierKind.EMAIL, value="paul@example.com")
        assert profile is not None
        email = next(
            i for i in service.identifiers_of(uow=uow, profile_id=profile.id) if i.kind == "email"
        )
        assert email.verified is True


def test_events_after_an_analytics_withdrawal_stay_anonymous(db: Database, send: Send) -> None:
    send(KeySource.WEB, [{"type": "identify", "anonymousId": "a-1", "userId": "u-1"}])
    tasks.run_identity_projection(db, settle_seconds=0)
    with UnitOfWork(db) as uow:
        profile = service.find_profile(uow=uow, kind=IdentifierKind.USER_ID, value="u-1")
        assert profile is not None
        service.record_consent(
            uow=uow,
            profile_id=profile.id,
            purpose=ConsentPurpose.ANALYTICS,
            granted=False,
            channel="web",
            wording_version="cookies-v1",
        )
        uow.commit()
    send(KeySource.WEB, [{"type": "track", "anonymousId": "a-1", "event": "Product Viewed"}])
    tasks.run_identity_projection(db, settle_seconds=0)
    state = _snapshot(db)
    assert state["assigned"] == [("", ""), ("", "")]  # both events kept, neither identifies


def test_the_worker_loop_runs_the_projection(
    db: Database, send: Send, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks, "SETTLE_SECONDS", 0.0)  # no settling delay for this test
    send(
        KeySource.APP,
        [
            {"type": "identify", "anonymousId": "a-ok", "traits": {"phone": "not a phone"}},
            {"type": "identify", "anonymousId": "a-ok", "traits": {"first_name": "Paul"}},
        ],
    )
    tasks.run_periodic_tasks(db, force=True)
    with UnitOfWork(db, read_only=True) as uow:
        profile = service.find_profile(uow=uow, kind=IdentifierKind.ANONYMOUS_ID, value="a-ok")
        assert profile is not None
        assert profile.traits == {"first_name": "Paul"}
    assert tasks.run_identity_projection(db, settle_seconds=0) == 0


def test_events_younger_than_the_settling_delay_wait_for_the_next_run(
    db: Database, send: Send
) -> None:
    """Several committers may land ids out of order: the background run leaves fresh events
    for later rather than moving its position past one that has not committed yet."""
    send(KeySource.WEB, _journey())
    assert tasks.run_identity_projection(db) == 0  # everything was received just now
    with UnitOfWork(db, read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Profile)) == 0
    assert tasks.run_identity_projection(db, settle_seconds=0) > 0
