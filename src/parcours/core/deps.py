"""FastAPI dependencies shared by every router: the unit of work a request owns."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, TypeVar

import anyio
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from parcours.core.db import Database
from parcours.core.settings import Settings
from parcours.core.uow import UnitOfWork


def _uow(request: Request) -> Iterator[UnitOfWork]:
    """A writing unit of work; the route commits it, anything else rolls it back."""
    with UnitOfWork(request.app.state.db) as uow:
        yield uow


async def _read_uow(request: Request) -> AsyncIterator[UnitOfWork]:
    """A read-only unit of work: on SQLite it never takes the writer's lock.

    Async, so that it costs no thread hop: opening it opens nothing (the first query, in the
    endpoint's thread, takes a connection). If the endpoint leaves it holding a
    connection, it is closed here in a thread, shielded from cancellation so that a client going
    away never leaks a connection; otherwise closing it here costs nothing.
    """
    uow = UnitOfWork(request.app.state.db, read_only=True).__enter__()
    try:
        yield uow
    finally:
        if uow.holds_connection:
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(uow.close)
        else:
            uow.close()  # no connection: nothing to say to the database


T = TypeVar("T")


async def run_read(db: Database, work: Callable[[UnitOfWork], T]) -> T:
    """``work(uow)`` in a worker thread, in a read-only unit of work opened and closed in that
    same thread, whatever happens: one thread hop for all of an async endpoint's database work
    (a ``ReadUowDep`` would add a generator dependency and its exit stack to every request)."""

    def run() -> T:
        with UnitOfWork(db, read_only=True) as uow:
            return work(uow)

    return await run_in_threadpool(run)


async def _database(request: Request) -> Database:  # async: no threadpool hop for a lookup
    db: Database = request.app.state.db
    return db


async def _settings(request: Request) -> Settings:  # async: no threadpool hop for a lookup
    settings: Settings = request.app.state.settings
    return settings


UowDep = Annotated[UnitOfWork, Depends(_uow)]
ReadUowDep = Annotated[UnitOfWork, Depends(_read_uow)]
SettingsDep = Annotated[Settings, Depends(_settings)]
#: For async endpoints that open their unit of work in a thread with :func:`run_read`.
DatabaseDep = Annotated[Database, Depends(_database)]
