"""Events customers records. Ids only: no email, phone or trait ever travels in a payload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from parcours.core.events import DomainEvent, event


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerIdentified(DomainEvent):
    name: ClassVar[str] = "customers.customer_identified"
    profile_id: str
    channel: str
    new_profile: bool


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class ProfilesMerged(DomainEvent):
    name: ClassVar[str] = "customers.profiles_merged"
    merge_id: str
    survivor_id: str
    merged_id: str
    reason: str


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class ProfilesUnmerged(DomainEvent):
    name: ClassVar[str] = "customers.profiles_unmerged"
    merge_id: str
    survivor_id: str
    merged_id: str


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class ConsentChanged(DomainEvent):
    name: ClassVar[str] = "customers.consent_changed"
    profile_id: str
    purpose: str
    granted: bool
    channel: str


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerErased(DomainEvent):
    name: ClassVar[str] = "customers.customer_erased"
    profile_id: str
    erasure_id: str
