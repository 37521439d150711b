"""Sign-in throttling: wrong passwords and sign-in code requests slow down per client and per
account, so that guessing is slow and an attacker cannot lock the real person out.

Each rule counts hits of one subject (an account and a client address together, a client, an
account, an email and a client) and lets ``free`` of them through; after that every further
hit must wait ``base``, doubled at each hit, up to ``cap``; a subject quiet for ``forget``
starts again from nothing. The counts live in the database (``sign_in_throttles``, keyed by a
hash), so every process of the shop shares them. A refusal is 429 ``too_many_attempts`` with
``Retry-After``. See docs/api.md, "Sign-in throttling".
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Request
from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from parcours.core.auth.models import SignInThrottle
from parcours.core.clock import as_utc, utcnow
from parcours.core.errors import DomainError
from parcours.core.uow import UnitOfWork


class TooManyAttempts(DomainError):
    status, code, title = 429, "too_many_attempts", "Too many attempts"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    free: int
    base: timedelta
    cap: timedelta
    forget: timedelta

    def wait(self, hits: int, last_at: datetime, now: datetime) -> float:
        """Seconds still to wait after ``hits`` hits, the last at ``last_at``."""
        if hits < self.free or now - last_at >= self.forget:
            return 0.0
        step = min(hits - self.free, 30)  # 2**30 seconds is far past any cap
        delay = min(self.base * (2**step), self.cap)
        return float(max(0.0, (last_at + delay - now).total_seconds()))


#: Wrong passwords for one account from one client: five, then 1 s, 2 s, 4 s… up to 15 min.
PASSWORD_FROM_CLIENT = Rule(
    "password:account+client",
    free=5,
    base=timedelta(seconds=1),
    cap=timedelta(minutes=15),
    forget=timedelta(hours=1),
)
#: Wrong passwords from one client, whatever the account (one address trying many accounts).
PASSWORD_CLIENT = Rule(
    "password:client",
    free=20,
    base=timedelta(seconds=1),
    cap=timedelta(minutes=15),
    forget=timedelta(hours=1),
)
#: Wrong passwords for one account from everywhere: past it, every client that already failed
#: on this account waits too; a client that never failed still gets its try, so the real person
#: signs in during an attack.
PASSWORD_ACCOUNT = Rule(
    "password:account",
    free=50,
    base=timedelta(seconds=1),
    cap=timedelta(minutes=15),
    forget=timedelta(hours=1),
)
#: Sign-in codes asked for one email from one client: five an hour, then a wait that doubles.
CODE_FROM_CLIENT = Rule(
    "code:email+client",
    free=5,
    base=timedelta(minutes=5),
    cap=timedelta(hours=1),
    forget=timedelta(hours=1),
)
#: Sign-in codes asked from one client, whatever the address.
CODE_CLIENT = Rule(
    "code:client",
    free=10,
    base=timedelta(minutes=5),
    cap=timedelta(hours=1),
    forget=timedelta(hours=1),
)


def client_address(request: Request) -> str:
    """The caller's address: the connection's peer, or the ``X-Forwarded-For`` of a proxy the
    server trusts (uvicorn's ``FORWARDED_ALLOW_IPS``)."""
    return request.client.host if request.client else "unknown"


def _key(rule: Rule, *parts: str) -> str:
    return hashlib.sha256("\x1f".join((rule.name, *parts)).encode()).hexdigest()


def _state(uow: UnitOfWork, key: str) -> tuple[int, datetime] | None:
    row = uow.session.execute(
        select(SignInThrottle.hits, SignInThrottle.last_at).where(SignInThrottle.key == key)
    ).first()
    return (int(row.hits), as_utc(row.last_at)) if row else None


def _wait(uow: UnitOfWork, rule: Rule, key: str, now: datetime) -> float:
    state = _state(uow, key)
    return rule.wait(state[0], state[1], now) if state else 0.0


def _hit(uow: UnitOfWork, rule: Rule, key: str, now: datetime) -> None:
    """One more hit, counted in one statement (concurrent requests all count)."""
    values = {"key": key, "hits": 1, "last_at": now}
    update = {
        "hits": case(
            (SignInThrottle.last_at <= now - rule.forget, 1),
            else_=SignInThrottle.hits + 1,
        ),
        "last_at": now,
    }
    if uow.session.get_bind().dialect.name == "postgresql":
        uow.session.execute(
            postgresql.insert(SignInThrottle)
            .values(values)
            .on_conflict_do_update(index_elements=["key"], set_=update)
        )
    else:
        uow.session.execute(
            sqlite.insert(SignInThrottle)
            .values(values)
            .on_conflict_do_update(index_elements=["key"], set_=update)
        )


def _refuse(wait: float, detail: str) -> TooManyAttempts:
    seconds = max(1, math.ceil(wait))
    return TooManyAttempts(detail, headers={"Retry-After": str(seconds)}, retry_after=seconds)


# --- staff passwords ---------------------------------------------------------------------------


def check_password_attempt(*, uow: UnitOfWork, email: str, client: str) -> None:
    """Refuse (429) a password attempt that must wait, before the password is even checked:
    a right password from a throttled client waits like a wrong one."""
    now = utcnow()
    account = email.strip().lower()
    pair = _key(PASSWORD_FROM_CLIENT, account, client)
    wait = max(
        _wait(uow, PASSWORD_FROM_CLIENT, pair, now),
        _wait(uow, PASSWORD_CLIENT, _key(PASSWORD_CLIENT, client), now),
    )
    failed_here = _state(uow, pair)
    if failed_here and now - failed_here[1] < PASSWORD_FROM_CLIENT.forget:
        wait = max(wait, _wait(uow, PASSWORD_ACCOUNT, _key(PASSWORD_ACCOUNT, account), now))
    if wait > 0:
        raise _refuse(wait, "too many wrong passwords from here; try again after the delay")


def record_password_failure(*, uow: UnitOfWork, email: str, client: str) -> None:
    """Count a wrong password (the caller commits it, even though the sign-in failed)."""
    now = utcnow()
    account = email.strip().lower()
    _hit(uow, PASSWORD_FROM_CLIENT, _key(PASSWORD_FROM_CLIENT, account, client), now)
    _hit(uow, PASSWORD_CLIENT, _key(PASSWORD_CLIENT, client), now)
    _hit(uow, PASSWORD_ACCOUNT, _key(PASSWORD_ACCOUNT, account), now)


def record_password_success(*, uow: UnitOfWork, email: str, client: str) -> None:
    """A right password: this client's count for this account starts again."""
    account = email.strip().lower()
    key = _key(PASSWORD_FROM_CLIENT, account, client)
    uow.session.execute(delete(SignInThrottle).where(SignInThrottle.key == key))


# --- shopper sign-in codes ---------------------------------------------------------------------


def take_code_request(*, uow: UnitOfWork, email: str, client: str) -> None:
    """Count a sign-in code request from ``client`` for ``email``, or refuse it (429) when this
    client asked too often, for this address or for any. The address's own ceiling (all clients
    together, short slices) is the shoppers context's: see
    :func:`parcours.customers.shoppers.request_sign_in_code`."""
    now = utcnow()
    pair = _key(CODE_FROM_CLIENT, email, client)
    anywhere = _key(CODE_CLIENT, client)
    wait = max(
        _wait(uow, CODE_FROM_CLIENT, pair, now),
        _wait(uow, CODE_CLIENT, anywhere, now),
    )
    if wait > 0:
        raise _refuse(wait, "too many sign-in codes asked from here; try again after the delay")
    _hit(uow, CODE_FROM_CLIENT, pair, now)
    _hit(uow, CODE_CLIENT, anywhere, now)
