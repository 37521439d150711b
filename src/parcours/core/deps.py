"""FastAPI dependencies shared by every router: the unit of work a request owns."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from parcours.core.settings import Settings
from parcours.core.uow import UnitOfWork


def _uow(request: Request) -> Iterator[UnitOfWork]:
    """A writing unit of work; the route commits it, anything else rolls it back."""
    with UnitOfWork(request.app.state.db) as uow:
        yield uow


def _read_uow(request: Request) -> Iterator[UnitOfWork]:
    """A read-only unit of work: on SQLite it never takes the writer's lock."""
    with UnitOfWork(request.app.state.db, read_only=True) as uow:
        yield uow


async def _settings(request: Request) -> Settings:  # async: no threadpool hop for a lookup
    settings: Settings = request.app.state.settings
    return settings


UowDep = Annotated[UnitOfWork, Depends(_uow)]
ReadUowDep = Annotated[UnitOfWork, Depends(_read_uow)]
SettingsDep = Annotated[Settings, Depends(_settings)]
