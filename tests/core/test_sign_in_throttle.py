"""Sign-in throttling: wrong passwords slow down the client that sends them, never the real
person signing in from elsewhere; the page says so in words, the API in a 429 problem."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from parcours.core.auth import service as auth_service
from parcours.core.auth import throttle
from parcours.core.auth.models import Role
from parcours.core.clock import set_now, utcnow
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork

EMAIL = "caissiere@staff.example"
PASSWORD = "correct horse battery"
ATTACKER = ("203.0.113.66", 50000)
HER_PHONE = ("198.51.100.7", 50000)


@pytest.fixture
def account(db: Database) -> str:
    with UnitOfWork(db) as uow:
        auth_service.create_staff_user(
            uow=uow,
            email=EMAIL,
            name="Camille",
            role=Role.ASSOCIATE,
            password=PASSWORD,
            store_ids=frozenset({"loc_1"}),
        )
        uow.commit()
    return EMAIL


@pytest.fixture
def from_address(app: FastAPI) -> Iterator[Callable[[tuple[str, int]], TestClient]]:
    opened: list[TestClient] = []

    def open_client(address: tuple[str, int]) -> TestClient:
        test_client = TestClient(app, base_url="https://testserver", client=address)
        opened.append(test_client.__enter__())
        return test_client

    yield open_client
    for test_client in opened:
        test_client.__exit__(None, None, None)


@pytest.fixture
def advance() -> Iterator[Callable[[float], None]]:
    """Move the clock on by some seconds (given back after the test)."""
    moved = 0.0

    def move(seconds: float) -> None:
        nonlocal moved
        moved += seconds
        set_now(utcnow() + timedelta(seconds=seconds))

    yield move
    set_now(utcnow() - timedelta(seconds=moved))


def _sign_in(client: TestClient, password: str) -> tuple[int, dict[str, str], dict[str, object]]:
    answer = client.post("/v1/sessions", json={"email": EMAIL, "password": password})
    return answer.status_code, dict(answer.headers), answer.json()


def test_eighty_wrong_passwords_then_the_right_one_waits_while_she_signs_in_elsewhere(
    account: str,
    from_address: Callable[[tuple[str, int]], TestClient],
    advance: Callable[[float], None],
) -> None:
    attacker = from_address(ATTACKER)
    answers = [_sign_in(attacker, f"guess-{n:04d}") for n in range(80)]
    statuses = [status for status, _, _ in answers]
    assert statuses[:5] == [401] * 5
    assert statuses.count(401) < 15, "past the free tries, guesses wait"
    assert 429 in statuses

    status, headers, body = _sign_in(attacker, PASSWORD)
    assert status == 429, "the right password waits like a wrong one from this client"
    assert headers["content-type"].startswith("application/problem+json")
    assert body["code"] == "too_many_attempts"
    wait = int(headers["retry-after"])
    assert wait >= 1

    # the real person, from her own phone, signs in at once
    assert _sign_in(from_address(HER_PHONE), PASSWORD)[0] == 200

    advance(wait + 1)
    assert _sign_in(attacker, PASSWORD)[0] == 200


def test_the_wait_doubles_with_each_wrong_password_past_the_free_ones(
    account: str,
    from_address: Callable[[tuple[str, int]], TestClient],
    advance: Callable[[float], None],
) -> None:
    attacker = from_address(ATTACKER)
    waits: list[int] = []
    failures = 0
    for _ in range(20):
        if len(waits) == 5:
            break
        status, headers, _ = _sign_in(attacker, "guess")
        if status == 401:
            failures += 1
            continue
        assert status == 429
        waits.append(int(headers["retry-after"]))
        advance(waits[-1] + 0.5)
    assert failures == 9  # five free, then one after each wait
    assert waits == [1, 2, 4, 8, 16]


def test_past_the_accounts_ceiling_clients_that_failed_wait_but_a_new_one_signs_in(
    account: str,
    from_address: Callable[[tuple[str, int]], TestClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        throttle,
        "PASSWORD_ACCOUNT",
        throttle.Rule(
            "password:account",
            free=6,
            base=timedelta(seconds=30),
            cap=timedelta(minutes=15),
            forget=timedelta(hours=1),
        ),
    )
    spread = [from_address((f"203.0.113.{n}", 50000)) for n in range(1, 9)]
    for attacker in spread:  # one guess each: no client reaches its own limit
        assert _sign_in(attacker, "guess")[0] == 401
    status, headers, _ = _sign_in(spread[0], PASSWORD)
    assert status == 429
    assert int(headers["retry-after"]) >= 1
    assert _sign_in(from_address(HER_PHONE), PASSWORD)[0] == 200


def _login_form(client: TestClient, lang: str | None = None) -> tuple[str, str]:
    path = "/connexion" + (f"?lang={lang}" if lang else "")
    page = client.get(path)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    return path, token.group(1)


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        (None, "Trop de tentatives de connexion"),
        ("en", "Too many sign-in attempts"),
    ],
)
def test_the_sign_in_page_says_to_wait_in_words(
    account: str,
    from_address: Callable[[tuple[str, int]], TestClient],
    advance: Callable[[float], None],
    lang: str | None,
    message: str,
) -> None:
    attacker = from_address(ATTACKER)
    path, token = _login_form(attacker, lang)
    statuses = []
    for n in range(7):
        answer = attacker.post(
            path,
            data={"email": EMAIL, "password": f"guess-{n}", "csrf_token": token},
            follow_redirects=False,
        )
        statuses.append(answer.status_code)
    assert statuses[:5] == [401] * 5
    assert answer.status_code == 429
    assert answer.headers["content-type"].startswith("text/html")
    assert int(answer.headers["retry-after"]) >= 1
    assert message in answer.text

    her = from_address(HER_PHONE)
    path, token = _login_form(her, lang)
    signed_in = her.post(
        path,
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
