"""Domain events: past-tense facts a context records and others react to.

Events are frozen dataclasses. Recording one in a unit of work writes it to the outbox in the same
commit; the relay then hands it to every subscribed handler. Names are stable strings because they
are stored and, later, published in webhooks.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

if TYPE_CHECKING:
    from parcours.core.uow import UnitOfWork


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    """Base of every event. Subclasses set ``name`` (``"inventory.stock_reserved"``)."""

    name: ClassVar[str] = ""

    def to_payload(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


E = TypeVar("E", bound=DomainEvent)
_REGISTRY: dict[str, type[DomainEvent]] = {}


def event(cls: type[E]) -> type[E]:
    """Class decorator: register an event type under its ``name`` so the relay can rebuild it."""
    if not cls.name:
        raise TypeError(f"{cls.__name__} needs a name")
    existing = _REGISTRY.get(cls.name)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise TypeError(f"event name {cls.name!r} is taken by {existing.__qualname__}")
    _REGISTRY[cls.name] = cls
    return cls


def rebuild_event(name: str, payload: dict[str, Any]) -> DomainEvent:
    """Turn a stored outbox row back into its event object."""
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise LookupError(f"unknown event {name!r}") from None
    return cls(**payload)


Handler = Callable[[Any, "UnitOfWork"], None]


class EventBus:
    """Who listens to what. Handlers run inside the relay's transaction, so their writes and the
    outbox row's 'dispatched' mark commit together: an event's database effects happen once."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, event_type: type[E], handler: Callable[[E, UnitOfWork], None]) -> None:
        self._handlers[event_type.name].append(handler)

    def handlers_for(self, name: str) -> list[Handler]:
        return list(self._handlers.get(name, ()))
