"""The overview of a period: how many people, customers, orders and how much revenue, online and
in store, and the two figures the journey pages start from (omnichannel customers, store
purchases after online research).

Definitions (quoted by docs/journeys.md):

- *persons*: distinct persons (profile, stitched device or anonymous device) with any event in
  the period.
- *orders*, *revenue*: "Order Completed" events in the period and the sum of their ``revenue``
  (merchandise total, minor units); *online_revenue* and *store_revenue* split it by the order's
  place (an order at another place counts in the total only).
- *customers*: persons with at least one "Order Completed" in the period.
- *omnichannel_share*: of those customers, the share who bought both online and in store in the
  period.
- *research_online_share*: of the store purchases in the period, the share preceded by an
  online "Product Viewed", by the same person, in the 7 days before the purchase (from 7 days
  before it, strictly before it), of one of the bought products or of one of their categories
  (from the order's items). The same rule as web-to-store's ``share_after_research`` with
  ``days=7``.
- *daily*: online and store orders per UTC day, every day of the period (zero-filled).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

import duckdb

from parcours.core.clock import utcnow
from parcours.journeys.engine import JourneyEngine
from parcours.journeys.schemas import Overview, Period, Scope

#: How far before a store purchase an online product view counts as research for it.
RESEARCH_DAYS = 7


def naive_utc(moment: datetime) -> datetime:
    """``moment`` as the lake stores times: naive UTC (an aware time is converted first)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def period_bounds(period: Period) -> tuple[datetime, datetime]:
    """The period's ``[start, end)`` as naive UTC times, ready to bind to ``ts >= ? AND ts < ?``."""
    return naive_utc(period.start), naive_utc(period.end)


def previous_period(period: Period) -> Period:
    """The period of the same length just before ``period``: what a trend compares with."""
    start, end = period_bounds(period)
    return Period(start=start - (end - start), end=start)


def default_scope(
    *, engine: JourneyEngine, days: int = 90, origins: Sequence[str] | None = None
) -> Scope:
    """The last ``days`` of the selected data: the period ends at the midnight (UTC) after the
    latest event, so the last day with data is the period's last full day. An imported history
    that ended a year ago still opens on its own last quarter rather than on an empty one. With
    no data at all, the period is the last ``days`` up to the end of today."""
    rows = engine.rows("SELECT MAX(ts) FROM events", origins=origins)
    latest = rows[0][0] if rows and rows[0][0] is not None else utcnow()
    end = datetime.combine(naive_utc(latest).date() + timedelta(days=1), time())
    return Scope(
        period=Period(start=end - timedelta(days=days), end=end),
        origins=list(origins) if origins is not None else None,
    )


def overview(*, engine: JourneyEngine, scope: Scope) -> Overview:
    """The headline figures of the period (see the module's definitions)."""
    start, end = period_bounds(scope.period)
    with engine.connect(origins=scope.origins) as con:
        persons = _scalar(
            con,
            "SELECT COUNT(DISTINCT person_id) FROM events WHERE ts >= ? AND ts < ?",
            [start, end],
        )
        orders, customers, revenue, online_revenue, store_revenue = _orders(con, start, end)
        omnichannel = _omnichannel_customers(con, start, end)
        store_orders, researched = _research_online(con, start, end)
        daily = _daily(con, start, end)
    return Overview(
        period=Period(start=start, end=end),
        persons=persons,
        customers=customers,
        orders=orders,
        revenue=revenue,
        online_revenue=online_revenue,
        store_revenue=store_revenue,
        omnichannel_share=omnichannel / customers if customers else 0.0,
        research_online_share=researched / store_orders if store_orders else 0.0,
        daily=daily,
        origins=engine.lake.origins(),
    )


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any]) -> int:
    row = con.execute(sql, list(params)).fetchall()[0]
    return int(row[0] or 0)


def _orders(
    con: duckdb.DuckDBPyConnection, start: datetime, end: datetime
) -> tuple[int, int, int, int, int]:
    """Orders, customers, revenue, online revenue, store revenue."""
    row = con.execute(
        """
        SELECT COUNT(*), COUNT(DISTINCT person_id), SUM(COALESCE(revenue, 0)),
               SUM(CASE WHEN place = 'online' THEN COALESCE(revenue, 0) ELSE 0 END),
               SUM(CASE WHEN place = 'store' THEN COALESCE(revenue, 0) ELSE 0 END)
        FROM events
        WHERE event = 'Order Completed' AND ts >= ? AND ts < ?
        """,
        [start, end],
    ).fetchall()[0]
    orders, customers, revenue, online, store = (int(value or 0) for value in row)
    return orders, customers, revenue, online, store


def _omnichannel_customers(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> int:
    return _scalar(
        con,
        """
        SELECT COUNT(*) FROM (
            SELECT person_id
            FROM events
            WHERE event = 'Order Completed' AND ts >= ? AND ts < ?
            GROUP BY person_id
            HAVING SUM(CASE WHEN place = 'online' THEN 1 ELSE 0 END) > 0
               AND SUM(CASE WHEN place = 'store' THEN 1 ELSE 0 END) > 0
        ) omnichannel
        """,
        [start, end],
    )


def _research_online(
    con: duckdb.DuckDBPyConnection, start: datetime, end: datetime
) -> tuple[int, int]:
    """Store purchases in the period, and those after online research of a bought product or
    category (the research may fall before the period: it is the purchase that is counted)."""
    row = con.execute(
        f"""
        WITH store_orders AS (
            SELECT event_id, person_id, ts
            FROM events
            WHERE event = 'Order Completed' AND place = 'store' AND ts >= ? AND ts < ?
        ),
        researched AS (
            SELECT DISTINCT o.event_id
            FROM store_orders o
            JOIN items i ON i.event_id = o.event_id
            JOIN events v ON v.person_id = o.person_id
             AND v.event = 'Product Viewed' AND v.place = 'online'
             AND v.ts >= o.ts - INTERVAL '{RESEARCH_DAYS} days' AND v.ts < o.ts
             AND (v.product_id = i.product_id OR v.category = i.category)
        )
        SELECT (SELECT COUNT(*) FROM store_orders), (SELECT COUNT(*) FROM researched)
        """,
        [start, end],
    ).fetchall()[0]
    return int(row[0]), int(row[1])


def _daily(
    con: duckdb.DuckDBPyConnection, start: datetime, end: datetime
) -> list[tuple[str, int, int]]:
    rows = con.execute(
        """
        SELECT CAST(ts AS DATE) AS day,
               SUM(CASE WHEN place = 'online' THEN 1 ELSE 0 END),
               SUM(CASE WHEN place = 'store' THEN 1 ELSE 0 END)
        FROM events
        WHERE event = 'Order Completed' AND ts >= ? AND ts < ?
        GROUP BY CAST(ts AS DATE)
        """,
        [start, end],
    ).fetchall()
    counts = {day.isoformat(): (int(online), int(store)) for day, online, store in rows}
    days: list[tuple[str, int, int]] = []
    day, last = start.date(), (end - timedelta(microseconds=1)).date()
    while day <= last:
        online, store = counts.get(day.isoformat(), (0, 0))
        days.append((day.isoformat(), online, store))
        day += timedelta(days=1)
    return days
