"""How a shopper's session travels over HTTP: a header for apps, a cookie for the storefront's
pages. Every context that speaks for a shopper (carts, orders, calls for an adviser) reads it here.
"""

from __future__ import annotations

from starlette.requests import Request

SHOPPER_HEADER = "X-Shopper-Token"
SHOPPER_COOKIE = "parcours_shopper"


def shopper_token(request: Request) -> str | None:
    """The shopper's session token, from the header or the cookie."""
    return request.headers.get(SHOPPER_HEADER) or request.cookies.get(SHOPPER_COOKIE)
