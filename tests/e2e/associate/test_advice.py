"""Calls for an adviser on the store's tablets: a call from a kiosk or a known shopper's app
appears live with the product (and her name), the nav badge counts it, an associate takes it;
a tablet of another store never sees it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from tests.conftest import Shop
from tests.e2e.conftest import TABLET

from parcours.core.auth.models import KeyKind, StaffUser
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.models import ShopperSession
from parcours.stores import service as stores


@pytest.fixture
def other_tablet(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="fr-FR", **TABLET)  # type: ignore[arg-type]
    yield context.new_page()
    context.close()


def _known_shopper(live_server: str, key: str, db: Database) -> dict[str, str]:
    """The headers of Inès's phone: a shopper session that knows her profile."""
    headers = {"Authorization": f"Bearer {key}"}
    started = httpx.post(
        f"{live_server}/v1/shopper/sessions", json={"channel": "app"}, headers=headers
    )
    assert started.status_code == 201, started.text
    body = started.json()
    with UnitOfWork(db) as uow:
        profile = customers.identify(
            uow=uow,
            anonymous_id=body["anonymous_id"],
            traits={"email": "ines@example.com", "first_name": "Inès", "last_name": "Martin"},
            channel="app",
        )
        session = uow.session.scalars(
            select(ShopperSession).where(ShopperSession.anonymous_id == body["anonymous_id"])
        ).one()
        session.profile_id = profile.id
        uow.commit()
    return {**headers, "X-Shopper-Token": body["token"]}


def test_a_call_appears_live_and_one_associate_takes_it(
    live_server: str,
    tablet: Page,
    other_tablet: Page,
    shop: Shop,
    db: Database,
    api_key: Callable[[KeyKind], str],
    associate: Callable[..., str],
    sign_in: Callable[..., None],
    screenshot: Callable[[Page, str], Path],
) -> None:
    sign_in(tablet, associate(), "/associate/conseil")
    expect(tablet.get_by_test_id("advice-empty")).to_be_visible()
    # Another store's associate, on the same page of her own store.
    sign_in(
        other_tablet,
        associate("lea@boutique.example", name="Léa Petit", stores=frozenset({shop.store_b})),
        "/associate/produits",
    )
    expect(other_tablet.get_by_test_id("acting-store")).to_contain_text("Parcours PAR-B")

    key = api_key(KeyKind.PUBLISHABLE)
    # A kiosk's own software calls like any device: the storefront key and its shopper session.
    headers = {"Authorization": f"Bearer {key}"}
    started = httpx.post(
        f"{live_server}/v1/shopper/sessions", json={"channel": "app"}, headers=headers
    )
    kiosk = httpx.post(
        f"{live_server}/v1/locations/{shop.store_a}/advice-requests",
        json={"source": "kiosk", "variant_id": shop.variants["L"]},
        headers={**headers, "X-Shopper-Token": started.json()["token"]},
    )
    assert kiosk.status_code == 201, kiosk.text
    card = tablet.get_by_test_id(f"advice-{kiosk.json()['id']}")
    expect(card).to_contain_text("Pantalon noir")
    expect(card).to_contain_text("Taille L")
    expect(card).to_contain_text("Depuis une borne")
    expect(card.get_by_test_id("timer")).to_have_text(re.compile(r"^0:\d\d$"))
    expect(tablet.locator("#advice-count")).to_have_text("1")

    phone = _known_shopper(live_server, key, db)
    app_call = httpx.post(
        f"{live_server}/v1/locations/{shop.store_a}/advice-requests",
        json={"source": "app", "product_id": shop.product_id, "note": "Je cherche un 40"},
        headers=phone,
    )
    assert app_call.status_code == 201, app_call.text
    known = tablet.get_by_test_id(f"advice-{app_call.json()['id']}")
    expect(known.get_by_role("link", name="Inès Martin")).to_have_attribute(
        "href", f"/associate/clients/{app_call.json()['profile_id']}"
    )
    expect(known).to_contain_text("Je cherche un 40")
    expect(tablet.locator("#advice-count")).to_have_text("2")
    screenshot(tablet, "associate-advice-live")

    card.get_by_role("button", name="Je m'en occupe").click()
    card = tablet.get_by_test_id(f"advice-{kiosk.json()['id']}")
    expect(card.get_by_test_id("taken-by")).to_have_text("Vous vous en occupez")
    expect(tablet.locator("#advice-count")).to_have_text("1")
    screenshot(tablet, "associate-advice-taken")
    card.get_by_role("button", name="Terminé").click()
    expect(tablet.get_by_test_id(f"advice-{kiosk.json()['id']}")).to_have_count(0)

    # A colleague takes Inès's call from her own tablet: this one says who went.
    colleague = associate("nora@boutique.example", name="Nora Benali")
    with UnitOfWork(db) as uow:
        nora = uow.session.scalars(select(StaffUser.id).where(StaffUser.email == colleague)).one()
        stores.take_advice_request(uow=uow, request_id=app_call.json()["id"], staff_id=nora)
        uow.commit()
    tablet.reload()
    known = tablet.get_by_test_id(f"advice-{app_call.json()['id']}")
    expect(known.get_by_test_id("taken-by")).to_have_text("Prise par Nora Benali")

    # Store B's tablet heard nothing: no badge, and its list stays empty.
    expect(other_tablet.locator("#advice-count")).to_be_hidden()
    other_tablet.get_by_role("link", name="Conseil").click()
    expect(other_tablet.get_by_test_id("advice-empty")).to_be_visible()
    expect(other_tablet.get_by_text("Pantalon noir")).to_have_count(0)
