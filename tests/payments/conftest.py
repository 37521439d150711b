"""Fixtures for payments tests: the app's providers, test card tokens, and the events a test's
commits sent to the outbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.outbox import OutboxMessage
from parcours.core.settings import Settings
from parcours.core.uow import UnitOfWork
from parcours.payments import service
from parcours.payments.models import Payment
from parcours.payments.providers import PaymentProviders, SandboxCardProvider, build_providers

VISA = "4242424242424242"


@pytest.fixture
def providers(settings: Settings) -> PaymentProviders:
    return build_providers(settings)


@pytest.fixture
def sandbox(providers: PaymentProviders) -> SandboxCardProvider:
    provider = providers.find("test")
    assert isinstance(provider, SandboxCardProvider)
    return provider


@pytest.fixture
def card(sandbox: SandboxCardProvider) -> Callable[[str], str]:
    """``card(VISA)`` -> a token for that test card, as the token endpoint issues it."""

    def tokenize(number: str = VISA) -> str:
        year = utcnow().year + 3
        return sandbox.tokenize(
            number=number, exp_month=12, exp_year=year, cvc="123", now=utcnow()
        ).token

    return tokenize


@pytest.fixture
def pay(
    uow: UnitOfWork, providers: PaymentProviders, card: Callable[[str], str]
) -> Callable[..., Payment]:
    """Start and commit a card payment of 49,90 € for ``ord_1`` (override any argument)."""

    def start(number: str = VISA, **overrides: Any) -> Payment:
        arguments: dict[str, Any] = {
            "reference": "ord_1",
            "amount": 4990,
            "currency": "EUR",
            "method": "card",
            "details": {"token": card(number)},
            "idempotency_key": f"key-{number}",
            "channel": "web",
        }
        arguments.update(overrides)
        payment = service.start_payment(uow=uow, providers=providers, **arguments)
        uow.commit()
        return payment

    return start


@pytest.fixture
def outbox(db: Database) -> Callable[[str], list[dict[str, Any]]]:
    """``outbox("payments.payment_captured")`` -> the payloads committed under that name."""

    def read(name: str) -> list[dict[str, Any]]:
        with UnitOfWork(db, read_only=True) as unit:
            rows = unit.session.scalars(
                select(OutboxMessage.payload)
                .where(OutboxMessage.name == name)
                .order_by(OutboxMessage.id)
            )
            return [json.loads(row) for row in rows]

    return read
