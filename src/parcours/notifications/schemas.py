"""Output shapes of notifications: messages as support staff see them (addresses masked)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

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


class PushKeys(BaseModel):
    p256dh: str = Field(min_length=80, max_length=200)
    auth: str = Field(min_length=16, max_length=100)


class PushSubscriptionCreate(BaseModel):
    """``PushSubscription.toJSON()`` as the browser gives it (``expirationTime`` ignored)."""

    endpoint: str = Field(min_length=10, max_length=1000)
    keys: PushKeys
    locale: str = Field(default="fr", max_length=8)


class PushKeysProof(BaseModel):
    """The subscription's own ``auth`` secret: proof that the caller is its browser."""

    auth: str = Field(min_length=16, max_length=100)
    p256dh: str | None = Field(default=None, max_length=200)  # ignored: toJSON() sends it


class PushSubscriptionDelete(BaseModel):
    """The endpoint, and ``keys.auth`` unless the caller is the session that subscribed."""

    endpoint: str = Field(min_length=10, max_length=1000)
    keys: PushKeysProof | None = None


class PushSubscriptionRead(BaseModel):
    id: str
    created_at: datetime
    signed_in: bool  # tied to her profile, so every order of hers is announced
