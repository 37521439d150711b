"""Fixtures of the notifications tests: a real SMTP server on loopback (aiosmtpd) that keeps what
it receives, senders pointed at it, and a helper that queues a message the way orders will."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI
from sqlalchemy import text

from parcours.app import create_app
from parcours.core.db import Database
from parcours.core.settings import Settings
from parcours.core.uow import UnitOfWork
from parcours.notifications import service
from parcours.notifications.senders import SmtpSender
from parcours.tracking.api import stop_ingestion

MAIL_FROM = "Parcours <ne-pas-repondre@parcours.local>"
SHOPPER = "jeanne.martin@example.com"

READY = {
    "order_number": "PAR-1042",
    "pickup_code": "K7P42Q",
    "store_name": "Parcours Rivoli",
    "store_address": "12 rue de Rivoli\n75004 Paris",
    "opening_hours": ["Lundi – samedi : 10:00 – 19:30", "Dimanche : 11:00 – 18:00"],
    "lines": [
        {"name": "Pull en laine mérinos", "quantity": 1},
        {"name": "Chaussettes rayées", "quantity": 2},
    ],
    "order_url": "https://boutique.example/commandes/PAR-1042",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mailbox:
    """The aiosmtpd handler: keeps every accepted message; refuses the recipients in ``refuse``."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.refuse: set[str] = set()
        self.arrived = threading.Event()

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.envelopes.append(envelope)
        self.arrived.set()
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        parsed = []
        for envelope in self.envelopes:
            raw = envelope.original_content or envelope.content
            assert isinstance(raw, bytes)
            message = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed


class SmtpServer:
    """A real SMTP server on 127.0.0.1, which a test may stop and start again on the same port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self._controller is None:
            self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stopped_smtp_server() -> Iterator[SmtpServer]:
    """A server that is down until the test starts it."""
    server = SmtpServer(free_port())
    yield server
    server.stop()


@pytest.fixture
def smtp_sender(smtp_server: SmtpServer) -> SmtpSender:
    return SmtpSender(url=smtp_server.url, mail_from=MAIL_FROM, timeout=5)


@pytest.fixture
def app(settings: Settings, db: Database) -> Iterator[FastAPI]:
    application = create_app(settings, database=db)
    yield application
    stop_ingestion(application)


QueueEmail = Callable[..., str]


@pytest.fixture
def queue(db: Database) -> QueueEmail:
    """``queue(template=…, **overrides)``: queue one email in its own committed transaction, as
    the code of an order would, and return the message id."""

    def make(**overrides: Any) -> str:
        arguments: dict[str, Any] = {
            "template": "ready_for_pickup",
            "to_address": SHOPPER,
            "locale": "fr",
            "context": READY,
            "purpose": service.TRANSACTIONAL,
            "reference": "ord_test",
        }
        arguments.update(overrides)
        with UnitOfWork(db) as uow:
            queued = service.queue_email(uow=uow, **arguments)
            uow.commit()
        return queued.id

    return make


@pytest.fixture
def row(db: Database) -> Callable[[str], dict[str, Any]]:
    """A message's row as stored, read past every service."""

    def read(message_id: str) -> dict[str, Any]:
        with db.engine.connect() as conn:
            found = conn.execute(
                text("SELECT * FROM notification_messages WHERE id = :id"), {"id": message_id}
            ).one()
        return dict(found._mapping)

    return read


@pytest.fixture
def outbox_names(db: Database) -> Callable[[], list[str]]:
    def read() -> list[str]:
        with db.engine.connect() as conn:
            return list(conn.scalars(text("SELECT name FROM outbox_messages ORDER BY id")))

    return read
