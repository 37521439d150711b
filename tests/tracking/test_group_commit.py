"""Group commit: requests share commits, are acknowledged only once committed, and one bad
request never fails or half-stores the others."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.testclient import TestClient

from parcours.core.db import Database
from parcours.tracking.api import ingestion_of
from parcours.tracking.committer import CommitFailed, GroupCommitter
from parcours.tracking.ingest import build_row
from parcours.tracking.models import Event

from .conftest import basic

Stored = Callable[[], list[Event]]
T = TypeVar("T")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _rows(prefix: str, count: int) -> list[dict[str, Any]]:
    return [
        build_row(
            {
                "type": "track",
                "event": "X",
                "anonymousId": f"{prefix}-{n}",
                "messageId": f"{prefix}{n}",
            },
            index=n,
            kind="batch",
            write_key_id="key_test",
            source="web",
            received_at=NOW,
        )
        for n in range(count)
    ]


def _run(coroutine: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on a fresh loop in its own thread (Playwright's session fixture may hold
    a running loop in this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine())).result()  # type: ignore[arg-type]


def test_concurrent_requests_share_commits(db: Database, stored: Stored) -> None:
    committer = GroupCommitter(db)

    async def send_all() -> None:
        await asyncio.gather(*(committer.submit(_rows(f"r{i}-", 10)) for i in range(50)))

    _run(send_all)
    committer.stop()
    assert len(stored()) == 500
    assert committer.rows_written == 500
    assert committer.commits < 50  # at least some requests shared a commit


def test_a_failing_request_does_not_fail_its_neighbours(db: Database, stored: Stored) -> None:
    committer = GroupCommitter(db)
    bad = _rows("bad", 2)
    bad[1]["channel"] = None  # NOT NULL: the database refuses this row

    async def send_all() -> list[Any]:
        return await asyncio.gather(
            committer.submit(_rows("ok-a", 3)),
            committer.submit(bad),
            committer.submit(_rows("ok-b", 3)),
            return_exceptions=True,
        )

    results = _run(send_all)
    committer.stop()
    assert results[0] is None
    assert results[2] is None
    assert isinstance(results[1], CommitFailed)
    assert sorted(e.message_id for e in stored()) == [f"ok-{s}{n}" for s in "ab" for n in range(3)]


def test_a_store_failure_is_503_and_nothing_is_acknowledged(
    app: FastAPI, client: TestClient, write_key: Callable[..., str], tmp_path: Path
) -> None:
    key = write_key()
    runtime = ingestion_of(app)
    broken = Database.from_url(f"sqlite:///{tmp_path / 'no-schema.db'}")  # no events table
    runtime.committer = GroupCommitter(broken)
    try:
        response = client.post(
            "/v1/track",
            json={"type": "track", "event": "X", "userId": "u1", "messageId": "m"},
            headers=basic(key),
        )
    finally:
        runtime.committer.stop()
        broken.dispose()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "event_store_unavailable"
