"""What omnichannel customers are worth next to single-channel ones, and how cohorts of new
customers keep buying, by the channel they started with.

Definitions (quoted by docs/journeys.md). A *purchase* is an "Order Completed" at place
``online`` or ``store`` (click-and-collect orders are online purchases); its value is its
``revenue`` (merchandise total, minor units).

- *customers*: persons with at least one purchase in the period, split by the places of their
  purchases in the period: *store_only*, *online_only* or *omnichannel* (both). A segment
  without customers is left out of the result.
- Per segment, each measure is a mean over its customers with a 95% confidence interval by the
  normal approximation, mean ± 1.96·sd/√n (sample standard deviation; with one customer there
  is no spread to estimate and the interval is the mean itself; the low end is never below 0):
  *spend* (revenue per customer in the period), *orders* (purchases per customer), *online
  spend* and *store spend* (revenue per customer at each place, zeros included), and *basket*
  (revenue per purchase, a mean over the segment's purchases).
- *retained*: the share of customers who bought again 90 days or more after their first
  purchase. The first purchase is the first in the selected data, even before the period;
  purchases count up to the period end. Only customers whose first purchase is at least 90 days
  before the period end can be judged, so only they count (a customer who started last week has
  not had the chance). Interval: Wilson score (it stays within 0..1 on small segments). With no
  such customer the estimate is 0 with the interval 0..1 (nothing is known).
- *uplifts*: omnichannel online spend per customer against online-only customers' (and store
  spend against store-only customers'), as ratio − 1 (+0.10 = +10%), with a 95% interval by the
  delta method on the ratio of two independent means: Var(m₁/m₀) ≈ s₁²/(n₁m₀²) + m₁²s₀²/(n₀m₀⁴).
  None when either segment is empty or the baseline spends nothing.
- *cohorts*: customers whose first purchase (first in the selected data) falls in the period,
  grouped by its calendar month (UTC) and place (online | store). *Retention month +k*: the share
  of the cohort with a purchase in the k-th calendar month after the cohort's month. A month gets
  a value only once it has fully elapsed before the period end, so recent cohorts have shorter
  lists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal, cast

import duckdb

from parcours.journeys.engine import JourneyEngine
from parcours.journeys.overview import period_bounds
from parcours.journeys.schemas import (
    CohortRow,
    CohortsResult,
    Estimate,
    OmnichannelValueResult,
    Scope,
    SegmentValue,
)

Z: Final = 1.96  # 95% two-sided
RETENTION_DAYS: Final = 90
Segment = Literal["store_only", "online_only", "omnichannel"]
SEGMENTS: Final[tuple[Segment, ...]] = ("store_only", "online_only", "omnichannel")


@dataclass(frozen=True, slots=True)
class Moments:
    """What SQL aggregates give of a measure: count, mean and sample standard deviation."""

    n: int
    mean: float
    sd: float  # 0 when n < 2


def mean_estimate(moments: Moments) -> Estimate:
    """Mean ± 1.96·sd/√n, the low end floored at 0 (every measure here is non-negative)."""
    if moments.n == 0:
        return Estimate(mean=0.0, low=0.0, high=0.0)
    half = Z * moments.sd / math.sqrt(moments.n)
    return Estimate(mean=moments.mean, low=max(0.0, moments.mean - half), high=moments.mean + half)


def share_estimate(successes: int, n: int) -> Estimate:
    """The share ``successes / n`` with its Wilson score interval; 0 within 0..1 when n = 0."""
    if n == 0:
        return Estimate(mean=0.0, low=0.0, high=1.0)
    p = successes / n
    denominator = 1 + Z * Z / n
    centre = (p + Z * Z / (2 * n)) / denominator
    half = Z / denominator * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return Estimate(mean=p, low=max(0.0, centre - half), high=min(1.0, centre + half))


def ratio_uplift(treated: Moments, baseline: Moments) -> Estimate | None:
    """``treated.mean / baseline.mean − 1`` with a 95% delta-method interval."""
    if treated.n == 0 or baseline.n == 0 or baseline.mean <= 0:
        return None
    ratio = treated.mean / baseline.mean
    variance = treated.sd**2 / (treated.n * baseline.mean**2) + (
        treated.mean**2 * baseline.sd**2 / (baseline.n * baseline.mean**4)
    )
    half = Z * math.sqrt(variance)
    return Estimate(mean=ratio - 1, low=ratio - 1 - half, high=ratio - 1 + half)


# --- omnichannel value -----------------------------------------------------------------------

_CUSTOMERS_SQL = f"""
CREATE TEMP TABLE value_customers AS
WITH purchases AS (
    SELECT person_id, ts, place, COALESCE(revenue, 0) AS revenue
    FROM events
    WHERE event = 'Order Completed' AND place IN ('online', 'store') AND ts < ?
),
history AS (
    SELECT person_id, MIN(ts) AS first_ts, MAX(ts) AS last_ts
    FROM purchases
    GROUP BY person_id
),
in_period AS (
    SELECT person_id,
           COUNT(*) AS orders,
           SUM(revenue) AS spend,
           SUM(CASE WHEN place = 'online' THEN revenue ELSE 0 END) AS online_spend,
           SUM(CASE WHEN place = 'store' THEN revenue ELSE 0 END) AS store_spend,
           SUM(CASE WHEN place = 'online' THEN 1 ELSE 0 END) AS online_orders,
           SUM(CASE WHEN place = 'store' THEN 1 ELSE 0 END) AS store_orders
    FROM purchases
    WHERE ts >= ?
    GROUP BY person_id
)
SELECT p.person_id, p.orders, p.spend, p.online_spend, p.store_spend,
       CASE WHEN p.online_orders = 0 THEN 'store_only'
            WHEN p.store_orders = 0 THEN 'online_only'
            ELSE 'omnichannel' END AS segment,
       CASE WHEN h.first_ts <= ? THEN 1 ELSE 0 END AS judged,
       CASE WHEN h.first_ts <= ?
             AND h.last_ts >= h.first_ts + INTERVAL '{RETENTION_DAYS} days'
            THEN 1 ELSE 0 END AS retained
FROM in_period p
JOIN history h ON h.person_id = p.person_id
"""

_MEASURES: Final = ("spend", "orders", "online_spend", "store_spend")


def omnichannel_value(*, engine: JourneyEngine, scope: Scope) -> OmnichannelValueResult:
    """Spend, frequency, basket and retention per segment, and the omnichannel uplifts."""
    start, end = period_bounds(scope.period)
    judged_before = end - timedelta(days=RETENTION_DAYS)
    with engine.connect(origins=scope.origins) as con:
        con.execute(_CUSTOMERS_SQL, [end, start, judged_before, judged_before])
        measures = _segment_measures(con)
        baskets = _segment_baskets(con, start, end)
    segments = [
        _segment_value(segment, measures[segment], baskets[segment])
        for segment in SEGMENTS
        if segment in measures
    ]

    def uplift(treated: str, baseline: str, measure: str) -> Estimate | None:
        if treated not in measures or baseline not in measures:
            return None
        return ratio_uplift(measures[treated][measure], measures[baseline][measure])

    return OmnichannelValueResult(
        segments=segments,
        spend_uplift_online=uplift("omnichannel", "online_only", "online_spend"),
        spend_uplift_store=uplift("omnichannel", "store_only", "store_spend"),
    )


def _moments(n: Any, mean: Any, sd: Any) -> Moments:
    return Moments(n=int(n), mean=float(mean or 0), sd=float(sd or 0))


def _segment_measures(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Moments]]:
    """Per segment: the moments of each per-customer measure, and ``retained`` as
    (n = customers judged, mean = retained count)."""
    aggregates = ", ".join(f"AVG({m}), STDDEV_SAMP({m})" for m in _MEASURES)
    rows = con.execute(
        f"SELECT segment, COUNT(*), {aggregates}, SUM(judged), SUM(retained) "
        "FROM value_customers GROUP BY segment"
    ).fetchall()
    result: dict[str, dict[str, Moments]] = {}
    for segment, n, *values in rows:
        measures = {
            name: _moments(n, values[2 * i], values[2 * i + 1]) for i, name in enumerate(_MEASURES)
        }
        judged, retained = values[-2:]
        measures["retained"] = Moments(n=int(judged or 0), mean=float(retained or 0), sd=0.0)
        result[str(segment)] = measures
    return result


def _segment_baskets(
    con: duckdb.DuckDBPyConnection, start: datetime, end: datetime
) -> dict[str, Moments]:
    rows = con.execute(
        """
        SELECT c.segment, COUNT(*), AVG(COALESCE(e.revenue, 0)), STDDEV_SAMP(COALESCE(e.revenue, 0))
        FROM events e
        JOIN value_customers c ON c.person_id = e.person_id
        WHERE e.event = 'Order Completed' AND e.place IN ('online', 'store')
          AND e.ts >= ? AND e.ts < ?
        GROUP BY c.segment
        """,
        [start, end],
    ).fetchall()
    return {str(segment): _moments(n, mean, sd) for segment, n, mean, sd in rows}


def _segment_value(segment: str, measures: dict[str, Moments], basket: Moments) -> SegmentValue:
    retained = measures["retained"]
    return SegmentValue(
        segment=cast(Segment, segment),
        customers=measures["spend"].n,
        spend=mean_estimate(measures["spend"]),
        orders=mean_estimate(measures["orders"]),
        basket=mean_estimate(basket),
        retained=share_estimate(int(retained.mean), retained.n),
        online_spend=mean_estimate(measures["online_spend"]),
        store_spend=mean_estimate(measures["store_spend"]),
    )


# --- cohorts ---------------------------------------------------------------------------------

_FIRSTS_SQL = """
CREATE TEMP TABLE cohort_purchases AS
SELECT person_id, event_id, ts, place,
       EXTRACT(YEAR FROM ts) * 12 + EXTRACT(MONTH FROM ts) - 1 AS month_index
FROM events
WHERE event = 'Order Completed' AND place IN ('online', 'store') AND ts < ?
"""

_COHORT_SQL = """
CREATE TEMP TABLE cohort_firsts AS
SELECT person_id, ts AS first_ts, place AS first_place, month_index AS cohort_index
FROM (
    SELECT person_id, ts, place, month_index,
           ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY ts, event_id) AS n
    FROM cohort_purchases
) ranked
WHERE n = 1 AND ts >= ?
"""


def retention_cohorts(*, engine: JourneyEngine, scope: Scope, months: int = 6) -> CohortsResult:
    """New customers per month and first place, and the share buying again in each of the
    following ``months`` calendar months (those fully elapsed)."""
    start, end = period_bounds(scope.period)
    with engine.connect(origins=scope.origins) as con:
        con.execute(_FIRSTS_SQL, [end])
        con.execute(_COHORT_SQL, [start])
        sizes = con.execute(
            "SELECT cohort_index, first_place, COUNT(*) FROM cohort_firsts "
            "GROUP BY cohort_index, first_place"
        ).fetchall()
        returns = con.execute(
            """
            SELECT cohort_index, first_place, month_index - cohort_index AS k,
                   COUNT(DISTINCT f.person_id)
            FROM cohort_firsts f
            JOIN cohort_purchases p ON p.person_id = f.person_id
            WHERE month_index - cohort_index BETWEEN 1 AND ?
            GROUP BY cohort_index, first_place, month_index - cohort_index
            """,
            [months],
        ).fetchall()
    returning = {(int(c), str(p), int(k)): int(count) for c, p, k, count in returns}
    cohorts = []
    for cohort_index, place, customers in sorted((int(c), str(p), int(n)) for c, p, n in sizes):
        elapsed = min(months, _months_elapsed(cohort_index, end))
        retention = [
            returning.get((cohort_index, place, k), 0) / customers for k in range(1, elapsed + 1)
        ]
        cohorts.append(
            CohortRow(
                cohort=_month_label(cohort_index),
                first_channel=place,
                customers=customers,
                retention=retention,
            )
        )
    return CohortsResult(cohorts=cohorts)


def _month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _months_elapsed(cohort_index: int, end: datetime) -> int:
    """How many calendar months after the cohort's month have ended by ``end`` (the month
    holding ``end`` has not, even when ``end`` is its first instant: ``[start, end)``)."""
    last_complete = end.year * 12 + end.month - 2
    return max(0, last_complete - cohort_index)
