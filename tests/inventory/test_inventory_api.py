"""Inventory API: availability for shoppers, stock work for staff, scoped to their stores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from parcours.core.auth.models import Role
from parcours.core.uow import UnitOfWork
from parcours.inventory import service
from parcours.stores import service as stores

Headers = dict[str, str]


@pytest.fixture
def two_stores(make_location: Callable[..., str]) -> tuple[str, str]:
    return (
        make_location("STORE-A", latitude=45.7640, longitude=4.8357),
        make_location("STORE-B", latitude=45.7606, longitude=4.8590),
    )


def _adjust(client: TestClient, body: dict[str, Any], headers: Headers | None = None) -> Any:
    return client.post("/v1/stock/adjustments", json=body, headers=headers or {})


def test_availability_for_a_shopper(
    client: TestClient,
    publishable_headers: Headers,
    uow: UnitOfWork,
    variant_id: str,
    two_stores: tuple[str, str],
) -> None:
    store_a, _ = two_stores
    service.set_stock(uow=uow, variant_id=variant_id, location_id=store_a, on_hand=8, reason="in")
    stores.load_places(uow=uow, places=[("69002", "Lyon", 45.7485, 4.8270)])
    uow.commit()

    response = client.get(
        f"/v1/availability?variant_id={variant_id}&lat=45.764&lon=4.8357",
        headers=publishable_headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["variant_id"] == variant_id
    first, second = body["items"]
    assert (first["store"]["code"], first["available"], first["level"]) == (
        "STORE-A",
        8,
        "in_stock",
    )
    assert first["store"]["services"] == ["click_and_collect"]
    assert "hours" not in first["store"]
    assert first["collect"]["mode"] == "in_store"
    assert first["collect"]["label_fr"].startswith("Retrait ")
    assert first["opening"]["label_en"].startswith(("Open", "Closed"))
    assert (second["available"], second["level"]) == (0, "out_of_stock")
    assert second["collect"]["mode"] == "transfer"

    by_town = client.get(
        f"/v1/availability?variant_id={variant_id}&q=lyon&limit=1", headers=publishable_headers
    )
    assert by_town.json()["origin"]["label"] == "Lyon"
    assert len(by_town.json()["items"]) == 1


def test_availability_errors(
    client: TestClient, publishable_headers: Headers, variant_id: str
) -> None:
    assert client.get(f"/v1/availability?variant_id={variant_id}&lat=1&lon=1").status_code == 401
    unknown = client.get(
        "/v1/availability?variant_id=var_x&lat=1&lon=1", headers=publishable_headers
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "variant_not_found"
    no_origin = client.get(f"/v1/availability?variant_id={variant_id}", headers=publishable_headers)
    assert no_origin.json()["code"] == "origin_required"
    nowhere = client.get(
        f"/v1/availability?variant_id={variant_id}&q=Atlantis", headers=publishable_headers
    )
    assert nowhere.json()["code"] == "place_not_found"


def test_availability_request_runs_a_fixed_number_of_queries(
    client: TestClient,
    publishable_headers: Headers,
    uow: UnitOfWork,
    make_variant: Callable[[], str],
    two_stores: tuple[str, str],
    queries: Any,
) -> None:
    """The stock at those stores, once the store directory is known (it is re-checked at most
    every second); for a never-stocked variant, also the look for stock elsewhere and the
    catalog."""
    stocked, never_stocked = make_variant(), make_variant()
    service.set_stock(uow=uow, variant_id=stocked, location_id=two_stores[0], on_hand=1, reason="x")
    uow.commit()
    for variant_id, expected in ((stocked, 1), (never_stocked, 3)):
        url = f"/v1/availability?variant_id={variant_id}&lat=45.76&lon=4.84"
        assert client.get(url, headers=publishable_headers).status_code == 200  # warms caches
        before = queries.count
        assert client.get(url, headers=publishable_headers).status_code == 200
        assert queries.count - before == expected, queries.statements[before:]


def test_product_availability(
    client: TestClient,
    publishable_headers: Headers,
    uow: UnitOfWork,
    make_product: Callable[[int], tuple[str, list[str]]],
    two_stores: tuple[str, str],
) -> None:
    product_id, sizes = make_product(2)
    service.set_stock(
        uow=uow, variant_id=sizes[1], location_id=two_stores[1], on_hand=2, reason="x"
    )
    uow.commit()
    response = client.get(
        f"/v1/availability/product?product_id={product_id}&lat=45.76&lon=4.86",
        headers=publishable_headers,
    )
    assert response.status_code == 200, response.text
    nearest = response.json()["items"][0]
    assert nearest["store"]["code"] == "STORE-B"
    assert nearest["variants"] == [
        {"variant_id": sizes[0], "available": 0, "level": "out_of_stock"},
        {"variant_id": sizes[1], "available": 2, "level": "low"},
    ]
    missing = client.get(
        "/v1/availability/product?product_id=prd_x&lat=45.76&lon=4.86", headers=publishable_headers
    )
    assert missing.status_code == 404


def test_an_associate_adjusts_only_her_store(
    staff_client: Callable[..., TestClient], variant_id: str, two_stores: tuple[str, str]
) -> None:
    store_a, store_b = two_stores
    associate = staff_client(Role.ASSOCIATE, stores={store_a})
    body = {"variant_id": variant_id, "location_id": store_a, "delta": 4, "reason": "livraison"}
    mine = _adjust(associate, body)
    assert mine.status_code == 201, mine.text
    change = mine.json()
    assert change["stock"]["on_hand"] == 4
    assert change["stock"]["available"] == 4
    assert change["movement"]["kind"] == "adjustment"
    assert change["movement"]["actor"].startswith("usr_")

    theirs = _adjust(associate, {**body, "location_id": store_b})
    assert theirs.status_code == 403
    assert theirs.json()["code"] == "store_out_of_scope"


def test_adjustment_refusals(
    client: TestClient,
    secret_headers: Headers,
    publishable_headers: Headers,
    variant_id: str,
    two_stores: tuple[str, str],
) -> None:
    store_a, _ = two_stores
    body = {"variant_id": variant_id, "location_id": store_a, "delta": 2, "reason": "in"}
    assert _adjust(client, body, publishable_headers).status_code == 403
    assert _adjust(client, body).status_code == 401
    both = _adjust(client, {**body, "on_hand": 3}, secret_headers)
    assert both.status_code == 422
    assert both.json()["code"] == "validation_error"
    assert _adjust(client, body, secret_headers).status_code == 201
    too_many = _adjust(client, {**body, "delta": -3}, secret_headers)
    assert too_many.status_code == 409
    problem = too_many.json()
    assert problem["code"] == "insufficient_stock"
    assert problem["unreserved"] == 2
    counted = _adjust(
        client,
        {
            "variant_id": variant_id,
            "location_id": store_a,
            "on_hand": 5,
            "safety_stock": 1,
            "reason": "inventaire",
        },
        secret_headers,
    )
    assert counted.status_code == 201
    assert counted.json()["stock"]["available"] == 4
    assert counted.json()["movement"]["quantity_delta"] == 3
    unknown = _adjust(client, {**body, "location_id": "loc_unknown"}, secret_headers)
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "location_not_found"


def test_stock_and_ledger_lists(
    client: TestClient,
    secret_headers: Headers,
    publishable_headers: Headers,
    staff_client: Callable[..., TestClient],
    variant_id: str,
    two_stores: tuple[str, str],
) -> None:
    for store in two_stores:
        for delta in (3, -1):
            body = {"variant_id": variant_id, "location_id": store, "delta": delta, "reason": "x"}
            assert _adjust(client, body, secret_headers).status_code == 201
    assert client.get("/v1/stock", headers=publishable_headers).status_code == 403
    marketer = staff_client(Role.MARKETER)
    page = marketer.get(f"/v1/stock?variant_id={variant_id}&limit=1").json()
    assert len(page["items"]) == 1
    assert page["items"][0]["on_hand"] == 2
    rest = marketer.get(f"/v1/stock?variant_id={variant_id}&limit=1&cursor={page['next_cursor']}")
    assert len(rest.json()["items"]) == 1
    assert rest.json()["next_cursor"] is None

    ledger = client.get(
        f"/v1/stock/movements?location_id={two_stores[0]}", headers=secret_headers
    ).json()
    assert [(m["quantity_delta"], m["on_hand_after"]) for m in ledger["items"]] == [(-1, 2), (3, 3)]
    assert ledger["items"][0]["actor"].startswith("key_")
    paged = client.get("/v1/stock/movements?limit=3", headers=secret_headers).json()
    assert len(paged["items"]) == 3
    assert paged["next_cursor"] is not None
    bad = client.get("/v1/stock/movements?cursor=abc", headers=secret_headers)
    assert bad.status_code == 422


def test_reservations_over_http(
    client: TestClient,
    secret_headers: Headers,
    staff_client: Callable[..., TestClient],
    uow: UnitOfWork,
    variant_id: str,
    two_stores: tuple[str, str],
) -> None:
    store_a, store_b = two_stores
    service.set_stock(uow=uow, variant_id=variant_id, location_id=store_a, on_hand=3, reason="x")
    uow.commit()
    body = {"variant_id": variant_id, "location_id": store_a, "quantity": 2, "reference": "cart"}
    headers = {**secret_headers, "Idempotency-Key": "reserve-cart-1"}
    created = client.post("/v1/reservations", json=body, headers=headers)
    assert created.status_code == 201, created.text
    reservation = created.json()
    assert reservation["status"] == "active"
    replay = client.post("/v1/reservations", json=body, headers=headers)
    assert replay.json()["id"] == reservation["id"]  # retried, not reserved twice

    refused = client.post("/v1/reservations", json=body, headers=secret_headers)
    assert refused.status_code == 409
    assert refused.json()["available"] == 1

    other_store = staff_client(Role.ASSOCIATE, stores={store_b})
    release_url = f"/v1/reservations/{reservation['id']}/release"
    forbidden = other_store.post(release_url)
    assert forbidden.status_code == 403
    assert forbidden.json()["code"] == "store_out_of_scope"
    assert other_store.post("/v1/reservations", json=body).status_code == 403

    same_store = staff_client(Role.ASSOCIATE, stores={store_a})
    released = same_store.post(release_url)
    assert released.status_code == 200
    assert released.json()["status"] == "released"
    read = client.get(f"/v1/reservations/{reservation['id']}", headers=secret_headers)
    assert read.json()["status"] == "released"
    assert (
        client.post("/v1/reservations/res_nope/release", headers=secret_headers).status_code == 404
    )


def test_transfers_over_http_are_scoped_to_each_end(
    client: TestClient,
    secret_headers: Headers,
    staff_client: Callable[..., TestClient],
    uow: UnitOfWork,
    variant_id: str,
    two_stores: tuple[str, str],
) -> None:
    store_a, store_b = two_stores
    service.set_stock(uow=uow, variant_id=variant_id, location_id=store_a, on_hand=5, reason="x")
    uow.commit()
    body = {
        "from_location_id": store_a,
        "to_location_id": store_b,
        "lines": [{"variant_id": variant_id, "quantity": 2}],
        "reason": "réassort",
    }
    sender = staff_client(Role.ASSOCIATE, stores={store_a})
    receiver = staff_client(Role.ASSOCIATE, stores={store_b})
    assert receiver.post("/v1/transfers", json=body).status_code == 403
    created = sender.post("/v1/transfers", json=body)
    assert created.status_code == 201, created.text
    transfer = created.json()
    assert transfer["status"] == "in_transit"
    assert transfer["lines"] == [{"variant_id": variant_id, "quantity": 2}]

    receive_url = f"/v1/transfers/{transfer['id']}/receive"
    assert sender.post(receive_url).json()["code"] == "store_out_of_scope"
    received = receiver.post(receive_url)
    assert received.status_code == 200
    assert received.json()["status"] == "received"
    again = receiver.post(receive_url)
    assert again.status_code == 409
    assert again.json()["code"] == "transfer_not_in_transit"
    assert client.get(f"/v1/transfers/{transfer['id']}", headers=secret_headers).status_code == 200

    second = client.post("/v1/transfers", json=body, headers=secret_headers).json()
    cancelled = sender.post(f"/v1/transfers/{second['id']}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    same = client.post(
        "/v1/transfers", json={**body, "to_location_id": store_a}, headers=secret_headers
    )
    assert same.status_code == 422
