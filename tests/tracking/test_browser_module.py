"""The first-party browser module (``/static/parcours-track.js``) in headless Chromium: batching
to /v1/batch, a first-party anonymous id after consent, nothing identifying before, and a beacon
when the page is left."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page

from parcours.tracking.models import Event

pytestmark = pytest.mark.e2e

Stored = Callable[[], list[Event]]

TEST_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Pull marin</title></head>
<body><h1>Pull marin</h1>
<script type="module">
  import { parcours } from "/static/parcours-track.js";
  parcours.init({ writeKey: "%(key)s", flushInterval: %(interval)d });
  window.parcours = parcours;
  window.ready = true;
</script></body></html>"""


@pytest.fixture
def page_with_module(
    browser: Browser, live_server: str, write_key: Callable[..., str]
) -> Iterator[Callable[..., Page]]:
    """Open the test page on the live server's origin, with the module loaded from /static."""
    key = write_key()
    contexts = []

    def open_page(
        path: str = "/test-shop/p/pull?utm_source=metro&utm_medium=print&email=a%40b.fr",
        interval: int = 50,
    ) -> Page:
        context = browser.new_context(locale="fr-FR")
        contexts.append(context)
        page = context.new_page()
        html = TEST_PAGE % {"key": key, "interval": interval}
        page.route(
            f"{live_server}/test-shop/**",
            lambda route: route.fulfill(status=200, content_type="text/html", body=html),
        )
        page.goto(f"{live_server}{path}")
        page.wait_for_function("window.ready === true")
        return page

    yield open_page
    for context in contexts:
        context.close()


def _wait_for(stored: Stored, count: int) -> list[Event]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        events = stored()
        if len(events) >= count:
            return events
        time.sleep(0.05)
    raise AssertionError(f"expected {count} events, got {len(stored())}")


def test_before_consent_nothing_identifying_is_sent_or_kept(
    page_with_module: Callable[..., Page], stored: Stored
) -> None:
    page = page_with_module()
    page.evaluate("parcours.page(); parcours.track('Product Viewed', {product_id: 'prd_1'});")
    assert page.evaluate("parcours.identify('u-42', {email: 'a@b.fr'})") is False
    page.evaluate("parcours.flush()")
    events = _wait_for(stored, 2)
    assert {e.type for e in events} == {"page", "track"}
    assert all(e.user_id is None and e.traits == {} for e in events)
    assert events[0].anonymous_id != events[1].anonymous_id  # one-off ids link nothing
    for event in events:
        assert event.context["consent"] == {"analytics": False}
        assert event.session_id is None  # no visitor, no session
        assert "userAgent" not in event.context
        assert "email" not in event.context["page"]["url"]  # query stripped, utm kept
        assert event.channel == "print"  # utm_medium=print from the scanned QR
        assert event.utm_source == "metro"
    assert page.evaluate("localStorage.length") == 0
    assert page.evaluate("document.cookie") == ""


def test_after_consent_a_first_party_id_follows_the_visitor(
    page_with_module: Callable[..., Page], stored: Stored
) -> None:
    page = page_with_module(path="/test-shop/p/pull")
    page.evaluate("parcours.consent({analytics: true})")
    anonymous_id = page.evaluate("localStorage.getItem('parcours.aid')")
    assert anonymous_id
    assert f"parcours_aid={anonymous_id}" in page.evaluate("document.cookie")
    page.evaluate(
        "parcours.page('Pull marin'); parcours.track('Product Added', {product_id: 'prd_1'});"
        "parcours.identify('u-42', {plan: 'gold'}); parcours.flush()"
    )
    events = {e.type: e for e in _wait_for(stored, 3)}
    assert {e.anonymous_id for e in events.values()} == {anonymous_id}
    assert events["page"].event == "Pull marin"
    assert events["track"].properties == {"product_id": "prd_1"}
    assert events["track"].user_id is None
    assert (events["identify"].user_id, events["identify"].traits) == ("u-42", {"plan": "gold"})
    assert events["identify"].context["userAgent"]

    # The next page of the same visitor keeps the id; withdrawing consent deletes it.
    page.goto(page.url)
    page.wait_for_function("window.ready === true")
    assert page.evaluate("parcours.anonymousId") == anonymous_id
    page.evaluate("parcours.consent({analytics: false})")
    assert page.evaluate("localStorage.length") == 0
    assert "parcours_aid" not in page.evaluate("document.cookie")


def test_leaving_the_page_sends_the_queue_by_beacon(
    page_with_module: Callable[..., Page], stored: Stored
) -> None:
    page = page_with_module(interval=60_000)  # no timed flush during the test
    page.evaluate("parcours.consent({analytics: true}); parcours.track('Cart Viewed')")
    assert stored() == []
    page.goto("about:blank")  # pagehide: the beacon leaves with the queue
    [event] = _wait_for(stored, 1)
    assert event.event == "Cart Viewed"
