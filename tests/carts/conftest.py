"""Fixtures of the carts tests: shoppers' devices on the storefront key, the sign-in code as the
shopper reads it in her mailbox, and real servers (one process each) for live sync."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response  # what the TestClient answers with
from sqlalchemy import select

from parcours.app import create_app
from parcours.core.auth.models import KeyKind
from parcours.core.db import Database
from parcours.core.settings import Environment, Settings
from parcours.core.uow import UnitOfWork
from parcours.notifications.models import Message

#: Both servers of the multi-process tests reach this Redis (the one the core live tests use).
REDIS_URL = "redis://127.0.0.1:6379/0"

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


# --- real servers -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(application: FastAPI) -> Iterator[str]:
    """``application`` served by Uvicorn on a loopback port, in a thread: a server process."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            application,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def redis_servers(database_url: str, db: Database) -> Iterator[tuple[str, str]]:
    """Two server processes of one deployment (two apps, each its own hub), on the same
    database, whose live updates go through Redis pub/sub: what runs behind a load balancer."""
    settings = Settings(
        environment=Environment.TEST,
        database_url=database_url,
        relay_in_process=False,
        log_level="WARNING",
        redis_url=REDIS_URL,
    )
    with ExitStack() as stack:
        first = stack.enter_context(serve(create_app(settings, database=db)))
        second = stack.enter_context(serve(create_app(settings, database=db)))
        yield first, second


def assert_problem(answer: Response | httpx.Response, status: int, code: str) -> None:
    """The answer is an RFC 9457 problem with this status and code."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == code, answer.text
