"""Clienteling on the tablet: recognise a customer who browsed online yesterday (search by name,
or her loyalty card typed by a handheld scanner) and see what she looked at, her orders and her
open cart; add a note; her consent decides whether her browsing is shown."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select
from tests.conftest import Shop, in_paris

from parcours.carts import service as carts
from parcours.carts.models import TouchpointKind
from parcours.core.auth.models import StaffUser
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.models import ConsentPurpose
from parcours.orders import service as orders
from parcours.orders.models import FulfilmentMethod
from parcours.tracking import service as tracking

CARD = "FID-2026-0042"


def _camille(db: Database, shop: Shop, *, personalisation: bool) -> str:
    """Camille Dupont: a loyalty card, a web order, two looks at the black trousers (size M)
    yesterday, and an open cart on her phone."""
    now = utcnow()
    with UnitOfWork(db) as uow:
        profile = customers.identify(
            uow=uow,
            user_id="u-camille",
            anonymous_id="a-phone",
            traits={
                "email": "camille.dupont@exemple.fr",
                "phone": "0612345642",
                "loyalty_card": CARD,
                "first_name": "Camille",
                "last_name": "Dupont",
                "city": "Paris",
            },
            channel="web",
            at=now - timedelta(days=200),
        )
        customers.record_consent(
            uow=uow,
            profile_id=profile.id,
            purpose=ConsentPurpose.PERSONALISATION,
            granted=personalisation,
            channel="web",
            wording_version="v1",
            at=now - timedelta(days=30),
        )
        # Yesterday afternoon in Paris: "hier" on the page, whatever the hour of the run.
        yesterday = in_paris(15, days=-1)
        for minutes, channel in ((0, "web"), (20, "app")):
            tracking.record_domain_event(
                uow=uow,
                name="Product Viewed",
                properties={"product_id": shop.product_id, "variant": shop.variants["M"]},
                channel=channel,
                occurred_at=yesterday + timedelta(minutes=minutes),
                anonymous_id="a-phone",
                profile_id=profile.id,
            )
        web = carts.open_cart(
            uow=uow, profile_id=profile.id, anonymous_id="a-phone", channel="web", currency="EUR"
        )
        carts.add_line(
            uow=uow,
            cart_id=web.id,
            variant_id=shop.variants["S"],
            quantity=1,
            touchpoint=carts.Touchpoint(TouchpointKind.WEB),
        )
        orders.place_order(
            uow=uow,
            cart_id=web.id,
            groups=[
                orders.FulfilmentRequest(FulfilmentMethod.CLICK_AND_COLLECT, store_id=shop.store_a)
            ],
            placement=orders.Placement(channel="web"),
            email="camille.dupont@exemple.fr",
        )
        phone_cart = carts.open_cart(
            uow=uow, profile_id=profile.id, anonymous_id="a-phone", channel="app", currency="EUR"
        )
        carts.add_line(
            uow=uow,
            cart_id=phone_cart.id,
            variant_id=shop.variants["M"],
            quantity=1,
            touchpoint=carts.Touchpoint(TouchpointKind.APP),
        )
        uow.commit()
        return profile.id


def test_she_browsed_yesterday_the_associate_finds_her_and_adds_a_note(
    live_server: str,
    tablet: Page,
    db: Database,
    shop: Shop,
    associate: Callable[..., str],
    sign_in: Callable[..., None],
    screenshot: Callable[[Page, str], Path],
) -> None:
    profile_id = _camille(db, shop, personalisation=True)
    colleague = associate("nora@boutique.example", name="Nora Benali")
    with UnitOfWork(db) as uow:
        nora = uow.session.scalars(select(StaffUser.id).where(StaffUser.email == colleague)).one()
        customers.add_customer_note(
            uow=uow,
            profile_id=profile_id,
            kind="note",
            text="Attend l'ourlet de son pantalon",
            author=nora,
            store_id=shop.store_a,
        )
        uow.commit()
    sign_in(tablet, associate(), "/associate/clients")
    field = tablet.get_by_label("Nom, e-mail, téléphone ou carte de fidélité")
    expect(field).to_be_focused()
    field.fill("dup")
    field.press("Enter")
    result = tablet.get_by_role("link", name=re.compile("Camille D\\."))
    expect(result).to_contain_text("c***@exemple.fr")
    expect(result).to_contain_text("+33*******42")
    expect(tablet.get_by_text("camille.dupont@exemple.fr")).to_have_count(0)
    screenshot(tablet, "associate-customers-search")

    result.click()
    expect(tablet).to_have_url(f"{live_server}/associate/clients/{profile_id}")
    expect(tablet.get_by_role("heading", name="Camille Dupont", level=1)).to_be_visible()
    viewed = tablet.locator(".timeline .entry.viewed")
    expect(viewed).to_have_count(1)  # two looks, one product
    expect(viewed).to_contain_text("Pantalon noir")
    expect(viewed).to_contain_text("hier")
    expect(viewed).to_contain_text("taille M")
    expect(viewed).to_contain_text("vu 2 fois")
    expect(tablet.locator(".timeline .entry.order")).to_contain_text("site web")
    expect(tablet.get_by_role("link", name="Ouvrir en caisse")).to_have_attribute(
        "href", re.compile(r"^/associate/caisse\?panier=crt_")
    )

    tablet.get_by_role("radio", name="Préférence").check()
    tablet.get_by_label("Ce que l'équipe doit savoir").fill("Taille 38, préfère le noir")
    tablet.get_by_role("button", name="Enregistrer").click()
    expect(tablet.get_by_role("status").filter(has_text="Note enregistrée")).to_be_visible()
    expect(tablet.locator(".notes")).to_contain_text("Taille 38, préfère le noir")
    expect(tablet.locator(".notes")).to_contain_text("Parcours PAR-A")
    # Her own note says "vous"; a colleague's says who wrote it.
    mine = tablet.locator(".notes li").filter(has_text="Taille 38")
    expect(mine).to_contain_text("Parcours PAR-A · vous")
    expect(mine).not_to_contain_text("Awa Diallo")
    theirs = tablet.locator(".notes li").filter(has_text="ourlet")
    expect(theirs).to_contain_text("Parcours PAR-A · Nora Benali")
    tablet.goto(f"{live_server}/associate/clients/{profile_id}")  # no flash message in the shot
    screenshot(tablet, "associate-customers-360")

    with UnitOfWork(db) as uow:
        recognised = [
            e
            for e in tracking.events_of_profile(uow=uow, profile_id=profile_id)[0]
            if e.event == "Customer Recognised"
        ]
    assert [(e.properties["method"], e.channel, e.store_id) for e in recognised] == [
        ("search", "store", shop.store_a)
    ]


def test_her_loyalty_card_typed_by_a_scanner_opens_her_profile(
    live_server: str,
    tablet: Page,
    db: Database,
    shop: Shop,
    associate: Callable[..., str],
    sign_in: Callable[..., None],
) -> None:
    profile_id = _camille(db, shop, personalisation=True)
    sign_in(tablet, associate(), "/associate/clients")
    expect(tablet.get_by_role("button", name="Scanner la carte")).to_be_visible()
    # A handheld scanner types into the focused field and presses Enter.
    tablet.keyboard.type(CARD)
    tablet.keyboard.press("Enter")
    expect(tablet).to_have_url(f"{live_server}/associate/clients/{profile_id}")
    expect(tablet.get_by_role("heading", name="Camille Dupont", level=1)).to_be_visible()
    expect(tablet.locator(".customer-id")).to_contain_text(CARD)


def test_without_personalisation_consent_her_browsing_stays_hidden(
    live_server: str,
    tablet: Page,
    db: Database,
    shop: Shop,
    associate: Callable[..., str],
    sign_in: Callable[..., None],
) -> None:
    profile_id = _camille(db, shop, personalisation=False)
    sign_in(tablet, associate(), f"/associate/clients/{profile_id}")
    expect(tablet.get_by_test_id("history-hidden")).to_contain_text(
        "elle a refusé la personnalisation"
    )
    expect(tablet.locator(".timeline .entry.viewed")).to_have_count(0)
    expect(tablet.locator(".timeline .entry.order")).to_have_count(1)  # her orders still show
    tablet.goto(f"{live_server}/associate/clients/cus_unknown")
    expect(tablet.get_by_role("heading", name="Fiche introuvable")).to_be_visible()
