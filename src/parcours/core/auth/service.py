"""Staff accounts, login sessions and API keys: create, authenticate, revoke."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select

from parcours.core.auth.models import (
    ApiKey,
    KeyKind,
    KeySource,
    Role,
    StaffSession,
    StaffUser,
    StaffUserStore,
)
from parcours.core.auth.principal import Principal
from parcours.core.clock import utcnow
from parcours.core.errors import Conflict, InvalidInput, NotFound
from parcours.core.ids import new_id
from parcours.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from parcours.core.uow import UnitOfWork

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("parcours-timing-equaliser")
MIN_PASSWORD_LENGTH = 10


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_staff_user(
    *,
    uow: UnitOfWork,
    email: str,
    name: str,
    role: Role,
    password: str,
    store_ids: frozenset[str] = frozenset(),
) -> StaffUser:
    """Create a staff account; associates must be scoped to at least one store."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"the password needs at least {MIN_PASSWORD_LENGTH} characters", code="weak_password"
        )
    if role is Role.ASSOCIATE and not store_ids:
        raise InvalidInput("an associate acts for at least one store", code="store_required")
    email = normalise_email(email)
    if uow.session.scalar(select(StaffUser.id).where(StaffUser.email == email)):
        raise Conflict("a staff account with this email exists", code="email_taken")
    user = StaffUser(
        id=new_id("usr"),
        email=email,
        name=name.strip(),
        role=role.value,
        password_hash=_hasher.hash(password),
        active=True,
        created_at=utcnow(),
        stores=[StaffUserStore(store_id=s) for s in sorted(store_ids)],
    )
    uow.session.add(user)
    uow.session.flush()
    return user


def staff_names(*, uow: UnitOfWork, staff_ids: Iterable[str]) -> dict[str, str]:
    """Staff members' names by id, in one query: a page says who took a call or wrote a note
    without reading the staff table itself. Unknown ids (a deleted account) are left out."""
    ids = sorted({staff_id for staff_id in staff_ids if staff_id})
    if not ids:
        return {}
    rows = uow.session.execute(select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(ids)))
    # .all(): a Result has keys() (its column names), so dict() would read it as a mapping.
    return dict(rows.all())


def authenticate_staff(*, uow: UnitOfWork, email: str, password: str) -> StaffUser | None:
    """The active account with this email and password, or None (same cost either way)."""
    user = uow.session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(email)))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


@dataclass(frozen=True, slots=True)
class OpenedSession:
    token: str  # goes in the cookie; only its hash is stored
    csrf_token: str


def open_staff_session(*, uow: UnitOfWork, user: StaffUser, max_age_seconds: int) -> OpenedSession:
    """Start a login session; the cookie token is shown once and stored hashed."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    now = utcnow()
    uow.session.add(
        StaffSession(
            id=_sha256(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + timedelta(seconds=max_age_seconds),
        )
    )
    # Expired sessions of this user are swept here rather than by a separate job.
    uow.session.execute(
        delete(StaffSession).where(StaffSession.user_id == user.id, StaffSession.expires_at < now)
    )
    uow.session.flush()
    return OpenedSession(token=token, csrf_token=csrf)


def close_staff_session(*, uow: UnitOfWork, token: str) -> None:
    uow.session.execute(delete(StaffSession).where(StaffSession.id == _sha256(token)))


def principal_for_session(*, uow: UnitOfWork, token: str) -> Principal | None:
    row = uow.session.execute(
        select(StaffSession, StaffUser)
        .join(StaffUser, StaffUser.id == StaffSession.user_id)
        .where(StaffSession.id == _sha256(token))
    ).first()
    if row is None:
        return None
    staff_session, user = row
    if staff_session.expires_at <= utcnow() or not user.active:
        return None
    return Principal(
        kind="staff",
        id=user.id,
        role=Role(user.role),
        store_ids=user.store_ids,
        csrf_token=staff_session.csrf_token,
        name=user.name,
    )


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key: ApiKey
    token: str  # shown once


_TOKEN_PREFIX = {KeyKind.SECRET: "sk", KeyKind.PUBLISHABLE: "pk", KeyKind.WRITE: "wk"}


def create_api_key(
    *, uow: UnitOfWork, kind: KeyKind, name: str, source: KeySource | None = None
) -> IssuedKey:
    """Issue a key; the token is returned once and only its SHA-256 is kept.

    Write keys belong to one source (web, app, till…): the events they send are labelled with it.
    """
    if (kind is KeyKind.WRITE) != (source is not None):
        raise InvalidInput(
            "a write key needs a source (web, app, till, kiosk, server); other keys take none",
            code="key_source_mismatch",
        )
    token = f"{_TOKEN_PREFIX[kind]}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        id=new_id("key"),
        kind=kind.value,
        name=name.strip() or kind.value,
        prefix=token[:10],
        source=source.value if source is not None else None,
        token_hash=_sha256(token),
        created_at=utcnow(),
    )
    uow.session.add(key)
    uow.session.flush()
    return IssuedKey(key=key, token=token)


def revoke_api_key(*, uow: UnitOfWork, key_id: str) -> ApiKey:
    key = uow.session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key {key_id}", code="api_key_not_found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


def list_api_keys(
    *, uow: UnitOfWork, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> tuple[list[ApiKey], str | None]:
    """API keys in id order, one page at a time, and the cursor of the next page (or None)."""
    limit = max(1, min(limit, MAX_LIMIT))
    statement = select(ApiKey).order_by(ApiKey.id).limit(limit + 1)
    if cursor is not None:
        (after,) = decode_cursor(cursor, arity=1)
        if not isinstance(after, str):
            raise InvalidInput("this cursor is not one we issued", code="invalid_cursor")
        statement = statement.where(ApiKey.id > after)
    keys = list(uow.session.scalars(statement))
    if len(keys) > limit:
        return keys[:limit], encode_cursor(keys[limit - 1].id)
    return keys, None


def principal_for_api_key(*, uow: UnitOfWork, token: str) -> Principal | None:
    key = uow.session.scalar(select(ApiKey).where(ApiKey.token_hash == _sha256(token)))
    if key is None or key.revoked_at is not None:
        return None
    return Principal(
        kind="api_key", id=key.id, key_kind=KeyKind(key.kind), name=key.name, source=key.source
    )
