"""Phone and desktop pages in headless Debian Chromium (the browser and the live server are
the root conftest's fixtures).

Screenshots go to ``PARCOURS_SCREENSHOTS`` when set (``docs/screenshots`` is refreshed that way),
else to the test's temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page
from tests.conftest import Shop

from parcours.core.auth import service as auth_service
from parcours.core.auth.models import Role
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP = {"viewport": {"width": 1280, "height": 860}}
#: An associate's tablet held in landscape.
TABLET = {
    "viewport": {"width": 1180, "height": 820},
    "device_scale_factor": 1,
    "is_mobile": True,
    "has_touch": True,
}
ASSOCIATE_PASSWORD = "un mot de passe solide"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def csp_violations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every page any e2e test opens is watched: a script, style or frame its
    Content-Security-Policy refused (Chromium says so on the console) fails the test."""
    refused: list[str] = []
    original = Browser.new_context

    def watch(page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if "Content Security Policy" in message.text:
                refused.append(f"{page.url}: {message.text}")

        page.on("console", on_console)

    def new_context(self: Browser, *args: object, **kwargs: object) -> BrowserContext:
        context = original(self, *args, **kwargs)  # type: ignore[arg-type]
        context.on("page", watch)
        return context

    monkeypatch.setattr(Browser, "new_context", new_context)
    yield refused
    assert refused == [], "pages broke their Content-Security-Policy"


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="fr-FR", **PHONE)  # type: ignore[arg-type]
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def desktop(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="fr-FR", **DESKTOP)  # type: ignore[arg-type]
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def tablet(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="fr-FR", **TABLET)  # type: ignore[arg-type]
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def associate(db: Database, shop: Shop) -> Callable[..., str]:
    """Creates a store staff account (an associate of store A unless told otherwise); returns
    its email. Its password is ``ASSOCIATE_PASSWORD``."""

    def create(
        email: str = "awa@boutique.example",
        *,
        name: str = "Awa Diallo",
        role: Role = Role.ASSOCIATE,
        stores: frozenset[str] | None = None,
    ) -> str:
        with UnitOfWork(db) as uow:
            auth_service.create_staff_user(
                uow=uow,
                email=email,
                name=name,
                role=role,
                password=ASSOCIATE_PASSWORD,
                store_ids=frozenset({shop.store_a}) if stores is None else stores,
            )
            uow.commit()
        return email

    return create


@pytest.fixture
def sign_in(live_server: str) -> Callable[..., None]:
    """Signs a staff member in through the login page and lands on ``next_path``."""

    def go(page: Page, email: str, next_path: str = "/associate") -> None:
        page.goto(f"{live_server}/connexion?next={next_path}")
        page.get_by_label("Adresse e-mail").fill(email)
        page.get_by_label("Mot de passe").fill(ASSOCIATE_PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_load_state()

    return go


@pytest.fixture
def screenshot(tmp_path: Path) -> Callable[[Page, str], Path]:
    target = Path(os.environ.get("PARCOURS_SCREENSHOTS", tmp_path))
    target.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str) -> Path:
        # A full-page picture shows images below the fold: load the lazy ones first.
        page.evaluate(
            """() => Promise.all(Array.from(document.images).map((img) => {
                img.loading = "eager";
                return img.decode().catch(() => null);
            }))"""
        )
        path = target / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
