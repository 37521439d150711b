"""Who may call what: every route of the API × every kind of caller, on real objects.

One row per route (``"METHOD /path"`` as the app declares it), one column per caller. A route
the app serves without a row here fails ``test_every_route_has_a_row``: each new route says who
may call it. Outcomes: ``Y`` allowed (any answer but 401 or 403: 2xx, or 409/422 for a business
refusal once past the checks), ``N`` forbidden (403), ``U`` unauthenticated (401).

The callers:

- ``anonymous``: no credentials at all.
- ``kiosk``: the in-store kiosk, a screen paired with store A: store staff issue a one-time
  code, the screen trades it for a device credential kept in its cookie
  (``parcours_kiosk_device``), beside its selection's session (``parcours_kiosk``). Both
  cookies are scoped to ``/kiosk``: on every other route the kiosk is the anonymous caller, and
  the column proves its credential opens nothing there. On the kiosk's own pages (``PAGES``)
  only the paired screen may write.
- ``shopper_a`` / ``shopper_b``: a storefront (publishable key) speaking for a signed-in
  shopper (``X-Shopper-Token``). Shopper A owns the cart, the orders and the profile named in
  the paths; shopper B owns nothing of them.
- ``publishable``: the publishable key alone (in every browser), no shopper session.
- ``write``: an event write key (source web); ``secret``: a server's secret key.
- ``admin``, ``manager``, ``marketer``: staff sessions (cookie + CSRF header).
- ``associate_a`` / ``associate_b``: store staff of store A / store B. Store A is where the
  orders are collected, the stock is adjusted and reserved, and the transfer leaves from (it
  goes to store B).

A second, smaller table (``PAGES``) does the same for every HTML page and form (the shop, the
kiosk, the associate app, the back office) with the callers a browser has: who gets the page,
who is sent to sign in, who is refused or finds nothing.

Rows run in order on one world (tests/authz_world.py); the few destructive rows (checkout,
sign-outs) run last, and rows whose first allowed call uses their object up (``gone``) accept a
404 from the callers after it. ``KNOWN_GAPS`` lists the cells where the code is wrong today.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import uuid4

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.authz_world import World, build_world
from tests.conftest import TEST_PASSWORD, Shop, sandbox_card
from tests.core.test_access_declared import api_routes
from tests.kiosk_pairing import pair_screen

from parcours.carts.models import Cart, CartLine
from parcours.core.auth import service as auth_service
from parcours.core.auth.http import SESSION_COOKIE
from parcours.core.auth.models import KeyKind, Role, StaffUser
from parcours.core.auth.principal import CSRF_HEADER
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.web.associate.shell import STORE_COOKIE

CALLERS = (
    "anonymous",
    "kiosk",
    "shopper_a",
    "shopper_b",
    "publishable",
    "write",
    "secret",
    "admin",
    "manager",
    "marketer",
    "associate_a",
    "associate_b",
)
Y, N, U = "Y", "N", "U"

# The expected outcomes, one letter per caller in CALLERS' order, grouped as
#                      anonymous kiosk | shopper_a shopper_b publishable write secret |
#                      admin manager marketer associate_a associate_b
PUBLIC = "YY YYYYY YYYYY"
CATALOG_READ = "UU YYYNY YYYYY"  # storefronts, servers and every staff role
BACK_OFFICE = "UU NNNNY YYNNN"  # managers, admins and servers
STAFF_READ = "UU NNNNY YYYYY"  # every staff role (associates of any store) and servers
STORE_STAFF = "UU NNNNY YYNYY"  # store staff of any store and servers
STORE_A = "UU NNNNY YYNYN"  # store staff of store A and servers
STORE_B = "UU NNNNY YYNNY"
ADMIN = "UU NNNNY YNNNN"  # data-subject requests: admins and servers
ADMIN_ONLY = "UU NNNNN YNNNN"
ANY_STAFF = "UU NNNNN YYYYY"
ADVICE_DESK_A = "UU NNNNN YYNYN"  # the tablets of store A (staff sessions only)
# A shopper's own session: the storefront key *and* her token (the key alone is asked for one).
SHOPPER_SESSION = "UU YYUNU NNNNN"
STOREFRONT_KEY = "UU YYYNY NNNNN"  # the storefront key, with or without a shopper
# Shopper A's cart: hers, store staff's and servers'; a key without her token is asked for it.
CART_A = "UU YNUNY YYNYY"
ORDER_A_ACT = "UU YNUNY YYNYN"  # shopper A's order at store A: hers, store A's, servers'
EVENTS = "UU NNNYY NNNNN"  # write and secret keys; staff sessions never send events
JOURNEYS = "UU NNNNY YYYNN"


@dataclass(frozen=True)
class Call:
    """One request of a row, the same for every caller."""

    path: str
    json: Any = None
    params: dict[str, Any] | None = None
    content: bytes | None = None
    content_type: str | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    form: dict[str, str] | None = None
    stream: bool = False  # Server-Sent Events: read the status, then hang up
    # A 404 is no surprise: the first allowed call uses the object up (or, for Stripe, the
    # provider is not configured in tests). Elsewhere a 404 means the world lacks the object.
    gone: bool = False


@dataclass(frozen=True)
class Row:
    expected: str
    call: Callable[[World], Call]
    # The caller whose call uses the object up (the owner deleting it) goes after the others,
    # so that theirs are asked about it while it exists.
    last_caller: str | None = None
    # For a known gap: is the wrong answer still given? (default: the outcome is not expected)
    still_wrong: Callable[[Answer], object] | None = None

    def callers(self, columns: tuple[str, ...]) -> list[tuple[str, str]]:
        cells = list(zip(columns, self.outcomes, strict=True))
        return sorted(cells, key=lambda cell: cell[0] == self.last_caller)

    @property
    def outcomes(self) -> tuple[str, ...]:
        return tuple(self.expected.replace(" ", ""))


def _png() -> dict[str, tuple[str, bytes, str]]:
    # A 1×1 PNG: no code in it, so an allowed caller gets 422 code_unreadable.
    pixel = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
    )
    return {"image": ("pixel.png", pixel, "image/png")}


def _event(kind: str, **fields: str) -> Callable[[World], Call]:
    body = {"type": kind, "anonymousId": "anon-1", "messageId": f"m-{kind}", **fields}
    return lambda w: Call(f"/v1/{kind}", json=body)


# Journeys: half a period is refused (422 invalid_period) once past the policy and before any
# query runs, which keeps these rows cheap; the policy alone decides who gets that far.
HALF_PERIOD = {"start": "2026-06-01"}


#: Keys of a browser subscription other than the one shopper A's browser registered.
PUSH_KEYS = {"p256dh": "BPk" + "A" * 84, "auth": "k" * 22}


def _funnel() -> dict[str, Any]:
    steps = [{"event": "Product Viewed"}, {"event": "Order Completed"}]
    return {"spec": {"steps": steps}, **HALF_PERIOD}


def _journey(path: str) -> Row:
    return Row(JOURNEYS, lambda w: Call(f"/v1/journeys/{path}", params=HALF_PERIOD))


ROUTES: dict[str, Row] = {
    # --- health and metrics -------------------------------------------------------------------
    "GET /healthz": Row(PUBLIC, lambda w: Call("/healthz")),
    "GET /readyz": Row(PUBLIC, lambda w: Call("/readyz")),
    "GET /metrics": Row(BACK_OFFICE, lambda w: Call("/metrics")),
    # --- accounts and keys --------------------------------------------------------------------
    "GET /v1/me": Row(CATALOG_READ, lambda w: Call("/v1/me")),
    "POST /v1/api-keys": Row(
        ADMIN_ONLY, lambda w: Call("/v1/api-keys", json={"kind": "secret", "name": "erp"})
    ),
    "GET /v1/api-keys": Row(ADMIN_ONLY, lambda w: Call("/v1/api-keys")),
    "POST /v1/api-keys/{key_id}/revoke": Row(
        ADMIN_ONLY, lambda w: Call(f"/v1/api-keys/{w.revocable_key}/revoke")
    ),
    "POST /v1/staff-users": Row(
        ADMIN_ONLY,
        lambda w: Call(
            "/v1/staff-users",
            json={
                "email": "new@staff.example",
                "name": "Nouvelle",
                "role": "associate",
                "password": TEST_PASSWORD,
                "store_ids": [w.shop.store_a],
            },
        ),
    ),
    # --- catalogue ----------------------------------------------------------------------------
    "GET /v1/categories": Row(CATALOG_READ, lambda w: Call("/v1/categories")),
    "POST /v1/categories": Row(
        BACK_OFFICE, lambda w: Call("/v1/categories", json={"name": "Pulls"})
    ),
    "GET /v1/products": Row(CATALOG_READ, lambda w: Call("/v1/products")),
    "POST /v1/products": Row(
        BACK_OFFICE, lambda w: Call("/v1/products", json={"name": "Écharpe", "price_amount": 1900})
    ),
    "POST /v1/products/import": Row(
        BACK_OFFICE,
        lambda w: Call(
            "/v1/products/import", content=b"sku,name\n", content_type="text/csv; charset=utf-8"
        ),
    ),
    "GET /v1/products/by-slug/{slug}": Row(
        CATALOG_READ, lambda w: Call(f"/v1/products/by-slug/{w.shop.product_slug}")
    ),
    "GET /v1/products/{product_id}": Row(
        CATALOG_READ, lambda w: Call(f"/v1/products/{w.shop.product_id}")
    ),
    "PATCH /v1/products/{product_id}": Row(
        BACK_OFFICE,
        lambda w: Call(f"/v1/products/{w.shop.product_id}", json={"description": "Coton bio"}),
    ),
    "POST /v1/products/{product_id}/publish": Row(
        BACK_OFFICE, lambda w: Call(f"/v1/products/{w.shop.product_id}/publish", json={})
    ),
    "GET /v1/products/{product_id}/qr.svg": Row(
        CATALOG_READ,
        lambda w: Call(f"/v1/products/{w.shop.product_id}/qr.svg", params={"medium": "poster"}),
    ),
    "GET /v1/products/{product_id}/qr.png": Row(
        CATALOG_READ,
        lambda w: Call(f"/v1/products/{w.shop.product_id}/qr.png", params={"medium": "poster"}),
    ),
    "GET /v1/variants/by-gtin/{gtin}": Row(
        CATALOG_READ, lambda w: Call(f"/v1/variants/by-gtin/{w.shop.gtins['S']}")
    ),
    "GET /v1/variants/by-sku/{sku}": Row(CATALOG_READ, lambda w: Call("/v1/variants/by-sku/PN-S")),
    "GET /v1/search/products": Row(
        CATALOG_READ, lambda w: Call("/v1/search/products", params={"q": "pantalon"})
    ),
    # A printed QR code's short link: anyone's phone camera opens it.
    "GET /q/{target_id}": Row(PUBLIC, lambda w: Call(f"/q/{w.shop.product_id}")),
    # --- stores and the adviser desk ----------------------------------------------------------
    "GET /v1/locations": Row(CATALOG_READ, lambda w: Call("/v1/locations")),
    "GET /v1/locations/{location_id}": Row(
        CATALOG_READ, lambda w: Call(f"/v1/locations/{w.shop.store_a}")
    ),
    "POST /v1/locations": Row(
        BACK_OFFICE,
        lambda w: Call(
            "/v1/locations",
            json={
                "code": "LYON",
                "name": "Parcours Lyon",
                "street": "1 rue de la République",
                "postcode": "69002",
                "city": "Lyon",
                "latitude": 45.76,
                "longitude": 4.83,
            },
        ),
    ),
    "PATCH /v1/locations/{location_id}": Row(
        BACK_OFFICE,
        lambda w: Call(f"/v1/locations/{w.shop.store_b}", json={"name": "Parcours Italie"}),
    ),
    "GET /v1/stores/nearby": Row(
        CATALOG_READ, lambda w: Call("/v1/stores/nearby", params={"lat": 48.85, "lon": 2.35})
    ),
    # A shopper's call for an adviser, from her phone or a kiosk's software: always a shopper
    # session, the device the calls are counted against.
    "POST /v1/locations/{location_id}/advice-requests": Row(
        SHOPPER_SESSION,
        lambda w: Call(f"/v1/locations/{w.shop.store_a}/advice-requests", json={"source": "app"}),
    ),
    "GET /v1/locations/{location_id}/advice-requests": Row(
        ADVICE_DESK_A, lambda w: Call(f"/v1/locations/{w.shop.store_a}/advice-requests")
    ),
    "GET /v1/locations/{location_id}/advice-requests/events": Row(
        ADVICE_DESK_A,
        lambda w: Call(f"/v1/locations/{w.shop.store_a}/advice-requests/events", stream=True),
    ),
    "POST /v1/advice-requests/{request_id}/take": Row(
        ADVICE_DESK_A, lambda w: Call(f"/v1/advice-requests/{w.advice_request}/take")
    ),
    "POST /v1/advice-requests/{request_id}/done": Row(
        ADVICE_DESK_A, lambda w: Call(f"/v1/advice-requests/{w.advice_request}/done")
    ),
    "POST /v1/advice-requests/{request_id}/cancel": Row(
        ADVICE_DESK_A, lambda w: Call(f"/v1/advice-requests/{w.advice_request}/cancel")
    ),
    # --- stock --------------------------------------------------------------------------------
    "GET /v1/availability": Row(
        CATALOG_READ,
        lambda w: Call(
            "/v1/availability",
            params={"variant_id": w.shop.variants["S"], "lat": 48.85, "lon": 2.35},
        ),
    ),
    "GET /v1/availability/product": Row(
        CATALOG_READ,
        lambda w: Call(
            "/v1/availability/product",
            params={"product_id": w.shop.product_id, "lat": 48.85, "lon": 2.35},
        ),
    ),
    # The network's stock is no secret to staff: the kiosk shows other stores' too.
    "GET /v1/stock": Row(
        STAFF_READ, lambda w: Call("/v1/stock", params={"location_id": w.shop.store_a})
    ),
    "POST /v1/stock/adjustments": Row(
        STORE_A,
        lambda w: Call(
            "/v1/stock/adjustments",
            json={
                "variant_id": w.shop.variants["M"],
                "location_id": w.shop.store_a,
                "delta": -1,
                "reason": "abîmé",
            },
        ),
    ),
    "GET /v1/stock/movements": Row(
        STAFF_READ, lambda w: Call("/v1/stock/movements", params={"location_id": w.shop.store_a})
    ),
    "POST /v1/reservations": Row(
        STORE_A,
        lambda w: Call(
            "/v1/reservations",
            json={
                "variant_id": w.shop.variants["M"],
                "location_id": w.shop.store_a,
                "quantity": 1,
                "reference": "matrix",
            },
        ),
    ),
    "GET /v1/reservations/{reservation_id}": Row(
        STAFF_READ, lambda w: Call(f"/v1/reservations/{w.reservation}")
    ),
    "POST /v1/reservations/{reservation_id}/release": Row(
        STORE_A, lambda w: Call(f"/v1/reservations/{w.reservation}/release")
    ),
    "POST /v1/transfers": Row(
        STORE_A,
        lambda w: Call(
            "/v1/transfers",
            json={
                "from_location_id": w.shop.store_a,
                "to_location_id": w.shop.store_b,
                "lines": [{"variant_id": w.shop.variants["M"], "quantity": 1}],
            },
        ),
    ),
    "GET /v1/transfers/{transfer_id}": Row(
        STAFF_READ, lambda w: Call(f"/v1/transfers/{w.transfer}")
    ),
    # Received by the store it goes to (B), cancelled by the one it leaves (A).
    "POST /v1/transfers/{transfer_id}/receive": Row(
        STORE_B, lambda w: Call(f"/v1/transfers/{w.transfer}/receive")
    ),
    "POST /v1/transfers/{transfer_id}/cancel": Row(
        STORE_A, lambda w: Call(f"/v1/transfers/{w.transfer}/cancel")
    ),
    # --- event collection ---------------------------------------------------------------------
    "POST /v1/track": Row(EVENTS, _event("track", event="Product Viewed")),
    "POST /v1/identify": Row(EVENTS, _event("identify", userId="u-1")),
    "POST /v1/page": Row(EVENTS, _event("page", name="Accueil")),
    "POST /v1/screen": Row(EVENTS, _event("screen", name="Accueil")),
    "POST /v1/group": Row(EVENTS, _event("group", groupId="g-1")),
    "POST /v1/alias": Row(EVENTS, _event("alias", previousId="anon-1", userId="u-1")),
    "POST /v1/batch": Row(
        EVENTS,
        lambda w: Call(
            "/v1/batch",
            json={"batch": [{"type": "track", "event": "Viewed", "anonymousId": "anon-1"}]},
        ),
    ),
    # --- customers ----------------------------------------------------------------------------
    "GET /v1/customers": Row(
        STAFF_READ, lambda w: Call("/v1/customers", params={"email": "a@example.com"})
    ),
    # Recognised at store A's till: as for a note, an associate speaks for her own store.
    "POST /v1/customers/identify": Row(
        STORE_A,
        lambda w: Call(
            "/v1/customers/identify",
            json={"email": "walk-in@example.com", "channel": "till", "store_id": w.shop.store_a},
        ),
    ),
    "GET /v1/customers/{customer_id}": Row(
        STAFF_READ, lambda w: Call(f"/v1/customers/{w.profile_a}")
    ),
    "POST /v1/customers/{customer_id}/merge": Row(
        BACK_OFFICE,
        lambda w: Call(
            f"/v1/customers/{w.profile_merge[0]}/merge",
            json={"other_id": w.profile_merge[1], "force": True},
        ),
    ),
    "POST /v1/merges/{merge_id}/undo": Row(
        BACK_OFFICE, lambda w: Call(f"/v1/merges/{w.merge_id}/undo")
    ),
    "POST /v1/customers/{customer_id}/consents": Row(
        STORE_STAFF,
        lambda w: Call(
            f"/v1/customers/{w.profile_a}/consents",
            json={
                "purpose": "marketing_email",
                "granted": True,
                "channel": "till",
                "wording_version": "v1",
            },
        ),
    ),
    "GET /v1/customers/{customer_id}/consents": Row(
        STAFF_READ, lambda w: Call(f"/v1/customers/{w.profile_a}/consents")
    ),
    "GET /v1/customers/{customer_id}/export": Row(
        ADMIN, lambda w: Call(f"/v1/customers/{w.profile_a}/export")
    ),
    "POST /v1/customers/{customer_id}/erase": Row(
        ADMIN, lambda w: Call(f"/v1/customers/{w.profile_erase}/erase", gone=True)
    ),
    "GET /v1/customers/{customer_id}/notes": Row(
        STAFF_READ, lambda w: Call(f"/v1/customers/{w.profile_a}/notes")
    ),
    "POST /v1/customers/{customer_id}/notes": Row(
        STORE_A,
        lambda w: Call(
            f"/v1/customers/{w.profile_a}/notes",
            json={"text": "Préfère le bleu", "store_id": w.shop.store_a},
        ),
    ),
    "GET /v1/customers/{profile_id}/orders": Row(
        STAFF_READ, lambda w: Call(f"/v1/customers/{w.profile_a}/orders")
    ),
    # --- payments -----------------------------------------------------------------------------
    # Any store takes a return, so store staff read any order's payments (as they read orders).
    "GET /v1/payments": Row(
        STORE_STAFF, lambda w: Call("/v1/payments", params={"reference": w.order_a})
    ),
    "GET /v1/payments/{payment_id}": Row(
        STORE_STAFF, lambda w: Call(f"/v1/payments/{w.payment_a}")
    ),
    # Refunding an order's payment: scoped by the order's stores (A).
    "POST /v1/payments/{payment_id}/refunds": Row(
        STORE_A,
        lambda w: Call(
            f"/v1/payments/{w.payment_a}/refunds", json={"amount": 1, "reason": "geste"}
        ),
    ),
    "POST /v1/payments/test-provider/tokens": Row(
        STOREFRONT_KEY,
        lambda w: Call(
            "/v1/payments/test-provider/tokens",
            json=sandbox_card(),
        ),
    ),
    # The payment's client secret is the credential: whoever holds it answers the challenge.
    "GET /v1/payments/{payment_id}/3ds": Row(
        PUBLIC,
        lambda w: Call(
            f"/v1/payments/{w.payment_3ds}/3ds", params={"client_secret": w.client_secret_3ds}
        ),
    ),
    "POST /v1/payments/{payment_id}/3ds": Row(
        PUBLIC,
        lambda w: Call(
            f"/v1/payments/{w.payment_3ds}/3ds",
            json={"outcome": "approve", "client_secret": w.client_secret_3ds},
        ),
    ),
    "POST /v1/payment-links": Row(
        STORE_A,
        lambda w: Call(
            "/v1/payment-links",
            json={
                "reference": "RETOUCHE-9",
                "amount": 900,
                "currency": "EUR",
                "description": "Ourlet",
                "store_id": w.shop.store_a,
            },
        ),
    ),
    # A payment link's token is the credential.
    "GET /v1/payment-links/{token}": Row(
        PUBLIC, lambda w: Call(f"/v1/payment-links/{w.link_token}")
    ),
    "GET /v1/payment-links/{token}/qr.svg": Row(
        PUBLIC, lambda w: Call(f"/v1/payment-links/{w.link_token}/qr.svg")
    ),
    "POST /v1/payment-links/{token}/payments": Row(
        PUBLIC,
        lambda w: Call(f"/v1/payment-links/{w.link_token}/payments", json={"token": w.card_token}),
    ),
    # --- shopper sessions ---------------------------------------------------------------------
    "POST /v1/shopper/sessions": Row(
        STOREFRONT_KEY, lambda w: Call("/v1/shopper/sessions", json={})
    ),
    "GET /v1/shopper/session": Row(SHOPPER_SESSION, lambda w: Call("/v1/shopper/session")),
    "POST /v1/shopper/sign-in-codes": Row(
        SHOPPER_SESSION,
        lambda w: Call("/v1/shopper/sign-in-codes", json={"email": "codes@example.com"}),
    ),
    # A wrong code: 422 once past the checks, and her session unchanged.
    "POST /v1/shopper/sign-in": Row(
        SHOPPER_SESSION,
        lambda w: Call(
            "/v1/shopper/sign-in", json={"email": "codes@example.com", "code": "000000"}
        ),
    ),
    "GET /v1/me/cart": Row(SHOPPER_SESSION, lambda w: Call("/v1/me/cart")),
    # --- carts --------------------------------------------------------------------------------
    "POST /v1/carts": Row(STORE_A, lambda w: Call("/v1/carts", json={"store_id": w.shop.store_a})),
    "GET /v1/carts/{cart_id}": Row(CART_A, lambda w: Call(f"/v1/carts/{w.cart_a}")),
    "POST /v1/carts/{cart_id}/lines": Row(
        CART_A,
        lambda w: Call(f"/v1/carts/{w.cart_a}/lines", json={"variant_id": w.shop.variants["M"]}),
    ),
    "PATCH /v1/carts/{cart_id}/lines/{line_id}": Row(
        CART_A, lambda w: Call(f"/v1/carts/{w.cart_a}/lines/{w.line_a}", json={"quantity": 2})
    ),
    "POST /v1/carts/{cart_id}/promo-code": Row(
        CART_A, lambda w: Call(f"/v1/carts/{w.cart_a}/promo-code", json={"code": w.promo_code})
    ),
    "DELETE /v1/carts/{cart_id}/promo-code": Row(
        CART_A, lambda w: Call(f"/v1/carts/{w.cart_a}/promo-code")
    ),
    "POST /v1/carts/{cart_id}/handoff": Row(
        CART_A, lambda w: Call(f"/v1/carts/{w.cart_a}/handoff")
    ),
    "DELETE /v1/carts/{cart_id}/lines/{line_id}": Row(
        CART_A, lambda w: Call(f"/v1/carts/{w.cart_a}/lines/{w.line_a}", gone=True)
    ),
    # Only a till cart of her store is given to a customer.
    "POST /v1/carts/{cart_id}/customer": Row(
        STORE_A,
        lambda w: Call(f"/v1/carts/{w.till_cart}/customer", json={"profile_id": w.profile_walk_in}),
    ),
    "POST /v1/cart-handoffs/claim": Row(
        STORE_A,
        lambda w: Call(
            "/v1/cart-handoffs/claim",
            json={"code": w.handoff_code, "store_id": w.shop.store_a},
            gone=True,  # single use
        ),
    ),
    # Public so that a browser's EventSource may open it; the cart's owner is checked inside.
    # A key without a shopper token is asked for one (401), as on the other cart routes.
    "GET /v1/carts/{cart_id}/events": Row(
        "UU YNUUY YYNYY", lambda w: Call(f"/v1/carts/{w.cart_a}/events", stream=True)
    ),
    "POST /v1/scans": Row("UU YYYNY YYNYY", lambda w: Call("/v1/scans", files=_png())),
    "POST /v1/code-reads": Row(STORE_STAFF, lambda w: Call("/v1/code-reads", files=_png())),
    # --- orders -------------------------------------------------------------------------------
    # Any store takes a return, so any associate reads any order (its pickup code only where
    # it is collected); a marketer reads orders too.
    "GET /v1/orders/{order_id}": Row("UU YNUNY YYYYY", lambda w: Call(f"/v1/orders/{w.order_a}")),
    "GET /v1/orders": Row(
        "UU NNNNY YYYYN", lambda w: Call("/v1/orders", params={"pickup_store_id": w.shop.store_a})
    ),
    # Her own orders: each shopper sees hers (B: none); servers have no "her".
    "GET /v1/me/orders": Row(SHOPPER_SESSION, lambda w: Call("/v1/me/orders")),
    # Paying again an order already paid: 409 once past the checks.
    "POST /v1/orders/{order_id}/payments": Row(
        ORDER_A_ACT,
        lambda w: Call(
            f"/v1/orders/{w.order_a}/payments", json={"method": "card", "token": w.card_token}
        ),
    ),
    "POST /v1/orders/{order_id}/payment-link": Row(
        ORDER_A_ACT, lambda w: Call(f"/v1/orders/{w.order_a}/payment-link")
    ),
    "POST /v1/orders/{order_id}/arrived": Row(
        ORDER_A_ACT,
        lambda w: Call(f"/v1/orders/{w.order_a}/arrived", json={"store_id": w.shop.store_a}),
    ),
    "POST /v1/orders/{order_id}/ready": Row(
        STORE_A, lambda w: Call(f"/v1/orders/{w.order_a}/ready", json={"store_id": w.shop.store_a})
    ),
    "POST /v1/orders/{order_id}/ship": Row(
        STORE_A,
        lambda w: Call(f"/v1/orders/{w.order_a}/ship", json={"fulfilment_id": w.fulfilment_a}),
    ),
    "POST /v1/orders/{order_id}/collect": Row(
        STORE_A,
        lambda w: Call(
            f"/v1/orders/{w.order_a}/collect",
            json={"store_id": w.shop.store_a, "pickup_code": w.pickup_code_a},
        ),
    ),
    # Deliveries are confirmed by the back office or the carrier (a server), never a store.
    "POST /v1/orders/{order_id}/delivered": Row(
        BACK_OFFICE,
        lambda w: Call(f"/v1/orders/{w.order_a}/delivered", json={"fulfilment_id": w.fulfilment_a}),
    ),
    "POST /v1/orders/{order_id}/returns": Row(
        STORE_A,
        lambda w: Call(
            f"/v1/orders/{w.order_a}/returns",
            json={
                "store_id": w.shop.store_a,
                "lines": [{"line_id": w.order_line_a, "quantity": 1}],
            },
        ),
    ),
    # Her unpaid order: she may cancel it, as may store A and servers.
    "POST /v1/orders/{order_id}/cancel": Row(
        ORDER_A_ACT, lambda w: Call(f"/v1/orders/{w.order_unpaid}/cancel", json={})
    ),
    "POST /v1/till/sales": Row(
        STORE_A,
        lambda w: Call(
            "/v1/till/sales",
            json={
                "store_id": w.shop.store_a,
                "lines": [{"variant_id": w.shop.variants["M"]}],
                "payment": {"method": "cash", "tendered": 10_000},
                "sold_at": utcnow().isoformat(),
            },
        ),
    ),
    # --- promo codes, messages, push ----------------------------------------------------------
    "POST /v1/promo-codes": Row(
        BACK_OFFICE,
        lambda w: Call("/v1/promo-codes", json={"code": "ETE", "kind": "percent", "value": 20}),
    ),
    "GET /v1/promo-codes": Row(STORE_STAFF, lambda w: Call("/v1/promo-codes")),
    "GET /v1/promo-codes/{code}": Row(
        STORE_STAFF, lambda w: Call(f"/v1/promo-codes/{w.promo_code}")
    ),
    "POST /v1/promo-codes/{code}/deactivate": Row(
        BACK_OFFICE, lambda w: Call(f"/v1/promo-codes/{w.promo_code}/deactivate")
    ),
    "GET /v1/messages": Row(BACK_OFFICE, lambda w: Call("/v1/messages")),
    # Support reads what customers received; a mailed sign-in code (the shopper's credential)
    # is blanked out of it (tests/notifications/test_api.py).
    "GET /v1/messages/{message_id}": Row(BACK_OFFICE, lambda w: Call(f"/v1/messages/{w.message}")),
    # Shopper A's browser's subscription, sent again with other keys: hers to renew; the
    # endpoint (it travels through push services and logs) proves nothing to anyone else.
    "POST /v1/push/subscriptions": Row(
        "UU YNUNU NNNNN",
        lambda w: Call(
            "/v1/push/subscriptions",
            json={"endpoint": w.push_endpoints[0], "keys": PUSH_KEYS},
        ),
        last_caller="shopper_a",
    ),
    # Stopped by her session (or the subscription's own keys.auth), never by the endpoint alone.
    "DELETE /v1/push/subscriptions": Row(
        "UU YNNNN NNNNN",
        lambda w: Call("/v1/push/subscriptions", json={"endpoint": w.push_endpoints[0]}),
        last_caller="shopper_a",
    ),
    # --- journeys -----------------------------------------------------------------------------
    "GET /v1/journeys/overview": _journey("overview"),
    "GET /v1/journeys/stages": _journey("stages"),
    "GET /v1/journeys/paths": _journey("paths"),
    "GET /v1/journeys/web-to-store": _journey("web-to-store"),
    "GET /v1/journeys/omnichannel-value": _journey("omnichannel-value"),
    "GET /v1/journeys/friction": _journey("friction"),
    "GET /v1/journeys/cohorts": _journey("cohorts"),
    "POST /v1/journeys/funnels": Row(
        JOURNEYS, lambda w: Call("/v1/journeys/funnels", json=_funnel())
    ),
    "POST /v1/journeys/funnels/dropped": Row(
        JOURNEYS,
        lambda w: Call("/v1/journeys/funnels/dropped", json=_funnel(), params={"step": 2}),
    ),
    "POST /v1/journeys/funnels/sql": Row(
        JOURNEYS, lambda w: Call("/v1/journeys/funnels/sql", json=_funnel())
    ),
    # --- Stripe -------------------------------------------------------------------------------
    # Stripe's signature is the credential, checked by the service whoever sends the body
    # (Stripe is not configured in tests: 404 stripe_not_configured, past the policy).
    "POST /v1/payments/stripe/webhook": Row(
        PUBLIC, lambda w: Call("/v1/payments/stripe/webhook", json={"type": "ping"}, gone=True)
    ),
    # --- last: what closes the cart or ends the callers' sessions -----------------------------
    # Staff name the store of the sale (store A): a shopper may not (422), associate B may not.
    "POST /v1/carts/{cart_id}/checkout": Row(
        ORDER_A_ACT,
        lambda w: Call(
            f"/v1/carts/{w.cart_a}/checkout",
            json={
                "fulfilments": [{"method": "click_and_collect", "store_id": w.shop.store_a}],
                "store_id": w.shop.store_a,
            },
        ),
    ),
    "DELETE /v1/shopper/session": Row(SHOPPER_SESSION, lambda w: Call("/v1/shopper/session")),
    "DELETE /v1/sessions/current": Row(ANY_STAFF, lambda w: Call("/v1/sessions/current")),
    # The sign-in form itself: anyone may try. An empty password is refused (422) before the
    # password hash is computed, a twelfth of a second each, which the matrix can spare.
    "POST /v1/sessions": Row(
        PUBLIC,
        lambda w: Call("/v1/sessions", json={"email": "someone@staff.example", "password": ""}),
    ),
}

#: Rows that end what later rows need (the cart, the callers' sessions): they run last.
LAST_ROUTES = (
    "POST /v1/carts/{cart_id}/checkout",
    "DELETE /v1/shopper/session",
    "DELETE /v1/sessions/current",
    "POST /v1/sessions",
)

# --- the pages ------------------------------------------------------------------------------------
# Who gets a page (or a form's answer), who is sent to sign in, who is refused. Browsers carry
# cookies, not keys: the shoppers here are shopper A's and B's storefront cookie sessions
# (``parcours_shopper``), staff their session cookies (admin acting at store A). Managers are left
# out: every page policy treats them as admins. Outcomes: ``Y`` the page or the form's answer,
# ``S`` a 303 to /connexion (a staff page opened signed out), ``U`` 401, ``N`` 403, ``H`` 404 (a
# shopper's order is hidden from whoever it is not for: "an order id says nothing"). A staff form
# refused for another store's order redirects back with ``erreur=store_out_of_scope``: ``N``.
PAGE_CALLERS = (
    "anonymous",
    "kiosk",
    "shopper_a",
    "shopper_b",
    "admin",
    "marketer",
    "associate_a",
    "associate_b",
)
#                 anonymous kiosk | shopper_a shopper_b | admin marketer associate_a associate_b
P_PUBLIC = "YY YY YYYY"
P_STORE_PAGE = "SS SS YNYY"  # the associate app, for store staff
P_STORE_FORM = "UU UU YNYY"
P_STORE_A_FORM = "UU UU YNYN"  # a form about store A's order or call
P_STORE_A_PAGE = "SS SS YNYN"
P_ANALYTICS = "SS SS YYNN"  # the back office's journeys
P_HER_ORDER = "HH YH HHHH"  # shopper A's order: hers only, hidden from anyone else
P_KIOSK = "YY YY YYYY"  # the kiosk's pages: anyone at the screen reads them
P_KIOSK_DEVICE = "NY NN NNNN"  # its writes: the paired screen only


def _page(path: str, **options: Any) -> Callable[[World], Call]:
    return lambda w: Call(path, **options)


PAGES: dict[str, Row] = {
    # --- the shop, open to all ----------------------------------------------------------------
    "GET /connexion": Row(P_PUBLIC, _page("/connexion")),
    # The staff sign-in form; an empty password is refused before any hash is computed.
    "POST /connexion": Row(
        P_PUBLIC, _page("/connexion", form={"email": "someone@staff.example", "password": ""})
    ),
    "GET /equipe": Row("SS SS YYYY", _page("/equipe")),
    "GET /manifest.webmanifest": Row(P_PUBLIC, _page("/manifest.webmanifest")),
    "GET /sw.js": Row(P_PUBLIC, _page("/sw.js")),
    "GET /hors-ligne": Row(P_PUBLIC, _page("/hors-ligne")),
    "POST /consentement": Row(P_PUBLIC, _page("/consentement", json={"analytics": True})),
    "GET /push/cle": Row(P_PUBLIC, _page("/push/cle")),
    # Shopper A's browser's subscription, as on the API: hers only, whatever the endpoint says.
    # Every browser here but the anonymous one has a shop session by now (staff browsed the
    # shop too): each is refused; the anonymous one is asked to open the shop first (409).
    "POST /push/abonnement": Row(
        "YN YN NNNN",
        lambda w: Call(
            "/push/abonnement", json={"endpoint": w.push_endpoints[1], "keys": PUSH_KEYS}
        ),
        last_caller="shopper_a",
    ),
    "DELETE /push/abonnement": Row(
        "NN YN NNNN",
        lambda w: Call("/push/abonnement", json={"endpoint": w.push_endpoints[1]}),
        last_caller="shopper_a",
    ),
    "GET /": Row(P_PUBLIC, _page("/")),
    "GET /rayons": Row(P_PUBLIC, _page("/rayons")),
    "GET /rayons/{slug}": Row(P_PUBLIC, lambda w: Call(f"/rayons/{w.category_slug}")),
    "GET /recherche": Row(P_PUBLIC, _page("/recherche", params={"q": "pantalon"})),
    "GET /recherche/suggestions": Row(
        P_PUBLIC, _page("/recherche/suggestions", params={"q": "pan"})
    ),
    "GET /produits/{slug}": Row(P_PUBLIC, lambda w: Call(f"/produits/{w.shop.product_slug}")),
    "GET /magasins": Row(P_PUBLIC, _page("/magasins")),
    # --- her cart (the cookie session's own; a visitor gets one on her first add) -------------
    "POST /panier/lignes": Row(
        P_PUBLIC, lambda w: Call("/panier/lignes", form={"variant_id": w.shop.variants["M"]})
    ),
    "GET /panier": Row(P_PUBLIC, _page("/panier")),
    # A line of shopper A's cart: changed for her; anyone else is sent back to her own cart,
    # which has no such line (/panier?note=stale), and nothing changes.
    "POST /panier/lignes/{line_id}": Row(
        P_PUBLIC, lambda w: Call(f"/panier/lignes/{w.line_kept}", form={"action": "plus"})
    ),
    "POST /panier/promo": Row(P_PUBLIC, _page("/panier/promo", form={"code": "INCONNU"})),
    "GET /panier/evenements": Row(P_PUBLIC, _page("/panier/evenements", stream=True)),
    "POST /panier/code": Row(P_PUBLIC, _page("/panier/code")),
    "GET /commande": Row(P_PUBLIC, _page("/commande")),
    # An empty checkout form: refused for what it lacks, her cart left as it is.
    "POST /commande": Row(P_PUBLIC, _page("/commande", form={})),
    # --- her orders ---------------------------------------------------------------------------
    "GET /commandes/{order_id}": Row(P_HER_ORDER, lambda w: Call(f"/commandes/{w.order_a}")),
    "GET /commandes/{order_id}/paiement": Row(
        P_HER_ORDER, lambda w: Call(f"/commandes/{w.order_a}/paiement")
    ),
    "POST /commandes/{order_id}/paiement": Row(
        P_HER_ORDER,
        lambda w: Call(
            f"/commandes/{w.order_a}/paiement",
            form={"idempotency_key": uuid4().hex, "number": "4242424242424242"},
        ),
    ),
    "GET /commandes/{order_id}/paiement/3ds": Row(
        P_HER_ORDER, lambda w: Call(f"/commandes/{w.order_a}/paiement/3ds")
    ),
    "POST /commandes/{order_id}/paiement/3ds": Row(
        P_HER_ORDER,
        lambda w: Call(f"/commandes/{w.order_a}/paiement/3ds", form={"payment_id": w.payment_a}),
    ),
    "POST /commandes/{order_id}/arrivee": Row(
        P_HER_ORDER,
        lambda w: Call(f"/commandes/{w.order_a}/arrivee", form={"store_id": w.shop.store_a}),
    ),
    # A payment link's token is the credential.
    "GET /payer/{token}": Row(P_PUBLIC, lambda w: Call(f"/payer/{w.link_token}")),
    "POST /payer/{token}": Row(
        P_PUBLIC,
        lambda w: Call(f"/payer/{w.link_token}", form={"idempotency_key": uuid4().hex}),
    ),
    # --- her account --------------------------------------------------------------------------
    "GET /compte": Row(P_PUBLIC, _page("/compte")),
    "POST /compte/code": Row(P_PUBLIC, _page("/compte/code", form={"email": ""})),
    "POST /compte/connexion": Row(
        P_PUBLIC, _page("/compte/connexion", form={"email": "a@example.com", "code": "000000"})
    ),
    "POST /compte/carte": Row(P_PUBLIC, _page("/compte/carte")),
    "POST /compte/consentements": Row(
        P_PUBLIC, _page("/compte/consentements", form={"analytics": "on"})
    ),
    "GET /compte/donnees": Row(P_PUBLIC, _page("/compte/donnees")),
    "GET /compte/suppression": Row(P_PUBLIC, _page("/compte/suppression")),
    # Without the confirmation box ticked: nothing is erased.
    "POST /compte/suppression": Row(P_PUBLIC, _page("/compte/suppression", form={})),
    "GET /compte/au-revoir": Row(P_PUBLIC, _page("/compte/au-revoir")),
    # --- the scanner --------------------------------------------------------------------------
    "GET /scanner": Row(P_PUBLIC, _page("/scanner")),
    "POST /scanner/code": Row(
        P_PUBLIC, lambda w: Call("/scanner/code", form={"code": w.shop.gtins["S"]})
    ),
    "POST /scanner/photo": Row(
        P_PUBLIC, lambda w: Call("/scanner/photo", files={"photo": _png()["image"]})
    ),
    "GET /scanner/produits/{product_id}": Row(
        P_PUBLIC, lambda w: Call(f"/scanner/produits/{w.shop.product_id}")
    ),
    # --- the kiosk: its pages are open to the shopper at the screen; its writes need the ---------
    # --- paired screen's device credential (a wrong or missing one: 403, the "unpaired" page) --
    "GET /kiosk/{store_code}": Row(P_KIOSK, _page("/kiosk/PAR-A")),
    # Pairing a screen: the one-time code from the store's staff is the credential (a wrong
    # one is refused, 422, whoever types it).
    "GET /kiosk/{store_code}/appairer": Row(P_PUBLIC, _page("/kiosk/PAR-A/appairer")),
    "POST /kiosk/{store_code}/appairer": Row(
        P_PUBLIC, _page("/kiosk/PAR-A/appairer", form={"code": "ABCD-EFGH"})
    ),
    "GET /kiosk/{store_code}/produits/{slug}": Row(
        P_KIOSK, lambda w: Call(f"/kiosk/PAR-A/produits/{w.shop.product_slug}")
    ),
    "POST /kiosk/{store_code}/selection": Row(
        P_KIOSK_DEVICE,
        lambda w: Call("/kiosk/PAR-A/selection", form={"variant_id": w.shop.variants["M"]}),
    ),
    "GET /kiosk/{store_code}/selection": Row(P_KIOSK, _page("/kiosk/PAR-A/selection")),
    # The kiosk's own selection line: removed for the kiosk; anyone else's selection lacks it.
    "POST /kiosk/{store_code}/selection/{line_id}/retirer": Row(
        P_KIOSK_DEVICE, lambda w: Call(f"/kiosk/PAR-A/selection/{w.kiosk_line}/retirer")
    ),
    "POST /kiosk/{store_code}/telephone": Row(P_KIOSK_DEVICE, _page("/kiosk/PAR-A/telephone")),
    # Whether the phone took the kiosk's selection: the kiosk's own; other screens find nothing.
    "GET /kiosk/{store_code}/telephone/{cart_id}/etat": Row(
        "HY HH HHHH", lambda w: Call(f"/kiosk/PAR-A/telephone/{w.kiosk_cart}/etat")
    ),
    # The handoff QR's single-use token is the credential.
    "GET /panier/reprendre/{token}": Row(
        P_PUBLIC, lambda w: Call(f"/panier/reprendre/{w.handoff_token}")
    ),
    "POST /panier/reprendre/{token}": Row(
        P_PUBLIC, lambda w: Call(f"/panier/reprendre/{w.handoff_token}", gone=True)
    ),
    "GET /kiosk/{store_code}/commander/{variant_id}": Row(
        P_KIOSK, lambda w: Call(f"/kiosk/PAR-A/commander/{w.shop.variants['L']}")
    ),
    "POST /kiosk/{store_code}/commander/{variant_id}": Row(
        P_KIOSK_DEVICE,
        lambda w: Call(
            f"/kiosk/PAR-A/commander/{w.shop.variants['L']}", form={"email": "borne@example.com"}
        ),
    ),
    "GET /kiosk/{store_code}/commande": Row(P_KIOSK, _page("/kiosk/PAR-A/commande")),
    "POST /kiosk/{store_code}/conseiller": Row(
        P_KIOSK_DEVICE, _page("/kiosk/PAR-A/conseiller", form={})
    ),
    # --- the associate app --------------------------------------------------------------------
    "GET /associate": Row(P_STORE_PAGE, _page("/associate")),
    "GET /associate/magasin": Row(P_STORE_PAGE, _page("/associate/magasin")),
    # Choosing store A to act for: not for an associate of store B.
    "POST /associate/magasin": Row(
        P_STORE_A_FORM, lambda w: Call("/associate/magasin", form={"store_id": w.shop.store_a})
    ),
    "GET /associate/clients": Row(P_STORE_PAGE, _page("/associate/clients")),
    # The store's kiosks: each associate pairs and revokes her own store's; another store's
    # kiosk is not found there (sent back to her list, nothing revoked).
    "GET /associate/bornes": Row(P_STORE_PAGE, _page("/associate/bornes")),
    "POST /associate/bornes": Row(P_STORE_FORM, _page("/associate/bornes", form={"name": "Hall"})),
    "POST /associate/bornes/{kiosk_id}/revoquer": Row(
        P_STORE_FORM, lambda w: Call(f"/associate/bornes/{w.other_kiosk}/revoquer")
    ),
    "GET /associate/clients/{profile_id}": Row(
        P_STORE_PAGE, lambda w: Call(f"/associate/clients/{w.profile_a}")
    ),
    "POST /associate/clients/{profile_id}/notes": Row(
        P_STORE_FORM,
        lambda w: Call(f"/associate/clients/{w.profile_a}/notes", form={"text": "Aime le lin"}),
    ),
    "GET /associate/produits": Row(P_STORE_PAGE, _page("/associate/produits")),
    "GET /associate/produits/{product_id}": Row(
        P_STORE_PAGE, lambda w: Call(f"/associate/produits/{w.shop.product_id}")
    ),
    "GET /associate/produits/{product_id}/commander": Row(
        P_STORE_PAGE, lambda w: Call(f"/associate/produits/{w.shop.product_id}/commander")
    ),
    "POST /associate/produits/{product_id}/commander": Row(
        P_STORE_FORM,
        lambda w: Call(
            f"/associate/produits/{w.shop.product_id}/commander",
            form={"variant_id": w.shop.variants["L"]},
        ),
    ),
    "GET /associate/caisse": Row(P_STORE_PAGE, _page("/associate/caisse")),
    "POST /associate/caisse/code": Row(P_STORE_FORM, _page("/associate/caisse/code", form={})),
    "POST /associate/caisse/lignes": Row(
        P_STORE_FORM,
        lambda w: Call("/associate/caisse/lignes", form={"variant_id": w.shop.variants["M"]}),
    ),
    "POST /associate/caisse/lignes/{line_id}": Row(
        P_STORE_FORM,
        lambda w: Call(f"/associate/caisse/lignes/{w.line_kept}", form={"action": "plus"}),
    ),
    "POST /associate/caisse/transfert": Row(
        P_STORE_FORM, _page("/associate/caisse/transfert", form={})
    ),
    "POST /associate/caisse/cliente": Row(
        P_STORE_FORM, _page("/associate/caisse/cliente", form={"lookup": "a@example.com"})
    ),
    "POST /associate/caisse/promo": Row(
        P_STORE_FORM, _page("/associate/caisse/promo", form={"code": "INCONNU"})
    ),
    "POST /associate/caisse/nouvelle": Row(P_STORE_FORM, _page("/associate/caisse/nouvelle")),
    "POST /associate/caisse/encaisser": Row(P_STORE_FORM, _page("/associate/caisse/encaisser")),
    # An unpaid order collected at store A: cashed at store A's till only.
    "GET /associate/caisse/commandes/{order_id}": Row(
        P_STORE_A_PAGE, lambda w: Call(f"/associate/caisse/commandes/{w.order_to_cash}")
    ),
    "POST /associate/caisse/commandes/{order_id}/especes": Row(
        P_STORE_A_FORM,
        lambda w: Call(
            f"/associate/caisse/commandes/{w.order_to_cash}/especes",
            form={"tendered": "100", "attempt": uuid4().hex},
        ),
    ),
    "POST /associate/caisse/commandes/{order_id}/terminal": Row(
        P_STORE_A_FORM,
        lambda w: Call(
            f"/associate/caisse/commandes/{w.order_to_cash}/terminal",
            form={"terminal_reference": "T-1", "attempt": uuid4().hex},
        ),
    ),
    "POST /associate/caisse/commandes/{order_id}/lien": Row(
        P_STORE_A_FORM, lambda w: Call(f"/associate/caisse/commandes/{w.order_to_cash}/lien")
    ),
    "GET /associate/caisse/commandes/{order_id}/etat": Row(
        P_STORE_A_PAGE, lambda w: Call(f"/associate/caisse/commandes/{w.order_to_cash}/etat")
    ),
    "POST /associate/caisse/commandes/{order_id}/ticket-email": Row(
        P_STORE_A_FORM,
        lambda w: Call(
            f"/associate/caisse/commandes/{w.order_to_cash}/ticket-email",
            form={"email": "a@example.com"},
        ),
    ),
    "GET /associate/caisse/commandes/{order_id}/ticket": Row(
        P_STORE_A_PAGE, lambda w: Call(f"/associate/caisse/commandes/{w.order_to_cash}/ticket")
    ),
    # The pickup desk acts for her store: another store's order is not on her shelf.
    "GET /associate/retraits": Row(P_STORE_PAGE, _page("/associate/retraits")),
    "POST /associate/retraits/{order_id}/prete": Row(
        P_STORE_FORM, lambda w: Call(f"/associate/retraits/{w.order_a}/prete")
    ),
    "POST /associate/retraits/{order_id}/arrivee": Row(
        P_STORE_FORM, lambda w: Call(f"/associate/retraits/{w.order_a}/arrivee")
    ),
    # No order is waiting with this code at her store: 404, once past the access check.
    "POST /associate/retraits/code": Row(
        "UU UU HNHH", _page("/associate/retraits/code", form={"code": "000000"})
    ),
    "POST /associate/retraits/{order_id}/remise": Row(
        P_STORE_FORM,
        lambda w: Call(f"/associate/retraits/{w.order_a}/remise", form={"code": "000000"}),
    ),
    # The hand-over page of store A's order: not found at store B's desk.
    "GET /associate/retraits/remise/{order_id}": Row(
        "SS SS YNYH", lambda w: Call(f"/associate/retraits/remise/{w.order_a}")
    ),
    # Any store takes a return.
    "GET /associate/retours": Row(P_STORE_PAGE, _page("/associate/retours")),
    "GET /associate/retours/{order_id}": Row(
        P_STORE_PAGE, lambda w: Call(f"/associate/retours/{w.order_a}")
    ),
    "POST /associate/retours/{order_id}": Row(
        P_STORE_FORM,
        lambda w: Call(
            f"/associate/retours/{w.order_a}",
            form={"idempotency_key": uuid4().hex, "line_id": w.order_line_a, "quantity": "0"},
        ),
    ),
    "GET /associate/retours/{order_id}/retour/{return_id}": Row(
        P_STORE_PAGE, lambda w: Call(f"/associate/retours/{w.order_a}/retour/{w.return_id}")
    ),
    "GET /associate/conseil": Row(P_STORE_PAGE, _page("/associate/conseil")),
    "GET /associate/conseil/liste": Row(P_STORE_PAGE, _page("/associate/conseil/liste")),
    "POST /associate/conseil/{request_id}/prendre": Row(
        P_STORE_A_FORM, lambda w: Call(f"/associate/conseil/{w.advice_request_2}/prendre")
    ),
    "POST /associate/conseil/{request_id}/terminer": Row(
        P_STORE_A_FORM, lambda w: Call(f"/associate/conseil/{w.advice_request_2}/terminer")
    ),
    "POST /associate/conseil/{request_id}/annuler": Row(
        P_STORE_A_FORM, lambda w: Call(f"/associate/conseil/{w.advice_request_2}/annuler")
    ),
    # --- the back office's journeys (half a period: refused before any query) -----------------
    "GET /gestion/parcours": Row(P_ANALYTICS, _page("/gestion/parcours", params=HALF_PERIOD)),
    "GET /gestion/parcours/etapes": Row(
        P_ANALYTICS, _page("/gestion/parcours/etapes", params=HALF_PERIOD)
    ),
    "GET /gestion/parcours/chemins": Row(
        P_ANALYTICS, _page("/gestion/parcours/chemins", params=HALF_PERIOD)
    ),
    "GET /gestion/parcours/web-magasin": Row(
        P_ANALYTICS, _page("/gestion/parcours/web-magasin", params=HALF_PERIOD)
    ),
    "GET /gestion/parcours/valeur": Row(
        P_ANALYTICS, _page("/gestion/parcours/valeur", params=HALF_PERIOD)
    ),
    "GET /gestion/parcours/frictions": Row(
        P_ANALYTICS, _page("/gestion/parcours/frictions", params=HALF_PERIOD)
    ),
    "GET /gestion/parcours/cohortes": Row(
        P_ANALYTICS, _page("/gestion/parcours/cohortes", params=HALF_PERIOD)
    ),
    "GET /gestion/parcours/entonnoir": Row(
        P_ANALYTICS, _page("/gestion/parcours/entonnoir", params=HALF_PERIOD)
    ),
    "GET /gestion/parcours/entonnoir/abandons": Row(
        P_ANALYTICS,
        _page("/gestion/parcours/entonnoir/abandons", params={**HALF_PERIOD, "at": "2"}),
    ),
    # --- last: what ends a session ------------------------------------------------------------
    "POST /kiosk/{store_code}/terminer": Row(P_KIOSK_DEVICE, _page("/kiosk/PAR-A/terminer")),
    "POST /compte/deconnexion": Row(P_PUBLIC, _page("/compte/deconnexion")),
    "POST /deconnexion": Row("UU UU YYYY", _page("/deconnexion")),
}
LAST_PAGES = ("POST /kiosk/{store_code}/terminer", "POST /compte/deconnexion", "POST /deconnexion")


#: Cells where the code is wrong today: (route, caller) -> what happens. The matrix above holds
#: the right answer; the test checks these cells still give the wrong one, so that a fix shows
#: up as a failure asking to delete the entry.
KNOWN_GAPS: dict[tuple[str, str], str] = {
    # Cells where the code is wrong today, each checked to still be wrong: (route, caller) ->
    # what happens and what should. Empty: the two found when the matrix grew are fixed.
}


@dataclass
class Caller:
    client: TestClient
    headers: dict[str, str] = field(default_factory=dict)
    keep_cookies: bool = False
    sign_in: Callable[[], None] | None = None  # a staff member's new session


@pytest.fixture
def world(client: TestClient, db: Database, shop: Shop, api_key: Callable[[KeyKind], str]) -> World:
    return build_world(client, db, shop, api_key)


@pytest.fixture
def callers(app: FastAPI, world: World, db: Database) -> Iterator[dict[str, Caller]]:
    """The API's callers, and the pages' (``web_*``: the same people in a browser)."""
    with ExitStack() as stack:

        def fresh(**cookies: str) -> TestClient:
            http = TestClient(app, base_url="https://testserver", cookies=cookies)
            return stack.enter_context(http)

        def staff(role: Role, *stores: str) -> Caller:
            # Sessions are opened directly, not through the sign-in form: a password hash each
            # would cost more than the rest of a caller's row; the sign-out rows need two each.
            with UnitOfWork(db) as uow:
                user_id = auth_service.create_staff_user(
                    uow=uow,
                    email=f"{role.value}-{len(stores)}-{uuid4().hex[:6]}@staff.example",
                    name=f"Matrix {role.value}",
                    role=role,
                    password=TEST_PASSWORD,
                    store_ids=frozenset(stores),
                ).id
                uow.commit()
            http = fresh()

            def sign_in() -> None:
                with UnitOfWork(db) as uow:
                    user = uow.session.get(StaffUser, user_id)
                    assert user is not None
                    opened = auth_service.open_staff_session(
                        uow=uow, user=user, max_age_seconds=3600
                    )
                    uow.commit()
                http.cookies.set(SESSION_COOKIE, opened.token)
                http.headers[CSRF_HEADER] = opened.csrf_token

            sign_in()
            return Caller(http, keep_cookies=True, sign_in=sign_in)

        kiosk = fresh()
        pair_screen(kiosk, db, world.shop.store_a, "PAR-A")
        chosen = kiosk.post(
            "/kiosk/PAR-A/selection",
            data={"variant_id": world.shop.variants["S"]},
            follow_redirects=False,
        )
        assert chosen.status_code < 400, chosen.text
        assert kiosk.cookies.get("parcours_kiosk"), "the kiosk holds its own session"
        admin = staff(Role.ADMIN)
        admin.client.cookies.set(STORE_COOKIE, world.shop.store_a)  # she acts at store A
        yield {
            "anonymous": Caller(fresh()),
            "kiosk": Caller(kiosk, keep_cookies=True),
            "shopper_a": Caller(fresh(), world.shopper_a),
            "shopper_b": Caller(fresh(), world.shopper_b),
            "publishable": Caller(fresh(), {"Authorization": f"Bearer {world.publishable}"}),
            "write": Caller(fresh(), {"Authorization": f"Bearer {world.write}"}),
            "secret": Caller(fresh(), {"Authorization": f"Bearer {world.secret}"}),
            "admin": admin,
            "manager": staff(Role.MANAGER),
            "marketer": staff(Role.MARKETER),
            "associate_a": staff(Role.ASSOCIATE, world.shop.store_a),
            "associate_b": staff(Role.ASSOCIATE, world.shop.store_b),
            "web_shopper_a": Caller(
                fresh(parcours_shopper=world.shopper_a["X-Shopper-Token"]), keep_cookies=True
            ),
            "web_shopper_b": Caller(
                fresh(parcours_shopper=world.shopper_b["X-Shopper-Token"]), keep_cookies=True
            ),
        }


def _with_the_kiosk_selection(world: World, db: Database) -> World:
    """The world, with the line and cart of the selection the kiosk caller made."""
    with UnitOfWork(db, read_only=True) as uow:
        cart = uow.session.scalars(select(Cart).where(Cart.channel == "kiosk")).one()
        line = uow.session.scalars(select(CartLine.id).where(CartLine.cart_id == cart.id)).one()
        return replace(world, kiosk_cart=cart.id, kiosk_line=line)


@dataclass(frozen=True)
class Answer:
    status: int
    code: str = ""  # the problem's code, if the answer is a problem
    location: str = ""
    text: str = ""


def _send(caller: Caller, method: str, call: Call, *, page: bool) -> Answer:
    if not caller.keep_cookies:
        caller.client.cookies.clear()
    headers = {**caller.headers, "Idempotency-Key": uuid4().hex}
    if page:
        headers = {"Accept": "text/html", "Origin": "https://testserver"}
    if call.content_type:
        headers["Content-Type"] = call.content_type
    options: dict[str, Any] = {
        "headers": headers,
        "params": call.params,
        "follow_redirects": False,
    }
    if call.files is not None:
        options["files"] = call.files
        if call.form is not None:
            options["data"] = call.form
    elif call.form is not None:
        options["data"] = call.form
    elif call.content is not None:
        options["content"] = call.content
    elif call.json is not None:
        options["json"] = call.json
    with caller.client.stream(method, call.path, **options) as answer:
        if call.stream and answer.status_code == 200:
            return Answer(200)  # the stream is open: hang up
        answer.read()
    code = ""
    if answer.headers.get("content-type", "").startswith("application/problem+json"):
        code = str(answer.json().get("code", ""))
    if answer.status_code in (401, 403) and not page:
        assert code, f"{method} {call.path}: {answer.status_code} is not a problem: {answer.text}"
    return Answer(answer.status_code, code, answer.headers.get("location", ""), answer.text)


def _outcome(answer: Answer, *, page: bool) -> str:
    if answer.status in (401, 403):
        return {401: U, 403: N}[answer.status]
    if page and answer.status == 404:
        return "H"
    if page and answer.status in (302, 303, 307):
        if answer.location.startswith("/connexion"):
            return "S"
        if "erreur=store_out_of_scope" in answer.location:
            return N
    return Y


def _served(app: FastAPI, *, in_schema: bool) -> set[str]:
    return {
        f"{method} {route.path}"
        for route in api_routes(app.routes)
        if route.include_in_schema is in_schema
        for method in route.methods - {"HEAD"}
    }


def test_every_route_has_a_row(app: FastAPI) -> None:
    for table, columns, in_schema in ((ROUTES, CALLERS, True), (PAGES, PAGE_CALLERS, False)):
        served = _served(app, in_schema=in_schema)
        assert sorted(served - table.keys()) == [], "routes without a row: say who may call them"
        assert sorted(table.keys() - served) == [], "rows of routes the app no longer serves"
        for route, row in table.items():
            assert len(row.outcomes) == len(columns), route
    for route, caller in KNOWN_GAPS:
        assert route in ROUTES or route in PAGES, route
        assert caller in CALLERS or caller in PAGE_CALLERS, caller


def _plan() -> Iterator[tuple[str, Row, bool]]:
    """Every row, in the order that keeps each one's objects alive: what ends them runs last
    (the API's sign-outs first: the kiosk's and the pages' need no shopper session)."""
    yield from ((route, row, False) for route, row in ROUTES.items() if route not in LAST_ROUTES)
    yield from ((route, row, True) for route, row in PAGES.items() if route not in LAST_PAGES)
    yield from ((route, ROUTES[route], False) for route in LAST_ROUTES)
    yield from ((route, PAGES[route], True) for route in LAST_PAGES)


#: Signs staff out, after the API's sign-out did: each staff caller signs in again first.
SIGNED_OUT_TWICE = "POST /deconnexion"


def _surprising(answer: Answer, got: str, call: Call) -> bool:
    """An answer that says the world or the request is wrong, not who may call."""
    if answer.status >= 500 or answer.status == 405:
        return True
    return answer.status == 404 and got == Y and not call.gone


#: The pages' callers among the fixture's: shoppers browse with their cookie.
_BROWSER = {"shopper_a": "web_shopper_a", "shopper_b": "web_shopper_b"}


def test_authorization_matrix(world: World, callers: dict[str, Caller], db: Database) -> None:
    world = _with_the_kiosk_selection(world, db)
    wrong: list[str] = []
    odd: list[str] = []
    fixed: list[str] = []
    for route, row, page in _plan():
        if route == SIGNED_OUT_TWICE:
            for caller in callers.values():
                if caller.sign_in is not None:
                    caller.sign_in()
        method = route.split(" ", 1)[0]
        call = row.call(world)
        for caller, expected in row.callers(PAGE_CALLERS if page else CALLERS):
            who = _BROWSER.get(caller, caller) if page else caller
            answer = _send(callers[who], method, call, page=page)
            got = _outcome(answer, page=page)
            cell = f"{route} as {caller}: {answer.status} {answer.code}".rstrip()
            if _surprising(answer, got, call):
                odd.append(cell)
            if (route, caller) in KNOWN_GAPS:
                if not (row.still_wrong(answer) if row.still_wrong else got != expected):
                    fixed.append(f"{cell} (now {expected}: remove it from KNOWN_GAPS)")
            elif got != expected:
                wrong.append(f"{cell}: expected {expected}, got {got}")
    assert wrong == [], "cells whose outcome is not the matrix's:\n" + "\n".join(wrong)
    assert fixed == [], "known gaps that are fixed:\n" + "\n".join(fixed)
    assert odd == [], "cells decided by something else than authorisation:\n" + "\n".join(odd)


def test_an_associate_is_told_why_she_cannot_touch_another_store(
    shop: Shop, staff_client: Callable[..., TestClient]
) -> None:
    """The matrix's 403s say why: here, the store is not hers."""
    associate = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    response = associate.post(
        "/v1/stock/adjustments",
        json={
            "variant_id": shop.variants["S"],
            "location_id": shop.store_b,
            "delta": 5,
            "reason": "erreur",
        },
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "store_out_of_scope"
