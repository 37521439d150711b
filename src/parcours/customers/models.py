"""Tables of customers: profiles, identifiers, merges, conflicts, consents, erasures, the notes
store staff keep about a person, and the identity projector's position in the event stream."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parcours.core.db import Base, JSONDocument, UTCDateTime


class IdentifierKind(StrEnum):
    ANONYMOUS_ID = "anonymous_id"
    USER_ID = "user_id"
    EMAIL = "email"  # trimmed, lower-case
    PHONE = "phone"  # E.164
    LOYALTY_CARD = "loyalty_card"
    DEVICE_ID = "device_id"


class ConsentPurpose(StrEnum):
    ANALYTICS = "analytics"
    PERSONALISATION = "personalisation"
    MARKETING_EMAIL = "marketing_email"
    MARKETING_SMS = "marketing_sms"
    MARKETING_PUSH = "marketing_push"
    PROFILING = "profiling"


class Profile(Base):
    """One person as far as we know. A profile merged into another keeps its row (``merged_into``)
    so the merge can be undone; an erased one keeps its id and nothing else."""

    __tablename__ = "customer_profiles"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # cus_…
    traits: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    merged_into: Mapped[str | None] = mapped_column(
        ForeignKey("customer_profiles.id", ondelete="SET NULL"), nullable=True, index=True
    )
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: The name from the traits, folded (lower case, no accents, single spaces) so that an
    #: associate's search matches word prefixes on both databases; ``None`` when no name is known
    #: or the person was erased.
    search_name: Mapped[str | None] = mapped_column(String(200), nullable=True)

    __table_args__ = (
        # text_pattern_ops: PostgreSQL uses the index for ``LIKE 'dup%'`` whatever the collation.
        Index(
            "ix_customer_profiles_search_name",
            "search_name",
            postgresql_ops={"search_name": "text_pattern_ops"},
        ),
    )

    @property
    def is_live(self) -> bool:
        return self.merged_into is None and self.erased_at is None


class Identifier(Base):
    """A value that points at one profile: a (kind, value) pair belongs to one profile only."""

    __tablename__ = "customer_identifiers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # cid_…
    profile_id: Mapped[str] = mapped_column(
        ForeignKey("customer_profiles.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(320))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("kind", "value", name="uq_customer_identifiers_kind_value"),)


class Merge(Base):
    """A recorded merge: what moved from ``merged_id`` to ``survivor_id``, so it can be undone.
    Holds ids only, plus the traits the survivor took over (cleared on erasure)."""

    __tablename__ = "customer_merges"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # mrg_…
    survivor_id: Mapped[str] = mapped_column(
        ForeignKey("customer_profiles.id", ondelete="CASCADE"), index=True
    )
    merged_id: Mapped[str] = mapped_column(
        ForeignKey("customer_profiles.id", ondelete="CASCADE"), index=True
    )
    identifier_ids: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    consent_ids: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    traits_taken: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    reason: Mapped[str] = mapped_column(String(40))  # identify, alias, manual
    merged_by: Mapped[str] = mapped_column(String(80))  # "identity" or the staff / key id
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime())
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    undone_by: Mapped[str | None] = mapped_column(String(80), nullable=True)


class IdentityConflict(Base):
    """Two profiles that met but were not merged (a rule forbade it): for a person to decide."""

    __tablename__ = "customer_identity_conflicts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # icf_…
    profile_id: Mapped[str] = mapped_column(
        ForeignKey("customer_profiles.id", ondelete="CASCADE"), index=True
    )
    other_profile_id: Mapped[str | None] = mapped_column(
        ForeignKey("customer_profiles.id", ondelete="CASCADE"), nullable=True, index=True
    )
    reason: Mapped[str] = mapped_column(String(40))  # verified_emails_differ, unique_kind
    kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ConsentRecord(Base):
    """Append-only: each grant or withdrawal is a new row; the latest per purpose is current."""

    __tablename__ = "customer_consents"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # cns_…, sortable by time
    profile_id: Mapped[str] = mapped_column(
        ForeignKey("customer_profiles.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(30))
    granted: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str] = mapped_column(String(20))  # where it was given: web, till, app…
    wording_version: Mapped[str] = mapped_column(String(40))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str | None] = mapped_column(String(80), nullable=True)

    __table_args__ = (
        Index("ix_customer_consents_profile_purpose", "profile_id", "purpose", "recorded_at"),
    )


class Erasure(Base):
    """The log of an erasure. No personal data: the (now empty) profile id, who, when, counts."""

    __tablename__ = "customer_erasures"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # era_…
    profile_id: Mapped[str] = mapped_column(String(40), index=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime())
    erased_by: Mapped[str] = mapped_column(String(80))  # a staff user or API key id
    counts: Mapped[dict[str, int]] = mapped_column(JSONDocument, default=dict)


class ProjectionCursor(Base):
    """Where a projector over the event store stopped (the last event id it applied)."""

    __tablename__ = "customer_projection_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_event_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ShopperSession(Base):
    """A shopper's device talking to the storefront API: anonymous first, signed in later.

    Only the SHA-256 of the token is kept, so a database leak hands out no session. The
    anonymous id is the device's first-party id (the one the tracking module sends), so the cart,
    the events and the identity graph speak of the same person.
    """

    __tablename__ = "shopper_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # shs_…
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    anonymous_id: Mapped[str] = mapped_column(String(100), index=True)
    profile_id: Mapped[str | None] = mapped_column(
        ForeignKey("customer_profiles.id", ondelete="SET NULL"), nullable=True, index=True
    )
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    signed_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SignInCode(Base):
    """A one-time code mailed to a shopper: passwordless sign-in. Hash only, few attempts."""

    __tablename__ = "shopper_sign_in_codes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # sic_…
    email: Mapped[str] = mapped_column(String(320), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class NoteKind(StrEnum):
    NOTE = "note"
    PREFERENCE = "preference"  # "size 38, prefers black"


class CustomerNote(Base):
    """What a store associate wrote about a person (a note, or a preference). Personal data:
    exported with the profile and deleted with it."""

    __tablename__ = "customer_notes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # cno_…
    profile_id: Mapped[str] = mapped_column(
        ForeignKey("customer_profiles.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(String(1000))
    author: Mapped[str] = mapped_column(String(80))  # the staff user's id, never a name
    store_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
