"""The pickup desk on the associate's tablet: an order placed online for click-and-collect is
prepared, the customer arrives, her code is typed, the parcel handed over, and the day's waits
show it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from tests.conftest import Shop, sandbox_card

from parcours.catalog import service as catalog
from parcours.core.auth.models import KeyKind
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.inventory import service as inventory
from parcours.orders import pickup_desk
from parcours.orders import service as orders
from parcours.orders.models import Order

ADDRESS = {
    "name": "Jeanne Martin",
    "line1": "5 rue Oberkampf",
    "postcode": "75011",
    "city": "Paris",
}


def place_online(
    client: TestClient,
    publishable: str,
    lines: dict[str, int],
    fulfilment: dict[str, Any],
    *,
    pay: bool = True,
    email: str = "jeanne@example.com",
) -> dict[str, Any]:
    """A shopper's phone: a session, a cart, checkout, and (unless told) a card payment."""
    auth = {"Authorization": f"Bearer {publishable}"}
    session = client.post("/v1/shopper/sessions", json={"channel": "web"}, headers=auth)
    headers = {**auth, "X-Shopper-Token": session.json()["token"]}
    cart = client.get("/v1/me/cart", headers=headers).json()
    for variant_id, quantity in lines.items():
        added = client.post(
            f"/v1/carts/{cart['id']}/lines",
            json={"variant_id": variant_id, "quantity": quantity},
            headers=headers,
        )
        assert added.status_code == 201, added.text
    placed = client.post(
        f"/v1/carts/{cart['id']}/checkout",
        json={"fulfilments": [fulfilment], "email": email},
        headers=headers,
    )
    assert placed.status_code == 201, placed.text
    order: dict[str, Any] = placed.json()
    if pay:
        token = client.post(
            "/v1/payments/test-provider/tokens", json=sandbox_card(), headers=headers
        ).json()["token"]
        paid = client.post(
            f"/v1/orders/{order['id']}/payments",
            json={"method": "card", "token": token},
            headers={**headers, "Idempotency-Key": f"pay-{order['id']}"},
        )
        assert paid.status_code == 201, paid.text
    return order


def name_her(db: Database, order_id: str, first: str, last: str) -> None:
    """She is a known customer: her profile carries her name (the desk shows "Jeanne M.")."""
    with UnitOfWork(db) as uow:
        profile = customers.identify(
            uow=uow, traits={"first_name": first, "last_name": last}, channel="web", user_id=first
        )
        order = uow.session.get(Order, order_id)
        assert order is not None
        order.profile_id = profile.id
        uow.commit()


def pickup_code(db: Database, order_id: str) -> str:
    with UnitOfWork(db, read_only=True) as uow:
        code = orders.get_order(uow=uow, order_id=order_id).pickup_code
        assert code is not None
        return code


@pytest.mark.at_midday  # the day so far at the desk: it needs a day behind it
def test_pickup_hand_over_with_code(
    live_server: str,
    tablet: Page,
    shop: Shop,
    db: Database,
    client: TestClient,
    api_key: Callable[[KeyKind], str],
    associate: Callable[..., str],
    sign_in: Callable[..., None],
    screenshot: Callable[[Page, str], Path],
) -> None:
    storefront = api_key(KeyKind.PUBLISHABLE)
    with UnitOfWork(db) as uow:
        belt = catalog.create_product(
            uow=uow,
            name="Ceinture cuir noir",
            price_amount=3500,
            channels=["web", "app", "store"],
            status="published",
            variants=[{"sku": f"CE-{size}", "attributes": {"taille": size}} for size in "SM"],
        )
        for variant in belt.variants:
            for location in (shop.store_a, shop.warehouse):
                inventory.set_stock(
                    uow=uow, variant_id=variant.id, location_id=location, on_hand=6, reason="count"
                )
        uow.commit()
    # Others bought the trousers with this belt: the desk will suggest it.
    for _ in range(2):
        place_online(
            client,
            storefront,
            {shop.variants["S"]: 1, belt.variants[0].id: 1},
            {"method": "delivery", "address": ADDRESS},
            pay=False,
            email="someone@example.com",
        )

    # The day so far at store A: one handed over after a wait, one waiting, two to prepare.
    earlier = place_online(
        client,
        storefront,
        {shop.variants["S"]: 1},
        {"method": "click_and_collect", "store_id": shop.store_a},
    )
    waiting = place_online(
        client,
        storefront,
        {shop.variants["M"]: 1},
        {"method": "click_and_collect", "store_id": shop.store_a},
    )
    coming = place_online(
        client,
        storefront,
        {shop.variants["L"]: 1},
        {"method": "click_and_collect", "store_id": shop.store_a},
    )
    name_her(db, earlier["id"], "Sophie", "Roux")
    name_her(db, waiting["id"], "Léa", "Bernard")
    name_her(db, coming["id"], "Inès", "Haddad")
    now = utcnow()
    with UnitOfWork(db) as uow:
        for order in (earlier, waiting):
            orders.mark_ready_for_pickup(uow=uow, order_id=order["id"], location_id=shop.store_a)
        pickup_desk.record_arrival(
            uow=uow, order_id=earlier["id"], location_id=shop.store_a, at=now - timedelta(minutes=9)
        )
        orders.collect_order(
            uow=uow,
            order_id=earlier["id"],
            pickup_code=earlier["pickup_code"],
            location_id=shop.store_a,
            at=now - timedelta(minutes=5),
        )
        pickup_desk.record_arrival(
            uow=uow, order_id=waiting["id"], location_id=shop.store_a, at=now - timedelta(minutes=6)
        )
        uow.commit()

    # Jeanne's order, placed online for click-and-collect at store A, and paid.
    order = place_online(
        client,
        storefront,
        {shop.variants["S"]: 1},
        {"method": "click_and_collect", "store_id": shop.store_a},
    )
    name_her(db, order["id"], "Jeanne", "Martin")
    number = order["number"]

    sign_in(tablet, associate(), "/associate/retraits")
    expect(tablet.get_by_role("heading", name="Retraits", exact=True)).to_be_visible()
    expect(tablet.get_by_test_id("acting-store")).to_contain_text("Parcours PAR-A")
    expect(tablet.get_by_test_id(f"prepare-{coming['number']}")).to_contain_text("En transfert")
    row = tablet.get_by_test_id(f"prepare-{number}")
    expect(row).to_contain_text("Jeanne M.")
    tablet.get_by_role("button", name=f"Commande {number} préparée, la passer en prête").click()
    expect(tablet.get_by_role("status")).to_contain_text(f"Commande {number} prête")
    expect(tablet.get_by_test_id(f"ready-{number}")).to_contain_text("Pantalon noir (S)")
    expect(tablet.get_by_test_id(f"ready-{number}")).not_to_contain_text(
        pickup_code(db, order["id"])
    )

    tablet.get_by_role("button", name=f"Cliente arrivée pour la commande {number}").click()
    arrived = tablet.get_by_test_id(f"arrived-{number}")
    expect(arrived).to_be_visible()
    expect(arrived.get_by_role("timer")).to_have_text(re.compile(r"^\d+ s$"))
    expect(
        tablet.get_by_test_id(f"arrived-{waiting['number']}").get_by_role("timer")
    ).to_have_class(re.compile(r"\blate\b"))
    expect(tablet.get_by_test_id("median-wait")).to_have_text("4 min 00 s")
    screenshot(tablet, "associate-pickup-desk")

    tablet.get_by_label("Code de retrait", exact=True).fill(pickup_code(db, order["id"]))
    tablet.get_by_role("button", name="Vérifier").click()
    expect(tablet.get_by_role("heading", name=f"Commande {number}")).to_be_visible()
    suggestions = tablet.get_by_role("complementary")
    expect(suggestions.get_by_role("heading", name="À lui proposer")).to_be_visible()
    expect(suggestions).to_contain_text("Ceinture cuir noir")
    expect(
        suggestions.get_by_role("button", name="Ajouter Ceinture cuir noir (S) à la vente")
    ).to_be_visible()
    screenshot(tablet, "associate-pickup-handover")

    tablet.get_by_role("button", name="Remettre").click()
    expect(tablet.get_by_role("status")).to_contain_text("Remise")
    expect(tablet.get_by_test_id("waited")).to_have_text(re.compile(r"\d+ s$"))
    screenshot(tablet, "associate-pickup-handed-over")
    tablet.get_by_role("link", name="Cliente suivante").click()
    today = tablet.get_by_test_id("collected-today")
    expect(today).to_contain_text(number)
    expect(today).to_contain_text("Jeanne M.")
    expect(tablet.get_by_test_id(f"arrived-{number}")).to_have_count(0)
    with UnitOfWork(db, read_only=True) as uow:
        collected = orders.get_order(uow=uow, order_id=order["id"])
        assert collected.status == "collected"
        group = collected.fulfilments[0]
        assert group.arrived_at is not None
        assert group.done_at is not None
        assert timedelta(0) <= group.done_at - group.arrived_at < timedelta(minutes=2)


def test_a_wrong_code_is_explained(
    live_server: str,
    tablet: Page,
    shop: Shop,
    associate: Callable[..., str],
    sign_in: Callable[..., None],
) -> None:
    sign_in(tablet, associate(), "/associate/retraits")
    tablet.get_by_label("Code de retrait", exact=True).fill("123456")
    tablet.get_by_role("button", name="Vérifier").click()
    expect(tablet.get_by_role("alert")).to_contain_text("Aucune commande à retirer ici n'a ce code")
    expect(tablet.get_by_label("Code de retrait", exact=True)).to_have_value("123456")
