"""Where shoppers get stuck: the places to fix first, each with its count in the period and in
the period of the same length just before it (the trend).

Definitions (quoted by docs/journeys.md):

- *drop_off*: the online shopping funnel "Product Viewed" → "Product Added" → "Checkout
  Started" → "Order Completed". A person enters at their first online product view in the
  period; each next step must follow the previous one within 7 days of that entry (the window
  may run past the period end). One row per step transition, counting the persons who reached
  the first step of it and not the second.
- *zero_results*: "Products Searched" with ``results = 0``, per query (lower-cased, trimmed).
- *out_of_stock*: "Product Viewed" and "Product Added" events with ``available = false``, per
  product (``label``) and store (``store_id``; none for the web shop's own stock): the demand
  for what could not be bought. ``value`` estimates the lost sales, in minor units: demand ×
  the product's average paid unit price (its "Order Completed" item lines up to the period
  end: amount ÷ quantity) × the period's view-to-purchase rate (online purchased item lines ÷
  online product views, at most 1). None when the product never sold or nobody viewed a
  product online.
- *abandoned_checkout*: checkout events ("Checkout Started", "Checkout Step Completed" step
  n) that the person followed neither with another checkout event nor with an "Order
  Completed" within 24 hours (the look-ahead may run past the period end): the step where each
  attempt stopped. Label "Checkout Started" or "Checkout Step Completed <n>".
- *pickup_wait*: "Order Collected" events with a known ``waited_seconds``, per store;
  ``value`` is the median wait in the period, in seconds.

Rows come by kind (in the order above), then count (descending); at most ``limit`` per kind.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any, Final

import duckdb

from parcours.journeys.engine import JourneyEngine
from parcours.journeys.overview import period_bounds, previous_period
from parcours.journeys.schemas import FrictionResult, FrictionRow, Scope

FUNNEL: Final = ("Product Viewed", "Product Added", "Checkout Started", "Order Completed")
FUNNEL_DAYS: Final = 7
CHECKOUT_HOURS: Final = 24
KINDS: Final = ("drop_off", "zero_results", "out_of_stock", "abandoned_checkout", "pickup_wait")


def find_friction(*, engine: JourneyEngine, scope: Scope, limit: int = 10) -> FrictionResult:
    """The friction rows of the period (see the module's definitions)."""
    start, end = period_bounds(scope.period)
    before = previous_period(scope.period).start
    with engine.connect(origins=scope.origins) as con:
        rows = [
            *_drop_offs(con, before, start, end),
            *_zero_results(con, before, start, end, limit),
            *_out_of_stock(con, before, start, end, limit),
            *_abandoned_checkouts(con, before, start, end),
            *_pickup_waits(con, before, start, end),
        ]
    ordered = sorted(rows, key=lambda r: (KINDS.index(r.kind), -r.count, r.label, r.store_id or ""))
    taken: Counter[str] = Counter()
    kept: list[FrictionRow] = []
    for row in ordered:
        taken[row.kind] += 1
        if taken[row.kind] <= limit:
            kept.append(row)
    return FrictionResult(rows=kept)


#: Counts the rows of one period (bind its start and end): one query counts both periods.
_COUNT_IN = "SUM(CASE WHEN ts >= ? AND ts < ? THEN 1 ELSE 0 END)"


# --- drop-offs -------------------------------------------------------------------------------

_FUNNEL_SQL = f"""
WITH steps AS (
    SELECT person_id, event, ts
    FROM events
    WHERE place = 'online' AND event IN ({", ".join(f"'{name}'" for name in FUNNEL)})
      AND ts >= ? AND ts < ? + INTERVAL '{FUNNEL_DAYS} days'
),
entered AS (
    SELECT person_id, MIN(ts) AS t1
    FROM steps
    WHERE event = '{FUNNEL[0]}' AND ts < ?
    GROUP BY person_id
),
added AS (
    SELECT s.person_id, s.t1, MIN(e.ts) AS t2
    FROM entered s
    JOIN steps e ON e.person_id = s.person_id
    WHERE e.event = '{FUNNEL[1]}' AND e.ts >= s.t1 AND e.ts < s.t1 + INTERVAL '{FUNNEL_DAYS} days'
    GROUP BY s.person_id, s.t1
),
started AS (
    SELECT s.person_id, s.t1, MIN(e.ts) AS t3
    FROM added s
    JOIN steps e ON e.person_id = s.person_id
    WHERE e.event = '{FUNNEL[2]}' AND e.ts >= s.t2 AND e.ts < s.t1 + INTERVAL '{FUNNEL_DAYS} days'
    GROUP BY s.person_id, s.t1
),
completed AS (
    SELECT DISTINCT s.person_id
    FROM started s
    JOIN steps e ON e.person_id = s.person_id
    WHERE e.event = '{FUNNEL[3]}' AND e.ts >= s.t3 AND e.ts < s.t1 + INTERVAL '{FUNNEL_DAYS} days'
)
SELECT (SELECT COUNT(*) FROM entered), (SELECT COUNT(*) FROM added),
       (SELECT COUNT(*) FROM started), (SELECT COUNT(*) FROM completed)
"""


def _funnel(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> list[int]:
    return [int(n) for n in con.execute(_FUNNEL_SQL, [start, end, end]).fetchall()[0]]


def _drop_offs(
    con: duckdb.DuckDBPyConnection, before: datetime, start: datetime, end: datetime
) -> list[FrictionRow]:
    now, then = _funnel(con, start, end), _funnel(con, before, start)
    rows = []
    for i in range(len(FUNNEL) - 1):
        count, previous = now[i] - now[i + 1], then[i] - then[i + 1]
        if count or previous:
            label = f"{FUNNEL[i]} → {FUNNEL[i + 1]}"
            rows.append(FrictionRow(kind="drop_off", label=label, count=count, previous=previous))
    return rows


# --- searches and stock ----------------------------------------------------------------------


def _zero_results(
    con: duckdb.DuckDBPyConnection, before: datetime, start: datetime, end: datetime, limit: int
) -> list[FrictionRow]:
    rows = con.execute(
        f"""
        SELECT query_text, now_count, previous_count FROM (
            SELECT LOWER(TRIM(query)) AS query_text,
                   {_COUNT_IN} AS now_count, {_COUNT_IN} AS previous_count
            FROM events
            WHERE event = 'Products Searched' AND results = 0 AND query IS NOT NULL
              AND ts >= ? AND ts < ?
            GROUP BY LOWER(TRIM(query))
        ) searches
        WHERE now_count > 0 AND query_text <> ''
        ORDER BY now_count DESC, query_text
        LIMIT ?
        """,
        [start, end, before, start, before, end, limit],
    ).fetchall()
    return [
        FrictionRow(kind="zero_results", label=str(query), count=int(now), previous=int(then))
        for query, now, then in rows
    ]


def _view_to_purchase_rate(
    con: duckdb.DuckDBPyConnection, start: datetime, end: datetime
) -> float | None:
    """Purchased online item lines per online product view in the period (at most 1)."""
    bought, viewed = con.execute(
        """
        SELECT (SELECT COUNT(*) FROM items
                WHERE event = 'Order Completed' AND place = 'online' AND ts >= ? AND ts < ?),
               (SELECT COUNT(*) FROM events
                WHERE event = 'Product Viewed' AND place = 'online' AND ts >= ? AND ts < ?)
        """,
        [start, end, start, end],
    ).fetchall()[0]
    if not viewed:
        return None
    return min(1.0, int(bought) / int(viewed))


def _out_of_stock(
    con: duckdb.DuckDBPyConnection, before: datetime, start: datetime, end: datetime, limit: int
) -> list[FrictionRow]:
    rows = con.execute(
        f"""
        SELECT d.product_id, d.store_id, d.now_count, d.previous_count, p.unit_price
        FROM (
            SELECT product_id, store_id, {_COUNT_IN} AS now_count, {_COUNT_IN} AS previous_count
            FROM events
            WHERE event IN ('Product Viewed', 'Product Added') AND available = FALSE
              AND product_id IS NOT NULL AND ts >= ? AND ts < ?
            GROUP BY product_id, store_id
        ) d
        LEFT JOIN (
            SELECT product_id, 1.0 * SUM(amount) / SUM(quantity) AS unit_price
            FROM items
            WHERE event = 'Order Completed' AND ts < ? AND quantity > 0
            GROUP BY product_id
        ) p ON p.product_id = d.product_id
        WHERE d.now_count > 0
        ORDER BY d.now_count DESC, d.product_id, d.store_id
        LIMIT ?
        """,
        [start, end, before, start, before, end, end, limit],
    ).fetchall()
    rate = _view_to_purchase_rate(con, start, end)
    return [
        FrictionRow(
            kind="out_of_stock",
            label=str(product),
            store_id=store,
            count=int(now),
            previous=int(then),
            value=_lost_sales(int(now), price, rate),
        )
        for product, store, now, then, price in rows
    ]


def _lost_sales(demand: int, unit_price: Any, rate: float | None) -> int | None:
    if unit_price is None or rate is None:
        return None
    return round(demand * float(unit_price) * rate)


# --- checkouts and pickups -------------------------------------------------------------------


def _abandoned_checkouts(
    con: duckdb.DuckDBPyConnection, before: datetime, start: datetime, end: datetime
) -> list[FrictionRow]:
    """Each checkout event whose next checkout or order event (an order at the same instant
    comes after it) is more than 24 hours later, or never comes."""
    rows = con.execute(
        f"""
        WITH flow AS (
            SELECT event, step, ts,
                   LEAD(ts) OVER (
                       PARTITION BY person_id
                       ORDER BY ts, CASE WHEN event = 'Order Completed' THEN 1 ELSE 0 END,
                                event_id
                   ) AS next_ts
            FROM events
            WHERE event IN ('Checkout Started', 'Checkout Step Completed', 'Order Completed')
              AND ts >= ? AND ts < ? + INTERVAL '{CHECKOUT_HOURS} hours'
        )
        SELECT event, CASE WHEN event = 'Checkout Started' THEN NULL ELSE step END,
               {_COUNT_IN}, {_COUNT_IN}
        FROM flow
        WHERE event <> 'Order Completed' AND ts < ?
          AND (next_ts IS NULL OR next_ts > ts + INTERVAL '{CHECKOUT_HOURS} hours')
        GROUP BY event, CASE WHEN event = 'Checkout Started' THEN NULL ELSE step END
        """,
        [before, end, start, end, before, start, end],
    ).fetchall()
    return [
        FrictionRow(
            kind="abandoned_checkout",
            label=_checkout_label(str(event), step),
            count=int(now),
            previous=int(then),
        )
        for event, step, now, then in rows
        if now
    ]


def _checkout_label(event: str, step: int | None) -> str:
    return event if step is None else f"{event} {step}"


def _pickup_waits(
    con: duckdb.DuckDBPyConnection, before: datetime, start: datetime, end: datetime
) -> list[FrictionRow]:
    rows = con.execute(
        f"""
        SELECT store_id, {_COUNT_IN}, {_COUNT_IN},
               PERCENTILE_CONT(0.5) WITHIN GROUP (
                   ORDER BY CASE WHEN ts >= ? THEN waited_seconds END
               )
        FROM events
        WHERE event = 'Order Collected' AND waited_seconds IS NOT NULL AND ts >= ? AND ts < ?
        GROUP BY store_id
        """,
        [start, end, before, start, start, before, end],
    ).fetchall()
    return [
        FrictionRow(
            kind="pickup_wait",
            label=store or "",
            store_id=store,
            count=int(now),
            previous=int(then),
            value=None if median is None else round(float(median)),
        )
        for store, now, then, median in rows
        if now
    ]
