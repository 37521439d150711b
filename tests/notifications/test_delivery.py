"""Queued emails reach a real SMTP server: the right words in the right language, both parts,
proper headers; retried while the server is down, given up on when refused for good; and out
within moments when the relay runs in the API process."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from parcours.app import build_relay
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.settings import Environment, Settings
from parcours.core.uow import UnitOfWork
from parcours.notifications import service, tasks
from parcours.notifications.senders import SmtpSender
from parcours.notifications.service import MAX_ATTEMPTS, deliver_queued_messages, retry_delay

from .conftest import MAIL_FROM, READY, SHOPPER, QueueEmail, SmtpServer

Row = Callable[[str], dict[str, Any]]


def test_ready_for_pickup_arrives_in_french_with_the_code_and_the_store_hours(
    db: Database,
    smtp_server: SmtpServer,
    smtp_sender: SmtpSender,
    queue: QueueEmail,
    row: Row,
    outbox_names: Callable[[], list[str]],
) -> None:
    message_id = queue()

    assert deliver_queued_messages(db=db, sender=smtp_sender) == 1

    [envelope] = smtp_server.mailbox.envelopes
    assert envelope.mail_from == "ne-pas-repondre@parcours.local"
    assert envelope.rcpt_tos == [SHOPPER]
    [received] = smtp_server.mailbox.messages
    assert received["Subject"] == "Votre commande PAR-1042 vous attend à Parcours Rivoli"
    assert received["From"] == MAIL_FROM
    assert received["To"] == SHOPPER
    assert received["Message-ID"] == f"<{message_id}@parcours.local>"
    assert received["Date"] is not None
    assert received["Auto-Submitted"] == "auto-generated"
    assert received.get_content_type() == "multipart/alternative"
    text_part, html_part = received.get_body(("plain",)), received.get_body(("html",))
    assert text_part is not None
    assert html_part is not None
    text, html = text_part.get_content(), html_part.get_content()
    for part in (text, html):
        assert "K7P42Q" in part
        assert "Parcours Rivoli" in part
        assert "12 rue de Rivoli" in part
        for hours in READY["opening_hours"]:
            assert hours in part
        assert "Pull en laine mérinos" in part
        assert "https://boutique.example/commandes/PAR-1042" in part
    assert text.startswith("Bonjour,")
    assert "Votre code de retrait : K7P42Q" in text
    assert "Horaires d'ouverture" in text

    stored = row(message_id)
    assert stored["status"] == "sent"
    assert stored["attempts"] == 1
    assert stored["sent_at"] is not None
    assert stored["delivered_by"] == "smtp"
    assert stored["reference"] == "ord_test"
    assert outbox_names() == ["notifications.message_sent"]
    assert deliver_queued_messages(db=db, sender=smtp_sender) == 0  # never twice


def test_the_same_email_comes_in_english_when_asked(
    db: Database, smtp_server: SmtpServer, smtp_sender: SmtpSender, queue: QueueEmail, row: Row
) -> None:
    message_id = queue(locale="en-GB")

    deliver_queued_messages(db=db, sender=smtp_sender)

    [received] = smtp_server.mailbox.messages
    assert received["Subject"] == "Your order PAR-1042 is ready to collect at Parcours Rivoli"
    text_part = received.get_body(("plain",))
    assert text_part is not None
    text = text_part.get_content()
    assert text.startswith("Hello,")
    assert "Your collection code: K7P42Q" in text
    assert "Opening hours" in text
    assert row(message_id)["locale"] == "en"


def test_a_message_exists_only_if_the_business_change_committed(
    db: Database, smtp_server: SmtpServer, smtp_sender: SmtpSender
) -> None:
    with UnitOfWork(db) as uow:
        service.queue_email(
            uow=uow,
            template="ready_for_pickup",
            to_address=SHOPPER,
            locale="fr",
            context=READY,
            purpose=service.TRANSACTIONAL,
        )
        # the order's transaction fails: no commit

    assert deliver_queued_messages(db=db, sender=smtp_sender) == 0
    assert smtp_server.mailbox.envelopes == []
    with UnitOfWork(db, read_only=True) as uow:
        assert service.list_messages(uow=uow) == ([], None)


def test_retries_while_the_server_is_down_then_delivers_when_it_is_back(
    db: Database, stopped_smtp_server: SmtpServer, queue: QueueEmail, row: Row
) -> None:
    sender = SmtpSender(url=stopped_smtp_server.url, mail_from=MAIL_FROM, timeout=5)
    t0 = utcnow()
    message_id = queue(now=t0)

    assert deliver_queued_messages(db=db, sender=sender, now=t0) == 0
    stored = row(message_id)
    assert stored["status"] == "queued"
    assert stored["attempts"] == 1
    assert stored["last_error"] == "smtp server unreachable (ConnectionRefusedError)"
    assert stored["claim_token"] is None

    # Not due before its backoff: nothing is attempted.
    assert deliver_queued_messages(db=db, sender=sender, now=t0 + timedelta(seconds=10)) == 0
    assert row(message_id)["attempts"] == 1

    stopped_smtp_server.start()
    later = t0 + retry_delay(1) + timedelta(seconds=1)
    assert deliver_queued_messages(db=db, sender=sender, now=later) == 1
    stored = row(message_id)
    assert stored["status"] == "sent"
    assert stored["attempts"] == 2
    assert stored["last_error"] is None
    assert len(stopped_smtp_server.mailbox.envelopes) == 1


def test_gives_up_after_the_last_attempt(
    db: Database, stopped_smtp_server: SmtpServer, queue: QueueEmail, row: Row
) -> None:
    sender = SmtpSender(url=stopped_smtp_server.url, mail_from=MAIL_FROM, timeout=5)
    at = utcnow()
    message_id = queue(now=at)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        deliver_queued_messages(db=db, sender=sender, now=at)
        assert row(message_id)["attempts"] == attempt
        at += retry_delay(attempt) + timedelta(seconds=1)

    stored = row(message_id)
    assert stored["status"] == "failed"
    assert deliver_queued_messages(db=db, sender=sender, now=at + timedelta(days=1)) == 0
    assert row(message_id)["attempts"] == MAX_ATTEMPTS


def test_a_refused_recipient_fails_at_once_and_others_still_go(
    db: Database, smtp_server: SmtpServer, smtp_sender: SmtpSender, queue: QueueEmail, row: Row
) -> None:
    smtp_server.mailbox.refuse.add("personne@example.com")
    refused = queue(to_address="personne@example.com")
    accepted = queue()

    assert deliver_queued_messages(db=db, sender=smtp_sender) == 1

    stored = row(refused)
    assert stored["status"] == "failed"
    assert stored["attempts"] == 1
    # The server's reply quoted the address: only its code is kept.
    assert stored["last_error"] == "smtp recipient refused (550)"
    assert row(accepted)["status"] == "sent"
    assert [e.rcpt_tos for e in smtp_server.mailbox.envelopes] == [[SHOPPER]]


def test_a_sign_in_code_is_not_sent_once_it_expired(
    db: Database, smtp_server: SmtpServer, smtp_sender: SmtpSender, queue: QueueEmail, row: Row
) -> None:
    t0 = utcnow()
    late = queue(template="sign_in_code", context={"code": "493021", "valid_minutes": 10}, now=t0)
    on_time = queue(template="sign_in_code", context={"code": "775310"}, now=t0)

    assert deliver_queued_messages(db=db, sender=smtp_sender, now=t0 + timedelta(minutes=5)) == 2
    assert row(on_time)["status"] == "sent"
    [received] = [m for m in smtp_server.mailbox.messages if "775310" in m.as_string()]
    assert received["Subject"] == "Votre code de connexion à Parcours"
    assert "493021" not in received["Subject"]  # codes stay out of lock-screen previews

    expired = queue(
        template="sign_in_code", context={"code": "111111", "valid_minutes": 10}, now=t0
    )
    assert deliver_queued_messages(db=db, sender=smtp_sender, now=t0 + timedelta(minutes=11)) == 0
    assert row(expired)["status"] == "failed"
    assert row(expired)["last_error"] == "expired before it could be sent"
    assert row(late)["status"] == "sent"


def test_the_shop_name_comes_from_the_settings(
    db: Database, queue: QueueEmail, row: Row, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARCOURS_SHOP_NAME", "Maison Lumière")
    from_env = queue()
    given = queue(shop_name="Atelier Nord")
    assert "L'équipe Maison Lumière" in row(from_env)["body_text"]
    assert "L'équipe Atelier Nord" in row(given)["body_text"]


def test_without_a_mail_server_a_demo_keeps_messages_in_the_development_mailbox(
    db: Database, database_url: str, queue: QueueEmail, row: Row
) -> None:
    settings = Settings(environment=Environment.DEVELOPMENT, database_url=database_url)
    message_id = queue()

    tasks.run_periodic_tasks(db, settings=settings)

    stored = row(message_id)
    assert stored["status"] == "sent"
    assert stored["delivered_by"] == "development_mailbox"
    assert "K7P42Q" in stored["body_text"]  # what GET /v1/messages/{id} shows


def test_in_production_without_a_mail_server_messages_wait_and_one_warning_says_so(
    db: Database,
    database_url: str,
    queue: QueueEmail,
    row: Row,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(
        environment=Environment.PRODUCTION, database_url=database_url, secret_key="s" * 40
    )
    tasks._warned_without_sender.discard(db)
    message_id = queue()

    with caplog.at_level(logging.WARNING, logger="parcours.notifications"):
        tasks.run_periodic_tasks(db, settings=settings)
        tasks.run_periodic_tasks(db, settings=settings)

    assert row(message_id)["status"] == "queued"
    assert row(message_id)["attempts"] == 0
    warnings = [r for r in caplog.records if "PARCOURS_SMTP_URL" in r.getMessage()]
    assert len(warnings) == 1


def test_production_refuses_to_send_an_smtp_password_in_clear(database_url: str) -> None:
    common: dict[str, Any] = {
        "environment": Environment.PRODUCTION,
        "database_url": database_url,
        "secret_key": "s" * 40,
    }
    with pytest.raises(ValueError, match="in clear"):
        Settings(**common, smtp_url="smtp://shop:secret@mail.example.com:587")
    Settings(**common, smtp_url="smtp://shop:secret@mail.example.com:587", smtp_starttls=True)
    Settings(**common, smtp_url="smtps://shop:secret@mail.example.com")
    with pytest.raises(ValueError, match="smtp://"):
        Settings(**common, smtp_url="http://mail.example.com")


def test_a_queued_message_leaves_at_once_when_the_relay_runs_in_process(
    db: Database, database_url: str, smtp_server: SmtpServer, queue: QueueEmail
) -> None:
    settings = Settings(
        environment=Environment.TEST,
        database_url=database_url,
        smtp_url=smtp_server.url,
        relay_poll_seconds=3600,  # no poll within the test: only the wake-up can send it
        log_json=False,
    )
    relay = build_relay(db, settings)
    first_pass = threading.Event()
    run_once = relay.run_once

    def observed_pass(**options: int) -> int:
        try:
            return run_once(**options)
        finally:
            first_pass.set()

    relay.run_once = observed_pass  # type: ignore[method-assign]
    relay.start()
    try:
        assert first_pass.wait(30), "the relay's first pass did not end"
        queue()  # a commit that records no event, after the pass that found nothing
        assert smtp_server.mailbox.arrived.wait(60), "the commit did not wake the relay"
    finally:
        relay.stop()
