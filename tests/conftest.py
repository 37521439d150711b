"""Fixtures shared by every context's tests: one real database per run, emptied between tests.

The database is SQLite (a file, WAL mode) unless ``PARCOURS_TEST_DATABASE_URL`` names another,
e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/parcours_test``; ``make test`` runs both.
Tests commit for real (concurrency tests need it), so tables are emptied after each test.

Every test starts at the same instant (``clock``): midday in Paris on a fixed date, or the instant
``PARCOURS_TEST_NOW`` (or ``--now``) names; docs/testing.md tells how to run the suite at one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from parcours.app import create_app
from parcours.core.auth import service as auth_service
from parcours.core.auth.models import KeyKind, KeySource, Role
from parcours.core.clock import set_now, utcnow
from parcours.core.db import Database
from parcours.core.settings import Environment, Settings
from parcours.core.uow import UnitOfWork
from parcours.models import Base

TEST_PASSWORD = "correct horse battery"

# Property tests in CI draw the same examples on every run (a red run reproduces, a green one is
# not luck); elsewhere they explore. Tests that touch the database keep their own modest
# max_examples; HYPOTHESIS_PROFILE=ci gives a local run CI's examples.
hypothesis_settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, print_blob=True
)
if _profile := os.environ.get("HYPOTHESIS_PROFILE") or (
    "ci" if os.environ.get("CI") == "true" else None
):
    hypothesis_settings.load_profile(_profile)

PARIS = ZoneInfo("Europe/Paris")
#: The suite's "now" unless told otherwise: midday in Paris on a Wednesday, far from a DST change.
DEFAULT_NOW = datetime(2026, 6, 10, 12, 0, tzinfo=PARIS)
NOW_VARIABLE = "PARCOURS_TEST_NOW"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--now",
        default=os.environ.get(NOW_VARIABLE) or None,
        help=f"the instant every test starts at, ISO 8601 (e.g. 2026-03-29T00:59:00Z); "
        f"default: ${NOW_VARIABLE}, else {DEFAULT_NOW.isoformat()}",
    )


def _suite_now(config: pytest.Config) -> datetime:
    value = config.getoption("--now", default=None)
    if not value:
        return DEFAULT_NOW
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise pytest.UsageError(f"--now / {NOW_VARIABLE} needs a time zone: {value!r}")
    return instant


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "at_midday: the test's story happens during the day: it starts at midday in Paris on the "
        "suite's day instead of the suite's instant",
    )
    config.addinivalue_line(
        "markers", "at(instant): the test starts at this aware datetime, whatever the suite's"
    )
    # Fixtures wider than a test (the live server, session data) see the suite's instant too.
    set_now(_suite_now(config))


def pytest_unconfigure(config: pytest.Config) -> None:
    set_now(None)


@dataclass(frozen=True)
class Clock:
    """The clock the app, the live server, the browsers and test data all read (``utcnow``).

    Each test starts at ``start``; time then runs at the real pace, so durations are real but
    the day and the hour are the chosen ones.
    """

    start: datetime

    def now(self) -> datetime:
        return utcnow()

    def set(self, instant: datetime) -> None:
        """Move the clock for the rest of the test (pages already open keep theirs: for a
        browser test, mark it ``at`` or ``at_midday`` instead)."""
        set_now(instant)

    def paris(self, hour: int, minute: int = 0, *, days: int = 0) -> datetime:
        return in_paris(hour, minute, days=days)


def in_paris(hour: int, minute: int = 0, *, days: int = 0) -> datetime:
    """``hour:minute`` in Paris on the clock's day there, or ``days`` after it (before, if
    negative): "yesterday afternoon" that stays yesterday whatever the hour of the run."""
    day = utcnow().astimezone(PARIS).date() + timedelta(days=days)
    return datetime.combine(day, clock_time(hour, minute), tzinfo=PARIS)


def midday_in_paris(instant: datetime) -> datetime:
    return datetime.combine(instant.astimezone(PARIS).date(), clock_time(12), tzinfo=PARIS)


def card_expiry_year() -> int:
    """A test card's expiry year: a few years after the clock's, so the cards never run out."""
    return utcnow().year + 3


def sandbox_card(number: str = "4242424242424242") -> dict[str, Any]:
    """A test card for ``/v1/payments/test-provider/tokens``, valid at the clock's date."""
    return {"number": number, "exp_month": 12, "exp_year": card_expiry_year(), "cvc": "123"}


def card_expiry_field() -> str:
    """The checkout form's "MM/AA" for a card valid at the clock's date."""
    return f"12/{card_expiry_year() % 100:02d}"


@pytest.fixture(autouse=True)
def clock(request: pytest.FixtureRequest) -> Iterator[Clock]:
    """Sets ``utcnow`` to the suite's instant (or the test's ``at``/``at_midday`` marker) for
    the test, its data and the live server, and gives it back afterwards."""
    suite = _suite_now(request.config)
    start = suite
    if (marker := request.node.get_closest_marker("at")) is not None:
        start = marker.args[0]
    elif request.node.get_closest_marker("at_midday") is not None:
        start = midday_in_paris(suite)
    set_now(start)
    yield Clock(start)
    set_now(suite)


def _ensure_postgres_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
        )
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("PARCOURS_TEST_DATABASE_URL")
    if url and url.startswith("postgresql"):
        _ensure_postgres_database(url)
        return url
    return url or f"sqlite:///{tmp_path_factory.mktemp('db') / 'parcours-test.db'}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last, whatever paths were asked for: Playwright's sync driver holds an
    event loop on the main thread for the rest of the session, which async tests (the live hub's)
    cannot run beside."""
    items.sort(key=lambda item: "/tests/e2e/" in str(item.path).replace(os.sep, "/"))


def pytest_report_header(config: pytest.Config) -> list[str]:
    url = os.environ.get("PARCOURS_TEST_DATABASE_URL", "sqlite (temporary file)")
    safe = make_url(url).render_as_string(hide_password=True) if "://" in url else url
    now = _suite_now(config)
    return [
        f"parcours test database: {safe}",
        f"parcours test clock: {now.isoformat()} ({now.astimezone(PARIS):%Y-%m-%d %H:%M} Paris)",
    ]


@pytest.fixture(scope="session")
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url)
    with database.engine.begin() as conn:
        Base.metadata.drop_all(conn)
        _drop_search_structures(conn)
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


def _drop_search_structures(conn: object) -> None:
    from parcours.catalog.search import drop_search_index

    drop_search_index(conn)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _empty_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "db" not in request.fixturenames:
        return
    database: Database = request.getfixturevalue("db")
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as conn:
        if database.is_sqlite:
            for name in tables:
                conn.execute(text(f'DELETE FROM "{name}"'))
            from parcours.catalog.search import clear_search_index

            clear_search_index(conn)
        else:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))


#: The Redis the live-sync tests share (``PARCOURS_TEST_REDIS_URL``, else the local one).
REDIS_URL = os.environ.get("PARCOURS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis of the tests that need one, checked once: such a test fails (never skips) with
    what to do when that Redis does not answer; tests without Redis never ask for it."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    problem = None
    try:
        client.ping()
    except redis.RedisError as exc:
        problem = str(exc)
    finally:
        client.close()
    if problem is not None:
        pytest.fail(
            f"this test needs Redis at {REDIS_URL} and it does not answer ({problem}): start it "
            "('redis-server --daemonize yes', as .ci/run does) or set PARCOURS_TEST_REDIS_URL",
            pytrace=False,
        )
    return REDIS_URL


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment=Environment.TEST,
        database_url=database_url,
        lake_dir=tmp_path / "lake",
        relay_in_process=False,
        log_json=False,
    )


@pytest.fixture
def app(settings: Settings, db: Database) -> FastAPI:
    return create_app(settings, database=db)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # https: the session cookie is Secure, and httpx only sends it back over https.
    with TestClient(app, base_url="https://testserver") as test_client:
        yield test_client


@pytest.fixture
def uow(db: Database) -> Iterator[UnitOfWork]:
    """An open unit of work for service tests; call ``uow.commit()`` to make changes visible."""
    with UnitOfWork(db) as unit:
        yield unit


@pytest.fixture
def api_key(db: Database) -> Callable[[KeyKind], str]:
    """Issue a key of a kind and return its token."""

    def issue(kind: KeyKind = KeyKind.SECRET) -> str:
        source = KeySource.WEB if kind is KeyKind.WRITE else None
        with UnitOfWork(db) as unit:
            issued = auth_service.create_api_key(
                uow=unit, kind=kind, name=f"test {kind}", source=source
            )
            unit.commit()
        return issued.token

    return issue


@pytest.fixture
def secret_headers(api_key: Callable[[KeyKind], str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key(KeyKind.SECRET)}"}


@pytest.fixture
def publishable_headers(api_key: Callable[[KeyKind], str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key(KeyKind.PUBLISHABLE)}"}


@pytest.fixture
def staff_client(app: FastAPI, db: Database) -> Iterator[Callable[..., TestClient]]:
    """A client signed in as a new staff member: ``staff_client(Role.ASSOCIATE, stores={id})``.

    It carries the session cookie and sends the session's CSRF token on every request, like the
    pages' scripts do.
    """
    clients: list[TestClient] = []

    def sign_in(role: Role, *, stores: frozenset[str] | set[str] = frozenset()) -> TestClient:
        email = f"{role.value}-{len(clients)}@staff.example"
        with UnitOfWork(db) as unit:
            auth_service.create_staff_user(
                uow=unit,
                email=email,
                name=f"Test {role.value}",
                role=role,
                password=TEST_PASSWORD,
                store_ids=frozenset(stores),
            )
            unit.commit()
        test_client = TestClient(app, base_url="https://testserver")
        test_client.__enter__()
        clients.append(test_client)
        response = test_client.post(
            "/v1/sessions", json={"email": email, "password": TEST_PASSWORD}
        )
        assert response.status_code == 200, response.text
        test_client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return test_client

    yield sign_in
    for test_client in clients:
        test_client.__exit__(None, None, None)


class QueryCounter:
    """Counts the SQL statements an engine runs, transaction control left out (BEGIN, COMMIT,
    ROLLBACK, SAVEPOINT, RELEASE are not queries): to lock the queries per call."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn: object, _cursor: object, statement: str, *_: object) -> None:
        first = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if first not in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def queries(db: Database) -> Iterator[QueryCounter]:
    """The SQL statements sent to the database from now on."""
    counter = QueryCounter()
    event.listen(db.engine, "before_cursor_execute", counter)
    yield counter
    event.remove(db.engine, "before_cursor_execute", counter)


@pytest.fixture
def sql_statements(queries: QueryCounter) -> list[str]:
    """The same, as a list (clear it to start counting)."""
    return queries.statements


@pytest.fixture(scope="session")
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


CHROMIUM = os.environ.get("PARCOURS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve_app(database_url: str, db: Database, **overrides: Any) -> Iterator[str]:
    """The app served by Uvicorn on loopback in a thread; ``overrides`` are settings."""
    port = free_port()
    values: dict[str, Any] = {
        "environment": Environment.TEST,
        "database_url": database_url,
        "host": "127.0.0.1",
        "port": port,
        "relay_in_process": False,
        "log_level": "WARNING",
        "lake_dir": Path(tempfile.mkdtemp(prefix="parcours-lake-")),
        **overrides,
    }
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(Settings(**values), database=db),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            log_config=None,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def live_server(database_url: str, db: Database) -> Iterator[str]:
    """The app served by Uvicorn on loopback, for browsers and real third-party clients."""
    with serve_app(database_url, db) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (one for the whole run: Playwright's sync API
    allows a single driver per thread)."""
    from playwright.sync_api import sync_playwright

    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run 'make browser' (Debian's chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        _on_the_clock(chromium)
        yield chromium
        chromium.close()


def _on_the_clock(browser: Any) -> None:
    """Every context the browser makes from now on reads the suite's clock in its pages
    (``Date.now()``, timers) from the moment it is made, as the server does: the pickup desk's
    timers, the tracker's ``sentAt`` and the till's offline sales agree with the server's times.
    The browser stays a ``Browser`` (tests check it)."""
    native = browser.new_context

    def new_context(**options: Any) -> Any:
        context = native(**options)
        context.clock.install(time=utcnow())
        return context

    browser.new_context = new_context


# --- a small shop for carts and orders ------------------------------------------------------------

ALL_WEEK = [(day, "00:00", "23:59") for day in range(7)]


@dataclass(frozen=True)
class Shop:
    """Two Paris stores, a warehouse, a published product in sizes S/M/L and its stock."""

    store_a: str  # click-and-collect, reserve in store, ship from store
    store_b: str  # click-and-collect only
    warehouse: str
    product_id: str
    product_slug: str
    variants: dict[str, str]  # size -> variant id
    gtins: dict[str, str]  # size -> GTIN-13
    price: int


def _gtin(body: str) -> str:
    digits = [int(c) for c in body]
    total = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return body + str((10 - total % 10) % 10)


@pytest.fixture
def shop(db: Database) -> Shop:
    """Stock: S 5 at A, 0 at B, 20 at the warehouse; M 1 at A, 2 at B, 20 warehouse; L only
    at the warehouse (3). Stores are open around the clock so promises do not depend on the
    hour the tests run."""
    from parcours.catalog import service as catalog
    from parcours.inventory import service as inventory
    from parcours.stores import service as stores
    from parcours.stores.models import LocationKind, Service

    def place(unit: UnitOfWork, code: str, **fields: object) -> str:
        values: dict[str, object] = {
            "code": code,
            "name": f"Parcours {code}",
            "street": "10 rue de Rivoli",
            "postcode": "75004",
            "city": "Paris",
            "latitude": 48.8566,
            "longitude": 2.3522,
            "hours": ALL_WEEK,
            "services": [Service.CLICK_AND_COLLECT],
        }
        values.update(fields)
        return stores.upsert_location(uow=unit, **values).id  # type: ignore[arg-type]

    with UnitOfWork(db) as unit:
        store_a = place(
            unit,
            "PAR-A",
            services=[Service.CLICK_AND_COLLECT, Service.RESERVE_IN_STORE, Service.SHIP_FROM_STORE],
        )
        store_b = place(
            unit,
            "PAR-B",
            street="2 place d'Italie",
            postcode="75013",
            latitude=48.83,
            longitude=2.355,
        )
        warehouse = place(
            unit,
            "WH",
            kind=LocationKind.WAREHOUSE,
            services=[],
            city="Orléans",
            postcode="45000",
            latitude=47.90,
            longitude=1.90,
        )
        gtins = {
            size: _gtin(f"376000000{n:03d}") for n, size in enumerate(("S", "M", "L"), start=1)
        }
        product = catalog.create_product(
            uow=unit,
            name="Pantalon noir",
            price_amount=5990,
            channels=["web", "app", "store"],
            status="published",
            variants=[
                {"sku": f"PN-{size}", "gtin": gtins[size], "attributes": {"taille": size}}
                for size in ("S", "M", "L")
            ],
        )
        variants = {v.attributes["taille"]: v.id for v in product.variants}
        for location, counts in (
            (store_a, {"S": 5, "M": 1}),
            (store_b, {"M": 2}),
            (warehouse, {"S": 20, "M": 20, "L": 3}),
        ):
            for size, units in counts.items():
                inventory.set_stock(
                    uow=unit,
                    variant_id=variants[size],
                    location_id=location,
                    on_hand=units,
                    reason="count",
                )
        unit.commit()
        return Shop(store_a, store_b, warehouse, product.id, product.slug, variants, gtins, 5990)
