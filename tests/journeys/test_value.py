"""Omnichannel value and cohorts, on customers whose figures are worked out by hand."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from parcours.journeys.engine import JourneyEngine
from parcours.journeys.schemas import Estimate, Period, Scope
from parcours.journeys.value import (
    Moments,
    omnichannel_value,
    ratio_uplift,
    retention_cohorts,
    share_estimate,
)

from .conftest import event

Build = Callable[..., JourneyEngine]
# March 2026; a customer is judged on retention when their first purchase is on or before
# 2026-01-01, 90 days before the end.
SCOPE = Scope(period=Period(start=datetime(2026, 3, 1), end=datetime(2026, 4, 1)))


def _buy(person: str, when: datetime, revenue: int, place: str = "store", **more: Any) -> Any:
    channel = {"store": "store", "online": "web", "other": "server"}[place]
    return event(person, "Order Completed", when, channel=channel, revenue=revenue, **more)


def _customers() -> list[dict[str, Any]]:
    return [
        # store only: s1 (started in December, retained), s2 (new in March, not judged)
        _buy("s1", datetime(2025, 12, 1), 500),
        _buy("s1", datetime(2026, 3, 5), 1000),
        _buy("s1", datetime(2026, 3, 20), 3000),
        _buy("s1", datetime(2026, 4, 2), 9000),  # after the period
        _buy("s2", datetime(2026, 3, 10), 2000),
        # online only: o1 (judged, but bought again only 80 days later), o2 (new)
        _buy("o1", datetime(2025, 12, 20), 700, "online"),
        _buy("o1", datetime(2026, 3, 10), 4000, "online"),
        _buy("o2", datetime(2026, 3, 11), 6000, "online"),
        # omnichannel: m1 (judged, retained), m2 (new)
        _buy("m1", datetime(2025, 10, 1), 100, "online"),
        _buy("m1", datetime(2026, 3, 2), 5000, "online"),
        _buy("m1", datetime(2026, 3, 3), 3000),
        _buy("m2", datetime(2026, 3, 4), 7000, "online"),
        _buy("m2", datetime(2026, 3, 5), 5000),
        _buy("m2", datetime(2026, 3, 6), 1000),
        # neither: an order at an unknown place, a browser
        _buy("x", datetime(2026, 3, 6), 1000, "other"),
        event("y", "Product Viewed", datetime(2026, 3, 6)),
    ]


def _half(sd: float, n: int) -> float:
    return 1.96 * sd / math.sqrt(n)


def _wilson(successes: int, n: int) -> tuple[float, float]:
    p, z2 = successes / n, 1.96**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = 1.96 / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def _triple(e: Estimate) -> tuple[float, float, float]:
    return (e.mean, e.low, e.high)


def test_segments_split_customers_by_the_places_of_their_purchases(journey_engine: Build) -> None:
    result = omnichannel_value(engine=journey_engine(_customers()), scope=SCOPE)

    assert [(s.segment, s.customers) for s in result.segments] == [
        ("store_only", 2),
        ("online_only", 2),
        ("omnichannel", 2),
    ]


def test_store_only_means_and_intervals(journey_engine: Build) -> None:
    result = omnichannel_value(engine=journey_engine(_customers()), scope=SCOPE)
    store = result.segments[0]

    sd_spend = math.sqrt(2 * 1000**2)  # 4000 and 2000 around 3000
    assert _triple(store.spend) == pytest.approx((3000, 1040, 4960))
    assert _triple(store.store_spend) == _triple(store.spend)
    assert _half(sd_spend, 2) == pytest.approx(1960)
    assert _triple(store.orders) == pytest.approx((1.5, 1.5 - 0.98, 1.5 + 0.98))
    # baskets 1000, 3000, 2000
    assert _triple(store.basket) == pytest.approx(
        (2000, 2000 - _half(1000, 3), 2000 + _half(1000, 3))
    )
    assert _triple(store.online_spend) == (0, 0, 0)
    # judged: s1 only (s2 started in March), who bought again 90+ days later
    assert _triple(store.retained) == pytest.approx((1.0, *_wilson(1, 1)))
    assert store.retained.low == pytest.approx(0.2065, abs=1e-4)


def test_online_only_and_omnichannel(journey_engine: Build) -> None:
    result = omnichannel_value(engine=journey_engine(_customers()), scope=SCOPE)
    online, omni = result.segments[1], result.segments[2]

    assert _triple(online.spend) == pytest.approx((5000, 3040, 6960))
    assert _triple(online.orders) == (1, 1, 1)
    assert _triple(online.retained) == pytest.approx((0.0, 0.0, _wilson(0, 1)[1]))
    assert omni.spend.mean == 10500
    assert omni.orders.mean == 2.5
    assert omni.online_spend.mean == 6000
    assert omni.store_spend.mean == 4500
    assert omni.basket.mean == pytest.approx(21000 / 5)
    assert omni.retained.mean == 1.0


def test_uplifts_by_the_delta_method(journey_engine: Build) -> None:
    result = omnichannel_value(engine=journey_engine(_customers()), scope=SCOPE)

    # online: omnichannel 5000, 7000 against online-only 4000, 6000
    half = 1.96 * math.sqrt(2e6 / (2 * 5000**2) + 6000**2 * 2e6 / (2 * 5000**4))
    assert result.spend_uplift_online is not None
    assert _triple(result.spend_uplift_online) == pytest.approx((0.2, 0.2 - half, 0.2 + half))
    assert half == pytest.approx(0.6123, abs=1e-4)
    # store: omnichannel 3000, 6000 against store-only 4000, 2000
    half = 1.96 * math.sqrt(4.5e6 / (2 * 3000**2) + 4500**2 * 2e6 / (2 * 3000**4))
    assert result.spend_uplift_store is not None
    assert _triple(result.spend_uplift_store) == pytest.approx((0.5, 0.5 - half, 0.5 + half))


def test_an_empty_segment_is_left_out_and_has_no_uplift(journey_engine: Build) -> None:
    rows = [r for r in _customers() if r["profile_id"] in {"s1", "s2", "o1", "o2"}]

    result = omnichannel_value(engine=journey_engine(rows), scope=SCOPE)

    assert [s.segment for s in result.segments] == ["store_only", "online_only"]
    assert result.spend_uplift_online is None
    assert result.spend_uplift_store is None


def test_empty_lake_and_origins(journey_engine: Build) -> None:
    assert omnichannel_value(engine=journey_engine([]), scope=SCOPE).segments == []
    rows = [
        _buy("s1", datetime(2026, 3, 5), 1000),
        _buy("o1", datetime(2026, 3, 5), 1000, "online", origin="simulated"),
        _buy("o1", datetime(2026, 3, 6), 1000, origin="simulated"),
    ]
    live = omnichannel_value(
        engine=journey_engine(rows), scope=SCOPE.model_copy(update={"origins": ["live"]})
    )
    assert [(s.segment, s.customers) for s in live.segments] == [("store_only", 1)]


def test_no_judged_customer_gives_the_uninformative_share() -> None:
    assert _triple(share_estimate(0, 0)) == (0.0, 0.0, 1.0)
    assert ratio_uplift(Moments(2, 10, 1), Moments(2, 0, 0)) is None
    assert ratio_uplift(Moments(0, 0, 0), Moments(2, 10, 1)) is None


# --- cohorts ---------------------------------------------------------------------------------

COHORT_SCOPE = Scope(period=Period(start=datetime(2026, 1, 1), end=datetime(2026, 4, 15)))


def _cohort_rows() -> list[dict[str, Any]]:
    return [
        _buy("c1", datetime(2026, 1, 10), 100),
        _buy("c1", datetime(2026, 2, 10), 100, "online"),
        _buy("c1", datetime(2026, 4, 2), 100, "online"),  # April has not ended
        _buy("c2", datetime(2026, 1, 20), 100, "online"),
        _buy("c2", datetime(2026, 3, 5), 100),
        _buy("c3", datetime(2026, 1, 25), 100),
        _buy("c3", datetime(2026, 1, 28), 100),  # the same month: not a return
        _buy("c4", datetime(2026, 2, 3), 100),
        _buy("c4", datetime(2026, 3, 1), 100),
        _buy("c4", datetime(2026, 3, 2), 100),
        _buy("c5", datetime(2025, 12, 15), 100),  # an older customer: no cohort
        _buy("c5", datetime(2026, 2, 15), 100),
        _buy("c6", datetime(2026, 3, 10), 100, "online"),
    ]


def test_cohorts_by_first_month_and_place(journey_engine: Build) -> None:
    result = retention_cohorts(engine=journey_engine(_cohort_rows()), scope=COHORT_SCOPE, months=3)

    assert [(c.cohort, c.first_channel, c.customers, c.retention) for c in result.cohorts] == [
        ("2026-01", "online", 1, [0.0, 1.0]),
        ("2026-01", "store", 2, [0.5, 0.0]),
        ("2026-02", "store", 1, [1.0]),
        ("2026-03", "online", 1, []),
    ]
    assert result.tables()[0].columns[-1] == "month_2"


def test_cohort_months_end_with_the_period(journey_engine: Build) -> None:
    engine = journey_engine(_cohort_rows())
    scope = Scope(period=Period(start=datetime(2026, 1, 1), end=datetime(2026, 4, 1)))

    one = retention_cohorts(engine=engine, scope=scope, months=1)
    full = retention_cohorts(engine=engine, scope=scope, months=6)

    assert [c.retention for c in one.cohorts] == [[0.0], [0.5], [1.0], []]
    assert [c.retention for c in full.cohorts] == [[0.0, 1.0], [0.5, 0.0], [1.0], []]
    assert retention_cohorts(engine=journey_engine([]), scope=scope).cohorts == []
