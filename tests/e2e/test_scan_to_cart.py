"""Scan to cart as a shopper lives it on her phone: a poster's QR code opens the product, one tap
puts it in her cart with the poster as its touchpoint, and a code carries the cart to a till."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from parcours.carts.models import CartLine
from parcours.core.db import Database
from parcours.core.settings import Settings
from parcours.core.uow import UnitOfWork
from parcours.demo.loader import load_demo


@pytest.fixture
def demo(database_url: str, live_server: str) -> None:
    load_demo(Settings(database_url=database_url), issue_keys=False)


@pytest.mark.usefixtures("demo")
def test_poster_scan_adds_to_cart_in_one_tap_then_hands_off(
    live_server: str, phone: Page, db: Database, screenshot: Callable[[Page, str], Path]
) -> None:
    phone.goto(f"{live_server}/produits/pantalon-chino-noir")
    variant = phone.get_by_role("link", name="40", exact=True).get_attribute("href")
    assert variant is not None
    variant_id = variant.split("variant=")[1]
    # What the phone's camera opens when it reads the poster's code.
    phone.goto(f"{live_server}/q/{variant_id}?m=poster&c=soldes-hiver")
    expect(phone.get_by_text("Vu sur une affiche ? Ajoutez-le en un geste")).to_be_visible()
    screenshot(phone, "scan-to-cart-phone")
    phone.get_by_role("button", name=re.compile(r"^Ajouter au panier")).click()

    expect(phone.get_by_role("heading", name="Mon panier")).to_be_visible()
    expect(phone.get_by_role("status").filter(has_text="C'est dans votre panier.")).to_be_visible()
    line = phone.locator("[data-testid=cart-lines] li").first
    expect(line).to_contain_text("Pantalon chino noir")
    expect(line).to_contain_text("scanné sur un imprimé")
    screenshot(phone, "cart-phone")
    with UnitOfWork(db, read_only=True) as uow:
        # The demo's shoppers have lines of their own: this phone's is the print one.
        stored = uow.session.scalars(select(CartLine).where(CartLine.touchpoint == "print")).one()
        assert (stored.variant_id, stored.touchpoint, stored.medium, stored.campaign) == (
            variant_id,
            "print",
            "poster",
            "soldes-hiver",
        )

    phone.get_by_role("button", name="Payer en caisse ou sur une borne").click()
    code = phone.get_by_test_id("handoff-code")
    expect(code).to_have_text(re.compile(r"^\d{3} \d{3}$"))
    expect(phone.locator(".qr svg")).to_be_visible()
    screenshot(phone, "cart-handoff-phone")
