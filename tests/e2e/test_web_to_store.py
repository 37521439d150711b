"""Web-to-store as a shopper lives it, in Chromium on a phone and a desktop, on the demo retailer:
find a product, see which nearby stores have her size now and when she could collect it, find a
store and whether it is open."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from parcours.core.settings import Settings
from parcours.demo.loader import load_demo


@pytest.fixture
def demo(database_url: str, live_server: str) -> None:
    load_demo(Settings(database_url=database_url), issue_keys=False)


@pytest.mark.usefixtures("demo")
def test_search_then_see_stock_in_lyon_stores(
    live_server: str, phone: Page, screenshot: Callable[[Page, str], Path]
) -> None:
    phone.goto(live_server)
    screenshot(phone, "home-phone")
    phone.get_by_label("Rechercher un produit").fill("pantalon noir")
    phone.get_by_role("button", name="Rechercher").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("pantalon noir")
    results = phone.locator(".tile .name")
    expect(results.first).to_be_visible()
    assert any("antalon" in name and "oir" in name for name in results.all_inner_texts())
    screenshot(phone, "search-phone")

    phone.get_by_role("link", name="Pantalon chino noir").first.click()
    expect(phone.get_by_role("heading", name="Pantalon chino noir")).to_be_visible()
    phone.get_by_role("link", name="40", exact=True).click()
    expect(phone.get_by_text("Réf. FCHI-NOI-40")).to_be_visible()
    phone.get_by_label("Code postal ou ville").fill("69002")
    phone.get_by_role("button", name="Voir les magasins").click()
    expect(phone.get_by_text("Magasins les plus proches de 69002 Lyon")).to_be_visible()
    first_store = phone.locator("[data-testid=availability] .store").first
    expect(first_store.locator("h3")).to_have_text("Parcours Lyon République")
    # The seeded demo stock (demo_stock's fixed seed) leaves one of these at Lyon République.
    expect(first_store.locator(".level")).to_have_text("Plus que 1")
    expect(first_store.locator(".collect")).to_have_text(re.compile(r"^Retrait "))
    screenshot(phone, "product-availability-phone")

    # The place is remembered for the next product she opens.
    phone.goto(f"{live_server}/produits/pantalon-chino-noir")
    expect(phone.get_by_text("Magasins les plus proches de 69002 Lyon")).to_be_visible()


@pytest.mark.usefixtures("demo")
def test_product_page_carries_schema_org_and_print_attribution(
    live_server: str, desktop: Page, screenshot: Callable[[Page, str], Path]
) -> None:
    desktop.goto(f"{live_server}/produits/pantalon-chino-noir?utm_source=poster&utm_medium=print")
    expect(desktop.get_by_text("Vu sur une affiche ? Ajoutez-le en un geste")).to_be_visible()
    data = json.loads(desktop.locator("script[type='application/ld+json']").inner_text())
    assert data["@type"] == "Product"
    assert data["offers"]["priceCurrency"] == "EUR"
    assert len(data["gtin13"]) == 13
    levels = desktop.locator("[data-testid=availability] .level").all_inner_texts()
    assert len(levels) == 8  # the demo's eight stores, nearest first
    assert all(text.strip() for text in levels)
    screenshot(desktop, "product-availability-desktop")


@pytest.mark.usefixtures("demo")
def test_store_locator_by_city_and_unknown_place(
    live_server: str, desktop: Page, screenshot: Callable[[Page, str], Path]
) -> None:
    desktop.goto(f"{live_server}/magasins")
    desktop.get_by_label("Code postal ou ville").fill("Bordeaux")
    desktop.get_by_role("button", name="Voir les magasins").click()
    first = desktop.locator(".store").first
    expect(first.locator("h3")).to_have_text("Parcours Bordeaux Sainte-Catherine")
    expect(first.locator(".open")).to_have_text(re.compile(r"^(Ouvert · ferme à|Fermé · ouvre)"))
    first.get_by_text("Horaires").click()
    expect(first.locator(".hours")).to_contain_text("Lundi")
    screenshot(desktop, "store-locator-desktop")

    desktop.get_by_label("Code postal ou ville").fill("Atlantide")
    desktop.get_by_role("button", name="Voir les magasins").click()
    expect(desktop.get_by_role("alert")).to_contain_text("Nous ne connaissons pas « Atlantide »")


@pytest.mark.usefixtures("demo")
def test_geolocation_finds_the_nearest_store(live_server: str, browser: object) -> None:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    context = browser.new_context(
        locale="fr-FR",
        geolocation={"latitude": 43.6045, "longitude": 1.4442},
        permissions=["geolocation"],
        viewport={"width": 390, "height": 844},
    )
    page = context.new_page()
    page.goto(f"{live_server}/magasins")
    page.get_by_role("button", name="Me localiser").click()
    expect(page.locator(".store h3").first).to_have_text("Parcours Toulouse Alsace-Lorraine")
    context.close()


@pytest.mark.usefixtures("demo")
def test_english_on_request(live_server: str, phone: Page) -> None:
    phone.goto(f"{live_server}/produits/pantalon-chino-noir?lang=en")
    expect(phone.get_by_role("heading", name="In-store availability")).to_be_visible()
    expect(phone.get_by_role("link", name="Français")).to_be_visible()
