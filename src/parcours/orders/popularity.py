"""What sells: the products bought most at a store (or across the network) over recent days, for
the storefront's "trending near you". Read-only; counts units on orders that were not cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from parcours.core.uow import UnitOfWork
from parcours.orders.models import Fulfilment, Order, OrderLine, OrderStatus


@dataclass(frozen=True, slots=True)
class ProductSales:
    product_id: str
    units: int
    orders: int


def best_selling_products(
    *, uow: UnitOfWork, since: datetime, store_id: str | None = None, limit: int = 12
) -> list[ProductSales]:
    """Products by units bought since ``since``, most first. With ``store_id``: orders placed at
    that store (till, tablet, kiosk) or collected there. One query."""
    statement = (
        select(
            OrderLine.product_id,
            func.sum(OrderLine.quantity).label("units"),
            func.count(func.distinct(OrderLine.order_id)).label("orders"),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.placed_at >= since, Order.status != OrderStatus.CANCELLED.value)
        .group_by(OrderLine.product_id)
        .order_by(func.sum(OrderLine.quantity).desc(), OrderLine.product_id)
        .limit(max(1, min(limit, 100)))
    )
    if store_id is not None:
        statement = statement.join(Fulfilment, Fulfilment.id == OrderLine.fulfilment_id).where(
            or_(Order.store_id == store_id, Fulfilment.pickup_location_id == store_id)
        )
    return [
        ProductSales(product_id, int(units or 0), int(orders or 0))
        for product_id, units, orders in uow.session.execute(statement)
    ]
