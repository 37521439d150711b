"""A page's form posted from another site is refused and changes nothing: the shopper's
account, consents and cart, and the staff pages, act only on requests from the shop's pages."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.web.test_storefront_account import EMAIL, _profile_id, _sign_in

from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.models import IdentifierKind

EVIL = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}


@pytest.mark.parametrize(
    "headers",
    [
        EVIL,
        {"Origin": "https://evil.example"},  # a browser that does not send Sec-Fetch-Site
        {"Origin": "null"},  # a sandboxed frame or a privacy redirect
        {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain is another site's pages
    ],
)
def test_a_cross_site_post_cannot_erase_the_signed_in_shopper(
    client: TestClient, db: Database, headers: dict[str, str]
) -> None:
    _sign_in(client, db)
    profile_id = _profile_id(db)
    forged = client.post(
        "/compte/suppression", data={"confirm": "oui"}, headers=headers, follow_redirects=False
    )
    assert forged.status_code == 403
    assert forged.headers["content-type"] == "application/problem+json"
    assert forged.json()["code"] == "cross_site_request"
    with UnitOfWork(db, read_only=True) as uow:
        assert customers.find_profile(uow=uow, kind=IdentifierKind.EMAIL, value=EMAIL) is not None
        assert customers.resolve_profile(uow=uow, profile_id=profile_id).erased_at is None


def test_the_shops_own_pages_still_post(client: TestClient, db: Database) -> None:
    _sign_in(client, db)
    own = {"Origin": "https://testserver", "Sec-Fetch-Site": "same-origin"}
    answer = client.post(
        "/compte/suppression", data={"confirm": "oui"}, headers=own, follow_redirects=False
    )
    assert answer.headers["location"] == "/compte/au-revoir"
    # An older browser sends Origin alone: the shop's own host is enough.
    assert (
        client.post(
            "/compte/code", data={"email": "x@exemple.fr"}, headers={"Origin": "https://testserver"}
        ).status_code
        == 200
    )


def test_every_page_form_is_guarded(client: TestClient) -> None:
    for path in ("/compte/code", "/connexion", "/panier/lignes", "/kiosk/PAR/conseiller"):
        answer = client.post(path, data={}, headers=EVIL)
        assert answer.status_code == 403, path
        assert answer.json()["code"] == "cross_site_request"


def test_the_json_api_is_left_to_its_keys(client: TestClient) -> None:
    # A merchant's website sends events cross-origin on purpose; keys decide there.
    answer = client.post("/v1/track", json={}, headers=EVIL)
    assert answer.status_code == 401
