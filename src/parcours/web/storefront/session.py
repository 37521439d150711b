"""The shopper's session in the storefront's pages: found from her cookie, opened on her first
action (an add to cart, a sign-in code, a scan), and kept in an HttpOnly cookie.

A session opened after she accepted audience measurement takes her first-party analytics id
(the ``parcours_aid`` cookie the tracking module sets only with consent) as its anonymous id, so
her cart and her page events belong to the same device from the start.
"""

from __future__ import annotations

from fastapi import Request, Response

from parcours.core.settings import Settings
from parcours.core.uow import UnitOfWork
from parcours.customers import shoppers
from parcours.customers.http import SHOPPER_COOKIE
from parcours.customers.models import ShopperSession

#: Set by ``parcours-track.js`` once she accepted audience measurement, never before.
ANALYTICS_ID_COOKIE = "parcours_aid"


def shopper_session(request: Request, uow: UnitOfWork) -> ShopperSession | None:
    """Her live session from the cookie, or None."""
    token = request.cookies.get(SHOPPER_COOKIE)
    return shoppers.find_shopper_session(uow=uow, token=token) if token else None


def open_shopper_session(
    request: Request, uow: UnitOfWork, *, channel: str = "web"
) -> tuple[ShopperSession, str | None]:
    """Her session, opened if she has none; the token is returned only when a new one was
    opened (the caller sets the cookie on its response)."""
    found = shopper_session(request, uow)
    if found is not None:
        return found, None
    analytics_id = request.cookies.get(ANALYTICS_ID_COOKIE) or None
    if analytics_id is not None and len(analytics_id) > shoppers.MAX_ANONYMOUS_ID:
        analytics_id = None
    started = shoppers.start_shopper_session(uow=uow, channel=channel, anonymous_id=analytics_id)
    return started.session, started.token


def set_shopper_cookie(response: Response, token: str | None, settings: Settings) -> None:
    """Keep a newly opened session on her device (nothing to do for an existing one)."""
    if token is None:
        return
    response.set_cookie(
        SHOPPER_COOKIE,
        token,
        max_age=int(shoppers.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        secure=settings.session_cookie_secure,
        samesite="lax",
    )
