"""The till on the associate's tablet: her phone's cart opened by its code and paid in cash with
change, the ticket printed and mailed; a sale made while the network is down, sent once when it
is back; a payment link paid on her phone while the till waits."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from tests.conftest import Shop, sandbox_card

from parcours.core.auth.models import KeyKind
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.inventory import service as inventory
from parcours.loyalty import service as loyalty
from parcours.notifications.models import Message
from parcours.orders.models import Order


def _orders(db: Database) -> list[Order]:
    with UnitOfWork(db, read_only=True) as uow:
        rows = list(uow.session.scalars(select(Order).order_by(Order.id)))
        uow.session.expunge_all()
        return rows


def _phone_cart(live_server: str, key: str, shop: Shop) -> tuple[str, str]:
    """A shopper's cart on her phone (one S, one M) and the 6-digit code it shows."""
    with httpx.Client(base_url=live_server, headers={"Authorization": f"Bearer {key}"}) as api:
        token = api.post("/v1/shopper/sessions", json={"channel": "app"}).json()["token"]
        api.headers["X-Shopper-Token"] = token
        cart = api.get("/v1/me/cart").json()
        for size in ("S", "M"):
            added = api.post(
                f"/v1/carts/{cart['id']}/lines", json={"variant_id": shop.variants[size]}
            )
            assert added.status_code == 201, added.text
        handoff = api.post(f"/v1/carts/{cart['id']}/handoff")
        assert handoff.status_code == 201, handoff.text
        return cart["id"], handoff.json()["code"]


def _known_customer(db: Database, email: str) -> str:
    with UnitOfWork(db) as uow:
        profile = customers.identify(
            uow=uow,
            traits={"email": email, "first_name": "Jeanne", "last_name": "Martin"},
            channel="web",
            trusted=True,
        )
        uow.commit()
        return profile.id


def _promo_codes(db: Database) -> None:
    with UnitOfWork(db) as uow:
        loyalty.create_promo_code(uow=uow, code="MERCI10", kind="percent", value=10)
        loyalty.create_promo_code(
            uow=uow,
            code="HIVER-FINI",
            kind="percent",
            value=20,
            starts_at=utcnow() - timedelta(days=30),
            ends_at=utcnow() - timedelta(days=1),
        )
        uow.commit()


def test_phone_cart_paid_in_cash_with_change_ticket_printed_and_mailed(
    live_server: str,
    tablet: Page,
    db: Database,
    shop: Shop,
    api_key: Callable[[KeyKind], str],
    associate: Callable[..., str],
    sign_in: Callable[..., None],
    screenshot: Callable[[Page, str], Path],
) -> None:
    _known_customer(db, "jeanne.martin@example.com")
    _promo_codes(db)
    cart_id, code = _phone_cart(live_server, api_key(KeyKind.PUBLISHABLE), shop)
    sign_in(tablet, associate(), "/associate/caisse")
    expect(tablet.get_by_role("heading", name="Caisse", exact=True)).to_be_visible()
    expect(tablet.get_by_label("Code article (scanner ou saisie)")).to_be_focused()

    tablet.get_by_label("Code du panier de son téléphone").fill(f"{code[:3]} {code[3:]}")
    tablet.get_by_role("button", name="Ouvrir son panier").click()
    expect(tablet.get_by_text("Panier de son téléphone ouvert")).to_be_visible()
    rows = tablet.locator("tr[data-line]")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Pantalon noir")
    expect(rows.first).to_contain_text("depuis son téléphone")

    # A handheld scanner types the GTIN and Enter: one more S.
    tablet.get_by_label("Code article (scanner ou saisie)").fill(shop.gtins["S"])
    tablet.keyboard.press("Enter")
    expect(tablet.get_by_text("PN-S ajouté.")).to_be_visible()
    expect(rows.first.locator("output")).to_have_text("2")
    tablet.get_by_role("button", name="Un Pantalon noir de moins").first.click()
    expect(rows.first.locator("output")).to_have_text("1")
    # She keeps the S only: the M comes off (her phone's cart too: it is the same cart).
    rows.nth(1).get_by_role("button", name="Retirer Pantalon noir").click()
    expect(rows).to_have_count(1)

    tablet.get_by_label("E-mail ou carte de fidélité").fill("jeanne.martin@example.com")
    tablet.get_by_role("button", name="Identifier").click()
    expect(tablet.get_by_test_id("till-customer")).to_contain_text("Jeanne Martin")
    expect(tablet.get_by_test_id("till-total")).to_have_text(re.compile(r"^59,90\s€$"))

    tablet.get_by_label("Code promo").fill("HIVER-FINI")
    tablet.get_by_role("button", name="Appliquer").click()
    expect(tablet.get_by_role("alert")).to_have_text("Ce code promo a expiré.")
    tablet.get_by_label("Code promo").fill("merci10")
    tablet.get_by_role("button", name="Appliquer").click()
    expect(tablet.get_by_text("Code MERCI10 appliqué")).to_be_visible()
    expect(tablet.get_by_test_id("till-discount")).to_have_text(re.compile(r"^− 5,99\s€$"))
    expect(tablet.get_by_test_id("till-total")).to_have_text(re.compile(r"^53,91\s€$"))
    screenshot(tablet, "associate-till-cart")

    tablet.get_by_role("button", name="Encaisser", exact=True).click()
    expect(tablet).to_have_url(re.compile(r"/associate/caisse/commandes/ord_"))
    expect(tablet.get_by_test_id("till-due")).to_have_text(re.compile(r"^53,91\s€$"))
    screenshot(tablet, "associate-till-payment")
    tablet.get_by_label("Montant reçu (€)").fill("100")
    tablet.get_by_role("button", name="Encaisser en espèces").click()
    expect(tablet.get_by_test_id("till-paid")).to_contain_text("Payée")
    expect(tablet.get_by_test_id("till-change")).to_have_text(re.compile(r"^46,09\s€$"))
    screenshot(tablet, "associate-till-paid")

    [order] = _orders(db)
    assert (order.channel, order.store_id, order.status, order.cart_id) == (
        "till",
        shop.store_a,
        "collected",
        cart_id,
    ), "her phone's cart itself became the order"
    assert order.profile_id is not None

    tablet.get_by_role("button", name="Envoyer le ticket").click()
    expect(tablet.get_by_text("Ticket envoyé par e-mail.")).to_be_visible()
    with UnitOfWork(db, read_only=True) as uow:
        message = uow.session.scalars(select(Message).where(Message.template == "receipt")).one()
    assert (message.to_address, message.status, message.reference) == (
        "jeanne.martin@example.com",
        "queued",
        order.id,
    )
    assert "53,91" in (message.body_text or "")

    tablet.get_by_role("link", name="Imprimer le ticket").click()
    ticket = tablet.locator("article.ticket")
    expect(ticket).to_contain_text("Parcours PAR-A")
    expect(ticket).to_contain_text(f"Commande {order.number}")
    expect(ticket).to_contain_text("Espèces")
    expect(ticket).to_contain_text("46,09")
    expect(ticket).to_contain_text("Vous avez été servie par Awa.")
    screenshot(tablet, "associate-till-ticket")
    tablet.emulate_media(media="print")
    expect(tablet.locator(".desk-bar")).to_be_hidden()
    expect(tablet.get_by_role("button", name="Imprimer")).to_be_hidden()


def test_offline_sale_is_sent_once_when_the_network_is_back(
    live_server: str,
    tablet: Page,
    db: Database,
    shop: Shop,
    associate: Callable[..., str],
    sign_in: Callable[..., None],
    screenshot: Callable[[Page, str], Path],
) -> None:
    sign_in(tablet, associate(), "/associate/caisse")
    for code in (shop.gtins["S"], "PN-M"):
        tablet.get_by_label("Code article (scanner ou saisie)").fill(code)
        tablet.keyboard.press("Enter")
        expect(tablet.get_by_text(re.compile(r"PN-[SM] ajouté\."))).to_be_visible()
    expect(tablet.locator("tr[data-line]")).to_have_count(2)

    tablet.context.set_offline(True)
    expect(tablet.get_by_text("Réseau indisponible")).to_be_visible()
    offline = tablet.get_by_role("region", name="Vente hors ligne")
    offline.get_by_label("Montant reçu (€)").fill("150")
    screenshot(tablet, "associate-till-offline-form")
    offline.get_by_role("button", name="Enregistrer la vente").click()
    expect(tablet.get_by_text("Vente enregistrée hors ligne. Rendu : 30,20")).to_be_visible()
    badge = tablet.locator("#pending-sales")
    expect(badge).to_have_text("1 vente en attente")
    expect(tablet.get_by_test_id("till-total")).to_be_hidden()  # that sale is done
    screenshot(tablet, "associate-till-offline")
    assert _orders(db) == []

    tablet.context.set_offline(False)
    expect(badge).to_be_hidden(timeout=10_000)
    [order] = _orders(db)
    assert (order.channel, order.store_id, order.total) == ("till", shop.store_a, 2 * shop.price)

    # Syncing again (the "online" event, a reload) sends nothing twice.
    tablet.evaluate("window.dispatchEvent(new Event('online'))")
    tablet.reload()
    expect(tablet.locator("tr[data-line]")).to_have_count(0)  # that cart became the order
    # The reload's own sync pass has run once ours, queued behind it on the page's lock, is done.
    tablet.evaluate(
        """async () => {
            const { syncSales } = await import("/static/associate/offline-till.js");
            await syncSales();
        }"""
    )
    assert len(_orders(db)) == 1


def test_refused_offline_sale_waits_to_be_checked(
    live_server: str,
    tablet: Page,
    db: Database,
    shop: Shop,
    associate: Callable[..., str],
    sign_in: Callable[..., None],
) -> None:
    sign_in(tablet, associate(), "/associate/caisse")
    tablet.get_by_label("Code article (scanner ou saisie)").fill("PN-M")
    tablet.keyboard.press("Enter")
    expect(tablet.locator("tr[data-line]")).to_have_count(1)
    # Meanwhile the last M is sold elsewhere: the queued sale will be refused.
    with UnitOfWork(db) as uow:
        inventory.set_stock(
            uow=uow,
            variant_id=shop.variants["M"],
            location_id=shop.store_a,
            on_hand=0,
            reason="count",
        )
        uow.commit()
    tablet.context.set_offline(True)
    offline = tablet.get_by_role("region", name="Vente hors ligne")
    offline.get_by_label("Terminal de paiement").check()
    offline.get_by_label("Référence du ticket terminal").fill("TPE-1")
    offline.get_by_role("button", name="Enregistrer la vente").click()
    tablet.context.set_offline(False)
    expect(tablet.locator("#pending-sales")).to_have_text("1 à vérifier", timeout=10_000)
    expect(tablet.get_by_role("region", name="Ventes hors ligne à vérifier")).to_contain_text(
        "insufficient_stock"
    )
    assert _orders(db) == []


def test_pay_by_link_on_her_phone(
    live_server: str,
    tablet: Page,
    db: Database,
    shop: Shop,
    api_key: Callable[[KeyKind], str],
    associate: Callable[..., str],
    sign_in: Callable[..., None],
    screenshot: Callable[[Page, str], Path],
) -> None:
    sign_in(tablet, associate(), "/associate/caisse")
    tablet.get_by_label("Code article (scanner ou saisie)").fill("PN-S")
    tablet.keyboard.press("Enter")
    tablet.get_by_role("button", name="Encaisser", exact=True).click()
    tablet.get_by_role("button", name="Afficher le QR code de paiement").click()
    expect(tablet.get_by_role("img", name="QR code du lien de paiement")).to_be_visible()
    expect(tablet.get_by_text("En attente de son paiement…")).to_be_visible()
    screenshot(tablet, "associate-till-link")
    token = re.search(r"lien=([^&]+)", tablet.url)
    assert token is not None

    # On her phone: a test card, then the link is paid.
    publishable = {"Authorization": f"Bearer {api_key(KeyKind.PUBLISHABLE)}"}
    with httpx.Client(base_url=live_server) as phone:
        card: Any = phone.post(
            "/v1/payments/test-provider/tokens",
            json=sandbox_card(),
            headers=publishable,
        )
        assert card.status_code == 201, card.text
        paid = phone.post(
            f"/v1/payment-links/{token.group(1)}/payments",
            json={"token": card.json()["token"]},
            headers={"Idempotency-Key": "phone-1"},
        )
        assert paid.status_code == 201, paid.text
    expect(tablet.get_by_test_id("till-paid")).to_contain_text("Payée", timeout=10_000)
    [order] = _orders(db)
    assert order.paid_at is not None
    assert order.status == "collected"


@pytest.mark.parametrize("lang", ["en"])
def test_the_till_speaks_english(
    live_server: str,
    tablet: Page,
    associate: Callable[..., str],
    sign_in: Callable[..., None],
    lang: str,
) -> None:
    sign_in(tablet, associate(), "/associate/caisse")
    tablet.goto(f"{live_server}/associate/caisse?lang={lang}")
    tablet.get_by_label("Item code (scanner or typed)").fill("NOPE")
    tablet.keyboard.press("Enter")
    expect(tablet.get_by_role("alert")).to_have_text("No item for sale has this code.")
