"""The ``parcours`` command: serve, demo, migrate, worker, and staff/key administration."""

from __future__ import annotations

import os
import signal
import threading
from typing import Annotated

import typer

from parcours.core.settings import Settings, SettingsError, load_settings

app = typer.Typer(help="Parcours: every medium is a store.", no_args_is_help=True)
users_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
import_app = typer.Typer(help="Import shopping histories.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(import_app, name="import")


def _settings() -> Settings:
    from parcours.core.logs import configure_logging

    try:
        settings = load_settings()
    except SettingsError as refused:
        typer.echo(str(refused), err=True)
        raise typer.Exit(2) from None
    configure_logging(settings.log_level, json_lines=settings.log_json)
    return settings


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (SQLite or PostgreSQL)."""
    from parcours.core.migrate import upgrade_database

    settings = _settings()
    upgrade_database(settings.database_url)
    typer.echo("database is up to date")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="defaults to PARCOURS_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="defaults to PARCOURS_PORT")] = None,
    workers: Annotated[int, typer.Option(help="HTTP worker processes")] = 1,
) -> None:
    """Serve the API and every user interface."""
    import uvicorn

    settings = _settings()
    uvicorn.run(
        "parcours.cli:make_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )


def make_app() -> object:
    """Uvicorn's factory: each worker process builds its own app from the environment."""
    from parcours.app import create_app

    return create_app(_settings())


@app.command()
def demo(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve")] = True,
    reset: Annotated[bool, typer.Option(help="start from an empty database")] = False,
) -> None:
    """Migrate, load the demo retailer (once), print its credentials and serve."""
    from parcours.core.migrate import reset_database, upgrade_database
    from parcours.demo.loader import DEMO_PASSWORD, load_demo

    settings = _settings()
    if reset:
        reset_database(settings.database_url)
    upgrade_database(settings.database_url)
    result = load_demo(settings)
    typer.echo("")
    typer.echo("Parcours demo retailer " + ("loaded" if result.created else "already loaded"))
    if result.created:
        typer.echo(
            f"  products: {result.products}  variants: {result.variants}  stores: {result.stores}"
        )
    typer.echo(f"  open {settings.base_url}/ (API docs: {settings.base_url}/docs)")
    typer.echo(
        f"  associate app: {settings.base_url}/associate  "
        "(a shopper to recognise: loyalty card PC00001234)"
    )
    if result.kiosk_code:
        # The kiosk writes nothing until paired: open this once on the kiosk's screen.
        typer.echo(
            f"  kiosk: pair the screen within 10 minutes: {settings.base_url}/kiosk/PAR-RIV/"
            f"appairer?code={result.kiosk_code} (then {settings.base_url}/kiosk/PAR-RIV; "
            "later codes: associate app, Bornes)"
        )
    typer.echo(f"  staff accounts (password for all: {DEMO_PASSWORD}):")
    for email, role in result.staff:
        typer.echo(f"    {role:<10} {email}")
    typer.echo(f"  secret key:      {result.secret_key}")
    typer.echo(f"  publishable key: {result.publishable_key}")
    typer.echo(f"  write key (web): {result.write_key}")
    typer.echo("")
    if serve_after:
        if result.write_key and not settings.web_write_key:
            # The pages send their audience events with this start's web write key (only
            # after the visitor's consent); the server processes read it from the environment.
            os.environ["PARCOURS_WEB_WRITE_KEY"] = result.write_key
        serve(host=None, port=None, workers=1)


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="drain what is due, then exit")] = False,
) -> None:
    """Relay outbox events to handlers and expire stock reservations, outside the API process."""
    from sqlalchemy.engine import make_url

    from parcours.app import build_relay
    from parcours.core.db import Database

    settings = _settings()
    db = Database.from_settings(settings)
    relay = build_relay(db, settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if not once:
        # Said at start, without the URL's password: an operator sees the worker is up and where.
        safe_url = make_url(settings.database_url).render_as_string(hide_password=True)
        typer.echo(
            f"parcours worker relaying outbox events from {safe_url} "
            f"every {settings.relay_poll_seconds:g} s (Ctrl-C to stop)"
        )
    try:
        while not stop.is_set():
            relay.run_periodic()
            dispatched = relay.run_once()
            if once:
                typer.echo(f"dispatched {dispatched} events")
                break
            if dispatched == 0:
                stop.wait(settings.relay_poll_seconds)
    finally:
        db.dispose()


@import_app.command("completejourney")
def import_completejourney(
    households: Annotated[
        int | None, typer.Option(help="only the first N households (a quick demo)")
    ] = None,
) -> None:
    """Import the Complete Journey dataset: profiles, stores and products into the database,
    receipts, campaigns and coupons into the journey lake (importing again replaces them)."""
    from parcours.core.db import Database
    from parcours.core.migrate import upgrade_database
    from parcours.core.uow import UnitOfWork
    from parcours.journeys.importers.completejourney import import_completejourney as run
    from parcours.journeys.lake import Lake

    settings = _settings()
    upgrade_database(settings.database_url)
    db = Database.from_settings(settings)
    try:
        with UnitOfWork(db) as uow:
            report = run(uow=uow, lake=Lake(settings.lake_dir), households=households)
            uow.commit()
    except ImportError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    for line in report.lines():
        typer.echo(line)


@app.command()
def simulate(
    events: Annotated[int, typer.Option(help="about how many events to write")] = 1_000_000,
    days: Annotated[int, typer.Option(help="days of history, ending now")] = 180,
    seed: Annotated[int, typer.Option(help="the same seed writes the same history")] = 7,
) -> None:
    """Write a simulated omnichannel history of this shop's products and stores into the
    journey lake, replacing the previous simulation."""
    from parcours.core.db import Database
    from parcours.core.migrate import upgrade_database
    from parcours.core.uow import UnitOfWork
    from parcours.journeys.lake import Lake
    from parcours.journeys.simulate import default_end, shop_catalogue, simulate_history

    settings = _settings()
    upgrade_database(settings.database_url)
    db = Database.from_settings(settings)
    try:
        with UnitOfWork(db, read_only=True) as uow:
            products, stores = shop_catalogue(uow)
    finally:
        db.dispose()
    report = simulate_history(
        lake=Lake(settings.lake_dir),
        events=events,
        days=days,
        end=default_end(),
        products=products,
        stores=stores,
        seed=seed,
    )
    for line in report.lines():
        typer.echo(line)


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    role: Annotated[str, typer.Option(help="admin, manager, marketer or associate")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    store: Annotated[list[str] | None, typer.Option(help="store code, repeatable")] = None,
) -> None:
    """Create a staff account (associates need at least one --store)."""
    from parcours.core.auth import service
    from parcours.core.auth.models import Role
    from parcours.core.db import Database
    from parcours.core.errors import DomainError
    from parcours.core.uow import UnitOfWork
    from parcours.stores.service import get_location_by_code

    settings = _settings()
    db = Database.from_settings(settings)
    try:
        with UnitOfWork(db) as uow:
            found = {code: get_location_by_code(uow=uow, code=code) for code in store or []}
            unknown = sorted(code for code, location in found.items() if location is None)
            if unknown:
                raise ValueError(f"unknown store code(s): {', '.join(unknown)}")
            store_ids = frozenset(loc.id for loc in found.values() if loc is not None)
            user = service.create_staff_user(
                uow=uow,
                email=email,
                name=name,
                role=Role(role),
                password=password,
                store_ids=store_ids,
            )
            uow.commit()
    except (DomainError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    typer.echo(f"created {user.id} ({role})")


@keys_app.command("create")
def keys_create(
    kind: Annotated[str, typer.Option(help="secret, publishable or write")],
    name: Annotated[str, typer.Option()] = "",
    source: Annotated[
        str | None, typer.Option(help="write keys: web, app, till, kiosk or server")
    ] = None,
) -> None:
    """Issue an API key. The key is printed once; only its hash is stored."""
    from parcours.core.auth import service
    from parcours.core.auth.models import KeyKind, KeySource
    from parcours.core.db import Database
    from parcours.core.errors import DomainError
    from parcours.core.uow import UnitOfWork

    settings = _settings()
    try:
        key_kind = KeyKind(kind)
        key_source = KeySource(source) if source else None
    except ValueError:
        typer.echo(
            "error: --kind is secret, publishable or write; --source is web, app, till, kiosk "
            "or server",
            err=True,
        )
        raise typer.Exit(1) from None
    db = Database.from_settings(settings)
    try:
        with UnitOfWork(db) as uow:
            issued = service.create_api_key(
                uow=uow, kind=key_kind, name=name or kind, source=key_source
            )
            uow.commit()
    except DomainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    typer.echo(f"{issued.key.id} {issued.token}")
    typer.echo("store this key now: it will not be shown again", err=True)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke an API key."""
    from parcours.core.auth import service
    from parcours.core.db import Database
    from parcours.core.errors import DomainError
    from parcours.core.uow import UnitOfWork

    db = Database.from_settings(_settings())
    try:
        with UnitOfWork(db) as uow:
            service.revoke_api_key(uow=uow, key_id=key_id)
            uow.commit()
    except DomainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    typer.echo(f"revoked {key_id}")


if __name__ == "__main__":
    app()


journeys_app = typer.Typer(help="Journey analytics.", no_args_is_help=True)
app.add_typer(journeys_app, name="journeys")


@journeys_app.command("compact")
def journeys_compact() -> None:
    """Copy the settled events into the journey lake now (the worker does it every minute),
    and apply erasures and retention to it."""
    from parcours.core.db import Database
    from parcours.journeys.service import compact_now

    settings = _settings()
    db = Database.from_settings(settings)
    try:
        compacted = compact_now(settings, db)
    finally:
        db.dispose()
    typer.echo(f"{compacted} events compacted into {settings.lake_dir}")
