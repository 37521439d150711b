"""``create_app(settings)``: builds the whole application, with nothing created at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from parcours import __version__
from parcours.carts import api as carts_api
from parcours.catalog import api as catalog_api
from parcours.core import health
from parcours.core.auth import api as auth_api
from parcours.core.auth.http import ApiKeyCache
from parcours.core.csrf import CrossSiteRequestGuard, trusted_origins_of
from parcours.core.db import Database
from parcours.core.errors import install_error_handlers
from parcours.core.events import EventBus
from parcours.core.idempotency import IdempotencyMiddleware
from parcours.core.live import build_live_hub
from parcours.core.middleware import BodySizeLimitMiddleware, HttpMetrics, RequestContextMiddleware
from parcours.core.outbox import Relay
from parcours.core.settings import Settings, load_settings
from parcours.customers import api as customers_api
from parcours.customers import tasks as customers_tasks
from parcours.inventory import api as inventory_api
from parcours.inventory import handlers as inventory_handlers
from parcours.inventory import tasks as inventory_tasks
from parcours.journeys import api as journeys_api
from parcours.journeys import tasks as journeys_tasks
from parcours.loyalty import api as loyalty_api
from parcours.notifications import api as notifications_api
from parcours.notifications import handlers as notifications_handlers
from parcours.notifications import tasks as notifications_tasks
from parcours.orders import api as orders_api
from parcours.orders import handlers as orders_handlers
from parcours.orders import tasks as orders_tasks
from parcours.payments import api as payments_api
from parcours.payments.providers import build_providers
from parcours.stores import api as stores_api
from parcours.stores import handlers as stores_handlers
from parcours.tracking import api as tracking_api
from parcours.tracking import tasks as tracking_tasks
from parcours.web import associate, backoffice, pages, storefront
from parcours.web.storefront import scan as storefront_scan

WEB_DIR = Path(__file__).parent / "web"
#: What a multipart form adds around an uploaded photo: boundaries, part headers, a CSRF field.
_MULTIPART_MARGIN = 64 * 1024

API_DESCRIPTION = """
Parcours HTTP API. Conventions (see docs/api.md):

* Authenticate with `Authorization: Bearer <key>` (secret keys for servers, publishable keys for
  storefront reads) or a staff session cookie plus the `X-CSRF-Token` header.
* Errors are RFC 9457 `application/problem+json` with a stable `code`.
* Lists are cursor-paginated (`cursor`, `limit`; answer has `items` and `next_cursor`).
* Creating POSTs accept `Idempotency-Key`.
* Money is integer minor units with an ISO 4217 currency.
"""


def build_bus(settings: Settings | None = None) -> EventBus:
    """Every context subscribes its handlers here; the relay delivers events to them. Without
    ``settings`` (some tests), handlers that reach outside (web push) stay off."""
    bus = EventBus()
    inventory_handlers.register(bus)
    orders_handlers.register(bus)
    notifications_handlers.register(bus, settings=settings)
    stores_handlers.register(bus)
    return bus


def build_relay(db: Database, settings: Settings) -> Relay:
    """The outbox relay and the housekeeping it runs, in the API process or in a worker."""
    return Relay(
        db,
        build_bus(settings),
        poll_seconds=settings.relay_poll_seconds,
        periodic=[
            inventory_tasks.run_periodic_tasks,
            orders_tasks.run_periodic_tasks,
            partial(
                customers_tasks.run_periodic_tasks,
                events_without_consent=settings.events_without_consent.value,
            ),
            partial(tracking_tasks.run_periodic_tasks, settings=settings),
            partial(notifications_tasks.run_periodic_tasks, settings=settings),
            partial(journeys_tasks.run_periodic_tasks, settings=settings),
        ],
    )


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    settings = settings or load_settings()
    db = database or Database.from_settings(settings)
    relay = build_relay(db, settings)
    live = build_live_hub(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.relay_in_process:
            relay.start()
        try:
            yield
        finally:
            tracking_api.stop_ingestion(app)  # commit what was acknowledged-in-flight
            relay.stop()
            await live.aclose()  # ends open streams, closes Redis connections
            if database is None:
                db.dispose()

    app = FastAPI(
        title="Parcours",
        version=__version__,
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.bus = relay.bus
    app.state.relay = relay
    app.state.live = live
    app.state.metrics = HttpMetrics()
    app.state.api_key_cache = ApiKeyCache()
    app.state.payment_providers = build_providers(settings)

    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(auth_api.router)
    app.include_router(catalog_api.router)
    app.include_router(stores_api.router)
    app.include_router(inventory_api.router)
    app.include_router(tracking_api.router)
    app.include_router(customers_api.router)
    app.include_router(payments_api.router)
    app.include_router(carts_api.router)
    app.include_router(orders_api.router)
    app.include_router(loyalty_api.router)
    app.include_router(notifications_api.router)
    app.include_router(journeys_api.router)
    app.include_router(pages.router)
    app.include_router(storefront.router)
    app.include_router(associate.router)
    app.include_router(backoffice.router)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    demo_static = Path(__file__).parent / "demo" / "static"
    if demo_static.is_dir():
        app.mount("/demo/static", StaticFiles(directory=demo_static), name="demo-static")

    # Added innermost first: the request id wraps everything, the size limit guards idempotency.
    app.add_middleware(IdempotencyMiddleware, db=db)
    app.add_middleware(
        CrossSiteRequestGuard, trusted_origins=trusted_origins_of(settings.public_base_url)
    )
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        # Photos of codes: the routes refuse a file over their limit; the form around it is small.
        upload_paths={
            "/v1/scans": carts_api.MAX_SCAN_BYTES + _MULTIPART_MARGIN,
            "/v1/code-reads": carts_api.MAX_SCAN_BYTES + _MULTIPART_MARGIN,
            "/scanner/photo": storefront_scan.MAX_PHOTO_BYTES + _MULTIPART_MARGIN,
        },
    )
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    return app
