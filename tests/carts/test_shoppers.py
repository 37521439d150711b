"""Shopper sessions and sign-in codes, checked on the service: what is stored, how long a code
lives, how many tries and how many codes an address gets."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.errors import InvalidInput, Unauthenticated
from parcours.core.uow import UnitOfWork
from parcours.customers import shoppers
from parcours.customers.models import ShopperSession, SignInCode

EMAIL = "jeanne.martin@example.com"


def new_session(db: Database, anonymous_id: str | None = None) -> shoppers.StartedSession:
    with UnitOfWork(db) as uow:
        started = shoppers.start_shopper_session(uow=uow, channel="app", anonymous_id=anonymous_id)
        uow.commit()
        return started


def new_code(db: Database, email: str = EMAIL, minutes_ago: int = 0) -> str:
    with UnitOfWork(db) as uow:
        code = shoppers.request_sign_in_code(
            uow=uow, email=email, at=utcnow() - timedelta(minutes=minutes_ago)
        )
        uow.commit()
        return code


def try_code(db: Database, token: str, code: str, email: str = EMAIL) -> str | None:
    """Sign in as the route does (a failed try is committed too); the profile, or None."""
    with UnitOfWork(db) as uow:
        session = shoppers.require_shopper_session(uow=uow, token=token)
        try:
            shoppers.sign_in_shopper(
                uow=uow, session=session, email=email, code=code, channel="app"
            )
        except shoppers.InvalidSignInCode:
            uow.commit()
            return None
        uow.commit()
        return session.profile_id


def test_a_session_token_is_stored_hashed_and_works_until_signed_out(db: Database) -> None:
    started = new_session(db)
    assert started.token.startswith("shp_")
    with UnitOfWork(db) as uow:
        stored = uow.session.scalars(select(ShopperSession)).one()
        assert started.token not in stored.token_hash
        assert shoppers.find_shopper_session(uow=uow, token=started.token) is not None
        assert shoppers.find_shopper_session(uow=uow, token=started.token + "x") is None
        shoppers.end_shopper_session(uow=uow, session=stored)
        uow.commit()
    with UnitOfWork(db) as uow:
        assert shoppers.find_shopper_session(uow=uow, token=started.token) is None


def test_an_expired_session_is_refused(db: Database) -> None:
    started = new_session(db)
    with UnitOfWork(db) as uow:
        stored = uow.session.scalars(select(ShopperSession)).one()
        stored.expires_at = utcnow() - timedelta(seconds=1)
        uow.commit()
    with UnitOfWork(db) as uow, pytest.raises(Unauthenticated) as refused:
        shoppers.require_shopper_session(uow=uow, token=started.token)
    assert refused.value.code == "shopper_session_required"


def test_a_device_keeps_its_anonymous_id(db: Database) -> None:
    assert new_session(db, " device-1 ").session.anonymous_id == "device-1"
    assert len(new_session(db).session.anonymous_id) == 36  # a fresh UUID
    with UnitOfWork(db) as uow, pytest.raises(InvalidInput) as refused:
        shoppers.start_shopper_session(uow=uow, channel="web", anonymous_id="   ")
    assert refused.value.code == "invalid_anonymous_id"


def test_a_code_is_six_digits_stored_hashed(db: Database) -> None:
    code = new_code(db, "  Jeanne.Martin@Example.com ")
    assert re.fullmatch(r"\d{6}", code)
    with UnitOfWork(db, read_only=True) as uow:
        stored = uow.session.scalars(select(SignInCode)).one()
    assert stored.email == EMAIL
    assert code not in stored.code_hash
    assert stored.expires_at - stored.created_at == shoppers.CODE_LIFETIME


def test_the_right_code_signs_in_and_links_the_device_to_her(db: Database) -> None:
    started = new_session(db, "device-1")
    profile_id = try_code(db, started.token, new_code(db), "Jeanne.Martin@example.com")
    assert profile_id is not None
    with UnitOfWork(db) as uow:
        session = shoppers.require_shopper_session(uow=uow, token=started.token)
        assert (session.profile_id, session.signed_in_at is not None) == (profile_id, True)
    # Another device, later: the same person.
    assert try_code(db, new_session(db).token, new_code(db)) == profile_id


def test_an_expired_code_is_refused(db: Database) -> None:
    started = new_session(db)
    stale = new_code(db, minutes_ago=11)
    assert try_code(db, started.token, stale) is None


def test_an_older_live_code_still_works(db: Database) -> None:
    started = new_session(db)
    first = new_code(db, minutes_ago=2)
    new_code(db)
    assert try_code(db, started.token, first) is not None


def test_five_wrong_tries_burn_every_live_code(db: Database) -> None:
    started = new_session(db)
    first, second = new_code(db, minutes_ago=1), new_code(db)
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in (first, second))
    for _ in range(shoppers.CODE_ATTEMPTS):
        assert try_code(db, started.token, wrong) is None
    assert try_code(db, started.token, first) is None
    assert try_code(db, started.token, second) is None


def test_ten_codes_a_quarter_hour_for_one_address(db: Database) -> None:
    # From every client together (each client has its own, stricter count: test_sign_in.py).
    for minutes_ago in (14, 13, 12, 11, 10, 9, 8, 7, 6, 5):
        new_code(db, minutes_ago=minutes_ago)
    with UnitOfWork(db) as uow, pytest.raises(shoppers.TooManyRequests):
        shoppers.request_sign_in_code(uow=uow, email=EMAIL)
    with UnitOfWork(db) as uow:
        # Two minutes later the oldest is more than a quarter of an hour old.
        later = shoppers.request_sign_in_code(
            uow=uow, email=EMAIL, at=utcnow() + timedelta(minutes=2)
        )
        assert len(later) == 6


def test_only_an_address_gets_a_code(db: Database) -> None:
    with UnitOfWork(db) as uow, pytest.raises(InvalidInput) as refused:
        shoppers.request_sign_in_code(uow=uow, email="jeanne")
    assert refused.value.code == "invalid_email"
