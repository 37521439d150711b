"""Identity resolution: identifiers are normalised, linked and merged by the rules, and two
people with different verified emails are never merged behind anyone's back."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, text

from parcours.core.db import Database
from parcours.core.errors import Conflict, InvalidInput
from parcours.core.uow import UnitOfWork
from parcours.customers import service
from parcours.customers.models import IdentifierKind, IdentityConflict, Profile
from parcours.tracking import service as tracking

from .conftest import at

K = IdentifierKind


def kinds(uow: UnitOfWork, profile_id: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for identifier in service.identifiers_of(uow=uow, profile_id=profile_id):
        found.setdefault(identifier.kind, set()).add(identifier.value)
    return found


def test_email_and_phone_are_normalised_and_found_however_typed(uow: UnitOfWork) -> None:
    profile = service.identify(
        uow=uow,
        traits={"email": "  Jeanne.Martin@Example.COM ", "phone": "06 12 34 56 78"},
        channel="web",
        at=at(0),
    )
    uow.commit()
    assert kinds(uow, profile.id) == {
        "email": {"jeanne.martin@example.com"},
        "phone": {"+33612345678"},
    }
    for kind, typed in ((K.EMAIL, "JEANNE.martin@example.com"), (K.PHONE, "+33 6 12 34 56 78")):
        found = service.find_profile(uow=uow, kind=kind, value=typed)
        assert found is not None
        assert found.id == profile.id
    # The traits keep what is not an identifier; the identifiers live in their own table.
    again = service.identify(
        uow=uow,
        traits={"email": "jeanne.martin@example.com", "first_name": "Jeanne"},
        channel="app",
        at=at(5),
    )
    assert again.id == profile.id
    assert again.traits == {"first_name": "Jeanne"}


def test_identify_needs_an_identifier_and_ignores_invalid_ones(uow: UnitOfWork) -> None:
    with pytest.raises(InvalidInput):
        service.identify(uow=uow, traits={"phone": "not a number"}, channel="web", at=at(0))
    profile = service.identify(
        uow=uow, user_id="u-1", traits={"phone": "123", "email": "nope"}, channel="web", at=at(0)
    )
    assert kinds(uow, profile.id) == {"user_id": {"u-1"}}


def test_the_same_identify_twice_changes_nothing(uow: UnitOfWork) -> None:
    first = service.identify(uow=uow, anonymous_id="a-1", user_id="u-1", channel="web", at=at(0))
    second = service.identify(uow=uow, anonymous_id="a-1", user_id="u-1", channel="web", at=at(9))
    assert first.id == second.id
    assert uow.session.scalar(select(Profile.id).where(Profile.id != first.id)) is None
    assert {i.last_seen for i in service.identifiers_of(uow=uow, profile_id=first.id)} == {at(9)}


def test_anonymous_browsing_joins_the_known_customer_when_they_log_in(uow: UnitOfWork) -> None:
    known = service.identify(
        uow=uow, user_id="u-1", traits={"email": "jeanne@example.com"}, channel="app", at=at(0)
    )
    browsing = service.identify(
        uow=uow, anonymous_id="a-web", traits={"favourite": "pulls"}, channel="web", at=at(1)
    )
    tracking.record_domain_event(
        uow=uow,
        name="Product Viewed",
        properties={},
        channel="web",
        occurred_at=at(2),
        anonymous_id="a-web",
    )
    assert browsing.id != known.id

    logged_in = service.identify(
        uow=uow, anonymous_id="a-web", user_id="u-1", channel="web", at=at(3)
    )
    uow.commit()

    assert logged_in.id == known.id
    assert uow.session.get(Profile, browsing.id).merged_into == known.id  # type: ignore[union-attr]
    assert kinds(uow, known.id)["anonymous_id"] == {"a-web"}
    assert known.traits["favourite"] == "pulls"
    events, _ = tracking.events_of_profile(uow=uow, profile_id=known.id)
    assert [e.event for e in events] == ["Product Viewed"]


def test_a_shared_computer_moves_its_anonymous_id_to_the_next_person(uow: UnitOfWork) -> None:
    first = service.identify(
        uow=uow, anonymous_id="a-shared", user_id="u-1", channel="web", at=at(0)
    )
    second = service.identify(
        uow=uow, anonymous_id="a-shared", user_id="u-2", channel="web", at=at(5)
    )
    uow.commit()
    assert second.id != first.id
    assert kinds(uow, first.id) == {"user_id": {"u-1"}}
    assert kinds(uow, second.id) == {"user_id": {"u-2"}, "anonymous_id": {"a-shared"}}


def test_two_different_verified_emails_are_never_merged(uow: UnitOfWork) -> None:
    for rules in (service.DEFAULT_RULES, service.IdentityRules(unique_kinds=frozenset())):
        suffix = "strict" if rules.unique_kinds else "lenient"
        jeanne = service.identify(
            uow=uow,
            traits={"email": f"jeanne-{suffix}@example.com"},
            verified=[K.EMAIL],
            channel="web",
            at=at(0),
            rules=rules,
        )
        paul = service.identify(
            uow=uow,
            traits={"email": f"paul-{suffix}@example.com", "phone": f"+3361234560{len(suffix)}"},
            verified=[K.EMAIL],
            channel="till",
            at=at(1),
            rules=rules,
        )
        # A form typed by one with the other's phone number: both profiles meet.
        met = service.identify(
            uow=uow,
            traits={"email": f"jeanne-{suffix}@example.com", "phone": f"+3361234560{len(suffix)}"},
            channel="web",
            at=at(2),
            rules=rules,
        )
        uow.commit()
        assert met.id == jeanne.id
        for profile in (jeanne, paul):
            uow.session.refresh(profile)
            assert profile.merged_into is None
        assert kinds(uow, paul.id)["phone"] == {f"+3361234560{len(suffix)}"}
        conflict = uow.session.scalars(
            select(IdentityConflict).where(IdentityConflict.profile_id == jeanne.id)
        ).one()
        assert (conflict.other_profile_id, conflict.reason) == (paul.id, "verified_emails_differ")
        with pytest.raises(Conflict) as refused:
            service.merge_profiles(
                uow=uow, survivor_id=jeanne.id, merged_id=paul.id, by="stf_test", rules=rules
            )
        assert refused.value.code == "profiles_conflict"


def test_unverified_emails_merge_when_email_is_not_unique(uow: UnitOfWork) -> None:
    lenient = service.IdentityRules(unique_kinds=frozenset({K.USER_ID}))
    one = service.identify(
        uow=uow, traits={"email": "a@example.com"}, channel="web", at=at(0), rules=lenient
    )
    two = service.identify(
        uow=uow,
        traits={"email": "b@example.com", "phone": "0612345678"},
        channel="web",
        at=at(1),
        rules=lenient,
    )
    met = service.identify(
        uow=uow,
        traits={"email": "a@example.com", "phone": "0612345678"},
        channel="web",
        at=at(2),
        rules=lenient,
    )
    assert met.id == one.id
    assert uow.session.get(Profile, two.id).merged_into == one.id  # type: ignore[union-attr]
    assert kinds(uow, one.id)["email"] == {"a@example.com", "b@example.com"}


def test_a_second_loyalty_card_is_not_linked_and_is_reported(uow: UnitOfWork) -> None:
    profile = service.identify(
        uow=uow, user_id="u-1", traits={"loyalty_card": "card-001"}, channel="till", at=at(0)
    )
    again = service.identify(
        uow=uow, user_id="u-1", traits={"loyaltyCard": "CARD-002"}, channel="till", at=at(1)
    )
    assert again.id == profile.id
    assert kinds(uow, profile.id)["loyalty_card"] == {"CARD-001"}
    conflict = uow.session.scalars(select(IdentityConflict)).one()
    assert (conflict.reason, conflict.kind) == ("unique_kind", "loyalty_card")


def test_alias_links_an_anonymous_id_and_joins_two_user_ids(uow: UnitOfWork) -> None:
    profile = service.alias(uow=uow, previous_id="a-1", user_id="u-1", at=at(0))
    assert kinds(uow, profile.id) == {"anonymous_id": {"a-1"}, "user_id": {"u-1"}}
    other = service.identify(uow=uow, user_id="u-legacy", channel="app", at=at(1))
    joined = service.alias(uow=uow, previous_id="u-1", user_id="u-legacy", at=at(2))
    assert joined.id == profile.id
    assert uow.session.get(Profile, other.id).merged_into == profile.id  # type: ignore[union-attr]
    assert kinds(uow, profile.id)["user_id"] == {"u-1", "u-legacy"}


def _wait_until_the_till_waits(db: Database, till_begun: threading.Event) -> None:
    """Until the till has started its unit of work and, on PostgreSQL, waits for a lock the
    app's open transaction holds (its identifier): the two really overlap. On SQLite, whatever
    the till does first waits for the app's write lock, so its start is enough."""
    assert till_begun.wait(10), "the till never started"
    if db.is_sqlite:
        return
    waiting = text(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE NOT l.granted AND a.datname = current_database()"
    )
    deadline = time.monotonic() + 10
    with db.engine.connect() as conn:
        while not conn.scalar(waiting):
            assert time.monotonic() < deadline, "the till never waited on the app's identifier"
            conn.rollback()
            time.sleep(0.01)


def test_two_channels_identifying_a_new_person_at_once_make_one_profile(db: Database) -> None:
    """The app and the till send the same new email at the same moment: the second waits on the
    first's identifier, then joins its profile instead of failing or splitting the person."""
    first_done = threading.Event()
    till_begun = threading.Event()
    errors: list[BaseException] = []

    def app_side() -> None:
        try:
            with UnitOfWork(db) as uow:
                service.identify(
                    uow=uow,
                    anonymous_id="a-app",
                    traits={"email": "new@example.com"},
                    channel="app",
                    at=at(0),
                )
                first_done.set()
                _wait_until_the_till_waits(db, till_begun)  # its identify runs meanwhile
                uow.commit()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
            first_done.set()

    def till_side() -> None:
        first_done.wait(5)
        try:
            till_begun.set()
            with UnitOfWork(db) as uow:
                service.identify(
                    uow=uow,
                    anonymous_id="a-till",
                    traits={"email": "new@example.com"},
                    channel="till",
                    at=at(0),
                )
                uow.commit()
        except BaseException as exc:
            errors.append(exc)
            till_begun.set()

    threads = [threading.Thread(target=app_side), threading.Thread(target=till_side)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    with UnitOfWork(db, read_only=True) as uow:
        profile = service.find_profile(uow=uow, kind=K.EMAIL, value="new@example.com")
        assert profile is not None
        assert kinds(uow, profile.id)["anonymous_id"] == {"a-app", "a-till"}
        live = uow.session.scalars(select(Profile).where(Profile.merged_into.is_(None))).all()
        assert [p.id for p in live] == [profile.id]
