"""A cart change reaches every open stream of the shopper: from any thread, in this process or
through Redis from another, as Server-Sent Events; slow or departed clients hold nothing.

The Redis tests use the server of the ``redis_url`` fixture (``PARCOURS_TEST_REDIS_URL``, default
the local one) and fail, never skip, when it is not there. Each test uses its own channel prefix.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest
import redis.asyncio
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response
from tests.conftest import REDIS_URL

from parcours.core.live import (
    InProcessHub,
    LiveHub,
    RedisHub,
    build_live_hub,
    sse_stream,
    time_delivery,
)
from parcours.core.settings import Environment, Settings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _next(messages: AsyncIterator[dict[str, Any]], within: float = 1.0) -> dict[str, Any]:
    with anyio.fail_after(within):
        return await anext(messages)


def _publish_in_thread(hub: LiveHub, topic: str, *messages: dict[str, Any]) -> None:
    def run() -> None:
        for message in messages:
            hub.publish(topic, message)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


# --- in one process --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_publish_from_another_thread_reaches_a_subscriber_in_order() -> None:
    hub = InProcessHub()
    async with hub.subscribe("cart:crt_1") as messages:
        _publish_in_thread(hub, "cart:crt_1", *({"version": v} for v in range(1, 31)))
        received = [(await _next(messages))["version"] for _ in range(30)]
    assert received == list(range(1, 31))
    assert hub.subscriber_count() == 0


@pytest.mark.anyio
async def test_every_subscriber_of_a_topic_gets_each_message_and_topics_stay_apart() -> None:
    hub = InProcessHub()
    async with (
        hub.subscribe("cart:crt_1") as phone,
        hub.subscribe("cart:crt_1") as laptop,
        hub.subscribe("cart:crt_2") as stranger,
    ):
        assert hub.subscriber_count("cart:crt_1") == 2
        _publish_in_thread(hub, "cart:crt_1", {"version": 1})
        hub.publish("cart:crt_2", {"version": 7})  # from the loop itself
        assert await _next(phone) == {"version": 1}
        assert await _next(laptop) == {"version": 1}
        # Delivered in publish order: had crt_1's message reached it, it would come first.
        assert await _next(stranger) == {"version": 7}


@pytest.mark.anyio
async def test_a_slow_subscriber_is_bounded_and_told_to_resync() -> None:
    hub = InProcessHub(buffer_limit=8)
    async with hub.subscribe("cart:crt_1") as messages:
        for version in range(1, 101):
            hub.publish("cart:crt_1", {"version": version})
            assert messages.pending <= 8  # type: ignore[attr-defined]
        received = []
        while messages.pending:  # type: ignore[attr-defined]
            received.append(await _next(messages))
    assert received[0] == {"type": "resync"}
    assert received[-1] == {"version": 100}  # the newest survive
    assert len(received) <= 8


@pytest.mark.anyio
async def test_messages_are_json_snapshots_taken_at_publish_time() -> None:
    hub = InProcessHub()
    async with hub.subscribe("cart:crt_1") as messages:
        message: dict[str, Any] = {"version": 1, "lines": [{"sku": "A", "quantity": 1}]}
        hub.publish("cart:crt_1", message)
        message["lines"][0]["quantity"] = 99
        assert await _next(messages) == {"version": 1, "lines": [{"sku": "A", "quantity": 1}]}
        with pytest.raises(TypeError):
            hub.publish("cart:crt_1", {"at": object()})  # would not cross Redis either


@pytest.mark.anyio
async def test_closing_the_hub_ends_open_subscriptions() -> None:
    hub = InProcessHub()
    async with hub.subscribe("cart:crt_1") as messages:
        await hub.aclose()
        with anyio.fail_after(1):
            assert [message async for message in messages] == []
    assert hub.subscriber_count() == 0
    async with hub.subscribe("cart:crt_1") as messages:  # usable again (a new lifespan)
        hub.publish("cart:crt_1", {"version": 2})
        assert await _next(messages) == {"version": 2}


@pytest.mark.anyio
async def test_delivery_can_be_timed() -> None:
    timings = await time_delivery(InProcessHub(), count=20)
    assert len(timings.seconds) == 20
    assert 0 < timings.p50 <= timings.p99  # the figures themselves: bench/cart_sync.py


def test_the_settings_choose_the_hub() -> None:
    plain = Settings(environment=Environment.TEST)
    assert type(build_live_hub(plain)) is InProcessHub
    shared = build_live_hub(plain.model_copy(update={"redis_url": REDIS_URL}))
    assert isinstance(shared, RedisHub)
    assert shared.url == REDIS_URL


# --- between processes, through Redis -------------------------------------------------------


@asynccontextmanager
async def redis_hubs(url: str, count: int, **options: Any) -> AsyncIterator[list[RedisHub]]:
    """``count`` hubs sharing a fresh channel prefix: as many processes of one deployment."""
    prefix = f"parcours:test:{uuid.uuid4().hex}:"
    # Only these hubs' bridges count: a server another test started may still be shutting down.
    before = {t for t in threading.enumerate() if t.name == "parcours-live-redis"}
    hubs = [RedisHub(url, channel_prefix=prefix, **options) for _ in range(count)]
    try:
        yield hubs
    finally:
        for hub in hubs:
            await hub.aclose()
    bridges = [t for t in threading.enumerate() if t.name == "parcours-live-redis"]
    assert [t for t in bridges if t not in before] == [], "aclose leaves no bridge thread behind"


@pytest.mark.anyio
async def test_a_publish_in_one_process_reaches_a_subscriber_in_another(redis_url: str) -> None:
    # How fast: bench/cart_sync.py times it (the hub alone, then through HTTP and two servers).
    async with redis_hubs(redis_url, 2) as (till, phone), phone.subscribe("cart:crt_1") as messages:
        assert phone.connected, f"Redis at {redis_url} is not reachable"
        _publish_in_thread(till, "cart:crt_1", {"version": 1}, {"version": 2})
        assert await _next(messages) == {"version": 1}
        assert await _next(messages) == {"version": 2}


@pytest.mark.anyio
async def test_a_process_delivers_its_own_messages_once(redis_url: str) -> None:
    async with redis_hubs(redis_url, 2) as (web, worker), AsyncExitStack() as stack:
        local = await stack.enter_async_context(web.subscribe("cart:crt_1"))
        remote = await stack.enter_async_context(worker.subscribe("cart:crt_1"))
        web.publish("cart:crt_1", {"version": 1})
        web.publish("cart:crt_1", {"version": 2})
        assert [await _next(local), await _next(local)] == [{"version": 1}, {"version": 2}]
        assert [await _next(remote), await _next(remote)] == [{"version": 1}, {"version": 2}]
        # Redis delivers in order on web's connection: an echo of its own messages would come
        # before this one.
        worker.publish("cart:crt_1", {"version": 3})
        assert await _next(local) == {"version": 3}


@pytest.mark.anyio
async def test_without_redis_local_streams_still_update() -> None:
    async with AsyncExitStack() as stack:
        hub = RedisHub("redis://127.0.0.1:1/0", ready_timeout=0.2, publish_timeout=0.2)
        stack.push_async_callback(hub.aclose)
        messages = await stack.enter_async_context(hub.subscribe("cart:crt_1"))
        assert not hub.connected
        for version in range(1, 51):
            hub.publish("cart:crt_1", {"version": version})
        assert [(await _next(messages))["version"] for _ in range(50)] == list(range(1, 51))


@pytest.mark.anyio
async def test_a_lost_redis_connection_comes_back_and_asks_subscribers_to_resync(
    redis_url: str,
) -> None:
    async with redis_hubs(redis_url, 2) as (till, phone), phone.subscribe("cart:crt_1") as messages:
        assert phone.connected, f"Redis at {redis_url} is not reachable"
        admin = redis.asyncio.Redis.from_url(redis_url)
        try:
            name = f"parcours-live-sub-{phone.origin[:12]}"
            ids = [c["id"] for c in await admin.client_list() if c.get("name") == name]
            assert len(ids) == 1
            await admin.client_kill_filter(_id=ids[0])
        finally:
            await admin.aclose()
        assert await _next(messages, within=3) == {"type": "resync"}
        till.publish("cart:crt_1", {"version": 5})
        assert await _next(messages) == {"version": 5}


# --- Server-Sent Events, end to end ----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serve(app: FastAPI) -> Iterator[str]:
    """``app`` served by Uvicorn on a loopback port, in a thread (like ``live_server``)."""
    port = _free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        log_config=None,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class Event:
    name: str | None = None
    id: str | None = None
    data: Any = None
    comment: str | None = None


def _events(response: httpx.Response) -> Iterator[Event]:
    """Events and comments of an SSE stream, parsed as a browser's EventSource does."""
    event = Event()
    for line in response.iter_lines():
        if line.startswith(":"):
            yield Event(comment=line[1:].strip())
        elif not line:
            if event.data is not None:
                yield event
            event = Event()
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                event.name = value
            elif field == "id":
                event.id = value
            elif field == "data":
                event.data = json.loads(value)


def _next_event(events: Iterator[Event], *, within: float = 1.0) -> Event:
    """The next event, heartbeats skipped (they arrive every 0.2 s, so this cannot hang)."""
    deadline = time.monotonic() + within
    for event in events:
        if event.comment is None:
            return event
        assert time.monotonic() < deadline, "no event in time"
    raise AssertionError("the stream ended")


@dataclass
class LiveSite:
    url: str
    server_hub: LiveHub
    publisher: LiveHub  # another process's hub, for the Redis case


def _site_app(hub: LiveHub) -> FastAPI:
    app = FastAPI()

    @app.get("/carts/{cart_id}/events", response_class=Response)
    async def cart_events(cart_id: str, request: Request) -> Response:
        return await sse_stream(
            hub,
            f"cart:{cart_id}",
            initial={"type": "cart", "version": 1, "cart": {"id": cart_id, "lines": []}},
            request=request,
            heartbeat_seconds=0.2,
        )

    @app.get("/racing/{cart_id}/events", response_class=Response)
    async def racing_events(cart_id: str, request: Request) -> Response:
        def read_cart() -> dict[str, Any]:
            # Two devices change the cart while this one reads it: version 2 is in what it
            # reads, version 3 lands just after.
            hub.publish(f"cart:{cart_id}", {"type": "cart", "version": 2})
            hub.publish(f"cart:{cart_id}", {"type": "cart", "version": 3})
            return {"type": "cart", "version": 2}

        return await sse_stream(
            hub, f"cart:{cart_id}", initial=read_cart, request=request, heartbeat_seconds=0.2
        )

    return app


@pytest.fixture(params=["in-process", "redis"])
def live_site(request: pytest.FixtureRequest) -> Iterator[LiveSite]:
    if request.param == "in-process":
        server_hub: LiveHub = InProcessHub()
        hubs = [server_hub]
        publisher = server_hub
    else:
        url = request.getfixturevalue("redis_url")
        prefix = f"parcours:test:{uuid.uuid4().hex}:"
        server_hub, publisher = hubs = [RedisHub(url, channel_prefix=prefix) for _ in "ab"]
    try:
        with _serve(_site_app(server_hub)) as url:
            yield LiveSite(url, server_hub, publisher)
    finally:
        for hub in hubs:
            asyncio.run(hub.aclose())


def _wait_for_subscribers(hub: LiveHub, count: int) -> None:
    deadline = time.monotonic() + 5
    while hub.subscriber_count() != count:
        assert time.monotonic() < deadline, f"{hub.subscriber_count()} subscribers, not {count}"
        time.sleep(0.01)


def test_a_stream_starts_with_the_cart_then_follows_every_change(live_site: LiveSite) -> None:
    with (
        httpx.Client(timeout=5) as client,
        client.stream("GET", f"{live_site.url}/carts/crt_1/events") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        events = _events(response)
        first = _next_event(events)
        assert (first.name, first.id) == ("initial", "1")
        assert first.data["cart"] == {"id": "crt_1", "lines": []}
        assert live_site.server_hub.subscriber_count("cart:crt_1") == 1

        live_site.publisher.publish("cart:crt_1", {"type": "cart", "version": 2})
        live_site.publisher.publish("cart:crt_1", {"type": "ended", "cart_id": "crt_1"})
        change = _next_event(events)
        assert (change.name, change.id) == ("cart", "2")
        assert change.data == {"type": "cart", "version": 2}
        ended = _next_event(events)
        assert (ended.name, ended.id) == ("cart", None)

        heartbeat = next(event for event in events if event.comment is not None)
        assert heartbeat.comment == "heartbeat"
    # The client hung up: the server notices and the subscription ends with the stream.
    _wait_for_subscribers(live_site.server_hub, 0)


def test_a_change_made_while_the_stream_reads_the_cart_is_not_lost(live_site: LiveSite) -> None:
    with (
        httpx.Client(timeout=5) as client,
        client.stream("GET", f"{live_site.url}/racing/crt_2/events") as response,
    ):
        events = _events(response)
        first = _next_event(events)
        assert (first.name, first.data) == ("initial", {"type": "cart", "version": 2})
        # Version 2 is already in the initial state and is not sent again; 3 follows.
        following = _next_event(events)
        assert (following.name, following.id) == ("cart", "3")
    _wait_for_subscribers(live_site.server_hub, 0)
