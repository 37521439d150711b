"""Shopper sessions: how a phone, a laptop or a kiosk speaks for one shopper to the storefront API.

A session starts anonymous (its anonymous id is the device's first-party id) and becomes signed
in with a one-time code mailed to the shopper: no password to leak or forget. Signing in links the
anonymous id to the email in the identity graph (``identify``), so what the device did before
joins the person's history; the carts context then merges the device's cart into hers.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from parcours.core.auth import throttle
from parcours.core.clock import as_utc, utcnow
from parcours.core.errors import DomainError, InvalidInput, Unauthenticated
from parcours.core.ids import new_id
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.models import IdentifierKind, ShopperSession, SignInCode

SESSION_LIFETIME = timedelta(days=90)
CODE_LIFETIME = timedelta(minutes=10)
CODE_ATTEMPTS = 5
#: Codes one address receives per slice of time, whoever asks: a mailbox is not a target for
#: spam. Each client is held to fewer (:mod:`parcours.core.auth.throttle`).
CODES_PER_SLICE = 10
CODE_SLICE = timedelta(minutes=15)
TOKEN_PREFIX = "shp_"
MAX_ANONYMOUS_ID = 100


class TooManyRequests(DomainError):
    status, code, title = 429, "too_many_requests", "Too many requests"


class InvalidSignInCode(InvalidInput):
    """A wrong, used or expired code. The try it cost is counted in the caller's transaction:
    commit it before answering, or five wrong tries would never burn the code."""

    code = "invalid_sign_in_code"


@dataclass(frozen=True, slots=True)
class StartedSession:
    """A new session and its token, which is shown once and never stored."""

    session: ShopperSession
    token: str


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def start_shopper_session(
    *, uow: UnitOfWork, channel: str, anonymous_id: str | None = None
) -> StartedSession:
    """Open an anonymous session; ``anonymous_id`` reuses the device's tracking id if it has one."""
    if anonymous_id is not None:
        anonymous_id = anonymous_id.strip()
        if not anonymous_id or len(anonymous_id) > MAX_ANONYMOUS_ID:
            raise InvalidInput(
                f"anonymous_id must have 1 to {MAX_ANONYMOUS_ID} characters",
                code="invalid_anonymous_id",
            )
        # A device's id is taken once. Tracking ids are not secrets (every analytics call
        # carries one), so a second session asking for an id already in use gets a new one:
        # knowing someone's tracking id never opens her cart.
        taken = uow.session.scalar(
            select(ShopperSession.id).where(ShopperSession.anonymous_id == anonymous_id).limit(1)
        )
        if taken is not None:
            anonymous_id = None
    now = utcnow()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session = ShopperSession(
        id=new_id("shs"),
        token_hash=_hash(token),
        anonymous_id=anonymous_id or str(uuid.uuid4()),
        profile_id=None,
        channel=channel,
        created_at=now,
        signed_in_at=None,
        expires_at=now + SESSION_LIFETIME,
        ended_at=None,
    )
    uow.session.add(session)
    uow.session.flush()
    return StartedSession(session, token)


def find_shopper_session(*, uow: UnitOfWork, token: str) -> ShopperSession | None:
    """The live session of a token, or None (unknown, ended or expired)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    session = uow.session.scalars(
        select(ShopperSession).where(ShopperSession.token_hash == _hash(token))
    ).first()
    if session is None or session.ended_at is not None or session.expires_at <= utcnow():
        return None
    return session


def require_shopper_session(*, uow: UnitOfWork, token: str | None) -> ShopperSession:
    """The session of a token, or Unauthenticated ``shopper_session_required``."""
    session = find_shopper_session(uow=uow, token=token) if token else None
    if session is None:
        raise Unauthenticated(
            "start a shopper session (POST /v1/shopper/sessions) and send its token as "
            "X-Shopper-Token",
            code="shopper_session_required",
        )
    return session


def _new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def request_sign_in_code(
    *, uow: UnitOfWork, email: str, client: str | None = None, at: datetime | None = None
) -> str:
    """Make a one-time code for this address and return it (the caller mails it; it is stored
    hashed). ``client`` (the caller's address) is throttled first: a few codes per address and
    hour from one client, a few more for all addresses (429 ``too_many_attempts``). The address
    itself takes :data:`CODES_PER_SLICE` codes per :data:`CODE_SLICE` from all clients
    together (429 ``too_many_requests``): enough that an attacker asking for her codes leaves
    the person some, short enough that a burst keeps her waiting minutes, not an hour."""
    address = customers.normalise_email(email)
    if address is None:
        raise InvalidInput("this is not an email address", code="invalid_email")
    if client is not None:
        throttle.take_code_request(uow=uow, email=address, client=client)
    now = at or utcnow()
    recent = list(
        uow.session.scalars(
            select(SignInCode.created_at)
            .where(SignInCode.email == address, SignInCode.created_at > now - CODE_SLICE)
            .order_by(SignInCode.created_at)
        )
    )
    if len(recent) >= CODES_PER_SLICE:
        frees_at = as_utc(recent[-CODES_PER_SLICE]) + CODE_SLICE
        wait = max(1, math.ceil((frees_at - now).total_seconds()))
        raise TooManyRequests(
            "too many codes asked for this address; try again after the delay",
            headers={"Retry-After": str(wait)},
            retry_after=wait,
        )
    code = _new_code()
    uow.session.add(
        SignInCode(
            id=new_id("sic"),
            email=address,
            code_hash=_hash(f"{address}:{code}"),
            attempts=0,
            created_at=now,
            expires_at=now + CODE_LIFETIME,
            used_at=None,
        )
    )
    uow.session.flush()
    return code


def _redeem_code(uow: UnitOfWork, address: str, code: str, now: datetime) -> None:
    candidates = list(
        uow.session.scalars(
            select(SignInCode)
            .where(
                SignInCode.email == address,
                SignInCode.used_at.is_(None),
                SignInCode.expires_at > now,
                SignInCode.attempts < CODE_ATTEMPTS,
            )
            .order_by(SignInCode.created_at.desc())
            .with_for_update()
        )
    )
    wanted = _hash(f"{address}:{code.strip()}")
    for candidate in candidates:
        if hmac.compare_digest(candidate.code_hash, wanted):
            # One conditional update: two requests with the same code cannot both sign in.
            used = uow.session.execute(
                update(SignInCode)
                .where(SignInCode.id == candidate.id, SignInCode.used_at.is_(None))
                .values(used_at=now)
            )
            if used.rowcount:  # type: ignore[attr-defined]
                return
    for candidate in candidates:
        candidate.attempts += 1
    uow.session.flush()
    raise InvalidSignInCode("this code is wrong or has expired")


def sign_in_shopper(
    *, uow: UnitOfWork, session: ShopperSession, email: str, code: str, channel: str
) -> ShopperSession:
    """Check the mailed code and tie the session (and its anonymous id) to the shopper's
    profile; the email counts as verified, since she read the code in that mailbox."""
    address = customers.normalise_email(email)
    if address is None:
        raise InvalidInput("this is not an email address", code="invalid_email")
    now = utcnow()
    _redeem_code(uow, address, code, now)
    profile = customers.identify(
        uow=uow,
        anonymous_id=session.anonymous_id,
        traits={"email": address},
        channel=channel,
        at=now,
        verified=[IdentifierKind.EMAIL],
    )
    session.profile_id = profile.id
    session.signed_in_at = now
    uow.session.flush()
    return session


def end_shopper_session(*, uow: UnitOfWork, session: ShopperSession) -> None:
    """Sign out: the token stops working at once."""
    session.ended_at = utcnow()
    uow.session.flush()


def end_sessions_of(*, uow: UnitOfWork, profile_ids: list[str]) -> int:
    """End every session of these profiles (erasure, merge undo); returns how many ended."""
    if not profile_ids:
        return 0
    result = uow.session.execute(
        update(ShopperSession)
        .where(ShopperSession.profile_id.in_(profile_ids), ShopperSession.ended_at.is_(None))
        .values(ended_at=utcnow(), profile_id=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
