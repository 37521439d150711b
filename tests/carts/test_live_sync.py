"""Live sync, end to end over HTTP: a change on the phone shows on the laptop and at the till,
through one server or, with several server processes, through Redis pub/sub.

Servers are Uvicorn on loopback (``live_server`` in this process; ``redis_servers``: two real
processes, this one and a child, sharing the database and Redis); streams are read with httpx as
a browser's EventSource would read them. How fast a change shows (the issue promises within a
second) is measured by bench/cart_sync.py, not asserted here: a busy CI machine is not a user's.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import httpx2
from fastapi.testclient import TestClient
from tests.carts.conftest import Headers, assert_problem, mailed_code, my_cart

from parcours.core.auth.http import SESSION_COOKIE
from parcours.core.auth.models import Role
from parcours.core.db import Database

if TYPE_CHECKING:
    from tests.conftest import Shop

#: How long a test waits for an event before calling it missing: a guard against hanging, far
#: above what delivery takes (bench/cart_sync.py measures that).
WITHIN = 10.0


@dataclass
class Event:
    name: str | None
    id: str | None
    data: dict[str, Any]


class Stream:
    """An open SSE stream, read by a thread into a queue: events are awaited with a deadline,
    never by blocking on the socket (heartbeats come only every 15 s)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._events: queue.Queue[Event | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        name: str | None = None
        event_id: str | None = None
        data: list[str] = []
        try:
            for line in self.response.iter_lines():
                if line.startswith(":"):
                    continue  # a heartbeat
                if not line:
                    if data:
                        self._events.put(Event(name, event_id, json.loads("\n".join(data))))
                    name, event_id, data = None, None, []
                    continue
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "event":
                    name = value
                elif field == "id":
                    event_id = value
                elif field == "data":
                    data.append(value)
        except Exception:  # noqa: BLE001 - closed by the test: the stream simply ends
            pass
        finally:
            self._events.put(None)

    def next(self, within: float = WITHIN) -> Event:
        try:
            event = self._events.get(timeout=within)
        except queue.Empty:
            raise AssertionError(f"no event within {within} s") from None
        assert event is not None, "the stream ended"
        return event

    def close(self) -> None:
        """Hang up as a closing tab does. Closing the response would not wake the reader
        blocked on the socket, so the socket itself is shut."""
        network = self.response.extensions.get("network_stream")
        sock = network.get_extra_info("socket") if network is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._reader.join(5)
        assert not self._reader.is_alive(), "the stream did not close"


@contextmanager
def events_of(
    base_url: str, cart_id: str, headers: dict[str, str], **params: str
) -> Iterator[Stream]:
    with (
        httpx.Client(base_url=base_url, timeout=httpx.Timeout(10, read=None)) as http,
        http.stream("GET", f"/v1/carts/{cart_id}/events", headers=headers, params=params) as got,
    ):
        assert got.status_code == 200, got.read()
        assert got.headers["content-type"].startswith("text/event-stream")
        stream = Stream(got)
        try:
            yield stream
        finally:
            stream.close()


def refused(base_url: str, cart_id: str, headers: dict[str, str]) -> httpx.Response:
    with (
        httpx.Client(base_url=base_url, timeout=5) as http,
        http.stream("GET", f"/v1/carts/{cart_id}/events", headers=headers) as answer,
    ):
        answer.read()
        return answer


def add_through(base_url: str, device: Headers, cart_id: str, variant_id: str) -> dict[str, Any]:
    answer = httpx.post(
        f"{base_url}/v1/carts/{cart_id}/lines",
        json={"variant_id": variant_id},
        headers=device,
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    cart: dict[str, Any] = answer.json()
    return cart


def till_headers(till: TestClient) -> dict[str, str]:
    """The till's staff session, sent by hand: its cookie is Secure and the server is http."""
    return {"Cookie": f"{SESSION_COOKIE}={till.cookies[SESSION_COOKIE]}"}


def test_a_change_on_the_phone_shows_on_the_laptop_and_at_the_till(
    live_server: str,
    client: TestClient,
    shopper: Callable[..., Headers],
    staff_client: Callable[..., TestClient],
    shop: Shop,
) -> None:
    phone = shopper("app")
    cart = my_cart(client, phone)
    till = till_headers(staff_client(Role.ASSOCIATE, stores={shop.store_a}))
    with (
        events_of(live_server, cart["id"], phone, lang="en", store_id=shop.store_b) as laptop,
        events_of(live_server, cart["id"], till, store_id=shop.store_a) as at_till,
    ):
        for stream in (laptop, at_till):
            first = stream.next()
            assert (first.name, first.id) == ("initial", "1")
            assert (first.data["cart"]["id"], first.data["cart"]["lines"]) == (cart["id"], [])

        changed = add_through(live_server, phone, cart["id"], shop.variants["M"])
        seen_on_laptop, seen_at_till = laptop.next(), at_till.next()
        for seen in (seen_on_laptop, seen_at_till):
            assert (seen.name, seen.id) == ("cart", "2")
            assert seen.data["version"] == changed["version"] == 2
            assert [line["sku"] for line in seen.data["cart"]["lines"]] == ["PN-M"]
        # Each device sees the cart as it reads it: its language, its store's stock.
        [on_laptop] = seen_on_laptop.data["cart"]["lines"][0]["warnings"]
        assert (on_laptop["code"], on_laptop["message"]) == (
            "low_stock",
            "Only 2 left in this store.",
        )
        [at_the_till] = seen_at_till.data["cart"]["lines"][0]["warnings"]
        assert (at_the_till["code"], at_the_till["message"]) == (
            "low_stock",
            "Plus que 1 dans ce magasin.",
        )


def test_reading_the_cart_elsewhere_sends_nothing(
    live_server: str, client: TestClient, shopper: Callable[..., Headers], shop: Shop
) -> None:
    phone = shopper("app")
    cart = my_cart(client, phone)
    with events_of(live_server, cart["id"], phone) as laptop:
        assert laptop.next().name == "initial"
        add_through(live_server, phone, cart["id"], shop.variants["S"])
        assert laptop.next().id == "2"
        for params in ({}, {"store_id": shop.store_b}, {"lang": "en"}):
            read = httpx.get(f"{live_server}/v1/me/cart", headers=phone, params=params, timeout=10)
            assert read.status_code == 200, read.text
        add_through(live_server, phone, cart["id"], shop.variants["L"])
        following = laptop.next()
        assert following.id == "3", "the reads sent nothing in between"
        assert [line["sku"] for line in following.data["cart"]["lines"]] == ["PN-S", "PN-L"]


def test_signing_in_tells_the_phone_where_its_cart_went(
    live_server: str,
    client: TestClient,
    shopper: Callable[..., Headers],
    sign_in: Callable[..., httpx2.Response],
    shop: Shop,
    db: Database,
) -> None:
    email = "jeanne.martin@example.com"
    laptop = shopper("web")
    assert sign_in(laptop, email).status_code == 200
    hers = my_cart(client, laptop)
    add_through(live_server, laptop, hers["id"], shop.variants["M"])
    phone = shopper("app")
    guest = my_cart(client, phone)
    add_through(live_server, phone, guest["id"], shop.variants["S"])
    with (
        events_of(live_server, hers["id"], laptop) as on_laptop,
        events_of(live_server, guest["id"], phone) as on_phone,
    ):
        assert on_laptop.next().name == on_phone.next().name == "initial"
        asked = httpx.post(
            f"{live_server}/v1/shopper/sign-in-codes", json={"email": email}, headers=phone
        )
        assert asked.status_code == 202, asked.text
        signed = httpx.post(
            f"{live_server}/v1/shopper/sign-in",
            json={"email": email, "code": mailed_code(db, email)},
            headers=phone,
        )
        assert signed.status_code == 200, signed.text
        merged = on_laptop.next()
        assert [line["sku"] for line in merged.data["cart"]["lines"]] == ["PN-M", "PN-S"]
        ended = on_phone.next()
        assert ended.data["type"] == "ended"
        assert (ended.data["status"], ended.data["moved_to"]) == ("merged", hers["id"])


def test_the_stream_is_for_the_carts_shopper_only(
    live_server: str,
    client: TestClient,
    shopper: Callable[..., Headers],
    storefront_key: str,
    secret_key: str,
    staff_client: Callable[..., TestClient],
) -> None:
    phone = shopper("app")
    cart = my_cart(client, phone)
    stranger = refused(live_server, cart["id"], shopper("web"))
    assert_problem(stranger, 403, "cart_not_yours")
    for nobody in ({}, {"Authorization": f"Bearer {storefront_key}"}):
        anonymous = refused(live_server, cart["id"], nobody)
        assert anonymous.status_code == 401, anonymous.text
        assert anonymous.json()["code"] == "shopper_session_required"
    marketer = refused(live_server, cart["id"], till_headers(staff_client(Role.MARKETER)))
    assert_problem(marketer, 403, "insufficient_role")
    unknown = refused(live_server, "crt_unknown", phone)
    assert unknown.status_code == 404
    # A browser's EventSource sends the session cookie, and a server its secret key.
    cookie = {"Cookie": f"parcours_shopper={phone['X-Shopper-Token']}"}
    with events_of(live_server, cart["id"], cookie) as own:
        assert own.next().data["cart"]["id"] == cart["id"]
    with events_of(live_server, cart["id"], {"Authorization": f"Bearer {secret_key}"}) as server:
        assert server.next().data["cart"]["id"] == cart["id"]


# --- several server processes ----------------------------------------------------------------


def test_with_two_server_processes_a_change_crosses_through_redis(
    redis_servers: tuple[str, str],
    client: TestClient,
    shopper: Callable[..., Headers],
    shop: Shop,
) -> None:
    server_a, server_b = redis_servers
    phone = shopper("app")
    cart = my_cart(client, phone)
    with (
        events_of(server_b, cart["id"], phone) as laptop_on_b,
        events_of(server_a, cart["id"], phone) as phone_on_a,
    ):
        assert laptop_on_b.next().id == phone_on_a.next().id == "1"
        for version, (through, size) in enumerate(
            [(server_a, "S"), (server_b, "M"), (server_a, "L")], start=2
        ):
            add_through(through, phone, cart["id"], shop.variants[size])
            on_b, on_a = laptop_on_b.next(), phone_on_a.next()
            assert on_b.id == on_a.id == str(version)
            assert on_b.data["cart"]["lines"][-1]["sku"] == f"PN-{size}"
        # And once only: one more change comes next on both streams. An echo of an earlier one
        # through Redis was published before it, so Redis would have delivered that first.
        add_through(server_b, phone, cart["id"], shop.variants["S"])
        assert laptop_on_b.next().id == phone_on_a.next().id == "5"
