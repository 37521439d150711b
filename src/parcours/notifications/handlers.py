"""What notifications does when other contexts' events arrive."""

from __future__ import annotations

import logging
from functools import partial

from parcours.core.errors import NotFound
from parcours.core.events import EventBus
from parcours.core.settings import Settings
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.events import CustomerErased
from parcours.customers.service import ErasureScope
from parcours.notifications import service
from parcours.notifications.push import vapid_keys
from parcours.orders.events import OrderReadyForPickup

log = logging.getLogger("parcours.notifications")

#: Where a push opens: the shopper's order page (the checkout area shows it).
ORDER_PAGE = "/commandes/{order_id}"


def erase_messages_of_erased_customer(event: CustomerErased, uow: UnitOfWork) -> None:
    """A person exercised the right to erasure: their messages keep no address or body, and
    their devices' push subscriptions are deleted."""
    service.erase_messages_of(uow=uow, profile_id=event.profile_id)
    service.erase_push_subscriptions_of(uow=uow, profile_id=event.profile_id)


def erase_messages_in_erasure(uow: UnitOfWork, scope: ErasureScope) -> dict[str, int]:
    """The erasure's own step (inside its transaction): messages to her addresses, guests'
    included, and the push subscriptions of her devices."""
    main = scope.profile_ids[0]
    return {
        "messages": service.erase_messages_of(uow=uow, profile_id=main, addresses=scope.emails),
        "push_subscriptions": service.erase_push_subscriptions_of(
            uow=uow, profile_id=main, anonymous_ids=scope.anonymous_ids
        ),
    }


def push_order_ready(event: OrderReadyForPickup, uow: UnitOfWork, *, settings: Settings) -> None:
    """ "Votre commande est prête" on her phone, if she subscribed to notifications on one of
    her devices (the browser's permission and subscription are her opt-in). Transactional, so
    no marketing consent is asked; an erased person gets nothing. The push leaves after the
    relay's commit; it is best effort (the email carries the same news durably), so nothing
    here may fail the event for the other handlers."""
    from parcours.orders import service as orders
    from parcours.stores import service as stores

    keys = vapid_keys(settings)
    if keys is None:
        return  # production without VAPID keys: push is off
    try:
        order = orders.get_order(uow=uow, order_id=event.order_id)
    except NotFound:
        return
    subscriptions = service.push_subscriptions_of(
        uow=uow, profile_id=order.profile_id, anonymous_id=order.anonymous_id
    )
    if not subscriptions:
        return
    if order.profile_id is not None and service.is_erased(uow=uow, profile_id=order.profile_id):
        return
    try:
        store_name = stores.get_location(uow=uow, location_id=event.location_id).name
    except NotFound:
        store_name = ""
    payload = service.order_ready_push_payload(
        locale=order.locale,
        order_number=order.number,
        store_name=store_name,
        url=ORDER_PAGE.format(order_id=order.id),
        tag=f"order-ready-{order.id}",
    )
    service.send_push_after_commit(
        uow=uow,
        subscriptions=subscriptions,
        payload=payload,
        keys=keys,
        subject=settings.vapid_subject,
    )


def register(bus: EventBus, *, settings: Settings | None = None) -> None:
    """Subscribe notifications' handlers; web push needs the settings (its keys)."""
    bus.subscribe(CustomerErased, erase_messages_of_erased_customer)
    customers.register_erasure_step("notifications", erase_messages_in_erasure)
    if settings is not None:
        bus.subscribe(OrderReadyForPickup, partial(push_order_ready, settings=settings))
