"""Use cases of loyalty: promo codes, what they take off a cart, and the orders that redeem them.

A code is checked twice: when it is applied to a cart (:func:`quote_discount`, to tell the
shopper at once why it is refused) and when the order is placed, where :func:`redeem_promo_code`
takes one use with a single conditional ``UPDATE … SET redemptions = redemptions + 1 WHERE …
redemptions < max_redemptions``: the database, not a read before the write, enforces the cap, so
twenty tills racing for the last three uses get exactly three.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from parcours.core.clock import utcnow
from parcours.core.errors import Conflict, DomainError, InvalidInput, NotFound
from parcours.core.ids import new_id
from parcours.core.money import format_money
from parcours.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from parcours.core.uow import UnitOfWork
from parcours.loyalty.events import CouponRedeemed, CouponReleased
from parcours.loyalty.models import PromoCode, PromoKind, PromoRedemption

CODE_PATTERN = re.compile(r"^[A-Z0-9-]{3,32}$")
#: Where a code may be restricted to; the channel of a cart or an order placed there.
PROMO_CHANNELS = ("web", "app", "kiosk", "till")


class PromoCodeRefused(DomainError):
    """The code cannot be used on this cart now; ``code`` says why (the till shows it)."""

    status, code, title = 422, "promo_code_refused", "Promo code refused"


@dataclass(frozen=True, slots=True)
class Discount:
    """What a code takes off a subtotal now."""

    promo_code_id: str
    code: str
    description: str
    kind: str
    value: int
    amount: int  # minor units, never more than the subtotal


def normalise_code(code: str) -> str:
    """How a code is stored and looked up: trimmed, upper case (people type ``bienvenue10``)."""
    return code.strip().upper()


# --- the catalogue of codes -----------------------------------------------------------------------


def create_promo_code(
    *,
    uow: UnitOfWork,
    code: str,
    kind: PromoKind | str,
    value: int,
    currency: str = "EUR",
    description: str = "",
    min_subtotal: int = 0,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    max_redemptions: int | None = None,
    channels: Sequence[str] = (),
    active: bool = True,
    actor: str | None = None,
) -> PromoCode:
    """Create a code for the back office's campaigns; refused if the code is taken."""
    normal = normalise_code(code)
    if not CODE_PATTERN.match(normal):
        raise InvalidInput(
            "a code is 3 to 32 letters, digits or dashes", code="invalid_promo_code_format"
        )
    kind = PromoKind(kind)
    if value <= 0 or (kind is PromoKind.PERCENT and value > 100):
        raise InvalidInput(
            "a percentage is between 1 and 100; an amount is positive", code="invalid_promo_value"
        )
    if min_subtotal < 0:
        raise InvalidInput("the minimum cannot be negative", code="invalid_promo_minimum")
    if max_redemptions is not None and max_redemptions < 1:
        raise InvalidInput("at least one use", code="invalid_promo_max_redemptions")
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        raise InvalidInput("the code must end after it starts", code="invalid_promo_period")
    unknown = sorted(set(channels) - set(PROMO_CHANNELS))
    if unknown:
        raise InvalidInput(
            f"unknown channels {', '.join(unknown)}; one of {', '.join(PROMO_CHANNELS)}",
            code="invalid_promo_channels",
        )
    if get_promo_code_by_code(uow=uow, code=normal, required=False) is not None:
        raise Conflict(f"the code {normal} exists already", code="promo_code_taken")
    promo = PromoCode(
        id=new_id("prm"),
        code=normal,
        description=description.strip()[:200],
        kind=kind.value,
        value=value,
        currency=currency.upper(),
        min_subtotal=min_subtotal,
        starts_at=starts_at,
        ends_at=ends_at,
        max_redemptions=max_redemptions,
        redemptions=0,
        channels=sorted(set(channels)),
        active=active,
        created_by=actor,
        created_at=utcnow(),
    )
    try:
        with uow.session.begin_nested():
            uow.session.add(promo)
            uow.session.flush()
    except IntegrityError:
        raise Conflict(f"the code {normal} exists already", code="promo_code_taken") from None
    return promo


def get_promo_code_by_code(
    *, uow: UnitOfWork, code: str, required: bool = True
) -> PromoCode | None:
    """The code as typed (any case), or NotFound ``promo_code_not_found`` (None if not required)."""
    normal = normalise_code(code)
    promo = (
        uow.session.scalars(select(PromoCode).where(PromoCode.code == normal)).first()
        if CODE_PATTERN.match(normal)
        else None
    )
    if promo is None and required:
        raise NotFound(f"no promo code {normal!r}", code="promo_code_not_found")
    return promo


def list_promo_codes(
    *,
    uow: UnitOfWork,
    active: bool | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> tuple[list[PromoCode], str | None]:
    """Codes newest first, a page at a time; returns the page and the next cursor."""
    limit = max(1, min(limit, MAX_LIMIT))
    query = select(PromoCode).order_by(PromoCode.id.desc()).limit(limit + 1)
    if active is not None:
        query = query.where(PromoCode.active.is_(active))
    if cursor:
        (before,) = decode_cursor(cursor, arity=1)
        query = query.where(PromoCode.id < str(before))
    rows = list(uow.session.scalars(query))
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1].id)
    return rows, None


def deactivate_promo_code(*, uow: UnitOfWork, code: str) -> PromoCode:
    """Stop a code (a leaked code, a campaign ended early); carts holding it see a warning."""
    promo = get_promo_code_by_code(uow=uow, code=code)
    assert promo is not None
    promo.active = False
    uow.session.flush()
    return promo


# --- using a code ---------------------------------------------------------------------------------


def _refused(code: str, detail: str, **extra: Any) -> PromoCodeRefused:
    return PromoCodeRefused(detail, code=code, **extra)


def check_promo_code(
    promo: PromoCode | None,
    *,
    code: str,
    subtotal: int,
    currency: str,
    channel: str | None,
    at: datetime,
) -> Discount:
    """The discount ``promo`` gives a subtotal, or PromoCodeRefused saying why (no query).
    ``channel`` None: where it will be used is not known yet (a cart read), not checked."""
    normal = normalise_code(code)
    if promo is None:
        # Echoed back only when it could be a code: what else was typed stays out of the answer.
        shown = normal if CODE_PATTERN.match(normal) else None
        raise _refused("promo_code_unknown", "this promo code does not exist", promo_code=shown)
    if not promo.active:
        raise _refused("promo_code_inactive", "this code is no longer active", promo_code=normal)
    if promo.starts_at is not None and at < promo.starts_at:
        raise _refused(
            "promo_code_not_started",
            "this code is not valid yet",
            promo_code=normal,
            starts_at=promo.starts_at.isoformat(),
        )
    if promo.ends_at is not None and at >= promo.ends_at:
        raise _refused(
            "promo_code_expired",
            "this code has expired",
            promo_code=normal,
            ends_at=promo.ends_at.isoformat(),
        )
    if promo.max_redemptions is not None and promo.redemptions >= promo.max_redemptions:
        raise _refused("promo_code_exhausted", "this code has been used up", promo_code=normal)
    if channel is not None and promo.channels and channel not in promo.channels:
        raise _refused(
            "promo_code_channel",
            f"this code is not valid here ({channel}); only: {', '.join(promo.channels)}",
            promo_code=normal,
            channel=channel,
            channels=list(promo.channels),
        )
    if currency != promo.currency:
        raise _refused(
            "promo_code_currency",
            f"this code is for {promo.currency} carts",
            promo_code=normal,
            currency=promo.currency,
        )
    if subtotal < promo.min_subtotal:
        raise _refused(
            "promo_code_minimum_not_met",
            "this code needs a subtotal of at least "
            f"{format_money(promo.min_subtotal, promo.currency, 'en_GB')}",
            promo_code=normal,
            minimum=promo.min_subtotal,
            minimum_formatted=format_money(promo.min_subtotal, promo.currency, "fr_FR"),
            currency=promo.currency,
            missing=promo.min_subtotal - subtotal,
        )
    if promo.kind == PromoKind.PERCENT.value:
        amount = subtotal * promo.value // 100
    else:
        amount = min(promo.value, subtotal)
    return Discount(
        promo_code_id=promo.id,
        code=promo.code,
        description=promo.description,
        kind=promo.kind,
        value=promo.value,
        amount=max(0, amount),
    )


def quote_discount(
    *,
    uow: UnitOfWork,
    code: str,
    subtotal: int,
    currency: str,
    channel: str | None,
    at: datetime,
) -> Discount:
    """What the code takes off this subtotal now, or PromoCodeRefused (422) with a stable code:
    ``promo_code_unknown``, ``_inactive``, ``_not_started``, ``_expired``, ``_exhausted``,
    ``_channel``, ``_currency``, ``_minimum_not_met`` (with ``minimum`` and its formatting)."""
    promo = get_promo_code_by_code(uow=uow, code=code, required=False)
    return check_promo_code(
        promo, code=code, subtotal=subtotal, currency=currency, channel=channel, at=at
    )


_MESSAGES: dict[str, tuple[str, str]] = {
    "promo_code_unknown": ("Ce code promo n'existe pas.", "This promo code does not exist."),
    "promo_code_inactive": (
        "Ce code promo n'est plus actif.",
        "This promo code is no longer active.",
    ),
    "promo_code_not_started": (
        "Ce code promo n'est pas encore valable.",
        "This promo code is not valid yet.",
    ),
    "promo_code_expired": ("Ce code promo a expiré.", "This promo code has expired."),
    "promo_code_exhausted": (
        "Ce code promo a atteint son nombre d'utilisations.",
        "This promo code has been used up.",
    ),
    "promo_code_channel": (
        "Ce code promo n'est pas valable sur ce canal.",
        "This promo code is not valid on this channel.",
    ),
    "promo_code_currency": (
        "Ce code promo ne s'applique pas à cette devise.",
        "This promo code does not apply to this currency.",
    ),
}


def describe_refusal(refused: PromoCodeRefused, lang: str = "fr") -> str:
    """Why a code is refused, in words a shopper or an associate reads (French or English)."""
    if refused.code == "promo_code_minimum_not_met":
        minimum = int(refused.extra.get("minimum", 0))
        currency = str(refused.extra.get("currency", "EUR"))
        if lang == "en":
            needed = format_money(minimum, currency, "en_GB")
            return f"This code needs a subtotal of at least {needed}."
        return f"Ce code demande un panier d'au moins {format_money(minimum, currency, 'fr_FR')}."
    french, english = _MESSAGES.get(
        refused.code, ("Ce code promo ne peut pas être utilisé.", "This promo code cannot be used.")
    )
    return english if lang == "en" else french


def redeem_promo_code(
    *,
    uow: UnitOfWork,
    code: str,
    order_id: str,
    profile_id: str | None,
    amount: int,
    at: datetime,
) -> PromoRedemption:
    """Take one use of the code for an order. The conditional UPDATE is the cap: when no row
    matches, the last use went to another order and this one is refused (409
    ``promo_code_exhausted``); the caller's transaction then rolls back whole."""
    promo = get_promo_code_by_code(uow=uow, code=code)
    assert promo is not None
    taken = uow.session.execute(
        update(PromoCode)
        .where(
            PromoCode.id == promo.id,
            or_(
                PromoCode.max_redemptions.is_(None),
                PromoCode.redemptions < PromoCode.max_redemptions,
            ),
        )
        .values(redemptions=PromoCode.redemptions + 1)
        .returning(PromoCode.redemptions),
        execution_options={"synchronize_session": False},
    ).scalar_one_or_none()
    if taken is None:
        raise Conflict(
            "this code has been used up by other orders meanwhile",
            code="promo_code_exhausted",
            promo_code=promo.code,
        )
    uow.session.refresh(promo, ["redemptions"])
    redemption = PromoRedemption(
        id=new_id("prd"),
        promo_code_id=promo.id,
        order_id=order_id,
        profile_id=profile_id,
        amount=amount,
        at=at,
        released_at=None,
    )
    uow.session.add(redemption)
    uow.record(
        CouponRedeemed(
            promo_code_id=promo.id,
            code=promo.code,
            order_id=order_id,
            amount=amount,
            currency=promo.currency,
        )
    )
    uow.session.flush()
    return redemption


def release_redemption(
    *, uow: UnitOfWork, order_id: str, at: datetime | None = None
) -> PromoRedemption | None:
    """The order was cancelled: its use of the code is given back (once), so another shopper
    may have it. None if the order used no code."""
    redemption = uow.session.scalars(
        select(PromoRedemption).where(PromoRedemption.order_id == order_id)
    ).first()
    if redemption is None or redemption.released_at is not None:
        return redemption
    redemption.released_at = at or utcnow()
    uow.session.execute(
        update(PromoCode)
        .where(PromoCode.id == redemption.promo_code_id, PromoCode.redemptions > 0)
        .values(redemptions=PromoCode.redemptions - 1),
        execution_options={"synchronize_session": False},
    )
    promo = uow.session.get(PromoCode, redemption.promo_code_id)
    if promo is not None:
        uow.session.refresh(promo, ["redemptions"])
        uow.record(CouponReleased(promo_code_id=promo.id, code=promo.code, order_id=order_id))
    uow.session.flush()
    return redemption


def redemption_of(*, uow: UnitOfWork, order_id: str) -> PromoRedemption | None:
    """The order's use of a code, if any (released or not)."""
    return uow.session.scalars(
        select(PromoRedemption).where(PromoRedemption.order_id == order_id)
    ).first()
