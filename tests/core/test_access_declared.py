"""Every endpoint declares who may call it: exactly one access policy per route."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from parcours.core.auth.principal import AccessPolicy


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every API route, through included routers (FastAPI keeps those as wrappers)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        original = getattr(route, "original_router", None)
        if original is not None:
            yield from api_routes(original.routes)


def _policies(dependant: Dependant) -> list[AccessPolicy]:
    found = [dependant.call] if isinstance(dependant.call, AccessPolicy) else []
    for sub in dependant.dependencies:
        found.extend(_policies(sub))
    return found


def test_every_route_declares_exactly_one_access_policy(app: FastAPI) -> None:
    undeclared, ambiguous = [], []
    routes = list(api_routes(app.routes))
    assert len(routes) > 30
    for route in routes:
        policies = {p.name for p in _policies(route.dependant)}
        label = f"{sorted(route.methods)} {route.path}"
        if not policies:
            undeclared.append(label)
        elif len(policies) > 1:
            ambiguous.append(f"{label}: {sorted(policies)}")
    assert undeclared == [], "routes without an access policy"
    assert ambiguous == [], "routes with several access policies"


def test_write_routes_are_never_public(app: FastAPI) -> None:
    # Each of these carries its own credential instead of an account: a sign-in form, the
    # shopper's cart cookie (created on the first add), a payment's client secret, a payment
    # link's token, Stripe's signature.
    allowed_public_writes = {
        "/v1/sessions",
        "/connexion",
        "/panier/lignes",
        "/panier/code",
        "/v1/payments/{payment_id}/3ds",
        "/v1/payment-links/{token}/payments",
        "/v1/payments/stripe/webhook",
    }
    public_writes = [
        route.path
        for route in api_routes(app.routes)
        if route.methods & {"POST", "PUT", "PATCH", "DELETE"}
        and any(p.public for p in _policies(route.dependant))
        and route.path not in allowed_public_writes
    ]
    assert public_writes == []
