"""Friction rows (drop-offs, searches, stock, checkouts, pickups), each against the week
before."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from parcours.journeys.engine import JourneyEngine
from parcours.journeys.friction import find_friction
from parcours.journeys.schemas import FrictionResult, Period, Scope

from .conftest import T0, event, item

Build = Callable[..., JourneyEngine]
H, D = timedelta(hours=1), timedelta(days=1)
SCOPE = Scope(period=Period(start=T0, end=T0 + 7 * D))  # previous: the 7 days before T0


def _rows(result: FrictionResult, kind: str) -> list[tuple[Any, ...]]:
    return [
        (r.label, r.store_id, r.count, r.previous, r.value) for r in result.rows if r.kind == kind
    ]


def _funnel_events() -> list[dict[str, Any]]:
    rows = []
    for person, steps in {"p1": 4, "p2": 3, "p3": 2, "p4": 1}.items():
        names = ("Product Viewed", "Product Added", "Checkout Started", "Order Completed")
        rows += [event(person, name, n * H) for n, name in enumerate(names[:steps])]
    rows += [
        event("p5", "Product Viewed", 0 * H),
        event("p5", "Product Added", 7 * D + H),  # outside the 7-day window
        event("p6", "Product Viewed", H, channel="store"),  # not online: not in the funnel
        event("p6", "Product Added", 2 * H, channel="store"),
        event("q1", "Product Viewed", -3 * D),  # the week before
    ]
    return rows


def test_drop_offs_of_the_online_funnel(journey_engine: Build) -> None:
    result = find_friction(engine=journey_engine(_funnel_events()), scope=SCOPE)

    assert _rows(result, "drop_off") == [
        ("Product Viewed → Product Added", None, 2, 1, None),
        ("Checkout Started → Order Completed", None, 1, 0, None),
        ("Product Added → Checkout Started", None, 1, 0, None),
    ]


def test_abandoned_checkouts_by_step(journey_engine: Build) -> None:
    rows = [
        event("p1", "Checkout Started", 0 * H),
        event("p1", "Order Completed", H),
        event("p2", "Checkout Started", 2 * H),  # never completed
        event("p7", "Checkout Started", D),
        event("p7", "Checkout Step Completed", D + 5 * timedelta(minutes=1), step=1),
        event("p7", "Checkout Step Completed", D + 10 * timedelta(minutes=1), step=2),
        event("p8", "Checkout Started", 2 * D),
        event("p8", "Order Completed", 2 * D + 23 * H),
        event("p9", "Checkout Started", 3 * D),
        event("p9", "Order Completed", 4 * D + H),  # too late
        event("p10", "Checkout Started", 7 * D - H),
        event("p10", "Order Completed", 7 * D + H),  # after the period, within 24 h
        event("r1", "Checkout Started", -2 * D),
    ]

    result = find_friction(engine=journey_engine(rows), scope=SCOPE)

    assert _rows(result, "abandoned_checkout") == [
        ("Checkout Started", None, 2, 1, None),
        ("Checkout Step Completed 2", None, 1, 0, None),
    ]


def test_zero_result_searches(journey_engine: Build) -> None:
    def search(query: str, at: timedelta, results: int = 0) -> dict[str, Any]:
        return event("s", "Products Searched", at, query=query, results=results)

    rows = [
        search("parapluie", H),
        search(" Parapluie ", 2 * H),
        search("vélo", 3 * H),
        search("chaussures", 4 * H, results=5),
        *(search("vélo", -D + n * H) for n in range(3)),
        search("gants", -D),  # only the week before
    ]

    result = find_friction(engine=journey_engine(rows), scope=SCOPE)

    assert _rows(result, "zero_results") == [
        ("parapluie", None, 2, 0, None),
        ("vélo", None, 1, 3, None),
    ]


def test_out_of_stock_demand_and_lost_sales(journey_engine: Build) -> None:
    def view(person: str, at: timedelta, product: str, **more: Any) -> dict[str, Any]:
        return event(person, "Product Viewed", at, product_id=product, **more)

    online_order = event("u4", "Order Completed", 3 * H, revenue=3500)
    store_sale = event("u6", "Order Completed", -30 * D, channel="store", revenue=2000)
    later_sale = event("u6", "Order Completed", 8 * D, channel="store", revenue=100000)
    events = [
        *(view("u1", n * H, "P1", store_id="S1", available=False) for n in (1, 2, 3)),
        event("u1", "Product Added", 4 * H, product_id="P1", store_id="S1", available=False),
        view("u2", H, "P2", available=False),
        view("u3", H, "P1", store_id="S1", available=True),
        view("u3", 2 * H, "P3"),
        view("u4", H, "P9"),
        view("u4", 2 * H, "P9"),
        online_order,
        store_sale,
        later_sale,
        *(view("u5", -2 * D + n * H, "P1", store_id="S1", available=False) for n in (1, 2)),
    ]
    items = [
        item(online_order, "P1", 3000, quantity=2),
        item(online_order, "P9", 500),
        item(store_sale, "P1", 2000),
        item(later_sale, "P1", 100000),  # after the period: not in the price
    ]

    result = find_friction(engine=journey_engine(events, items), scope=SCOPE)

    # 8 online views, 2 purchased lines: a rate of 0.25; P1 sells at 5000 / 3 units
    assert _rows(result, "out_of_stock") == [
        ("P1", "S1", 4, 2, round(4 * 5000 / 3 * 0.25)),
        ("P2", None, 1, 0, None),  # never sold: no price
    ]
    assert _rows(result, "out_of_stock")[0][-1] == 1667


def test_pickup_waits_per_store(journey_engine: Build) -> None:
    def collected(store: str, at: timedelta, waited: int | None) -> dict[str, Any]:
        return event(
            "c", "Order Collected", at, channel="store", store_id=store, waited_seconds=waited
        )

    rows = [
        collected("S1", H, 60),
        collected("S1", 2 * H, 600),
        collected("S1", 3 * H, 120),
        collected("S2", H, 30),
        collected("S2", 2 * H, 90),
        collected("S2", 3 * H, None),  # unknown wait
        collected("S1", -D, 1000),  # the week before: counted, not in the median
        collected("S3", -D, 50),
    ]

    result = find_friction(engine=journey_engine(rows), scope=SCOPE)

    assert _rows(result, "pickup_wait") == [("S1", "S1", 3, 1, 120), ("S2", "S2", 2, 0, 60)]


def test_rows_come_by_kind_then_count_and_are_capped(journey_engine: Build) -> None:
    rows = [
        event("s", "Products Searched", n * H, query=f"q{n:02d}", results=0)
        for n in range(12)
        for _ in range(1 + (n == 5))
    ]
    rows += [
        event("c", "Order Collected", H, channel="store", store_id="S1", waited_seconds=10),
        event("v", "Product Viewed", H),
    ]

    result = find_friction(engine=journey_engine(rows), scope=SCOPE)
    capped = find_friction(engine=journey_engine(rows), scope=SCOPE, limit=3)

    assert [r.kind for r in result.rows] == ["drop_off"] + ["zero_results"] * 10 + ["pickup_wait"]
    assert [r.label for r in result.rows][1:4] == ["q05", "q00", "q01"]
    assert [r.label for r in capped.rows] == [
        "Product Viewed → Product Added",
        "q05",
        "q00",
        "q01",
        "S1",
    ]


def test_origins_and_empty_lake(journey_engine: Build) -> None:
    rows = [
        event("s", "Products Searched", H, query="live", results=0),
        event("t", "Products Searched", H, query="simulated", results=0, origin="simulated"),
    ]
    live = find_friction(
        engine=journey_engine(rows), scope=SCOPE.model_copy(update={"origins": ["live"]})
    )

    assert [r.label for r in live.rows] == ["live"]
    assert find_friction(engine=journey_engine([]), scope=SCOPE).rows == []
