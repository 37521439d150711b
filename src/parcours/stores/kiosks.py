"""A store's kiosks and their device credential.

The store's staff pair a kiosk: an associate or manager issues a one-time pairing code (valid
``PAIRING_LIFETIME``), typed or opened on the kiosk's screen, which trades it for a long-lived
random token kept in the kiosk's cookie. Only hashes of the code and the token are stored. A
kiosk's write actions (selection, order, adviser call, phone handoff) need that token for its
store; revoking the kiosk takes effect at its next request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from parcours.core.clock import as_utc, utcnow
from parcours.core.errors import InvalidInput, NotFound
from parcours.core.ids import new_id
from parcours.core.uow import UnitOfWork
from parcours.stores.models import Kiosk

PAIRING_LIFETIME = timedelta(minutes=10)
#: No 0/O, 1/I/L: the code is read on a tablet and typed on a touch screen.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_LENGTH = 8
#: ``last_seen_at`` is written at most this often (not at every tap).
_SEEN_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class IssuedPairing:
    """A pairing waiting for its kiosk: the code is shown once, never stored."""

    kiosk: Kiosk
    code: str  # "ABCD-EFGH"


@dataclass(frozen=True, slots=True)
class PairedKiosk:
    """A kiosk just paired: its token goes into the kiosk's cookie, once."""

    kiosk: Kiosk
    token: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_code(code: str) -> str:
    """What she typed, as issued: capitals, no spaces or dashes."""
    return "".join(ch for ch in code.upper() if ch.isalnum())[:32]


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def start_pairing(
    *,
    uow: UnitOfWork,
    store_id: str,
    name: str,
    created_by: str | None,
    now: datetime | None = None,
) -> IssuedPairing:
    """A new kiosk of the store, waiting to be paired with a one-time code for
    ``PAIRING_LIFETIME``. The name says where it stands ("Entrée", "Rayon homme")."""
    name = " ".join(name.split())[:80]
    if not name:
        raise InvalidInput("a kiosk has a name", code="kiosk_name_required")
    now = now or utcnow()
    code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
    kiosk = Kiosk(
        id=new_id("kio"),
        store_id=store_id,
        name=name,
        pairing_hash=_digest(code),
        pairing_expires_at=now + PAIRING_LIFETIME,
        created_by=created_by,
        created_at=now,
    )
    uow.session.add(kiosk)
    uow.session.flush()
    return IssuedPairing(kiosk=kiosk, code=format_code(code))


def pair_kiosk(
    *, uow: UnitOfWork, store_id: str, code: str, now: datetime | None = None
) -> PairedKiosk:
    """The kiosk's screen presents the code: it gets its token and the code is spent. A wrong,
    used, expired or revoked code, or one of another store: 422 ``invalid_pairing_code``."""
    now = now or utcnow()
    typed = normalise_code(code)
    kiosk = (
        uow.session.scalars(
            select(Kiosk).where(Kiosk.pairing_hash == _digest(typed)).with_for_update()
        ).first()
        if len(typed) == _CODE_LENGTH
        else None
    )
    if (
        kiosk is None
        or kiosk.store_id != store_id
        or kiosk.revoked_at is not None
        or kiosk.pairing_expires_at is None
        or as_utc(kiosk.pairing_expires_at) <= now
    ):
        raise InvalidInput(
            "this pairing code is wrong, used or expired", code="invalid_pairing_code"
        )
    token = secrets.token_urlsafe(32)
    kiosk.token_hash = _digest(token)
    kiosk.pairing_hash = None
    kiosk.pairing_expires_at = None
    kiosk.paired_at = kiosk.last_seen_at = now
    uow.session.flush()
    return PairedKiosk(kiosk=kiosk, token=token)


def find_kiosk(*, uow: UnitOfWork, token: str | None, store_id: str) -> Kiosk | None:
    """The paired, unrevoked kiosk of this store whose cookie holds ``token``, or None."""
    if not token or len(token) > 100:
        return None
    kiosk = uow.session.scalars(select(Kiosk).where(Kiosk.token_hash == _digest(token))).first()
    if kiosk is None or kiosk.store_id != store_id or kiosk.revoked_at is not None:
        return None
    return kiosk


def mark_seen(*, uow: UnitOfWork, kiosk: Kiosk, now: datetime | None = None) -> None:
    """The kiosk is in use (written at most once a minute)."""
    now = now or utcnow()
    if kiosk.last_seen_at is None or now - as_utc(kiosk.last_seen_at) >= _SEEN_EVERY:
        kiosk.last_seen_at = now
        uow.session.flush()


def list_kiosks(*, uow: UnitOfWork, store_id: str, now: datetime | None = None) -> list[Kiosk]:
    """The store's paired kiosks and the pairings still waiting, oldest first."""
    now = now or utcnow()
    return list(
        uow.session.scalars(
            select(Kiosk)
            .where(
                Kiosk.store_id == store_id,
                Kiosk.revoked_at.is_(None),
                or_(Kiosk.token_hash.is_not(None), Kiosk.pairing_expires_at > now),
            )
            .order_by(Kiosk.created_at, Kiosk.id)
        )
    )


def revoke_kiosk(
    *, uow: UnitOfWork, kiosk_id: str, store_id: str, now: datetime | None = None
) -> Kiosk:
    """The kiosk (or its waiting pairing) stops working at its next request. NotFound
    ``kiosk_not_found`` for another store's kiosk."""
    kiosk = uow.session.get(Kiosk, kiosk_id)
    if kiosk is None or kiosk.store_id != store_id:
        raise NotFound(f"no kiosk {kiosk_id!r} in this store", code="kiosk_not_found")
    if kiosk.revoked_at is None:
        kiosk.revoked_at = now or utcnow()
        kiosk.pairing_hash = None
        uow.session.flush()
    return kiosk
