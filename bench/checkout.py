"""Click-and-collect checkout with a card payment, under closed-loop load on loopback.

Side by side in the same run, per database (SQLite file in WAL mode, PostgreSQL):

* the ceiling: a bare FastAPI app served the same way, answering the same pair of requests
  (``POST /ceiling/carts/{id}/checkout`` then ``POST /ceiling/orders/{id}/payments``) with the
  least a checkout and a payment can durably do: one INSERT of an order-like row, then one INSERT
  of a payment-like row, each in its own transaction, through Parcours' own engine
  (``make_engine``: same driver and pool, ``BEGIN IMMEDIATE``, WAL and ``synchronous=NORMAL`` on
  SQLite);
* Parcours: shopper carts prepared beforehand on the demo retailer (3 lines each, 3 different
  variants that the Paris Rivoli store holds by the million, so no checkout fails for stock) and
  test card tokens made beforehand through ``POST /v1/payments/test-provider/tokens``; then C
  clients each take the next cart and send ``POST /v1/carts/{id}/checkout`` (click and collect
  at that store, publishable key and ``X-Shopper-Token``) followed by
  ``POST /v1/orders/{id}/payments`` (card token, ``Idempotency-Key``).

Both are served by one Uvicorn process (uvloop, httptools, no access log, outbox relay off as in
the other benchmarks) and loaded from this process by C closed-loop clients, each on its own
keep-alive connection (a minimal HTTP/1.1 client: ``httpx`` cost so much CPU that it capped the
ceiling on two cores). Reported: orders per second (a checkout and its payment both answered 201
and captured), p50/p90/p99/max of the pair and of each request, and SQL statements per checkout
and per payment, counted in-process with an engine ``before_cursor_execute`` listener
(transaction control left out, as ``tests/conftest.py``'s ``QueryCounter`` does).

``python -m bench --only checkout`` (C is a quarter of ``--connections``: 8); results in
``bench/results/checkout.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from bench.availability import _free_port, _machine, _recreate_postgres_database, _wait_ready

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_BENCH_URL = os.environ.get(
    "PARCOURS_BENCH_CHECKOUT_PG_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/parcours_bench_checkout",
)
STORE_CODE = "PAR-RIV"  # click and collect; the demo's flagship
VARIANT_POOL = 30  # carts take 3 consecutive variants of this pool: 10 different baskets
LINES_PER_CART = 3
STOCK = 1_000_000
CARTS_PER_BATCH = 100
WARM_UP_ORDERS_PER_CLIENT = 4
COUNTED_ORDERS = 20
MAX_CARTS = 20_000
CARD = {
    "number": "4242424242424242",
    "exp_month": 12,
    "exp_year": date.today().year + 3,
    "cvc": "123",
}
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@dataclass
class Prepared:
    url: str
    publishable_key: str
    store_id: str
    variant_ids: list[str]


@dataclass
class ShopperCart:
    token: str
    cart_id: str
    card_token: str = ""


@dataclass
class LoadResult:
    name: str
    orders_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    checkout_p50_ms: float
    checkout_p99_ms: float
    payment_p50_ms: float
    payment_p99_ms: float
    orders: int
    errors: int
    seconds: float
    error_samples: list[str] = field(default_factory=list)


# --- the database ---------------------------------------------------------------------------------


def _ensure_schema(url: str) -> None:
    """Migrate, then create whatever tables the models have and the migrations do not (yet)."""
    from parcours.core.db import Database
    from parcours.core.migrate import upgrade_database
    from parcours.models import Base

    upgrade_database(url)
    db = Database.from_url(url)
    try:
        Base.metadata.create_all(db.engine, checkfirst=True)
    finally:
        db.dispose()


def _prepare_database(url: str) -> Prepared:
    """The demo retailer, a fresh publishable key, and a pool of variants stocked by the million
    at the click-and-collect store."""
    from sqlalchemy import select

    from parcours.catalog.models import Product, Variant
    from parcours.core.db import Database
    from parcours.core.settings import Settings
    from parcours.core.uow import UnitOfWork
    from parcours.demo.loader import load_demo
    from parcours.inventory import service as inventory
    from parcours.stores import service as stores

    if url.startswith("postgresql"):
        _recreate_postgres_database(url)
    _ensure_schema(url)
    loaded = load_demo(Settings(database_url=url), issue_keys=True)
    db = Database.from_url(url)
    try:
        with UnitOfWork(db) as uow:
            store = stores.get_location_by_code(uow=uow, code=STORE_CODE)
            assert store is not None, f"the demo has no store {STORE_CODE}"
            variant_ids = list(
                uow.session.scalars(
                    select(Variant.id)
                    .join(Product, Product.id == Variant.product_id)
                    .where(Product.status == "published")
                    .order_by(Variant.id)
                    .limit(VARIANT_POOL)
                )
            )
            for variant_id in variant_ids:
                inventory.set_stock(
                    uow=uow,
                    variant_id=variant_id,
                    location_id=store.id,
                    on_hand=STOCK,
                    reason="checkout benchmark",
                )
            uow.commit()
            store_id = store.id
    finally:
        db.dispose()
    return Prepared(url, loaded.publishable_key, store_id, variant_ids)


def _make_carts(prepared: Prepared, count: int, *, first: int = 0) -> list[ShopperCart]:
    """``count`` anonymous web shoppers with a cart of 3 lines each, through the services the
    API calls (the same rows as ``POST /v1/shopper/sessions`` and ``POST .../lines``), 100 per
    transaction: preparing them over HTTP would take longer than the run."""
    from parcours.carts import service as carts
    from parcours.carts.models import TouchpointKind
    from parcours.core.db import Database
    from parcours.core.uow import UnitOfWork
    from parcours.customers import shoppers

    pool = prepared.variant_ids
    made: list[ShopperCart] = []
    db = Database.from_url(prepared.url)
    try:
        for start in range(first, first + count, CARTS_PER_BATCH):
            with UnitOfWork(db) as uow:
                for n in range(start, min(start + CARTS_PER_BATCH, first + count)):
                    started = shoppers.start_shopper_session(uow=uow, channel="web")
                    cart = carts.open_cart(
                        uow=uow,
                        profile_id=None,
                        anonymous_id=started.session.anonymous_id,
                        channel="web",
                        currency="EUR",
                    )
                    for k in range(LINES_PER_CART):
                        carts.add_line(
                            uow=uow,
                            cart_id=cart.id,
                            variant_id=pool[(n * LINES_PER_CART + k) % len(pool)],
                            quantity=1,
                            touchpoint=carts.Touchpoint(kind=TouchpointKind.WEB),
                        )
                    made.append(ShopperCart(started.token, cart.id))
                uow.commit()
    finally:
        db.dispose()
    return made


def _ceiling_tables() -> Any:
    from sqlalchemy import JSON, Column, Integer, MetaData, String, Table

    from parcours.core.db import UTCDateTime

    metadata = MetaData()
    orders = Table(
        "bench_ceiling_orders",
        metadata,
        Column("id", String(40), primary_key=True),
        Column("cart_id", String(40), nullable=False),
        Column("store_id", String(40)),
        Column("email", String(320)),
        Column("status", String(20), nullable=False),
        Column("total", Integer, nullable=False),
        Column("currency", String(3), nullable=False),
        Column("lines", JSON, nullable=False),
        Column("placed_at", UTCDateTime(), nullable=False),
    )
    payments = Table(
        "bench_ceiling_payments",
        metadata,
        Column("id", String(40), primary_key=True),
        Column("order_id", String(40), nullable=False),
        Column("idempotency_key", String(255), nullable=False, unique=True),
        Column("token", String(100), nullable=False),
        Column("amount", Integer, nullable=False),
        Column("status", String(20), nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
    )
    return metadata, orders, payments


class _CeilingGroup(BaseModel):
    method: str
    store_id: str | None = None


class _CeilingCheckout(BaseModel):
    fulfilments: list[_CeilingGroup]
    email: str | None = None


class _CeilingPayment(BaseModel):
    method: str
    token: str


def make_ceiling_app() -> Any:
    """Uvicorn factory of the ceiling: the same two requests, one INSERT and a commit each."""
    from fastapi import FastAPI, Header

    from parcours.core.clock import utcnow
    from parcours.core.db import Database
    from parcours.core.ids import new_id

    db = Database.from_url(os.environ["PARCOURS_DATABASE_URL"])
    metadata, orders, payments = _ceiling_tables()
    metadata.create_all(db.engine, checkfirst=True)

    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/ceiling/carts/{cart_id}/checkout", status_code=201)
    def checkout(cart_id: str, body: _CeilingCheckout) -> dict[str, Any]:
        order_id = new_id("ord")
        lines = [{"variant_id": f"var_{n}", "quantity": 1, "unit_price": 2990} for n in range(3)]
        with db.engine.begin() as connection:
            connection.execute(
                orders.insert().values(
                    id=order_id,
                    cart_id=cart_id,
                    store_id=body.fulfilments[0].store_id,
                    email=body.email,
                    status="placed",
                    total=8970,
                    currency="EUR",
                    lines=lines,
                    placed_at=utcnow(),
                )
            )
        return {"id": order_id, "status": "placed", "total": 8970, "lines": lines}

    @app.post("/ceiling/orders/{order_id}/payments", status_code=201)
    def pay(
        order_id: str,
        body: _CeilingPayment,
        idempotency_key: str = Header(alias="Idempotency-Key"),
    ) -> dict[str, Any]:
        payment_id = new_id("pay")
        with db.engine.begin() as connection:
            connection.execute(
                payments.insert().values(
                    id=payment_id,
                    order_id=order_id,
                    idempotency_key=idempotency_key,
                    token=body.token,
                    amount=8970,
                    status="captured",
                    created_at=utcnow(),
                )
            )
        return {"payment": {"id": payment_id, "status": "captured"}, "order": {"id": order_id}}

    return app


def _drop_postgres_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def _server(target: str, port: int, env: dict[str, str]) -> Iterator[None]:
    command = [sys.executable, "-m", "uvicorn", target, "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    command += ["--no-access-log", "--loop", "uvloop", "--http", "httptools"]
    import subprocess

    process = subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT)
    try:
        yield
    finally:
        process.terminate()
        process.wait(10)


# --- load -----------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (not necessarily sorted)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


class HttpConnection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: a tenth of ``httpx``'s CPU per
    request, which matters when the load generator shares two cores with the server."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.base = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.base}{extra}"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        self._writer.write(head.encode() + payload)
        status_line = await self._reader.readuntil(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, close = 0, False, False
        while (line := await self._reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
        if chunked:
            parts = []
            while size := int((await self._reader.readuntil(b"\r\n")).strip(), 16):
                parts.append(await self._reader.readexactly(size + 2))
            await self._reader.readuntil(b"\r\n")
            data = b"".join(part[:-2] for part in parts)
        else:
            data = await self._reader.readexactly(length)
        if close:
            await self.close()
        return status, data

    async def close(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
                await self._writer.wait_closed()
        self._reader = self._writer = None


def _host_port(base_url: str) -> tuple[str, int]:
    host, _, port = base_url.removeprefix("http://").partition(":")
    return host, int(port)


async def _make_card_tokens(
    base_url: str, key: str, carts: list[ShopperCart], clients: int
) -> None:
    """One test card token per cart, through the API, as a payment form in a browser does."""
    queue = list(carts)

    async def worker() -> None:
        connection = HttpConnection(*_host_port(base_url), {"Authorization": f"Bearer {key}"})
        try:
            while queue:
                cart = queue.pop()
                status, body = await connection.request(
                    "POST", "/v1/payments/test-provider/tokens", CARD
                )
                if status != 201:
                    raise RuntimeError(f"card token refused: {status} {body[:200]!r}")
                cart.card_token = json.loads(body)["token"]
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(clients)))


async def _load(
    name: str,
    base_url: str,
    *,
    clients: int,
    duration: float,
    checkout_path: str,
    payment_path: str,
    key: str | None,
    store_id: str,
    carts: list[ShopperCart],
) -> LoadResult:
    """C closed-loop clients, each on its own keep-alive connection: take the next cart, check
    it out, pay the order; until ``duration`` has passed or no cart is left."""
    queue = list(reversed(carts))
    pairs: list[float] = []
    firsts: list[float] = []
    seconds: list[float] = []
    errors: list[str] = []
    base_headers = {"Authorization": f"Bearer {key}"} if key else {}
    started = time.perf_counter()
    deadline = started + duration

    async def order(connection: HttpConnection, cart: ShopperCart) -> None:
        shopper = {"X-Shopper-Token": cart.token} if cart.token else {}
        checkout = {
            "fulfilments": [{"method": "click_and_collect", "store_id": store_id}],
            "email": f"shopper-{cart.cart_id[-8:]}@example.com",
        }
        t0 = time.perf_counter()
        status, body = await connection.request(
            "POST", checkout_path.format(cart=cart.cart_id), checkout, shopper
        )
        t1 = time.perf_counter()
        if status != 201:
            errors.append(f"checkout {status}: {body[:200]!r}")
            return
        status, body = await connection.request(
            "POST",
            payment_path.format(order=json.loads(body)["id"]),
            {"method": "card", "token": cart.card_token},
            {**shopper, "Idempotency-Key": uuid.uuid4().hex},
        )
        t2 = time.perf_counter()
        if status != 201 or json.loads(body)["payment"]["status"] != "captured":
            errors.append(f"payment {status}: {body[:200]!r}")
            return
        pairs.append(t2 - t0)
        firsts.append(t1 - t0)
        seconds.append(t2 - t1)

    async def worker() -> None:
        connection = HttpConnection(*_host_port(base_url), base_headers)
        try:
            while queue and time.perf_counter() < deadline:
                try:
                    await order(connection, queue.pop())
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    errors.append(f"connection: {exc!r}")  # a server that crashed mid-answer
                    await connection.close()
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - started

    def ms(values: list[float], fraction: float) -> float:
        return round(percentile(values, fraction) * 1000, 2)

    return LoadResult(
        name=name,
        orders_per_second=round(len(pairs) / elapsed, 1),
        p50_ms=ms(pairs, 0.50),
        p90_ms=ms(pairs, 0.90),
        p99_ms=ms(pairs, 0.99),
        max_ms=ms(pairs, 1.0),
        checkout_p50_ms=ms(firsts, 0.50),
        checkout_p99_ms=ms(firsts, 0.99),
        payment_p50_ms=ms(seconds, 0.50),
        payment_p99_ms=ms(seconds, 0.99),
        orders=len(pairs),
        errors=len(errors),
        seconds=round(elapsed, 2),
        error_samples=errors[:3],
    )


# --- SQL statements -------------------------------------------------------------------------------


def _kind(statement: str) -> str:
    return statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""


def _count_statements(prepared: Prepared, carts: list[ShopperCart]) -> dict[str, Any]:
    """SQL statements per checkout and per payment, counted in-process through the whole app
    (middleware included: the payment's Idempotency-Key costs its own two transactions): on the
    first order (cold caches), on average over the next ones (as in the load run: this process
    serves checkouts only), with their kinds and the statements of one order; then once more
    after a read request (availability) has filled the process's store directory, as it is in a
    process that also serves product pages."""
    import httpx
    from sqlalchemy import event

    from parcours.app import create_app
    from parcours.core.settings import Settings

    settings = Settings(database_url=prepared.url, relay_in_process=False, log_level="WARNING")
    app = create_app(settings)
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if _kind(statement) not in TRANSACTION_CONTROL:
            statements.append(statement)

    async def order(client: httpx.AsyncClient, cart: ShopperCart) -> tuple[list[str], list[str]]:
        shopper = {"X-Shopper-Token": cart.token}
        token = await client.post("/v1/payments/test-provider/tokens", json=CARD)
        assert token.status_code == 201, token.text
        statements.clear()
        placed = await client.post(
            f"/v1/carts/{cart.cart_id}/checkout",
            json={
                "fulfilments": [{"method": "click_and_collect", "store_id": prepared.store_id}],
                "email": f"shopper-{cart.cart_id[-8:]}@example.com",
            },
            headers=shopper,
        )
        assert placed.status_code == 201, placed.text
        checkout_statements = list(statements)
        statements.clear()
        paid = await client.post(
            f"/v1/orders/{placed.json()['id']}/payments",
            json={"method": "card", "token": token.json()["token"]},
            headers={**shopper, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert paid.status_code == 201, paid.text
        return checkout_statements, list(statements)

    async def measure() -> dict[str, Any]:
        db = app.state.db
        event.listen(db.engine, "before_cursor_execute", count)
        counted: list[tuple[list[str], list[str]]] = []
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {prepared.publishable_key}"}
        try:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", headers=headers
            ) as client:
                for cart in carts[:-1]:
                    counted.append(await order(client, cart))
                read = await client.get(
                    "/v1/availability",
                    params={"variant_id": prepared.variant_ids[0], "lat": 48.8584, "lon": 2.347},
                )
                assert read.status_code == 200, read.text
                after_read = await order(client, carts[-1])
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
            db.dispose()

        def summary(which: int) -> dict[str, Any]:
            counts = [len(pair[which]) for pair in counted]
            rest = counts[1:]
            kinds = Counter(_kind(s) for pair in counted[1:] for s in pair[which])
            return {
                "first": counts[0],
                "per_request": round(sum(rest) / len(rest), 2),
                "min": min(rest),
                "max": max(rest),
                "by_kind": {k: round(v / len(rest), 2) for k, v in sorted(kinds.items())},
                "after_a_read_request": len(after_read[which]),
                "one_request": [" ".join(s.split())[:110] for s in counted[-1][which]],
            }

        return {
            "checkout": summary(0),
            "payment": summary(1),
            "orders_counted": len(counted) - 1,
        }

    return asyncio.run(measure())


# --- the run --------------------------------------------------------------------------------------


def _run_database(database: str, url: str, *, duration: int, clients: int) -> dict[str, Any]:
    phases: dict[str, float] = {}
    mark = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        phases[name] = round(now - mark, 1)
        mark = now

    prepared = _prepare_database(url)
    phase("demo retailer loaded")
    statements = _count_statements(prepared, _make_carts(prepared, COUNTED_ORDERS + 2))
    phase("statements counted")
    app_port, ceiling_port = _free_port(), _free_port()
    env = {
        "PARCOURS_DATABASE_URL": url,
        "PARCOURS_LOG_LEVEL": "WARNING",
        "PARCOURS_RELAY_IN_PROCESS": "false",
    }
    app_url = f"http://127.0.0.1:{app_port}"
    ceiling_url = f"http://127.0.0.1:{ceiling_port}"
    made = COUNTED_ORDERS + 2
    with (
        _server("parcours.cli:make_app", app_port, env),
        _server("bench.checkout:make_ceiling_app", ceiling_port, env),
    ):
        _wait_ready(f"{app_url}/healthz")
        _wait_ready(f"{ceiling_url}/healthz")
        phase("servers started")
        key = prepared.publishable_key

        def load(name: str, base: str, carts: list[ShopperCart], seconds: float) -> LoadResult:
            if base == ceiling_url:
                paths = ("/ceiling/carts/{cart}/checkout", "/ceiling/orders/{order}/payments")
            else:
                paths = ("/v1/carts/{cart}/checkout", "/v1/orders/{order}/payments")
            return asyncio.run(
                _load(
                    name,
                    base,
                    clients=clients,
                    duration=seconds,
                    checkout_path=paths[0],
                    payment_path=paths[1],
                    key=None if base == ceiling_url else key,
                    store_id=prepared.store_id,
                    carts=carts,
                )
            )

        # Warm-up of both, which also tells how many carts the measured run needs.
        warm_carts = _make_carts(prepared, WARM_UP_ORDERS_PER_CLIENT * clients, first=made)
        made += len(warm_carts)
        asyncio.run(_make_card_tokens(app_url, key, warm_carts, clients))
        warm = load("warm-up", app_url, warm_carts, 60)
        if warm.errors:
            raise RuntimeError(f"checkout failed during the warm-up: {warm.error_samples}")
        fake = [ShopperCart("", f"crt_ceiling_{n}", "tok_ceiling") for n in range(MAX_CARTS)]
        load("warm-up", ceiling_url, fake, 1)
        phase("warm-up")
        # Enough carts for half again the warm-up's pace: the run ends at ``duration``.
        needed = min(MAX_CARTS, int(warm.orders_per_second * duration * 1.5) + 4 * clients)
        run_carts = _make_carts(prepared, needed, first=made)
        asyncio.run(_make_card_tokens(app_url, key, run_carts, clients))
        phase("carts and card tokens prepared")
        ceiling = load(
            "bare FastAPI, one INSERT per request (ceiling)", ceiling_url, fake, duration
        )
        phase("ceiling run")
        parcours = load(f"Parcours checkout + payment ({database})", app_url, run_carts, duration)
        phase("Parcours run")
    if url.startswith("postgresql"):
        _drop_postgres_database(url)
    ran_out = parcours.seconds < duration * 0.98
    return {
        "database": database,
        "ceiling": asdict(ceiling),
        "parcours": asdict(parcours),
        "ratio": (
            round(parcours.orders_per_second / ceiling.orders_per_second, 3)
            if ceiling.orders_per_second
            else None
        ),
        "carts_prepared": len(run_carts),
        "ran_out_of_carts": ran_out,
        "sql_statements": statements,
        "phase_seconds": phases,
    }


def run(*, duration: int, clients: int, databases: list[str]) -> dict[str, Any]:
    """Run the benchmark per database; write ``bench/results/checkout.json``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    report: dict[str, Any] = {
        "benchmark": "checkout",
        "machine": _machine(),
        "load_average_at_start": os.getloadavg(),
        "duration_s": duration,
        "clients": clients,
        "lines_per_cart": LINES_PER_CART,
        "runs": runs,
    }
    with tempfile.TemporaryDirectory() as tmp:
        for database in databases:
            url = f"sqlite:///{Path(tmp) / 'checkout.db'}" if database == "sqlite" else PG_BENCH_URL
            run_report = _run_database(database, url, duration=duration, clients=clients)
            runs.append(run_report)
            print(json.dumps(run_report, indent=2))
    report["load_average_at_end"] = os.getloadavg()
    (RESULTS / "checkout.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {RESULTS / 'checkout.json'}")
    return report


if __name__ == "__main__":
    run(duration=int(os.environ.get("BENCH_DURATION", "10")), clients=8, databases=["sqlite"])
