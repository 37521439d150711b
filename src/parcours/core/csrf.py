"""Cross-site request forgery: a page's form is only ever posted from the shop's own pages.

The storefront's, the kiosk's and the staff pages' forms act with a cookie session, which a
browser attaches to a request whatever site sent it (a cookie that is ``SameSite=Lax`` still
travels on some cross-site navigations, and older browsers ignore the attribute). Every browser
in use says where a request comes from: ``Sec-Fetch-Site`` (Chrome, Edge, Firefox, Safari since
2023) and ``Origin`` on every POST. So a state-changing request to a page is refused when the
browser says it came from another site — the check Go's ``net/http.CrossOriginProtection`` and
Django's ``CsrfViewMiddleware`` (its Origin branch) make, without a token to thread through
every form. A request with neither header is not from a browser, so it carries no ambient
cookie a forger could borrow (a server with a key, a test client).

The JSON API under ``/v1`` is not checked here: it is called cross-origin on purpose (a
merchant's own website sending events, SDKs), authenticates with keys in headers, and its staff
cookie sessions must also send the ``X-CSRF-Token`` header that a cross-site form cannot set.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from parcours.core.errors import problem

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_TRUSTED_FETCH_SITES = frozenset({b"same-origin", b"none"})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


class CrossSiteRequestGuard:
    """Refuse (403 ``cross_site_request``) a page form posted from another site."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        trusted_origins: frozenset[str] = frozenset(),
        api_prefix: str = "/v1/",
    ) -> None:
        self.app = app
        self.trusted_origins = frozenset(o.lower().rstrip("/") for o in trusted_origins)
        self.api_prefix = api_prefix

    def _allowed(self, scope: Scope) -> bool:
        fetch_site = _header(scope, b"sec-fetch-site")
        if fetch_site is not None:
            return fetch_site in _TRUSTED_FETCH_SITES
        origin = _header(scope, b"origin")
        if origin is None:
            return True  # not a browser: no cookie of someone else's to ride on
        claimed = origin.decode("latin-1").lower().rstrip("/")
        if claimed in self.trusted_origins:
            return True
        host = _header(scope, b"host")
        return host is not None and urlsplit(claimed).netloc == host.decode("latin-1").lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in _UNSAFE
            and not scope["path"].startswith(self.api_prefix)
            and not self._allowed(scope)
        ):
            await problem(
                403,
                "cross_site_request",
                "Cross-site request refused",
                "this form can only be sent from the shop's own pages",
            )(scope, receive, send)
            return
        await self.app(scope, receive, send)


def trusted_origins_of(*urls: str | None) -> frozenset[str]:
    """The origins of the public URLs the shop is served under (behind a proxy, the browser's
    Origin names the public host, not the one the server sees)."""
    return frozenset(origin for url in urls if url and (origin := _origin_of(url)) is not None)
