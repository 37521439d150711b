"""Availability near a shopper: quantities, levels, when to collect, and a fixed query count."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from parcours.core.db import Database
from parcours.core.errors import NotFound
from parcours.core.uow import UnitOfWork
from parcours.inventory import service
from parcours.stores import directory
from parcours.stores import service as stores
from parcours.stores.schemas import LocationUpdate

PARIS = ZoneInfo("Europe/Paris")
SHOPPER = (45.7640, 4.8357)  # Lyon, place des Cordeliers
TUESDAY_AFTERNOON = datetime(2026, 6, 16, 14, 10, tzinfo=PARIS)


@pytest.fixture
def lyon(make_location: Callable[..., str]) -> dict[str, str]:
    """Four stores around the shopper, nearest first, and a warehouse far away."""
    return {
        "presquile": make_location("PRESQUILE", latitude=45.7640, longitude=4.8357),
        "part_dieu": make_location("PART-DIEU", latitude=45.7606, longitude=4.8590),
        "caluire": make_location("CALUIRE", latitude=45.7950, longitude=4.8460, services=[]),
        "villeurbanne": make_location("VILLEURBANNE", latitude=45.7719, longitude=4.8902),
        "depot": make_location(
            "DEPOT", kind="warehouse", latitude=47.9514, longitude=1.8747, services=[]
        ),
    }


def _stock(uow: UnitOfWork, variant_id: str, levels: dict[str, int]) -> None:
    for location_id, on_hand in levels.items():
        service.set_stock(
            uow=uow, variant_id=variant_id, location_id=location_id, on_hand=on_hand, reason="in"
        )
    uow.commit()


def _near(uow: UnitOfWork, variant_id: str, **kwargs: Any) -> list[service.StoreAvailability]:
    kwargs.setdefault("now", TUESDAY_AFTERNOON)
    return service.availability_near(
        uow=uow, variant_id=variant_id, latitude=SHOPPER[0], longitude=SHOPPER[1], **kwargs
    )


def test_each_nearby_store_says_how_many_and_when(
    uow: UnitOfWork, variant_id: str, lyon: dict[str, str]
) -> None:
    _stock(uow, variant_id, {lyon["presquile"]: 5, lyon["part_dieu"]: 2, lyon["caluire"]: 0})
    _stock(uow, variant_id, {lyon["depot"]: 10})
    found = _near(uow, variant_id)

    assert [a.location.code for a in found] == ["PRESQUILE", "PART-DIEU", "CALUIRE", "VILLEURBANNE"]
    assert [a.available for a in found] == [5, 2, 0, 0]
    assert [a.level for a in found] == ["in_stock", "low", "out_of_stock", "out_of_stock"]
    assert found[0].distance_km < 0.01
    assert found[1].distance_km == pytest.approx(1.85, abs=0.1)
    assert all(a.opening.open_now for a in found)
    assert found[0].opening.label_fr == "Ouvert · ferme à 19:30"

    here = found[0].collect
    assert here is not None
    assert here.mode == "in_store"
    assert here.ready_at == datetime(2026, 6, 16, 16, 30, tzinfo=PARIS)
    assert (here.label_fr, here.label_en) == (
        "Retrait aujourd'hui à 16:30",
        "Collect today at 16:30",
    )
    assert found[2].collect is None  # Caluire offers no click-and-collect
    sent = found[3].collect
    assert sent is not None
    assert sent.mode == "transfer"
    assert sent.ready_at == datetime(2026, 6, 18, 14, 30, tzinfo=PARIS)
    assert sent.label_fr == "Retrait jeudi à 14:30"


def test_only_the_warehouse_has_it_so_every_store_can_get_it(
    uow: UnitOfWork, variant_id: str, lyon: dict[str, str]
) -> None:
    _stock(uow, variant_id, {lyon["depot"]: 3, lyon["presquile"]: 0})
    found = _near(uow, variant_id)
    assert {a.available for a in found} == {0}
    modes = {a.location.code: a.collect.mode if a.collect else None for a in found}
    assert modes == {
        "PRESQUILE": "transfer",
        "PART-DIEU": "transfer",
        "CALUIRE": None,
        "VILLEURBANNE": "transfer",
    }


def test_late_in_the_day_it_is_ready_tomorrow_after_opening(
    uow: UnitOfWork, variant_id: str, lyon: dict[str, str]
) -> None:
    _stock(uow, variant_id, {lyon["presquile"]: 5})
    found = _near(uow, variant_id, now=datetime(2026, 6, 16, 18, 45, tzinfo=PARIS), limit=1)
    collect = found[0].collect
    assert collect is not None
    assert collect.ready_at == datetime(2026, 6, 17, 11, 0, tzinfo=PARIS)
    assert collect.label_fr == "Retrait demain à 11:00"
    assert found[0].opening.open_now


def test_reserved_and_safety_stock_are_not_promised(
    uow: UnitOfWork, variant_id: str, lyon: dict[str, str]
) -> None:
    service.set_stock(
        uow=uow,
        variant_id=variant_id,
        location_id=lyon["presquile"],
        on_hand=6,
        safety_stock=1,
        reason="count",
    )
    service.reserve_stock(
        uow=uow, variant_id=variant_id, location_id=lyon["presquile"], quantity=2, reference="c"
    )
    uow.commit()
    found = _near(uow, variant_id, limit=1)
    assert (found[0].available, found[0].level) == (3, "low")
    assert _near(uow, variant_id, limit=1, low_threshold=2)[0].level == "in_stock"


def test_nowhere_in_stock_means_no_collection(
    uow: UnitOfWork, variant_id: str, lyon: dict[str, str]
) -> None:
    found = _near(uow, variant_id)
    assert {a.level for a in found} == {"out_of_stock"}
    assert {a.collect for a in found} == {None}


def test_unknown_variant_is_not_found(uow: UnitOfWork, lyon: dict[str, str]) -> None:
    with pytest.raises(NotFound) as caught:
        _near(uow, "var_01jzzzzzzzzzzzzzzzzzzzzzzz")
    assert caught.value.code == "variant_not_found"


def test_query_count_does_not_grow_with_stores(
    uow: UnitOfWork,
    db: Database,
    variant_id: str,
    make_location: Callable[..., str],
    queries: Any,
) -> None:
    """Reading (as the API does): the stock alone, for 2 stores or 12, once the store directory
    was checked (at most every second, and after this process wrote); its check and four loads
    when the directory was just changed. Writing units of work skip the directory: the stock,
    the ranking and the winners' four loads."""

    def count(read_only: bool, limit: int) -> int:
        with UnitOfWork(db, read_only=read_only) as unit:
            before = queries.count
            found = service.availability_near(
                uow=unit,
                variant_id=variant_id,
                latitude=SHOPPER[0],
                longitude=SHOPPER[1],
                limit=limit,
                now=TUESDAY_AFTERNOON,
            )
            assert len(found) == limit
            return int(queries.count - before)

    for i in range(2):
        store = make_location(f"A{i}", latitude=45.76 + i / 100, longitude=4.83)
        service.set_stock(uow=uow, variant_id=variant_id, location_id=store, on_hand=i, reason="x")
    uow.commit()
    assert (count(True, 2), count(True, 2), count(False, 2)) == (6, 1, 6)

    for i in range(10):
        store = make_location(f"B{i}", latitude=45.70 - i / 100, longitude=4.80)
        service.set_stock(uow=uow, variant_id=variant_id, location_id=store, on_hand=i, reason="x")
    uow.commit()
    assert (count(True, 12), count(True, 12), count(False, 12)) == (6, 1, 6)


def test_the_directory_sees_changes_from_any_unit_of_work(
    uow: UnitOfWork, db: Database, variant_id: str, make_location: Callable[..., str]
) -> None:
    store = make_location("A", latitude=SHOPPER[0], longitude=SHOPPER[1])

    def read() -> service.StoreAvailability:
        with UnitOfWork(db, read_only=True) as unit:
            (found,) = service.availability_near(
                uow=unit,
                variant_id=variant_id,
                latitude=SHOPPER[0],
                longitude=SHOPPER[1],
                now=TUESDAY_AFTERNOON,
            )
            return found

    assert read().opening.open_now
    stores.update_location(uow=uow, location_id=store, data=LocationUpdate(hours=[], services=[]))
    assert read().opening.open_now  # not committed yet: nobody else sees it
    uow.commit()
    changed = read()
    assert not changed.opening.open_now
    assert changed.collect is None
    make_location("B", latitude=SHOPPER[0] + 0.01, longitude=SHOPPER[1])
    with UnitOfWork(db, read_only=True) as unit:
        assert len(stores.find_nearest_locations(uow=unit, latitude=45.0, longitude=4.0)) == 2


def test_another_process_change_is_seen_within_the_check_interval(
    db: Database,
    database_url: str,
    variant_id: str,
    make_location: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process (here: another engine on the same database) changes a store: this
    process's snapshot may serve the old hours until its next check, never longer."""
    monkeypatch.setattr(directory, "CHECK_INTERVAL_SECONDS", 0.05)
    store = make_location("A", latitude=SHOPPER[0], longitude=SHOPPER[1])

    def open_now() -> bool:
        with UnitOfWork(db, read_only=True) as unit:
            (found,) = service.availability_near(
                uow=unit,
                variant_id=variant_id,
                latitude=SHOPPER[0],
                longitude=SHOPPER[1],
                now=TUESDAY_AFTERNOON,
            )
            return found.opening.open_now

    assert open_now()
    other = Database.from_url(database_url)
    try:
        with UnitOfWork(other) as unit:
            stores.update_location(uow=unit, location_id=store, data=LocationUpdate(hours=[]))
            unit.commit()
    finally:
        other.dispose()
    time.sleep(0.06)
    assert not open_now()


def test_availability_by_product_lists_sizes_per_store(
    uow: UnitOfWork,
    make_location: Callable[..., str],
    make_product: Callable[[int], tuple[str, list[str]]],
) -> None:
    product_id, sizes = make_product(3)
    store = make_location("PRESQUILE", latitude=SHOPPER[0], longitude=SHOPPER[1])
    _stock(uow, sizes[0], {store: 4})
    _stock(uow, sizes[2], {store: 1})
    found = service.availability_by_product(
        uow=uow,
        product_id=product_id,
        latitude=SHOPPER[0],
        longitude=SHOPPER[1],
        now=TUESDAY_AFTERNOON,
    )
    assert len(found) == 1
    assert found[0].variants == {
        sizes[0]: (4, "in_stock"),
        sizes[1]: (0, "out_of_stock"),
        sizes[2]: (1, "low"),
    }
    assert list(found[0].variants) == sizes
    assert found[0].opening.open_now
