"""Fixtures of the customers tests: an app with the customers routes, events sent the way the
browsers and tills send them (Segment's HTTP API), and raw reads of the tables."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from parcours.app import create_app
from parcours.core.auth import service as auth_service
from parcours.core.auth.models import KeyKind, KeySource
from parcours.core.db import Database
from parcours.core.settings import Settings
from parcours.core.uow import UnitOfWork
from parcours.tracking.api import stop_ingestion

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    """A fixed moment: ``T0`` plus some minutes."""
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def app(settings: Settings, db: Database) -> Iterator[FastAPI]:
    application = create_app(settings, database=db)
    yield application
    stop_ingestion(application)


@pytest.fixture
def send(client: TestClient, db: Database) -> Callable[..., None]:
    """``send(KeySource.WEB, [message, …])``: post a Segment batch with a write key of that
    source; the answer comes once the events are committed."""
    tokens: dict[KeySource, str] = {}

    def post(source: KeySource, messages: list[dict[str, Any]]) -> None:
        if source not in tokens:
            with UnitOfWork(db) as uow:
                issued = auth_service.create_api_key(
                    uow=uow, kind=KeyKind.WRITE, name=f"{source} events", source=source
                )
                uow.commit()
            tokens[source] = issued.token
        auth = base64.b64encode(f"{tokens[source]}:".encode()).decode()
        response = client.post(
            "/v1/batch", json={"batch": messages}, headers={"Authorization": f"Basic {auth}"}
        )
        assert response.status_code == 200, response.text

    return post


@pytest.fixture
def raw(db: Database) -> Callable[[str], list[dict[str, Any]]]:
    """Every row of a table as plain dicts, read past every service: what is really stored."""

    def read(table: str) -> list[dict[str, Any]]:
        with db.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(text(f'SELECT * FROM "{table}"'))]

    return read


@pytest.fixture
def commit(uow: UnitOfWork) -> Callable[[], None]:
    return uow.commit
