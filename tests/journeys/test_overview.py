"""The overview's figures and the default period, on a few days worked out by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

from parcours.core.clock import utcnow
from parcours.journeys.engine import LINKS, JourneyEngine, Tail
from parcours.journeys.overview import default_scope, overview
from parcours.journeys.schema import EVENTS, ITEMS
from parcours.journeys.schemas import Period, Scope

from .conftest import event, item, write_lake

Build = Callable[..., JourneyEngine]
SCOPE = Scope(period=Period(start=datetime(2026, 3, 2), end=datetime(2026, 3, 5)))


def _at(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour)


def _shop() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    a_order = event("a", "Order Completed", _at(2, 12), channel="store", revenue=5000)
    b_order = event("b", "Order Completed", _at(3, 18), channel="store", revenue=3000)
    c_store = event("c", "Order Completed", _at(4, 10), channel="store", revenue=2000)
    g_order = event("g", "Order Completed", _at(3, 11), channel="till", revenue=1000)
    events = [
        # a: viewed the product online the day before the period, bought it in store
        event("a", "Product Viewed", _at(1, 10), product_id="P1", category="bags"),
        a_order,
        # b: viewed another shoe online, bought a shoe in store
        event("b", "Product Viewed", _at(3, 9), product_id="P7", category="shoes"),
        b_order,
        # c: online views too early and too late; bought in store and online
        event("c", "Product Viewed", _at(4, 11), product_id="P1", category="bags"),
        event("c", "Product Viewed", datetime(2026, 2, 20), product_id="P1", category="bags"),
        c_store,
        event("c", "Order Completed", _at(4, 12), revenue=1000),
        # d: online only; e: a visitor; f: bought at the period's end (outside)
        event("d", "Order Completed", _at(2, 10), channel="app", revenue=4000),
        event("anon:e", "Product Viewed", _at(3, 8), product_id="P1"),
        event("f", "Order Completed", datetime(2026, 3, 5), channel="store", revenue=9999),
        # g: looked at the product on a kiosk in store: not online research
        event("g", "Product Viewed", _at(3, 10), channel="kiosk", product_id="P1"),
        g_order,
    ]
    items = [
        item(a_order, "P1", 5000, category="bags"),
        item(b_order, "P8", 3000, category="shoes"),
        item(c_store, "P1", 2000, category="bags"),
        item(g_order, "P1", 1000, category="bags"),
    ]
    return events, items


def test_overview_figures(journey_engine: Build) -> None:
    result = overview(engine=journey_engine(*_shop()), scope=SCOPE)

    assert (result.persons, result.customers, result.orders) == (6, 5, 6)
    assert (result.revenue, result.online_revenue, result.store_revenue) == (16000, 5000, 11000)
    assert result.omnichannel_share == 1 / 5  # c
    assert result.research_online_share == 2 / 4  # a (product), b (category)
    assert result.daily == [("2026-03-02", 1, 1), ("2026-03-03", 0, 2), ("2026-03-04", 1, 1)]
    assert result.origins == ["live"]
    assert result.tables()[1].rows[1] == ["2026-03-03", 0, 2]


def test_origins_filter_keeps_the_lake_origins(journey_engine: Build) -> None:
    events, items = _shop()
    events.append(event("s", "Order Completed", _at(2, 9), revenue=500, origin="simulated"))

    engine = journey_engine(events, items)
    live = overview(engine=engine, scope=SCOPE.model_copy(update={"origins": ["live"]}))
    every = overview(engine=engine, scope=SCOPE)

    assert (live.orders, live.revenue, live.daily[0]) == (6, 16000, ("2026-03-02", 1, 1))
    assert (every.orders, every.revenue, every.daily[0]) == (7, 16500, ("2026-03-02", 2, 1))
    assert live.origins == every.origins == ["live", "simulated"]


def test_research_by_a_device_stitched_later(tmp_path: Path) -> None:
    order = event("pat", "Order Completed", _at(3, 15), channel="store", revenue=3000)
    events = [event("anon:dev1", "Product Viewed", _at(2, 20), product_id="P1"), order]
    items = [item(order, "P1", 3000)]
    links = pa.Table.from_pylist([{"anonymous_id": "dev1", "profile_id": "pat"}], schema=LINKS)
    stitched = JourneyEngine(
        write_lake(tmp_path / "a", events, items),
        tail=lambda: Tail(EVENTS.empty_table(), ITEMS.empty_table(), links),
    )
    apart = JourneyEngine(write_lake(tmp_path / "b", events, items))

    together = overview(engine=stitched, scope=SCOPE)
    separate = overview(engine=apart, scope=SCOPE)

    assert (together.persons, together.research_online_share) == (1, 1.0)
    assert (separate.persons, separate.research_online_share) == (2, 0.0)


def test_research_window_is_the_seven_days_before_the_purchase(journey_engine: Build) -> None:
    def store_order(person: str) -> dict[str, Any]:
        return event(person, "Order Completed", _at(4, 12), channel="store", revenue=100)

    orders = [store_order(person) for person in ("early", "edge", "same")]
    events = [
        *orders,
        event(
            "early", "Product Viewed", _at(4, 12) - timedelta(days=7, seconds=1), product_id="P1"
        ),
        event("edge", "Product Viewed", _at(4, 12) - timedelta(days=7), product_id="P1"),
        event("same", "Product Viewed", _at(4, 12), product_id="P1"),  # not before it
    ]

    result = overview(
        engine=journey_engine(events, [item(o, "P1", 100) for o in orders]), scope=SCOPE
    )

    assert result.research_online_share == 1 / 3  # edge


def test_empty_lake(journey_engine: Build) -> None:
    result = overview(engine=journey_engine([]), scope=SCOPE)

    assert (result.persons, result.customers, result.orders, result.revenue) == (0, 0, 0, 0)
    assert (result.omnichannel_share, result.research_online_share) == (0.0, 0.0)
    assert [d[1:] for d in result.daily] == [(0, 0)] * 3
    assert result.origins == []


def test_default_scope_ends_after_the_latest_event(journey_engine: Build) -> None:
    events, items = _shop()
    events.append(event("s", "Product Viewed", datetime(2026, 5, 1, 23, 59), origin="simulated"))
    engine = journey_engine(events, items)

    every = default_scope(engine=engine)
    live = default_scope(engine=engine, days=30, origins=["live"])

    assert every.period == Period(start=datetime(2026, 2, 1), end=datetime(2026, 5, 2))
    assert every.origins is None
    # live: f's order at midnight on 5 March is the latest
    assert live.period == Period(start=datetime(2026, 2, 4), end=datetime(2026, 3, 6))
    assert live.origins == ["live"]


def test_default_scope_of_an_empty_lake_ends_today(journey_engine: Build) -> None:
    scope = default_scope(engine=journey_engine([]), days=7)
    now = utcnow().replace(tzinfo=None)  # the tests' clock: the same day for the app and here

    assert scope.period.end - scope.period.start == timedelta(days=7)
    assert scope.period.end == datetime.combine(now.date() + timedelta(days=1), datetime.min.time())


def test_an_aware_period_is_read_as_utc(journey_engine: Build) -> None:
    paris = timezone(timedelta(hours=1))
    start = datetime(2026, 3, 2, 1, tzinfo=paris)  # midnight UTC
    scope = Scope(period=Period(start=start, end=start + timedelta(days=3)))

    result = overview(engine=journey_engine(*_shop()), scope=scope)

    assert result.period == SCOPE.period
    assert result.orders == 6  # f's order at midnight UTC on 5 March is outside
