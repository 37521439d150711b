"""Small factories for stores tests: a location written through the service, like loaders do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from parcours.core.uow import UnitOfWork
from parcours.stores import service
from parcours.stores.models import Location, LocationKind, Service

#: Monday to Saturday 10:00-19:30, the usual hours of a French fashion store.
WEEKDAYS_10_1930 = [(day, "10:00", "19:30") for day in range(6)]


def _location_fields(code: str, **overrides: Any) -> dict[str, Any]:
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
    return fields


@pytest.fixture
def location_fields() -> Callable[..., dict[str, Any]]:
    """``location_fields("LYON-1", latitude=…)``: keyword arguments for ``upsert_location``."""
    return _location_fields


@pytest.fixture
def make_location(uow: UnitOfWork) -> Callable[..., Location]:
    """``make_location("LYON-1", latitude=…)``: upsert a location and commit it."""

    def make(code: str, **overrides: Any) -> Location:
        location = service.upsert_location(uow=uow, **_location_fields(code, **overrides))
        uow.commit()
        return location

    return make
