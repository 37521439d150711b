"""Journey 1 of the storefront: she fills her cart on her phone, finds the same cart on her
desktop once signed in with the same email, collects in a store that has it, pays, and the
pickup QR code shows. Two browser contexts are two devices: no cookie is shared between them,
only her email (and the code she reads in her mailbox)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect
from tests.carts.conftest import mailed_code
from tests.conftest import Shop, card_expiry_field

from parcours.core.db import Database

EMAIL = "ines.petit@exemple.fr"
#: The click-and-collect store list (the reserve-in-store list names the same stores; the page
#: script shows one of them at a time, the locator must not depend on when it ran).
COLLECT_STORES = 'fieldset[data-for="click_and_collect"]'

#: Marks the page once its live stream (EventSource) has had its first event, the cart as the
#: server read it after subscribing: from then on every change reaches it.
STREAM_WATCH = """(() => {
  const Native = window.EventSource;
  window.EventSource = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("initial", () => {
        document.documentElement.dataset.stream = "initial";
      });
    }
  };
})();"""


def dismiss_consent(page: Page) -> None:
    """The cookie banner: she refuses (one tap, as easy as accepting)."""
    refuse = page.get_by_role("button", name="Tout refuser")
    if refuse.is_visible():
        try:
            refuse.click(timeout=5000)
        except PlaywrightError:
            # Seen on a phone viewport over the card form: the page's content is reported as
            # covering the fixed banner for a moment; the button is there, press it.
            refuse.dispatch_event("click")


def sign_in(page: Page, live_server: str, db: Database, email: str = EMAIL) -> None:
    page.goto(f"{live_server}/compte")
    dismiss_consent(page)
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_role("button", name="Recevoir mon code").click()
    page.get_by_label("Code reçu par e-mail").fill(mailed_code(db, email))
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Mon compte", exact=True)).to_be_visible()


def test_phone_cart_follows_her_to_the_desktop_then_click_and_collect(
    live_server: str,
    phone: Page,
    desktop: Page,
    db: Database,
    shop: Shop,
    screenshot: Callable[[Page, str], Path],
) -> None:
    # On her phone: search, choose a size, add it, leave.
    phone.goto(f"{live_server}/")
    dismiss_consent(phone)
    search = phone.get_by_role("search")
    search.locator("input[name=q]").fill("pantalon noir")
    search.get_by_role("button").last.click()
    phone.get_by_role("link", name=re.compile("Pantalon noir")).first.click()
    phone.get_by_role("link", name="S", exact=True).click()
    phone.get_by_role("button", name=re.compile(r"^Ajouter au panier")).click()
    expect(phone.get_by_role("heading", name="Mon panier")).to_be_visible()
    expect(phone.get_by_test_id("cart-lines")).to_contain_text("Pantalon noir")
    # She signs in on the phone: its guest cart becomes hers.
    sign_in(phone, live_server, db)

    # On her desktop, another device: the same email, the same cart.
    sign_in(desktop, live_server, db)
    screenshot(desktop, "storefront-account-desktop")
    desktop.goto(f"{live_server}/panier")
    lines = desktop.get_by_test_id("cart-lines")
    expect(lines).to_contain_text("Pantalon noir")
    expect(lines).to_contain_text("Quantité : 1")

    # Live sync: the phone shows the cart, the desktop adds one more, the phone follows.
    phone.add_init_script(STREAM_WATCH)
    phone.goto(f"{live_server}/panier")
    expect(phone.get_by_test_id("cart-lines")).to_contain_text("Quantité : 1")
    # The phone's stream is open: its first event came, so the server follows the cart for it.
    expect(phone.locator("html")).to_have_attribute("data-stream", "initial")
    desktop.get_by_role("button", name=re.compile("^Un de plus")).click()
    expect(desktop.get_by_test_id("cart-lines")).to_contain_text("Quantité : 2")
    expect(phone.get_by_test_id("cart-lines")).to_contain_text("Quantité : 2", timeout=5000)
    screenshot(phone, "storefront-cart-phone")
    screenshot(desktop, "storefront-cart-desktop")

    # Checkout on the desktop: click-and-collect in the store that has it.
    desktop.get_by_role("link", name="Commander").click()
    expect(desktop.get_by_role("heading", name="Commande", exact=True)).to_be_visible()
    expect(desktop.get_by_label("Adresse e-mail")).to_have_value(EMAIL)
    desktop.get_by_label("Retrait en magasin").check()
    desktop.locator(COLLECT_STORES).get_by_role("radio", name=re.compile("Parcours PAR-A")).check()
    screenshot(desktop, "storefront-checkout-desktop")
    desktop.get_by_role("button", name="Valider la commande").click()

    # Payment with the test provider.
    expect(desktop.get_by_role("heading", name="Paiement")).to_be_visible()
    desktop.get_by_label("Numéro de carte").fill("4242 4242 4242 4242")
    desktop.get_by_label("Date d'expiration (MM/AA)").fill(card_expiry_field().replace("/", ""))
    desktop.get_by_label("Cryptogramme (3 ou 4 chiffres)").fill("123")
    screenshot(desktop, "storefront-payment-desktop")
    desktop.get_by_role("button", name=re.compile("^Payer")).click()

    # Confirmation: the pickup QR code, the store and the promise, the timeline.
    expect(desktop.get_by_text("Merci ! Votre paiement est accepté.")).to_be_visible()
    expect(desktop.locator(".pickup svg")).to_be_visible()
    expect(desktop.get_by_test_id("pickup-code")).to_have_text(re.compile(r"^\d{6}$"))
    expect(desktop.get_by_text("Parcours PAR-A").first).to_be_visible()
    expect(desktop.get_by_test_id("timeline")).to_contain_text("Paiement accepté")
    screenshot(desktop, "storefront-confirmation-desktop")
    # The phone's cart page learns the cart became an order.
    expect(phone.get_by_text("Votre panier est vide.")).to_be_visible(timeout=5000)
    # The same order on her phone (her profile's), with its QR code.
    order_url = desktop.url.split("?")[0]
    phone.goto(order_url)
    expect(phone.locator(".pickup svg")).to_be_visible()
    screenshot(phone, "storefront-confirmation-phone")


def test_phone_checkout_and_a_declined_card(
    live_server: str,
    phone: Page,
    db: Database,
    shop: Shop,
    screenshot: Callable[[Page, str], Path],
) -> None:
    phone.goto(f"{live_server}/produits/{shop.product_slug}?variant={shop.variants['S']}")
    dismiss_consent(phone)
    phone.get_by_role("button", name=re.compile(r"^Ajouter au panier")).click()
    phone.get_by_role("link", name="Commander").click()
    phone.get_by_label("Adresse e-mail").fill(EMAIL)
    phone.locator(COLLECT_STORES).get_by_role("radio", name=re.compile("Parcours PAR-A")).check()
    screenshot(phone, "storefront-checkout-phone")
    phone.get_by_role("button", name="Valider la commande").click()
    phone.get_by_label("Numéro de carte").fill("4000 0000 0000 0002")
    phone.get_by_label("Date d'expiration (MM/AA)").fill(card_expiry_field())
    phone.get_by_label("Cryptogramme (3 ou 4 chiffres)").fill("123")
    phone.get_by_role("button", name=re.compile("^Payer")).click()
    expect(phone.get_by_role("alert")).to_contain_text("Paiement refusé par votre banque")
    expect(phone.get_by_label("Numéro de carte")).to_have_value("")
    screenshot(phone, "storefront-payment-phone")
