"""Catalog fixtures: small factories that go through the service, as the API and loaders do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from parcours.catalog import service
from parcours.catalog.models import Product
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork

#: Valid EAN-13 codes (check digits computed), one per variant a test may need.
GTINS = [
    "4006381333931",
    "5901234123457",
    "3017620422003",
    "9780201379624",
    "4012345000009",
    "3760020507350",
]


def ean13(n: int) -> str:
    """The n-th valid EAN-13 of a private range (prefix 200), for tests that need many."""
    from parcours.catalog.schemas import gtin_check_digit

    body = f"200{n:09d}"
    return body + str(gtin_check_digit(body))


MakeProduct = Callable[..., Product]


@pytest.fixture
def make_product(db: Database) -> MakeProduct:
    """Create and commit a product: ``make_product(name="Robe", variants=[...], status=...)``."""
    counter = iter(range(1, 1_000_000))

    def make(**overrides: Any) -> Product:
        n = next(counter)
        values: dict[str, Any] = {
            "name": f"Article {n}",
            "price_amount": 4990,
            "variants": [{"sku": f"ART-{n}-M", "attributes": {"taille": "M"}}],
        }
        values.update(overrides)
        with UnitOfWork(db) as uow:
            product = service.create_product(uow=uow, **values)
            uow.commit()
        return product

    return make
