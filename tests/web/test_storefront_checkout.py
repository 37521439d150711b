"""The storefront's cart, checkout, payment, order and pay-by-link pages, as a browser posts them
(forms, cookies, redirects)."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.conftest import Shop, card_expiry_field

from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.orders import service as orders
from parcours.orders.models import Order
from parcours.payments import service as payments
from parcours.payments.models import Payment

CARD_OK = "4242 4242 4242 4242"


def _add(client: TestClient, variant_id: str) -> None:
    answer = client.post("/panier/lignes", data={"variant_id": variant_id}, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def _checkout(client: TestClient, shop: Shop, **form: str) -> str:
    page = client.get("/commande")
    assert page.status_code == 200, page.text
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version is not None
    data = {
        "email": "ines@exemple.fr",
        "method": "click_and_collect",
        "collect_store": shop.store_a,
        "version": version.group(1),
        **form,
    }
    answer = client.post("/commande", data=data, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


def _key(page_text: str) -> str:
    found = re.search(r'name="idempotency_key" value="([^"]+)"', page_text)
    assert found is not None
    return found.group(1)


def _payments(db: Database, order_id: str) -> list[Payment]:
    with UnitOfWork(db, read_only=True) as uow:
        return list(payments.payments_for(uow=uow, reference=order_id))


def test_cart_page_changes_quantities_saves_for_later_and_removes(
    client: TestClient, shop: Shop
) -> None:
    _add(client, shop.variants["S"])
    page = client.get("/panier")
    assert "Pantalon noir" in page.text
    line_id = re.search(r'action="/panier/lignes/(crt[^"]*|[a-z]{3}_[^"]+)"', page.text)
    assert line_id is not None
    action = line_id.group(0).split('"')[1]
    client.post(action, data={"action": "plus"})
    assert "Quantité : 2" in client.get("/panier").text
    client.post(action, data={"action": "save"})
    saved = client.get("/panier").text
    assert "Mis de côté" in saved
    assert "Votre panier est vide." in saved
    client.post(action, data={"action": "restore"})
    client.post(action, data={"action": "remove"})
    assert "Votre panier est vide." in client.get("/panier").text


def test_a_refused_promo_code_says_why(client: TestClient, shop: Shop) -> None:
    _add(client, shop.variants["S"])
    answer = client.post("/panier/promo", data={"code": "NOPE"})
    assert answer.status_code == 200
    assert 'role="alert"' in answer.text
    assert "code" in answer.text.lower()


def test_the_live_fragment_carries_the_cart_version(client: TestClient, shop: Shop) -> None:
    assert client.get("/panier/evenements").status_code == 204  # no cart yet: no stream
    _add(client, shop.variants["S"])
    fragment = client.get("/panier?fragment=1")
    assert 'data-testid="cart-lines"' in fragment.text
    assert "<html" not in fragment.text


def test_click_and_collect_then_card_payment_shows_the_pickup_qr(
    client: TestClient, shop: Shop, db: Database
) -> None:
    _add(client, shop.variants["S"])
    page = client.get("/commande")
    assert "Parcours PAR-A" in page.text
    assert "Prêt" in page.text
    target = _checkout(client, shop)
    assert target.endswith("/paiement")
    pay_page = client.get(target)
    assert 'autocomplete="cc-number"' in pay_page.text
    key = _key(pay_page.text)
    form = {"idempotency_key": key, "number": CARD_OK, "expiry": card_expiry_field(), "cvc": "123"}
    first = client.post(target, data=form, follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"].endswith("?paye=1")
    # A double submit (the same form, the same key) pays once.
    second = client.post(target, data=form, follow_redirects=False)
    assert second.status_code == 303
    order_id = target.split("/")[2]
    assert len(_payments(db, order_id)) == 1
    order = client.get(first.headers["location"])
    assert "Merci ! Votre paiement est accepté." in order.text
    assert "<svg" in order.text
    assert 'data-testid="pickup-code"' in order.text
    assert "Commande passée" in order.text
    assert "Paiement accepté" in order.text
    assert CARD_OK not in order.text
    assert "4242424242424242" not in order.text


def test_a_declined_card_shows_the_reason_and_charges_nothing(
    client: TestClient, shop: Shop, db: Database
) -> None:
    _add(client, shop.variants["S"])
    target = _checkout(client, shop)
    key = _key(client.get(target).text)
    declined = client.post(
        target,
        data={
            "idempotency_key": key,
            "number": "4000 0000 0000 0002",
            "expiry": card_expiry_field(),
            "cvc": "1",
        },
    )
    assert declined.status_code == 422  # unreadable CVC: refused before any attempt
    declined = client.post(
        target,
        data={
            "idempotency_key": key,
            "number": "4000 0000 0000 0002",
            "expiry": card_expiry_field(),
            "cvc": "123",
        },
    )
    assert "Paiement refusé par votre banque" in declined.text
    assert "4000 0000 0000 0002" not in declined.text
    order_id = target.split("/")[2]
    with UnitOfWork(db, read_only=True) as uow:
        order = uow.session.get(Order, order_id)
        assert order is not None
        assert order.paid_amount == 0
        assert order.paid_at is None
    # She retries with another card: a new key was rendered, the order is paid.
    retry = client.post(
        target,
        data={
            "idempotency_key": _key(declined.text),
            "number": CARD_OK,
            "expiry": card_expiry_field(),
            "cvc": "123",
        },
        follow_redirects=False,
    )
    assert retry.headers["location"].endswith("?paye=1")


def test_3d_secure_goes_through_the_bank_challenge(
    client: TestClient, shop: Shop, db: Database
) -> None:
    _add(client, shop.variants["S"])
    target = _checkout(client, shop)
    key = _key(client.get(target).text)
    answer = client.post(
        target,
        data={
            "idempotency_key": key,
            "number": "4000 0000 0000 3220",
            "expiry": card_expiry_field(),
            "cvc": "123",
        },
        follow_redirects=False,
    )
    assert "/paiement/3ds?paiement=" in answer.headers["location"]
    challenge = client.get(answer.headers["location"])
    frame = re.search(r'<iframe class="challenge" src="([^"]+)"', challenge.text)
    assert frame is not None
    payment_id = answer.headers["location"].split("paiement=")[1]
    secret = frame.group(1).replace("&amp;", "&").split("client_secret=")[1]
    approved = client.post(
        f"/v1/payments/{payment_id}/3ds", json={"outcome": "approve", "client_secret": secret}
    )
    assert approved.json()["status"] == "captured"
    back = client.post(f"{target}/3ds", data={"payment_id": payment_id}, follow_redirects=False)
    assert back.headers["location"].endswith("?paye=1")
    order_id = target.split("/")[2]
    with UnitOfWork(db, read_only=True) as uow:
        order = uow.session.get(Order, order_id)
        assert order is not None
        assert order.paid_at is not None


def test_reserve_in_store_skips_payment(client: TestClient, shop: Shop) -> None:
    _add(client, shop.variants["S"])
    target = _checkout(client, shop, method="reserve_in_store", reserve_store=shop.store_a)
    assert target.endswith("?reservee=1")
    page = client.get(target)
    assert "Vous paierez en caisse au retrait" in page.text
    order_id = target.split("/")[2].split("?")[0]
    assert client.get(f"/commandes/{order_id}/paiement", follow_redirects=False).status_code == 303


def test_delivery_needs_an_address_and_then_estimates_the_day(
    client: TestClient, shop: Shop
) -> None:
    _add(client, shop.variants["L"])
    page = client.get("/commande")
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version is not None
    refused = client.post(
        "/commande",
        data={"email": "ines@exemple.fr", "method": "delivery", "version": version.group(1)},
    )
    assert refused.status_code == 422
    assert "Complétez l'adresse" in html.unescape(refused.text)
    target = _checkout(
        client,
        shop,
        method="delivery",
        name="Inès Petit",
        line1="3 rue des Lilas",
        postcode="75011",
        city="Paris",
    )
    assert target.endswith("/paiement")


def test_a_stale_cart_is_shown_again_before_ordering(client: TestClient, shop: Shop) -> None:
    _add(client, shop.variants["S"])
    page = client.get("/commande")
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version is not None
    _add(client, shop.variants["M"])  # another device adds meanwhile
    refused = client.post(
        "/commande",
        data={
            "email": "ines@exemple.fr",
            "method": "click_and_collect",
            "collect_store": shop.store_a,
            "version": version.group(1),
        },
    )
    assert refused.status_code == 422
    assert "a changé sur un autre appareil" in refused.text


def test_someone_elses_order_is_not_found(client: TestClient, app: object, shop: Shop) -> None:
    _add(client, shop.variants["S"])
    target = _checkout(client, shop)
    order_id = target.split("/")[2]
    with TestClient(app, base_url="https://testserver") as stranger:  # type: ignore[arg-type]
        assert stranger.get(f"/commandes/{order_id}").status_code == 404
        _add(stranger, shop.variants["M"])
        assert stranger.get(f"/commandes/{order_id}").status_code == 404
        assert stranger.get(f"/commandes/{order_id}/paiement").status_code == 404


def test_pay_by_link_page_pays_once_and_refuses_expired_links(
    client: TestClient, shop: Shop, db: Database
) -> None:
    with UnitOfWork(db) as uow:
        link = payments.create_payment_link(
            uow=uow,
            reference="ord_demo",
            amount=5990,
            currency="EUR",
            description="Commande ABC-12345",
            channel="store",
            store_id=shop.store_a,
        )
        expired = payments.create_payment_link(
            uow=uow,
            reference="ord_other",
            amount=1000,
            currency="EUR",
            description="Commande XYZ",
            channel="store",
            ttl_seconds=60,
        )
        expired.expires_at = expired.created_at - timedelta(seconds=1)
        uow.commit()
        token, expired_token = link.token, expired.token
    page = client.get(f"/payer/{token}")
    assert page.status_code == 200
    assert "59,90" in page.text
    assert "Parcours PAR-A" in page.text
    key = _key(page.text)
    form = {"idempotency_key": key, "number": CARD_OK, "expiry": card_expiry_field(), "cvc": "123"}
    paid = client.post(f"/payer/{token}", data=form)
    assert paid.status_code == 200
    assert "Payé" in paid.text
    again = client.post(f"/payer/{token}", data=form)
    assert "Payé" in again.text
    with UnitOfWork(db, read_only=True) as uow:
        count = uow.session.scalar(
            select(func.count()).select_from(Payment).where(Payment.reference == "ord_demo")
        )
    assert count == 1
    gone = client.get(f"/payer/{expired_token}")
    assert gone.status_code == 410
    assert "expiré" in gone.text


@pytest.mark.parametrize("lang", ["en"])
def test_pages_speak_english(client: TestClient, shop: Shop, lang: str) -> None:
    _add(client, shop.variants["S"])
    assert "Collect in store" in client.get(f"/commande?lang={lang}").text


def test_check_in_from_her_phone_once_the_order_is_ready(
    client: TestClient, shop: Shop, db: Database
) -> None:
    _add(client, shop.variants["S"])
    target = _checkout(client, shop)
    key = _key(client.get(target).text)
    client.post(
        target,
        data={
            "idempotency_key": key,
            "number": CARD_OK,
            "expiry": card_expiry_field(),
            "cvc": "123",
        },
    )
    order_id = target.split("/")[2]
    with UnitOfWork(db) as uow:
        orders.mark_ready_for_pickup(uow=uow, order_id=order_id, location_id=shop.store_a)
        uow.commit()
    page = client.get(f"/commandes/{order_id}")
    assert "Je suis arrivée au magasin" in page.text
    answer = client.post(
        f"/commandes/{order_id}/arrivee", data={"store_id": shop.store_a}, follow_redirects=False
    )
    assert answer.headers["location"].endswith("?arrivee=1")
    page = client.get(answer.headers["location"])
    assert "l'équipe du retrait sait que vous êtes là" in html.unescape(page.text)
    assert "Arrivée au magasin signalée" in page.text
