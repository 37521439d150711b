"""Consent is asked before any message goes; an erased person's messages keep nothing of them;
no address ever reaches the logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from parcours.app import build_bus
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.errors import InvalidInput
from parcours.core.outbox import Relay
from parcours.core.settings import Settings
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.models import ConsentPurpose
from parcours.notifications import tasks
from parcours.notifications.senders import MailboxSender, SmtpSender
from parcours.notifications.service import deliver_queued_messages

from .conftest import MAIL_FROM, SHOPPER, QueueEmail, SmtpServer

Row = Callable[[str], dict[str, Any]]
MARKETING = ConsentPurpose.MARKETING_EMAIL.value
OPTED_IN = "abonnee@example.com"
SILENT = "discrete@example.com"


def _consent(db: Database, profile_id: str, *, granted: bool) -> None:
    with UnitOfWork(db) as uow:
        customers.record_consent(
            uow=uow,
            profile_id=profile_id,
            purpose=ConsentPurpose.MARKETING_EMAIL,
            granted=granted,
            channel="web",
            wording_version="newsletter-v1",
        )
        uow.commit()


def _person(db: Database, email: str) -> str:
    with UnitOfWork(db) as uow:
        profile = customers.identify(uow=uow, traits={"email": email}, channel="web")
        uow.commit()
    return profile.id


@pytest.fixture
def people(db: Database) -> dict[str, str]:
    made = {"opted_in": _person(db, OPTED_IN), "silent": _person(db, SILENT)}
    _consent(db, made["opted_in"], granted=True)
    return made


def _erase(db: Database, profile_id: str) -> None:
    """Erase a customer the way the back office does, then let the relay run the handlers."""
    with UnitOfWork(db) as uow:
        customers.erase_profile(uow=uow, profile_id=profile_id, by="stf_dpo")
        uow.commit()
    Relay(db, build_bus()).run_once()


# --- consent ------------------------------------------------------------------------------------


def test_marketing_without_consent_is_suppressed_and_never_sent(
    db: Database,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    queue: QueueEmail,
    row: Row,
    people: dict[str, str],
) -> None:
    silent = queue(purpose=MARKETING, to_address=SILENT, profile_id=people["silent"])
    unknown = queue(purpose=MARKETING, to_address="inconnue@example.com")

    assert deliver_queued_messages(db=db, sender=smtp_sender) == 0
    assert smtp_server.mailbox.envelopes == []
    assert (row(silent)["status"], row(silent)["reason"]) == ("suppressed", "no_consent")
    assert (row(unknown)["status"], row(unknown)["reason"]) == ("suppressed", "no_profile")


def test_marketing_with_consent_is_sent(
    db: Database,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    queue: QueueEmail,
    row: Row,
    people: dict[str, str],
) -> None:
    given = queue(purpose=MARKETING, to_address=OPTED_IN, profile_id=people["opted_in"])
    # Without a profile id, the person the address belongs to is the one whose consent counts.
    found = queue(purpose=MARKETING, to_address=OPTED_IN.upper())

    assert deliver_queued_messages(db=db, sender=smtp_sender) == 2
    assert row(given)["status"] == "sent"
    assert row(found)["status"] == "sent"
    assert row(found)["profile_id"] == people["opted_in"]


def test_consent_withdrawn_before_delivery_stops_the_message(
    db: Database,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    queue: QueueEmail,
    row: Row,
    people: dict[str, str],
) -> None:
    message_id = queue(purpose=MARKETING, to_address=OPTED_IN, profile_id=people["opted_in"])
    assert row(message_id)["status"] == "queued"
    _consent(db, people["opted_in"], granted=False)

    assert deliver_queued_messages(db=db, sender=smtp_sender) == 0
    assert smtp_server.mailbox.envelopes == []
    assert (row(message_id)["status"], row(message_id)["reason"]) == ("suppressed", "no_consent")


def test_order_messages_need_no_marketing_consent_but_an_erased_person_gets_none(
    db: Database,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    queue: QueueEmail,
    row: Row,
    people: dict[str, str],
) -> None:
    guest = queue(to_address="invitee@example.com")  # gave her email at checkout, nothing else
    silent = queue(to_address=SILENT, profile_id=people["silent"])
    _erase(db, people["opted_in"])
    erased = queue(to_address=OPTED_IN, profile_id=people["opted_in"])

    assert deliver_queued_messages(db=db, sender=smtp_sender) == 2
    assert row(guest)["status"] == "sent"
    assert row(silent)["status"] == "sent"
    assert (row(erased)["status"], row(erased)["reason"]) == ("suppressed", "erased")
    assert sorted(e.rcpt_tos[0] for e in smtp_server.mailbox.envelopes) == sorted(
        ["invitee@example.com", SILENT]
    )


def test_an_address_that_is_not_one_is_suppressed_and_an_unknown_purpose_refused(
    db: Database, queue: QueueEmail, row: Row
) -> None:
    bad = queue(to_address="jeanne at example")
    assert (row(bad)["status"], row(bad)["reason"]) == ("suppressed", "invalid_address")
    with pytest.raises(InvalidInput) as refused:
        queue(purpose="telepathy")
    assert refused.value.code == "unknown_purpose"


# --- erasure ------------------------------------------------------------------------------------


def test_erasure_really_erases_every_message_of_the_person(
    db: Database,
    client: TestClient,
    secret_headers: dict[str, str],
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    queue: QueueEmail,
) -> None:
    person = _person(db, SHOPPER)
    # A second profile of hers (a till, another email), merged into the first one.
    other_self = _person(db, "jeanne.pro@example.com")
    with UnitOfWork(db) as uow:
        customers.merge_profiles(
            uow=uow, survivor_id=person, merged_id=other_self, by="stf_1", force=True
        )
        uow.commit()
    sent = queue(profile_id=person)
    deliver_queued_messages(db=db, sender=smtp_sender)
    by_address = queue()  # no profile given: found by her address
    from_merged = queue(to_address="jeanne.pro@example.com", profile_id=other_self)
    someone_else = queue(to_address="paul@example.com")

    _erase(db, person)

    with db.engine.connect() as conn:
        rows = {
            r["id"]: r
            for r in (
                dict(m._mapping) for m in conn.execute(text("SELECT * FROM notification_messages"))
            )
        }
    hers = [rows[i] for i in (sent, by_address, from_merged)]
    for stored in hers:
        assert stored["to_address"] is None
        assert stored["subject"] == ""
        assert stored["body_text"] is None
        assert stored["body_html"] is None
        assert stored["redacted_at"] is not None
    assert rows[sent]["status"] == "sent"  # the fact stays: a message was sent, without content
    for waiting in (by_address, from_merged):
        assert (rows[waiting]["status"], rows[waiting]["reason"]) == ("suppressed", "erased")
    # Nothing of hers is left anywhere in those rows: no address, no pickup code, no store.
    dumped = json.dumps(hers, default=str)
    for trace in (SHOPPER, "jeanne.pro@example.com", "K7P42Q", "Rivoli", "PAR-1042"):
        assert trace not in dumped
    assert rows[someone_else]["to_address"] == "paul@example.com"  # others are untouched
    assert "K7P42Q" in rows[someone_else]["body_text"]

    # What was waiting never goes out.
    assert deliver_queued_messages(db=db, sender=smtp_sender) == 1  # Paul's
    assert [e.rcpt_tos for e in smtp_server.mailbox.envelopes] == [[SHOPPER], ["paul@example.com"]]
    shown = client.get(f"/v1/messages/{sent}", headers=secret_headers).json()
    assert shown["to_address"] is None
    assert shown["body_text"] is None
    assert shown["redacted"] is True


# --- logs ---------------------------------------------------------------------------------------


def test_no_address_or_body_reaches_the_logs(
    db: Database,
    client: TestClient,
    secret_headers: dict[str, str],
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    queue: QueueEmail,
    people: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    smtp_server.mailbox.refuse.add("refusee@example.com")
    person = _person(db, SHOPPER)
    queue(profile_id=person)
    queue(to_address="refusee@example.com")
    queue(purpose=MARKETING, to_address=SILENT, profile_id=people["silent"])
    queue(to_address="pas une adresse")
    deliver_queued_messages(db=db, sender=smtp_sender)
    down = SmtpSender(url="smtp://127.0.0.1:9", mail_from=MAIL_FROM, timeout=2)
    queue(to_address="attente@example.com")
    deliver_queued_messages(db=db, sender=down)
    queue(to_address="demo@example.com")
    deliver_queued_messages(db=db, sender=MailboxSender())
    _erase(db, person)
    client.get("/v1/messages", headers=secret_headers)

    ours = [r for r in caplog.records if r.name.startswith("parcours")]
    assert {"email queued", "email sent", "email suppressed", "email delivery retry"} <= {
        r.getMessage() for r in ours
    }
    logged = json.dumps([{**r.__dict__, "message": r.getMessage()} for r in ours], default=str)
    for value in (
        SHOPPER,
        "refusee@example.com",
        SILENT,
        "attente@example.com",
        "demo@example.com",
        "pas une adresse",
        "K7P42Q",
    ):
        assert value not in logged


def test_old_messages_lose_their_address_and_body_after_the_retention_period(
    db: Database, database_url: str, queue: QueueEmail, row: Row
) -> None:
    settings = Settings(database_url=database_url, message_retention_days=90)
    old = queue(now=utcnow() - timedelta(days=91))
    recent = queue(now=utcnow() - timedelta(days=89))
    deliver_queued_messages(db=db, sender=MailboxSender())

    assert tasks.redact_old_messages(db, settings=settings) == 1

    assert row(old)["to_address"] is None
    assert row(old)["body_text"] is None
    assert row(old)["status"] == "sent"
    assert row(recent)["to_address"] == SHOPPER
