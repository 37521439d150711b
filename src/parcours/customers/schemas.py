"""Input and output shapes of customers: identify, the profile 360, consents, merges, erasure,
notes.

Inputs refuse unknown fields. Emails and phones are shown masked to store associates and
marketers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from parcours.customers.models import ConsentPurpose, NoteKind

CHANNEL_PATTERN = r"^[a-z][a-z_]{1,19}$"
Channel = Annotated[str, StringConstraints(pattern=CHANNEL_PATTERN)]
IdentifierText = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IdentifyRequest(_Input):
    """A server or a till recognising someone: any of the identifiers, plus traits."""

    anonymous_id: IdentifierText | None = None
    user_id: IdentifierText | None = None
    email: Annotated[str, StringConstraints(max_length=320)] | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    loyalty_card: IdentifierText | None = None
    device_id: IdentifierText | None = None
    email_verified: StrictBool = False
    phone_verified: StrictBool = False
    traits: dict[str, Any] = Field(default_factory=dict, max_length=100)
    channel: Channel = Field(description="where the person was recognised: web, app, till…")
    store_id: Annotated[str, StringConstraints(max_length=40)] | None = None


class MergeRequest(_Input):
    other_id: Annotated[str, StringConstraints(min_length=1, max_length=40)] = Field(
        description="the profile merged into this one"
    )
    force: StrictBool = Field(
        default=False, description="merge even when the identity rules say these are two people"
    )


class ConsentChange(_Input):
    purpose: ConsentPurpose
    granted: StrictBool
    channel: Channel = Field(description="where the person said so: web, app, till, email…")
    wording_version: Annotated[str, StringConstraints(min_length=1, max_length=40)] = Field(
        description="the version of the text the person was shown"
    )
    at: AwareDatetime | None = Field(
        default=None, description="when, with its offset (UTC: Z); now when left out"
    )


class IdentifierRead(BaseModel):
    kind: str
    value: str
    verified: bool
    first_seen: datetime
    last_seen: datetime


class ConsentRead(BaseModel):
    id: str
    purpose: ConsentPurpose
    granted: bool
    channel: str
    wording_version: str
    recorded_at: datetime


class ConsentsRead(BaseModel):
    current: dict[str, ConsentRead]
    history: list[ConsentRead]
    next_cursor: str | None = None


class ChannelActivity(BaseModel):
    first_seen: datetime
    last_seen: datetime
    events: int


class ActivityRead(BaseModel):
    channels: dict[str, ChannelActivity]
    counts: dict[str, int]
    total: int
    first_seen: datetime | None
    last_seen: datetime | None


class EventRead(BaseModel):
    id: str
    type: str
    event: str | None
    channel: str
    store_id: str | None
    timestamp: datetime
    properties: dict[str, Any]


class CustomerSummary(BaseModel):
    id: str
    traits: dict[str, Any]
    identifiers: list[IdentifierRead]
    created_at: datetime
    updated_at: datetime


class CustomerRead(CustomerSummary):
    """The profile 360."""

    consents: dict[str, ConsentRead]
    activity: ActivityRead
    latest_events: list[EventRead]
    merged_profile_ids: list[str]
    open_conflicts: int


class MergeRead(BaseModel):
    id: str
    survivor_id: str
    merged_id: str
    identifier_ids: list[str]
    consent_ids: list[str]
    reason: str
    merged_by: str
    merged_at: datetime
    undone_at: datetime | None


class ErasureRead(BaseModel):
    id: str
    profile_id: str
    erased_at: datetime
    erased_by: str
    counts: dict[str, int]


class NoteCreate(_Input):
    """What an associate learnt about the person: a note, or a preference."""

    kind: NoteKind = NoteKind.NOTE
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    store_id: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        default=None, description="the store where it was written"
    )


class NoteRead(BaseModel):
    id: str
    kind: NoteKind
    text: str
    author: str
    store_id: str | None
    created_at: datetime
