"""Top paths and Sankey links, on journeys small enough to follow by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pyarrow as pa

from parcours.journeys.engine import LINKS, JourneyEngine, Tail
from parcours.journeys.paths import top_paths
from parcours.journeys.schema import EVENTS, ITEMS
from parcours.journeys.schemas import Period, Scope

from .conftest import T0, event, write_lake

Build = Callable[..., JourneyEngine]
H, D = timedelta(hours=1), timedelta(days=1)
SCOPE = Scope(period=Period(start=T0 - H, end=T0 + 10 * D))


def _researcher(person: str) -> list[dict[str, object]]:
    """An email, two online views (one touch), a store purchase, then a review (after buying:
    not part of the path). The store recognition between the views is not a touch."""
    return [
        event(person, "Campaign Received", 0 * H, channel="email"),
        event(person, "Product Viewed", 1 * H),
        event(person, "Customer Recognised", 90 * timedelta(minutes=1), channel="store"),
        event(person, "Product Viewed", 2 * H),
        event(person, "Order Completed", D, channel="store", revenue=5000),
        event(person, "Product Reviewed", 2 * D),
    ]


def _journeys() -> list[dict[str, object]]:
    return [
        *_researcher("alice"),
        *_researcher("dave"),
        event("bob", "Product Viewed", 0 * H),
        event("bob", "Product Added", 1 * H),
        event("bob", "Checkout Started", 2 * H),
        event("bob", "Order Completed", 3 * H, revenue=2000),
        event("carol", "Product Viewed", 0 * H),
        # erin: five touches, the purchase beyond a depth of 4
        event("erin", "Product Viewed", 0 * H, channel="social"),
        event("erin", "Products Searched", 1 * H, query="sac", results=4),
        event("erin", "Product Viewed", 2 * H),
        event("erin", "Product Added", 3 * H),
        event("erin", "Order Completed", 4 * H, channel="store", revenue=1000),
        # frank: before the period
        event("frank", "Product Viewed", -2 * H),
    ]


def test_top_paths_counts_persons_and_conversions(journey_engine: Build) -> None:
    result = top_paths(engine=journey_engine(_journeys()), scope=SCOPE)

    assert [(r.steps, r.persons, r.converted) for r in result.paths] == [
        (["messaging:ad", "online:view", "store:purchase"], 2, 2),
        (["online:ad", "online:search", "online:view", "online:cart"], 1, 1),
        (["online:view"], 1, 0),
        (["online:view", "online:cart", "online:checkout", "online:purchase"], 1, 1),
    ]


def test_sankey_links_join_consecutive_positions(journey_engine: Build) -> None:
    result = top_paths(engine=journey_engine(_journeys()), scope=SCOPE)

    assert [(link.source, link.target, link.persons) for link in result.links] == [
        ("1. messaging · ad", "2. online · view", 2),
        ("1. online · ad", "2. online · search", 1),
        ("1. online · view", "2. online · cart", 1),
        ("2. online · view", "3. store · purchase", 2),
        ("2. online · cart", "3. online · checkout", 1),
        ("2. online · search", "3. online · view", 1),
        ("3. online · checkout", "4. online · purchase", 1),
        ("3. online · view", "4. online · cart", 1),
    ]


def test_depth_and_limit_truncate(journey_engine: Build) -> None:
    result = top_paths(engine=journey_engine(_journeys()), scope=SCOPE, depth=2, limit=2)

    assert [(r.steps, r.persons, r.converted) for r in result.paths] == [
        (["messaging:ad", "online:view"], 2, 2),  # bought after the second touch
        (["online:ad", "online:search"], 1, 1),
    ]
    assert {link.target[0] for link in result.links} == {"2"}
    assert result.tables()[0].rows[0] == ["messaging:ad > online:view", 2, 2]


def test_period_is_half_open(journey_engine: Build) -> None:
    engine = journey_engine(
        [
            event("p", "Product Viewed", 0 * H),
            event("p", "Product Added", 1 * H),  # exactly at the end: outside
            event("q", "Product Added", -H),  # exactly at the start: inside
        ]
    )
    scope = Scope(period=Period(start=T0 - H, end=T0 + H))

    result = top_paths(engine=engine, scope=scope)

    assert [(r.steps, r.persons) for r in result.paths] == [
        (["online:cart"], 1),
        (["online:view"], 1),
    ]
    assert result.links == []


def test_origins_filter(journey_engine: Build) -> None:
    engine = journey_engine(
        [
            event("p", "Product Viewed", 0 * H),
            event("s", "Product Viewed", 0 * H, origin="simulated"),
            event("s", "Order Completed", H, channel="store", origin="simulated"),
        ]
    )

    live = top_paths(engine=engine, scope=SCOPE.model_copy(update={"origins": ["live"]}))
    every = top_paths(engine=engine, scope=SCOPE)

    assert [(r.steps, r.persons) for r in live.paths] == [(["online:view"], 1)]
    assert [(r.steps, r.persons) for r in every.paths] == [
        (["online:view"], 1),
        (["online:view", "store:purchase"], 1),
    ]


def test_a_device_stitched_to_a_profile_is_one_journey(tmp_path: Path) -> None:
    rows = [
        event("anon:dev1", "Product Viewed", 0 * H),
        event("pat", "Order Completed", D, channel="store", revenue=3000),
    ]
    links = pa.Table.from_pylist([{"anonymous_id": "dev1", "profile_id": "pat"}], schema=LINKS)
    stitched = JourneyEngine(
        write_lake(tmp_path / "a", rows),
        tail=lambda: Tail(EVENTS.empty_table(), ITEMS.empty_table(), links),
    )
    apart = JourneyEngine(write_lake(tmp_path / "b", rows))

    assert [(r.steps, r.converted) for r in top_paths(engine=stitched, scope=SCOPE).paths] == [
        (["online:view", "store:purchase"], 1)
    ]
    assert [(r.steps, r.converted) for r in top_paths(engine=apart, scope=SCOPE).paths] == [
        (["online:view"], 0),
        (["store:purchase"], 1),
    ]


def test_empty_lake(journey_engine: Build) -> None:
    result = top_paths(engine=journey_engine([]), scope=SCOPE)

    assert result.paths == []
    assert result.links == []
