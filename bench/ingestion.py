"""Event ingestion through ``POST /v1/batch`` against the storage's own insert rate.

Side by side in the same run, per database (SQLite file in WAL mode, PostgreSQL):

* the ceiling: the same event rows inserted by this process through the same driver and engine
  settings (``executemany`` of 100 rows per transaction, duplicates ignored, same durability);
* Parcours: ``wrk`` posting batches of 100 events (unique ``messageId`` each, from a Lua
  ``request()``) with a write key over several connections; a request is answered only once its
  events are committed (group commit), so acknowledged events/s are durable events/s.

The target is at least 0.5x the ceiling. The server's resident memory (RSS) is read at start,
after the warm-up and after the run: it must stay flat under sustained load.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.availability import _free_port, _machine, _recreate_postgres_database, _wait_ready

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_BENCH_URL = os.environ.get(
    "PARCOURS_BENCH_INGESTION_PG_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/parcours_bench_ingestion",
)
EVENTS_PER_REQUEST = 100
VISITORS = 1_000


def _message(n: int, message_id: str) -> dict[str, Any]:
    """One event as a browser sends it: a product view with page context."""
    return {
        "type": "track",
        "event": "Product Viewed",
        "anonymousId": f"visitor-{n % VISITORS}",
        "messageId": message_id,
        "properties": {"product_id": f"prd_{n % 500}", "price": 59.9, "currency": "EUR"},
        "context": {
            "page": {"path": "/p/pull-marin", "url": "https://shop.example/p/pull-marin"},
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36",
            "library": {"name": "parcours-track.js", "version": "1"},
        },
    }


def _lua_script(directory: Path, key: str) -> Path:
    """wrk: every request posts 100 events whose message ids are unique across threads."""
    messages = [_message(n, f"@@-{n}") for n in range(EVENTS_PER_REQUEST)]
    template = json.dumps({"batch": messages}, separators=(",", ":"))
    path = directory / "ingestion.lua"
    lua_template = template.replace("\\", "\\\\").replace('"', '\\"')
    path.write_text(
        f"""
local template = "{lua_template}"
local counter = 0
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
request = function()
  counter = counter + 1
  local prefix = "t" .. tostring(tid) .. "-" .. tostring(counter)
  local body = string.gsub(template, "@@", prefix)
  return wrk.format(nil, "/v1/batch", nil, body)
end
"""
    )
    return path


@dataclass
class IngestionResult:
    name: str
    events_per_second: float
    requests_per_second: float
    p50_ms: float | None
    p99_ms: float | None
    errors: int


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    assert match is not None
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _wrk(url: str, *, duration: int, connections: int, script: Path) -> IngestionResult:
    command = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{duration}s", "--latency"]
    output = subprocess.run(
        [*command, "-s", str(script), url], capture_output=True, text=True, check=True
    ).stdout
    rps_match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total_match = re.search(r"(\d+) requests in ([\d.]+)(s|m)", output)
    assert rps_match is not None, output
    assert total_match is not None, output
    latency = dict(re.findall(r"\s(50|99)%\s+([\d.]+(?:us|ms|s))", output))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = int(non2xx.group(1)) if non2xx else 0
    socket_errors = re.search(r"Socket errors: (.*)", output)
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    total = int(total_match.group(1))
    rps = float(rps_match.group(1))
    ok_rps = rps * (total - errors) / total if total else 0.0
    return IngestionResult(
        name="Parcours /v1/batch",
        events_per_second=round(ok_rps * EVENTS_PER_REQUEST, 1),
        requests_per_second=rps,
        p50_ms=_ms(latency["50"]) if "50" in latency else None,
        p99_ms=_ms(latency["99"]) if "99" in latency else None,
        errors=errors,
    )


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _sample_rss(pid: int, stop: threading.Event, samples: list[int]) -> None:
    """The server's RSS every 2 seconds until ``stop``: flat once warm, or a leak."""
    while not stop.wait(2.0):
        samples.append(_rss_kib(pid))


@contextmanager
def _server(url: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "PARCOURS_DATABASE_URL": url,
        "PARCOURS_LOG_LEVEL": "WARNING",
        "PARCOURS_RELAY_IN_PROCESS": "false",
    }
    command = [sys.executable, "-m", "uvicorn", "parcours.cli:make_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    command += ["--no-access-log", "--loop", "uvloop", "--http", "httptools"]
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(10)


def _prepare(url: str) -> str:
    """A fresh schema and a web write key; returns the key's token."""
    from parcours.core.auth import service as auth_service
    from parcours.core.auth.models import KeyKind, KeySource
    from parcours.core.db import Database
    from parcours.core.uow import UnitOfWork
    from parcours.models import Base

    if url.startswith("postgresql"):
        _recreate_postgres_database(url)
    db = Database.from_url(url)
    Base.metadata.create_all(db.engine)
    with UnitOfWork(db) as uow:
        token = auth_service.create_api_key(
            uow=uow, kind=KeyKind.WRITE, name="bench", source=KeySource.WEB
        ).token
        uow.commit()
    db.dispose()
    return token


def _count_and_empty(url: str) -> int:
    from sqlalchemy import func, select, text

    from parcours.core.db import Database
    from parcours.tracking.models import Event

    db = Database.from_url(url)
    with db.engine.begin() as conn:
        count = int(conn.scalar(select(func.count()).select_from(Event)) or 0)
        conn.execute(text("DELETE FROM events"))
    db.dispose()
    return count


def _ceiling(url: str, duration: float) -> IngestionResult:
    """The storage's own rate for the same rows: the DB-API driver's ``executemany`` of 100 rows
    per transaction, parameters prepared beforehand (JSON already text), the same ``INSERT ...
    ON CONFLICT DO NOTHING``, the same engine settings (WAL, ``synchronous=NORMAL`` on SQLite)."""
    from datetime import UTC, datetime

    from parcours.core.db import Database
    from parcours.core.ids import new_id
    from parcours.tracking.ingest import build_row
    from parcours.tracking.models import Event

    db = Database.from_url(url)
    sqlite = db.is_sqlite
    received = datetime.now(UTC)
    template = [
        build_row(
            _message(n, ""),
            index=n,
            kind="batch",
            write_key_id="key_ceiling",
            source="web",
            received_at=received,
        )
        for n in range(EVENTS_PER_REQUEST)
    ]
    for named in template:
        named["xact"] = 0  # the commit order, set by the app's own insert; a ceiling skips it
    columns = [column.name for column in Event.__table__.columns]
    marker = "?" if sqlite else "%s"
    sql = (
        f"INSERT INTO events ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))})"
        " ON CONFLICT (write_key_id, message_id) DO NOTHING"
    )

    def value(name: str, raw: Any) -> Any:
        if isinstance(raw, dict):
            return json.dumps(raw)
        if sqlite and isinstance(raw, datetime):
            return raw.strftime("%Y-%m-%d %H:%M:%S.%f")
        if sqlite and raw is not None and name == "day":
            return raw.isoformat()
        return raw

    prepared = [[value(name, row[name]) for name in columns] for row in template]
    id_at, message_at = columns.index("id"), columns.index("message_id")
    written = batches = 0
    started = time.perf_counter()
    elapsed = 0.0
    while elapsed < duration:
        params = []
        for n, base in enumerate(prepared):
            row = list(base)
            row[id_at] = new_id("ev")
            row[message_at] = f"ceiling-{batches}-{n}"
            params.append(tuple(row))
        with db.engine.begin() as connection:
            connection.exec_driver_sql(sql, params)
        written += len(params)
        batches += 1
        elapsed = time.perf_counter() - started
    db.dispose()
    return IngestionResult(
        name="driver executemany, 100 rows per commit (ceiling)",
        events_per_second=round(written / elapsed, 1),
        requests_per_second=round(batches / elapsed, 1),
        p50_ms=None,
        p99_ms=None,
        errors=0,
    )


def run(*, duration: int, connections: int, databases: list[str]) -> dict[str, Any]:
    """Run the benchmark per database; write ``bench/results/ingestion.json``."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the load benchmarks: make bench installs it")
    RESULTS.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    report: dict[str, Any] = {
        "benchmark": "ingestion",
        "machine": _machine(),
        "duration_s": duration,
        "connections": connections,
        "events_per_request": EVENTS_PER_REQUEST,
        "runs": runs,
    }
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for database in databases:
            url = f"sqlite:///{workdir / 'ingest.db'}" if database == "sqlite" else PG_BENCH_URL
            key = _prepare(url)
            ceiling = _ceiling(url, duration)
            _count_and_empty(url)
            script = _lua_script(workdir, key)
            port = _free_port()
            with _server(url, port) as server:
                _wait_ready(f"http://127.0.0.1:{port}/healthz")
                rss_start = _rss_kib(server.pid)
                app_url = f"http://127.0.0.1:{port}/"
                _wrk(app_url, duration=2, connections=connections, script=script)
                rss_warm = _rss_kib(server.pid)
                samples: list[int] = []
                sampling = threading.Event()
                sampler = threading.Thread(
                    target=_sample_rss, args=(server.pid, sampling, samples), daemon=True
                )
                sampler.start()
                parcours = _wrk(app_url, duration=duration, connections=connections, script=script)
                sampling.set()
                sampler.join()
                rss_end = _rss_kib(server.pid)
            stored = _count_and_empty(url)
            run_report = {
                "database": database,
                "ceiling": asdict(ceiling),
                "parcours": asdict(parcours),
                "ratio": round(parcours.events_per_second / ceiling.events_per_second, 3),
                "target": 0.5,
                "stored_events_including_warm_up": stored,
                "server_rss_kib": {
                    "start": rss_start,
                    "after_warm_up": rss_warm,
                    "every_2s_of_the_run": samples,
                    "end": rss_end,
                },
            }
            runs.append(run_report)
            print(json.dumps(run_report, indent=2))
    (RESULTS / "ingestion.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {RESULTS / 'ingestion.json'}")
    return report


if __name__ == "__main__":
    run(duration=int(os.environ.get("BENCH_DURATION", "10")), connections=16, databases=["sqlite"])
