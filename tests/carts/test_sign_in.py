"""Signing in with a mailed code: the phone's cart joins the one she built on her laptop, in the
way the merchant chose; codes are single use, few tries, few per hour."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select
from tests.carts.conftest import (
    Headers,
    added,
    app_with,
    assert_problem,
    mailed_code,
    my_cart,
    skus,
)

from parcours.carts.models import Cart
from parcours.core.db import Database
from parcours.core.settings import Settings
from parcours.core.uow import UnitOfWork
from parcours.customers import shoppers
from parcours.notifications.models import Message

if TYPE_CHECKING:
    from tests.conftest import Shop

EMAIL = "Jeanne.Martin@example.com"


def stored_cart(db: Database, cart_id: str) -> Cart:
    with UnitOfWork(db, read_only=True) as uow:
        cart = uow.session.get(Cart, cart_id)
        assert cart is not None
        return cart


def ask_code(client: TestClient, device: Headers, email: str = EMAIL, **body: Any) -> Response:
    return client.post("/v1/shopper/sign-in-codes", json={"email": email, **body}, headers=device)


def type_code(client: TestClient, device: Headers, code: str, email: str = EMAIL) -> Response:
    return client.post("/v1/shopper/sign-in", json={"email": email, "code": code}, headers=device)


def two_devices(
    client: TestClient,
    shopper: Callable[..., Headers],
    sign_in: Callable[..., Response],
    shop: Shop,
    *,
    on_laptop: dict[str, int],
    on_phone: dict[str, int],
) -> tuple[Headers, dict[str, Any], Headers, dict[str, Any]]:
    """Her laptop, signed in last week, holds ``on_laptop``; her phone, not signed in, holds
    ``on_phone``. Returns each device and its cart."""
    laptop = shopper("web")
    signed = sign_in(laptop, EMAIL)
    assert signed.status_code == 200, signed.text
    laptop_cart = my_cart(client, laptop)
    for size, quantity in on_laptop.items():
        laptop_cart = added(client, laptop, laptop_cart["id"], shop.variants[size], quantity)
    phone = shopper("app")
    phone_cart = my_cart(client, phone)
    for size, quantity in on_phone.items():
        phone_cart = added(client, phone, phone_cart["id"], shop.variants[size], quantity)
    assert phone_cart["id"] != laptop_cart["id"]
    return laptop, laptop_cart, phone, phone_cart


def test_signing_in_on_the_phone_brings_its_cart_to_her_laptop(
    client: TestClient,
    shopper: Callable[..., Headers],
    sign_in: Callable[..., Response],
    shop: Shop,
    db: Database,
) -> None:
    laptop, laptop_cart, phone, phone_cart = two_devices(
        client, shopper, sign_in, shop, on_laptop={"M": 1}, on_phone={"S": 1}
    )
    signed = sign_in(phone, EMAIL)
    assert signed.status_code == 200, signed.text
    assert signed.json()["signed_in"] is True
    assert signed.json()["profile_id"] == laptop_cart["profile_id"] is not None
    assert signed.json()["token"] is None, "the token is shown once, at creation"

    on_laptop = my_cart(client, laptop)
    assert on_laptop["id"] == laptop_cart["id"]
    assert skus(on_laptop) == [("PN-M", 1), ("PN-S", 1)]
    assert on_laptop["lines"][1]["touchpoint"]["kind"] == "app", "where it was added stays"
    assert on_laptop["version"] > laptop_cart["version"]
    assert my_cart(client, phone) == on_laptop, "one cart, wherever she is"
    left = stored_cart(db, phone_cart["id"])
    assert (left.status, left.merged_into) == ("merged", laptop_cart["id"])
    # The phone's old cart takes no more changes.
    late = client.post(
        f"/v1/carts/{phone_cart['id']}/lines",
        json={"variant_id": shop.variants["L"]},
        headers=phone,
    )
    assert_problem(late, 409, "cart_not_active")


def test_an_item_in_both_carts_keeps_the_larger_quantity(
    client: TestClient,
    shopper: Callable[..., Headers],
    sign_in: Callable[..., Response],
    shop: Shop,
) -> None:
    laptop, _, phone, _ = two_devices(
        client, shopper, sign_in, shop, on_laptop={"S": 1, "M": 1}, on_phone={"S": 2, "L": 1}
    )
    assert sign_in(phone, EMAIL).status_code == 200
    assert skus(my_cart(client, laptop)) == [("PN-S", 2), ("PN-M", 1), ("PN-L", 1)]


def test_signing_in_without_a_guest_cart_finds_hers(
    client: TestClient,
    shopper: Callable[..., Headers],
    sign_in: Callable[..., Response],
    shop: Shop,
) -> None:
    laptop, laptop_cart, _, _ = two_devices(
        client, shopper, sign_in, shop, on_laptop={"M": 1}, on_phone={}
    )
    tablet = shopper("web")
    assert sign_in(tablet, EMAIL).status_code == 200
    assert my_cart(client, tablet)["id"] == laptop_cart["id"]


@pytest.mark.parametrize(
    ("strategy", "kept", "survivor", "other_status"),
    [
        ("merge", [("PN-M", 1), ("PN-S", 1)], "laptop", "merged"),
        ("keep_guest", [("PN-S", 1)], "phone", "abandoned"),
        ("keep_existing", [("PN-M", 1)], "laptop", "abandoned"),
    ],
)
def test_the_merchant_chooses_how_carts_merge(
    settings: Settings,
    db: Database,
    shopper: Callable[..., Headers],
    sign_in: Callable[..., Response],
    client: TestClient,
    shop: Shop,
    strategy: str,
    kept: list[tuple[str, int]],
    survivor: str,
    other_status: str,
) -> None:
    laptop, laptop_cart, phone, phone_cart = two_devices(
        client, shopper, sign_in, shop, on_laptop={"M": 1}, on_phone={"S": 1}
    )
    with TestClient(
        app_with(settings, db, cart_merge_strategy=strategy), base_url="https://testserver"
    ) as shop_front:
        assert sign_in(phone, EMAIL, via=shop_front).status_code == 200
        on_laptop = my_cart(shop_front, laptop)
    assert skus(on_laptop) == kept
    kept_id, other_id = (
        (laptop_cart["id"], phone_cart["id"])
        if survivor == "laptop"
        else (phone_cart["id"], laptop_cart["id"])
    )
    assert on_laptop["id"] == kept_id
    assert my_cart(client, phone)["id"] == kept_id
    other = stored_cart(db, other_id)
    assert (other.status, other.merged_into) == (other_status, kept_id)


def test_the_code_is_mailed_in_her_language_and_says_how_long_it_lasts(
    client: TestClient, shopper: Callable[..., Headers], db: Database
) -> None:
    phone = shopper("app")
    assert ask_code(client, phone).status_code == 202
    assert ask_code(client, phone, "someone@example.com", locale="en").status_code == 202
    with UnitOfWork(db, read_only=True) as uow:
        french, english = uow.session.scalars(
            select(Message).order_by(Message.created_at, Message.id)
        ).all()
    assert french.to_address == "jeanne.martin@example.com"
    assert french.subject == "Votre code de connexion à Parcours"
    assert "valable 10 minutes" in (french.body_text or "")
    assert english.locale == "en"
    assert "valid for 10 minutes" in (english.body_text or "")
    assert mailed_code(db, EMAIL) in (french.body_html or "")


def test_a_wrong_code_is_refused_and_five_wrong_tries_burn_the_code(
    client: TestClient, shopper: Callable[..., Headers], db: Database
) -> None:
    phone = shopper("app")
    ask_code(client, phone)
    code = mailed_code(db, EMAIL)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        answer = type_code(client, phone, wrong)
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "invalid_sign_in_code"
    burnt = type_code(client, phone, code)
    assert_problem(burnt, 422, "invalid_sign_in_code")
    assert client.get("/v1/shopper/session", headers=phone).json()["signed_in"] is False
    ask_code(client, phone)
    assert type_code(client, phone, mailed_code(db, EMAIL)).status_code == 200


def test_a_code_works_once(
    client: TestClient, shopper: Callable[..., Headers], db: Database
) -> None:
    phone, thief = shopper("app"), shopper("web")
    ask_code(client, phone)
    code = mailed_code(db, EMAIL)
    assert type_code(client, phone, f" {code} ").status_code == 200
    again = type_code(client, thief, code)
    assert_problem(again, 422, "invalid_sign_in_code")
    assert client.get("/v1/shopper/session", headers=thief).json()["signed_in"] is False


def test_a_code_is_for_one_address(
    client: TestClient, shopper: Callable[..., Headers], db: Database
) -> None:
    phone = shopper("app")
    ask_code(client, phone)
    other = type_code(client, phone, mailed_code(db, EMAIL), "someone@example.com")
    assert_problem(other, 422, "invalid_sign_in_code")


def test_a_sixth_code_from_one_client_within_the_hour_waits(
    client: TestClient, shopper: Callable[..., Headers]
) -> None:
    phone = shopper("app")
    for _ in range(5):
        assert ask_code(client, phone).status_code == 202
    refused = ask_code(client, phone, EMAIL.upper())
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "too_many_attempts"
    assert refused.headers["Retry-After"] == "300"
    assert ask_code(client, phone, "someone@example.com").status_code == 202, "per address"


def test_an_attackers_burst_of_codes_does_not_lock_her_out(
    app: FastAPI, client: TestClient, shopper: Callable[..., Headers], db: Database
) -> None:
    with TestClient(app, base_url="https://testserver", client=("203.0.113.66", 4000)) as bad:
        attacker = shopper("web")
        answers = [ask_code(bad, attacker).status_code for _ in range(8)]
        assert answers[:5] == [202] * 5
        assert set(answers[5:]) == {429}
    # her own request, from her phone, still mails her a code; the one she types works
    phone = shopper("app")
    assert ask_code(client, phone).status_code == 202
    # the attacker's codes came first; hers is the latest and signs her in
    signed_in = type_code(client, phone, mailed_code(db, EMAIL))
    assert signed_in.status_code == 200, signed_in.text


def test_an_address_takes_a_few_codes_per_quarter_hour_from_everywhere(
    app: FastAPI, shopper: Callable[..., Headers]
) -> None:
    device = shopper("web")
    answers = []
    for n in range(shoppers.CODES_PER_SLICE + 1):
        with TestClient(app, base_url="https://testserver", client=(f"203.0.113.{n}", 1)) as c:
            answers.append(ask_code(c, device))
    assert [a.status_code for a in answers[:-1]] == [202] * shoppers.CODES_PER_SLICE
    refused = answers[-1]
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_requests"
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60


def test_asking_for_a_code_needs_a_session_and_an_address(
    client: TestClient, shopper: Callable[..., Headers], storefront_key: str
) -> None:
    key_only = {"Authorization": f"Bearer {storefront_key}"}
    assert ask_code(client, key_only).status_code == 401
    not_an_address = ask_code(client, shopper("web"), "jeanne")
    assert not_an_address.status_code == 422
    assert not_an_address.json()["code"] == "invalid_email"


def test_signing_out_ends_the_session(
    client: TestClient, shopper: Callable[..., Headers], sign_in: Callable[..., Response]
) -> None:
    laptop = shopper("web")
    assert sign_in(laptop, EMAIL).status_code == 200
    assert client.delete("/v1/shopper/session", headers=laptop).status_code == 204
    after = client.get("/v1/me/cart", headers=laptop)
    assert_problem(after, 401, "shopper_session_required")


def test_the_mail_says_how_long_the_code_lasts(
    client: TestClient,
    shopper: Callable[..., Headers],
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shoppers, "CODE_LIFETIME", timedelta(minutes=15))
    assert ask_code(client, shopper("app")).status_code == 202
    with UnitOfWork(db, read_only=True) as uow:
        message = uow.session.scalars(select(Message)).one()
    assert "valable 15 minutes" in (message.body_text or "")
    assert message.expires_at is not None
    assert message.expires_at - message.created_at == timedelta(minutes=15), "not sent late"
