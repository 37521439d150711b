"""Calls for an adviser: a shopper asks from a kiosk or her phone, the store's associates see it,
one takes it (one only, however fast two tap), and the wait is measured on her journey."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.carts.conftest import Headers
from tests.conftest import Shop

from parcours.core.auth.models import Role
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.errors import Conflict
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.models import ShopperSession
from parcours.stores import service
from parcours.stores.models import AdviceRequest
from parcours.tracking.models import Event


@pytest.fixture
def shopper(client: TestClient, publishable_headers: Headers) -> Callable[..., Headers]:
    """``shopper("app")`` -> a new device's headers: storefront key + its session token."""

    def start(channel: str = "app") -> Headers:
        answer = client.post(
            "/v1/shopper/sessions", json={"channel": channel}, headers=publishable_headers
        )
        assert answer.status_code == 201, answer.text
        return {**publishable_headers, "X-Shopper-Token": answer.json()["token"]}

    return start


def call(
    client: TestClient, headers: Headers, store_id: str, **body: Any
) -> Any:  # the TestClient's response
    return client.post(
        f"/v1/locations/{store_id}/advice-requests",
        json={"source": "kiosk", **body},
        headers=headers,
    )


def age_calls(db: Database, seconds: int = 31) -> None:
    """Every call so far was made earlier: past the pause a device keeps between two calls."""
    with UnitOfWork(db) as uow:
        for advice in uow.session.scalars(select(AdviceRequest)):
            advice.requested_at -= timedelta(seconds=seconds)
        uow.commit()


def test_a_kiosk_calls_an_adviser_about_a_size(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop, db: Database
) -> None:
    # A kiosk's own software calls with its shopper session, like any device.
    created = call(client, shopper("app"), shop.store_a, variant_id=shop.variants["L"])
    assert created.status_code == 201, created.text
    advice = created.json()
    assert advice["id"].startswith("adv_")
    assert (advice["status"], advice["source"], advice["store_id"]) == (
        "waiting",
        "kiosk",
        shop.store_a,
    )
    assert (advice["product_id"], advice["variant_id"]) == (shop.product_id, shop.variants["L"])
    assert advice["profile_id"] is None
    with UnitOfWork(db, read_only=True) as uow:
        event = uow.session.scalars(select(Event).where(Event.event == "Advice Requested")).one()
        assert (event.channel, event.store_id) == ("store", shop.store_a)
        assert event.properties["product_id"] == shop.product_id


def test_a_shopper_token_names_who_asks(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop, db: Database
) -> None:
    phone = shopper("app")
    created = call(
        client, phone, shop.store_a, source="app", product_id=shop.product_id, note="Taille ?"
    )
    assert created.status_code == 201, created.text
    with UnitOfWork(db) as uow:
        stored = uow.session.get(AdviceRequest, created.json()["id"])
        assert stored is not None
        assert stored.anonymous_id is not None
        assert stored.note == "Taille ?"
        # Once she is known on this device, her calls carry her profile.
        profile = customers.identify(
            uow=uow,
            anonymous_id=stored.anonymous_id,
            traits={"email": "ines@example.com", "first_name": "Inès"},
            channel="app",
        )
        session = uow.session.scalars(
            select(ShopperSession).where(ShopperSession.anonymous_id == stored.anonymous_id)
        ).one()
        session.profile_id = profile.id
        uow.commit()
        profile_id = profile.id
    age_calls(db)
    known = call(client, phone, shop.store_a, source="app")
    assert known.json()["profile_id"] == profile_id
    with UnitOfWork(db, read_only=True) as uow:
        event = uow.session.scalars(
            select(Event)
            .where(Event.event == "Advice Requested", Event.properties.isnot(None))
            .order_by(Event.id.desc())
        ).first()
        assert event is not None
        assert event.profile_id == profile_id


def test_refusals(
    client: TestClient,
    publishable_headers: Headers,
    shopper: Callable[..., Headers],
    shop: Shop,
    db: Database,
) -> None:
    phone = shopper("app")
    warehouse = call(client, phone, shop.warehouse)
    assert warehouse.status_code == 404
    assert warehouse.json()["code"] == "store_not_found"
    assert call(client, phone, "loc_nope").status_code == 404
    unknown = call(client, phone, shop.store_a, product_id="prd_nope")
    assert unknown.status_code == 404
    assert call(client, phone, shop.store_a, source="fax").status_code == 422
    assert call(client, phone, shop.store_a, note="x" * 301).status_code == 422
    assert call(client, {}, shop.store_a).status_code == 401
    # The storefront key alone is no device (tests/stores/test_advice_limits.py).
    assert call(client, publishable_headers, shop.store_a).status_code == 401

    for _ in range(3):
        assert call(client, phone, shop.store_a, source="app").status_code == 201
        age_calls(db)
    fourth = call(client, phone, shop.store_a, source="app")
    assert fourth.status_code == 429
    assert fourth.json()["code"] == "too_many_advice_requests"
    # Another store, another device: each has its own count.
    assert call(client, phone, shop.store_b, source="app").status_code == 201
    assert call(client, shopper("app"), shop.store_a, source="app").status_code == 201


def test_one_associate_wins_the_race_and_the_wait_is_on_the_journey(
    client: TestClient,
    shopper: Callable[..., Headers],
    staff_client: Callable[..., TestClient],
    shop: Shop,
    db: Database,
) -> None:
    created = call(client, shopper("app"), shop.store_a, product_id=shop.product_id)
    request_id = created.json()["id"]
    with UnitOfWork(db) as uow:  # she has waited 90 seconds
        stored = uow.session.get(AdviceRequest, request_id)
        assert stored is not None
        stored.requested_at = utcnow() - timedelta(seconds=90)
        uow.commit()
    tablets = [staff_client(Role.ASSOCIATE, stores={shop.store_a}) for _ in range(2)]
    listed = tablets[0].get(f"/v1/locations/{shop.store_a}/advice-requests")
    assert listed.status_code == 200
    assert listed.json()["waiting"] == 1
    assert [item["id"] for item in listed.json()["items"]] == [request_id]

    barrier = threading.Barrier(2)
    answers: list[Any] = []

    def tap(tablet: TestClient) -> None:
        barrier.wait()
        answers.append(tablet.post(f"/v1/advice-requests/{request_id}/take"))

    threads = [threading.Thread(target=tap, args=(tablet,)) for tablet in tablets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answer.status_code for answer in answers) == [200, 409]
    loser = next(answer for answer in answers if answer.status_code == 409)
    assert loser.json()["code"] == "advice_already_taken"
    winner = next(answer for answer in answers if answer.status_code == 200).json()
    assert winner["status"] == "taken"
    assert winner["taken_by"].startswith("usr_")

    with UnitOfWork(db, read_only=True) as uow:
        taken = uow.session.scalars(select(Event).where(Event.event == "Advice Taken")).one()
        assert 90 <= taken.properties["waited_seconds"] < 120
        assert (taken.channel, taken.store_id) == ("store", shop.store_a)

    done = tablets[0].post(f"/v1/advice-requests/{request_id}/done")
    assert done.status_code == 200
    assert done.json()["status"] == "done"
    assert tablets[0].post(f"/v1/advice-requests/{request_id}/cancel").status_code == 409
    listed = tablets[1].get(f"/v1/locations/{shop.store_a}/advice-requests").json()
    assert listed == {"items": [], "waiting": 0}


def test_another_stores_associate_sees_and_takes_nothing(
    client: TestClient,
    publishable_headers: Headers,
    shopper: Callable[..., Headers],
    staff_client: Callable[..., TestClient],
    shop: Shop,
) -> None:
    request_id = call(client, shopper("app"), shop.store_a).json()["id"]
    other = staff_client(Role.ASSOCIATE, stores={shop.store_b})
    for answer in (
        other.get(f"/v1/locations/{shop.store_a}/advice-requests"),
        other.get(f"/v1/locations/{shop.store_a}/advice-requests/events"),
        other.post(f"/v1/advice-requests/{request_id}/take"),
        other.post(f"/v1/advice-requests/{request_id}/cancel"),
    ):
        assert answer.status_code == 403
        assert answer.json()["code"] == "store_out_of_scope"
    # A storefront key lists nothing: the desk is staff only.
    assert client.get(
        f"/v1/locations/{shop.store_a}/advice-requests", headers=publishable_headers
    ).status_code in (401, 403)
    mine = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    assert mine.post(f"/v1/advice-requests/{request_id}/cancel").json()["status"] == "cancelled"


def test_the_service_counts_and_lists_open_calls(shop: Shop, uow: UnitOfWork) -> None:
    first = service.request_advice(uow=uow, store_id=shop.store_a, source="kiosk", anonymous_id="a")
    second = service.request_advice(uow=uow, store_id=shop.store_a, source="web", anonymous_id="b")
    service.take_advice_request(uow=uow, request_id=first.id, staff_id=None)  # type: ignore[arg-type]
    assert service.count_waiting_advice(uow=uow, store_id=shop.store_a) == 1
    assert [a.id for a in service.open_advice_requests(uow=uow, store_id=shop.store_a)] == [
        first.id,
        second.id,
    ]
    with pytest.raises(Conflict, match="another associate"):
        service.take_advice_request(uow=uow, request_id=first.id, staff_id=None)  # type: ignore[arg-type]


def test_an_associate_of_store_b_cannot_act_on_store_a_stock(
    staff_client: Callable[..., TestClient], shop: Shop
) -> None:
    theirs = staff_client(Role.ASSOCIATE, stores={shop.store_b})
    adjust = theirs.post(
        "/v1/stock/adjustments",
        json={
            "variant_id": shop.variants["S"],
            "location_id": shop.store_a,
            "delta": -1,
            "reason": "casse",
        },
    )
    assert adjust.status_code == 403
    assert adjust.json()["code"] == "store_out_of_scope"
    transfer = theirs.post(
        "/v1/transfers",
        json={
            "from_location_id": shop.store_a,
            "to_location_id": shop.store_b,
            "lines": [{"variant_id": shop.variants["S"], "quantity": 1}],
        },
    )
    assert transfer.status_code == 403
    assert transfer.json()["code"] == "store_out_of_scope"
