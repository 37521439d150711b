"""Events notifications records. Ids only: no address or body ever travels in a payload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from parcours.core.events import DomainEvent, event


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class MessageSent(DomainEvent):
    """The mail server accepted a message (or the development mailbox kept it)."""

    name: ClassVar[str] = "notifications.message_sent"
    message_id: str
    template: str
    reference: str | None
