"""Use cases of notifications: queue an email with the business change that causes it, deliver
what is due, and forget what an erased customer was sent.

Queueing renders the template at once and writes a ``Message`` row in the caller's transaction (an
outbox of messages: a message exists if and only if the change committed). Consent is decided then,
and again just before sending, since a person may withdraw it or be erased in between.

Delivery claims due messages in short transactions (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
single writer on SQLite), moving their ``available_at`` forward as a lease, and sends outside any
transaction, so a slow mail server never holds a lock (on SQLite: the whole database's writer
lock). Only the worker holding a message's claim token may mark it, so two workers never send the
same message. A worker that dies between sending and marking leaves its messages to be sent again
once the lease ends: at least once, which is all SMTP can promise.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, or_, select, update
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.errors import Forbidden, InvalidInput, NotFound
from parcours.core.ids import new_id
from parcours.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from parcours.core.settings import Settings
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.models import ConsentPurpose, IdentifierKind
from parcours.notifications.events import MessageSent
from parcours.notifications.models import (
    Message,
    MessageStatus,
    PushSubscription,
    SuppressionReason,
)
from parcours.notifications.push import PushError, PushTarget, VapidKeys, send_push
from parcours.notifications.rendering import normalise_locale, render_email
from parcours.notifications.senders import OutgoingEmail, Sender, SendError

log = logging.getLogger("parcours.notifications")

#: The purpose of messages a person gets because of what they did (an order, a sign-in): no
#: marketing consent needed, only a person who was not erased.
TRANSACTIONAL = "transactional"
CHANNEL = "email"
#: After this many attempts a message is ``failed``; spaced by :func:`retry_delay` (about 2 h).
MAX_ATTEMPTS = 8
#: Messages claimed per transaction; each batch is leased for ``LEASE``, long enough to send it
#: even when every message waits for the SMTP timeout.
CLAIM_BATCH = 20
LEASE = timedelta(minutes=5)

_WAKE_KEY = "parcours.notifications.wake"


def retry_delay(attempts: int) -> timedelta:
    """Wait before the next attempt: 30 s, 1, 2, 4, 8, 16, 32 min, then hourly."""
    return timedelta(seconds=min(30 * 2 ** max(0, attempts - 1), 3600))


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    id: str
    status: MessageStatus


# --- queueing ---------------------------------------------------------------------------------


def _check_purpose(purpose: str) -> None:
    if purpose == TRANSACTIONAL:
        return
    try:
        ConsentPurpose(purpose)
    except ValueError:
        raise InvalidInput(
            f"a message's purpose is {TRANSACTIONAL!r} or a consent purpose, not {purpose!r}",
            code="unknown_purpose",
        ) from None


def _is_erased(uow: UnitOfWork, profile_id: str) -> bool:
    try:
        profile = customers.resolve_profile(uow=uow, profile_id=profile_id)
    except NotFound:
        return False  # an id we do not know: nothing was erased
    return profile.erased_at is not None


def _refusal(uow: UnitOfWork, *, purpose: str, profile_id: str | None) -> SuppressionReason | None:
    """Why this message must not go, if it must not."""
    if profile_id is not None and _is_erased(uow, profile_id):
        return SuppressionReason.ERASED
    if purpose == TRANSACTIONAL:
        return None
    if profile_id is None:
        return SuppressionReason.NO_PROFILE  # no one whose consent we could check
    if not customers.can_contact(uow=uow, profile_id=profile_id, channel=CHANNEL, purpose=purpose):
        return SuppressionReason.NO_CONSENT
    return None


def _profile_of_address(uow: UnitOfWork, address: str) -> str | None:
    """The customer an address belongs to, so that erasing them finds this message too."""
    try:
        profile = customers.find_profile(uow=uow, kind=IdentifierKind.EMAIL, value=address)
    except InvalidInput:
        return None
    return None if profile is None else profile.id


def _wake_delivery_after_commit(uow: UnitOfWork) -> None:
    """Wake the relay when the caller commits, even if its transaction recorded no event, so the
    message leaves within moments rather than at the next poll."""
    session = uow.session
    if session.info.get(_WAKE_KEY):
        return
    session.info[_WAKE_KEY] = True
    db = uow.db

    def wake(_: Session) -> None:
        session.info.pop(_WAKE_KEY, None)
        db.committed()

    orm_event.listen(session, "after_commit", wake, once=True)


def _expiry(template: str, context: Mapping[str, Any], now: datetime) -> datetime | None:
    if template == "sign_in_code":
        minutes = context.get("valid_minutes") or context.get("minutes") or 10
        return now + timedelta(minutes=int(minutes))
    return None


def queue_email(
    *,
    uow: UnitOfWork,
    template: str,
    to_address: str,
    locale: str,
    context: Mapping[str, Any],
    purpose: str,
    profile_id: str | None = None,
    reference: str | None = None,
    shop_name: str | None = None,
    now: datetime | None = None,
) -> QueuedMessage:
    """Render an email now and store it in the caller's transaction, queued for delivery, or
    ``suppressed`` (with a reason) when it must not go: a marketing purpose without the person's
    consent, an erased person, an address that is not one.

    ``purpose``: ``"transactional"`` or a consent purpose (``"marketing_email"``). ``shop_name``
    defaults to ``PARCOURS_SHOP_NAME``. Without ``profile_id``, the customer owning the address (if
    any) is attached, so that erasure covers guests' messages too. Flushes, never commits.
    """
    now = now or utcnow()
    _check_purpose(purpose)
    locale = normalise_locale(locale)
    rendered = render_email(
        template=template,
        locale=locale,
        context=context,
        shop_name=shop_name or Settings().shop_name,
    )
    address = to_address.strip()[:320]
    valid = customers.normalise_email(address) is not None
    if profile_id is None and valid:
        profile_id = _profile_of_address(uow, address)
    reason = (
        _refusal(uow, purpose=purpose, profile_id=profile_id)
        if valid
        else SuppressionReason.INVALID_ADDRESS
    )
    message = Message(
        id=new_id("msg"),
        channel=CHANNEL,
        template=template,
        locale=locale,
        purpose=purpose,
        profile_id=profile_id,
        reference=reference,
        to_address=address,
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
        status=(MessageStatus.SUPPRESSED if reason else MessageStatus.QUEUED).value,
        reason=reason.value if reason else None,
        attempts=0,
        available_at=now,
        expires_at=_expiry(template, context, now),
        created_at=now,
    )
    uow.session.add(message)
    uow.session.flush()
    log.info(
        "email suppressed" if reason else "email queued",
        extra={
            "message_id": message.id,
            "template": template,
            "reference": reference,
            "reason": message.reason,
        },
    )
    if reason is None:
        _wake_delivery_after_commit(uow)
    return QueuedMessage(id=message.id, status=MessageStatus(message.status))


# --- delivery ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Claimed:
    email: OutgoingEmail
    template: str
    reference: str | None


def _last_check(uow: UnitOfWork, message: Message, now: datetime) -> tuple[str, str] | None:
    """``(status, reason or error)`` when a claimed message must not go after all."""
    if message.to_address is None or message.body_text is None:
        return MessageStatus.SUPPRESSED.value, SuppressionReason.ERASED.value
    if message.expires_at is not None and message.expires_at <= now:
        return MessageStatus.FAILED.value, "expired before it could be sent"
    refusal = _refusal(uow, purpose=message.purpose, profile_id=message.profile_id)
    if refusal is not None:
        return MessageStatus.SUPPRESSED.value, refusal.value
    return None


def claim_due_messages(
    *, uow: UnitOfWork, token: str, limit: int = CLAIM_BATCH, now: datetime | None = None
) -> tuple[list[Message], int]:
    """Lock up to ``limit`` due messages, skipping those another worker holds; settle those that
    must not go any more (consent withdrawn, erased, expired) and lease the others to ``token``.
    Returns the leased messages and how many were settled."""
    now = now or utcnow()
    due = list(
        uow.session.scalars(
            select(Message)
            .where(Message.status == MessageStatus.QUEUED.value, Message.available_at <= now)
            .order_by(Message.available_at, Message.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    leased, settled = [], 0
    for message in due:
        verdict = _last_check(uow, message, now)
        if verdict is None:
            message.available_at = now + LEASE
            message.claim_token = token
            leased.append(message)
            continue
        status, why = verdict
        message.status = status
        if status == MessageStatus.FAILED.value:
            message.last_error = why
        else:
            message.reason = why
        settled += 1
        log.info(
            "email not sent", extra={"message_id": message.id, "status": status, "reason": why}
        )
    uow.session.flush()
    return leased, settled


def _claim(db: Database, token: str, limit: int, now: datetime) -> tuple[list[_Claimed], int]:
    with UnitOfWork(db) as uow:
        leased, settled = claim_due_messages(uow=uow, token=token, limit=limit, now=now)
        claimed = [
            _Claimed(
                email=OutgoingEmail(
                    message_id=m.id,
                    to_address=m.to_address or "",
                    subject=m.subject,
                    text=m.body_text or "",
                    html=m.body_html or "",
                ),
                template=m.template,
                reference=m.reference,
            )
            for m in leased
        ]
        uow.commit()
    return claimed, settled


def _held(uow: UnitOfWork, message_id: str, token: str) -> Message | None:
    """The message, if this worker still holds its claim (not erased, lease not taken over)."""
    message = uow.session.get(Message, message_id, with_for_update=True)
    if message is None or message.claim_token != token:
        return None
    return message if message.status == MessageStatus.QUEUED.value else None


def _mark_sent(db: Database, item: _Claimed, token: str, sender: str, now: datetime) -> bool:
    with UnitOfWork(db) as uow:
        message = _held(uow, item.email.message_id, token)
        if message is None:
            return False
        message.status = MessageStatus.SENT.value
        message.sent_at = now
        message.attempts += 1
        message.last_error = None
        message.claim_token = None
        message.delivered_by = sender
        uow.record(
            MessageSent(message_id=message.id, template=item.template, reference=item.reference)
        )
        uow.commit()
        attempts = message.attempts
    log.info(
        "email sent",
        extra={"message_id": item.email.message_id, "attempts": attempts, "sender": sender},
    )
    return True


def _record_failure(
    db: Database, item: _Claimed, token: str, error: str, *, permanent: bool, now: datetime
) -> None:
    with UnitOfWork(db) as uow:
        message = _held(uow, item.email.message_id, token)
        if message is None:
            return
        message.attempts += 1
        message.last_error = error[:500]
        message.claim_token = None
        if permanent or message.attempts >= MAX_ATTEMPTS:
            message.status = MessageStatus.FAILED.value
        else:
            message.available_at = now + retry_delay(message.attempts)
        uow.commit()
        status, attempts, retry_at = message.status, message.attempts, message.available_at
    log.warning(
        "email not delivered" if status == MessageStatus.FAILED.value else "email delivery retry",
        extra={
            "message_id": item.email.message_id,
            "attempts": attempts,
            "error": error,
            "retry_at": None if status == MessageStatus.FAILED.value else retry_at.isoformat(),
        },
    )


def _anything_due(db: Database, now: datetime) -> bool:
    """A cheap read first: most passes find nothing, and need no write lock to say so."""
    with UnitOfWork(db, read_only=True) as uow:
        found = uow.session.scalar(
            select(Message.id)
            .where(Message.status == MessageStatus.QUEUED.value, Message.available_at <= now)
            .limit(1)
        )
    return found is not None


def deliver_queued_messages(
    *, db: Database, sender: Sender, limit: int = 100, now: datetime | None = None
) -> int:
    """Send up to ``limit`` due messages through ``sender``; returns how many were sent.

    An entry point (it opens and commits its own transactions); several workers may run it at
    once. A refused message is retried with backoff and ``failed`` after ``MAX_ATTEMPTS`` (at once
    when the refusal is permanent). When the server cannot be reached, the pass stops: the
    messages it had claimed count an attempt and wait for their next turn.
    """
    if not _anything_due(db, now or utcnow()):
        return 0
    token = new_id("clm")
    sent = handled = 0
    try:
        while handled < limit:
            batch, settled = _claim(db, token, min(CLAIM_BATCH, limit - handled), now or utcnow())
            if not batch and not settled:
                break
            handled += len(batch) + settled
            for index, item in enumerate(batch):
                try:
                    sender.send(item.email)
                except SendError as exc:
                    at = now or utcnow()
                    _record_failure(db, item, token, exc.error, permanent=exc.permanent, now=at)
                    if exc.server_down:
                        for waiting in batch[index + 1 :]:
                            _record_failure(db, waiting, token, exc.error, permanent=False, now=at)
                        return sent
                except Exception as exc:  # a faulty sender must not stop the relay
                    error = f"sender error ({type(exc).__name__})"
                    _record_failure(db, item, token, error, permanent=False, now=now or utcnow())
                else:
                    if _mark_sent(db, item, token, sender.name, now or utcnow()):
                        sent += 1
    finally:
        sender.close()
    return sent


# --- privacy ----------------------------------------------------------------------------------

_REDACTED: dict[str, Any] = {
    "to_address": None,
    "subject": "",
    "body_text": None,
    "body_html": None,
}


def erase_messages_of(
    *,
    uow: UnitOfWork,
    profile_id: str,
    addresses: Sequence[str] = (),
    now: datetime | None = None,
) -> int:
    """Right to erasure: clear the address, subject and bodies of every message to this person
    (and to the profiles merged into them, and to her ``addresses``: a message sent to a guest
    carries no profile); those still queued are never sent. Returns how many messages were
    cleared; ids, templates, statuses and dates stay, without personal data."""
    cluster = [profile_id, *customers.merged_profile_ids(uow=uow, profile_id=profile_id)]
    hers: ColumnElement[bool] = Message.profile_id.in_(cluster)
    if addresses:
        hers = or_(hers, Message.to_address.in_(list(addresses)))
    cleared = _erase_messages(uow, hers, now or utcnow())
    log.info("messages erased", extra={"profile_id": profile_id, "messages": cleared})
    return cleared


def erase_messages_about(
    *,
    uow: UnitOfWork,
    references: Sequence[str],
    addresses: Sequence[str] = (),
    now: datetime | None = None,
) -> int:
    """Erasure seen from another context: the messages about these things (an order's
    confirmation) or to these addresses lose their address and bodies. Returns how many."""
    if not references and not addresses:
        return 0
    about: ColumnElement[bool] = Message.reference.in_(list(references))
    if addresses:
        about = or_(about, Message.to_address.in_(list(addresses)))
    return _erase_messages(uow, about, now or utcnow())


def _erase_messages(uow: UnitOfWork, which: ColumnElement[bool], now: datetime) -> int:
    uow.session.execute(
        update(Message)
        .where(which, Message.status == MessageStatus.QUEUED.value)
        .values(
            status=MessageStatus.SUPPRESSED.value,
            reason=SuppressionReason.ERASED.value,
            claim_token=None,
        )
        .execution_options(synchronize_session=False)
    )
    result = uow.session.execute(
        update(Message)
        .where(which)
        .values(**_REDACTED, redacted_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def redact_old_messages(*, uow: UnitOfWork, older_than: datetime) -> int:
    """Storage limitation: clear the address and bodies of messages created before
    ``older_than`` that are done with (sent, failed, suppressed). Returns how many."""
    result = uow.session.execute(
        update(Message)
        .where(
            Message.created_at < older_than,
            Message.status != MessageStatus.QUEUED.value,
            Message.redacted_at.is_(None),
        )
        .values(**_REDACTED, redacted_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- reading ----------------------------------------------------------------------------------


def get_message(*, uow: UnitOfWork, message_id: str) -> Message:
    """One message, or NotFound ``message_not_found``."""
    message = uow.session.get(Message, message_id)
    if message is None:
        raise NotFound("no message with this id", code="message_not_found")
    return message


#: Templates that carry a one-time secret: whoever reads it can act as the recipient.
ONE_TIME_CODE_TEMPLATES = frozenset({"sign_in_code"})
_ONE_TIME_CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


def readable_body(message: Message) -> str | None:
    """The text of a message as support may read it: a one-time sign-in code is blanked out,
    since whoever reads it could sign in as the shopper. In the development mailbox (a laptop,
    the demo) the API *is* the mailbox, and the code is shown."""
    if message.template not in ONE_TIME_CODE_TEMPLATES or message.body_text is None:
        return message.body_text
    if message.delivered_by == "development_mailbox":
        return message.body_text
    return _ONE_TIME_CODE.sub("••••••", message.body_text)


def list_messages(
    *,
    uow: UnitOfWork,
    reference: str | None = None,
    status: MessageStatus | None = None,
    profile_id: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> tuple[list[Message], str | None]:
    """Messages, newest first (ids sort by creation), a page at a time."""
    limit = max(1, min(limit, MAX_LIMIT))
    query = select(Message).order_by(Message.id.desc()).limit(limit + 1)
    if reference is not None:
        query = query.where(Message.reference == reference)
    if status is not None:
        query = query.where(Message.status == MessageStatus(status).value)
    if profile_id is not None:
        query = query.where(Message.profile_id == profile_id)
    if cursor:
        (before,) = decode_cursor(cursor, arity=1)
        query = query.where(Message.id < str(before))
    rows = list(uow.session.scalars(query))
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1].id)
    return rows, None


# --- web push ---------------------------------------------------------------------------------

PUSH_ATTEMPTS = 3
_PUSH_KEY = "parcours.notifications.push"


def _check_push_endpoint(endpoint: str, *, allow_local: bool) -> None:
    """A push endpoint is a push service's public https address. The server POSTs to it, so an
    address on this machine or the private network would let anyone with a shopper session make
    the server call inside the network: refused, except loopback outside production (tests and
    local push servers)."""
    refused = InvalidInput(
        "a push endpoint is a push service's public https:// address", code="invalid_push_endpoint"
    )
    if len(endpoint) > 1000:
        raise refused
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if not host or parts.username is not None or parts.password is not None:
        raise refused
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    local = (
        host == "localhost"
        or host.endswith(".localhost")
        or (address is not None and address.is_loopback)
    )
    if local:
        if allow_local and parts.scheme in ("http", "https"):
            return
        raise refused
    if parts.scheme != "https" or "." not in host:
        raise refused
    if address is not None and not address.is_global:
        raise refused


def _check_push_keys(endpoint: str, p256dh: str, auth: str, *, allow_local: bool) -> None:
    from parcours.notifications.push import b64url_decode

    _check_push_endpoint(endpoint, allow_local=allow_local)
    try:
        key, secret = b64url_decode(p256dh), b64url_decode(auth)
    except ValueError:
        raise InvalidInput("push keys are base64url", code="invalid_push_keys") from None
    if len(key) != 65 or key[0] != 4 or len(secret) != 16:
        raise InvalidInput(
            "p256dh is a 65-byte P-256 point and auth 16 bytes", code="invalid_push_keys"
        )


class NotYourPushSubscription(Forbidden):
    """Another browser's subscription: knowing its endpoint is not owning it."""

    code = "push_subscription_not_yours"


def _owns(found: PushSubscription, *, anonymous_id: str | None, auth: str | None) -> bool:
    """Proof of possession of a stored subscription: the shopper session that registered it,
    or its ``keys.auth`` secret, which only the subscribing browser holds (constant time)."""
    same_session = (
        anonymous_id is not None
        and found.anonymous_id is not None
        and hmac.compare_digest(found.anonymous_id.encode(), anonymous_id.encode())
    )
    same_secret = auth is not None and hmac.compare_digest(found.auth.encode(), auth.encode())
    return same_session or same_secret


def subscribe_to_push(
    *,
    uow: UnitOfWork,
    endpoint: str,
    p256dh: str,
    auth: str,
    profile_id: str | None,
    anonymous_id: str | None,
    locale: str = "fr",
    allow_local: bool = False,
) -> PushSubscription:
    """Keep the browser's subscription (her opt-in to push); the same endpoint subscribed again
    (new keys, signed in since) updates the row and lifts a revocation, but only for its owner:
    the session that registered it or a request with its ``auth`` secret (403
    ``push_subscription_not_yours`` otherwise, so nobody rebinds another's browser).
    ``allow_local``: accept a loopback endpoint (never in production)."""
    _check_push_keys(endpoint, p256dh, auth, allow_local=allow_local)
    found = uow.session.scalars(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint).with_for_update()
    ).first()
    if found is None:
        found = PushSubscription(id=new_id("psh"), endpoint=endpoint, created_at=utcnow())
        uow.session.add(found)
    elif not _owns(found, anonymous_id=anonymous_id, auth=auth):
        raise NotYourPushSubscription("this push subscription belongs to another browser")
    found.p256dh, found.auth = p256dh, auth
    found.profile_id = profile_id or found.profile_id
    found.anonymous_id = anonymous_id or found.anonymous_id
    found.locale = normalise_locale(locale)
    found.revoked_at = None
    found.last_error = None
    uow.session.flush()
    return found


def unsubscribe_from_push(
    *,
    uow: UnitOfWork,
    endpoint: str,
    anonymous_id: str | None = None,
    auth: str | None = None,
) -> bool:
    """She turned notifications off (or the browser dropped them): no push goes there again.
    The endpoint alone proves nothing (it travels to push services and logs): the caller is the
    session that registered it (``anonymous_id``) or presents its ``auth`` secret, else 403
    ``push_subscription_not_yours``. False when there was nothing to stop."""
    found = uow.session.scalars(
        select(PushSubscription).where(
            PushSubscription.endpoint == endpoint, PushSubscription.revoked_at.is_(None)
        )
    ).first()
    if found is None:
        return False
    if not _owns(found, anonymous_id=anonymous_id, auth=auth):
        raise NotYourPushSubscription("this push subscription belongs to another browser")
    found.revoked_at = utcnow()
    uow.session.flush()
    return True


def push_subscriptions_of(
    *, uow: UnitOfWork, profile_id: str | None, anonymous_id: str | None = None
) -> list[PushSubscription]:
    """Her live subscriptions: those of her profile (merged profiles included) and those of the
    device that placed the order."""
    conditions: list[ColumnElement[bool]] = []
    if profile_id is not None:
        ids = [profile_id, *customers.merged_profile_ids(uow=uow, profile_id=profile_id)]
        conditions.append(PushSubscription.profile_id.in_(ids))
    if anonymous_id:
        conditions.append(PushSubscription.anonymous_id == anonymous_id)
    if not conditions:
        return []
    return list(
        uow.session.scalars(
            select(PushSubscription)
            .where(or_(*conditions), PushSubscription.revoked_at.is_(None))
            .order_by(PushSubscription.id)
        )
    )


def erase_push_subscriptions_of(
    *, uow: UnitOfWork, profile_id: str, anonymous_ids: Sequence[str] = ()
) -> int:
    """Erasure: her devices' addresses go (those a guest session of hers subscribed too)."""
    hers: ColumnElement[bool] = PushSubscription.profile_id == profile_id
    if anonymous_ids:
        hers = or_(hers, PushSubscription.anonymous_id.in_(list(anonymous_ids)))
    result = uow.session.execute(delete(PushSubscription).where(hers))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True, slots=True)
class _PendingPush:
    subscription_id: str
    target: PushTarget
    payload: dict[str, Any]


def send_push_after_commit(
    *,
    uow: UnitOfWork,
    subscriptions: list[PushSubscription],
    payload: Mapping[str, Any],
    keys: VapidKeys,
    subject: str,
) -> int:
    """Push ``payload`` to these subscriptions once the caller's transaction commits (never
    holding a lock while a push service answers); 404/410 revokes, a busy service is retried a
    few times. Returns how many pushes were scheduled. At most once: a crash right after the
    commit loses the push (the email about the same fact is the durable message)."""
    pending = [
        _PendingPush(s.id, PushTarget(s.endpoint, s.p256dh, s.auth), dict(payload))
        for s in subscriptions
    ]
    if not pending:
        return 0
    session, db = uow.session, uow.db
    queued: list[_PendingPush] = session.info.setdefault(_PUSH_KEY, [])
    first = not queued
    queued.extend(pending)
    if first:

        def deliver(_: Session) -> None:
            items = session.info.pop(_PUSH_KEY, [])
            deliver_pushes(db=db, items=items, keys=keys, subject=subject)

        def forget(_: Session) -> None:
            session.info.pop(_PUSH_KEY, None)

        orm_event.listen(session, "after_commit", deliver, once=True)
        orm_event.listen(session, "after_rollback", forget, once=True)
    return len(pending)


def deliver_pushes(
    *, db: Database, items: list[_PendingPush], keys: VapidKeys, subject: str
) -> int:
    """Send each push (an entry point: records the outcome in its own transaction)."""
    outcomes: dict[str, tuple[datetime | None, str | None, bool]] = {}
    for item in items:
        error: PushError | None = None
        for attempt in range(PUSH_ATTEMPTS):
            try:
                send_push(item.target, item.payload, keys=keys, subject=subject)
                error = None
                break
            except PushError as exc:
                error = exc
                if not exc.retry:
                    break
                time.sleep(0.2 * 2**attempt)
            except Exception as exc:  # a faulty library must not stop the relay
                error = PushError(f"push failed ({type(exc).__name__})")
                break
        if error is None:
            outcomes[item.subscription_id] = (utcnow(), None, False)
        else:
            outcomes[item.subscription_id] = (None, error.error, error.gone)
            log.warning(
                "push not delivered",
                extra={"subscription_id": item.subscription_id, "error": error.error},
            )
    with UnitOfWork(db) as uow:
        for subscription_id, (sent_at, error_text, gone) in outcomes.items():
            row = uow.session.get(PushSubscription, subscription_id)
            if row is None:
                continue
            if sent_at is not None:
                row.last_sent_at, row.last_error = sent_at, None
            else:
                row.last_error = (error_text or "")[:200]
                if gone:
                    row.revoked_at = utcnow()
        uow.commit()
    return sum(1 for sent_at, _, _ in outcomes.values() if sent_at is not None)


_READY_TEXT = {
    "fr": ("Votre commande est prête", "Commande {number} : à retirer chez {store}."),
    "en": ("Your order is ready", "Order {number}: ready to collect at {store}."),
}


def order_ready_push_payload(
    *, locale: str, order_number: str, store_name: str, url: str, tag: str
) -> dict[str, Any]:
    """What the notification says. No pickup code: a phone's lock screen shows it to anyone."""
    title, body = _READY_TEXT.get(normalise_locale(locale), _READY_TEXT["fr"])
    return {
        "title": title,
        "body": body.format(number=order_number, store=store_name),
        "url": url,
        "tag": tag,
    }


def is_erased(*, uow: UnitOfWork, profile_id: str) -> bool:
    """Whether this person's data was erased (nothing may reach her any more)."""
    return _is_erased(uow, profile_id)
