"""Stores API: locations CRUD, the locator, and who may call what."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import PARIS

from parcours.core.auth.models import Role
from parcours.core.uow import UnitOfWork
from parcours.stores import service
from parcours.stores.models import Location

BODY: dict[str, Any] = {
    "code": "LYON-1",
    "name": "Lyon Presqu'île",
    "street": "12 rue de la République",
    "postcode": "69002",
    "city": "Lyon",
    "latitude": 45.7640,
    "longitude": 4.8357,
    "timezone": "Europe/Paris",
    "services": ["click_and_collect", "ship_from_store"],
    "hours": [{"weekday": d, "opens": "10:00", "closes": "19:30"} for d in range(6)],
    "exceptions": [{"day": "2026-12-25", "reason": "Noël"}],
}


def test_create_read_update_a_location(
    client: TestClient, secret_headers: dict[str, str], publishable_headers: dict[str, str]
) -> None:
    created = client.post("/v1/locations", json=BODY, headers=secret_headers)
    assert created.status_code == 201, created.text
    location = created.json()
    assert location["id"].startswith("loc_")
    assert location["services"] == ["click_and_collect", "ship_from_store"]
    assert location["exceptions"] == [
        {"day": "2026-12-25", "opens": None, "closes": None, "reason": "Noël"}
    ]

    read = client.get(f"/v1/locations/{location['id']}", headers=publishable_headers)
    assert read.status_code == 200
    assert read.json()["name"] == "Lyon Presqu'île"

    patched = client.patch(
        f"/v1/locations/{location['id']}",
        json={"name": "Lyon Bellecour", "services": ["appointments"]},
        headers=secret_headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Lyon Bellecour"
    assert patched.json()["services"] == ["appointments"]
    assert len(patched.json()["hours"]) == 6


def test_create_validation_errors_are_problem_json(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    bad = {**BODY, "latitude": 123, "timezone": "Paris"}
    response = client.post("/v1/locations", json=bad, headers=secret_headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"
    hours = {**BODY, "hours": [{"weekday": 0, "opens": "19:00", "closes": "10:00"}]}
    assert client.post("/v1/locations", json=hours, headers=secret_headers).status_code == 422


def test_duplicate_code_is_a_conflict(client: TestClient, secret_headers: dict[str, str]) -> None:
    assert client.post("/v1/locations", json=BODY, headers=secret_headers).status_code == 201
    again = client.post("/v1/locations", json=BODY, headers=secret_headers)
    assert again.status_code == 409
    assert again.json()["code"] == "location_code_taken"


def test_unknown_location_is_404(client: TestClient, publishable_headers: dict[str, str]) -> None:
    response = client.get("/v1/locations/loc_nope", headers=publishable_headers)
    assert response.status_code == 404
    assert response.json()["code"] == "location_not_found"


def test_who_may_write_locations(
    client: TestClient,
    publishable_headers: dict[str, str],
    staff_client: Callable[..., TestClient],
) -> None:
    assert client.get("/v1/locations").status_code == 401
    assert client.post("/v1/locations", json=BODY, headers=publishable_headers).status_code == 403
    associate = staff_client(Role.ASSOCIATE, stores={"loc_any"})
    assert associate.post("/v1/locations", json=BODY).status_code == 403
    assert associate.get("/v1/locations").status_code == 200
    manager = staff_client(Role.MANAGER)
    assert manager.post("/v1/locations", json=BODY).status_code == 201


def test_list_locations_is_paginated(
    client: TestClient,
    publishable_headers: dict[str, str],
    make_location: Callable[..., Location],
) -> None:
    for i in range(3):
        make_location(f"S{i}")
    make_location("WH", kind="warehouse")
    page = client.get("/v1/locations?limit=2", headers=publishable_headers).json()
    assert len(page["items"]) == 2
    rest = client.get(
        f"/v1/locations?limit=2&cursor={page['next_cursor']}", headers=publishable_headers
    ).json()
    assert len(rest["items"]) == 2
    assert rest["next_cursor"] is None
    stores = client.get("/v1/locations?kind=warehouse", headers=publishable_headers).json()
    assert [s["code"] for s in stores["items"]] == ["WH"]
    bad = client.get("/v1/locations?cursor=nonsense", headers=publishable_headers)
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_cursor"


@pytest.mark.at(datetime(2026, 6, 10, 12, tzinfo=PARIS))
def test_nearby_stores_by_point_postcode_or_town(
    client: TestClient,
    publishable_headers: dict[str, str],
    make_location: Callable[..., Location],
    uow: UnitOfWork,
) -> None:
    make_location("LYON", latitude=45.7640, longitude=4.8357)
    make_location("PARIS", latitude=48.8566, longitude=2.3522, services=[], city="Paris")
    make_location("WH", kind="warehouse", latitude=45.76, longitude=4.84)
    service.load_places(uow=uow, places=[("69001", "Lyon", 45.7676, 4.8345)])
    uow.commit()

    by_point = client.get("/v1/stores/nearby?lat=45.76&lon=4.84", headers=publishable_headers)
    assert by_point.status_code == 200, by_point.text
    items = by_point.json()["items"]
    assert [i["store"]["code"] for i in items] == ["LYON", "PARIS"]
    assert items[0]["distance_km"] < 1
    assert set(items[0]["opening"]) == {
        "open_now",
        "closes_at",
        "next_opening",
        "label_fr",
        "label_en",
    }
    # At midday on a Wednesday (the at marker) the Lyon store is open until 19:30.
    assert items[0]["opening"]["label_fr"] == "Ouvert · ferme à 19:30"
    assert len(items[0]["store"]["hours"]) == 6

    by_postcode = client.get("/v1/stores/nearby?q=69001&limit=1", headers=publishable_headers)
    assert by_postcode.json()["origin"]["label"] == "69001 Lyon"
    assert [i["store"]["code"] for i in by_postcode.json()["items"]] == ["LYON"]

    by_town = client.get(
        "/v1/stores/nearby?q=Paris&service=click_and_collect", headers=publishable_headers
    )
    assert by_town.status_code == 200, by_town.text
    assert [i["store"]["code"] for i in by_town.json()["items"]] == ["LYON"]


def test_nearby_errors(client: TestClient, publishable_headers: dict[str, str]) -> None:
    unknown = client.get("/v1/stores/nearby?q=Atlantis", headers=publishable_headers)
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "place_not_found"
    missing = client.get("/v1/stores/nearby", headers=publishable_headers)
    assert missing.status_code == 422
    assert missing.json()["code"] == "origin_required"
    out = client.get("/v1/stores/nearby?lat=100&lon=0", headers=publishable_headers)
    assert out.status_code == 422
    assert out.json()["code"] == "validation_error"
