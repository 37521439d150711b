"""The event collection API, wire-compatible with Segment's HTTP tracking API.

``POST /v1/track|identify|page|screen|group|alias|batch`` with a write key (HTTP Basic user name,
``Authorization: Bearer`` or ``writeKey`` in the body); gzip bodies; ``{"success": true}`` once the
events are committed. The runtime (group committer, rate limiter) is built on first use per app;
``stop_ingestion(app)`` ends it cleanly at shutdown.
"""

from __future__ import annotations

import base64
import binascii
import math
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from parcours.core.auth.http import SESSION_COOKIE, ApiKeyCache
from parcours.core.auth.models import KeyKind
from parcours.core.auth.principal import AccessPolicy, Principal
from parcours.core.auth.service import principal_for_api_key
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.errors import DomainError, Forbidden, Unauthenticated
from parcours.core.uow import UnitOfWork
from parcours.tracking.committer import CommitFailed, GroupCommitter
from parcours.tracking.ingest import (
    MAX_BATCH_BYTES,
    MESSAGE_TYPES,
    SIGNED_IN_CONTEXT,
    Decoded,
    IngestionError,
    build_row,
    decode_body,
    messages_of,
)
from parcours.tracking.normalise import CLIENT_SOURCES

_BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="parcours"'}


class _SdkReadable(DomainError):
    """Also says ``message``, next to ``code``: the SDKs read those two to report an error."""

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail, code=code, message=detail, **extra)


class TrackingRejected(_SdkReadable):
    status, code, title = 400, "invalid_message", "Events refused"


class RateLimited(_SdkReadable):
    status, code, title = 429, "rate_limited", "Too many requests"


class StoreUnavailable(_SdkReadable):
    status, code, title = 503, "event_store_unavailable", "Events not stored"


class WriteKeyRequired(_SdkReadable, Unauthenticated):
    pass


class WriteKeyRefused(_SdkReadable, Forbidden):
    pass


class TokenBuckets:
    """A token bucket per key: ``rate`` requests a second, bursts up to ``burst``. Used on the
    event loop only, so it needs no lock; per process (a limit across processes is N times it)."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float:
        """0 when a request may go, else the seconds until it may."""
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate


@dataclass
class Ingestion:
    """What the collection routes of one app share."""

    committer: GroupCommitter
    limiter: TokenBuckets
    keys: ApiKeyCache = field(default_factory=ApiKeyCache)


def install_ingestion(
    app: FastAPI,
    *,
    rate_per_second: float | None = None,
    burst: float | None = None,
) -> Ingestion:
    """Build (or rebuild) the app's ingestion runtime; the routes call it on first use. Rates
    (per write key, in requests) come from settings ``tracking_rate_per_second`` and
    ``tracking_rate_burst`` unless given: generous, a site's browser key carries all its
    visitors."""
    settings = app.state.settings
    if rate_per_second is None:
        rate_per_second = settings.tracking_rate_per_second
    if burst is None:
        burst = settings.tracking_rate_burst
    previous: Ingestion | None = getattr(app.state, "tracking", None)
    if previous is not None:
        previous.committer.stop()
    db: Database = app.state.db
    ingestion = Ingestion(
        committer=GroupCommitter(db),
        limiter=TokenBuckets(float(rate_per_second), float(burst)),
        keys=getattr(app.state, "api_key_cache", None) or ApiKeyCache(),
    )
    app.state.tracking = ingestion
    return ingestion


def ingestion_of(app: FastAPI) -> Ingestion:
    ingestion: Ingestion | None = getattr(app.state, "tracking", None)
    return ingestion if ingestion is not None else install_ingestion(app)


def stop_ingestion(app: FastAPI) -> None:
    """Commit pending events and stop the committer thread (call from the app's lifespan)."""
    ingestion: Ingestion | None = getattr(app.state, "tracking", None)
    if ingestion is not None:
        ingestion.committer.stop()


def _basic_user(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user = decoded.partition(":")[0].strip()
    return user or None


async def _decoded_body(request: Request) -> Decoded:
    cached: Decoded | None = getattr(request.state, "tracking_body", None)
    if cached is None:
        try:
            cached = decode_body(
                await request.body(),
                request.headers.get("content-encoding"),
                limit=MAX_BATCH_BYTES,
            )
        except IngestionError as exc:
            raise TrackingRejected(exc.detail, code=exc.code) from None
        request.state.tracking_body = cached
    return cached


def _lookup_key(db: Database, token: str) -> Principal | None:
    with UnitOfWork(db, read_only=True) as uow:
        return principal_for_api_key(uow=uow, token=token)


class WriteKeyPolicy(AccessPolicy):
    """Event collection: write keys (and secret keys) from HTTP Basic (the key as user name, as
    Segment's and RudderStack's SDKs send it), ``Authorization: Bearer`` or the body's
    ``writeKey``. Publishable keys and staff sessions are refused (403); no key is 401."""

    def __init__(self) -> None:
        super().__init__("event_write", keys=frozenset({KeyKind.WRITE, KeyKind.SECRET}))

    def check(self, principal: Principal) -> Principal:
        if not self.allows(principal):
            raise WriteKeyRefused(
                "events are sent with a write key (or a secret key), never a publishable key",
                code="insufficient_role",
            )
        return principal

    async def __call__(self, request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        token = _basic_user(header)
        if token is None and header[:7].lower() == "bearer ":
            token = header[7:].strip() or None
        if token is None:
            body = await _decoded_body(request)
            written = body.payload.get("writeKey")
            token = written.strip() if isinstance(written, str) and written.strip() else None
        if token is None:
            if request.cookies.get(SESSION_COOKIE):
                raise WriteKeyRefused("sending events needs a write key", code="insufficient_role")
            raise WriteKeyRequired(
                "send a write key as the HTTP Basic user name or as 'writeKey' in the body",
                code="missing_write_key",
                headers=_BASIC_CHALLENGE,
            )
        keys = ingestion_of(request.app).keys
        hit, principal = keys.get(token)
        if not hit:
            principal = await run_in_threadpool(_lookup_key, request.app.state.db, token)
            keys.put(token, principal)
        if principal is None:
            raise WriteKeyRequired(
                "this write key is unknown or revoked",
                code="invalid_write_key",
                headers=_BASIC_CHALLENGE,
            )
        request.state.principal = principal
        return self.check(principal)


EVENT_WRITE = WriteKeyPolicy()
WriterDep = Annotated[Principal, Depends(EVENT_WRITE)]

router = APIRouter(prefix="/v1", tags=["tracking"])


async def _ingest(request: Request, principal: Principal, kind: str) -> dict[str, bool]:
    ingestion = ingestion_of(request.app)
    key_id = principal.id or "unknown"
    wait = ingestion.limiter.take(key_id)
    if wait > 0:
        raise RateLimited(
            "this write key sends too many requests; retry after the delay given",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    decoded = await _decoded_body(request)
    received_at = utcnow()
    source = principal.source or "server"
    try:
        messages = messages_of(decoded, kind)
        rows = [
            build_row(
                message,
                index=index,
                kind=kind,
                write_key_id=key_id,
                source=source,
                received_at=received_at,
            )
            for index, message in enumerate(messages)
        ]
    except IngestionError as exc:
        where = f"message {exc.index}: " if exc.index is not None and kind == "batch" else ""
        extra: dict[str, Any] = {"index": exc.index} if exc.index is not None else {}
        raise TrackingRejected(where + exc.detail, code=exc.code, **extra) from None
    if source in CLIENT_SOURCES and any(row["type"] in ("identify", "alias") for row in rows):
        await _stamp_signed_in(request, rows)
    if rows:
        try:
            await ingestion.committer.submit(rows)
        except CommitFailed:
            raise StoreUnavailable(
                "the events were not stored; send them again (messageId makes retries safe)",
                headers={"Retry-After": "1"},
            ) from None
    return {"success": True}


def _signed_in_session(db: Database, token: str) -> dict[str, str] | None:
    from parcours.customers import shoppers  # customers builds on tracking: read it late

    with UnitOfWork(db, read_only=True) as uow:
        session = shoppers.find_shopper_session(uow=uow, token=token)
        if session is None or session.profile_id is None:
            return None
        return {"profile_id": session.profile_id, "anonymous_id": session.anonymous_id}


async def _stamp_signed_in(request: Request, rows: list[dict[str, Any]]) -> None:
    """A browser's identify is a claim; sent with her signed-in shopper session (its cookie or
    ``X-Shopper-Token``) it speaks for her, and the identity projector may apply it to her
    verified profile. The stamp is the server's: ``build_row`` drops a client's own."""
    from parcours.customers.http import shopper_token

    token = shopper_token(request)
    if not token:
        return
    signed_in = await run_in_threadpool(_signed_in_session, request.app.state.db, token)
    if signed_in is None:
        return
    for row in rows:
        if row["type"] in ("identify", "alias"):
            row["context"] = {**row["context"], SIGNED_IN_CONTEXT: signed_in}


_MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {
            "type": "string",
            "enum": list(MESSAGE_TYPES),
        },
        "userId": {"type": "string"},
        "anonymousId": {"type": "string"},
        "messageId": {"type": "string"},
        "event": {"type": "string"},
        "name": {"type": "string"},
        "groupId": {"type": "string"},
        "previousId": {"type": "string"},
        "properties": {"type": "object"},
        "traits": {"type": "object"},
        "context": {"type": "object"},
        "integrations": {"type": "object"},
        "timestamp": {"type": "string", "format": "date-time"},
        "originalTimestamp": {"type": "string", "format": "date-time"},
        "sentAt": {"type": "string", "format": "date-time"},
        "writeKey": {"type": "string"},
    },
}
_BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["batch"],
    "properties": {
        "batch": {"type": "array", "items": _MESSAGE_SCHEMA},
        "context": {"type": "object"},
        "integrations": {"type": "object"},
        "sentAt": {"type": "string", "format": "date-time"},
        "writeKey": {"type": "string"},
    },
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Stored (committed)", "content": {"application/json": {}}},
}


def _route(kind: str) -> None:
    schema = _BATCH_SCHEMA if kind == "batch" else _MESSAGE_SCHEMA

    async def collect(request: Request, principal: WriterDep) -> dict[str, bool]:
        return await _ingest(request, principal, kind)

    collect.__name__ = f"collect_{kind}"
    router.add_api_route(
        f"/{kind}",
        collect,
        methods=["POST"],
        summary=f"Collect {'a batch of messages' if kind == 'batch' else f'a {kind} message'}",
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}
        },
        responses=_RESPONSES,
    )


for _kind in ("track", "identify", "page", "screen", "group", "alias", "batch"):
    _route(_kind)
