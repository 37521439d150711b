"""Events stores records: a shopper's call for an adviser, and an associate taking it.

Ids and durations only: no name or note in a payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from parcours.core.events import DomainEvent, event


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class AdviceRequested(DomainEvent):
    name: ClassVar[str] = "stores.advice_requested"
    request_id: str
    store_id: str
    source: str
    product_id: str | None


@event
@dataclass(frozen=True, slots=True, kw_only=True)
class AdviceTaken(DomainEvent):
    name: ClassVar[str] = "stores.advice_taken"
    request_id: str
    store_id: str
    taken_by: str
    waited_seconds: int
