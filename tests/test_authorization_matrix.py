"""Who may do what, across contexts: one row per action, one column per kind of caller.

The rule a store team cares most about: an associate of store A cannot change stock in store B,
and a publishable key (shipped in every browser) cannot write anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from parcours.catalog import service as catalog
from parcours.core.auth.models import KeyKind, Role
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.inventory import service as inventory
from parcours.stores import service as stores

CALLERS = ("anonymous", "publishable", "secret", "admin", "manager", "marketer", "associate_a")


@dataclass(frozen=True)
class World:
    store_a: str
    store_b: str
    variant: str
    product: str


@pytest.fixture
def world(db: Database) -> World:
    with UnitOfWork(db) as uow:
        a = stores.upsert_location(
            uow=uow,
            code="A",
            name="Magasin A",
            street="1 rue A",
            postcode="75001",
            city="Paris",
            latitude=48.86,
            longitude=2.34,
            hours=[(d, "10:00", "19:00") for d in range(6)],
        )
        b = stores.upsert_location(
            uow=uow,
            code="B",
            name="Magasin B",
            street="1 rue B",
            postcode="69002",
            city="Lyon",
            latitude=45.76,
            longitude=4.83,
            hours=[(d, "10:00", "19:00") for d in range(6)],
        )
        product = catalog.create_product(
            uow=uow,
            name="Pull marin",
            price_amount=5900,
            status="published",
            channels=["web", "store"],
            variants=[{"sku": "PULL-M"}],
        )
        variant = product.variants[0].id
        for location in (a, b):
            inventory.set_stock(
                uow=uow, variant_id=variant, location_id=location.id, on_hand=10, reason="test"
            )
        uow.commit()
        return World(store_a=a.id, store_b=b.id, variant=variant, product=product.id)


@pytest.fixture
def callers(
    client: TestClient,
    staff_client: Callable[..., TestClient],
    api_key: Callable[[KeyKind], str],
    world: World,
) -> dict[str, tuple[TestClient, dict[str, str]]]:
    return {
        "anonymous": (client, {}),
        "publishable": (client, {"Authorization": f"Bearer {api_key(KeyKind.PUBLISHABLE)}"}),
        "secret": (client, {"Authorization": f"Bearer {api_key(KeyKind.SECRET)}"}),
        "admin": (staff_client(Role.ADMIN), {}),
        "manager": (staff_client(Role.MANAGER), {}),
        "marketer": (staff_client(Role.MARKETER), {}),
        "associate_a": (staff_client(Role.ASSOCIATE, stores={world.store_a}), {}),
    }


def _actions(w: World) -> dict[str, tuple[str, str, dict[str, Any] | None]]:
    return {
        "read catalog": ("GET", f"/v1/products/{w.product}", None),
        "read availability": (
            "GET",
            f"/v1/availability?variant_id={w.variant}&lat=48.85&lon=2.35",
            None,
        ),
        "write catalog": ("POST", "/v1/products", {"name": "Écharpe", "price_amount": 1900}),
        "write stores": (
            "PATCH",
            f"/v1/locations/{w.store_b}",
            {"name": "Magasin B (rénové)"},
        ),
        "read stock": ("GET", f"/v1/stock?location_id={w.store_a}", None),
        "adjust stock in A": (
            "POST",
            "/v1/stock/adjustments",
            {"variant_id": w.variant, "location_id": w.store_a, "delta": -1, "reason": "abîmé"},
        ),
        "adjust stock in B": (
            "POST",
            "/v1/stock/adjustments",
            {"variant_id": w.variant, "location_id": w.store_b, "delta": -1, "reason": "abîmé"},
        ),
        "reserve in A": (
            "POST",
            "/v1/reservations",
            {"variant_id": w.variant, "location_id": w.store_a, "quantity": 1, "reference": "c1"},
        ),
        "reserve in B": (
            "POST",
            "/v1/reservations",
            {"variant_id": w.variant, "location_id": w.store_b, "quantity": 1, "reference": "c2"},
        ),
        "manage API keys": ("POST", "/v1/api-keys", {"kind": "secret", "name": "erp"}),
        "look up a customer": ("GET", "/v1/customers?email=jeanne%40example.com", None),
        "send events": (
            "POST",
            "/v1/track",
            {"type": "track", "event": "Product Viewed", "anonymousId": "a-1", "messageId": "m-1"},
        ),
        "scrape metrics": ("GET", "/metrics", None),
    }


Y, N, U = "allowed", "forbidden", "unauthenticated"
#                         anonymous publishable secret admin manager marketer associate_a
EXPECTED = {
    "read catalog":       (U, Y, Y, Y, Y, Y, Y),
    "read availability":  (U, Y, Y, Y, Y, Y, Y),
    "write catalog":      (U, N, Y, Y, Y, N, N),
    "write stores":       (U, N, Y, Y, Y, N, N),
    "read stock":         (U, N, Y, Y, Y, Y, Y),
    "adjust stock in A":  (U, N, Y, Y, Y, N, Y),
    "adjust stock in B":  (U, N, Y, Y, Y, N, N),
    "reserve in A":       (U, N, Y, Y, Y, N, Y),
    "reserve in B":       (U, N, Y, Y, Y, N, N),
    "manage API keys":    (U, N, N, Y, N, N, N),
    "look up a customer": (U, N, Y, Y, Y, Y, Y),
    "send events":        (U, N, Y, N, N, N, N),
    "scrape metrics":     (U, N, Y, Y, Y, N, N),
}  # fmt: skip


def _outcome(status: int) -> str:
    if status == 401:
        return U
    if status == 403:
        return N
    assert status < 300, f"unexpected status {status}"
    return Y


def test_authorization_matrix(
    world: World, callers: dict[str, tuple[TestClient, dict[str, str]]]
) -> None:
    actions = _actions(world)
    got: dict[str, tuple[str, ...]] = {}
    for action, (method, path, body) in actions.items():
        row = []
        for caller in CALLERS:
            client, headers = callers[caller]
            response = client.request(method, path, json=body, headers=headers)
            row.append(_outcome(response.status_code))
            if response.status_code in (401, 403):
                assert response.headers["content-type"] == "application/problem+json"
        got[action] = tuple(row)
    assert got == EXPECTED


def test_an_associate_is_told_why_she_cannot_touch_another_store(
    world: World, callers: dict[str, tuple[TestClient, dict[str, str]]]
) -> None:
    associate, _ = callers["associate_a"]
    response = associate.post(
        "/v1/stock/adjustments",
        json={
            "variant_id": world.variant,
            "location_id": world.store_b,
            "delta": 5,
            "reason": "erreur",
        },
    )
    assert response.status_code == 403
    assert response.json()["code"] == "store_out_of_scope"
