"""The associate app's frame: sign in, the store she acts for on every page, choosing a store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect
from tests.conftest import Shop

from parcours.core.auth.models import Role


def test_an_associate_lands_on_her_store(
    live_server: str,
    tablet: Page,
    associate: Callable[..., str],
    sign_in: Callable[..., None],
    screenshot: Callable[[Page, str], Path],
) -> None:
    sign_in(tablet, associate())
    expect(tablet).to_have_url(f"{live_server}/associate")
    expect(tablet.get_by_role("heading", name="Bonjour Awa Diallo")).to_be_visible()
    expect(tablet.get_by_test_id("acting-store")).to_contain_text("Parcours PAR-A")
    expect(tablet.get_by_role("link", name="Caisse", exact=True)).to_be_visible()
    screenshot(tablet, "associate-home-tablet")


def test_a_manager_chooses_the_store_first_and_keeps_it(
    live_server: str,
    tablet: Page,
    shop: Shop,
    associate: Callable[..., str],
    sign_in: Callable[..., None],
    screenshot: Callable[[Page, str], Path],
) -> None:
    email = associate("claire@boutique.example", name="Claire Martin", role=Role.MANAGER)
    sign_in(tablet, email)
    expect(tablet).to_have_url(f"{live_server}/associate/magasin?next=/associate")
    expect(tablet.get_by_text("Parcours WH")).to_have_count(0)  # a warehouse sells nothing
    screenshot(tablet, "associate-choose-store-tablet")
    tablet.get_by_label("Parcours PAR-B").check()
    tablet.get_by_role("button", name="Continuer").click()
    expect(tablet.get_by_test_id("acting-store")).to_contain_text("Parcours PAR-B")
    tablet.goto(f"{live_server}/associate?lang=en")
    expect(tablet.get_by_role("heading", name="Hello Claire Martin")).to_be_visible()
    expect(tablet.get_by_test_id("acting-store")).to_contain_text("Parcours PAR-B")
