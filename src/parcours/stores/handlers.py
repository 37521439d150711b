"""What stores does when other contexts report: an erased customer's calls for an adviser lose
who asked and what she wrote."""

from __future__ import annotations

from parcours.core.events import EventBus
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.events import CustomerErased
from parcours.stores import service


def forget_erased_customer(event: CustomerErased, uow: UnitOfWork) -> None:
    """Her calls for an adviser, and those of the profiles merged into hers, keep no trace of
    her: only the anonymous fact of a call in a store stays."""
    cluster = [
        event.profile_id,
        *customers.merged_profile_ids(uow=uow, profile_id=event.profile_id),
    ]
    service.erase_advice_requests_of(uow=uow, profile_ids=cluster)


def register(bus: EventBus) -> None:
    """Subscribe stores' handlers."""
    bus.subscribe(CustomerErased, forget_erased_customer)
