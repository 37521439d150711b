"""The pickup desk of one store: its four lists, the customer's arrival (checked in by staff, by
her code or from her phone), the wait measured from it, codes, what to suggest, and the store's
walls: an associate of another store sees and touches none of it. Returns at the counter: one
refund per form, however many taps."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from html import unescape
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.orders.test_fulfilment import ADDRESS, Phone

from parcours.catalog import service as catalog
from parcours.core.auth.models import Role
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.errors import InvalidInput, NotFound
from parcours.core.outbox import OutboxMessage
from parcours.core.uow import UnitOfWork
from parcours.inventory import service as inventory
from parcours.orders import pickup_desk
from parcours.orders import service as orders
from parcours.tracking.models import Event

if TYPE_CHECKING:
    from tests.conftest import Shop


@pytest.fixture
def new_phone(client: TestClient, shopper: Callable[..., dict[str, str]]) -> Callable[[], Phone]:
    return lambda: Phone(client, shopper("app"))


def order_at(
    phone: Phone,
    variant_id: str,
    store_id: str,
    *,
    method: str = "click_and_collect",
    pay: bool = True,
) -> dict[str, Any]:
    """One unit ordered for pickup in ``store_id`` (paid by card unless told otherwise)."""
    phone.add(variant_id)
    placed = phone.checkout({"method": method, "store_id": store_id})
    assert placed.status_code == 201, placed.text
    order: dict[str, Any] = placed.json()
    if pay:
        paid = phone.pay(order["id"], key=f"pay-{order['id']}")
        assert paid.status_code == 201, paid.text
        order = paid.json()["order"]
    phone.cart = phone.client.get("/v1/me/cart", headers=phone.headers).json()
    return order


def numbers(desk: list[pickup_desk.DeskOrder]) -> set[str]:
    return {entry.number for entry in desk}


@pytest.mark.at_midday  # the day so far at the desk: it needs a day behind it
def test_the_desk_lists_one_store_by_status(
    new_phone: Callable[[], Phone], shop: Shop, db: Database
) -> None:
    to_prepare = order_at(new_phone(), shop.variants["S"], shop.store_a)
    ready = order_at(new_phone(), shop.variants["S"], shop.store_a)
    waiting = order_at(new_phone(), shop.variants["S"], shop.store_a)
    handed = order_at(new_phone(), shop.variants["S"], shop.store_a)
    unpaid = order_at(new_phone(), shop.variants["S"], shop.store_a, pay=False)
    reserved = order_at(
        new_phone(), shop.variants["M"], shop.store_a, method="reserve_in_store", pay=False
    )
    elsewhere = order_at(new_phone(), shop.variants["M"], shop.store_b)
    transfer = order_at(new_phone(), shop.variants["L"], shop.store_b)
    now = utcnow()
    with UnitOfWork(db) as uow:
        for order in (ready, waiting, handed):
            orders.mark_ready_for_pickup(uow=uow, order_id=order["id"], location_id=shop.store_a)
        pickup_desk.record_arrival(
            uow=uow, order_id=waiting["id"], location_id=shop.store_a, at=now - timedelta(minutes=2)
        )
        pickup_desk.record_arrival(
            uow=uow, order_id=handed["id"], location_id=shop.store_a, at=now - timedelta(minutes=6)
        )
        orders.collect_order(
            uow=uow,
            order_id=handed["id"],
            pickup_code=handed["pickup_code"],
            location_id=shop.store_a,
            at=now - timedelta(minutes=1),
        )
        uow.commit()
    with UnitOfWork(db, read_only=True) as uow:
        desk = pickup_desk.pickup_queue(uow=uow, location_id=shop.store_a, now=now)
        other = pickup_desk.pickup_queue(uow=uow, location_id=shop.store_b, now=now)
    assert numbers(desk.to_prepare) == {to_prepare["number"], reserved["number"]}
    assert unpaid["number"] not in numbers(desk.to_prepare), "paid online first, then prepared"
    assert numbers(desk.ready) == {ready["number"]}
    assert numbers(desk.arrived) == {waiting["number"]}
    assert numbers(desk.collected_today) == {handed["number"]}
    [done] = desk.collected_today
    assert done.waited_seconds == 5 * 60, "from her arrival to the hand-over"
    assert (desk.median_wait_seconds, desk.max_wait_seconds) == (300, 300)
    assert numbers(other.to_prepare) == {elsewhere["number"], transfer["number"]}
    moving = next(o for o in other.to_prepare if o.number == transfer["number"])
    assert moving.status == "in_transit"
    assert moving.ready_by is not None
    assert moving.ready_by - now > timedelta(days=1)
    assert not (numbers(other.ready) | numbers(other.arrived) | numbers(other.collected_today))
    assert [line.quantity for line in desk.ready[0].lines] == [1]


@pytest.mark.at_midday  # the day so far at the desk: it needs a day behind it
def test_yesterdays_hand_overs_leave_the_day_list(
    new_phone: Callable[[], Phone], shop: Shop, db: Database
) -> None:
    order = order_at(new_phone(), shop.variants["S"], shop.store_a)
    with UnitOfWork(db) as uow:
        orders.mark_ready_for_pickup(uow=uow, order_id=order["id"], location_id=shop.store_a)
        orders.collect_order(
            uow=uow,
            order_id=order["id"],
            pickup_code=order["pickup_code"],
            location_id=shop.store_a,
            at=utcnow() + timedelta(seconds=5),
        )
        uow.commit()
    with UnitOfWork(db, read_only=True) as uow:
        today = pickup_desk.pickup_queue(uow=uow, location_id=shop.store_a)
        tomorrow = pickup_desk.pickup_queue(
            uow=uow, location_id=shop.store_a, now=utcnow() + timedelta(days=1)
        )
    assert len(today.collected_today) == 1
    assert tomorrow.collected_today == []
    assert tomorrow.median_wait_seconds is None


def collected_payloads(db: Database) -> list[dict[str, Any]]:
    with UnitOfWork(db, read_only=True) as uow:
        rows = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.name == "orders.order_collected")
        ).all()
        return [json.loads(row.payload) for row in rows]


def journey_of(db: Database, name: str) -> list[Event]:
    with UnitOfWork(db, read_only=True) as uow:
        return list(uow.session.scalars(select(Event).where(Event.event == name)).all())


def test_the_wait_runs_from_her_arrival_to_the_hand_over(
    new_phone: Callable[[], Phone], shop: Shop, db: Database
) -> None:
    order = order_at(new_phone(), shop.variants["S"], shop.store_a)
    now = utcnow()
    with UnitOfWork(db) as uow:
        orders.mark_ready_for_pickup(uow=uow, order_id=order["id"], location_id=shop.store_a)
        pickup_desk.record_arrival(
            uow=uow,
            order_id=order["id"],
            location_id=shop.store_a,
            at=now + timedelta(minutes=30),
        )
        # A second check-in (her phone, then the associate) keeps the first time.
        pickup_desk.record_arrival(
            uow=uow,
            order_id=order["id"],
            location_id=shop.store_a,
            at=now + timedelta(minutes=33),
        )
        orders.collect_order(
            uow=uow,
            order_id=order["id"],
            pickup_code=order["pickup_code"],
            location_id=shop.store_a,
            at=now + timedelta(minutes=37),
        )
        uow.commit()
    [payload] = collected_payloads(db)
    assert payload["waited_seconds"] == 7 * 60
    assert 37 * 60 - 5 <= payload["shelf_seconds"] <= 37 * 60, "ready → collected, kept apart"
    [event] = journey_of(db, "Order Collected")
    assert event.properties["waited_seconds"] == 7 * 60
    assert (event.channel, event.store_id) == ("store", shop.store_a)
    [checked_in] = journey_of(db, "Pickup Checked In")
    assert checked_in.properties["checked_in_by"] == "staff"


def test_never_checked_in_she_waited_from_the_code_check(
    new_phone: Callable[[], Phone], shop: Shop, db: Database
) -> None:
    order = order_at(new_phone(), shop.variants["S"], shop.store_a)
    with UnitOfWork(db) as uow:
        orders.mark_ready_for_pickup(uow=uow, order_id=order["id"], location_id=shop.store_a)
        collected = orders.collect_order(
            uow=uow,
            order_id=order["id"],
            pickup_code=order["pickup_code"],
            location_id=shop.store_a,
        )
        group = collected.fulfilments[0]
        assert group.arrived_at == group.done_at
        uow.commit()
    assert collected_payloads(db)[0]["waited_seconds"] == 0


def test_staff_and_the_shopper_herself_check_her_in(
    new_phone: Callable[[], Phone], shop: Shop, staff_client: Callable[..., TestClient]
) -> None:
    phone = new_phone()
    mine = order_at(phone, shop.variants["S"], shop.store_a)
    theirs = order_at(new_phone(), shop.variants["S"], shop.store_a)
    desk = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    for order in (mine, theirs):
        assert desk.post(
            f"/v1/orders/{order['id']}/ready", json={"store_id": shop.store_a}
        ).is_success

    arrived = phone.client.post(
        f"/v1/orders/{mine['id']}/arrived", json={"store_id": shop.store_a}, headers=phone.headers
    )
    assert arrived.status_code == 200, arrived.text
    first = arrived.json()["fulfilments"][0]["arrived_at"]
    assert first is not None
    not_hers = phone.client.post(
        f"/v1/orders/{theirs['id']}/arrived", json={"store_id": shop.store_a}, headers=phone.headers
    )
    assert not_hers.status_code == 403
    assert not_hers.json()["code"] == "order_not_yours"

    again = desk.post(f"/v1/orders/{mine['id']}/arrived", json={"store_id": shop.store_a})
    assert again.status_code == 200
    assert again.json()["fulfilments"][0]["arrived_at"] == first, "the first check-in counts"
    staff = desk.post(f"/v1/orders/{theirs['id']}/arrived", json={"store_id": shop.store_a})
    assert staff.status_code == 200
    assert staff.json()["fulfilments"][0]["arrived_at"] is not None
    wrong_store = desk.post(f"/v1/orders/{theirs['id']}/arrived", json={"store_id": shop.store_b})
    assert wrong_store.status_code == 403
    assert wrong_store.json()["code"] == "store_out_of_scope"


def test_an_unpaid_click_and_collect_cannot_check_in(
    new_phone: Callable[[], Phone], shop: Shop
) -> None:
    phone = new_phone()
    order = order_at(phone, shop.variants["S"], shop.store_a, pay=False)
    refused = phone.client.post(
        f"/v1/orders/{order['id']}/arrived", json={"store_id": shop.store_a}, headers=phone.headers
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "payment_required"


def test_a_pickup_code_finds_the_order_here_and_checks_her_in(
    new_phone: Callable[[], Phone], shop: Shop, db: Database
) -> None:
    order = order_at(new_phone(), shop.variants["S"], shop.store_a)
    with UnitOfWork(db) as uow:
        orders.mark_ready_for_pickup(uow=uow, order_id=order["id"], location_id=shop.store_a)
        uow.commit()
    wrong = "000000" if order["pickup_code"] != "000000" else "111111"
    with UnitOfWork(db) as uow:
        with pytest.raises(NotFound) as missing:
            pickup_desk.find_pickup_by_code(uow=uow, location_id=shop.store_a, code=wrong)
        assert missing.value.code == "wrong_pickup_code"
        with pytest.raises(InvalidInput):
            pickup_desk.find_pickup_by_code(uow=uow, location_id=shop.store_a, code="12ab")
        with pytest.raises(NotFound):
            pickup_desk.find_pickup_by_code(
                uow=uow, location_id=shop.store_b, code=order["pickup_code"]
            )
        spaced = f"{order['pickup_code'][:3]} {order['pickup_code'][3:]}"
        [found] = pickup_desk.find_pickup_by_code(uow=uow, location_id=shop.store_a, code=spaced)
        uow.commit()
    assert found.number == order["number"]
    assert found.can_hand_over
    assert found.arrived_at is not None, "she is at the desk with her code"


def test_five_wrong_codes_a_minute_is_the_limit() -> None:
    limit = pickup_desk.WrongCodeLimit()
    now = utcnow()
    for _ in range(5):
        limit.check("stf_1", now)
        limit.record_wrong("stf_1", now)
    with pytest.raises(pickup_desk.TooManyCodeTries):
        limit.check("stf_1", now + timedelta(seconds=30))
    limit.check("stf_2", now)  # another associate is not slowed down
    limit.check("stf_1", now + timedelta(seconds=61))


def _product(uow: UnitOfWork, name: str, sku: str) -> str:
    product = catalog.create_product(
        uow=uow,
        name=name,
        price_amount=2500,
        channels=["web", "app", "store"],
        status="published",
        variants=[{"sku": sku, "attributes": {"taille": "U"}}],
    )
    return product.variants[0].id


def test_bought_together_counts_baskets_and_keeps_what_is_on_this_shelf(
    new_phone: Callable[[], Phone], shop: Shop, db: Database
) -> None:
    with UnitOfWork(db) as uow:
        belt = _product(uow, "Ceinture cuir", "CE-U")
        shirt = _product(uow, "Chemise blanche", "CH-U")
        for variant, location, units in (
            (belt, shop.store_a, 4),
            (belt, shop.warehouse, 10),
            (shirt, shop.warehouse, 10),  # none in store A
        ):
            inventory.set_stock(
                uow=uow, variant_id=variant, location_id=location, on_hand=units, reason="count"
            )
        uow.commit()
    baskets = [
        [shop.variants["S"], belt],
        [shop.variants["M"], belt, shirt],
        [shop.variants["S"], shirt],
        [shop.variants["L"], shirt],
        [shirt, belt],
    ]
    for basket in baskets:
        phone = new_phone()
        for variant in basket:
            phone.add(variant)
        assert phone.checkout({"method": "delivery", "address": ADDRESS}).status_code == 201
    with UnitOfWork(db, read_only=True) as uow:
        counts = dict(pickup_desk.co_purchases(uow=uow, product_ids=[shop.product_id]))
        variants = catalog.get_variants(uow=uow, variant_ids=[belt, shirt])
        suggested = pickup_desk.bought_together(
            uow=uow, product_ids=[shop.product_id], location_id=shop.store_a
        )
        at_warehouse = pickup_desk.bought_together(
            uow=uow, product_ids=[shop.product_id], location_id=shop.warehouse
        )
    belt_product, shirt_product = variants[belt].product_id, variants[shirt].product_id
    assert counts == {shirt_product: 3, belt_product: 2}, "the order's own product left out"
    assert [s.product_id for s in suggested] == [belt_product], "the shirt is not on this shelf"
    assert suggested[0].orders_together == 2
    assert [(v.variant_id, v.available) for v in suggested[0].variants] == [(belt, 4)]
    assert [s.product_id for s in at_warehouse] == [shirt_product, belt_product]


def test_another_stores_associate_sees_and_touches_none_of_the_desk(
    new_phone: Callable[[], Phone], shop: Shop, staff_client: Callable[..., TestClient]
) -> None:
    order = order_at(new_phone(), shop.variants["S"], shop.store_a)
    desk_a = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    desk_b = staff_client(Role.ASSOCIATE, stores={shop.store_b})

    listed = desk_b.get("/v1/orders", params={"pickup_store_id": shop.store_a})
    assert listed.status_code == 403
    assert listed.json()["code"] == "store_out_of_scope"
    everything = desk_b.get("/v1/orders")
    assert everything.status_code == 403, "no network-wide list for an associate"
    ours = desk_a.get("/v1/orders", params={"pickup_store_id": shop.store_a})
    assert [o["id"] for o in ours.json()["items"]] == [order["id"]]

    for action, body in (
        ("ready", {"store_id": shop.store_a}),
        ("arrived", {"store_id": shop.store_a}),
        ("collect", {"store_id": shop.store_a, "pickup_code": order["pickup_code"]}),
    ):
        refused = desk_b.post(f"/v1/orders/{order['id']}/{action}", json=body)
        assert refused.status_code == 403, action
        assert refused.json()["code"] == "store_out_of_scope"
    own_store = desk_b.post(f"/v1/orders/{order['id']}/ready", json={"store_id": shop.store_b})
    assert own_store.status_code == 409, "naming her own store changes nothing either"

    read_b = desk_b.get(f"/v1/orders/{order['id']}")
    assert read_b.status_code == 200, "any store takes returns"
    assert read_b.json()["pickup_code"] is None, "but the code opens only store A's desk"
    assert desk_a.get(f"/v1/orders/{order['id']}").json()["pickup_code"] == order["pickup_code"]

    page_b = desk_b.get("/associate/retraits")
    assert page_b.status_code == 200
    assert "Parcours PAR-B" in page_b.text
    assert order["number"] not in page_b.text
    assert order["number"] in desk_a.get("/associate/retraits").text


def test_the_desk_page_hands_over_against_the_code(
    new_phone: Callable[[], Phone], shop: Shop, staff_client: Callable[..., TestClient]
) -> None:
    order = order_at(new_phone(), shop.variants["S"], shop.store_a)
    desk = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    ready = desk.post(f"/associate/retraits/{order['id']}/prete", follow_redirects=False)
    assert ready.status_code == 303
    wrong = "000000" if order["pickup_code"] != "000000" else "111111"
    refused = desk.post("/associate/retraits/code", data={"code": wrong})
    assert refused.status_code == 404
    assert "Aucune commande à retirer ici n'a ce code" in unescape(refused.text)
    found = desk.post("/associate/retraits/code", data={"code": order["pickup_code"]})
    assert found.status_code == 200
    assert "Remettre" in found.text
    done = desk.post(
        f"/associate/retraits/{order['id']}/remise",
        data={"code": order["pickup_code"]},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = desk.get(done.headers["location"])
    assert "Remise" in page.text
    assert desk.get(f"/v1/orders/{order['id']}").json()["status"] == "collected"


def test_a_double_tap_on_a_return_refunds_once(
    new_phone: Callable[[], Phone], shop: Shop, staff_client: Callable[..., TestClient]
) -> None:
    phone = new_phone()
    phone.add(shop.variants["S"], 2)
    order = phone.checkout({"method": "delivery", "address": ADDRESS}).json()
    assert phone.pay(order["id"]).status_code == 201
    manager = staff_client(Role.MANAGER)
    group = order["fulfilments"][0]["id"]
    assert manager.post(f"/v1/orders/{order['id']}/ship", json={"fulfilment_id": group}).is_success
    manager.post(f"/v1/orders/{order['id']}/delivered", json={"fulfilment_id": group})

    counter = staff_client(Role.ASSOCIATE, stores={shop.store_b})
    form = counter.get(f"/associate/retours/{order['id']}")
    assert form.status_code == 200
    match = re.search(r'name="idempotency_key" value="([^"]+)"', form.text)
    assert match is not None
    line = order["lines"][0]["id"]
    data = {"idempotency_key": match.group(1), "line_id": line, "quantity": "1", "reason": "size"}
    first = counter.post(f"/associate/retours/{order['id']}", data=data, follow_redirects=False)
    second = counter.post(f"/associate/retours/{order['id']}", data=data, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    done = counter.get(first.headers["location"])
    assert "59,90" in done.text
    after = counter.get(f"/v1/orders/{order['id']}").json()
    assert after["refunded_amount"] == shop.price, "one unit refunded, once"
    assert after["status"] == "partly_returned"


def test_returns_explain_why_nothing_can_come_back(
    new_phone: Callable[[], Phone], shop: Shop, staff_client: Callable[..., TestClient]
) -> None:
    unpaid = order_at(new_phone(), shop.variants["S"], shop.store_a, pay=False)
    waiting = order_at(new_phone(), shop.variants["S"], shop.store_a)
    counter = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    assert "n'a pas été payée" in unescape(counter.get(f"/associate/retours/{unpaid['id']}").text)
    assert "pas encore été livrée" in counter.get(f"/associate/retours/{waiting['id']}").text
    refused = counter.post(
        f"/associate/retours/{waiting['id']}",
        data={
            "idempotency_key": "k" * 12,
            "line_id": waiting["lines"][0]["id"],
            "quantity": "1",
        },
    )
    assert refused.status_code == 409
    assert "pas encore été remis" in refused.text
    by_number = counter.get("/associate/retours", params={"q": waiting["number"]})
    assert by_number.url.path == f"/associate/retours/{waiting['id']}"
    unknown = counter.get("/associate/retours", params={"q": "nobody@example.com"})
    assert "Aucune commande ne correspond" in unknown.text
