"""Fixtures of the carts tests: shoppers' devices on the storefront key, the sign-in code as the
shopper reads it in her mailbox, and two real server processes sharing Redis for live sync."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response  # what the TestClient answers with
from sqlalchemy import select
from tests.conftest import serve_app

from parcours.app import create_app
from parcours.core.auth.models import KeyKind
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.settings import Environment, Settings
from parcours.core.uow import UnitOfWork
from parcours.notifications.models import Message

Headers = dict[str, str]


@pytest.fixture
def storefront_key(api_key: Callable[[KeyKind], str]) -> str:
    return api_key(KeyKind.PUBLISHABLE)


@pytest.fixture
def secret_key(api_key: Callable[[KeyKind], str]) -> str:
    return api_key(KeyKind.SECRET)


@pytest.fixture
def shopper(client: TestClient, storefront_key: str) -> Callable[..., Headers]:
    """``shopper("app")`` -> the headers of a new device: storefront key + its session token."""

    def start(channel: str = "web", **body: Any) -> Headers:
        headers = {"Authorization": f"Bearer {storefront_key}"}
        answer = client.post(
            "/v1/shopper/sessions", json={"channel": channel, **body}, headers=headers
        )
        assert answer.status_code == 201, answer.text
        return {**headers, "X-Shopper-Token": answer.json()["token"]}

    return start


def my_cart(client: TestClient, device: Headers, **params: str) -> dict[str, Any]:
    answer = client.get("/v1/me/cart", headers=device, params=params)
    assert answer.status_code == 200, answer.text
    cart: dict[str, Any] = answer.json()
    return cart


def add(
    client: TestClient,
    device: Headers,
    cart_id: str,
    variant_id: str,
    quantity: int = 1,
    **body: Any,
) -> Response:
    return client.post(
        f"/v1/carts/{cart_id}/lines",
        json={"variant_id": variant_id, "quantity": quantity, **body},
        headers=device,
    )


def added(
    client: TestClient, device: Headers, cart_id: str, variant_id: str, quantity: int = 1
) -> dict[str, Any]:
    answer = add(client, device, cart_id, variant_id, quantity)
    assert answer.status_code == 201, answer.text
    cart: dict[str, Any] = answer.json()
    return cart


def skus(cart: dict[str, Any], part: str = "lines") -> list[tuple[str, int]]:
    return [(line["sku"], line["quantity"]) for line in cart[part]]


_CODE_LINE = re.compile(r"^\s+(\d{6})\s*$", re.MULTILINE)


def mailed_code(db: Database, email: str) -> str:
    """The code in the newest sign-in message to ``email``, read as she reads it: in the text."""
    with UnitOfWork(db, read_only=True) as uow:
        message = uow.session.scalars(
            select(Message)
            .where(Message.template == "sign_in_code", Message.to_address == email.lower())
            .order_by(Message.created_at.desc(), Message.id.desc())
        ).first()
        assert message is not None, f"no sign-in code was mailed to {email}"
        found = _CODE_LINE.search(message.body_text or "")
        assert found is not None, message.body_text
        return found.group(1)


@pytest.fixture
def sign_in(client: TestClient, db: Database) -> Callable[..., Response]:
    """``sign_in(device, email)``: ask for a code, read it in the mailbox, type it."""

    def run(device: Headers, email: str, *, via: TestClient | None = None) -> Response:
        http = via or client
        asked = http.post("/v1/shopper/sign-in-codes", json={"email": email}, headers=device)
        assert asked.status_code == 202, asked.text
        return http.post(
            "/v1/shopper/sign-in",
            json={"email": email, "code": mailed_code(db, email)},
            headers=device,
        )

    return run


def app_with(settings: Settings, db: Database, **changes: Any) -> FastAPI:
    """Another deployment of the app on the same database, with some settings changed."""
    return create_app(settings.model_copy(update=changes), database=db)


# --- real server processes -------------------------------------------------------------------

#: A server process on the tests' clock: ``python -c`` this with the clock's instant, the wall
#: time it was read at (so the process runs on from where the clock will be) and a port.
_SERVE_ON_THE_CLOCK = """
import sys, time
from datetime import datetime, timedelta

import uvicorn

from parcours.core.clock import set_now

instant, read_at, port = datetime.fromisoformat(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
set_now(instant + timedelta(seconds=time.time() - read_at))
uvicorn.run(
    "parcours.app:create_app", factory=True, host="127.0.0.1", port=port,
    log_level="warning", access_log=False, timeout_graceful_shutdown=2,
)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server process for {url} exited ({process.returncode})")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server process for {url} did not start")
        time.sleep(0.05)


@contextmanager
def server_processes(count: int, settings: dict[str, str]) -> Iterator[list[str]]:
    """``count`` Uvicorn processes of the app (``PARCOURS_*`` settings from ``settings``), each
    on its own loopback port and on the tests' clock; their URLs once all answer."""
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PARCOURS_")},
        **{f"PARCOURS_{name.upper()}": value for name, value in settings.items()},
    }
    processes: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        for _ in range(count):
            port = _free_port()
            command = [sys.executable, "-c", _SERVE_ON_THE_CLOCK]
            command += [utcnow().isoformat(), repr(time.time()), str(port)]
            processes.append(
                (subprocess.Popen(command, env=environment), f"http://127.0.0.1:{port}")
            )
        for process, url in processes:
            _wait_until_up(process, url)
        yield [url for _, url in processes]
    finally:
        for process, _ in processes:
            process.terminate()
        for process, _ in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def redis_servers(
    database_url: str, db: Database, redis_url: str, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    """Two server processes of one deployment, on the same database, whose live updates go
    through Redis pub/sub: what runs behind a load balancer. One is this process (Uvicorn in a
    thread), the other a child process: two hubs, two event loops, two connection pools, and
    nothing shared in memory. (A second child would double the start-up, seconds each.)"""
    settings = {
        "environment": Environment.TEST.value,
        "database_url": database_url,
        "redis_url": redis_url,
        "relay_in_process": "false",
        "log_level": "WARNING",
        "log_json": "false",
        "lake_dir": str(tmp_path / "lake"),
    }
    with (
        server_processes(1, settings) as (child,),
        serve_app(database_url, db, redis_url=redis_url) as here,
    ):
        yield here, child


def assert_problem(answer: Response | httpx.Response, status: int, code: str) -> None:
    """The answer is an RFC 9457 problem with this status and code."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == code, answer.text
