"""Live updates: a change to a cart reaches every open device of the shopper within a second.

A *topic* names what changed (``cart:crt_…``); a *message* is a small JSON object about it,
usually with a ``version``. Routes publish after they commit; Server-Sent Events streams
(:func:`sse_stream`) subscribe. Two hubs share one contract (:class:`LiveHub`), picked by
:func:`build_live_hub`:

* :class:`InProcessHub`, one process: each subscriber has a small queue on its event loop.
* :class:`RedisHub`, several processes (``PARCOURS_REDIS_URL``): the same local delivery, plus
  Redis pub/sub between processes.

What the hubs promise, and why that is enough:

* **At most once.** A message reaches the subscribers connected when it is published, or none:
  nothing is stored or replayed. Whatever may have been missed (a device offline, a subscriber
  too slow, a Redis reconnection) is repaired by re-reading the state: every stream starts with an
  ``initial`` event holding the current state, and a ``{"type": "resync"}`` message tells a client
  to read it again. Durable work belongs to the outbox, not here.
* **Ordered per topic and publisher.** Messages one thread or process publishes on a topic arrive
  in that order. Two publishers may interleave, so clients keep the highest ``version`` seen.
* **Publishing never waits.** ``publish`` is thread-safe and returns at once: from a sync route in
  the threadpool, the outbox relay thread, or the event loop. Messages are JSON snapshots taken
  at publish time, so one shape reaches local and remote subscribers.

Timing it: :func:`time_delivery` publishes from a worker thread and measures publish → receipt by
a subscriber (two ``RedisHub`` instances stand for two processes). For publish → SSE receipt,
stamp ``time.perf_counter_ns()`` into the message, serve :func:`sse_stream` with Uvicorn in a
thread of the same process, read the stream with ``httpx`` and subtract on each ``data:`` line
(the clocks agree within one process; across machines use wall clocks and their skew).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import json
import logging
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from parcours.core.settings import Settings

log = logging.getLogger("parcours.live")

#: Messages a subscriber may have waiting. A cart changes at human speed, so a client this far
#: behind is stalled: its backlog is replaced by one ``resync``, and memory stays bounded.
DEFAULT_BUFFER_LIMIT = 64
#: Messages waiting for Redis in one process; beyond, the oldest are dropped (at most once).
PUBLISH_BACKLOG = 10_000
#: A stream whose client cannot take a few bytes for this long is closed (a stalled connection).
SEND_TIMEOUT_SECONDS = 60.0
#: The pub/sub connection pings Redis after this much silence, and reconnects if no answer
#: follows within as long again (a half-open TCP connection would otherwise wait forever).
KEEPALIVE_SECONDS = 15.0
CONNECT_TIMEOUT_SECONDS = 2.0

RESYNC_TYPE = "resync"


def resync_message() -> dict[str, Any]:
    """What a subscriber receives when it may have missed messages: re-read the state."""
    return {"type": RESYNC_TYPE}


class LiveHub(Protocol):
    """Topic-based fan-out of small JSON messages to the open streams of this and other
    processes."""

    def publish(self, topic: str, message: Mapping[str, Any]) -> None:
        """Send ``message`` to the topic's subscribers; thread-safe, returns at once."""

    def subscribe(self, topic: str) -> AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]:
        """``async with hub.subscribe(t) as messages: async for message in messages: …``

        Messages published once the block is entered are delivered; leaving it unsubscribes.
        """

    def subscriber_count(self, topic: str | None = None) -> int:
        """Open subscriptions in this process, on one topic or all (for tests and metrics)."""

    async def aclose(self) -> None:
        """End every subscription and release connections; the hub may be used again after."""


def build_live_hub(settings: Settings) -> LiveHub:
    """Redis between processes when ``PARCOURS_REDIS_URL`` is set, else within this process."""
    if settings.redis_url:
        return RedisHub(settings.redis_url)
    return InProcessHub()


# --- in one process --------------------------------------------------------------------------


def _encode(message: Mapping[str, Any]) -> str:
    """Strict JSON (no ``default=``): what cannot cross Redis fails here, in every deployment.
    Pass ``model.model_dump(mode="json")`` for Pydantic schemas."""
    return json.dumps(dict(message), separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class _Subscription:
    """One subscriber's queue; every method but ``__init__`` runs on ``loop``."""

    __slots__ = ("_buffer", "_wakeup", "closed", "dropped", "limit", "loop", "topic")

    def __init__(self, topic: str, loop: asyncio.AbstractEventLoop, limit: int) -> None:
        self.topic = topic
        self.loop = loop
        self.limit = limit
        self.closed = False
        self.dropped = 0
        self._buffer: deque[dict[str, Any]] = deque()
        self._wakeup = asyncio.Event()

    def deliver(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        if len(self._buffer) >= self.limit:
            # The client re-reads the whole state on resync, which makes the backlog useless:
            # drop all of it rather than only the oldest message.
            self.dropped += len(self._buffer)
            self._buffer.clear()
            self._buffer.append(resync_message())
        self._buffer.append(message)
        self._wakeup.set()

    def close(self) -> None:
        self.closed = True
        self._wakeup.set()

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def __aiter__(self) -> _Subscription:
        return self

    async def __anext__(self) -> dict[str, Any]:
        while not self._buffer:
            if self.closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._buffer.popleft()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _deliver_all(subscriptions: Iterable[_Subscription], message: dict[str, Any]) -> None:
    for subscription in subscriptions:
        subscription.deliver(message)


def _close_all(subscriptions: Iterable[_Subscription]) -> None:
    for subscription in subscriptions:
        subscription.close()


class InProcessHub:
    """Fan-out within one process.

    Each subscriber remembers the loop it subscribed on (rather than the hub binding itself to
    the first loop it sees): an app outlives the loops of successive test clients, and a
    subscriber on any of them still gets its messages. Publishing from that loop delivers at
    once; from any other thread, through ``loop.call_soon_threadsafe``, whose callbacks run in
    the order they were scheduled — hence the per-publisher ordering.
    """

    def __init__(self, *, buffer_limit: int = DEFAULT_BUFFER_LIMIT) -> None:
        if buffer_limit < 2:
            raise ValueError("buffer_limit must be at least 2 (a resync and a message)")
        self.buffer_limit = buffer_limit
        self._lock = threading.Lock()
        self._topics: dict[str, set[_Subscription]] = {}

    def publish(self, topic: str, message: Mapping[str, Any]) -> None:
        """Deliver a JSON snapshot of ``message`` to the topic's subscribers in this process."""
        self._fan_out(topic, json.loads(_encode(message)))

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        subscription = _Subscription(topic, asyncio.get_running_loop(), self.buffer_limit)
        with self._lock:
            self._topics.setdefault(topic, set()).add(subscription)
        try:
            yield subscription
        finally:
            self._forget([subscription])

    def subscriber_count(self, topic: str | None = None) -> int:
        with self._lock:
            if topic is not None:
                return len(self._topics.get(topic, ()))
            return sum(len(group) for group in self._topics.values())

    def has_subscribers(self, topic: str) -> bool:
        with self._lock:
            return topic in self._topics

    async def aclose(self) -> None:
        """End every open subscription (their streams finish); new ones may follow."""
        with self._lock:
            subscriptions = [s for group in self._topics.values() for s in group]
            self._topics.clear()
        self._on_their_loops(subscriptions, _close_all)

    def _fan_out(self, topic: str, message: dict[str, Any]) -> None:
        with self._lock:
            group = self._topics.get(topic)
            if not group:
                return
            subscriptions = tuple(group)
        self._on_their_loops(subscriptions, _deliver_all, message)

    def _fan_out_everywhere(self, make_message: Callable[[], dict[str, Any]]) -> None:
        with self._lock:
            subscriptions = [s for group in self._topics.values() for s in group]
        for subscription in subscriptions:
            self._on_their_loops([subscription], _deliver_all, make_message())

    def _on_their_loops(
        self,
        subscriptions: Iterable[_Subscription],
        callback: Callable[..., None],
        *args: Any,
    ) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Subscription]] = {}
        for subscription in subscriptions:
            by_loop.setdefault(subscription.loop, []).append(subscription)
        current = _running_loop()
        for loop, group in by_loop.items():
            if loop is current:
                callback(group, *args)
                continue
            try:
                loop.call_soon_threadsafe(callback, group, *args)
            except RuntimeError:  # the loop is closed: nobody can read these any more
                self._forget(group)

    def _forget(self, subscriptions: Iterable[_Subscription]) -> None:
        with self._lock:
            for subscription in subscriptions:
                group = self._topics.get(subscription.topic)
                if group is None:
                    continue
                group.discard(subscription)
                if not group:
                    del self._topics[subscription.topic]


# --- between processes -----------------------------------------------------------------------


def _backoff_seconds(failures: int) -> float:
    """0.1 s, 0.2 s, … up to 5 s, with jitter so that processes do not reconnect in step."""
    return min(0.05 * 2.0 ** min(failures, 7), 5.0) * random.uniform(0.5, 1.0)


def _escape_glob(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _resolve(future: concurrent.futures.Future[None]) -> None:
    with contextlib.suppress(concurrent.futures.InvalidStateError):  # cancelled by its waiter
        future.set_result(None)


class RedisHub(InProcessHub):
    """Local delivery as :class:`InProcessHub`, plus Redis pub/sub between processes.

    ``publish`` delivers to this process's subscribers directly, then queues the message for a
    bridge thread that publishes it to Redis, so a request never waits on Redis and local
    devices still get updates while Redis is away (an outage is logged once, without topics or
    messages). Messages carry the id of the hub that sent them, and that hub ignores
    them when they come back from Redis: nothing is delivered twice.

    Subscribers of a process share one pub/sub connection, subscribed to a pattern (the channel
    prefix): a subscription costs Redis nothing and is live as soon as the connection is. Each
    process therefore receives every live message, and decodes only those whose topic it has
    subscribers for; cart updates arrive at human pace, so this costs far less than a
    SUBSCRIBE per stream would. The connection reconnects with backoff and jitter; when it
    is back, every local subscriber gets a ``resync`` (what was published meanwhile is lost).

    The bridge (its thread, event loop and Redis connections) starts on first use, after any
    fork, and stops in :meth:`aclose`.
    """

    def __init__(
        self,
        url: str,
        *,
        channel_prefix: str = "parcours:live:",
        buffer_limit: int = DEFAULT_BUFFER_LIMIT,
        ready_timeout: float = CONNECT_TIMEOUT_SECONDS,
        publish_timeout: float = 1.0,
    ) -> None:
        super().__init__(buffer_limit=buffer_limit)
        self.url = url
        self.channel_prefix = channel_prefix
        self.ready_timeout = ready_timeout
        self.publish_timeout = publish_timeout
        #: Identifies this hub's messages on the wire.
        self.origin = uuid.uuid4().hex
        self._bridge_lock = threading.Lock()
        self._bridge: _RedisBridge | None = None

    @property
    def connected(self) -> bool:
        """Whether messages from other processes are being received now."""
        bridge = self._bridge
        return bridge is not None and bridge.connected

    def publish(self, topic: str, message: Mapping[str, Any]) -> None:
        encoded = _encode(message)
        self._fan_out(topic, json.loads(encoded))
        envelope = f'{{"origin":"{self.origin}","message":{encoded}}}'
        self._running_bridge().send(self.channel_prefix + topic, envelope)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        # Registered locally first, then wait until Redis delivers to this process: from then
        # on nothing published anywhere is missed, so the caller can read the initial state.
        async with super().subscribe(topic) as messages:
            bridge = self._running_bridge()
            try:
                await asyncio.wait_for(asyncio.wrap_future(bridge.listen()), self.ready_timeout)
            except TimeoutError:
                # Serve local updates meanwhile; the subscriber is told to resync on connection.
                bridge.subscriber_gave_up = True
            yield messages

    async def aclose(self) -> None:
        with self._bridge_lock:
            bridge, self._bridge = self._bridge, None
        if bridge is not None:
            await asyncio.to_thread(bridge.stop)
        await super().aclose()

    def _running_bridge(self) -> _RedisBridge:
        with self._bridge_lock:
            if self._bridge is None:
                self._bridge = _RedisBridge(self)
            return self._bridge

    def _receive(self, channel: bytes, data: bytes) -> None:
        """A message from Redis (on the bridge thread): hand it to this process's subscribers."""
        try:
            topic = channel.decode()[len(self.channel_prefix) :]
            if not self.has_subscribers(topic):
                return
            envelope = json.loads(data)
            if envelope["origin"] == self.origin:
                return  # delivered locally when it was published
            message = envelope["message"]
            if not isinstance(message, dict):
                raise TypeError("message is not an object")
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("live update from Redis ignored", extra={"error": type(exc).__name__})
            return
        self._fan_out(topic, message)


class _RedisBridge:
    """One thread with its own event loop: publishes queued messages and runs the pub/sub
    listener. Its own loop keeps it independent of the app's loops, which come and go."""

    def __init__(self, hub: RedisHub) -> None:
        self.hub = hub
        self.connected = False
        #: Set when a subscriber stopped waiting for the connection: it then needs a resync.
        self.subscriber_gave_up = False
        self.dropped = 0
        self._outgoing: deque[tuple[str, str]] = deque(maxlen=PUBLISH_BACKLOG)
        self._ready_lock = threading.Lock()
        self._ready_waiters: list[concurrent.futures.Future[None]] = []
        self._listener_wanted = False
        self._listener: asyncio.Task[None] | None = None
        # Clients bind to a loop on first use only, so they can be made here for the bridge's.
        self._publisher_client = self._client("pub", retries=1)
        self._subscriber_client = self._client("sub", retries=0)
        self._loop = asyncio.new_event_loop()
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._run, name="parcours-live-redis", daemon=True)
        self._thread.start()

    # Called from any thread.

    def send(self, channel: str, payload: str) -> None:
        if len(self._outgoing) == self._outgoing.maxlen:
            self.dropped += 1
        self._outgoing.append((channel, payload))
        with contextlib.suppress(RuntimeError):  # stopped: the message stays local
            self._loop.call_soon_threadsafe(self._wake.set)

    def listen(self) -> concurrent.futures.Future[None]:
        """Start the listener if needed; the future resolves once it receives messages."""
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        with self._ready_lock:
            if self.connected:
                future.set_result(None)
            else:
                self._ready_waiters.append(future)
            start = not self._listener_wanted
            self._listener_wanted = True
        if start:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._start_listener)
        return future

    def stop(self, timeout: float = 5.0) -> None:
        """Publish what is queued (briefly), close the connections, end the thread."""
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)

    # On the bridge's loop.

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        except Exception:  # pragma: no cover - a bug; local delivery carries on
            log.exception("live updates: the Redis bridge stopped")
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    def _client(self, role: str, *, retries: int) -> Redis:
        # The hub handles failures itself (backoff, resync), so redis-py retries little or not.
        return Redis.from_url(
            self.hub.url,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            socket_keepalive=True,
            retry=Retry(NoBackoff(), retries),
            client_name=f"parcours-live-{role}-{self.hub.origin[:12]}",
        )

    async def _main(self) -> None:
        publisher = asyncio.create_task(self._publish_loop())
        try:
            await self._stop.wait()
            self._wake.set()
            await asyncio.wait({publisher}, timeout=self.hub.publish_timeout + 0.5)
        finally:
            for task in (publisher, self._listener):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            self._set_connected(False)
            await self._publisher_client.aclose()
            await self._subscriber_client.aclose()

    def _start_listener(self) -> None:
        if self._listener is None and not self._stop.is_set():
            self._listener = asyncio.create_task(self._listen_loop())

    def _set_connected(self, connected: bool) -> None:
        with self._ready_lock:
            self.connected = connected
            waiters, self._ready_waiters = (
                (self._ready_waiters, []) if connected else ([], self._ready_waiters)
            )
        for future in waiters:
            _resolve(future)

    async def _publish_loop(self) -> None:
        failures = 0
        while True:
            while not self._outgoing:
                if self._stop.is_set():
                    return
                self._wake.clear()
                await self._wake.wait()
            batch = [self._outgoing.popleft() for _ in range(min(len(self._outgoing), 500))]
            try:
                async with self._publisher_client.pipeline(transaction=False) as pipe:
                    for channel, payload in batch:
                        pipe.publish(channel, payload)
                    await asyncio.wait_for(pipe.execute(), self.hub.publish_timeout)
            except (RedisError, OSError) as exc:  # TimeoutError is an OSError
                failures += 1
                self.dropped += len(batch)
                if failures == 1:
                    log.warning(
                        "live updates: cannot publish to Redis, other processes miss them",
                        extra={"error": type(exc).__name__, "messages": len(batch)},
                    )
                if self._stop.is_set():
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), _backoff_seconds(failures))
            else:
                if failures:
                    log.info("live updates: publishing to Redis again")
                failures = 0

    async def _listen_loop(self) -> None:
        failures = 0
        connected_before = False
        pattern = _escape_glob(self.hub.channel_prefix) + "*"
        while True:
            pubsub = self._subscriber_client.pubsub()
            try:
                await asyncio.wait_for(pubsub.psubscribe(pattern), CONNECT_TIMEOUT_SECONDS)
                awaiting_pong = False
                while True:
                    message = await pubsub.get_message(timeout=KEEPALIVE_SECONDS)
                    if message is None:
                        if awaiting_pong:
                            raise RedisConnectionError("no answer to a ping")
                        await pubsub.ping()
                        awaiting_pong = True
                        continue
                    awaiting_pong = False
                    if message["type"] == "pmessage":
                        self.hub._receive(message["channel"], message["data"])
                    elif message["type"] == "psubscribe":
                        if failures:
                            log.info("live updates: Redis subscription restored")
                        if connected_before or failures or self.subscriber_gave_up:
                            self.hub._fan_out_everywhere(resync_message)
                        failures, connected_before = 0, True
                        self.subscriber_gave_up = False
                        self._set_connected(True)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._set_connected(False)
                failures += 1
                if not isinstance(exc, RedisError | OSError):
                    log.exception("live updates: Redis listener failed")
                elif failures == 1:
                    log.warning(
                        "live updates: Redis subscription lost, reconnecting",
                        extra={"error": type(exc).__name__},
                    )
            finally:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(_backoff_seconds(failures))


# --- Server-Sent Events ----------------------------------------------------------------------

#: The state a stream starts with: a JSON-able value (dict, Pydantic model), or a function that
#: reads it (sync functions run in the threadpool), called once the subscription is live.
InitialState: TypeAlias = (
    Mapping[str, Any] | BaseModel | Callable[[], Any] | Callable[[], Awaitable[Any]] | None
)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _version(message: Mapping[str, Any]) -> int | None:
    version = message.get("version")
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def _event_id(message: Mapping[str, Any]) -> str | None:
    version = message.get("version")
    return None if version is None else str(version)


async def _read_initial(initial: InitialState) -> Any:
    if initial is None or isinstance(initial, Mapping | BaseModel):
        return initial
    if inspect.iscoroutinefunction(initial):
        return await initial()
    return await run_in_threadpool(initial)  # it reads the database


def _initial_event(state: Any) -> tuple[ServerSentEvent, int | None]:
    payload = jsonable_encoder(state)
    version = _version(payload) if isinstance(payload, Mapping) else None
    event_id = _event_id(payload) if isinstance(payload, Mapping) else None
    return ServerSentEvent(_dumps(payload), event="initial", id=event_id), version


async def live_events(
    hub: LiveHub, topic: str, *, initial: InitialState, event: str = "cart"
) -> AsyncIterator[ServerSentEvent]:
    """The events of one stream: ``initial``, then each message as ``event``.

    The subscription is live before ``initial`` is read (when it is a function), so a change
    landing in between is not missed; a message whose integer ``version`` is not above the
    state's is already in it and is skipped. On ``resync`` the state is read again and sent as
    a new ``initial`` event when ``initial`` is a function; otherwise the resync is passed on.
    """
    async with hub.subscribe(topic) as messages:
        floor: int | None = None
        state = await _read_initial(initial)
        if state is not None:
            first, floor = _initial_event(state)
            yield first
        async for message in messages:
            if message.get("type") == RESYNC_TYPE and callable(initial):
                state = await _read_initial(initial)
                if state is not None:
                    fresh, floor = _initial_event(state)
                    yield fresh
                    continue
            version = _version(message)
            if floor is not None and version is not None and version <= floor:
                continue
            yield ServerSentEvent(_dumps(message), event=event, id=_event_id(message))


def _heartbeat() -> ServerSentEvent:
    return ServerSentEvent(comment="heartbeat")


async def sse_stream(
    hub: LiveHub,
    topic: str,
    *,
    initial: InitialState,
    request: Request,
    heartbeat_seconds: float = 15.0,
    event: str = "cart",
) -> EventSourceResponse:
    """A Server-Sent Events response streaming ``topic``: see :func:`live_events`.

    A heartbeat comment every ``heartbeat_seconds`` keeps proxies from closing an idle stream.
    When the client goes away the response stops and the subscription ends with it.
    ``request`` is not read: ``EventSourceResponse`` already listens for the disconnect, and a
    second reader of ``receive`` would take that message from it.
    """
    del request
    return EventSourceResponse(
        live_events(hub, topic, initial=initial, event=event),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        ping=heartbeat_seconds,
        ping_message_factory=_heartbeat,
        send_timeout=SEND_TIMEOUT_SECONDS,
    )


# --- timing ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliveryTimings:
    """Publish → receipt times in seconds, sorted."""

    seconds: tuple[float, ...]

    def percentile(self, fraction: float) -> float:
        """Nearest-rank percentile, ``fraction`` in (0, 1]."""
        rank = max(1, round(fraction * len(self.seconds)))
        return self.seconds[min(rank, len(self.seconds)) - 1]

    @property
    def p50(self) -> float:
        return self.percentile(0.50)

    @property
    def p99(self) -> float:
        return self.percentile(0.99)


async def time_delivery(
    publisher: LiveHub,
    subscriber: LiveHub | None = None,
    *,
    count: int = 200,
    topic: str | None = None,
    timeout: float = 5.0,
) -> DeliveryTimings:
    """Publish ``count`` messages one after another from a worker thread (as a sync route does)
    and time each until a subscriber on this loop holds it. Pass two ``RedisHub`` instances to
    time the trip through Redis."""
    topic = topic or f"bench:{uuid.uuid4().hex}"
    received = threading.Semaphore(0)
    samples: list[float] = []

    def publish_all() -> None:
        for sequence in range(count):
            publisher.publish(topic, {"sequence": sequence, "sent_ns": time.perf_counter_ns()})
            if not received.acquire(timeout=timeout):
                raise TimeoutError(f"message {sequence} not received within {timeout} s")

    async with (subscriber or publisher).subscribe(topic) as messages:
        sender = asyncio.get_running_loop().run_in_executor(None, publish_all)
        iterator = aiter(messages)
        while len(samples) < count:
            async with asyncio.timeout(timeout):
                message = await anext(iterator)
            if "sent_ns" in message:  # else a resync
                samples.append((time.perf_counter_ns() - message["sent_ns"]) / 1e9)
                received.release()
        await sender
    return DeliveryTimings(tuple(sorted(samples)))
