"""Her account on a phone: the loyalty card as a QR code, a consent changed, her data
downloaded, then her account deleted."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect
from tests.carts.conftest import mailed_code
from tests.conftest import Shop, card_expiry_field

from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.models import ConsentPurpose, IdentifierKind
from parcours.payments import service as payments

EMAIL = "ines.petit@exemple.fr"


def dismiss_consent(page: Page) -> None:
    """The cookie banner: she refuses (one tap, as easy as accepting)."""
    refuse = page.get_by_role("button", name="Tout refuser")
    if refuse.is_visible():
        try:
            refuse.click(timeout=5000)
        except PlaywrightError:
            refuse.dispatch_event("click")  # see test_checkout.dismiss_consent


def sign_in(page: Page, live_server: str, db: Database, email: str = EMAIL) -> None:
    page.goto(f"{live_server}/compte")
    dismiss_consent(page)
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_role("button", name="Recevoir mon code").click()
    page.get_by_label("Code reçu par e-mail").fill(mailed_code(db, email))
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Mon compte", exact=True)).to_be_visible()


def test_loyalty_card_consents_download_and_deletion(
    live_server: str,
    phone: Page,
    db: Database,
    shop: Shop,
    screenshot: Callable[[Page, str], Path],
) -> None:
    phone.goto(f"{live_server}/compte")
    dismiss_consent(phone)
    screenshot(phone, "storefront-sign-in-phone")
    sign_in(phone, live_server, db)
    expect(phone.locator(".loyalty svg")).to_be_visible()
    number = phone.get_by_test_id("loyalty-number").inner_text()
    assert number.startswith("PC")

    phone.get_by_role("switch", name="Offres par e-mail").check()
    phone.get_by_role("button", name="Enregistrer mes choix").click()
    expect(phone.get_by_text("Vos choix sont enregistrés.")).to_be_visible()
    expect(phone.get_by_role("switch", name="Offres par e-mail")).to_be_checked()
    screenshot(phone, "storefront-account-phone")
    with UnitOfWork(db, read_only=True) as uow:
        profile = customers.find_profile(uow=uow, kind=IdentifierKind.EMAIL, value=EMAIL)
        assert profile is not None
        profile_id = profile.id
        consents = customers.current_consents(uow=uow, profile_id=profile_id)
        assert consents[ConsentPurpose.MARKETING_EMAIL].granted is True

    with phone.expect_download() as downloading:
        phone.get_by_role("link", name="Télécharger mes données").click()
    document = json.loads(Path(downloading.value.path()).read_text(encoding="utf-8"))
    assert any(identifier["value"] == EMAIL for identifier in document["identifiers"])

    phone.get_by_role("link", name="Supprimer mon compte").click()
    phone.get_by_label("Je comprends que c'est définitif").check()
    phone.get_by_role("button", name="Supprimer définitivement mon compte").click()
    expect(phone.get_by_role("heading", name="Votre compte est supprimé")).to_be_visible()
    with UnitOfWork(db, read_only=True) as uow:
        assert customers.find_profile(uow=uow, kind=IdentifierKind.EMAIL, value=EMAIL) is None
        assert customers.resolve_profile(uow=uow, profile_id=profile_id).erased_at is not None
    phone.goto(f"{live_server}/compte")
    expect(phone.get_by_role("button", name="Recevoir mon code")).to_be_visible()


def test_sign_in_and_pay_link_on_a_desktop(
    live_server: str,
    desktop: Page,
    phone: Page,
    db: Database,
    shop: Shop,
    screenshot: Callable[[Page, str], Path],
) -> None:
    desktop.goto(f"{live_server}/compte")
    dismiss_consent(desktop)
    screenshot(desktop, "storefront-sign-in-desktop")
    with UnitOfWork(db) as uow:
        link = payments.create_payment_link(
            uow=uow,
            reference="ord_link_demo",
            amount=5990,
            currency="EUR",
            description="Commande 7K2QF-3XH1A",
            channel="store",
            store_id=shop.store_a,
        )
        uow.commit()
        token = link.token
    for page, name in ((desktop, "desktop"), (phone, "phone")):
        page.goto(f"{live_server}/payer/{token}")
        dismiss_consent(page)
        expect(page.get_by_text("59,90 €", exact=True)).to_be_visible()
        screenshot(page, f"storefront-pay-link-{name}")
    phone.get_by_label("Numéro de carte").fill("4242 4242 4242 4242")
    phone.get_by_label("Date d'expiration (MM/AA)").fill(card_expiry_field())
    phone.get_by_label("Cryptogramme (3 ou 4 chiffres)").fill("123")
    phone.get_by_role("button", name="Payer 59,90 €").click()
    expect(phone.get_by_role("heading", name="Payé")).to_be_visible()
