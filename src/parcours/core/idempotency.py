"""``Idempotency-Key`` for every creating POST: a retried request gets the first answer back.

The first request with a key claims it (a unique row) before running; a concurrent duplicate gets
409, a replay after completion gets the stored response with ``Idempotent-Replayed: true``, and the
same key with a different body is refused. Server errors release the key so the client may retry.
Keys are scoped to the caller (its credentials), the method and the path, and kept 24 hours.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Integer, LargeBinary, String, Text, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parcours.core.clock import utcnow
from parcours.core.db import Base, Database, UTCDateTime
from parcours.core.errors import problem
from parcours.core.uow import UnitOfWork

HEADER = b"idempotency-key"
SHOPPER_HEADER = b"x-shopper-token"
SHOPPER_COOKIE = "parcours_shopper"
RETENTION = timedelta(hours=24)
MAX_KEY_LENGTH = 255


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"

    scope_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None while in progress
    headers: Mapped[str | None] = mapped_column(Text, nullable=True)
    body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


def request_fingerprint(**request: object) -> str:
    """A service's own record of what a request asked (a payment, a till sale), hashed: what
    tells a retry with the same Idempotency-Key from another request reusing it."""
    canonical = json.dumps(request, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _sha(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(4, "big"))
        digest.update(part)
    return digest.hexdigest()


_REPLAYED_HEADERS = {b"content-type", b"location", b"etag"}


@dataclass
class _Captured:
    """The first response, kept to be replayed to retries."""

    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, *, db: Database) -> None:
        self.app = app
        self.db = db

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = headers.get(HEADER)
        if key is None:
            await self.app(scope, receive, send)
            return
        if not key or len(key) > MAX_KEY_LENGTH:
            await problem(
                400,
                "invalid_idempotency_key",
                "Invalid Idempotency-Key",
                f"the Idempotency-Key header must hold 1 to {MAX_KEY_LENGTH} characters",
            )(scope, receive, send)
            return

        body = await _read_body(receive)
        caller = headers.get(b"authorization") or _session_cookie(headers) or b"anonymous"
        # Shoppers share their storefront's publishable key: their own session tells them apart.
        shopper = headers.get(SHOPPER_HEADER) or _cookie(headers, SHOPPER_COOKIE) or b""
        scope_hash = _sha(caller, shopper, scope["method"].encode(), scope["path"].encode(), key)
        request_hash = _sha(body, scope.get("query_string", b""))
        claimed, existing = await run_in_threadpool(self._claim, scope_hash, request_hash)
        if not claimed:
            await self._answer_existing(existing, request_hash, scope, receive, send)
            return

        captured = _Captured()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = message["status"]
                captured.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                captured.body.extend(message.get("body", b""))
            await send(message)

        sent = False

        async def replay_body() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        try:
            await self.app(scope, replay_body, capture)
        finally:
            await run_in_threadpool(self._complete, scope_hash, captured)

    def _claim(self, scope_hash: str, request_hash: str) -> tuple[bool, IdempotencyRecord | None]:
        with UnitOfWork(self.db) as uow:
            now = utcnow()
            uow.session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.scope_hash == scope_hash,
                    IdempotencyRecord.created_at < now - RETENTION,
                )
            )
            uow.session.add(
                IdempotencyRecord(scope_hash=scope_hash, request_hash=request_hash, created_at=now)
            )
            try:
                uow.commit()
                return True, None
            except IntegrityError:
                uow.rollback()
            existing = uow.session.get(IdempotencyRecord, scope_hash)
            if existing is not None:
                uow.session.expunge(existing)
            return False, existing

    def _complete(self, scope_hash: str, captured: _Captured) -> None:
        status = captured.status
        with UnitOfWork(self.db) as uow:
            record = uow.session.get(IdempotencyRecord, scope_hash)
            if record is None:
                return
            if status >= 500:
                uow.session.delete(record)  # nothing durable happened: let the client retry
            else:
                kept = [
                    [k.decode("latin-1"), v.decode("latin-1")]
                    for k, v in captured.headers
                    if k.lower() in _REPLAYED_HEADERS
                ]
                record.status = status
                record.headers = json.dumps(kept)
                record.body = bytes(captured.body)
            uow.commit()

    async def _answer_existing(
        self,
        existing: IdempotencyRecord | None,
        request_hash: str,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        if existing is None or existing.status is None:
            await problem(
                409,
                "idempotency_in_progress",
                "Request in progress",
                "a request with this Idempotency-Key is still being processed; retry shortly",
                headers={"Retry-After": "1"},
            )(scope, receive, send)
            return
        if existing.request_hash != request_hash:
            await problem(
                422,
                "idempotency_key_reused",
                "Idempotency-Key reused",
                "this Idempotency-Key was used with a different request body",
            )(scope, receive, send)
            return
        headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in json.loads(existing.headers or "[]")
        ]
        headers.append((b"idempotent-replayed", b"true"))
        body = existing.body or b""
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": existing.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _cookie(headers: dict[bytes, bytes], wanted: str) -> bytes | None:
    cookie = headers.get(b"cookie")
    if not cookie:
        return None
    for part in cookie.split(b";"):
        name, _, value = part.strip().partition(b"=")
        if name == wanted.encode():
            return value
    return None


def _session_cookie(headers: dict[bytes, bytes]) -> bytes | None:
    return _cookie(headers, "parcours_session")


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)
