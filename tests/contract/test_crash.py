"""A server killed with SIGKILL in the middle of a load run has, once restarted, every event it
acknowledged; resending every batch (acknowledged or not) creates no duplicate.

The server is a real ``uvicorn`` process (the ``parcours serve`` factory) on a temporary SQLite
file, and on the suite's PostgreSQL database when the suite runs there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from parcours.core.auth import service as auth_service
from parcours.core.auth.models import KeyKind, KeySource
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.models import Base
from parcours.tracking.models import Event

from .conftest import free_port

BATCH = 100


def _batch(number: int) -> dict[str, object]:
    return {
        "batch": [
            {
                "type": "track",
                "event": "Product Viewed",
                "anonymousId": f"crash-visitor-{n % 17}",
                "messageId": f"crash-{number}-{n}",
                "properties": {"product_id": f"prd_{n}", "batch": number},
            }
            for n in range(BATCH)
        ]
    }


class Server:
    def __init__(self, database_url: str, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "PARCOURS_ENVIRONMENT": "test",
            "PARCOURS_DATABASE_URL": database_url,
            "PARCOURS_RELAY_IN_PROCESS": "false",
            "PARCOURS_PORT": str(port),
            "PARCOURS_LOG_LEVEL": "WARNING",
        }
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "uvicorn", "parcours.cli:make_app", "--factory"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        self.process = subprocess.Popen(command, env=self.env)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def crash_database(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str
) -> Iterator[Database]:
    """The suite's engine: a SQLite file of its own, or the PostgreSQL test database."""
    if database_url.startswith("postgresql"):
        yield request.getfixturevalue("db")  # emptied after the test by the suite
        return
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    database = Database.from_url(url)
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


def test_acknowledged_events_survive_sigkill_and_retries_never_duplicate(
    crash_database: Database,
) -> None:
    with UnitOfWork(crash_database) as uow:
        key = auth_service.create_api_key(
            uow=uow, kind=KeyKind.WRITE, name="crash", source=KeySource.WEB
        ).token
        uow.commit()
    server = Server(
        str(crash_database.engine.url.render_as_string(hide_password=False)), free_port()
    )
    acknowledged: list[int] = []
    attempted: list[int] = []
    stop = threading.Event()

    def load(worker: int) -> None:
        with httpx.Client(base_url=server.url, auth=(key, ""), timeout=10) as client:
            number = worker
            while not stop.is_set():
                attempted.append(number)
                try:
                    response = client.post("/v1/batch", json=_batch(number))
                except httpx.TransportError:
                    return  # the server died: this batch is unacknowledged
                if response.status_code == 200:
                    acknowledged.append(number)
                number += 4

    server.start()
    try:
        clients = [threading.Thread(target=load, args=(w,)) for w in range(4)]
        for thread in clients:
            thread.start()
        deadline = time.monotonic() + 10
        while len(acknowledged) < 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        server.kill()  # mid-run: requests are in flight
        stop.set()
        for thread in clients:
            thread.join(10)
        assert len(acknowledged) >= 20
        assert set(attempted) > set(acknowledged)  # some requests were cut off

        with UnitOfWork(crash_database, read_only=True) as uow:
            stored = set(uow.session.scalars(select(Event.message_id)))
        expected = {f"crash-{b}-{n}" for b in acknowledged for n in range(BATCH)}
        assert expected <= stored, f"{len(expected - stored)} acknowledged events lost"

        server.start()
        with httpx.Client(base_url=server.url, auth=(key, ""), timeout=10) as client:
            for number in sorted(set(attempted)):
                assert client.post("/v1/batch", json=_batch(number)).status_code == 200
        with UnitOfWork(crash_database, read_only=True) as uow:
            total = uow.session.scalar(select(func.count()).select_from(Event))
            distinct = uow.session.scalar(select(func.count(func.distinct(Event.message_id))))
        assert total == distinct == len(set(attempted)) * BATCH
    finally:
        server.stop()
