"""Small factories for inventory tests: variants inserted directly, locations via the stores
service, and a query counter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from parcours.catalog.models import Product, Variant
from parcours.core.clock import utcnow
from parcours.core.ids import new_id
from parcours.core.uow import UnitOfWork
from parcours.stores import service as stores
from parcours.stores.models import Location, LocationKind, Service

WEEKDAYS_10_1930 = [(day, "10:00", "19:30") for day in range(6)]


def insert_product(uow: UnitOfWork, *, sizes: int = 1) -> tuple[str, list[str]]:
    """A product with ``sizes`` variants, rows written directly; returns its id and theirs."""
    now = utcnow()
    product_id = new_id("prd")
    product = Product(
        id=product_id,
        slug=product_id,
        name="Pull marin",
        price_amount=4990,
        currency="EUR",
        created_at=now,
        updated_at=now,
    )
    uow.session.add(product)
    uow.session.flush()
    ids = []
    for position in range(sizes):
        variant_id = new_id("var")
        uow.session.add(
            Variant(id=variant_id, product_id=product_id, sku=variant_id, position=position)
        )
        ids.append(variant_id)
    uow.session.flush()
    return product_id, ids


@pytest.fixture
def make_variant(uow: UnitOfWork) -> Callable[[], str]:
    def make() -> str:
        _, (variant_id,) = insert_product(uow)
        uow.commit()
        return variant_id

    return make


@pytest.fixture
def make_product(uow: UnitOfWork) -> Callable[[int], tuple[str, list[str]]]:
    """``make_product(3)`` -> (product id, its three variant ids in order)."""

    def make(sizes: int) -> tuple[str, list[str]]:
        made = insert_product(uow, sizes=sizes)
        uow.commit()
        return made

    return make


def upsert_location(uow: UnitOfWork, code: str, **overrides: Any) -> Location:
    fields: dict[str, Any] = {
        "code": code,
        "name": f"Magasin {code}",
        "street": "1 rue de la République",
        "postcode": "69002",
        "city": "Lyon",
        "latitude": 45.7640,
        "longitude": 4.8357,
        "kind": LocationKind.STORE,
        "services": [Service.CLICK_AND_COLLECT],
        "hours": WEEKDAYS_10_1930,
    }
    fields.update(overrides)
    return stores.upsert_location(uow=uow, **fields)


@pytest.fixture
def make_location(uow: UnitOfWork) -> Callable[..., str]:
    """``make_location("LYON-1", latitude=…)`` -> the new location's id."""

    def make(code: str, **overrides: Any) -> str:
        location = upsert_location(uow, code, **overrides)
        uow.commit()
        return location.id

    return make


@pytest.fixture
def store_id(make_location: Callable[..., str]) -> str:
    return make_location("LYON-1")


@pytest.fixture
def variant_id(make_variant: Callable[[], str]) -> str:
    return make_variant()
