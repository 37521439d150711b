"""A staff member signs in through the page, lands on her space, and signs out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from parcours.core.auth import service as auth_service
from parcours.core.auth.models import Role
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork


def _create_manager(db: Database) -> None:
    with UnitOfWork(db) as uow:
        auth_service.create_staff_user(
            uow=uow,
            email="claire@boutique.example",
            name="Claire Martin",
            role=Role.MANAGER,
            password="un mot de passe solide",
        )
        uow.commit()


def test_sign_in_and_out(
    live_server: str, db: Database, desktop: Page, screenshot: Callable[[Page, str], Path]
) -> None:
    _create_manager(db)
    desktop.goto(f"{live_server}/equipe")
    expect(desktop).to_have_url(f"{live_server}/connexion?next=/equipe")
    expect(desktop.get_by_role("heading", name="Connexion de l'équipe")).to_be_visible()
    desktop.get_by_label("Adresse e-mail").fill("claire@boutique.example")
    desktop.get_by_label("Mot de passe").fill("mauvais mot de passe")
    desktop.get_by_role("button", name="Se connecter").click()
    expect(desktop.get_by_role("alert")).to_have_text("E-mail ou mot de passe incorrect.")
    screenshot(desktop, "login-failed")

    desktop.get_by_label("Mot de passe").fill("un mot de passe solide")
    desktop.get_by_role("button", name="Se connecter").click()
    expect(desktop).to_have_url(f"{live_server}/equipe")
    expect(desktop.get_by_role("heading", name="Bonjour Claire Martin")).to_be_visible()
    screenshot(desktop, "staff-home")

    desktop.get_by_role("button", name="Se déconnecter").click()
    expect(desktop).to_have_url(f"{live_server}/")
    desktop.goto(f"{live_server}/equipe")
    expect(desktop).to_have_url(f"{live_server}/connexion?next=/equipe")


def test_login_page_speaks_english_on_request(live_server: str, phone: Page) -> None:
    phone.goto(f"{live_server}/connexion?lang=en")
    expect(phone.get_by_role("heading", name="Staff sign-in")).to_be_visible()
    phone.goto(f"{live_server}/connexion")  # the choice is remembered
    expect(phone.get_by_role("button", name="Sign in")).to_be_visible()


def test_an_associate_sees_the_store_she_acts_for(
    live_server: str, db: Database, phone: Page, screenshot: Callable[[Page, str], Path]
) -> None:
    from parcours.stores import service as stores

    with UnitOfWork(db) as uow:
        store = stores.upsert_location(
            uow=uow,
            code="PAR-RIV",
            name="Parcours Paris Rivoli",
            street="118 rue de Rivoli",
            postcode="75001",
            city="Paris",
            latitude=48.8603,
            longitude=2.3437,
        )
        auth_service.create_staff_user(
            uow=uow,
            email="awa@boutique.example",
            name="Awa Diallo",
            role=Role.ASSOCIATE,
            password="un mot de passe solide",
            store_ids=frozenset({store.id}),
        )
        uow.commit()
    phone.goto(f"{live_server}/connexion")
    phone.get_by_label("Adresse e-mail").fill("awa@boutique.example")
    phone.get_by_label("Mot de passe").fill("un mot de passe solide")
    phone.get_by_role("button", name="Se connecter").click()
    expect(phone.get_by_text("Rôle : vendeur·se")).to_be_visible()
    expect(phone.get_by_text("Vous agissez pour : Parcours Paris Rivoli")).to_be_visible()
    screenshot(phone, "staff-home-associate-phone")
