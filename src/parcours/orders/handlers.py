"""What orders does when other contexts report: a payment captured later (3-D Secure confirmed,
a pay-by-link paid on the shopper's phone, a Stripe webhook) settles its order; an erased
customer's email and addresses leave her orders."""

from __future__ import annotations

from parcours.core.errors import NotFound
from parcours.core.events import EventBus
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.events import CustomerErased
from parcours.customers.service import ErasureScope
from parcours.orders import service
from parcours.payments.events import PaymentCaptured, PaymentRefunded


def settle_order_on_capture(event: PaymentCaptured, uow: UnitOfWork) -> None:
    """Mark the order paid once its payments cover it (a no-op if the request already did)."""
    if not event.reference.startswith("ord_"):
        return
    try:
        service.settle_payments(
            uow=uow, order_id=event.reference, channel=event.channel, store_id=event.store_id
        )
    except NotFound:
        return  # a payment for something that is not an order


def follow_refund(event: PaymentRefunded, uow: UnitOfWork) -> None:
    """Every refund of an order's payment reaches the order, whatever route made it."""
    if not event.reference.startswith("ord_"):
        return
    try:
        service.follow_refunds(uow=uow, order_id=event.reference)
    except NotFound:
        return


def forget_erased_customer(event: CustomerErased, uow: UnitOfWork) -> None:
    """Her email and addresses leave her orders when she is erased (again: the erasure's own
    step below did it in its transaction; this one covers erasures made before it existed)."""
    service.erase_customer_data(uow=uow, profile_id=event.profile_id)


def erase_orders_in_erasure(uow: UnitOfWork, scope: ErasureScope) -> dict[str, int]:
    """The erasure's own step, inside its transaction while her addresses and devices are still
    known: her guest orders (on her devices, under her addresses) lose their personal data too."""
    touched = service.erase_customer_data(
        uow=uow,
        profile_id=scope.profile_ids[0],
        emails=scope.emails,
        anonymous_ids=scope.anonymous_ids,
    )
    return {"orders": touched}


def register(bus: EventBus) -> None:
    bus.subscribe(PaymentCaptured, settle_order_on_capture)
    bus.subscribe(PaymentRefunded, follow_refund)
    bus.subscribe(CustomerErased, forget_erased_customer)
    customers.register_erasure_step("orders", erase_orders_in_erasure)
