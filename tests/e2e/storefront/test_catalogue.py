"""The catalogue as a shopper uses it on the demo retailer, on a phone and on a desktop: browse a
department and narrow it, search with suggestions, get help when nothing matches, read a
product page, find it again on the home page, find a store."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from parcours.core.settings import Settings
from parcours.demo.loader import load_demo

Shot = Callable[[Page, str], Path]
DEVICES = ["phone", "desktop"]


@pytest.fixture
def demo(database_url: str, live_server: str) -> None:
    load_demo(Settings(database_url=database_url), issue_keys=False)


def _refuse_cookies(page: Page) -> None:
    """The consent banner covers the bottom of a phone screen: answer it as a shopper would."""
    refuse = page.get_by_role("button", name="Tout refuser")
    if refuse.is_visible():
        refuse.click()


def _euros(text: str) -> float:
    digits = re.sub(r"[^\d,]", "", text.split("\n")[-1]).replace(",", ".")
    return float(digits)


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("device", DEVICES)
def test_browse_a_department_filter_and_sort(
    live_server: str, device: str, request: pytest.FixtureRequest, screenshot: Shot
) -> None:
    page: Page = request.getfixturevalue(device)
    page.goto(f"{live_server}/rayons")
    _refuse_cookies(page)
    page.get_by_role("link", name="Pantalons").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pantalons")
    page.wait_for_load_state()  # catalogue.js has run: the panel is open on a wide screen
    count = page.get_by_role("status").filter(has_text="produit(s)")
    expect(count).to_be_visible()
    filters = page.locator("summary", has_text="Filtrer")
    if page.get_by_role("group", name="Taille").is_hidden():
        filters.click()  # folded on a phone
    page.get_by_role("group", name="Taille").get_by_label("38", exact=False).first.click()
    expect(page).to_have_url(re.compile(r"taille=38"))
    expect(page.get_by_role("group", name="Taille").get_by_label("38").first).to_be_checked()
    # click, not check: the list (and the box) is swapped for the new one as soon as it changes.
    page.get_by_label(re.compile(r"Disponible dans mon magasin")).click()
    expect(page).to_have_url(re.compile(r"magasin=loc_"))
    expect(page.get_by_label(re.compile(r"Disponible dans mon magasin"))).to_be_checked()
    page.get_by_label("Trier par").select_option("prix-croissant")
    expect(page).to_have_url(re.compile(r"tri=prix-croissant"))
    prices = [_euros(t) for t in page.locator(".results .tile .price").all_inner_texts()]
    assert prices
    assert prices == sorted(prices)
    expect(page.get_by_role("link", name="Retirer le filtre 38")).to_be_visible()
    screenshot(page, f"storefront-category-{device}")

    # The URL is shareable: opened afresh, it shows the same list.
    url = page.url
    page.goto(url)
    assert [_euros(t) for t in page.locator(".results .tile .price").all_inner_texts()] == prices

    page.goto(f"{live_server}/rayons/femme-pantalons?taille=38&prix_max=1")
    expect(
        page.get_by_role("heading", name="Aucun produit ne correspond à ces filtres")
    ).to_be_visible()
    page.get_by_role("link", name="Retirer les filtres").click()
    expect(page).to_have_url(re.compile(r"/rayons/femme-pantalons$"))


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("device", DEVICES)
def test_search_with_suggestions_and_zero_results(
    live_server: str, device: str, request: pytest.FixtureRequest, screenshot: Shot
) -> None:
    page: Page = request.getfixturevalue(device)
    page.goto(f"{live_server}/")
    _refuse_cookies(page)
    box = page.get_by_role("combobox", name="Rechercher un produit")
    box.press_sequentially("pant", delay=40)
    listbox = page.get_by_role("listbox")
    expect(listbox).to_be_visible()
    options = listbox.get_by_role("option")
    expect(options.first).to_contain_text("Pantalons")
    assert options.count() <= 8
    box.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", re.compile(r"-0$"))
    box.press("Escape")
    expect(listbox).to_be_hidden()
    box.press_sequentially("alon noir", delay=20)
    expect(listbox.get_by_role("option", name=re.compile("Pantalon chino noir"))).to_be_visible()
    screenshot(page, f"storefront-search-suggestions-{device}")
    box.press("Enter")  # nothing highlighted: the search itself
    expect(page.get_by_role("heading", level=1)).to_contain_text("pantalon noir")
    expect(page.locator(".tile .name").first).to_be_visible()
    screenshot(page, f"storefront-search-{device}")

    box = page.get_by_role("combobox", name="Rechercher un produit")
    box.fill("pantalon chino n")
    expect(page.get_by_role("option", name=re.compile("Pantalon chino noir"))).to_be_visible()
    while page.locator("[role=option][aria-selected=true]").count() == 0 or "chino noir" not in (
        page.locator("[role=option][aria-selected=true]").inner_text().lower()
    ):
        box.press("ArrowDown")
    box.press("Enter")
    expect(page.get_by_role("heading", name="Pantalon chino noir")).to_be_visible()

    page.goto(f"{live_server}/recherche?q=zzzz")
    expect(page.get_by_role("heading", level=1)).to_have_text("Aucun résultat pour « zzzz »")
    expect(
        page.get_by_role("navigation", name="Nos rayons les plus fournis").get_by_role("link").first
    ).to_be_visible()
    expect(page.get_by_role("link", name="Trouver un magasin")).to_be_visible()
    screenshot(page, f"storefront-search-empty-{device}")

    page.goto(f"{live_server}/recherche?q=pantalom")
    page.get_by_role("link", name="pantalon", exact=True).click()
    expect(page.locator(".tile").first).to_be_visible()


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("device", DEVICES)
def test_product_page_then_recently_viewed_on_home(
    live_server: str, device: str, request: pytest.FixtureRequest, screenshot: Shot
) -> None:
    page: Page = request.getfixturevalue(device)
    page.goto(f"{live_server}/")
    # The list of products she viewed is personalisation: kept only with her consent.
    page.get_by_role("button", name="Tout accepter").click()
    expect(page.get_by_text("Les produits que vous consultez apparaîtront ici")).to_be_visible()
    expect(page.get_by_role("heading", name="Nouveautés")).to_be_visible()

    page.goto(f"{live_server}/produits/pantalon-chino-noir")
    page.get_by_role("link", name="40", exact=True).click()
    expect(page.get_by_test_id("delivery")).to_have_text(
        re.compile(r"Livraison estimée le \w+ \d+ \w+")
    )
    reviews = page.locator("#avis")
    expect(reviews.get_by_role("heading", name="Avis")).to_be_visible()
    expect(reviews).to_contain_text("Aucun avis")
    expect(page.get_by_role("button", name="Ajouter au panier · 40")).to_be_visible()
    screenshot(page, f"storefront-product-{device}")

    page.goto(f"{live_server}/")
    recent = page.get_by_role("region", name="Vus récemment")
    expect(recent.get_by_role("link", name=re.compile("Pantalon chino noir"))).to_be_visible()
    screenshot(page, f"storefront-home-{device}")
    recent.get_by_role("button", name="Effacer l'historique").click()
    expect(recent.get_by_text("Les produits que vous consultez apparaîtront ici")).to_be_visible()


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("device", DEVICES)
def test_store_locator_is_usable(
    live_server: str, device: str, request: pytest.FixtureRequest, screenshot: Shot
) -> None:
    page: Page = request.getfixturevalue(device)
    page.goto(f"{live_server}/magasins?q=Lyon")
    _refuse_cookies(page)
    first = page.locator(".store").first
    expect(first.get_by_role("link", name=re.compile(r"^Voir sur la carte"))).to_have_attribute(
        "href", re.compile(r"^https://www\.openstreetmap\.org/\?mlat=")
    )
    expect(first.get_by_role("link", name=re.compile(r"^Itinéraire vers"))).to_be_visible()
    expect(first.get_by_role("link", name=re.compile(r"^Appeler"))).to_have_attribute(
        "href", re.compile(r"^tel:")
    )
    first.locator("summary", has_text="Horaires").focus()
    page.keyboard.press("Enter")  # a summary opens from the keyboard
    expect(first.get_by_role("rowheader", name="Lundi")).to_be_visible()
    screenshot(page, f"storefront-stores-{device}")


@pytest.mark.usefixtures("demo")
def test_recently_viewed_is_not_kept_without_personalisation_consent(
    live_server: str, phone: Page
) -> None:
    phone.goto(f"{live_server}/")
    _refuse_cookies(phone)
    phone.goto(f"{live_server}/produits/pantalon-chino-noir")
    expect(phone.get_by_role("heading", name="Pantalon chino noir")).to_be_visible()
    phone.goto(f"{live_server}/")
    recent = phone.get_by_role("region", name="Vus récemment")
    expect(recent.get_by_text("Les produits que vous consultez apparaîtront ici")).to_be_visible()
    assert phone.evaluate("localStorage.getItem('parcours.recent.v1')") is None
