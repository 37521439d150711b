"""Returns at the counter on the associate's tablet: an order delivered to her home comes back to
store A for one unit; the refund goes to her card and the unit onto store A's shelf."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from tests.conftest import Shop, sandbox_card

from parcours.core.auth.models import KeyKind
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.inventory import service as inventory
from parcours.orders import service as orders

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
    email: str = "jeanne@example.com",
) -> dict[str, Any]:
    """A shopper's phone: a session, a cart, checkout and a card payment."""
    auth = {"Authorization": f"Bearer {publishable}"}
    session = client.post("/v1/shopper/sessions", json={"channel": "web"}, headers=auth)
    headers = {**auth, "X-Shopper-Token": session.json()["token"]}
    cart = client.get("/v1/me/cart", headers=headers).json()
    for variant_id, quantity in lines.items():
        client.post(
            f"/v1/carts/{cart['id']}/lines",
            json={"variant_id": variant_id, "quantity": quantity},
            headers=headers,
        )
    placed = client.post(
        f"/v1/carts/{cart['id']}/checkout",
        json={"fulfilments": [fulfilment], "email": email},
        headers=headers,
    )
    assert placed.status_code == 201, placed.text
    token = client.post("/v1/payments/test-provider/tokens", json=sandbox_card(), headers=headers)
    paid = client.post(
        f"/v1/orders/{placed.json()['id']}/payments",
        json={"method": "card", "token": token.json()["token"]},
        headers={**headers, "Idempotency-Key": "pay-1"},
    )
    assert paid.status_code == 201, paid.text
    order: dict[str, Any] = placed.json()
    return order


def available_at(db: Database, variant_id: str, location_id: str) -> int:
    with UnitOfWork(db, read_only=True) as uow:
        level = inventory.available_at(
            uow=uow, variant_ids=[variant_id], location_ids=[location_id]
        )
        return level.get(variant_id, {}).get(location_id, 0)


def test_an_online_order_is_returned_in_store(
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
    order = place_online(
        client,
        api_key(KeyKind.PUBLISHABLE),
        {shop.variants["S"]: 2},
        {"method": "delivery", "address": ADDRESS},
        email="jeanne.martin@example.com",
    )
    back_office = {"Authorization": f"Bearer {api_key(KeyKind.SECRET)}"}
    group = order["fulfilments"][0]["id"]
    for step in ("ship", "delivered"):
        done = client.post(
            f"/v1/orders/{order['id']}/{step}", json={"fulfilment_id": group}, headers=back_office
        )
        assert done.status_code == 200, done.text
    before = available_at(db, shop.variants["S"], shop.store_a)

    sign_in(tablet, associate(), "/associate/retours")
    expect(tablet.get_by_role("heading", name="Retours", exact=True)).to_be_visible()
    tablet.get_by_label("Numéro de commande ou e-mail de la cliente").fill(
        "Jeanne.Martin@example.com"
    )
    tablet.get_by_role("button", name="Rechercher").click()
    tablet.get_by_role("link", name=f"Ouvrir {order['number']}").click()
    expect(tablet.get_by_role("heading", name=f"Commande {order['number']}")).to_be_visible()
    tablet.get_by_label("Quantité à reprendre : Pantalon noir S").select_option("1")
    tablet.get_by_label("Motif").select_option(label="Taille ne convient pas")
    expect(tablet.locator("#refund-preview")).to_have_text("59,90\u00a0€")
    screenshot(tablet, "associate-returns")
    tablet.get_by_role("button", name="Confirmer le retour").click()

    expect(tablet.get_by_role("status")).to_contain_text("Retour enregistré")
    expect(tablet.get_by_test_id("refunded")).to_have_text("59,90\u00a0€")
    expect(tablet.get_by_test_id("restocked")).to_contain_text(f"{before + 1} disponible(s) ici")
    screenshot(tablet, "associate-returns-done")
    assert available_at(db, shop.variants["S"], shop.store_a) == before + 1
    with UnitOfWork(db, read_only=True) as uow:
        returned = orders.get_order(uow=uow, order_id=order["id"])
        assert (returned.refunded_amount, returned.status) == (shop.price, "partly_returned")

    # Back on the order: one unit may still come back, the first is counted.
    tablet.get_by_role("link", name="Voir la commande").click()
    expect(tablet.get_by_text("1 déjà repris")).to_be_visible()


def test_a_paid_order_not_yet_delivered_is_refused_with_the_reason(
    live_server: str,
    tablet: Page,
    shop: Shop,
    client: TestClient,
    api_key: Callable[[KeyKind], str],
    associate: Callable[..., str],
    sign_in: Callable[..., None],
) -> None:
    order = place_online(
        client,
        api_key(KeyKind.PUBLISHABLE),
        {shop.variants["S"]: 1},
        {"method": "delivery", "address": ADDRESS},
    )
    sign_in(tablet, associate(), "/associate/retours")
    tablet.get_by_label("Numéro de commande ou e-mail de la cliente").fill(order["number"])
    tablet.get_by_role("button", name="Rechercher").click()
    expect(tablet.get_by_test_id("refusal")).to_contain_text("pas encore été livrée")
    expect(tablet.get_by_role("button", name="Confirmer le retour")).to_have_count(0)
