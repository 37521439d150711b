"""Journey 4: offline. A product page seen before opens with the network cut (the service worker
kept it); a page never seen shows the offline page, which says what still works. Also: the app
is installable (Chromium's own installability check finds nothing missing)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, expect
from tests.conftest import Shop
from tests.e2e.conftest import PHONE


def controlled(page: Page) -> None:
    """Wait until the service worker is active and controls this page."""
    page.evaluate("() => navigator.serviceWorker.ready")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=10_000)


def test_a_product_seen_before_opens_offline(
    browser: Browser, live_server: str, shop: Shop, screenshot: Callable[[Page, str], Path]
) -> None:
    context = browser.new_context(locale="fr-FR", **PHONE)  # type: ignore[arg-type]
    page = context.new_page()
    product_url = f"{live_server}/produits/{shop.product_slug}"
    page.goto(product_url)
    controlled(page)
    # The first visit happened before the worker existed: seeing the page again keeps a copy.
    page.reload()
    expect(page.get_by_role("heading", name="Pantalon noir", level=1)).to_be_visible()

    context.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", name="Pantalon noir", level=1)).to_be_visible()
    expect(page.get_by_text("59,90")).to_be_visible()

    page.goto(f"{live_server}/recherche?q=robe+rouge")
    expect(page.get_by_role("heading", name="Vous êtes hors ligne")).to_be_visible()
    expect(page.get_by_role("heading", name="Ce qui marche encore")).to_be_visible()
    page.get_by_role("region", name="Cookies : à vous de choisir").get_by_role(
        "button", name="Tout refuser"
    ).click()
    screenshot(page, "storefront-offline-phone")

    # Her cart is never served from a cache: offline, it is the offline page too.
    page.goto(f"{live_server}/panier")
    expect(page.get_by_role("heading", name="Vous êtes hors ligne")).to_be_visible()

    context.set_offline(False)
    page.goto(product_url)
    expect(page.get_by_role("heading", name="Pantalon noir", level=1)).to_be_visible()
    context.close()


def test_the_shop_is_installable(browser: Browser, live_server: str, shop: Shop) -> None:
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(f"{live_server}/")
    controlled(page)
    manifest = page.evaluate(
        """async () => {
            const link = document.querySelector('link[rel="manifest"]');
            return (await fetch(link.href)).json();
        }"""
    )
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/?source=pwa"
    session = context.new_cdp_session(page)
    errors = session.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # Playwright's contexts are incognito profiles, where Chromium never offers to install:
    # that one is about the test's browser, every other error would be about the shop.
    assert [e["errorId"] for e in errors if e["errorId"] != "in-incognito"] == []
    manifest_check = session.send("Page.getAppManifest")
    assert manifest_check["errors"] == []
    context.close()
