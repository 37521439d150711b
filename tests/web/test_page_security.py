"""What every page tells the browser: a Content-Security-Policy without inline script or style
(the templates hold none), and, for staff pages, never to keep them."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from tests.conftest import Shop

from parcours.core.auth.models import Role
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.payments import challenge

TEMPLATES = Path(__file__).parents[2] / "src" / "parcours" / "web" / "templates"
# Inline code a 'self'-only policy would block: a <script> without src that is not a JSON data
# block, an on* handler attribute, a style attribute or element, a javascript: URL.
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/(?:ld\+)?json)[^>]*>")
_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
_STYLE = re.compile(r"<style\b|<[^>]*\sstyle\s*=|javascript:", re.IGNORECASE)


def _policy(response_headers: dict[str, str]) -> dict[str, str]:
    policy = response_headers["content-security-policy"]
    return dict(part.strip().partition(" ")[::2] for part in policy.split(";"))


def test_templates_hold_no_inline_script_or_style() -> None:
    offenders = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        text = template.read_text()
        for pattern in (_INLINE_SCRIPT, _HANDLER, _STYLE):
            offenders += [
                f"{template.relative_to(TEMPLATES)}: {m.group()}" for m in pattern.finditer(text)
            ]
    # The test provider's 3-D Secure page is written in Python, not a template.
    page = challenge._PAGE
    offenders += [
        f"payments/challenge.py: {m.group()}"
        for pattern in (_INLINE_SCRIPT, _HANDLER, _STYLE)
        for m in pattern.finditer(page)
    ]
    assert offenders == []


def test_pages_carry_a_content_security_policy_and_api_answers_do_not(
    client: TestClient, shop: Shop, staff_client: Callable[..., TestClient]
) -> None:
    manager = staff_client(Role.MANAGER)
    pages = [
        client.get("/"),
        client.get(f"/produits/{shop.product_slug}"),
        client.get("/connexion"),
        manager.get("/gestion/parcours"),
    ]
    for page in pages:
        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        policy = _policy(page.headers)
        assert policy["script-src"] == "'self' 'wasm-unsafe-eval'"
        assert policy["style-src"] == "'self'"
        assert policy["object-src"] == "'none'"
        assert policy["frame-ancestors"] == "'none'"
        assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert "content-security-policy" not in client.get("/healthz").headers


def test_staff_pages_are_never_stored(
    db: Database, shop: Shop, staff_client: Callable[..., TestClient]
) -> None:
    with UnitOfWork(db) as uow:
        profile = customers.identify(
            uow=uow, traits={"first_name": "Inès", "email": "ines@example.com"}, channel="web"
        )
        profile_id = profile.id
        uow.commit()
    associate = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    ordered = associate.post(
        f"/associate/produits/{shop.product_id}/commander",
        data={
            "variant_id": shop.variants["L"],
            "mode": "pickup",
            "client": profile_id,
            "csrf_token": associate.headers["X-CSRF-Token"],
        },
        follow_redirects=False,
    )
    assert ordered.status_code == 303, ordered.text
    order_id = ordered.headers["location"].rsplit("/", 1)[-1]
    for path in (
        "/associate",
        f"/associate/clients/{profile_id}",
        "/associate/retraits",
        f"/associate/retraits/remise/{order_id}",
        f"/associate/caisse/commandes/{order_id}",
        f"/associate/caisse/commandes/{order_id}/ticket",
        f"/associate/produits/{shop.product_id}",
    ):
        page = associate.get(path)
        assert page.status_code == 200, (path, page.text)
        assert page.headers["cache-control"] == "no-store", path
        assert "content-security-policy" in page.headers, path
    backoffice = staff_client(Role.MARKETER).get("/gestion/parcours")
    assert backoffice.headers["cache-control"] == "no-store"
