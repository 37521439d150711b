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
        # The shopper's scanner: what her camera read, or her photo, goes into her cart (cookie).
        "/scanner/code",
        "/scanner/photo",
        # The in-store kiosk: no shopper account by design. The screen's credential is the
        # kiosk's device token (paired by the store's staff from /associate/bornes, HttpOnly,
        # SameSite=Strict, revocable): every write below is refused without a valid one for
        # that store; its own session cookie holds the selection.
        "/kiosk/{store_code}/selection",
        "/kiosk/{store_code}/selection/{line_id}/retirer",
        "/kiosk/{store_code}/terminer",
        "/kiosk/{store_code}/telephone",
        "/kiosk/{store_code}/commander/{variant_id}",
        "/kiosk/{store_code}/conseiller",
        # Pairing the screen: the one-time code (10 minutes) issued by the store's staff is the
        # credential, traded for the kiosk's device token.
        "/kiosk/{store_code}/appairer",
        # The kiosk's handoff QR: its single-use token is the credential.
        "/panier/reprendre/{token}",
        # The shopper's own cookie (her session) is the credential; SameSite=Lax keeps other
        # sites from posting with it. Each acts on her own cart, order or profile only.
        "/panier/lignes/{line_id}",
        "/panier/promo",
        "/commande",
        "/commandes/{order_id}/paiement",
        "/commandes/{order_id}/paiement/3ds",
        "/commandes/{order_id}/arrivee",
        "/compte/code",
        "/compte/connexion",
        "/compte/deconnexion",
        "/compte/carte",
        "/compte/consentements",
        "/compte/suppression",
        # A payment link's token is the credential, as on the JSON route.
        "/payer/{token}",
        "/v1/payments/{payment_id}/3ds",
        "/v1/payment-links/{token}/payments",
        "/v1/payments/stripe/webhook",
        # The cookie banner's answer and the browser's push subscription: same-origin JSON
        # from the shop's pages (Origin checked), acting only for the shopper's cookie session.
        "/consentement",
        "/push/abonnement",
    }
    public_writes = [
        route.path
        for route in api_routes(app.routes)
        if route.methods & {"POST", "PUT", "PATCH", "DELETE"}
        and any(p.public for p in _policies(route.dependant))
        and route.path not in allowed_public_writes
    ]
    assert public_writes == []
