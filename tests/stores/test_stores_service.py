"""Stores service: writing locations, the gazetteer, the locator."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from parcours.core.db import Database
from parcours.core.errors import Conflict, InvalidInput, NotFound
from parcours.core.uow import UnitOfWork
from parcours.stores import service
from parcours.stores.models import Location, LocationKind, Service
from parcours.stores.schemas import LocationCreate, LocationUpdate, OpeningExceptionIn

Fields = Callable[..., dict[str, Any]]
LYON = (45.7640, 4.8357)
PARIS = (48.8566, 2.3522)


def test_upsert_creates_then_updates_by_code(location_fields: Fields, uow: UnitOfWork) -> None:
    created = service.upsert_location(uow=uow, **location_fields("LYON-1"))
    uow.commit()
    assert created.id.startswith("loc_")
    assert [(h.weekday, h.opens, h.closes) for h in created.hours][:1] == [(0, "10:00", "19:30")]
    again = service.upsert_location(
        uow=uow,
        **location_fields(
            "LYON-1",
            name="Lyon Part-Dieu",
            services=["click_and_collect", "appointments"],
            hours=[(0, "09:00", "12:00"), (0, "14:00", "18:00")],
            exceptions=[OpeningExceptionIn(day=date(2026, 12, 25), reason="Noël")],
        ),
    )
    uow.commit()
    assert again.id == created.id
    assert again.name == "Lyon Part-Dieu"
    assert sorted(s.service for s in again.services) == ["appointments", "click_and_collect"]
    assert [(h.opens, h.closes) for h in again.hours] == [("09:00", "12:00"), ("14:00", "18:00")]
    assert [(e.day, e.opens) for e in again.exceptions] == [(date(2026, 12, 25), None)]


def test_upsert_accepts_objects_with_hour_fields(location_fields: Fields, uow: UnitOfWork) -> None:
    class Hours:
        weekday, opens, closes = 2, "10:00", "18:00"

    location = service.upsert_location(uow=uow, **location_fields("X", hours=[Hours()]))
    assert [(h.weekday, h.opens) for h in location.hours] == [(2, "10:00")]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"latitude": 91.0}, "latitude"),
        ({"longitude": -181.0}, "longitude"),
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"timezone": "CET+1"}, "time zone"),
        ({"hours": [(0, "10:00", "09:00")]}, "before"),
        ({"hours": [(0, "25:00", "26:00")]}, "HH:MM"),
        ({"hours": [(0, "10h00", "19:00")]}, "HH:MM"),
        ({"hours": [(7, "10:00", "19:00")]}, "weekday"),
        ({"hours": [(0, "10:00", "14:00"), (0, "13:00", "19:00")]}, "overlap"),
        ({"services": ["teleportation"]}, "teleportation"),
        ({"kind": "spaceport"}, "spaceport"),
    ],
)
def test_invalid_locations_are_refused(
    location_fields: Fields, uow: UnitOfWork, override: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        service.upsert_location(uow=uow, **location_fields("BAD", **override))
    assert caught.value.code == "invalid_location"


def test_exception_needs_both_times_or_none() -> None:
    with pytest.raises(ValueError, match="both"):
        OpeningExceptionIn(day=date(2026, 1, 1), opens="10:00")


def test_create_refuses_a_taken_code(
    location_fields: Fields, uow: UnitOfWork, make_location: Callable[..., Location]
) -> None:
    make_location("LYON-1")
    with pytest.raises(Conflict) as caught:
        service.create_location(uow=uow, data=LocationCreate(**location_fields("LYON-1", hours=[])))
    assert caught.value.code == "location_code_taken"


def test_update_changes_only_what_is_given(
    uow: UnitOfWork, make_location: Callable[..., Location]
) -> None:
    location = make_location("LYON-1", services=[Service.CLICK_AND_COLLECT])
    updated = service.update_location(
        uow=uow, location_id=location.id, data=LocationUpdate(name="Lyon Bellecour", hours=[])
    )
    uow.commit()
    assert updated.name == "Lyon Bellecour"
    assert updated.city == "Lyon"
    assert updated.hours == []
    assert [s.service for s in updated.services] == ["click_and_collect"]
    with pytest.raises(InvalidInput):
        service.update_location(uow=uow, location_id=location.id, data=LocationUpdate(name=None))


def test_get_unknown_location_is_not_found(uow: UnitOfWork) -> None:
    with pytest.raises(NotFound) as caught:
        service.get_location(uow=uow, location_id="loc_nope")
    assert caught.value.code == "location_not_found"


def test_list_locations_pages_and_filters(
    uow: UnitOfWork, make_location: Callable[..., Location]
) -> None:
    for i in range(5):
        make_location(f"S{i}")
    make_location("WH", kind=LocationKind.WAREHOUSE)
    first, cursor = service.list_locations(uow=uow, limit=4)
    assert len(first) == 4
    assert cursor is not None
    rest, end = service.list_locations(uow=uow, limit=4, cursor=cursor)
    assert len(rest) == 2
    assert end is None
    assert {loc.code for loc in first + rest} == {"S0", "S1", "S2", "S3", "S4", "WH"}
    warehouses, _ = service.list_locations(uow=uow, kind=LocationKind.WAREHOUSE)
    assert [w.code for w in warehouses] == ["WH"]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Saint-Étienne", "saint etienne"),
        ("ST ETIENNE", "saint etienne"),
        ("St-Étienne", "saint etienne"),
        ("L'Haÿ-les-Roses", "l hay les roses"),
        ("Sainte-Foy-lès-Lyon", "sainte foy les lyon"),
        ("Ste Foy les Lyon", "sainte foy les lyon"),
        ("  lyon ", "lyon"),
        ("Cœur", "coeur"),
    ],
)
def test_fold_city(name: str, key: str) -> None:
    assert service.fold_city(name) == key


PLACES = [
    ("75001", "Paris", 48.8626, 2.3363),
    ("75011", "Paris", 48.8591, 2.3797),
    ("69001", "Lyon", 45.7676, 4.8345),
    ("69002", "Lyon", 45.7485, 4.8270),
    ("42000", "Saint-Étienne", 45.4397, 4.3872),
    ("42100", "Saint-Étienne", 45.4220, 4.4000),
    ("93200", "Saint-Denis", 48.9362, 2.3574),
    ("97400", "Saint-Denis", -20.8821, 55.4507),
]


def test_load_places_is_idempotent(uow: UnitOfWork) -> None:
    assert service.load_places(uow=uow, places=PLACES) == len(PLACES)
    assert service.load_places(uow=uow, places=PLACES) == 0


@pytest.mark.parametrize(
    ("query", "label", "near"),
    [
        ("75001", "75001 Paris", (48.8626, 2.3363)),
        (" 75 011 ", "75011 Paris", (48.8591, 2.3797)),
        ("Saint-Étienne", "Saint-Étienne", (45.43, 4.39)),
        ("st etienne", "Saint-Étienne", (45.43, 4.39)),
        ("lyon", "Lyon", (45.758, 4.831)),
        ("LYON 69002", "69002 Lyon", (45.7485, 4.8270)),
        ("saint eti", "Saint-Étienne", (45.43, 4.39)),
        ("Saint-Denis", "Saint-Denis", (48.9362, 2.3574)),  # homonyms: the first postcode
    ],
)
def test_resolve_place(uow: UnitOfWork, query: str, label: str, near: tuple[float, float]) -> None:
    service.load_places(uow=uow, places=PLACES)
    place = service.resolve_place(uow=uow, query=query)
    assert place.label == label
    assert service.haversine_km(place.latitude, place.longitude, *near) < 2


def test_resolve_place_falls_back_to_store_towns(
    uow: UnitOfWork, make_location: Callable[..., Location]
) -> None:
    make_location("GRE", city="Grenoble", postcode="38000", latitude=45.19, longitude=5.72)
    assert service.resolve_place(uow=uow, query="grenoble").label == "Grenoble"
    assert service.resolve_place(uow=uow, query="38000").latitude == 45.19


def test_unknown_place_is_not_found(uow: UnitOfWork) -> None:
    service.load_places(uow=uow, places=PLACES)
    with pytest.raises(NotFound) as caught:
        service.resolve_place(uow=uow, query="Atlantis")
    assert caught.value.code == "place_not_found"


def test_haversine_paris_lyon() -> None:
    assert service.haversine_km(*PARIS, *LYON) == pytest.approx(391.5, abs=1.0)


def test_nearest_locations_are_ranked_and_filtered(
    uow: UnitOfWork, make_location: Callable[..., Location]
) -> None:
    make_location("LYON", latitude=45.7640, longitude=4.8357)
    make_location("VILLEURBANNE", latitude=45.7719, longitude=4.8902, services=[])
    make_location("PARIS", latitude=48.8566, longitude=2.3522)
    make_location("WH", kind=LocationKind.WAREHOUSE, latitude=45.76, longitude=4.84)
    make_location("CLOSED", latitude=45.7641, longitude=4.8358, active=False)

    found = service.find_nearest_locations(uow=uow, latitude=45.76, longitude=4.84, limit=10)
    assert [loc.code for loc, _ in found] == ["LYON", "VILLEURBANNE", "PARIS"]
    assert found[0][1] < found[1][1] < found[2][1]
    assert found[2][1] == pytest.approx(391, abs=3)

    nearby = service.find_nearest_locations(uow=uow, latitude=45.76, longitude=4.84, max_km=50)
    assert [loc.code for loc, _ in nearby] == ["LYON", "VILLEURBANNE"]
    collect = service.find_nearest_locations(
        uow=uow, latitude=45.76, longitude=4.84, service=Service.CLICK_AND_COLLECT
    )
    assert [loc.code for loc, _ in collect] == ["LYON", "PARIS"]
    anything = service.find_nearest_locations(uow=uow, latitude=45.76, longitude=4.84, kind=None)
    assert anything[0][0].code == "WH"
    assert len(service.find_nearest_locations(uow=uow, latitude=0, longitude=0, limit=1)) == 1


def test_nearest_refuses_impossible_coordinates(uow: UnitOfWork) -> None:
    with pytest.raises(InvalidInput):
        service.find_nearest_locations(uow=uow, latitude=95, longitude=0)


def test_locator_over_500_stores_is_query_bounded(
    location_fields: Fields, uow: UnitOfWork, queries: Any
) -> None:
    rng = random.Random(3)
    for i in range(500):
        service.upsert_location(
            uow=uow,
            **location_fields(
                f"S{i:03d}",
                latitude=rng.uniform(42.5, 50.5),
                longitude=rng.uniform(-4.0, 7.5),
                services=[Service.CLICK_AND_COLLECT],
            ),
        )
    uow.commit()
    uow.session.expunge_all()
    started = queries.count
    service.find_nearest_locations(uow=uow, latitude=45.76, longitude=4.84, limit=10)
    # ranking, the winners, then one query per child collection (services, hours, exceptions)
    assert queries.count - started == 5  # how fast under load: bench/availability.py


def test_directory_cards_answer_like_the_rows(
    uow: UnitOfWork, db: Database, make_location: Callable[..., Location]
) -> None:
    location = make_location(
        "LYON-1",
        hours=[(d, "10:00", "19:30") for d in range(6)],
        exceptions=[OpeningExceptionIn(day=date(2026, 12, 25), reason="Noël")],
    )
    with UnitOfWork(db, read_only=True) as reader:
        ((card, _),) = service.find_nearest_locations(uow=reader, latitude=45.7, longitude=4.8)
    assert card.id == location.id
    assert card.offers(Service.CLICK_AND_COLLECT)
    start = datetime(2026, 12, 23, 6, 0, tzinfo=UTC)
    for step in range(0, 4 * 24 * 60, 37):  # every 37 minutes and some seconds, over four days
        at = start + timedelta(minutes=step, seconds=step % 60)
        assert service.opening_status(card, at) == service.opening_status(location, at)
        ready = service.ready_time(card, at=at, lead=timedelta(hours=2))
        exact = service.ready_time(location, at=at, lead=timedelta(hours=2))
        assert ready is not None
        assert exact is not None
        assert timedelta(0) <= exact - ready <= timedelta(minutes=30)  # cards round per minute
