"""The storefront's account pages: code sign-in (and the cart that follows her), orders from
every channel, the loyalty card, consents, the data download and the account's deletion."""

from __future__ import annotations

import html
import json
import re

from babel.dates import format_datetime
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.carts.conftest import mailed_code
from tests.conftest import PARIS, Clock, Shop

from parcours.core.clock import as_utc
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.models import ConsentPurpose, IdentifierKind

EMAIL = "ines.petit@exemple.fr"


def _sign_in(client: TestClient, db: Database, email: str = EMAIL) -> None:
    sent = client.post("/compte/code", data={"email": email})
    assert sent.status_code == 200
    assert 'autocomplete="one-time-code"' in sent.text
    answer = client.post(
        "/compte/connexion",
        data={"email": email, "code": mailed_code(db, email)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


def _profile_id(db: Database, email: str = EMAIL) -> str:
    with UnitOfWork(db, read_only=True) as uow:
        profile = customers.find_profile(uow=uow, kind=IdentifierKind.EMAIL, value=email)
        assert profile is not None
        return profile.id


def test_signing_in_brings_the_phone_cart_to_the_desktop(
    client: TestClient, app: FastAPI, db: Database, shop: Shop
) -> None:
    assert "Recevoir mon code" in client.get("/compte").text
    client.post("/panier/lignes", data={"variant_id": shop.variants["S"]})
    _sign_in(client, db)
    with TestClient(app, base_url="https://testserver") as desktop:
        assert "Votre panier est vide." in desktop.get("/panier").text
        _sign_in(desktop, db)
        cart = desktop.get("/panier").text
        assert "Pantalon noir" in cart


def test_a_wrong_code_is_refused(client: TestClient, db: Database) -> None:
    client.post("/compte/code", data={"email": EMAIL})
    wrong = client.post("/compte/connexion", data={"email": EMAIL, "code": "000000"})
    if wrong.status_code == 303:  # pragma: no cover - one chance in a million
        return
    assert wrong.status_code == 422
    assert "incorrect" in wrong.text


def test_account_shows_the_loyalty_card_and_every_channel_orders(
    client: TestClient, db: Database, shop: Shop
) -> None:
    _sign_in(client, db)
    page = client.get("/compte").text
    number = re.search(r'data-testid="loyalty-number">(PC\d{8})<', page)
    assert number is not None
    assert "<svg" in page
    # The associate's search finds her by that exact number.
    with UnitOfWork(db, read_only=True) as uow:
        found = customers.find_profile(
            uow=uow, kind=IdentifierKind.LOYALTY_CARD, value=number.group(1)
        )
        assert found is not None
        assert found.id == _profile_id(db)
    # An order placed from this session is listed.
    client.post("/panier/lignes", data={"variant_id": shop.variants["S"]})
    version = re.search(r'name="version" value="(\d+)"', client.get("/commande").text)
    assert version is not None
    client.post(
        "/commande",
        data={
            "email": EMAIL,
            "method": "reserve_in_store",
            "reserve_store": shop.store_a,
            "version": version.group(1),
        },
    )
    account = client.get("/compte").text
    assert "Commande " in account
    # Her order's line reads as words: "1 article", never a Python repr or an empty value.
    assert re.search(r"· 1 article\b", account), account
    for leak in ("<built-in", "object at 0x", "None", "{{", "{%"):
        assert leak not in account, leak


def test_consents_are_recorded_with_their_date(
    client: TestClient, db: Database, clock: Clock
) -> None:
    _sign_in(client, db)
    before = clock.now()
    answer = client.post(
        "/compte/consentements", data={"marketing_email": "on"}, follow_redirects=False
    )
    assert answer.status_code == 303
    with UnitOfWork(db, read_only=True) as uow:
        current = customers.current_consents(uow=uow, profile_id=_profile_id(db))
    email = current[ConsentPurpose.MARKETING_EMAIL]
    assert email.granted is True
    assert before <= as_utc(email.recorded_at) <= clock.now()
    assert ConsentPurpose.MARKETING_SMS not in current
    page = html.unescape(client.get("/compte").text)
    # The date and time she chose, in Paris: "choix du mercredi 10 juin, 12:00".
    when = format_datetime(
        as_utc(email.recorded_at), "EEEE d MMMM, HH:mm", tzinfo=PARIS, locale="fr_FR"
    )
    assert f"choix du {when}" in page
    client.post("/compte/consentements", data={})
    with UnitOfWork(db, read_only=True) as uow:
        current = customers.current_consents(uow=uow, profile_id=_profile_id(db))
    assert current[ConsentPurpose.MARKETING_EMAIL].granted is False


def test_download_my_data_is_her_own_json(client: TestClient, db: Database) -> None:
    assert client.get("/compte/donnees", follow_redirects=False).status_code == 303
    _sign_in(client, db)
    answer = client.get("/compte/donnees")
    assert answer.headers["content-type"].startswith("application/json")
    assert "attachment" in answer.headers["content-disposition"]
    document = json.loads(answer.text)
    assert any(i["value"] == EMAIL for i in document["identifiers"])


def test_deleting_the_account_erases_her_and_signs_her_out(
    client: TestClient, db: Database
) -> None:
    _sign_in(client, db)
    profile_id = _profile_id(db)
    assert "définitif" in html.unescape(client.get("/compte/suppression").text)
    unconfirmed = client.post("/compte/suppression", data={})
    assert unconfirmed.status_code == 422
    answer = client.post("/compte/suppression", data={"confirm": "oui"}, follow_redirects=False)
    assert answer.headers["location"] == "/compte/au-revoir"
    assert "supprimé" in client.get("/compte/au-revoir").text
    with UnitOfWork(db, read_only=True) as uow:
        assert customers.find_profile(uow=uow, kind=IdentifierKind.EMAIL, value=EMAIL) is None
        assert customers.resolve_profile(uow=uow, profile_id=profile_id).erased_at is not None
    assert "Recevoir mon code" in client.get("/compte").text


def test_sign_out_ends_the_session(client: TestClient, db: Database) -> None:
    _sign_in(client, db)
    client.post("/compte/deconnexion")
    assert "Recevoir mon code" in client.get("/compte").text
