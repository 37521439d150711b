"""Availability of one product across the 10 nearest stores, under closed-loop load on loopback.

Side by side in the same run: Parcours' ``GET /v1/availability`` (publishable key, real database
loaded with the demo retailer) and a bare FastAPI endpoint returning constant JSON (the ceiling),
both served by one Uvicorn process with the same options, loaded by ``wrk`` with the same
connections and duration. The target is at least 0.5x the ceiling's requests per second.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_BENCH_URL = os.environ.get(
    "PARCOURS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/parcours_bench"
)
# Paris, Place du Châtelet: the demo's ten nearest stores span the country, as for a real shopper.
LAT, LON = 48.8584, 2.3470


@dataclass
class LoadResult:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not become ready")


@contextmanager
def _uvicorn(target: str, port: int, env: dict[str, str], *, factory: bool) -> Iterator[None]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
    ]
    if factory:
        command.append("--factory")
    process = subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT)
    try:
        yield
    finally:
        process.terminate()
        process.wait(10)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _wrk(name: str, url: str, *, duration: int, connections: int, script: Path) -> LoadResult:
    output = subprocess.run(
        [
            "wrk",
            "-t",
            "1",
            "-c",
            str(connections),
            "-d",
            f"{duration}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    lat = dict(re.findall(r"\s(50|99)%\s+([\d.]+(?:us|ms|s))", output))
    p50 = re.match(r"([\d.]+)(us|ms|s)", lat["50"])
    p99 = re.match(r"([\d.]+)(us|ms|s)", lat["99"])
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = int(non2xx.group(1)) if non2xx else 0
    socket_errors = re.search(r"Socket errors: (.*)", output)
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return LoadResult(
        name=name,
        requests_per_second=rps,
        p50_ms=_ms(*p50.groups()),  # type: ignore[union-attr]
        p99_ms=_ms(*p99.groups()),  # type: ignore[union-attr]
        requests=total,
        errors=errors,
    )


def _prepare_database(url: str) -> tuple[str, list[str]]:
    """Load the demo retailer; return the publishable key and variant ids to ask about."""
    from sqlalchemy import select

    from parcours.catalog.models import Variant
    from parcours.core.db import Database
    from parcours.core.migrate import upgrade_database
    from parcours.core.settings import Settings
    from parcours.core.uow import UnitOfWork
    from parcours.demo.loader import load_demo

    if url.startswith("postgresql"):
        _recreate_postgres_database(url)
    upgrade_database(url)
    loaded = load_demo(Settings(database_url=url), issue_keys=True)
    db = Database.from_url(url)
    with UnitOfWork(db, read_only=True) as uow:
        ids = list(uow.session.scalars(select(Variant.id).order_by(Variant.id).limit(500)))
    db.dispose()
    return loaded.publishable_key, ids


def _recreate_postgres_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def _lua_script(directory: Path, key: str, variant_ids: list[str]) -> Path:
    """wrk script: each request asks about a different variant, with the publishable key."""
    ids = ",".join(f'"{v}"' for v in variant_ids)
    path = directory / "availability.lua"
    path.write_text(
        f"""
local ids = {{{ids}}}
local i = 0
wrk.headers["Authorization"] = "Bearer {key}"
request = function()
  i = i + 1
  local id = ids[(i % #ids) + 1]
  return wrk.format("GET", "/v1/availability?variant_id=" .. id .. "&lat={LAT}&lon={LON}&limit=10")
end
"""
    )
    return path


def _count_statements(
    url: str, key: str, variant_ids: list[str], requests: int = 50
) -> dict[str, float]:
    """SQL statements per availability request, counted in-process (an engine listener, BEGIN
    and savepoints left out, as the query-count tests do): on the first request (cold caches:
    API key, store directory), then on average, least and most over the next ``requests`` (as
    under load: a variant no nearby store holds costs the look elsewhere and the catalog's)."""
    import asyncio

    from sqlalchemy import event

    from parcours.app import create_app
    from parcours.core.settings import Settings

    settings = Settings(database_url=url, relay_in_process=False, log_level="WARNING")
    app = create_app(settings)
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            statements.append(statement)

    async def get(variant_id: str) -> int:
        query = f"variant_id={variant_id}&lat={LAT}&lon={LON}&limit=10"
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/v1/availability",
            "raw_path": b"/v1/availability",
            "query_string": query.encode(),
            "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {key}".encode())],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
            "root_path": "",
        }
        status = 0

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, object]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])  # type: ignore[call-overload]

        await app(scope, receive, send)  # type: ignore[arg-type]
        return status

    async def measure() -> dict[str, float]:
        db = app.state.db
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert await get(variant_ids[0]) == 200
            first = len(statements)
            counts = []
            for i in range(requests):
                statements.clear()
                assert await get(variant_ids[(i + 1) % len(variant_ids)]) == 200
                counts.append(len(statements))
            return {
                "first_request": first,
                "per_request": round(sum(counts) / requests, 2),
                "min": min(counts),
                "max": max(counts),
            }
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
            db.dispose()

    return asyncio.run(measure())


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"
    )


def run(*, duration: int, connections: int, databases: list[str]) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the load benchmarks: make bench installs it")
    RESULTS.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {
        "benchmark": "availability",
        "machine": _machine(),
        "duration_s": duration,
        "connections": connections,
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for database in databases:
            url = f"sqlite:///{workdir / 'bench.db'}" if database == "sqlite" else PG_BENCH_URL
            key, variant_ids = _prepare_database(url)
            statements = _count_statements(url, key, variant_ids)
            script = _lua_script(workdir, key, variant_ids)
            app_port, bare_port = _free_port(), _free_port()
            env = {
                "PARCOURS_DATABASE_URL": url,
                "PARCOURS_LOG_LEVEL": "WARNING",
                "PARCOURS_RELAY_IN_PROCESS": "false",
            }
            with (
                _uvicorn("parcours.cli:make_app", app_port, env, factory=True),
                _uvicorn("bench.bare_app:app", bare_port, {}, factory=False),
            ):
                _wait_ready(f"http://127.0.0.1:{app_port}/healthz")
                _wait_ready(f"http://127.0.0.1:{bare_port}/docs")
                app_url = f"http://127.0.0.1:{app_port}/"
                bare_url = f"http://127.0.0.1:{bare_port}/"
                _wrk("warm-up", app_url, duration=2, connections=connections, script=script)
                _wrk("warm-up", bare_url, duration=2, connections=connections, script=script)
                bare = _wrk(
                    "bare FastAPI (ceiling)",
                    bare_url,
                    duration=duration,
                    connections=connections,
                    script=script,
                )
                parcours = _wrk(
                    f"Parcours availability ({database})",
                    app_url,
                    duration=duration,
                    connections=connections,
                    script=script,
                )
            ratio = parcours.requests_per_second / bare.requests_per_second
            run_report = {
                "database": database,
                "ceiling": asdict(bare),
                "parcours": asdict(parcours),
                "ratio": round(ratio, 3),
                "target": 0.5,
                "sql_statements": statements,
            }
            report["runs"].append(run_report)  # type: ignore[attr-defined]
            print(json.dumps(run_report, indent=2))
    (RESULTS / "availability.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {RESULTS / 'availability.json'}")
