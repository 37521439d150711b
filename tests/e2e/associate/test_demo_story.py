"""The demo retailer's associate story, as the README tells it: sign in as the demo associate,
scan Camille's loyalty card, see the trousers she looked at online yesterday; her colleague's
desk has click-and-collect orders waiting and a call for advice."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from parcours.core.settings import Settings
from parcours.demo.loader import DEMO_PASSWORD, load_demo


@pytest.fixture
def demo(database_url: str, live_server: str) -> None:
    load_demo(Settings(database_url=database_url), issue_keys=False)


@pytest.mark.at_midday  # "hier" and the desk's day so far need a day behind them
@pytest.mark.usefixtures("demo")
def test_the_demo_associate_recognises_camille_and_sees_her_desk(
    live_server: str, tablet: Page, screenshot: Callable[[Page, str], Path]
) -> None:
    tablet.goto(f"{live_server}/connexion?next=/associate/clients")
    tablet.get_by_label("Adresse e-mail").fill("associate@demo.parcours.dev")
    tablet.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    tablet.get_by_role("button", name="Se connecter").click()
    expect(tablet.get_by_test_id("acting-store")).to_contain_text("Paris Rivoli")

    # A handheld scanner types the card number and presses Enter.
    field = tablet.get_by_label("Nom, e-mail, téléphone ou carte de fidélité")
    field.fill("PC00001234")
    field.press("Enter")
    expect(tablet.get_by_role("heading", name="Camille Dupont")).to_be_visible()
    viewed = tablet.locator("li", has_text="Consulté").filter(has_text="hier")
    expect(viewed.first).to_contain_text("Pantalon")
    expect(tablet.get_by_role("link", name="Ouvrir en caisse")).to_be_visible()
    screenshot(tablet, "associate-demo-camille")

    tablet.get_by_role("link", name="Retraits", exact=True).click()
    expect(tablet.get_by_text("Hugo B.")).to_be_visible()  # ready on the shelf
    expect(tablet.get_by_text("Léa M.")).to_be_visible()  # paid, to prepare
    expect(tablet.locator("#advice-count")).to_have_text("1")  # Inès is waiting for advice
