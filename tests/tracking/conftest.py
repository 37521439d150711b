"""Fixtures of the tracking tests: write keys per source and a way to read what was stored."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from sqlalchemy import select

from parcours.core.auth import service as auth_service
from parcours.core.auth.models import KeyKind, KeySource
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.tracking.models import Event


@pytest.fixture
def write_key(db: Database) -> Callable[..., str]:
    """Issue a write key of a source (web by default) and return its token."""

    def issue(source: KeySource = KeySource.WEB) -> str:
        with UnitOfWork(db) as uow:
            issued = auth_service.create_api_key(
                uow=uow, kind=KeyKind.WRITE, name=f"{source} events", source=source
            )
            uow.commit()
        return issued.token

    return issue


def basic(token: str) -> dict[str, str]:
    """HTTP Basic with the key as user name and an empty password, as the SDKs send it."""
    return {"Authorization": "Basic " + base64.b64encode(f"{token}:".encode()).decode()}


@pytest.fixture
def stored(db: Database) -> Callable[[], list[Event]]:
    """Every stored event, oldest id first."""

    def read() -> list[Event]:
        with UnitOfWork(db, read_only=True) as uow:
            return list(uow.session.scalars(select(Event).order_by(Event.id)))

    return read
