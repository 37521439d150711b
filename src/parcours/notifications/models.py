"""The outbox of messages: one row per message a customer should receive, and what became of it.

A row is written in the transaction of the business change that causes it (an order placed, a
pickup ready), so a message exists if and only if that change committed. Delivery reads rows, never
the business tables.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from parcours.core.db import Base, UTCDateTime


class MessageStatus(StrEnum):
    QUEUED = "queued"  # waiting for delivery, or for its next attempt
    SENT = "sent"  # accepted by the mail server (or kept by the development mailbox)
    FAILED = "failed"  # refused for good, out of attempts, or expired before it could go
    SUPPRESSED = "suppressed"  # never sent on purpose: see ``reason``


class SuppressionReason(StrEnum):
    """Why a message was not sent: stable codes, no personal data."""

    NO_CONSENT = "no_consent"  # a marketing message without a current grant
    NO_PROFILE = "no_profile"  # a marketing message to nobody whose consent we hold
    ERASED = "erased"  # the person's data was erased
    INVALID_ADDRESS = "invalid_address"


class Message(Base):
    __tablename__ = "notification_messages"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # msg_…
    channel: Mapped[str] = mapped_column(String(20), default="email")
    template: Mapped[str] = mapped_column(String(60))
    locale: Mapped[str] = mapped_column(String(8))
    # "transactional" or a customers ConsentPurpose value ("marketing_email").
    purpose: Mapped[str] = mapped_column(String(40))
    # The customer it is for, when known (given by the caller or found by the address): the key
    # by which erasure finds it. No foreign key: a message may be for a guest.
    profile_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    reference: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    # Personal data: cleared on erasure and after the retention period.
    to_address: Mapped[str | None] = mapped_column(String(320), nullable=True)
    subject: Mapped[str] = mapped_column(String(300), default="")
    body_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    body_html: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default=MessageStatus.QUEUED.value)
    reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # What went wrong last, as codes ("smtp 451", "server unreachable"): never an address.
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # When the next attempt is due; a worker that claims the message moves it forward (a lease).
    available_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claim_token: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Some messages are useless late (a sign-in code): past this they are not sent.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_by: Mapped[str | None] = mapped_column(String(40), nullable=True)  # smtp, mailbox
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_notification_messages_due", "status", "available_at"),)


class PushSubscription(Base):
    """A browser that agreed to receive web push notifications (the Push API's subscription).

    The browser's permission and this row are her opt-in: a push goes only to a subscription she
    made. The endpoint and keys are personal data (they reach her device): deleted on erasure,
    never logged. A push service answering 404/410 means the browser dropped it: ``revoked_at``.
    """

    __tablename__ = "push_subscriptions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # psh_…
    # Whose device: her profile when she was signed in, and always the anonymous id of the
    # shopper session that subscribed (an order placed as a guest carries the same id).
    profile_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    anonymous_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))  # the browser's P-256 key, base64url
    auth: Mapped[str] = mapped_column(String(100))  # the 16-byte auth secret, base64url
    locale: Mapped[str] = mapped_column(String(8), default="fr")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Codes only ("push service 503"): never the endpoint.
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
