"""Fixtures of the orders tests: clients for a shopper's phone and a till, a real SMTP server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi.testclient import TestClient

from parcours.core.auth.models import KeyKind


@dataclass
class Inbox:
    """Every message the SMTP server accepted, as (recipients, raw text)."""

    received: list[tuple[list[str], str]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or envelope.content
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        self.received.append((list(envelope.rcpt_tos), text))
        self.arrived.set()
        return "250 OK"


@pytest.fixture
def smtp_inbox() -> Iterator[tuple[str, Inbox]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield f"smtp://127.0.0.1:{port}", inbox
    controller.stop()


@pytest.fixture
def shopper(client: TestClient, api_key: Callable[[KeyKind], str]) -> Callable[..., dict[str, str]]:
    """``shopper(channel="app")`` -> headers of a new shopper session on the storefront key."""
    key = api_key(KeyKind.PUBLISHABLE)

    def start(channel: str = "web", **body: Any) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {key}"}
        answer = client.post(
            "/v1/shopper/sessions", json={"channel": channel, **body}, headers=headers
        )
        assert answer.status_code == 201, answer.text
        return {**headers, "X-Shopper-Token": answer.json()["token"]}

    return start
