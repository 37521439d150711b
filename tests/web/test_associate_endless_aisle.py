"""Endless aisle from a customer's 360: the order joins her history and leaves her phone cart as
it is."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.conftest import Shop

from parcours.carts import service as carts
from parcours.carts.models import Cart, TouchpointKind
from parcours.core.auth.models import Role
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.orders.models import Order


def test_an_order_for_her_joins_her_history_and_spares_her_phone_cart(
    db: Database, shop: Shop, staff_client: Callable[..., TestClient]
) -> None:
    with UnitOfWork(db) as uow:
        profile = customers.identify(
            uow=uow,
            traits={"first_name": "Inès", "last_name": "Martin", "email": "ines@example.com"},
            channel="web",
        )
        phone_cart = carts.open_cart(
            uow=uow, profile_id=profile.id, anonymous_id=None, channel="app", currency="EUR"
        )
        carts.add_line(
            uow=uow,
            cart_id=phone_cart.id,
            variant_id=shop.variants["S"],
            quantity=1,
            touchpoint=carts.Touchpoint(kind=TouchpointKind.APP),
        )
        profile_id, phone_cart_id = profile.id, phone_cart.id
        uow.commit()
    associate = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    answer = associate.post(
        f"/associate/produits/{shop.product_id}/commander",
        data={
            "variant_id": shop.variants["L"],
            "mode": "pickup",
            "client": profile_id,
            "csrf_token": associate.headers["X-CSRF-Token"],
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    with UnitOfWork(db, read_only=True) as uow:
        order = uow.session.scalars(select(Order)).one()
        assert answer.headers["location"] == f"/associate/caisse/commandes/{order.id}"
        assert (order.profile_id, order.origin, order.email) == (
            profile_id,
            "endless_aisle",
            "ines@example.com",
        )
        phone = uow.session.get(Cart, phone_cart_id)
        assert phone is not None
        assert phone.status == "active"
        assert [line.variant_id for line in carts.active_lines(phone)] == [shop.variants["S"]]
