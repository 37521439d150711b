"""A promo code on the one cart: applied on a phone or at the till, refused with its reason and
the cart left as it was, re-checked on every read (a warning, nothing off, when it no longer
applies), and on the shopper's journey as Segment's coupon events."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.carts.conftest import Headers, added, assert_problem, my_cart

from parcours.core.auth.models import Role
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.loyalty import service as loyalty
from parcours.tracking.models import Event

if TYPE_CHECKING:
    from tests.conftest import Shop


def create(db: Database, code: str, **fields: Any) -> None:
    values: dict[str, Any] = {"kind": "percent", "value": 10}
    values.update(fields)
    with UnitOfWork(db) as uow:
        loyalty.create_promo_code(uow=uow, code=code, **values)
        uow.commit()


def coupon_events(db: Database) -> list[tuple[str, str, dict[str, Any]]]:
    with UnitOfWork(db, read_only=True) as uow:
        rows = uow.session.scalars(
            select(Event).where(Event.event.like("Coupon%")).order_by(Event.id)
        ).all()
        return [(row.event, row.channel, row.properties) for row in rows]


def test_a_code_takes_its_discount_off_the_cart_and_can_be_removed(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop, db: Database
) -> None:
    create(db, "DIX", description="-10 %")
    phone = shopper("app")
    cart = my_cart(client, phone)
    cart = added(client, phone, cart["id"], shop.variants["S"], 2)
    assert (cart["promo_code"], cart["discount"], cart["total"]) == (None, 0, 11980)

    applied = client.post(
        f"/v1/carts/{cart['id']}/promo-code",
        json={"code": "dix"},
        headers={**phone, "If-Match": f'"{cart["version"]}"'},
    )
    assert applied.status_code == 200, applied.text
    body = applied.json()
    assert (body["promo_code"], body["subtotal"], body["discount"], body["total"]) == (
        "DIX",
        11980,
        1198,
        10782,
    )
    assert body["promo"] == {"code": "DIX", "description": "-10 %", "kind": "percent", "value": 10}
    assert body["warnings"] == []
    assert body["version"] == cart["version"] + 1
    assert applied.headers["ETag"] == f'"{body["version"]}"'
    # Every read shows it, on every device.
    assert my_cart(client, phone)["discount"] == 1198

    removed = client.delete(f"/v1/carts/{cart['id']}/promo-code", headers=phone)
    assert removed.status_code == 200, removed.text
    assert (removed.json()["promo_code"], removed.json()["discount"]) == (None, 0)
    assert [(name, channel) for name, channel, _ in coupon_events(db)] == [
        ("Coupon Applied", "app"),
        ("Coupon Removed", "app"),
    ]
    _, _, properties = coupon_events(db)[0]
    assert properties["coupon_name"] == "DIX"
    assert properties["discount"] == 11.98
    assert properties["cart_id"] == cart["id"]


def test_a_refused_code_says_why_and_leaves_the_cart_as_it_was(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop, db: Database
) -> None:
    create(db, "MIN100", min_subtotal=10_000)
    create(db, "TILLONLY", channels=["till"])
    phone = shopper("web")
    cart = added(client, phone, my_cart(client, phone)["id"], shop.variants["S"])
    for code, reason in (
        ("MIN100", "promo_code_minimum_not_met"),
        ("TILLONLY", "promo_code_channel"),
        ("NOPE", "promo_code_unknown"),
    ):
        refused = client.post(
            f"/v1/carts/{cart['id']}/promo-code",
            json={"code": code},
            headers={**phone, "If-Match": f'"{cart["version"]}"'},
        )
        assert_problem(refused, 422, reason)
    minimum = client.post(
        f"/v1/carts/{cart['id']}/promo-code", json={"code": "MIN100"}, headers=phone
    ).json()
    assert minimum["minimum"] == 10_000
    assert "100,00" in minimum["minimum_formatted"]
    after = my_cart(client, phone)
    assert after["version"] == cart["version"], "a refusal does not make the till's ETag stale"
    assert after["promo_code"] is None
    denied = [props for name, _, props in coupon_events(db) if name == "Coupon Denied"]
    assert [props["reason"] for props in denied] == [
        "promo_code_minimum_not_met",
        "promo_code_channel",
        "promo_code_unknown",
        "promo_code_minimum_not_met",
    ]
    # An empty code, or a body that is not one, is a validation problem.
    assert_problem(
        client.post(f"/v1/carts/{cart['id']}/promo-code", json={"code": ""}, headers=phone),
        422,
        "validation_error",
    )
    assert_problem(
        client.post(f"/v1/carts/{cart['id']}/promo-code", json={"coupon": "X"}, headers=phone),
        422,
        "validation_error",
    )


def test_a_code_that_no_longer_applies_is_a_warning_and_takes_nothing_off(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop, db: Database
) -> None:
    create(db, "MIN100", kind="amount", value=1500, min_subtotal=10_000)
    phone = shopper("web")
    cart = added(client, phone, my_cart(client, phone)["id"], shop.variants["S"], 2)
    body = client.post(
        f"/v1/carts/{cart['id']}/promo-code", json={"code": "MIN100"}, headers=phone
    ).json()
    assert (body["discount"], body["total"]) == (1500, 11980 - 1500)

    line = body["lines"][0]
    fewer = client.patch(
        f"/v1/carts/{cart['id']}/lines/{line['id']}", json={"quantity": 1}, headers=phone
    ).json()
    assert (fewer["promo_code"], fewer["discount"], fewer["total"]) == ("MIN100", 0, 5990)
    [warning] = fewer["warnings"]
    assert warning["code"] == "promo_not_applicable"
    assert warning["details"]["reason"] == "promo_code_minimum_not_met"
    assert "100,00" in warning["message"]
    english = client.get(f"/v1/carts/{cart['id']}", headers=phone, params={"lang": "en"}).json()
    assert "at least" in english["warnings"][0]["message"]

    # She checks out anyway: refused with the reason, nothing reserved, the cart unchanged.
    refused = client.post(
        f"/v1/carts/{cart['id']}/checkout",
        json={"fulfilments": [{"method": "click_and_collect", "store_id": shop.store_a}]},
        headers=phone,
    )
    assert_problem(refused, 422, "promo_code_minimum_not_met")
    again = my_cart(client, phone)
    assert (again["status"], again["version"]) == ("active", fewer["version"])

    # Back above the minimum, the discount is back.
    back = client.patch(
        f"/v1/carts/{cart['id']}/lines/{line['id']}", json={"quantity": 2}, headers=phone
    ).json()
    assert (back["discount"], back["warnings"]) == (1500, [])

    # Stopped by the back office: the cart says so.
    with UnitOfWork(db) as uow:
        loyalty.deactivate_promo_code(uow=uow, code="MIN100")
        uow.commit()
    stopped = my_cart(client, phone)
    assert stopped["discount"] == 0
    assert stopped["warnings"][0]["details"]["reason"] == "promo_code_inactive"


def test_the_till_applies_a_till_only_code_to_the_phone_cart_it_opened(
    client: TestClient,
    shopper: Callable[..., Headers],
    staff_client: Callable[..., TestClient],
    shop: Shop,
    db: Database,
) -> None:
    create(db, "MAGASIN5", kind="amount", value=500, channels=["till"])
    phone = shopper("app")
    cart = added(client, phone, my_cart(client, phone)["id"], shop.variants["S"])
    assert_problem(
        client.post(f"/v1/carts/{cart['id']}/promo-code", json={"code": "MAGASIN5"}, headers=phone),
        422,
        "promo_code_channel",
    )
    till = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    applied = till.post(f"/v1/carts/{cart['id']}/promo-code", json={"code": "magasin5"})
    assert applied.status_code == 200, applied.text
    assert applied.json()["discount"] == 500
    # Her phone sees it too (a read does not judge the channel: where she pays is not known).
    assert my_cart(client, phone)["discount"] == 500
    # Checked out at the till, it applies; checked out on her phone, it would not.
    refused = client.post(
        f"/v1/carts/{cart['id']}/checkout",
        json={"fulfilments": [{"method": "click_and_collect", "store_id": shop.store_a}]},
        headers=phone,
    )
    assert_problem(refused, 422, "promo_code_channel")
    sold = till.post(
        f"/v1/carts/{cart['id']}/checkout",
        json={
            "fulfilments": [{"method": "in_store", "store_id": shop.store_a}],
            "store_id": shop.store_a,
        },
    )
    assert sold.status_code == 201, sold.text
    assert (sold.json()["discount"], sold.json()["total"]) == (500, 5490)
    assert ("Coupon Applied", "till") in [(name, channel) for name, channel, _ in coupon_events(db)]


def test_stale_if_match_is_refused_and_another_shopper_cannot_touch_the_code(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop, db: Database
) -> None:
    create(db, "DIX")
    phone, stranger = shopper("web"), shopper("web")
    cart = added(client, phone, my_cart(client, phone)["id"], shop.variants["S"])
    stale = client.post(
        f"/v1/carts/{cart['id']}/promo-code",
        json={"code": "DIX"},
        headers={**phone, "If-Match": f'"{cart["version"] - 1}"'},
    )
    assert_problem(stale, 412, "cart_version_mismatch")
    assert_problem(
        client.post(f"/v1/carts/{cart['id']}/promo-code", json={"code": "DIX"}, headers=stranger),
        403,
        "cart_not_yours",
    )
    assert_problem(
        client.delete(f"/v1/carts/{cart['id']}/promo-code", headers=stranger),
        403,
        "cart_not_yours",
    )


def test_signing_in_brings_the_guest_carts_code_into_her_cart(
    client: TestClient,
    shopper: Callable[..., Headers],
    sign_in: Callable[..., Any],
    shop: Shop,
    db: Database,
) -> None:
    create(db, "DIX")
    laptop = shopper("web")
    assert sign_in(laptop, "jeanne@example.com").status_code == 200
    added(client, laptop, my_cart(client, laptop)["id"], shop.variants["M"])
    phone = shopper("app")
    guest = added(client, phone, my_cart(client, phone)["id"], shop.variants["S"])
    client.post(f"/v1/carts/{guest['id']}/promo-code", json={"code": "DIX"}, headers=phone)
    assert sign_in(phone, "jeanne@example.com").status_code == 200
    mine = my_cart(client, laptop)
    assert mine["promo_code"] == "DIX"
    assert mine["discount"] == (2 * 5990) // 10
