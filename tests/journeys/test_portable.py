"""One funnel definition, three engines: DuckDB (the embedded engine), PostgreSQL and ClickHouse
(through chdb) give the same figures on the same journeys, and those figures are the ones
counted by hand below.

Thirty persons written event by event cover what funnels get wrong: steps out of order, the
window's edge (exactly 7 days counts, 7 days and a second does not), repeated steps and retried
attempts, property filters (including numbers sent as text), the breakdown by the channel of the
attempt's first event, first-touch campaigns, the any-order mode, the period's edges and times
with fractions of a second. DuckDB is checked against the hand counts through ``run_funnel``;
the other engines run the SQL that ``compile_funnel`` writes for them, and their rows must equal
DuckDB's and the hand counts too, so a dialect that drifts fails here, not at a retailer's.

PostgreSQL runs in the suite's PostgreSQL pass (``PARCOURS_TEST_DATABASE_URL``, ``make test-pg``),
in a scratch schema; ClickHouse runs wherever ``chdb`` is installed (the dev extra), once with the
server in UTC and once in Europe/Paris, since a French retailer's ClickHouse often is.
"""

from __future__ import annotations

import importlib
import math
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy.engine import make_url
from tests.journeys.conftest import T0, event, write_lake

from parcours.journeys.engine import JourneyEngine
from parcours.journeys.funnels import compile_funnel, funnel_result, run_funnel
from parcours.journeys.lake import Lake, read_table
from parcours.journeys.schemas import FunnelSpec, FunnelStep, Period, Scope, StepFilter

D, H, S = timedelta(days=1), timedelta(hours=1), timedelta(seconds=1)
MS = timedelta(milliseconds=1)
PERIOD = Period(start=T0 - D, end=T0 + 30 * D)

V, A, C, ORDER = "Product Viewed", "Product Added", "Checkout Started", "Order Completed"
SEARCH, STEP = "Products Searched", "Checkout Step Completed"


def _ordered_steps() -> list[FunnelStep]:
    return [FunnelStep(event=name) for name in (V, A, C, ORDER)]


FUNNELS: dict[str, FunnelSpec] = {
    "ordered": FunnelSpec(steps=_ordered_steps(), breakdown="channel"),
    "any_order": FunnelSpec(steps=_ordered_steps(), order="any", breakdown="channel"),
    "filtered": FunnelSpec(
        steps=[
            FunnelStep(
                event=SEARCH,
                filters=[
                    StepFilter(column="results", op="gt", value=0),
                    StepFilter(column="results", op="lt", value=100),
                ],
            ),
            FunnelStep(
                event=V, filters=[StepFilter(column="category", op="in", value=["shoes", "boots"])]
            ),
            FunnelStep(event=STEP, filters=[StepFilter(column="step", value=2)]),
            FunnelStep(
                event=ORDER,
                filters=[
                    StepFilter(column="place", value="online"),
                    StepFilter(column="channel", op="ne", value="marketplace"),
                ],
            ),
        ]
    ),
    "repeated": FunnelSpec(
        steps=[FunnelStep(event=V), FunnelStep(event=V), FunnelStep(event=ORDER)],
        breakdown="first_touch_campaign",
    ),
    # A form sends every value of a list as text, numbers included.
    "numbers_as_text": FunnelSpec(
        steps=[
            FunnelStep(event=STEP, filters=[StepFilter(column="step", op="in", value=["2", "3"])]),
            FunnelStep(event=ORDER),
        ]
    ),
    "nobody_at_step_2": FunnelSpec(steps=[FunnelStep(event=V), FunnelStep(event="Order Refunded")]),
}


@dataclass(frozen=True)
class Journey:
    """A person's events and, per funnel, the level their best attempt reached (0: not in the
    funnel) with the breakdown value it is counted under."""

    person: str
    events: list[dict[str, Any]]
    expected: dict[str, tuple[int, str | None]]


def _journeys() -> list[Journey]:
    start = PERIOD.start
    fives = T0 + 5 * D  # the filtered funnel's searches, timed to the millisecond

    def j(person: str, events: list[dict[str, Any]], **expected: tuple[int, str | None]) -> Journey:
        return Journey(person, events, expected)

    def e(person: str, name: str, at: Any, channel: str = "web", **columns: Any) -> dict[str, Any]:
        return event(person, name, at, channel, **columns)

    return [
        j(
            "p01",
            [e("p01", V, 0 * H), e("p01", A, 1 * H), e("p01", C, 2 * H), e("p01", ORDER, 3 * H)],
            ordered=(4, "web"),
            any_order=(4, "web"),
        ),
        j(
            "p02",
            [e("p02", V, 0 * H, "app"), e("p02", A, D, "app")],
            ordered=(2, "app"),
            any_order=(2, "app"),
        ),
        # Out of order: the order before the checkout, no add at all.
        j(
            "p03",
            [e("p03", V, 0 * H), e("p03", ORDER, H), e("p03", C, 2 * H)],
            ordered=(1, "web"),
            any_order=(1, "web"),
        ),
        # Added before viewing: ordered stops at the view; any order starts at the add (web).
        j(
            "p04",
            [e("p04", A, 0 * H), e("p04", V, H, "app"), e("p04", C, 2 * H), e("p04", ORDER, 3 * H)],
            ordered=(1, "app"),
            any_order=(4, "web"),
        ),
        # The order exactly 7 days after the view: inside the window.
        j(
            "p05",
            [
                e("p05", V, 0 * H, "store"),
                e("p05", A, D),
                e("p05", C, 2 * D),
                e("p05", ORDER, 7 * D),
            ],
            ordered=(4, "store"),
            any_order=(4, "store"),
        ),
        # … and 7 days and a second after: outside.
        j(
            "p06",
            [e("p06", V, 0 * H), e("p06", A, D), e("p06", C, 2 * D), e("p06", ORDER, 7 * D + S)],
            ordered=(3, "web"),
            any_order=(3, "web"),
        ),
        j(
            "p07",
            [e("p07", V, 0 * H, "kiosk"), e("p07", A, 7 * D + S, "kiosk")],
            ordered=(1, "kiosk"),
            any_order=(1, "kiosk"),
        ),
        # Two attempts: from the first view the order is a day too late; from the second (app)
        # it is exactly on the edge. The best attempt counts, with its own first channel.
        j(
            "p08",
            [
                e("p08", V, 0 * H, campaign="spring"),
                e("p08", V, D, "app"),
                e("p08", A, 2 * D),
                e("p08", C, 3 * D),
                e("p08", ORDER, 8 * D),
            ],
            ordered=(4, "app"),
            any_order=(3, "web"),
            repeated=(2, "spring"),
        ),
        # Repeated adds and checkouts: the first of each counts.
        j(
            "p09",
            [
                e("p09", V, 0 * H),
                e("p09", A, H),
                e("p09", A, 2 * H),
                e("p09", C, 3 * H),
                e("p09", C, 4 * H),
                e("p09", ORDER, 5 * H),
            ],
            ordered=(4, "web"),
            any_order=(4, "web"),
        ),
        # An anonymous device is a person of its own ("a:dev10").
        j(
            "a:dev10",
            [e("anon:dev10", V, 0 * H, "app"), e("anon:dev10", A, H, "app")],
            ordered=(2, "app"),
            any_order=(2, "app"),
        ),
        # Ordered up to the checkout, but the order came before it; any order completes.
        j(
            "p11",
            [
                e("p11", V, 0 * H),
                e("p11", A, H),
                e("p11", ORDER, H + 10 * 60 * S),
                e("p11", C, H + 30 * 60 * S),
            ],
            ordered=(3, "web"),
            any_order=(4, "web"),
        ),
        # An order alone: in no funnel (any order needs step 1 within the window too).
        j(
            "p12",
            [e("p12", ORDER, 0 * H)],
            ordered=(0, None),
            any_order=(0, None),
            repeated=(0, None),
        ),
        # The view before the period does not start an attempt; the one inside does.
        j(
            "p13",
            [e("p13", V, -2 * D), e("p13", V, D, "app"), e("p13", A, D + H, "app")],
            ordered=(2, "app"),
            any_order=(2, "app"),
        ),
        # Started near the period's end: later steps count while inside the window.
        j(
            "p14",
            [e("p14", V, 29 * D), e("p14", A, 29 * D + 12 * H), e("p14", C, 31 * D)],
            ordered=(3, "web"),
            any_order=(3, "web"),
        ),
        j(
            "p15",
            [
                e("p15", V, 0 * H, "marketplace"),
                e("p15", A, H, "marketplace"),
                e("p15", C, 2 * H, "marketplace"),
            ],
            ordered=(3, "marketplace"),
            any_order=(3, "marketplace"),
        ),
        j(
            "p16",
            [
                e("p16", V, 0 * H, "app"),
                e("p16", A, H, "app"),
                e("p16", C, 2 * H, "app"),
                e("p16", ORDER, D, "app"),
            ],
            ordered=(4, "app"),
            any_order=(4, "app"),
        ),
        j("p17", [e("p17", V, 0 * H, "app")], ordered=(1, "app"), any_order=(1, "app")),
        j(
            "p18",
            [e("p18", V, 0 * H), e("p18", A, 10 * 60 * S)],
            ordered=(2, "web"),
            any_order=(2, "web"),
        ),
        j(
            "p19",
            [
                e("p19", V, 0 * H, "store", store_id="st_1"),
                e("p19", A, H, "store", store_id="st_1"),
                e("p19", C, 2 * H, "store", store_id="st_1"),
            ],
            ordered=(3, "store"),
            any_order=(3, "store"),
        ),
        # Half an hour either side of the period's start (09:00 UTC): only the app view is in.
        # A server that read the period in its own time zone would let the web view in.
        j(
            "p20",
            [
                e("p20", V, start - 30 * 60 * S),
                e("p20", V, start + 30 * 60 * S, "app"),
                e("p20", A, start + H, "app"),
            ],
            ordered=(2, "app"),
            any_order=(2, "app"),
        ),
        # The filtered funnel, to the millisecond (its median times have fractions).
        j(
            "p21",
            [
                e("p21", SEARCH, fives + 250 * MS, results=5, query="baskets"),
                e("p21", V, fives + 1500 * MS, category="shoes"),
                e("p21", STEP, fives + 3000 * MS, step=2),
                e("p21", ORDER, fives + 10750 * MS),
            ],
            ordered=(1, "web"),
            any_order=(1, "web"),
            filtered=(4, None),
            numbers_as_text=(2, None),
        ),
        # The zero-result search does not start it; the store order does not end it.
        j(
            "p22",
            [
                e("p22", SEARCH, fives, results=0),
                e("p22", SEARCH, fives + H + 500 * MS, results=3),
                e("p22", V, fives + H + 2750 * MS, category="shoes"),
                e("p22", STEP, fives + H + 5000 * MS, step=1),
                e("p22", STEP, fives + H + 6500 * MS, step=2),
                e("p22", ORDER, fives + H + 8000 * MS, "store"),
            ],
            ordered=(1, "web"),
            any_order=(1, "web"),
            filtered=(3, None),
            numbers_as_text=(2, None),
        ),
        j(
            "p23",
            [e("p23", SEARCH, fives, results=0), e("p23", V, fives + S, category="shoes")],
            ordered=(1, "web"),
            any_order=(1, "web"),
            filtered=(0, None),
        ),
        # A bag first, then shoes: the second view is the one that matches.
        j(
            "p24",
            [
                e("p24", SEARCH, fives + 100 * MS, results=2),
                e("p24", V, fives + 1000 * MS, category="bags"),
                e("p24", V, fives + 2600 * MS, category="shoes"),
                e("p24", STEP, fives + 4000 * MS, step=3),
            ],
            ordered=(1, "web"),
            any_order=(1, "web"),
            filtered=(2, None),
            repeated=(2, None),
            numbers_as_text=(1, None),
        ),
        j(
            "p25",
            [
                e("p25", SEARCH, fives + 500 * MS, "app", results=4),
                e("p25", V, fives + 1250 * MS, "app", category="shoes"),
                e("p25", STEP, fives + 2000 * MS, "app", step=2),
                e("p25", ORDER, fives + 3500 * MS, "app"),
            ],
            ordered=(1, "app"),
            any_order=(1, "app"),
            filtered=(4, None),
            numbers_as_text=(2, None),
        ),
        j(
            "p26",
            [
                e("p26", SEARCH, fives, results=1),
                e("p26", V, fives + 400 * MS, category="boots"),
                e("p26", STEP, fives + 900 * MS, step=2),
                e("p26", ORDER, fives + 1000 * MS),
            ],
            ordered=(1, "web"),
            any_order=(1, "web"),
            filtered=(4, None),
            numbers_as_text=(2, None),
        ),
        j(
            "p27",
            [e("p27", SEARCH, fives, results=150), e("p27", V, fives + S, category="shoes")],
            ordered=(1, "web"),
            any_order=(1, "web"),
            filtered=(0, None),
        ),
        j(
            "p28",
            [
                e("p28", SEARCH, fives, results=3),
                e("p28", V, fives + 2200 * MS, category="shoes"),
                e("p28", STEP, fives + 3300 * MS, step=2),
                e("p28", ORDER, fives + 4400 * MS, "marketplace"),
            ],
            ordered=(1, "web"),
            any_order=(1, "web"),
            filtered=(3, None),
            numbers_as_text=(2, None),
        ),
        # Viewed twice then ordered; first touched by an email campaign before the period.
        j(
            "p29",
            [
                e("p29", "Campaign Received", -10 * D, "email", campaign="winter"),
                e("p29", V, 0 * H, campaign="spring"),
                e("p29", V, 2 * H),
                e("p29", ORDER, 3 * H),
            ],
            ordered=(1, "web"),
            any_order=(1, "web"),
            repeated=(3, "winter"),
        ),
        j(
            "p30",
            [
                e("p30", V, 0 * H, "app"),
                e("p30", V, 6 * D, "app"),
                e("p30", ORDER, 7 * D + H, "app"),
            ],
            ordered=(1, "app"),
            any_order=(1, "app"),
            repeated=(2, None),
        ),
    ]


JOURNEYS = _journeys()


def _level(journey: Journey, funnel: str) -> tuple[int, str | None]:
    """Unless stated, a person with a view is at step 1 of the funnels starting with a view."""
    if funnel in journey.expected:
        return journey.expected[funnel]
    starts_with_view = funnel in ("repeated", "nobody_at_step_2")
    if starts_with_view and any(row["event"] == V for row in journey.events):
        return (1, None)
    return (0, None)


def _expected(funnel: str) -> tuple[list[int], dict[str | None, list[int]]]:
    """Persons at each step, in total and per breakdown value, from the hand-written levels."""
    k = len(FUNNELS[funnel].steps)
    totals = [0] * k
    buckets: dict[str | None, list[int]] = {}
    for journey in JOURNEYS:
        level, value = _level(journey, funnel)
        for n in range(level):
            totals[n] += 1
            buckets.setdefault(value, [0] * k)[n] += 1
    return totals, buckets


#: Median seconds between steps of the filtered funnel, by hand: step 2 over 0.4, 0.75, 1.25,
#: 2.2, 2.25, 2.5; step 3 over 0.5, 0.75, 1.1, 1.5, 3.75; step 4 over 0.1, 1.5, 7.75.
FILTERED_MEDIANS = [None, 1.725, 1.1, 1.5]


# --- the engines ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return write_lake(
        tmp_path_factory.mktemp("portable") / "lake",
        [row for journey in JOURNEYS for row in journey.events],
    )


def _rows_with_person(lake: Lake) -> pa.Table:
    """The events as every engine sees them: with ``person_id`` (profile, else ``a:`` device)."""
    table = read_table(lake, "events")
    people = [
        profile if profile is not None else f"a:{device}"
        for profile, device in zip(
            table["profile_id"].to_pylist(), table["anonymous_id"].to_pylist(), strict=True
        )
    ]
    return table.append_column("person_id", pa.array(people, pa.string()))


Runner = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]

_PG_TYPES = {
    pa.string(): "text",
    pa.timestamp("us"): "timestamp",
    pa.int64(): "bigint",
    pa.int32(): "integer",
    pa.bool_(): "boolean",
}


@pytest.fixture(scope="module")
def postgres(database_url: str, lake: Lake) -> Iterator[Runner]:
    """The events in a table ``events`` of a scratch schema of the test database."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the PostgreSQL part runs in the suite's PostgreSQL pass (make test-pg)")
    import psycopg

    url = make_url(database_url).set(drivername="postgresql")
    schema = f"portable_{uuid.uuid4().hex[:12]}"
    rows = _rows_with_person(lake)
    columns = ", ".join(f"{field.name} {_PG_TYPES[field.type]}" for field in rows.schema)
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            conn.execute(f'SET search_path TO "{schema}"')
            conn.execute(f"CREATE TABLE events ({columns})")
            holes = ", ".join(["%s"] * rows.num_columns)
            with conn.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO events VALUES ({holes})",
                    [tuple(row.values()) for row in rows.to_pylist()],
                )

            def run(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
                with conn.cursor() as cursor:
                    cursor.execute(sql, list(params))
                    return [tuple(row) for row in cursor.fetchall()]

            yield run
        finally:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="module")
def clickhouse(lake: Lake, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A chdb session with a view ``events`` over a Parquet copy of the events."""
    pytest.importorskip("chdb", reason="chdb (ClickHouse in process) is in the dev extra")
    sessions: Any = importlib.import_module("chdb.session")  # chdb is untyped

    path = tmp_path_factory.mktemp("clickhouse") / "events.parquet"
    pq.write_table(_rows_with_person(lake), path)
    chdb_session = sessions.Session()
    try:
        chdb_session.query("CREATE DATABASE IF NOT EXISTS portable ENGINE = Memory")
        chdb_session.query("USE portable")
        quoted = str(path).replace("\\", "\\\\").replace("'", "\\'")
        chdb_session.query(f"CREATE VIEW events AS SELECT * FROM file('{quoted}', Parquet)")
        yield chdb_session
    finally:
        chdb_session.close()


def _clickhouse_runner(chdb_session: Any, timezone: str) -> Runner:
    def run(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        assert not params, "ClickHouse SQL carries its values inline"
        chdb_session.query(f"SET session_timezone = '{timezone}'")
        try:
            table = chdb_session.query(sql, "ArrowTable")
        finally:
            chdb_session.query("SET session_timezone = 'UTC'")
        return [tuple(row.values()) for row in table.to_pylist()]

    return run


ENGINES = ("postgres", "clickhouse_utc", "clickhouse_paris")


@pytest.fixture(params=ENGINES)
def other_engine(request: pytest.FixtureRequest) -> tuple[str, str, Runner]:
    """(name, dialect, runner) of an engine other than DuckDB."""
    name: str = request.param
    if name == "postgres":
        return name, "postgres", request.getfixturevalue("postgres")
    chdb_session = request.getfixturevalue("clickhouse")
    timezone = "UTC" if name == "clickhouse_utc" else "Europe/Paris"
    return name, "clickhouse", _clickhouse_runner(chdb_session, timezone)


def _normalised(rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Rows comparable across drivers: numbers as floats rounded to the millisecond (DuckDB's
    epoch seconds are doubles), no NaN, NULL buckets first."""

    def value(cell: Any) -> Any:
        if isinstance(cell, Decimal | float | int) and not isinstance(cell, bool):
            number = float(cell)
            return None if math.isnan(number) else round(number, 3)
        return cell

    normalised = [tuple(value(cell) for cell in row) for row in rows]
    return sorted(normalised, key=lambda row: (row[0] is not None, str(row[0])))


def _duckdb_rows(lake: Lake, funnel: str) -> list[tuple[Any, ...]]:
    compiled = compile_funnel(FUNNELS[funnel], PERIOD, dialect="duckdb")
    return JourneyEngine(lake).rows(compiled.sql, compiled.params)


# --- the tests -----------------------------------------------------------------------------------


def test_the_fixture_is_what_the_docstring_says() -> None:
    assert len(JOURNEYS) == 30
    assert len({journey.person for journey in JOURNEYS}) == 30


@pytest.mark.parametrize("funnel", list(FUNNELS))
def test_duckdb_counts_what_was_counted_by_hand(lake: Lake, funnel: str) -> None:
    spec = FUNNELS[funnel]
    result = run_funnel(engine=JourneyEngine(lake), scope=Scope(period=PERIOD), spec=spec)
    totals, buckets = _expected(funnel)
    assert [step.persons for step in result.steps] == totals
    if spec.breakdown:
        assert {row.value: row.persons for row in result.breakdown} == buckets
    if funnel == "filtered":
        assert [s.median_seconds for s in result.steps] == pytest.approx(FILTERED_MEDIANS, abs=1e-3)


def test_the_hand_counts_are_not_trivial() -> None:
    """Guards the fixture: every funnel has persons dropping and, but one, persons finishing."""
    for funnel in FUNNELS:
        totals, _ = _expected(funnel)
        assert totals[0] > totals[-1], funnel
    assert _expected("ordered")[0] == [29, 15, 10, 5]
    assert _expected("any_order")[0] == [29, 16, 11, 6]
    assert _expected("filtered")[0] == [6, 6, 5, 3]
    assert _expected("repeated") == (
        [29, 4, 1],
        {"spring": [1, 1, 0], "winter": [1, 1, 1], None: [27, 2, 0]},
    )


@pytest.mark.parametrize("funnel", list(FUNNELS))
def test_other_engines_give_duckdbs_rows(
    lake: Lake, other_engine: tuple[str, str, Runner], funnel: str
) -> None:
    name, dialect, run = other_engine
    spec = FUNNELS[funnel]
    compiled = compile_funnel(spec, PERIOD, dialect=dialect)  # type: ignore[arg-type]
    rows = run(compiled.sql, compiled.params)
    assert _normalised(rows) == _normalised(_duckdb_rows(lake, funnel)), name
    result = funnel_result(spec, rows)
    totals, buckets = _expected(funnel)
    assert [step.persons for step in result.steps] == totals, name
    if spec.breakdown:
        assert {row.value: row.persons for row in result.breakdown} == buckets, name
    if funnel == "filtered":
        medians = [step.median_seconds for step in result.steps]
        assert medians == pytest.approx(FILTERED_MEDIANS, abs=1e-3), name


def test_dropped_profiles_are_the_same_everywhere(
    lake: Lake, other_engine: tuple[str, str, Runner]
) -> None:
    """The profiles to win back after step 1 of the ordered funnel: named, never devices."""
    name, dialect, run = other_engine
    expected = sorted(j.person for j in JOURNEYS if _level(j, "ordered")[0] == 1)
    spec = FUNNELS["ordered"]
    duck = compile_funnel(spec, PERIOD, dialect="duckdb", dropped_at=2)
    assert [row[0] for row in JourneyEngine(lake).rows(duck.sql, duck.params)] == expected
    compiled = compile_funnel(spec, PERIOD, dialect=dialect, dropped_at=2)  # type: ignore[arg-type]
    assert [row[0] for row in run(compiled.sql, compiled.params)] == expected, name


def test_the_lake_is_read_as_written(lake: Lake, tmp_path: Path) -> None:
    """The copy the other engines read holds every event once, with its person."""
    rows = _rows_with_person(lake)
    assert rows.num_rows == sum(len(journey.events) for journey in JOURNEYS)
    assert set(rows["person_id"].to_pylist()) == {journey.person for journey in JOURNEYS}
