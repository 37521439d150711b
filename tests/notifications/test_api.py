"""Support staff look up the messages a customer received: by order, by status, a page at a
time, with addresses masked; one message shows the text as sent."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from parcours.core.auth.models import Role
from parcours.core.db import Database
from parcours.notifications.senders import MailboxSender
from parcours.notifications.service import deliver_queued_messages

from .conftest import QueueEmail

StaffClient = Callable[..., TestClient]


def test_messages_of_an_order_with_masked_addresses(
    db: Database, client: TestClient, secret_headers: dict[str, str], queue: QueueEmail
) -> None:
    ready = queue(reference="ord_1")
    queue(reference="ord_2")
    refund = queue(
        template="order_refunded",
        context={"order_number": "PAR-1042", "amount": 4990},
        reference="ord_1",
    )
    deliver_queued_messages(db=db, sender=MailboxSender())

    page = client.get("/v1/messages", params={"reference": "ord_1"}, headers=secret_headers)
    assert page.status_code == 200, page.text
    body = page.json()
    assert [m["id"] for m in body["items"]] == [refund, ready]  # newest first
    assert body["next_cursor"] is None
    first = body["items"][1]
    assert first["to_address"] == "j***@example.com"
    assert first["status"] == "sent"
    assert first["template"] == "ready_for_pickup"
    assert first["subject"] == "Votre commande PAR-1042 vous attend à Parcours Rivoli"
    assert first["delivered_by"] == "development_mailbox"
    assert "body_text" not in first

    detail = client.get(f"/v1/messages/{ready}", headers=secret_headers).json()
    assert detail["to_address"] == "j***@example.com"
    assert "Votre code de retrait : K7P42Q" in detail["body_text"]


def test_filters_by_status_and_pages_through(
    client: TestClient, secret_headers: dict[str, str], queue: QueueEmail
) -> None:
    made = [queue(reference=f"ord_{n}") for n in range(5)]
    queue(to_address="not an address")

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"status": "queued", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/messages", params=params, headers=secret_headers).json()
        seen.extend(m["id"] for m in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    suppressed = client.get(
        "/v1/messages", params={"status": "suppressed"}, headers=secret_headers
    ).json()
    assert [m["reason"] for m in suppressed["items"]] == ["invalid_address"]
    bad = client.get("/v1/messages", params={"status": "lost"}, headers=secret_headers)
    assert bad.status_code == 422
    assert (
        client.get("/v1/messages", params={"cursor": "@@"}, headers=secret_headers).status_code
        == 422
    )


def test_an_unknown_message_is_not_found(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    answer = client.get("/v1/messages/msg_nothing", headers=secret_headers)
    assert answer.status_code == 404
    assert answer.json()["code"] == "message_not_found"


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.ADMIN, 200), (Role.MANAGER, 200), (Role.MARKETER, 403), (Role.ASSOCIATE, 403)],
)
def test_only_the_back_office_reads_messages(
    staff_client: StaffClient, queue: QueueEmail, role: Role, status: int
) -> None:
    message_id = queue()
    staff = staff_client(role, stores={"loc_any"} if role is Role.ASSOCIATE else set())
    assert staff.get("/v1/messages").status_code == status
    assert staff.get(f"/v1/messages/{message_id}").status_code == status


def test_anonymous_and_publishable_callers_are_refused(
    client: TestClient, publishable_headers: dict[str, str], queue: QueueEmail
) -> None:
    message_id = queue()
    assert client.get("/v1/messages").status_code == 401
    assert client.get(f"/v1/messages/{message_id}").status_code == 401
    assert client.get("/v1/messages", headers=publishable_headers).status_code == 403


def test_a_mailed_sign_in_code_is_blanked_out_for_support(
    db: Database,
    client: TestClient,
    secret_headers: dict[str, str],
    queue: QueueEmail,
    smtp_sender: object,
) -> None:
    # Whoever reads a live sign-in code can sign in as the shopper: support reads the message
    # without it. Only the development mailbox (the demo: the API is the mailbox) shows it.
    code = {"code": "482913", "valid_minutes": 10}
    sent = queue(template="sign_in_code", context=code)
    deliver_queued_messages(db=db, sender=smtp_sender)  # type: ignore[arg-type]
    in_mailbox = queue(template="sign_in_code", context=code)
    deliver_queued_messages(db=db, sender=MailboxSender())

    support = client.get(f"/v1/messages/{sent}", headers=secret_headers).json()
    assert support["delivered_by"] == "smtp"
    assert "482913" not in support["body_text"]
    assert "••••••" in support["body_text"]
    shown = client.get(f"/v1/messages/{in_mailbox}", headers=secret_headers).json()
    assert shown["delivered_by"] == "development_mailbox"
    assert "482913" in shown["body_text"]
