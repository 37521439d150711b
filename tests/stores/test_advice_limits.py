"""Calls for an adviser cannot flood the store's tablets: a call comes from a device (a shopper
session or a paired kiosk), each device has 3 calls waiting at most and pauses between calls,
and one client address is limited across all the sessions it opens (429 with Retry-After)."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.carts.conftest import Headers
from tests.conftest import Shop
from tests.kiosk_pairing import pair_screen

from parcours.core.db import Database
from parcours.core.errors import Unauthenticated
from parcours.core.uow import UnitOfWork
from parcours.stores import service
from parcours.stores.models import AdviceRequest


@pytest.fixture
def shopper(client: TestClient, publishable_headers: Headers) -> Callable[[], Headers]:
    """A new device's headers: the storefront key and a fresh session's token."""

    def start() -> Headers:
        answer = client.post(
            "/v1/shopper/sessions", json={"channel": "app"}, headers=publishable_headers
        )
        assert answer.status_code == 201, answer.text
        return {**publishable_headers, "X-Shopper-Token": answer.json()["token"]}

    return start


def _call(client: TestClient, headers: Headers, store_id: str) -> Any:
    return client.post(
        f"/v1/locations/{store_id}/advice-requests", json={"source": "app"}, headers=headers
    )


def _age_calls(db: Database, seconds: int) -> None:
    """Every call so far was made ``seconds`` earlier (past the pause between two calls)."""
    with UnitOfWork(db) as uow:
        for call in uow.session.scalars(select(AdviceRequest)):
            call.requested_at -= timedelta(seconds=seconds)
        uow.commit()


def _count(db: Database) -> int:
    with UnitOfWork(db, read_only=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(AdviceRequest)) or 0)


def _too_many(answer: Any, reason: str) -> int:
    assert answer.status_code == 429, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert (body["code"], body["reason"]) == ("too_many_advice_requests", reason)
    retry_after = int(answer.headers["retry-after"])
    assert retry_after == body["retry_after"]
    return retry_after


def test_the_publishable_key_alone_calls_nobody(
    client: TestClient, publishable_headers: Headers, shop: Shop, db: Database
) -> None:
    for _ in range(3):
        refused = _call(client, publishable_headers, shop.store_a)
        assert refused.status_code == 401
        assert refused.json()["code"] == "shopper_session_required"
    assert _count(db) == 0


def test_a_device_pauses_between_calls_and_has_three_waiting_at_most(
    client: TestClient, shopper: Callable[[], Headers], shop: Shop, db: Database
) -> None:
    phone = shopper()
    assert _call(client, phone, shop.store_a).status_code == 201
    retry_after = _too_many(_call(client, phone, shop.store_a), "device_cooldown")
    assert 1 <= retry_after <= int(service.DEVICE_COOLDOWN.total_seconds())
    # The pause holds in another store too: one phone is in one place.
    _too_many(_call(client, phone, shop.store_b), "device_cooldown")
    for _ in range(2):
        _age_calls(db, 31)
        assert _call(client, phone, shop.store_a).status_code == 201
    _age_calls(db, 31)
    _too_many(_call(client, phone, shop.store_a), "device_waiting")
    assert _count(db) == 3


def test_new_sessions_in_a_loop_do_not_reach_the_tablets(
    client: TestClient, shopper: Callable[[], Headers], shop: Shop, db: Database
) -> None:
    answers = [_call(client, shopper(), shop.store_a) for _ in range(22)]
    assert [a.status_code for a in answers[: service.MAX_CALLS_PER_CLIENT]] == [201] * 6
    retry_after = _too_many(answers[service.MAX_CALLS_PER_CLIENT], "client_rate")
    assert 1 <= retry_after <= int(service.CLIENT_WINDOW.total_seconds())
    assert {a.status_code for a in answers[service.MAX_CALLS_PER_CLIENT :]} == {429}
    assert _count(db) == service.MAX_CALLS_PER_CLIENT
    # Another address is another client; and the window slides.
    with TestClient(client.app, base_url="https://testserver", client=("203.0.113.9", 50000)) as b:
        assert _call(b, shopper(), shop.store_a).status_code == 201
    _age_calls(db, int(service.CLIENT_WINDOW.total_seconds()) + 1)
    assert _call(client, shopper(), shop.store_a).status_code == 201


def test_the_service_needs_a_device(shop: Shop, uow: UnitOfWork) -> None:
    with pytest.raises(Unauthenticated):
        service.request_advice(uow=uow, store_id=shop.store_a, source="kiosk")


def test_a_kiosk_is_one_device_and_says_so_in_french_or_english(
    app: FastAPI, client: TestClient, shop: Shop, db: Database
) -> None:
    pair_screen(client, db, shop.store_b, "PAR-B")
    assert client.post("/kiosk/PAR-B/conseiller", follow_redirects=False).status_code == 303
    again = client.post("/kiosk/PAR-B/conseiller", follow_redirects=False)
    assert again.status_code == 429
    assert 1 <= int(again.headers["retry-after"]) <= 30
    text = html.unescape(again.text)
    assert "Un conseiller vient d'être appelé depuis cette borne : il arrive." in text
    assert "Vous pourrez rappeler dans" in text
    english = client.post("/kiosk/PAR-B/conseiller?lang=en", follow_redirects=False)
    assert english.status_code == 429
    assert "An adviser was just called from this kiosk" in html.unescape(english.text)
    # A new shopper at the screen (a new kiosk session) is still the same kiosk.
    for _ in range(2):
        client.post("/kiosk/PAR-B/terminer")
        _age_calls(db, 31)
        assert client.post("/kiosk/PAR-B/conseiller", follow_redirects=False).status_code == 303
    _age_calls(db, 31)
    busy = client.post("/kiosk/PAR-B/conseiller?lang=fr", follow_redirects=False)
    assert busy.status_code == 429
    assert "Un conseiller est déjà prévenu : il arrive." in html.unescape(busy.text)
    # Kiosks share the store's address: a second kiosk is not held back by the first.
    with TestClient(app, base_url="https://testserver") as second:
        pair_screen(second, db, shop.store_b, "PAR-B")
        assert second.post("/kiosk/PAR-B/conseiller", follow_redirects=False).status_code == 303
    assert _count(db) == 4
