"""Funnels over hand-written journeys whose answers are worked out by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from pydantic import ValidationError
from tests.journeys.conftest import T0, event

from parcours.journeys.engine import JourneyEngine
from parcours.journeys.funnels import dropped_profiles, run_funnel
from parcours.journeys.schemas import FunnelSpec, Period, Scope

D, H = timedelta(days=1), timedelta(hours=1)
SCOPE = Scope(period=Period(start=T0 - D, end=T0 + 30 * D))
SHOP = FunnelSpec.model_validate(
    {
        "steps": [
            {"event": "Product Viewed"},
            {"event": "Product Added"},
            {"event": "Checkout Started"},
            {"event": "Order Completed"},
        ],
        "window_days": 7,
        "breakdown": "channel",
    }
)


def journeys() -> list[dict[str, object]]:
    return [
        # p1: the whole funnel on the web in two hours
        event("p1", "Product Viewed", 0 * H),
        event("p1", "Product Added", 1 * H),
        event("p1", "Checkout Started", 1.5 * H),
        event("p1", "Order Completed", 2 * H),
        # p2: views in the app, adds, stops
        event("p2", "Product Viewed", 0 * H, "app"),
        event("p2", "Product Added", 3 * H, "app"),
        # p3: buys 7 days + 1 s after the view: outside the window, stops at checkout
        event("p3", "Product Viewed", 0 * H),
        event("p3", "Product Added", 1 * H),
        event("p3", "Checkout Started", 2 * H),
        event("p3", "Order Completed", 7 * D + timedelta(seconds=1)),
        # p4: steps out of order: added before viewing counts only from the view on
        event("p4", "Product Added", 0 * H, "store"),
        event("p4", "Product Viewed", 1 * H, "store"),
        # p5: a first attempt that stops, a second one (10 days later) that completes
        event("p5", "Product Viewed", 0 * H),
        event("p5", "Product Viewed", 10 * D, "app"),
        event("p5", "Product Added", 10 * D + H, "app"),
        event("p5", "Checkout Started", 10 * D + 2 * H, "app"),
        event("p5", "Order Completed", 10 * D + 3 * H, "app"),
        # anonymous device: views only, and exactly 7 days to the add (inside the window)
        event("anon:d1", "Product Viewed", 0 * H),
        event("anon:d1", "Product Added", 7 * D),
    ]


def test_ordered_funnel_counts_each_person_once_at_their_best_attempt(
    journey_engine: Callable[..., JourneyEngine],
) -> None:
    result = run_funnel(engine=journey_engine(journeys()), scope=SCOPE, spec=SHOP)

    # p4 added before viewing; d1 added exactly 7 days after (inside); p3 paid 1 s too late
    assert [s.persons for s in result.steps] == [6, 5, 3, 2]
    assert [s.dropped for s in result.steps] == [0, 1, 2, 1]
    assert result.steps[1].conversion == pytest.approx(5 / 6)
    assert result.steps[3].step_conversion == pytest.approx(2 / 3)
    # step 2 reached by p1 (1 h), p2 (3 h), p3 (1 h), p5 (1 h), d1 (7 days)
    assert result.steps[1].median_seconds == pytest.approx(3600)
    assert result.steps[3].median_seconds == pytest.approx(2700)  # p1 30 min, p5 1 h
    # the channel of each person's chosen attempt: p5's second attempt was in the app
    by_channel = {row.value: row.persons for row in result.breakdown}
    assert by_channel == {"web": [3, 3, 2, 1], "app": [2, 2, 1, 1], "store": [1, 0, 0, 0]}


def test_dropped_profiles_are_named_without_anonymous_devices(
    journey_engine: Callable[..., JourneyEngine],
) -> None:
    engine = journey_engine(journeys())
    assert dropped_profiles(engine=engine, scope=SCOPE, spec=SHOP, step=2) == ["p4"]
    assert dropped_profiles(engine=engine, scope=SCOPE, spec=SHOP, step=3) == ["p2"]
    assert dropped_profiles(engine=engine, scope=SCOPE, spec=SHOP, step=4) == ["p3"]


def test_any_order_counts_steps_done_in_any_sequence(
    journey_engine: Callable[..., JourneyEngine],
) -> None:
    spec = SHOP.model_copy(update={"order": "any", "breakdown": None})
    result = run_funnel(engine=journey_engine(journeys()), scope=SCOPE, spec=spec)
    # p4 added then viewed: both count in any order; p5's add came 10 days after her first
    # view, outside the window of the one attempt (from the first event) any order makes
    assert [s.persons for s in result.steps][:2] == [6, 5]


def test_a_step_filter_narrows_the_step(journey_engine: Callable[..., JourneyEngine]) -> None:
    body = SHOP.model_dump()
    body["steps"][0]["filters"] = [{"column": "channel", "op": "eq", "value": "app"}]
    spec = FunnelSpec.model_validate(body)
    result = run_funnel(engine=journey_engine(journeys()), scope=SCOPE, spec=spec)
    assert [s.persons for s in result.steps] == [2, 2, 1, 1]


def test_a_funnel_names_known_columns_only() -> None:
    with pytest.raises(ValidationError, match="unknown column"):
        FunnelSpec.model_validate(
            {
                "steps": [
                    {"event": "a", "filters": [{"column": "x; drop", "value": "1"}]},
                    {"event": "b"},
                ]
            }
        )


@pytest.mark.parametrize(
    ("column", "op", "value", "message"),
    [
        ("results", "eq", "many", "whole numbers"),
        ("channel", "eq", ["web", "app"], "'in' operator"),
        ("available", "gt", True, "true or false"),
        ("channel", "in", [], "at least one value"),
    ],
)
def test_a_filter_value_must_fit_its_column(
    column: str, op: str, value: object, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        FunnelSpec.model_validate(
            {
                "steps": [
                    {"event": "a", "filters": [{"column": column, "op": op, "value": value}]},
                    {"event": "b"},
                ]
            }
        )
