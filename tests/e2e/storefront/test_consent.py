"""Journey 3: consent refused, no identifying event leaves the browser; accepted later from
"Gérer les cookies", events flow with one first-party id.

The shop runs with a web write key (``PARCOURS_WEB_WRITE_KEY``), so its pages send page views and
"Product Viewed" to ``/v1/batch``; the test reads every batch the browser sends, and what the
server stored."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect
from sqlalchemy import select
from tests.conftest import Shop, serve_app
from tests.e2e.conftest import DESKTOP, PHONE

from parcours.core.auth import service as auth_service
from parcours.core.auth.models import KeyKind, KeySource
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.tracking.models import Event

BANNER = "Cookies : à vous de choisir"


@pytest.fixture
def tracked_server(database_url: str, db: Database, shop: Shop) -> Iterator[str]:
    """The shop on loopback with a web write key: its pages send events."""
    with UnitOfWork(db) as uow:
        key = auth_service.create_api_key(
            uow=uow, kind=KeyKind.WRITE, name="storefront", source=KeySource.WEB
        ).token
        uow.commit()
    with serve_app(database_url, db, web_write_key=key) as url:
        yield url


class Outbox:
    """Every event the page sends to /v1/batch (fetch or beacon)."""

    def __init__(self, context: BrowserContext) -> None:
        self.events: list[dict[str, Any]] = []
        context.on("request", self._seen)

    def _seen(self, request: Request) -> None:
        if request.url.endswith("/v1/batch") and request.method == "POST":
            self.events.extend(json.loads(request.post_data or "{}").get("batch", []))

    def wait_for(self, page: Page, count: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 10
        while len(self.events) < count and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        assert len(self.events) >= count, self.events
        return list(self.events)


def stored_keys(page: Page) -> dict[str, Any]:
    kept: dict[str, Any] = page.evaluate(
        "() => ({storage: Object.keys(localStorage), cookies: document.cookie})"
    )
    return kept


def shot(page: Page, screenshot: Callable[[Page, str], Path], name: str) -> None:
    """The banner as she sees it: the screen, not the whole page (it is fixed to the bottom)."""
    path = screenshot(page, name)
    page.screenshot(path=str(path))


def visit(page: Page, url: str) -> None:
    """Open a page and wait for the batch it sends (the tracker flushes every 2 s; a beacon on
    leaving a page is not always reported to the test)."""
    with page.expect_request(lambda r: r.url.endswith("/v1/batch"), timeout=10_000):
        page.goto(url)


def test_refused_then_accepted_later(
    browser: Browser,
    tracked_server: str,
    shop: Shop,
    db: Database,
    screenshot: Callable[[Page, str], Path],
) -> None:
    context = browser.new_context(locale="fr-FR", **DESKTOP)  # type: ignore[arg-type]
    outbox = Outbox(context)
    page = context.new_page()
    product_url = f"{tracked_server}/produits/{shop.product_slug}"
    page.goto(product_url)
    banner = page.get_by_role("region", name=BANNER)
    expect(banner).to_be_visible()
    # Refusing is as easy as accepting: two buttons side by side, the same size.
    refuse = banner.get_by_role("button", name="Tout refuser")
    accept = banner.get_by_role("button", name="Tout accepter")
    refuse_box, accept_box = refuse.bounding_box(), accept.bounding_box()
    assert refuse_box is not None
    assert accept_box is not None
    assert abs(refuse_box["width"] - accept_box["width"]) < 1
    assert abs(refuse_box["height"] - accept_box["height"]) < 1
    # The page stays readable behind it: the product's title is on screen and not covered.
    expect(page.get_by_role("heading", level=1)).to_be_in_viewport()
    shot(page, screenshot, "storefront-consent-desktop")

    # Keyboard: the banner's buttons are reachable with Tab; she refuses with the keyboard.
    refuse.focus()
    page.keyboard.press("Enter")
    expect(banner).to_be_hidden()
    visit(page, f"{tracked_server}/")
    visit(page, product_url)
    visit(page, f"{tracked_server}/magasins")

    before = outbox.wait_for(page, 4)
    assert {e["type"] for e in before} >= {"page", "track"}
    assert any(e.get("event") == "Product Viewed" for e in before)
    ids = [e["anonymousId"] for e in before]
    assert len(set(ids)) == len(ids), "each event must carry its own throwaway id"
    for event in before:
        assert "userId" not in event
        assert event["context"]["consent"] == {"analytics": False}
        assert "userAgent" not in event["context"]
        assert "referrer" not in event["context"]["page"]
    kept = stored_keys(page)
    # No id kept: neither the tracker's first-party id nor a user id (the recently viewed
    # products the catalogue keeps on the device never leave it).
    assert not {"parcours.aid", "parcours.uid", "parcours.consent"} & set(kept["storage"]), kept
    assert "parcours_aid" not in kept["cookies"]
    assert "parcours_consent=a0.p0" in kept["cookies"]  # her answer, and nothing else

    # Later, she changes her mind from the footer's "Gérer les cookies".
    outbox.events.clear()
    page.get_by_role("button", name="Gérer les cookies").click()
    expect(banner).to_be_visible()
    expect(banner.get_by_role("checkbox", name="Mesure d'audience")).not_to_be_checked()
    banner.get_by_role("button", name="Tout accepter").click()
    expect(banner).to_be_hidden()
    visit(page, product_url)
    visit(page, f"{tracked_server}/")
    visit(page, f"{tracked_server}/magasins")

    after = outbox.wait_for(page, 4)
    first_party_ids = {e["anonymousId"] for e in after}
    assert len(first_party_ids) == 1, "one first-party id once she agreed"
    [first_party] = first_party_ids
    assert all(e["context"]["consent"] == {"analytics": True} for e in after)
    assert any(e.get("event") == "Product Viewed" for e in after)
    viewed = next(e for e in after if e.get("event") == "Product Viewed")
    assert viewed["properties"]["product_id"] == shop.product_id  # from the JSON-LD productID
    assert viewed["properties"]["name"] == "Pantalon noir"
    kept = stored_keys(page)
    assert f"parcours_aid={first_party}" in kept["cookies"]
    assert "parcours_consent=a1.p1" in kept["cookies"]
    context.close()

    # What the server kept: the events after consent share her id, those before link nothing.
    with UnitOfWork(db, read_only=True) as uow:
        linked = uow.session.scalars(
            select(Event.id).where(Event.anonymous_id == first_party)
        ).all()
    assert len(linked) >= 4


def test_banner_on_a_phone_does_not_block_reading(
    browser: Browser, tracked_server: str, shop: Shop, screenshot: Callable[[Page, str], Path]
) -> None:
    context = browser.new_context(locale="fr-FR", **PHONE)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(f"{tracked_server}/produits/{shop.product_slug}")
    banner = page.get_by_role("region", name=BANNER)
    expect(banner).to_be_visible()
    box = banner.bounding_box()
    assert box is not None
    assert box["height"] < 0.5 * 844, "the banner leaves most of the screen to the page"
    shot(page, screenshot, "storefront-consent-phone")
    banner.get_by_role("button", name="Personnaliser").click()
    expect(banner.get_by_role("checkbox", name="Mesure d'audience")).to_be_visible()
    banner.get_by_role("checkbox", name="Mesure d'audience").check()
    banner.get_by_role("button", name="Enregistrer mes choix").click()
    expect(banner).to_be_hidden()
    assert "parcours_consent=a1.p0" in page.evaluate("document.cookie")
    context.close()
