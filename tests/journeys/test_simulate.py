"""The simulator: the same seed writes the same history, about the size asked, in the lake's
schema, with the patterns the analyses look for — and omnichannel customers spending more
without anything saying they should."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from parcours.journeys.lake import Lake, read_table
from parcours.journeys.schema import EVENTS, ITEMS, SIMULATED
from parcours.journeys.simulate import simulate_history

END = datetime(2026, 11, 22, 12, 0)
SIZE = 60_000


def _simulate(root: Path, seed: int = 7) -> Lake:
    lake = Lake(root)
    simulate_history(
        lake=lake, events=SIZE, end=END, days=120, seed=seed, profiles=["cus_a", "cus_b"]
    )
    return lake


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return _simulate(tmp_path_factory.mktemp("sim"))


@pytest.fixture(scope="module")
def con(lake: Lake) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.register("events", read_table(lake, "events"))
    connection.register("items", read_table(lake, "items"))
    return connection


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    return float(con.execute(sql).fetchall()[0][0] or 0)


def test_same_seed_same_history(lake: Lake, tmp_path: Path) -> None:
    again = read_table(_simulate(tmp_path / "again"), "events").sort_by("event_id")
    first = read_table(lake, "events").sort_by("event_id")
    assert again.equals(first)
    other = read_table(_simulate(tmp_path / "other", seed=8), "events")
    assert other.num_rows != first.num_rows or not other.sort_by("event_id").equals(first)


def test_size_schema_and_period(lake: Lake) -> None:
    events = read_table(lake, "events")
    items = read_table(lake, "items")
    assert abs(events.num_rows - SIZE) < 0.05 * SIZE
    assert events.schema.equals(EVENTS)
    assert items.schema.equals(ITEMS)
    assert set(events["origin"].to_pylist()) == {SIMULATED}
    assert pa.compute.max(events["ts"]).as_py() <= END
    assert lake.origins() == [SIMULATED]
    assert {"cus_a", "cus_b"} <= set(events["profile_id"].to_pylist())


def test_orders_and_their_lines_agree(con: duckdb.DuckDBPyConnection) -> None:
    mismatched = _one(
        con,
        """SELECT count(*) FROM (SELECT order_id, revenue FROM events
           WHERE event = 'Order Completed') o
           JOIN (SELECT order_id, sum(amount) AS amount FROM items GROUP BY 1) i USING (order_id)
           WHERE o.revenue <> i.amount""",
    )
    assert mismatched == 0


def test_the_patterns_the_analyses_look_for(con: duckdb.DuckDBPyConnection) -> None:
    assert _one(
        con, "SELECT count(*) FROM events WHERE event = 'Products Searched' AND results = 0"
    )
    assert _one(con, "SELECT count(*) FROM events WHERE event = 'Product Viewed' AND NOT available")
    assert _one(
        con,
        "SELECT count(*) FROM events WHERE event = 'Store Stock Checked' AND store_id IS NOT NULL",
    )
    assert _one(con, "SELECT count(*) FROM events WHERE event = 'Product Reviewed'")
    assert _one(con, "SELECT count(*) FROM events WHERE event = 'Order Refunded'")
    assert (
        _one(con, "SELECT count(DISTINCT step) FROM events WHERE event = 'Checkout Step Completed'")
        == 3
    )
    # Abandonment: more checkouts started than paid online.
    assert _one(con, "SELECT count(*) FROM events WHERE event = 'Checkout Started'") > _one(
        con, "SELECT count(*) FROM events WHERE event = 'Order Completed' AND place = 'online'"
    )
    # Click-and-collect with an add-on bought at the same store within the hour.
    add_ons = _one(
        con,
        """SELECT count(*) FROM events c JOIN events s
           ON s.profile_id = c.profile_id AND s.store_id = c.store_id
           AND s.event = 'Order Completed' AND s.place = 'store'
           AND s.ts BETWEEN c.ts AND c.ts + INTERVAL 1 HOUR
           WHERE c.event = 'Order Collected' AND c.waited_seconds > 0""",
    )
    collected = _one(con, "SELECT count(*) FROM events WHERE event = 'Order Collected'")
    assert 0 < add_ons < collected
    # ROPO: a store purchase of a product viewed online in the days before.
    assert _one(
        con,
        """SELECT count(*) FROM items i JOIN events v
           ON v.profile_id = i.profile_id AND v.product_id = i.product_id
           AND v.event = 'Product Viewed' AND v.place = 'online'
           AND v.ts BETWEEN i.ts - INTERVAL 7 DAY AND i.ts
           WHERE i.place = 'store'""",
    )


def test_omnichannel_customers_spend_more_and_stay_longer(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        """WITH buyers AS (
             SELECT profile_id, count(DISTINCT place) AS places, sum(revenue) AS spend,
                    date_diff('day', min(ts), max(ts)) AS span
             FROM events WHERE event = 'Order Completed' AND profile_id IS NOT NULL
             GROUP BY 1)
           SELECT places = 2 AS omni, avg(spend), avg(span) FROM buyers GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    (_, single_spend, single_span), (_, omni_spend, omni_span) = rows
    assert omni_spend > single_spend
    assert omni_span > single_span
