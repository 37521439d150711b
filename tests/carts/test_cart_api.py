"""A shopper's one cart through the storefront API: who may touch it, its lines, two devices
editing it at once, and the prices and stock it re-checks every time it is read."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from tests.carts.conftest import Headers, add, added, assert_problem, my_cart, skus

from parcours.carts import service
from parcours.carts.models import Cart, CartStatus
from parcours.catalog import service as catalog
from parcours.core.auth.models import Role
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork

if TYPE_CHECKING:
    from tests.conftest import Shop


def active_carts(db: Database) -> list[Cart]:
    with UnitOfWork(db, read_only=True) as uow:
        return list(uow.session.scalars(select(Cart).where(Cart.status == CartStatus.ACTIVE.value)))


# --- one cart per shopper -------------------------------------------------------------------


def test_a_shopper_finds_the_same_cart_on_every_read(
    client: TestClient, shopper: Callable[..., Headers]
) -> None:
    phone = shopper("app")
    first = client.get("/v1/me/cart", headers=phone)
    second = client.get("/v1/me/cart", headers=phone)
    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert (first.json()["lines"], first.json()["subtotal"]) == ([], 0)
    assert first.json()["channel"] == "app"
    assert first.headers["ETag"] == second.headers["ETag"] == '"1"', "reading changes nothing"
    assert my_cart(client, shopper("web"))["id"] != first.json()["id"], "one per shopper"


def test_two_first_reads_at_once_open_one_cart(
    client: TestClient, shopper: Callable[..., Headers], db: Database
) -> None:
    phone = shopper("app")
    start = threading.Barrier(6)

    def first_read(_: int) -> str:
        start.wait()
        return str(my_cart(client, phone)["id"])

    with ThreadPoolExecutor(6) as pool:
        ids = set(pool.map(first_read, range(6)))
    assert len(ids) == 1
    assert [cart.id for cart in active_carts(db)] == list(ids)


def test_a_device_that_loses_the_race_to_open_the_cart_gets_the_winners(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with UnitOfWork(db) as uow:
        winner = service.open_cart(
            uow=uow, profile_id=None, anonymous_id="device-1", channel="web", currency="EUR"
        )
        uow.commit()
    # The loser looked before the winner committed: its first look sees no cart, so it inserts
    # one too, the unique index refuses it, and the look after the refusal finds the winner's.
    original = service.find_active_cart
    looks: list[str | None] = []

    def stale_first_look(**kw: Any) -> Cart | None:
        found = None if not looks else original(**kw)
        looks.append(found.id if found else None)
        return found

    monkeypatch.setattr(service, "find_active_cart", stale_first_look)
    with UnitOfWork(db) as uow:
        loser = service.open_cart(
            uow=uow, profile_id=None, anonymous_id="device-1", channel="web", currency="EUR"
        )
        uow.commit()
    assert looks == [None, winner.id], "the insert was refused and the recovery looked again"
    assert loser.id == winner.id
    assert [cart.id for cart in active_carts(db)] == [winner.id]


def test_the_database_refuses_a_second_active_cart_for_one_shopper(db: Database) -> None:
    now = utcnow()

    def cart(cart_id: str, status: str = "active") -> Cart:
        return Cart(
            id=cart_id, anonymous_id="device-1", profile_id=None, status=status,
            currency="EUR", version=1, channel="web", created_at=now, updated_at=now,
        )  # fmt: skip

    with UnitOfWork(db) as uow:
        uow.session.add_all([cart("crt_1"), cart("crt_old", CartStatus.CHECKED_OUT.value)])
        uow.commit()
    with UnitOfWork(db) as uow:
        uow.session.add(cart("crt_2"))
        with pytest.raises(IntegrityError):
            uow.session.flush()


def _cart_routes(cart: dict[str, Any], shop: Shop) -> list[tuple[str, str, dict[str, Any]]]:
    line = cart["lines"][0]["id"]
    base = f"/v1/carts/{cart['id']}"
    return [
        ("GET", base, {}),
        ("POST", f"{base}/lines", {"json": {"variant_id": shop.variants["M"]}}),
        ("PATCH", f"{base}/lines/{line}", {"json": {"quantity": 3}}),
        ("DELETE", f"{base}/lines/{line}", {}),
        ("POST", f"{base}/handoff", {}),
        ("GET", f"{base}/events", {}),
        (
            "POST",
            f"{base}/checkout",
            {"json": {"fulfilments": [{"method": "click_and_collect", "store_id": shop.store_a}]}},
        ),
    ]


def test_another_shoppers_token_is_refused_on_every_cart_route(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop, db: Database
) -> None:
    phone, stranger = shopper("app"), shopper("web")
    cart = added(client, phone, my_cart(client, phone)["id"], shop.variants["S"])
    for method, url, extra in _cart_routes(cart, shop):
        answer = client.request(method, url, headers=stranger, **extra)
        assert answer.status_code == 403, (method, url, answer.text)
        assert answer.json()["code"] == "cart_not_yours", (method, url)
        assert answer.headers["content-type"] == "application/problem+json"
    assert my_cart(client, phone) == cart, "nothing changed"


def test_a_storefront_key_without_a_shopper_session_is_asked_to_start_one(
    client: TestClient, shopper: Callable[..., Headers], storefront_key: str, shop: Shop
) -> None:
    phone = shopper("app")
    cart = added(client, phone, my_cart(client, phone)["id"], shop.variants["S"])
    key_only = {"Authorization": f"Bearer {storefront_key}"}
    ended = shopper("web")
    assert client.delete("/v1/shopper/session", headers=ended).status_code == 204
    for headers in (key_only, {**key_only, "X-Shopper-Token": "shp_forged"}, ended):
        for method, url, extra in [("GET", "/v1/me/cart", {}), *_cart_routes(cart, shop)]:
            answer = client.request(method, url, headers=headers, **extra)
            assert answer.status_code == 401, (method, url, answer.text)
            assert answer.json()["code"] == "shopper_session_required", (method, url)
    anonymous = client.get(f"/v1/carts/{cart['id']}/events")
    assert anonymous.status_code == 401
    assert client.get(f"/v1/carts/{cart['id']}").status_code == 401


def test_servers_and_store_staff_read_and_change_any_cart(
    client: TestClient,
    shopper: Callable[..., Headers],
    secret_key: str,
    staff_client: Callable[..., TestClient],
    shop: Shop,
) -> None:
    phone = shopper("app")
    cart = added(client, phone, my_cart(client, phone)["id"], shop.variants["S"])
    server = {"Authorization": f"Bearer {secret_key}"}
    read = client.get(f"/v1/carts/{cart['id']}", headers=server)
    assert (read.status_code, read.json()) == (200, cart)
    associate = staff_client(Role.ASSOCIATE, stores={shop.store_b})
    from_tablet = associate.post(
        f"/v1/carts/{cart['id']}/lines", json={"variant_id": shop.variants["M"]}
    )
    assert from_tablet.status_code == 201, from_tablet.text
    assert from_tablet.json()["lines"][1]["touchpoint"]["kind"] == "store"
    assert skus(my_cart(client, phone)) == [("PN-S", 1), ("PN-M", 1)]
    marketer = staff_client(Role.MARKETER)
    assert marketer.get(f"/v1/carts/{cart['id']}").status_code == 403


# --- lines ----------------------------------------------------------------------------------


def test_adding_the_same_item_again_adds_to_its_line_and_keeps_where_it_came_from(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop
) -> None:
    phone = shopper("app")
    cart_id = my_cart(client, phone)["id"]
    poster = {"kind": "print", "medium": "poster", "campaign": "soldes-hiver"}
    first = add(client, phone, cart_id, shop.variants["S"], 2, touchpoint=poster)
    assert first.status_code == 201, first.text
    again = added(client, phone, cart_id, shop.variants["S"], 3)
    assert skus(again) == [("PN-S", 5)]
    line = again["lines"][0]
    assert line["touchpoint"] == {**poster, "store_id": None}, "the poster brought it in"
    assert (line["unit_price"], line["amount"]) == (shop.price, 5 * shop.price)
    assert (again["item_count"], again["subtotal"]) == (5, 5 * shop.price)
    assert (line["attributes"], line["product_name"]) == ({"taille": "S"}, "Pantalon noir")
    assert again["version"] == 3


def test_a_print_touchpoint_names_its_medium(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop
) -> None:
    phone = shopper("app")
    cart = my_cart(client, phone)
    refused = add(client, phone, cart["id"], shop.variants["S"], touchpoint={"kind": "print"})
    assert_problem(refused, 422, "medium_required")


def test_a_line_can_change_be_saved_for_later_and_removed(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop
) -> None:
    phone = shopper("web")
    cart_id = my_cart(client, phone)["id"]
    added(client, phone, cart_id, shop.variants["S"])
    cart = added(client, phone, cart_id, shop.variants["M"])
    s_line, m_line = (line["id"] for line in cart["lines"])

    changed = client.patch(
        f"/v1/carts/{cart_id}/lines/{s_line}", json={"quantity": 4}, headers=phone
    )
    assert changed.status_code == 200, changed.text
    assert skus(changed.json()) == [("PN-S", 4), ("PN-M", 1)]
    assert changed.json()["subtotal"] == 5 * shop.price

    saved = client.patch(
        f"/v1/carts/{cart_id}/lines/{m_line}", json={"saved_for_later": True}, headers=phone
    ).json()
    assert skus(saved) == [("PN-S", 4)]
    assert skus(saved, "saved_for_later") == [("PN-M", 1)]
    assert (saved["item_count"], saved["subtotal"]) == (4, 4 * shop.price)

    back = client.patch(
        f"/v1/carts/{cart_id}/lines/{m_line}", json={"saved_for_later": False}, headers=phone
    ).json()
    assert skus(back) == [("PN-S", 4), ("PN-M", 1)]
    assert back["saved_for_later"] == []

    removed = client.delete(f"/v1/carts/{cart_id}/lines/{s_line}", headers=phone)
    assert removed.status_code == 200, removed.text
    assert skus(removed.json()) == [("PN-M", 1)]
    assert removed.json()["subtotal"] == shop.price
    gone = client.delete(f"/v1/carts/{cart_id}/lines/{s_line}", headers=phone)
    assert_problem(gone, 404, "cart_line_not_found")
    assert my_cart(client, phone)["version"] == 7, "a version per change, none for the 404"


@pytest.mark.parametrize("quantity", [0, -1, 100])
def test_an_impossible_quantity_is_refused_and_changes_nothing(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop, quantity: int
) -> None:
    phone = shopper("web")
    cart = added(client, phone, my_cart(client, phone)["id"], shop.variants["S"])
    line_id = cart["lines"][0]["id"]
    for answer in (
        add(client, phone, cart["id"], shop.variants["M"], quantity),
        client.patch(
            f"/v1/carts/{cart['id']}/lines/{line_id}", json={"quantity": quantity}, headers=phone
        ),
    ):
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "validation_error"
    assert my_cart(client, phone) == cart


def test_adding_past_the_most_one_line_holds_is_refused(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop
) -> None:
    phone = shopper("web")
    cart = added(client, phone, my_cart(client, phone)["id"], shop.variants["S"], 60)
    too_many = add(client, phone, cart["id"], shop.variants["S"], 40)
    assert_problem(too_many, 422, "invalid_quantity")
    assert my_cart(client, phone) == cart


def test_an_unknown_item_or_one_not_for_sale_is_refused(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop, db: Database
) -> None:
    with UnitOfWork(db) as uow:
        draft = catalog.create_product(
            uow=uow, name="Veste à venir", price_amount=12990, status="draft",
            variants=[{"sku": "VV-M", "attributes": {"taille": "M"}}],
        )  # fmt: skip
        uow.commit()
    phone = shopper("web")
    cart = my_cart(client, phone)
    unknown = add(client, phone, cart["id"], "var_doesnotexist")
    assert_problem(unknown, 404, "variant_not_found")
    not_for_sale = add(client, phone, cart["id"], draft.variants[0].id)
    assert not_for_sale.status_code == 409
    assert not_for_sale.json()["code"] == "product_not_for_sale"
    assert my_cart(client, phone) == cart


def test_two_devices_adding_the_same_item_at_once_make_one_line(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop
) -> None:
    phone = shopper("app")
    cart_id = my_cart(client, phone)["id"]
    start = threading.Barrier(4)

    def add_one(_: int) -> int:
        start.wait()
        return add(client, phone, cart_id, shop.variants["S"]).status_code

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(add_one, range(4))) == [201] * 4
    cart = my_cart(client, phone)
    assert skus(cart) == [("PN-S", 4)]
    assert cart["version"] == 5


# --- two devices, one cart: If-Match ----------------------------------------------------------


def test_every_cart_answer_carries_its_version_as_etag(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop
) -> None:
    phone = shopper("web")
    read = client.get("/v1/me/cart", headers=phone)
    cart_id = read.json()["id"]
    line = add(client, phone, cart_id, shop.variants["S"])
    line_id = line.json()["lines"][0]["id"]
    answers = [
        read,
        line,
        client.get(f"/v1/carts/{cart_id}", headers=phone),
        client.patch(f"/v1/carts/{cart_id}/lines/{line_id}", json={"quantity": 2}, headers=phone),
        client.delete(f"/v1/carts/{cart_id}/lines/{line_id}", headers=phone),
    ]
    assert [answer.headers.get("ETag") for answer in answers] == [
        f'"{answer.json()["version"]}"' for answer in answers
    ]
    assert [answer.json()["version"] for answer in answers] == [1, 2, 2, 3, 4]


def test_a_stale_device_is_refused_and_nothing_changes(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop
) -> None:
    phone = shopper("app")
    seen = client.get("/v1/me/cart", headers=phone)
    cart_id, etag = seen.json()["id"], seen.headers["ETag"]
    # The laptop (same cart) changes it first.
    fresh = add(client, phone, cart_id, shop.variants["S"])
    line_id = fresh.json()["lines"][0]["id"]
    stale = {**phone, "If-Match": etag}
    for answer in (
        client.post(
            f"/v1/carts/{cart_id}/lines", json={"variant_id": shop.variants["M"]}, headers=stale
        ),
        client.patch(f"/v1/carts/{cart_id}/lines/{line_id}", json={"quantity": 5}, headers=stale),
        client.delete(f"/v1/carts/{cart_id}/lines/{line_id}", headers=stale),
    ):
        assert answer.status_code == 412, answer.text
        assert answer.json()["code"] == "cart_version_mismatch"
        assert answer.json()["current_version"] == 2
    assert my_cart(client, phone) == fresh.json()
    current = {**phone, "If-Match": fresh.headers["ETag"]}
    ok = client.patch(f"/v1/carts/{cart_id}/lines/{line_id}", json={"quantity": 5}, headers=current)
    assert (ok.status_code, ok.headers["ETag"]) == (200, '"3"')
    weak = client.patch(
        f"/v1/carts/{cart_id}/lines/{line_id}",
        json={"quantity": 4},
        headers={**phone, "If-Match": 'W/"3"'},
    )
    assert weak.status_code == 200, weak.text


@pytest.mark.parametrize("if_match", ["abc", '"-1"', '"1.5"', '"2", "3"', '"12345678901"'])
def test_a_malformed_if_match_is_refused(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop, if_match: str
) -> None:
    phone = shopper("web")
    cart = my_cart(client, phone)
    answer = client.post(
        f"/v1/carts/{cart['id']}/lines",
        json={"variant_id": shop.variants["S"]},
        headers={**phone, "If-Match": if_match},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "invalid_if_match"
    assert my_cart(client, phone) == cart


# --- prices and stock re-checked on every read -----------------------------------------------


def test_a_price_change_is_pointed_out_and_the_new_price_counts(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop, db: Database
) -> None:
    phone = shopper("web")
    cart_id = my_cart(client, phone)["id"]
    added(client, phone, cart_id, shop.variants["S"], 2)
    added(client, phone, cart_id, shop.variants["M"])
    with UnitOfWork(db) as uow:
        catalog.update_product(
            uow=uow, product_id=shop.product_id, variants=[{"sku": "PN-S", "price_amount": 4990}]
        )
        uow.commit()
    cart = my_cart(client, phone)
    s_line, m_line = cart["lines"]
    assert (s_line["unit_price"], s_line["unit_price_seen"], s_line["amount"]) == (4990, 5990, 9980)
    assert s_line["warnings"] == [
        {
            "code": "price_changed",
            "message": "Le prix a changé depuis l'ajout au panier.",
            "details": {"was": 5990, "now": 4990},
        }
    ]
    assert m_line["warnings"] == []
    assert cart["subtotal"] == 2 * 4990 + 5990
    english = my_cart(client, phone, lang="en")["lines"][0]["warnings"][0]
    assert english["message"] == "The price changed since you added this item."
    assert cart["version"] == 3, "reading re-checks, it does not rewrite the cart"


def test_stock_is_checked_against_the_store_she_collects_from(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop
) -> None:
    phone = shopper("web")
    cart_id = my_cart(client, phone)["id"]
    added(client, phone, cart_id, shop.variants["S"])
    added(client, phone, cart_id, shop.variants["M"], 2)
    added(client, phone, cart_id, shop.variants["L"])

    def warnings(store_id: str, lang: str = "fr") -> dict[str, list[tuple[str, str, Any]]]:
        cart = my_cart(client, phone, store_id=store_id, lang=lang)
        assert cart["store_id"] == store_id
        return {
            line["sku"]: [
                (w["code"], w["message"], w["details"].get("available")) for w in line["warnings"]
            ]
            for line in cart["lines"]
        }

    # Store A holds 5 S and 1 M; she wants 2 M. L is only at the warehouse.
    assert warnings(shop.store_a) == {
        "PN-S": [],
        "PN-M": [("not_enough_stock", "Plus que 1 dans ce magasin.", 1)],
        "PN-L": [
            (
                "out_of_stock_here",
                "Épuisé dans ce magasin : livraison ou retrait après transfert.",
                0,
            )
        ],
    }
    # Store B: no S, exactly the 2 M she wants (few left).
    assert warnings(shop.store_b, "en") == {
        "PN-S": [
            (
                "out_of_stock_here",
                "Out of stock in this store: delivery or collection after a transfer.",
                0,
            )
        ],
        "PN-M": [("low_stock", "Only 2 left in this store.", 2)],
        "PN-L": [
            (
                "out_of_stock_here",
                "Out of stock in this store: delivery or collection after a transfer.",
                0,
            )
        ],
    }
    # Without a store, only what can be had anywhere counts.
    assert all(line["warnings"] == [] for line in my_cart(client, phone)["lines"])


def test_an_item_no_longer_sold_is_flagged_and_not_counted(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop, db: Database
) -> None:
    phone = shopper("web")
    cart_id = my_cart(client, phone)["id"]
    added(client, phone, cart_id, shop.variants["S"], 2)
    with UnitOfWork(db) as uow:
        catalog.update_product(uow=uow, product_id=shop.product_id, status="archived")
        uow.commit()
    cart = my_cart(client, phone)
    [line] = cart["lines"]
    assert [(w["code"], w["message"]) for w in line["warnings"]] == [
        ("unavailable", "Cet article n'est plus proposé.")
    ]
    assert my_cart(client, phone, lang="en")["lines"][0]["warnings"][0]["message"] == (
        "This item is no longer sold."
    )
    assert (cart["subtotal"], cart["item_count"]) == (0, 0), "she cannot buy it"
    # She can still take it out.
    removed = client.delete(f"/v1/carts/{cart_id}/lines/{line['id']}", headers=phone)
    assert (removed.status_code, removed.json()["lines"]) == (200, [])


def test_a_sold_out_item_says_so(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop, db: Database
) -> None:
    from parcours.inventory import service as inventory

    phone = shopper("web")
    cart_id = my_cart(client, phone)["id"]
    added(client, phone, cart_id, shop.variants["L"], 2)
    assert my_cart(client, phone)["lines"][0]["warnings"] == []
    with UnitOfWork(db) as uow:
        inventory.set_stock(
            uow=uow, variant_id=shop.variants["L"], location_id=shop.warehouse, on_hand=1,
            reason="count",
        )  # fmt: skip
        uow.commit()
    [warning] = my_cart(client, phone)["lines"][0]["warnings"]
    assert (warning["code"], warning["details"]) == ("not_enough_stock", {"available": 1})
    with UnitOfWork(db) as uow:
        inventory.set_stock(
            uow=uow, variant_id=shop.variants["L"], location_id=shop.warehouse, on_hand=0,
            reason="count",
        )  # fmt: skip
        uow.commit()
    [warning] = my_cart(client, phone)["lines"][0]["warnings"]
    assert (warning["code"], warning["message"]) == (
        "out_of_stock",
        "Cet article n'est plus disponible.",
    )


def test_a_cart_line_quantity_as_text_or_boolean_is_a_422(
    client: TestClient, shopper: Callable[..., dict[str, str]], shop: Shop
) -> None:
    phone = shopper("app")
    cart = client.get("/v1/me/cart", headers=phone).json()
    for quantity in ("1", True):
        answer = client.post(
            f"/v1/carts/{cart['id']}/lines",
            json={"variant_id": shop.variants["M"], "quantity": quantity},
            headers=phone,
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "validation_error"
        assert answer.json()["errors"][0]["location"] == ["body", "quantity"]
    assert client.get("/v1/me/cart", headers=phone).json()["lines"] == []
