"""Funnels: one definition (a :class:`FunnelSpec`), compiled to the SQL of each engine.

The compiled query reads one table, ``events`` (the journey columns plus ``person_id``), and
uses only what DuckDB, PostgreSQL and ClickHouse share: joins, ``MIN``/``MAX``, ``CASE``,
``ROW_NUMBER()``. The few spellings that differ (seconds between two times, the median, an
interval, parameters) come from a :class:`Dialect`. The same spec therefore gives the same
figures on the embedded engine and on a retailer's warehouse; ``tests/journeys/
test_portable.py`` runs one fixture on all three.

Definitions (quoted in docs/journeys.md):

* **Ordered**: every step-1 event in the period starts an attempt; step *k* is the first
  matching event after step *k-1* and no later than the start plus the window. A person's
  attempt is the one that got furthest (the earliest among equals): each person counts once.
* **Any order**: the attempt starts at the person's first event, in the period, matching any
  step; step *k* is reached when steps 1..*k* all happened within the window, in any order.
* **Breakdown**: a property of the attempt's first event (channel, place, store, campaign,
  device), or the person's first-touch campaign (their first event with a campaign).
* **Median time** of step *k*: from reaching step *k-1* to reaching step *k*, over the persons
  who reached *k*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from parcours.journeys.engine import JourneyEngine
from parcours.journeys.overview import period_bounds
from parcours.journeys.schemas import (
    FunnelBreakdownRow,
    FunnelResult,
    FunnelSpec,
    FunnelStep,
    FunnelStepResult,
    Period,
    Scope,
)

DialectName = Literal["duckdb", "postgres", "clickhouse"]
_ALL = "__all__"  # the bucket of the totals (a breakdown value cannot be this)


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """SQL and its parameters. ClickHouse gets its values inlined (escaped) instead."""

    sql: str
    params: list[Any]


class Dialect:
    """How one engine spells what the three do not share."""

    def __init__(self, name: DialectName) -> None:
        self.name = name
        self.params: list[Any] = []

    def value(self, value: Any) -> str:
        """A bound parameter (DuckDB ``?``, psycopg ``%s``) or, on ClickHouse, a literal."""
        if self.name == "clickhouse":
            return _clickhouse_literal(value)
        self.params.append(value)
        return "?" if self.name == "duckdb" else "%s"

    def seconds(self, start: str, end: str) -> str:
        if self.name == "duckdb":
            return f"(epoch({end}) - epoch({start}))"
        if self.name == "postgres":
            return f"EXTRACT(EPOCH FROM ({end} - {start}))"
        # microseconds, as DuckDB's epoch() and PostgreSQL's EPOCH keep fractions of a second
        return f"((toUnixTimestamp64Micro({end}) - toUnixTimestamp64Micro({start})) / 1000000)"

    def median(self, expression: str) -> str:
        if self.name == "postgres":
            return f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {expression})"
        if self.name == "clickhouse":
            return f"quantileExactInclusive(0.5)({expression})"
        return f"quantile_cont({expression}, 0.5)"

    def plus_days(self, expression: str, days: int) -> str:
        if self.name == "clickhouse":
            return f"({expression} + INTERVAL {int(days)} DAY)"
        return f"({expression} + INTERVAL '{int(days)} days')"

    def suffix(self) -> str:
        # ClickHouse fills unmatched LEFT JOIN columns with defaults (1970-01-01) unless told.
        # and reads naive Parquet times in the server's zone unless the session says UTC.
        if self.name == "clickhouse":
            return " SETTINGS join_use_nulls = 1, session_timezone = 'UTC'"
        return ""


def _clickhouse_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return f"toDateTime64('{value.strftime('%Y-%m-%d %H:%M:%S.%f')}', 6, 'UTC')"
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def _condition(step: FunnelStep, dialect: Dialect, alias: str) -> str:
    parts = [f"{alias}.event = {dialect.value(step.event)}"]
    for item in step.filters:
        column = f"{alias}.{item.column}"  # validated against FILTER_COLUMNS by the schema
        if item.op == "in":
            values = item.value if isinstance(item.value, list) else [item.value]
            listed = ", ".join(dialect.value(v) for v in values)
            parts.append(f"{column} IN ({listed})")
        else:
            operator = {"eq": "=", "ne": "<>", "gt": ">", "lt": "<"}[item.op]
            parts.append(f"{column} {operator} {dialect.value(item.value)}")
    return "(" + " AND ".join(parts) + ")"


def _origins(origins: Sequence[str] | None, dialect: Dialect, alias: str) -> str:
    if origins is None:
        return ""
    listed = ", ".join(dialect.value(o) for o in origins) or dialect.value("")
    return f" AND {alias}.origin IN ({listed})"


def compile_funnel(
    spec: FunnelSpec,
    period: Period,
    *,
    dialect: DialectName,
    origins: Sequence[str] | None = None,
    dropped_at: int | None = None,
    limit: int = 500,
) -> CompiledQuery:
    """The funnel as one query. Its rows: ``bucket`` (``__all__`` for the totals, then one row
    per breakdown value), the persons at each step ``n1..nk``, and the median seconds ``m2..mk``.
    With ``dropped_at=n``: instead, the profiles (not anonymous devices) whose best attempt
    reached step ``n - 1`` and not ``n``, at most ``limit``."""
    d = Dialect(dialect)
    k = len(spec.steps)
    window = spec.window_days
    start, end = period_bounds(period)
    # Parameters are numbered by position: every value is bound where it is written, in order.
    scoped = (
        "SELECT e.person_id AS person_id, e.ts AS ts, e.event AS event, e.channel AS channel, "
        "e.place AS place, e.store_id AS store_id, e.campaign AS campaign, e.device AS device, "
        "e.product_id AS product_id, e.category AS category, e.available AS available, "
        "e.results AS results, e.query AS query, e.step AS step, e.source AS source "
        f"FROM events e WHERE e.ts >= {d.value(start)} "
        f"AND e.ts < {d.plus_days(d.value(end), window)}"
        + _origins(origins, d, "e")
        + " AND ("
        + " OR ".join(_condition(step, d, "e") for step in spec.steps)
        + ")"
    )
    ctes = [f"scoped AS ({scoped})"]
    breakdown = spec.breakdown
    attribute = breakdown if breakdown and breakdown != "first_touch_campaign" else "channel"
    if spec.order == "ordered":
        ctes.append(
            f"s1 AS (SELECT e.person_id AS pid, e.ts AS t1, MIN(e.{attribute}) AS attr "
            f"FROM scoped e WHERE e.ts < {d.value(end)} AND {_condition(spec.steps[0], d, 'e')} "
            "GROUP BY e.person_id, e.ts)"
        )
        for n in range(2, k + 1):
            carried = ", ".join(f"s.t{i} AS t{i}" for i in range(1, n))
            group = ", ".join(f"s.t{i}" for i in range(1, n))
            ctes.append(
                f"s{n} AS (SELECT s.pid AS pid, {carried}, MIN(e.ts) AS t{n} "
                f"FROM s{n - 1} s JOIN scoped e ON e.person_id = s.pid "
                f"AND e.ts > s.t{n - 1} AND e.ts <= {d.plus_days('s.t1', window)} "
                f"AND {_condition(spec.steps[n - 1], d, 'e')} GROUP BY s.pid, {group})"
            )
        joins = " ".join(
            f"LEFT JOIN s{n} ON s{n}.pid = s1.pid AND s{n}.t1 = s1.t1" for n in range(2, k + 1)
        )
        level = (
            "CASE "
            + " ".join(f"WHEN s{n}.t{n} IS NOT NULL THEN {n}" for n in range(k, 1, -1))
            + " ELSE 1 END"
        )
        times = ", ".join(["s1.t1 AS r1"] + [f"s{n}.t{n} AS r{n}" for n in range(2, k + 1)])
        ctes.append(
            f"attempts AS (SELECT s1.pid AS pid, s1.attr AS attr, {level} AS lvl, {times} "
            f"FROM s1 {joins})"
        )
    else:
        ctes.append(
            "anchor AS (SELECT pid, t0, attr FROM (SELECT e.person_id AS pid, e.ts AS t0, "
            f"e.{attribute} AS attr, ROW_NUMBER() OVER (PARTITION BY e.person_id "
            f"ORDER BY e.ts, e.{attribute}) AS rn FROM scoped e WHERE e.ts >= {d.value(start)} "
            f"AND e.ts < {d.value(end)}) a WHERE rn = 1)"
        )
        firsts = ", ".join(
            f"MIN(CASE WHEN {_condition(step, d, 'e')} THEN e.ts END) AS f{n}"
            for n, step in enumerate(spec.steps, start=1)
        )
        ctes.append(
            f"firsts AS (SELECT a.pid AS pid, a.t0 AS t0, a.attr AS attr, {firsts} "
            f"FROM anchor a JOIN scoped e ON e.person_id = a.pid AND e.ts >= a.t0 "
            f"AND e.ts <= {d.plus_days('a.t0', window)} GROUP BY a.pid, a.t0, a.attr)"
        )
        # Reaching step n = all of 1..n done: the time is the latest of their first times.
        reached = []
        for n in range(1, k + 1):
            present = " AND ".join(f"f{i} IS NOT NULL" for i in range(1, n + 1))
            latest = "f1" if n == 1 else f"GREATEST({', '.join(f'f{i}' for i in range(1, n + 1))})"
            reached.append(f"CASE WHEN {present} THEN {latest} END AS r{n}")
        level = (
            "CASE "
            + " ".join(
                "WHEN " + " AND ".join(f"f{i} IS NOT NULL" for i in range(1, n + 1)) + f" THEN {n}"
                for n in range(k, 0, -1)
            )
            + " ELSE 0 END"
        )
        ctes.append(
            f"attempts AS (SELECT pid, attr, {level} AS lvl, {', '.join(reached)} FROM firsts)"
        )
    ranked = (
        "SELECT a.*, ROW_NUMBER() OVER (PARTITION BY a.pid ORDER BY a.lvl DESC, a.r1) AS best "
        "FROM attempts a"
    )
    bucket = "b.attr"
    if breakdown == "first_touch_campaign":
        ctes.append(
            "touch AS (SELECT pid, campaign FROM (SELECT e.person_id AS pid, e.campaign AS "
            "campaign, ROW_NUMBER() OVER (PARTITION BY e.person_id ORDER BY e.ts) AS rn "
            f"FROM events e WHERE e.campaign IS NOT NULL AND e.ts < {d.value(end)}"
            + _origins(origins, d, "e")
            + ") t WHERE rn = 1)"
        )
        ctes.append(
            "chosen AS (SELECT b.pid AS pid, b.lvl AS lvl, t.campaign AS attr, "
            + ", ".join(f"b.r{n} AS r{n}" for n in range(1, k + 1))
            + f" FROM ({ranked}) b LEFT JOIN touch t ON t.pid = b.pid WHERE b.best = 1 "
            "AND b.lvl >= 1)"
        )
    else:
        ctes.append(
            f"chosen AS (SELECT b.pid AS pid, b.lvl AS lvl, {bucket} AS attr, "
            + ", ".join(f"b.r{n} AS r{n}" for n in range(1, k + 1))
            + f" FROM ({ranked}) b WHERE b.best = 1 AND b.lvl >= 1)"
        )
    if dropped_at is not None:
        query = (
            f"SELECT c.pid AS pid FROM chosen c WHERE c.lvl = {d.value(dropped_at - 1)} "
            f"AND c.pid NOT LIKE {d.value('a:%')} ORDER BY c.pid LIMIT {d.value(limit)}"
        )
        return CompiledQuery("WITH " + ", ".join(ctes) + " " + query + d.suffix(), d.params)
    counts = ", ".join(
        f"SUM(CASE WHEN c.lvl >= {n} THEN 1 ELSE 0 END) AS n{n}" for n in range(1, k + 1)
    )
    medians = ", ".join(
        f"{d.median(d.seconds(f'c.r{n - 1}', f'c.r{n}'))} AS m{n}" for n in range(2, k + 1)
    )
    measures = counts + (", " + medians if medians else "")
    query = f"SELECT {d.value(_ALL)} AS bucket, {measures} FROM chosen c"
    if breakdown:
        query += (
            f" UNION ALL SELECT CAST(c.attr AS VARCHAR) AS bucket, {measures} "
            "FROM chosen c GROUP BY c.attr"
        )
        if dialect == "clickhouse":
            query = query.replace("CAST(c.attr AS VARCHAR)", "toString(c.attr)")
    sql = "WITH " + ", ".join(ctes) + " " + query + d.suffix()
    return CompiledQuery(sql, d.params)


def funnel_result(spec: FunnelSpec, rows: Sequence[Sequence[Any]]) -> FunnelResult:
    """Read the compiled query's rows (any engine) into a result."""
    k = len(spec.steps)
    totals: Sequence[Any] = next((row for row in rows if row[0] == _ALL), [_ALL] + [0] * (2 * k))
    counts = [int(totals[n] or 0) for n in range(1, k + 1)]
    medians = [None] + [
        None if totals[k + n - 1] is None else float(totals[k + n - 1]) for n in range(2, k + 1)
    ]
    steps = []
    for index, step in enumerate(spec.steps):
        persons = counts[index]
        previous = counts[index - 1] if index else persons
        steps.append(
            FunnelStepResult(
                index=index + 1,
                label=step.label or step.event,
                persons=persons,
                conversion=persons / counts[0] if counts[0] else 0.0,
                step_conversion=persons / previous if previous else 0.0,
                median_seconds=medians[index],
                dropped=previous - persons if index else 0,
            )
        )
    breakdown = [
        FunnelBreakdownRow(
            value=None if row[0] in (None, "", "\\N") else str(row[0]),
            persons=[int(row[n] or 0) for n in range(1, k + 1)],
        )
        for row in rows
        if row[0] != _ALL
    ]
    breakdown.sort(key=lambda row: (-row.persons[0], row.value or ""))
    return FunnelResult(spec=spec, steps=steps, breakdown=breakdown)


def run_funnel(*, engine: JourneyEngine, scope: Scope, spec: FunnelSpec) -> FunnelResult:
    """The funnel over the lake and the live tail (DuckDB)."""
    compiled = compile_funnel(spec, scope.period, dialect="duckdb", origins=scope.origins)
    return funnel_result(spec, engine.rows(compiled.sql, compiled.params))


def dropped_profiles(
    *, engine: JourneyEngine, scope: Scope, spec: FunnelSpec, step: int, limit: int = 500
) -> list[str]:
    """Profiles whose best attempt reached step ``step - 1`` but not ``step`` — the people to
    win back. Anonymous devices are left out: nobody can be contacted through them."""
    if not 2 <= step <= len(spec.steps):
        raise ValueError(f"step must be between 2 and {len(spec.steps)}")
    compiled = compile_funnel(
        spec, scope.period, dialect="duckdb", origins=scope.origins, dropped_at=step, limit=limit
    )
    return [row[0] for row in engine.rows(compiled.sql, compiled.params)]
