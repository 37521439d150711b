"""Finding the caller of a request: an API key in the Authorization header, or a staff session
cookie. Key look-ups are cached for a few seconds because storefront reads carry a key on every
request; revoking a key clears this process's cache at once, other processes within the TTL."""

from __future__ import annotations

import time
from threading import Lock

from starlette.requests import Request

from parcours.core.auth.principal import ANONYMOUS, Principal
from parcours.core.auth.service import principal_for_api_key, principal_for_session
from parcours.core.uow import UnitOfWork

SESSION_COOKIE = "parcours_session"
KEY_CACHE_SECONDS = 10.0


class ApiKeyCache:
    def __init__(self, ttl: float = KEY_CACHE_SECONDS) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Principal | None]] = {}
        self._lock = Lock()

    def get(self, token: str) -> tuple[bool, Principal | None]:
        entry = self._entries.get(token)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, token: str, principal: Principal | None) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[token] = (time.monotonic() + self.ttl, principal)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _key_principal(principal: Principal | None) -> Principal:
    from parcours.core.errors import Unauthenticated

    if principal is None:
        raise Unauthenticated("this API key is unknown or revoked", code="invalid_api_key")
    return principal


def known_principal(request: Request) -> Principal | None:
    """The caller when no database is needed to tell (an API key in the cache, or no
    credentials: anonymous), else ``None``: then call :func:`resolve_principal` in a thread.
    Same answers and errors as :func:`resolve_principal`; safe on the event loop."""
    token = _bearer_token(request)
    if token is not None:
        cache: ApiKeyCache = request.app.state.api_key_cache
        hit, principal = cache.get(token)
        return _key_principal(principal) if hit else None
    if request.cookies.get(SESSION_COOKIE):
        return None
    return ANONYMOUS


def resolve_principal(request: Request) -> Principal:
    """Who is calling. A bad key is an error, not anonymity: the caller meant to authenticate."""
    db = request.app.state.db
    token = _bearer_token(request)
    if token is not None:
        cache: ApiKeyCache = request.app.state.api_key_cache
        hit, principal = cache.get(token)
        if not hit:
            with UnitOfWork(db, read_only=True) as uow:
                principal = principal_for_api_key(uow=uow, token=token)
            cache.put(token, principal)
        return _key_principal(principal)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with UnitOfWork(db, read_only=True) as uow:
            principal = principal_for_session(uow=uow, token=cookie)
        if principal is not None:
            return principal
    return ANONYMOUS
