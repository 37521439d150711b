"""Cart sync across devices: from a change sent by one device to the change read by another.

One shopper, two devices. The second holds ``GET /v1/carts/{id}/events`` open (Server-Sent
Events, publishable key and ``X-Shopper-Token``); the first changes the cart, alternately adding
a line (``POST /v1/carts/{id}/lines``) and removing it (``DELETE .../lines/{line_id}``), so the
cart stays small. Each change is timed from just before its request is written to the moment the
stream delivers the event carrying the version the change answered with; the next change starts
once it has. Per database (SQLite file in WAL mode, PostgreSQL), two deployments:

* in-process hub: one Uvicorn process serves both devices;
* Redis hub (``PARCOURS_REDIS_URL``): two Uvicorn processes on the same database, the change sent
  to A and the stream read from B, so every event crosses Redis pub/sub.

The baseline, in the same run: the hub alone, :func:`parcours.core.live.time_delivery` (publish
from a worker thread → receipt by a subscriber; two ``RedisHub`` instances for Redis), so the
difference is what HTTP, the database and the serialisation of the cart add.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.availability import _free_port, _machine, _recreate_postgres_database, _wait_ready
from bench.checkout import _drop_postgres_database, _ensure_schema, _server, percentile

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_BENCH_URL = os.environ.get(
    "PARCOURS_BENCH_CART_SYNC_PG_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/parcours_bench_cart_sync",
)
REDIS_URL = os.environ.get("PARCOURS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
CHANGES = 200
WARM_UP_CHANGES = 20
EVENT_TIMEOUT_SECONDS = 5.0


@dataclass
class Latency:
    name: str
    p50_ms: float
    p99_ms: float
    max_ms: float
    samples: int
    missed: int = 0


def _latency(name: str, seconds: list[float], missed: int = 0) -> Latency:
    return Latency(
        name=name,
        p50_ms=round(percentile(seconds, 0.50) * 1000, 3),
        p99_ms=round(percentile(seconds, 0.99) * 1000, 3),
        max_ms=round(percentile(seconds, 1.0) * 1000, 3),
        samples=len(seconds),
        missed=missed,
    )


# --- the database ---------------------------------------------------------------------------------


def _prepare(url: str) -> tuple[str, str]:
    """A fresh schema, one published product, a publishable key: (key, variant id)."""
    from parcours.catalog import service as catalog
    from parcours.core.auth import service as auth_service
    from parcours.core.auth.models import KeyKind
    from parcours.core.db import Database
    from parcours.core.uow import UnitOfWork

    if url.startswith("postgresql"):
        _recreate_postgres_database(url)
    _ensure_schema(url)
    db = Database.from_url(url)
    try:
        with UnitOfWork(db) as uow:
            product = catalog.create_product(
                uow=uow,
                name="Pull marin",
                price_amount=5990,
                channels=["web", "app", "store"],
                status="published",
                variants=[{"sku": f"PM-{size}", "attributes": {"taille": size}} for size in "SM"],
            )
            key = auth_service.create_api_key(uow=uow, kind=KeyKind.PUBLISHABLE, name="bench")
            uow.commit()
            return key.token, product.variants[0].id
    finally:
        db.dispose()


# --- the two devices ------------------------------------------------------------------------------


class Stream:
    """The second device: reads the cart's event stream in a thread, on a plain socket (a
    browser's EventSource), noting when each version arrived (``time.perf_counter``)."""

    def __init__(self, base_url: str, cart_id: str, headers: dict[str, str]) -> None:
        host, _, port = base_url.removeprefix("http://").partition(":")
        self.arrived: dict[int, float] = {}
        self.condition = threading.Condition()
        self.error: BaseException | None = None
        self._address = (host, int(port))
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._request = (
            f"GET /v1/carts/{cart_id}/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Accept: text/event-stream\r\n{lines}\r\n"
        ).encode()
        self._socket: socket.socket | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self) -> Stream:
        self._socket = socket.create_connection(self._address, timeout=30)
        self._socket.settimeout(None)
        self._socket.sendall(self._request)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop = True
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)  # the server sees the device leave
            self._socket.close()
        self._thread.join(5)

    def _read(self) -> None:
        assert self._socket is not None
        try:
            stream = self._socket.makefile("rb")
            status = stream.readline()
            if b" 200 " not in status:
                raise RuntimeError(f"stream refused: {status!r}")
            chunked = False
            while (header := stream.readline()) not in (b"\r\n", b""):
                name, _, value = header.decode("latin-1").partition(":")
                if name.lower() == "transfer-encoding" and "chunked" in value.lower():
                    chunked = True
            pending = b""
            while True:
                if chunked:
                    size = int(stream.readline().strip() or b"0", 16)
                    if size == 0:
                        return
                    data = stream.read(size + 2)[:-2]
                else:
                    data = stream.read1(65536)
                    if not data:
                        return
                now = time.perf_counter()
                pending += data
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if line.startswith(b"data:"):
                        version = json.loads(line[5:]).get("version")
                        if isinstance(version, int):
                            with self.condition:
                                self.arrived.setdefault(version, now)
                                self.condition.notify_all()
        except BaseException as exc:  # noqa: BLE001 - reported to the waiting device
            if not self._stop:
                self.error = exc
                with self.condition:
                    self.condition.notify_all()

    def wait_for(self, version: int, timeout: float = EVENT_TIMEOUT_SECONDS) -> float | None:
        """When ``version`` (or a later one) arrived, or None after ``timeout``."""
        deadline = time.perf_counter() + timeout
        with self.condition:
            while True:
                if self.error is not None:
                    raise RuntimeError("the event stream failed") from self.error
                found = [t for v, t in self.arrived.items() if v >= version]
                if found:
                    return min(found)
                left = deadline - time.perf_counter()
                if left <= 0:
                    return None
                self.condition.wait(left)


class Device:
    """The first device: changes the cart over one keep-alive connection (``http.client``: a
    fraction of a millisecond per request, little of the measure)."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        host, _, port = base_url.removeprefix("http://").partition(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)
        self.headers = {**headers, "Content-Type": "application/json"}

    def send(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        payload = None if body is None else json.dumps(body)
        self.connection.request(method, path, body=payload, headers=self.headers)
        response = self.connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else {}

    def close(self) -> None:
        self.connection.close()


def _sync_run(
    name: str, change_url: str, stream_url: str, key: str, variant_id: str, changes: int
) -> tuple[Latency, dict[str, Any]]:
    auth = {"Authorization": f"Bearer {key}"}
    phone = Device(change_url, auth)
    try:
        status, started = phone.send("POST", "/v1/shopper/sessions", {"channel": "web"})
        assert status == 201, started
        phone.headers["X-Shopper-Token"] = started["token"]
        status, cart = phone.send("GET", "/v1/me/cart")
        assert status == 200, cart
        cart_id = cart["id"]
        headers = {**auth, "X-Shopper-Token": started["token"]}
        with Stream(stream_url, cart_id, headers) as laptop:
            if laptop.wait_for(cart["version"], timeout=15) is None:
                raise RuntimeError("the stream did not start")
            seconds: list[float] = []
            answered: list[float] = []
            by_kind: dict[str, list[float]] = {"add": [], "remove": []}
            missed = 0
            line_id: str | None = None
            for n in range(WARM_UP_CHANGES + changes):
                adding = line_id is None
                t0 = time.perf_counter()
                if adding:
                    status, answer = phone.send(
                        "POST", f"/v1/carts/{cart_id}/lines", {"variant_id": variant_id}
                    )
                    expected = 201
                else:
                    status, answer = phone.send("DELETE", f"/v1/carts/{cart_id}/lines/{line_id}")
                    expected = 200
                t1 = time.perf_counter()
                assert status == expected, answer
                line_id = answer["lines"][0]["id"] if adding else None
                arrived = laptop.wait_for(answer["version"])
                if n < WARM_UP_CHANGES:
                    continue
                if arrived is None:
                    missed += 1
                    continue
                seconds.append(arrived - t0)
                answered.append(t1 - t0)
                by_kind["add" if adding else "remove"].append(arrived - t0)
    finally:
        phone.close()
    detail = {
        "change_answered": asdict(_latency("the change's own HTTP answer", answered)),
        "adds": asdict(_latency("adds", by_kind["add"])),
        "removes": asdict(_latency("removes", by_kind["remove"])),
    }
    return _latency(name, seconds, missed), detail


def _count_statements(url: str, key: str, variant_id: str, changes: int = 10) -> dict[str, Any]:
    """SQL statements per add and per remove, counted in-process through the whole app with an
    engine listener (transaction control left out, as the query-count tests do)."""
    import httpx
    from sqlalchemy import event

    from bench.checkout import TRANSACTION_CONTROL, _kind
    from parcours.app import create_app
    from parcours.core.settings import Settings

    app = create_app(Settings(database_url=url, relay_in_process=False, log_level="WARNING"))
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if _kind(statement) not in TRANSACTION_CONTROL:
            statements.append(statement)

    async def measure() -> dict[str, Any]:
        counts: dict[str, list[int]] = {"add": [], "remove": []}
        db = app.state.db
        event.listen(db.engine, "before_cursor_execute", count)
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://bench",
                headers={"Authorization": f"Bearer {key}"},
            ) as client:
                started = (
                    await client.post("/v1/shopper/sessions", json={"channel": "web"})
                ).json()
                client.headers["X-Shopper-Token"] = started["token"]
                cart_id = (await client.get("/v1/me/cart")).json()["id"]
                for _ in range(changes):
                    statements.clear()
                    added = await client.post(
                        f"/v1/carts/{cart_id}/lines", json={"variant_id": variant_id}
                    )
                    assert added.status_code == 201, added.text
                    counts["add"].append(len(statements))
                    statements.clear()
                    line_id = added.json()["lines"][0]["id"]
                    removed = await client.delete(f"/v1/carts/{cart_id}/lines/{line_id}")
                    assert removed.status_code == 200, removed.text
                    counts["remove"].append(len(statements))
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
            db.dispose()
        return {
            kind: {"per_request": round(sum(c) / len(c), 2), "min": min(c), "max": max(c)}
            for kind, c in counts.items()
        }

    return asyncio.run(measure())


# --- the hub alone --------------------------------------------------------------------------------


def _hub_alone(redis: bool, changes: int) -> Latency:
    from parcours.core.live import InProcessHub, RedisHub, time_delivery

    async def measure() -> list[float]:
        if not redis:
            hub = InProcessHub()
            await time_delivery(hub, count=WARM_UP_CHANGES)
            return list((await time_delivery(hub, count=changes)).seconds)
        publisher, subscriber = RedisHub(REDIS_URL), RedisHub(REDIS_URL)
        try:
            await time_delivery(publisher, subscriber, count=WARM_UP_CHANGES)
            return list((await time_delivery(publisher, subscriber, count=changes)).seconds)
        finally:
            await publisher.aclose()
            await subscriber.aclose()

    name = "time_delivery, two RedisHubs" if redis else "time_delivery, InProcessHub"
    return _latency(name, asyncio.run(measure()))


def _redis_answers() -> bool:
    from redis import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except (RedisError, OSError):
        return False
    finally:
        client.close()


# --- the run --------------------------------------------------------------------------------------


@contextmanager
def _servers(url: str, count: int, redis: bool) -> Iterator[list[str]]:
    env = {
        "PARCOURS_DATABASE_URL": url,
        "PARCOURS_LOG_LEVEL": "WARNING",
        "PARCOURS_RELAY_IN_PROCESS": "false",
    }
    if redis:
        env["PARCOURS_REDIS_URL"] = REDIS_URL
    with ExitStack() as stack:
        urls = []
        for _ in range(count):
            port = _free_port()
            stack.enter_context(_server("parcours.cli:make_app", port, env))
            urls.append(f"http://127.0.0.1:{port}")
        for base in urls:
            _wait_ready(f"{base}/healthz")
        yield urls


def run(*, databases: list[str], changes: int = CHANGES) -> dict[str, Any]:
    """Per database, the in-process hub then the Redis hub (skipped when Redis does not answer);
    write ``bench/results/cart_sync.json``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    redis = _redis_answers()
    runs: list[dict[str, Any]] = []
    report: dict[str, Any] = {
        "benchmark": "cart_sync",
        "machine": _machine(),
        "load_average_at_start": os.getloadavg(),
        "changes": changes,
        "redis_url": REDIS_URL if redis else f"{REDIS_URL} (not answering: Redis runs skipped)",
        "runs": runs,
    }
    hubs = {"in-process": _hub_alone(False, changes)}
    if redis:
        hubs["redis"] = _hub_alone(True, changes)
    with tempfile.TemporaryDirectory() as tmp:
        for database in databases:
            url = f"sqlite:///{Path(tmp) / 'sync.db'}" if database == "sqlite" else PG_BENCH_URL
            key, variant_id = _prepare(url)
            statements = _count_statements(url, key, variant_id)
            for hub, baseline in hubs.items():
                count = 2 if hub == "redis" else 1
                with _servers(url, count, redis=hub == "redis") as urls:
                    name = f"Parcours, {database}, {hub} hub"
                    if count == 2:
                        name += " (change to A, stream from B)"
                    parcours, detail = _sync_run(name, urls[0], urls[-1], key, variant_id, changes)
                run_report = {
                    "database": database,
                    "hub": hub,
                    "baseline": asdict(baseline),
                    "parcours": asdict(parcours),
                    "added_p50_ms": round(parcours.p50_ms - baseline.p50_ms, 3),
                    "ratio_p50": round(parcours.p50_ms / baseline.p50_ms, 1),
                    **detail,
                    "sql_statements": statements,
                }
                runs.append(run_report)
                print(json.dumps(run_report, indent=2))
            if url.startswith("postgresql"):
                _drop_postgres_database(url)
    report["load_average_at_end"] = os.getloadavg()
    (RESULTS / "cart_sync.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {RESULTS / 'cart_sync.json'}")
    return report


if __name__ == "__main__":
    run(databases=["sqlite"])
