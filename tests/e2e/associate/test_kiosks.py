"""Kiosks ("Bornes"): an associate pairs store B's kiosk from her tablet with a one-time code typed
on the kiosk's screen, the kiosk works, she revokes it and its next tap says to ask an adviser.
The pages fit a phone and a desktop without sideways scrolling."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, expect
from tests.conftest import Shop
from tests.e2e.conftest import DESKTOP, PHONE

UNPAIRED = "Cette borne n'est pas encore appairée — demandez à un conseiller."


def _fits(page: Page) -> None:
    """No sideways scroll, no leaked template or None."""
    assert page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    text = page.locator("body").inner_text()
    assert "None" not in text
    assert "{{" not in text
    assert "{%" not in text


def test_pair_a_kiosk_use_it_and_revoke_it(
    live_server: str,
    tablet: Page,
    browser: Browser,
    shop: Shop,
    associate: Callable[..., str],
    sign_in: Callable[..., None],
    screenshot: Callable[[Page, str], Path],
) -> None:
    sign_in(tablet, associate(stores=frozenset({shop.store_b})), "/associate/bornes")
    expect(tablet.get_by_role("heading", name="Bornes du magasin")).to_be_visible()
    expect(tablet.get_by_test_id("no-kiosks")).to_be_visible()
    tablet.get_by_label("Nom de la borne").fill("Entrée")
    tablet.get_by_role("button", name="Obtenir un code").click()
    code = tablet.get_by_test_id("pairing-code").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    expect(tablet.get_by_test_id("pairing-link")).to_contain_text(
        f"/kiosk/PAR-B/appairer?code={code}"
    )
    _fits(tablet)
    screenshot(tablet, "associate-kiosks-tablet")

    for size, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        context = browser.new_context(locale="fr-FR", **size)  # type: ignore[arg-type]
        try:
            screen = context.new_page()
            screen.goto(f"{live_server}/kiosk/PAR-B")
            expect(screen.get_by_test_id("kiosk-unpaired")).to_contain_text(UNPAIRED)
            expect(screen.get_by_role("button", name="Appeler un conseiller")).to_have_count(0)
            _fits(screen)
            screenshot(screen, f"storefront-kiosk-unpaired-{name}")
            screen.goto(f"{live_server}/kiosk/PAR-B?lang=en")
            expect(screen.get_by_test_id("kiosk-unpaired")).to_contain_text(
                "This kiosk is not paired yet — please ask an adviser."
            )
            _fits(screen)
        finally:
            context.close()

    context = browser.new_context(locale="fr-FR", **DESKTOP)  # type: ignore[arg-type]
    try:
        kiosk = context.new_page()
        kiosk.goto(f"{live_server}/kiosk/PAR-B/appairer?code=ZZZZ-ZZZZ")
        kiosk.get_by_role("button", name="Appairer cette borne").click()
        expect(kiosk.get_by_role("alert")).to_contain_text("Ce code n'est pas valable")
        _fits(kiosk)
        screenshot(kiosk, "storefront-kiosk-unpaired")
        kiosk.get_by_label("Code d'appairage").fill(code.lower())
        kiosk.get_by_role("button", name="Appairer cette borne").click()
        expect(kiosk.get_by_role("heading", name="Tout notre catalogue, ici")).to_be_visible()
        kiosk.get_by_role("button", name="Appeler un conseiller").click()
        expect(kiosk.get_by_test_id("adviser-coming")).to_contain_text("Un conseiller arrive.")
        # A second call at once: the kiosk is one device, and says when to call again.
        kiosk.get_by_role("button", name="Appeler un conseiller").click()
        expect(
            kiosk.get_by_text("Un conseiller vient d'être appelé depuis cette borne")
        ).to_be_visible()
        expect(kiosk.get_by_test_id("retry-after")).to_contain_text("Vous pourrez rappeler dans")
        _fits(kiosk)
        screenshot(kiosk, "storefront-kiosk-adviser-wait")

        tablet.goto(f"{live_server}/associate/bornes")
        row = tablet.get_by_test_id("kiosks").get_by_role("listitem")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Entrée")
        expect(row).to_contain_text("Appairée le")
        screenshot(tablet, "associate-kiosks-paired")
        row.get_by_role("button", name="Révoquer").click()
        expect(tablet.get_by_role("status")).to_contain_text("ne peut plus rien faire")

        kiosk.goto(f"{live_server}/kiosk/PAR-B")
        expect(kiosk.get_by_test_id("kiosk-unpaired")).to_contain_text(UNPAIRED)
    finally:
        context.close()


def test_the_kiosks_page_fits_a_phone(
    live_server: str,
    phone: Page,
    shop: Shop,
    associate: Callable[..., str],
    sign_in: Callable[..., None],
    screenshot: Callable[[Page, str], Path],
) -> None:
    sign_in(phone, associate(stores=frozenset({shop.store_b})), "/associate/bornes")
    phone.get_by_label("Nom de la borne").fill("Rayon homme, au fond à gauche")
    phone.get_by_role("button", name="Obtenir un code").click()
    expect(phone.get_by_test_id("pairing-code")).to_be_visible()
    _fits(phone)
    screenshot(phone, "associate-kiosks-phone")
    phone.goto(f"{live_server}/associate/bornes?lang=en")
    expect(phone.get_by_role("heading", name="Store kiosks")).to_be_visible()
    expect(phone.get_by_text("Waiting for its code")).to_be_visible()
    _fits(phone)
    screenshot(phone, "associate-kiosks-phone-en")
