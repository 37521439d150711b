"""The caller of a request and the access policies endpoints declare.

Every route depends on exactly one :class:`AccessPolicy`; a test walks the app's routes to prove it.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Literal

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from parcours.core.auth.models import KeyKind, Role
from parcours.core.errors import Forbidden, Unauthenticated

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["staff", "api_key", "anonymous"]
    id: str | None = None
    role: Role | None = None
    store_ids: frozenset[str] = field(default_factory=frozenset)
    key_kind: KeyKind | None = None
    csrf_token: str | None = None
    name: str = ""
    source: str | None = None  # a write key's source (web, app, till…)

    @property
    def is_authenticated(self) -> bool:
        return self.kind != "anonymous"

    @property
    def acts_for_all_stores(self) -> bool:
        """Admins, managers and server keys act for every store; associates for theirs only."""
        if self.kind == "api_key":
            return self.key_kind is KeyKind.SECRET
        return self.role in (Role.ADMIN, Role.MANAGER)

    def can_act_for_store(self, store_id: str) -> bool:
        return self.acts_for_all_stores or store_id in self.store_ids

    def require_store(self, store_id: str) -> None:
        """Refuse to act on a store the caller is not scoped to."""
        if not self.can_act_for_store(store_id):
            raise Forbidden(
                "you may not act for this store", code="store_out_of_scope", store_id=store_id
            )

    def require_any_store(self, store_ids: frozenset[str] | set[str]) -> None:
        """Refuse to act on something that belongs to stores (an order: where it was placed,
        collected or shipped from) unless the caller acts for one of them."""
        if not any(self.can_act_for_store(store_id) for store_id in store_ids):
            raise Forbidden("this belongs to another store than yours", code="store_out_of_scope")


ANONYMOUS = Principal(kind="anonymous")


class AccessPolicy:
    """Who may call an endpoint; instances are FastAPI dependencies returning the caller.

    ``roles``: staff roles allowed; ``keys``: API key kinds allowed; ``public``: anyone.
    """

    def __init__(
        self,
        name: str,
        *,
        roles: frozenset[Role] = frozenset(),
        keys: frozenset[KeyKind] = frozenset(),
        public: bool = False,
    ) -> None:
        self.name = name
        self.roles = roles
        self.keys = keys
        self.public = public

    async def __call__(self, request: Request) -> Principal:
        from parcours.core.auth.http import known_principal, resolve_principal

        principal: Principal | None = getattr(request.state, "principal", None)
        if principal is None:
            # A cached API key or no credentials at all: answered here, without a thread hop.
            principal = known_principal(request)
            if principal is None:
                principal = await run_in_threadpool(resolve_principal, request)
            request.state.principal = principal
        if principal.kind == "staff" and request.method in UNSAFE_METHODS:
            await _verify_csrf(request, principal)
        return self.check(principal)

    def allows(self, principal: Principal) -> bool:
        if self.public:
            return True
        if principal.kind == "staff":
            return principal.role in self.roles
        if principal.kind == "api_key":
            return principal.key_kind in self.keys
        return False

    def check(self, principal: Principal) -> Principal:
        if self.allows(principal):
            return principal
        if not principal.is_authenticated:
            raise Unauthenticated(
                "sign in, or send an API key as 'Authorization: Bearer <key>'",
                headers={"WWW-Authenticate": 'Bearer realm="parcours"'},
            )
        raise Forbidden(f"this action needs: {self.describe()}", code="insufficient_role")

    def describe(self) -> str:
        if self.public:
            return "anyone"
        parts = [f"staff role {', '.join(sorted(self.roles))}"] if self.roles else []
        if self.keys:
            parts.append(f"{' or '.join(sorted(self.keys))} API key")
        return " or ".join(parts)

    def __repr__(self) -> str:
        return f"AccessPolicy({self.name}: {self.describe()})"


ALL_STAFF = frozenset(Role)
BACK_OFFICE = frozenset({Role.ADMIN, Role.MANAGER})
STORE_STAFF = frozenset({Role.ADMIN, Role.MANAGER, Role.ASSOCIATE})

#: The policies endpoints use. Keep the list short: a new one is a product decision.
PUBLIC = AccessPolicy("public", public=True)
CATALOG_READ = AccessPolicy(
    "catalog_read", roles=ALL_STAFF, keys=frozenset({KeyKind.SECRET, KeyKind.PUBLISHABLE})
)
CATALOG_WRITE = AccessPolicy("catalog_write", roles=BACK_OFFICE, keys=frozenset({KeyKind.SECRET}))
STORES_WRITE = AccessPolicy("stores_write", roles=BACK_OFFICE, keys=frozenset({KeyKind.SECRET}))
STOCK_READ = AccessPolicy(
    "stock_read", roles=frozenset({*STORE_STAFF, Role.MARKETER}), keys=frozenset({KeyKind.SECRET})
)
STOCK_WRITE = AccessPolicy("stock_write", roles=STORE_STAFF, keys=frozenset({KeyKind.SECRET}))
RESERVE_STOCK = AccessPolicy("reserve_stock", roles=STORE_STAFF, keys=frozenset({KeyKind.SECRET}))
#: The storefront (web, app, kiosk) speaking for a shopper: publishable or secret keys.
STOREFRONT = AccessPolicy("storefront", keys=frozenset({KeyKind.PUBLISHABLE, KeyKind.SECRET}))
ADMIN = AccessPolicy("admin", roles=frozenset({Role.ADMIN}))
ANY_STAFF = AccessPolicy("any_staff", roles=ALL_STAFF)


async def _verify_csrf(request: Request, principal: Principal) -> None:
    """Cookie-authenticated writes carry the session's CSRF token, in a header or a form field."""
    sent = request.headers.get(CSRF_HEADER)
    form = None
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()  # Starlette caches it: the endpoint reads it again for free
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    expected = principal.csrf_token or ""
    if not sent or not hmac.compare_digest(sent, expected):
        if form is not None:
            await form.close()  # uploads spooled to temporary files are released now
        raise Forbidden(
            f"missing or wrong CSRF token: send the {CSRF_HEADER} header of your session",
            code="csrf_failed",
        )
