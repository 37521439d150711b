"""Journey 5, the kiosk in store B: size S is not on B's shelves (5 at A, 20 at the warehouse),
so she orders it for pickup here; another item goes to her phone by QR code and opens in a
second browser (her phone) as the same selection. She calls an adviser; the kiosk forgets
everything after a while without a touch."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select
from tests.conftest import Shop
from tests.e2e.conftest import PHONE
from tests.kiosk_pairing import issue_pairing_code

from parcours.carts.models import Cart, CartLine
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.orders.models import Order
from parcours.stores.models import AdviceRequest

#: A 32-inch portrait catalogue terminal: 1080 x 1920, touch.
KIOSK = {
    "viewport": {"width": 1080, "height": 1920},
    "device_scale_factor": 1,
    "has_touch": True,
}


@pytest.fixture
def kiosk_context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(locale="fr-FR", **KIOSK)  # type: ignore[arg-type]
    yield context
    context.close()


@pytest.fixture
def kiosk(kiosk_context: BrowserContext, live_server: str, shop: Shop, db: Database) -> Page:
    """Store B's kiosk, paired as its staff would: the one-time code typed on the screen."""
    page = kiosk_context.new_page()
    page.goto(f"{live_server}/kiosk/PAR-B")
    expect(page.get_by_test_id("kiosk-unpaired")).to_contain_text(
        "Cette borne n'est pas encore appairée — demandez à un conseiller."
    )
    page.get_by_label("Code d'appairage").fill(issue_pairing_code(db, shop.store_b))
    page.get_by_role("button", name="Appairer cette borne").click()
    expect(page.get_by_role("heading", name="Tout notre catalogue, ici")).to_be_visible()
    return page


def _choose_size(page: Page, size: str) -> None:
    page.get_by_role("list", name="Taille").get_by_role(
        "link", name=re.compile(rf"^{size}\b")
    ).click()


def test_order_a_missing_size_for_pickup_here_then_send_the_selection_to_her_phone(
    live_server: str,
    kiosk: Page,
    browser: Browser,
    shop: Shop,
    db: Database,
    screenshot: Callable[[Page, str], Path],
) -> None:
    kiosk.goto(f"{live_server}/kiosk/PAR-B")
    expect(kiosk.get_by_role("heading", name="Tout notre catalogue, ici")).to_be_visible()
    screenshot(kiosk, "storefront-kiosk-home")
    kiosk.get_by_role("searchbox", name="Rechercher un article").fill("pantalon noir")
    kiosk.get_by_role("button", name="Rechercher").click()
    kiosk.get_by_role("link", name=re.compile("Pantalon noir")).click()

    # Size S: not here; where it is, nearest first, and the warehouse.
    _choose_size(kiosk, "S")
    stock = kiosk.get_by_test_id("network-stock")
    expect(stock).to_contain_text("Cette taille n'est pas disponible ici.")
    expect(stock.get_by_role("listitem").nth(0)).to_contain_text("Ici, Parcours PAR-B")
    expect(stock.get_by_role("listitem").nth(0)).to_contain_text("0 en stock")
    expect(stock.get_by_role("listitem").nth(1)).to_contain_text("Parcours PAR-A")
    expect(stock.get_by_role("listitem").nth(1)).to_contain_text("5 en stock")
    expect(stock.get_by_role("listitem").nth(2)).to_contain_text("Entrepôt")
    expect(stock.get_by_role("listitem").nth(2)).to_contain_text("20 en stock")
    screenshot(kiosk, "storefront-kiosk-product")

    # Ordered for pickup here, with her email.
    kiosk.get_by_role("link", name="Commander : retrait ici ou livraison").click()
    expect(
        kiosk.get_by_role("radio", name=re.compile("Retrait ici, Parcours PAR-B"))
    ).to_be_checked()
    expect(kiosk.get_by_label("Adresse", exact=True)).to_be_hidden()
    kiosk.get_by_label("Votre e-mail").fill("lea.martin@exemple.fr")
    screenshot(kiosk, "storefront-kiosk-order")
    kiosk.get_by_role("button", name="Commander", exact=True).click()
    expect(kiosk.get_by_role("heading", name="Commande enregistrée")).to_be_visible()
    expect(kiosk.get_by_test_id("pay-qr").locator("svg")).to_be_visible()
    expect(kiosk.get_by_role("heading", name="Ou en caisse")).to_be_visible()
    screenshot(kiosk, "storefront-kiosk-ordered")
    with UnitOfWork(db, read_only=True) as uow:
        order = uow.session.scalars(select(Order)).one()
        assert (order.channel, order.origin, order.store_id, order.email) == (
            "kiosk",
            "kiosk",
            shop.store_b,
            "lea.martin@exemple.fr",
        )
        (fulfilment,) = order.fulfilments
        assert (fulfilment.method, fulfilment.pickup_location_id) == (
            "click_and_collect",
            shop.store_b,
        )
        assert [line.variant_id for line in order.lines] == [shop.variants["S"]]
        expect(kiosk.get_by_test_id("order-number")).to_have_text(order.number)
    kiosk.get_by_role("button", name="Terminé").click()

    # Another item: M, on the shelf here. An adviser is called about it.
    kiosk.get_by_role("link", name=re.compile("Pantalon noir")).click()
    _choose_size(kiosk, "M")
    expect(kiosk.get_by_test_id("network-stock")).to_contain_text("En rayon ici : 2 disponible(s).")
    kiosk.get_by_role("button", name="Ajouter la taille M à ma sélection").click()
    expect(kiosk.get_by_text("Ajouté à votre sélection.")).to_be_visible()
    expect(kiosk.get_by_test_id("selection-count")).to_have_text("1")
    kiosk.get_by_role("button", name="Appeler un conseiller").click()
    expect(kiosk.get_by_test_id("adviser-coming")).to_contain_text("Un conseiller arrive.")
    with UnitOfWork(db, read_only=True) as uow:
        advice = uow.session.scalars(select(AdviceRequest)).one()
        assert (advice.store_id, advice.source, advice.status, advice.variant_id) == (
            shop.store_b,
            "kiosk",
            "waiting",
            shop.variants["M"],
        )
    screenshot(kiosk, "storefront-kiosk-adviser")

    # "Send to my phone": a QR code; her phone (another browser context) opens its link.
    kiosk.get_by_role("link", name=re.compile("Ma sélection")).click()
    expect(kiosk.get_by_test_id("selection-lines")).to_contain_text("Pantalon noir")
    screenshot(kiosk, "storefront-kiosk-selection")
    kiosk.get_by_role("button", name="Envoyer sur mon téléphone").click()
    qr_code = kiosk.get_by_test_id("phone-qr")
    expect(qr_code.locator("svg")).to_be_visible()
    screenshot(kiosk, "storefront-kiosk-phone")
    url = qr_code.get_attribute("data-url")
    assert url is not None
    assert "/panier/reprendre/" in url

    phone_context = browser.new_context(locale="fr-FR", **PHONE)  # type: ignore[arg-type]
    try:
        phone = phone_context.new_page()
        phone.goto(url)
        phone.get_by_role("button", name="Tout refuser").click()
        expect(phone.get_by_role("heading", name="Votre sélection de la borne")).to_be_visible()
        expect(phone.get_by_test_id("takeover-lines")).to_contain_text("Pantalon noir")
        screenshot(phone, "storefront-kiosk-takeover-phone")
        phone.get_by_role("button", name="Mettre dans mon panier").click()
        expect(phone.get_by_role("heading", name="Mon panier")).to_be_visible()
        line = phone.get_by_test_id("cart-lines").get_by_role("listitem")
        expect(line).to_have_count(1)
        expect(line).to_contain_text("Pantalon noir")
        expect(line).to_contain_text("M")
    finally:
        phone_context.close()
    with UnitOfWork(db, read_only=True) as uow:
        carts = {cart.channel: cart for cart in uow.session.scalars(select(Cart))}
        kiosk_cart, phone_cart = carts["kiosk"], carts["web"]
        assert (kiosk_cart.status, kiosk_cart.merged_into) == ("merged", phone_cart.id)
        moved = uow.session.scalars(select(CartLine).where(CartLine.cart_id == phone_cart.id)).one()
        assert (moved.variant_id, moved.touchpoint, moved.touchpoint_store_id) == (
            shop.variants["M"],
            "kiosk",
            shop.store_b,
        )

    # The kiosk sees it arrive, then starts afresh for the next shopper.
    expect(kiosk.get_by_text("C'est sur votre téléphone.")).to_be_visible(timeout=10_000)
    expect(kiosk).to_have_url(f"{live_server}/kiosk/PAR-B", timeout=10_000)
    expect(kiosk.get_by_test_id("selection-count")).to_have_text("0")


def test_the_kiosk_clears_itself_after_idle(
    live_server: str,
    kiosk: Page,
    shop: Shop,
    db: Database,
    screenshot: Callable[[Page, str], Path],
) -> None:
    # A short idle delay for the test (90 s + 10 s in store).
    kiosk.goto(
        f"{live_server}/kiosk/PAR-B/produits/{shop.product_slug}"
        f"?variant={shop.variants['M']}&idle=2&countdown=3"
    )
    kiosk.get_by_role("button", name="Ajouter la taille M à ma sélection").click()
    expect(kiosk.get_by_test_id("selection-count")).to_have_text("1")
    dialog = kiosk.get_by_role("alertdialog", name="Vous êtes toujours là ?")
    expect(dialog).to_be_visible(timeout=5_000)
    screenshot(kiosk, "storefront-kiosk-idle")
    # "I'm still here" keeps her selection…
    dialog.get_by_role("button", name="Je continue").click()
    expect(dialog).to_be_hidden()
    expect(kiosk.get_by_test_id("selection-count")).to_have_text("1")
    # …and without a touch the countdown ends it.
    expect(dialog).to_be_visible(timeout=5_000)
    expect(kiosk).to_have_url(f"{live_server}/kiosk/PAR-B", timeout=8_000)
    expect(kiosk.get_by_test_id("selection-count")).to_have_text("0")
    with UnitOfWork(db, read_only=True) as uow:
        assert uow.session.scalars(select(Cart.status)).one() == "abandoned"
