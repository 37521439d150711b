"""What notifications does when other contexts' events arrive."""

from __future__ import annotations

from parcours.core.events import EventBus
from parcours.core.uow import UnitOfWork
from parcours.customers.events import CustomerErased
from parcours.notifications import service


def erase_messages_of_erased_customer(event: CustomerErased, uow: UnitOfWork) -> None:
    """A person exercised the right to erasure: their messages keep no address or body."""
    service.erase_messages_of(uow=uow, profile_id=event.profile_id)


def register(bus: EventBus) -> None:
    """Subscribe notifications' handlers."""
    bus.subscribe(CustomerErased, erase_messages_of_erased_customer)
