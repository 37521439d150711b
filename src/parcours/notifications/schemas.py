"""Output shapes of notifications: messages as support staff see them (addresses masked)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from parcours.notifications.models import MessageStatus


class MessageRead(BaseModel):
    id: str
    channel: str
    template: str
    locale: str
    purpose: str
    status: MessageStatus
    reason: str | None = None  # why a message was suppressed
    reference: str | None = None
    profile_id: str | None = None
    to_address: str | None = None  # masked: j***@example.com; null once erased
    subject: str
    attempts: int
    last_error: str | None = None
    created_at: datetime
    sent_at: datetime | None = None
    delivered_by: str | None = None  # smtp or development_mailbox
    redacted: bool = False  # address and bodies cleared (erasure or retention)


class MessageDetail(MessageRead):
    body_text: str | None = None  # the plain-text part, as the customer received it
