"""Use cases of payments: take money, finish 3-D Secure, refund, pay by link, hear Stripe.

Never charged twice. A payment is claimed before the provider is called: its row, unique on
``(reference, idempotency_key)``, is inserted and flushed first, so a concurrent request with the
same key waits on it (PostgreSQL's unique index; SQLite's single writer) and then finds it. The
provider gets an idempotency key derived from ours, so even a retry after a crash, when our row
was never committed, finds the provider's first charge. The claim and the call share a savepoint:
if the provider fails, nothing of the attempt remains in the caller's transaction.

Captured once. Payments that complete later (3-D Secure, webhooks) change status with one
conditional ``UPDATE … WHERE status IN (…)``; only the statement that moved the row records
``PaymentCaptured``, however many confirmations or webhook replays race. Refunds are bounded the
same way: ``refunded_amount + amount <= amount`` is the UPDATE's condition, with a check
constraint behind it.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, cast

import segno
from sqlalchemy import CursorResult, case, func, select, update
from sqlalchemy.exc import IntegrityError

from parcours.core.clock import utcnow
from parcours.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from parcours.core.idempotency import request_fingerprint
from parcours.core.ids import new_id
from parcours.core.money import check_currency
from parcours.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from parcours.core.uow import UnitOfWork
from parcours.payments.errors import Gone
from parcours.payments.events import PaymentCaptured, PaymentFailed, PaymentRefunded
from parcours.payments.models import (
    MONEY_TAKEN,
    Payment,
    PaymentLink,
    PaymentLinkStatus,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from parcours.payments.providers import PaymentProviders
from parcours.payments.providers.base import ChargeOutcome, ChargeRequest
from parcours.payments.providers.sandbox import CardToken, SandboxCardProvider
from parcours.payments.providers.stripe import StripeProvider, outcome_of

log = logging.getLogger("parcours.payments")

#: The largest amount taken in one payment, in minor units (ten million euros).
MAX_AMOUNT = 1_000_000_000
MAX_KEY_LENGTH = 255
DEFAULT_LINK_TTL_SECONDS = 24 * 3600
MIN_LINK_TTL_SECONDS = 60
MAX_LINK_TTL_SECONDS = 30 * 24 * 3600
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_STRIPE_EVENTS = {
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
}
_OUTCOME_STATUS = {
    "captured": PaymentStatus.CAPTURED,
    "requires_action": PaymentStatus.REQUIRES_ACTION,
    "processing": PaymentStatus.PROCESSING,
    "failed": PaymentStatus.FAILED,
}


# --- checks -------------------------------------------------------------------------------------


def _check_amount(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise InvalidInput(
            f"the amount is a whole number of minor units, from 1 to {MAX_AMOUNT}",
            code="invalid_amount",
        )


def _check_currency(currency: str) -> None:
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise InvalidInput(
            "the currency is an ISO 4217 code in capitals ('EUR')", code="invalid_currency"
        )
    try:
        check_currency(currency)
    except ValueError:
        raise InvalidInput(
            f"{currency} is not a currency in use (ISO 4217)", code="invalid_currency"
        ) from None


def _check_text(value: str | None, what: str, max_length: int, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise InvalidInput(f"{what} holds 1 to {max_length} characters", code=f"invalid_{what}")


def _check_key(idempotency_key: str) -> None:
    if not isinstance(idempotency_key, str) or not 0 < len(idempotency_key) <= MAX_KEY_LENGTH:
        raise InvalidInput(
            f"the idempotency key holds 1 to {MAX_KEY_LENGTH} characters",
            code="invalid_idempotency_key",
        )


def _method(method: PaymentMethod | str) -> PaymentMethod:
    try:
        return PaymentMethod(method)
    except ValueError:
        raise InvalidInput(
            f"the payment method is one of {', '.join(m.value for m in PaymentMethod)}",
            code="unsupported_payment_method",
        ) from None


def _provider_key(*parts: str) -> str:
    """The idempotency key a provider sees: the same for every retry of one request, different
    for every request, and free of whatever the caller put in its own key."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"parcours_{digest}"


def _same_secret(given: str, expected: str | None) -> bool:
    return expected is not None and hmac.compare_digest(given.encode(), expected.encode())


# --- reading ------------------------------------------------------------------------------------


def get_payment(*, uow: UnitOfWork, payment_id: str) -> Payment:
    """A payment by id, else ``payment_not_found``."""
    payment = uow.session.get(Payment, payment_id) if len(payment_id) <= 40 else None
    if payment is None:
        raise NotFound("there is no payment with this id", code="payment_not_found")
    return payment


def get_payment_for_payer(*, uow: UnitOfWork, payment_id: str, client_secret: str) -> Payment:
    """A payment for whoever holds its client secret (the shopper in a 3-D Secure challenge)."""
    payment = get_payment(uow=uow, payment_id=payment_id)
    if not _same_secret(client_secret, payment.client_secret):
        raise Forbidden(
            "this client secret does not belong to this payment", code="invalid_client_secret"
        )
    return payment


def payments_for(*, uow: UnitOfWork, reference: str) -> list[Payment]:
    """Every payment attempt for a reference, oldest first."""
    query = select(Payment).where(Payment.reference == reference).order_by(Payment.id)
    return list(uow.session.scalars(query))


def find_payment(*, uow: UnitOfWork, reference: str, idempotency_key: str) -> Payment | None:
    """The payment a request with this key already made for this reference, if any."""
    return _find_by_key(uow, reference, idempotency_key)


def captured_total(*, uow: UnitOfWork, reference: str, currency: str | None = None) -> int:
    """What the payer has paid for a reference and kept: captured minus refunded. With
    ``currency``, only payments in that currency count: amounts in two currencies never add."""
    query = select(func.coalesce(func.sum(Payment.amount - Payment.refunded_amount), 0)).where(
        Payment.reference == reference, Payment.status.in_([s.value for s in MONEY_TAKEN])
    )
    if currency is not None:
        query = query.where(Payment.currency == currency)
    return int(uow.session.scalar(query) or 0)


def captured_gross(*, uow: UnitOfWork, reference: str, currency: str) -> int:
    """Everything captured for a reference in one currency, what was refunded since included:
    what a reference was paid, whatever went back later (one query)."""
    query = select(func.coalesce(func.sum(Payment.amount), 0)).where(
        Payment.reference == reference,
        Payment.currency == currency,
        Payment.status.in_([s.value for s in MONEY_TAKEN]),
    )
    return int(uow.session.scalar(query) or 0)


def refunded_total(*, uow: UnitOfWork, reference: str, currency: str | None = None) -> int:
    """What was given back on a reference's payments, whatever route made the refund."""
    query = select(func.coalesce(func.sum(Payment.refunded_amount), 0)).where(
        Payment.reference == reference
    )
    if currency is not None:
        query = query.where(Payment.currency == currency)
    return int(uow.session.scalar(query) or 0)


def list_payments(
    *, uow: UnitOfWork, reference: str, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> tuple[list[Payment], str | None]:
    """The payments of a reference, oldest first, a page at a time."""
    limit = max(1, min(limit, MAX_LIMIT))
    query = (
        select(Payment).where(Payment.reference == reference).order_by(Payment.id).limit(limit + 1)
    )
    if cursor:
        (after,) = decode_cursor(cursor, arity=1)
        if not isinstance(after, str):
            raise InvalidInput("this cursor is not one we issued", code="invalid_cursor")
        query = query.where(Payment.id > after)
    rows = list(uow.session.scalars(query))
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1].id)
    return rows, None


def list_refunds(*, uow: UnitOfWork, payment_id: str) -> list[Refund]:
    query = select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.id)
    return list(uow.session.scalars(query))


# --- taking money -------------------------------------------------------------------------------


def start_payment(
    *,
    uow: UnitOfWork,
    providers: PaymentProviders,
    reference: str,
    amount: int,
    currency: str,
    method: PaymentMethod | str,
    details: Mapping[str, Any],
    idempotency_key: str,
    channel: str,
    store_id: str | None = None,
    actor: str | None = None,
    provider: str | None = None,
) -> Payment:
    """Take ``amount`` for ``reference``: captured at once, failed, or waiting for 3-D Secure.

    The same key for the same reference returns the same payment and never charges again; the
    same key with another request is refused (``idempotency_key_reused``). A decline is not an
    error: the payment comes back ``failed`` with its ``failure_code``.
    """
    return _start(
        uow=uow,
        providers=providers,
        reference=reference,
        amount=amount,
        currency=currency,
        method=method,
        details=details,
        idempotency_key=idempotency_key,
        channel=channel,
        store_id=store_id,
        actor=actor,
        provider=provider,
        payment_link_id=None,
    )


def _start(
    *,
    uow: UnitOfWork,
    providers: PaymentProviders,
    reference: str,
    amount: int,
    currency: str,
    method: PaymentMethod | str,
    details: Mapping[str, Any],
    idempotency_key: str,
    channel: str,
    store_id: str | None,
    actor: str | None,
    provider: str | None,
    payment_link_id: str | None,
) -> Payment:
    chosen_method = _method(method)
    _check_amount(amount)
    _check_currency(currency)
    _check_text(reference, "reference", 80)
    _check_text(channel, "channel", 20)
    _check_text(store_id, "store_id", 40, optional=True)
    _check_key(idempotency_key)
    chosen = providers.for_method(chosen_method, provider)
    if not isinstance(details, Mapping):
        raise InvalidInput("the payment details are an object", code="invalid_details")
    clean = chosen.check_details(chosen_method, details)
    fingerprint = request_fingerprint(
        amount=amount,
        currency=currency,
        method=chosen_method.value,
        provider=chosen.name,
        details=clean,
        channel=channel,
        store_id=store_id,
        payment_link_id=payment_link_id,
    )
    existing = _find_by_key(uow, reference, idempotency_key)
    if existing is not None:
        return _replayed(existing, fingerprint)

    now = utcnow()
    payment = Payment(
        id=new_id("pay"),
        reference=reference,
        amount=amount,
        currency=currency,
        method=chosen_method.value,
        provider=chosen.name,
        status=PaymentStatus.PROCESSING.value,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        refunded_amount=0,
        channel=channel,
        store_id=store_id,
        payment_link_id=payment_link_id,
        actor=actor,
        created_at=now,
        updated_at=now,
    )
    try:
        with uow.session.begin_nested():
            uow.session.add(payment)
            uow.session.flush()  # the claim: a concurrent twin waits here, then finds it
            outcome = chosen.authorise_and_capture(
                ChargeRequest(
                    payment_id=payment.id,
                    reference=reference,
                    amount=amount,
                    currency=currency,
                    method=chosen_method,
                    details=clean,
                    idempotency_key=_provider_key("charge", reference, idempotency_key),
                )
            )
            _apply(payment, outcome, now)
            uow.session.flush()
    except IntegrityError:
        existing = _find_by_key(uow, reference, idempotency_key)
        if existing is None:
            raise
        return _replayed(existing, fingerprint)
    log.info(
        "payment %s",
        payment.status,
        extra={"payment_id": payment.id, "method": payment.method, "provider": payment.provider},
    )
    if payment.status == PaymentStatus.CAPTURED:
        uow.record(_captured(payment))
    elif payment.status == PaymentStatus.FAILED:
        uow.record(_failed(payment))
    return payment


def replay_payment(
    *,
    providers: PaymentProviders,
    payment: Payment,
    method: PaymentMethod | str,
    details: Mapping[str, Any],
    channel: str,
    store_id: str | None,
) -> Payment:
    """A retry of the request that made ``payment`` gets it back; the same key sent with another
    request (another card, another tendered amount, another till) is refused with
    ``idempotency_key_reused``. The amount is the payment's own: a caller that derives it from
    what is owed would see zero on a retry."""
    chosen_method = _method(method)
    if chosen_method.value != payment.method or not isinstance(details, Mapping):
        return _replayed(payment, "")
    clean = providers.get(payment.provider).check_details(chosen_method, details)
    fingerprint = request_fingerprint(
        amount=payment.amount,
        currency=payment.currency,
        method=chosen_method.value,
        provider=payment.provider,
        details=clean,
        channel=channel,
        store_id=store_id,
        payment_link_id=payment.payment_link_id,
    )
    return _replayed(payment, fingerprint)


def _find_by_key(uow: UnitOfWork, reference: str, idempotency_key: str) -> Payment | None:
    query = select(Payment).where(
        Payment.reference == reference, Payment.idempotency_key == idempotency_key
    )
    return uow.session.scalars(query).first()


def _replayed(existing: Payment, fingerprint: str) -> Payment:
    if existing.request_fingerprint != fingerprint:
        raise Conflict(
            "this Idempotency-Key was already used for a different payment of this reference",
            code="idempotency_key_reused",
            payment_id=existing.id,
        )
    return existing


def _apply(payment: Payment, outcome: ChargeOutcome, now: datetime) -> None:
    """Copy a provider's first answer onto a payment being created."""
    payment.status = _OUTCOME_STATUS[outcome.status].value
    payment.provider_reference = outcome.provider_reference
    payment.card_brand = outcome.card_brand
    payment.card_last4 = outcome.card_last4
    payment.failure_code = outcome.failure_code
    payment.failure_message = outcome.failure_message
    payment.tendered_amount = outcome.tendered_amount
    payment.change_due = outcome.change_due
    payment.terminal_reference = outcome.terminal_reference
    if outcome.status == "captured":
        payment.captured_at = now
    if outcome.status == "requires_action":
        payment.client_secret = (
            outcome.client_secret or f"{payment.id}_secret_{secrets.token_urlsafe(24)}"
        )
        # The provider's challenge page, else ours (the test provider's simulated bank page).
        payment.next_action_url = (
            outcome.next_action_url
            or f"/v1/payments/{payment.id}/3ds?client_secret={payment.client_secret}"
        )


def _captured(payment: Payment) -> PaymentCaptured:
    return PaymentCaptured(
        payment_id=payment.id,
        reference=payment.reference,
        amount=payment.amount,
        currency=payment.currency,
        method=payment.method,
        channel=payment.channel,
        store_id=payment.store_id,
    )


def _failed(payment: Payment) -> PaymentFailed:
    return PaymentFailed(
        payment_id=payment.id,
        reference=payment.reference,
        amount=payment.amount,
        currency=payment.currency,
        failure_code=payment.failure_code or "payment_failed",
    )


# --- completing later: 3-D Secure, webhooks -----------------------------------------------------


def _transition(
    uow: UnitOfWork,
    payment: Payment,
    *,
    to: PaymentStatus,
    allowed_from: Iterable[PaymentStatus],
    **values: Any,
) -> bool:
    """Move a payment to ``to`` if it still is in one of ``allowed_from``; True if this call
    moved it. One conditional UPDATE: of racing callers, exactly one wins."""
    statement = (
        update(Payment)
        .where(Payment.id == payment.id, Payment.status.in_([s.value for s in allowed_from]))
        .values(status=to.value, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    result = cast(CursorResult[Any], uow.session.execute(statement))
    uow.session.refresh(payment)
    return result.rowcount == 1


def _settle(
    uow: UnitOfWork, payment: Payment, outcome: ChargeOutcome, *, even_if_failed: bool = False
) -> None:
    """Apply a later answer (3-D Secure result, webhook) and record what it changed, once."""
    waiting = [PaymentStatus.REQUIRES_ACTION, PaymentStatus.PROCESSING]
    card = {
        key: value
        for key, value in (("card_brand", outcome.card_brand), ("card_last4", outcome.card_last4))
        if value
    }
    if outcome.status == "captured":
        now = utcnow()
        allowed = [*waiting, PaymentStatus.FAILED] if even_if_failed else waiting
        if _transition(
            uow,
            payment,
            to=PaymentStatus.CAPTURED,
            allowed_from=allowed,
            captured_at=now,
            next_action_url=None,
            failure_code=None,
            failure_message=None,
            **card,
        ):
            uow.record(_captured(payment))
            if payment.payment_link_id is not None:
                _mark_link_paid(uow, payment.payment_link_id, now)
    elif outcome.status == "failed" and _transition(
        uow,
        payment,
        to=PaymentStatus.FAILED,
        allowed_from=waiting,
        next_action_url=None,
        failure_code=outcome.failure_code or "payment_failed",
        failure_message=outcome.failure_message,
        **card,
    ):
        uow.record(_failed(payment))


def confirm_payment_action(
    *,
    uow: UnitOfWork,
    providers: PaymentProviders,
    payment_id: str,
    succeeded: bool,
    client_secret: str | None = None,
) -> Payment:
    """The shopper's answer to the 3-D Secure challenge: the payment is captured or fails.

    With ``client_secret`` (callers on behalf of the shopper), it must be the payment's own.
    Answering again what was already answered returns the payment unchanged.
    """
    if client_secret is not None:
        payment = get_payment_for_payer(uow=uow, payment_id=payment_id, client_secret=client_secret)
    else:
        payment = get_payment(uow=uow, payment_id=payment_id)
    if payment.status != PaymentStatus.REQUIRES_ACTION:
        already = payment.status in MONEY_TAKEN if succeeded else payment.status == "failed"
        if already and payment.client_secret is not None:
            return payment
        raise Conflict(
            "this payment is not waiting for a 3-D Secure answer",
            code="payment_not_awaiting_action",
            payment_status=payment.status,
        )
    provider = providers.get(payment.provider)
    outcome = provider.complete_action(
        provider_reference=payment.provider_reference or payment.id,
        succeeded=succeeded,
        idempotency_key=_provider_key("action", payment.id),
    )
    _settle(uow, payment, outcome)
    return payment


def handle_stripe_webhook(
    *, uow: UnitOfWork, providers: PaymentProviders, payload: bytes, signature_header: str
) -> str | None:
    """Apply a Stripe event to our payment; the payment's id, or ``None`` for events we ignore.

    Replays and out-of-order deliveries are harmless: a payment changes status only from the
    statuses that lead there, and ``PaymentCaptured`` is recorded by the change, not the event.
    """
    stripe_provider = providers.find("stripe")
    if not isinstance(stripe_provider, StripeProvider):
        raise NotFound("Stripe is not configured on this server", code="stripe_not_configured")
    event = stripe_provider.parse_webhook(payload=payload, signature_header=signature_header)
    data = event.get("data")
    intent = data.get("object") if isinstance(data, Mapping) else None
    if event.get("type") not in _STRIPE_EVENTS or not isinstance(intent, Mapping):
        return None
    if intent.get("object") != "payment_intent" or not isinstance(intent.get("id"), str):
        return None
    query = select(Payment).where(
        Payment.provider == stripe_provider.name, Payment.provider_reference == intent["id"]
    )
    payment = uow.session.scalars(query).first()
    if payment is None:
        metadata = intent.get("metadata")
        if isinstance(metadata, Mapping) and metadata.get("parcours_reference"):
            # Ours, but the request that created it has not committed yet: Stripe retries.
            raise Conflict(
                "this payment is not recorded yet; deliver the event again later",
                code="payment_not_recorded_yet",
            )
        return None  # another integration's payment on the same Stripe account
    outcome = outcome_of(intent)
    if event["type"] == "payment_intent.succeeded" and outcome.status == "captured":
        # Stripe took the money: our record follows, even over an earlier failure.
        _settle(uow, payment, outcome, even_if_failed=True)
    elif outcome.status == "failed":
        _settle(uow, payment, outcome)
    log.info(
        "stripe webhook applied",
        extra={"payment_id": payment.id, "event_type": event["type"], "status": payment.status},
    )
    return payment.id


# --- refunds ------------------------------------------------------------------------------------


def refund_payment(
    *,
    uow: UnitOfWork,
    providers: PaymentProviders,
    payment_id: str,
    amount: int,
    reason: str,
    idempotency_key: str,
    actor: str | None = None,
) -> Refund:
    """Give back part or all of a captured payment, never more than what remains captured.

    The same key for the same payment returns the same refund; another amount with that key is
    refused (``idempotency_key_reused``).
    """
    _check_amount(amount)
    _check_text(reason, "reason", 500)
    _check_key(idempotency_key)
    payment = get_payment(uow=uow, payment_id=payment_id)
    existing = _refund_by_key(uow, payment.id, idempotency_key)
    if existing is not None:
        return _replayed_refund(existing, amount)
    _refuse_refund(payment, amount)
    provider = providers.get(payment.provider)
    now = utcnow()
    refund = Refund(
        id=new_id("rfd"),
        payment_id=payment.id,
        amount=amount,
        currency=payment.currency,
        reason=reason,
        status=RefundStatus.PENDING.value,
        idempotency_key=idempotency_key,
        actor=actor,
        created_at=now,
    )
    try:
        with uow.session.begin_nested():
            uow.session.add(refund)
            uow.session.flush()  # the claim, as for payments
            if not _take_back(uow, payment, amount):
                _refuse_refund(payment, amount)  # someone refunded meanwhile: say why
                raise Conflict("the payment changed meanwhile; retry", code="payment_changed")
            outcome = provider.refund(
                provider_reference=payment.provider_reference,
                amount=amount,
                currency=payment.currency,
                reason=reason,
                idempotency_key=_provider_key("refund", payment.id, idempotency_key),
            )
            if outcome.status == "failed":
                raise Conflict(
                    "the provider refused the refund",
                    code="refund_failed",
                    provider_code=outcome.failure_code,
                )
            refund.status = outcome.status
            refund.provider_reference = outcome.provider_reference
            uow.session.flush()
    except IntegrityError:
        existing = _refund_by_key(uow, payment.id, idempotency_key)
        if existing is None:
            raise
        return _replayed_refund(existing, amount)
    log.info(
        "payment refunded",
        extra={"payment_id": payment.id, "refund_id": refund.id, "amount": amount},
    )
    uow.record(
        PaymentRefunded(
            refund_id=refund.id,
            payment_id=payment.id,
            reference=payment.reference,
            amount=amount,
            currency=payment.currency,
        )
    )
    return refund


def _refund_by_key(uow: UnitOfWork, payment_id: str, idempotency_key: str) -> Refund | None:
    query = select(Refund).where(
        Refund.payment_id == payment_id, Refund.idempotency_key == idempotency_key
    )
    return uow.session.scalars(query).first()


def _replayed_refund(existing: Refund, amount: int) -> Refund:
    if existing.amount != amount:
        raise Conflict(
            "this Idempotency-Key was already used for a refund of another amount",
            code="idempotency_key_reused",
            refund_id=existing.id,
        )
    return existing


def _refuse_refund(payment: Payment, amount: int) -> None:
    if payment.status not in MONEY_TAKEN:
        raise Conflict(
            "only a captured payment can be refunded",
            code="payment_not_refundable",
            payment_status=payment.status,
        )
    if amount > payment.refundable_amount:
        raise Conflict(
            "a refund cannot exceed what remains captured",
            code="refund_exceeds_captured",
            refundable_amount=payment.refundable_amount,
        )


def _take_back(uow: UnitOfWork, payment: Payment, amount: int) -> bool:
    """Add ``amount`` to what was refunded, if it fits; one conditional UPDATE."""
    refunded = Payment.refunded_amount + amount
    statement = (
        update(Payment)
        .where(
            Payment.id == payment.id,
            Payment.status.in_([s.value for s in MONEY_TAKEN]),
            refunded <= Payment.amount,
        )
        .values(
            refunded_amount=refunded,
            status=case(
                (refunded == Payment.amount, PaymentStatus.REFUNDED.value),
                else_=PaymentStatus.PARTIALLY_REFUNDED.value,
            ),
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    result = cast(CursorResult[Any], uow.session.execute(statement))
    uow.session.refresh(payment)
    return result.rowcount == 1


# --- payment links ------------------------------------------------------------------------------


def create_payment_link(
    *,
    uow: UnitOfWork,
    reference: str,
    amount: int,
    currency: str,
    description: str,
    ttl_seconds: int = DEFAULT_LINK_TTL_SECONDS,
    channel: str,
    store_id: str | None = None,
) -> PaymentLink:
    """A link (and QR code) to pay ``amount`` for ``reference``, valid ``ttl_seconds``.

    The token is 32 URL-safe characters from 192 random bits: the link is its own credential.
    """
    _check_amount(amount)
    _check_currency(currency)
    _check_text(reference, "reference", 80)
    _check_text(description, "description", 200)
    _check_text(channel, "channel", 20)
    _check_text(store_id, "store_id", 40, optional=True)
    if not MIN_LINK_TTL_SECONDS <= ttl_seconds <= MAX_LINK_TTL_SECONDS:
        raise InvalidInput(
            f"a link lives {MIN_LINK_TTL_SECONDS} s to {MAX_LINK_TTL_SECONDS // 86400} days",
            code="invalid_ttl",
        )
    now = utcnow()
    link = PaymentLink(
        id=new_id("plk"),
        token=secrets.token_urlsafe(24),
        reference=reference,
        amount=amount,
        currency=currency,
        description=description,
        state=PaymentLinkStatus.OPEN.value,
        channel=channel,
        store_id=store_id,
        expires_at=now + timedelta(seconds=ttl_seconds),
        created_at=now,
    )
    uow.session.add(link)
    uow.session.flush()
    return link


def _link_by_token(uow: UnitOfWork, token: str, *, lock: bool = False) -> PaymentLink:
    link = None
    if 0 < len(token) <= 64:
        query = select(PaymentLink).where(PaymentLink.token == token)
        if lock:  # two payers at once: the second waits, then sees the link paid
            query = query.with_for_update()
        link = uow.session.scalars(query).first()
    if link is None:
        raise NotFound("there is no payment link with this token", code="payment_link_not_found")
    return link


def _refuse_unpayable(link: PaymentLink, now: datetime) -> None:
    status = link.status_at(now)
    if status is PaymentLinkStatus.PAID:
        raise Conflict("this payment link has already been paid", code="payment_link_paid")
    if status is PaymentLinkStatus.EXPIRED:
        raise Gone(
            "this payment link has expired; ask the shop for a new one",
            code="payment_link_expired",
            expired_at=link.expires_at.isoformat(),
        )


def find_payment_link(*, uow: UnitOfWork, token: str) -> PaymentLink | None:
    """A link by its token, whatever its state, or None."""
    if not 0 < len(token) <= 64:
        return None
    return uow.session.scalars(select(PaymentLink).where(PaymentLink.token == token)).first()


def get_payment_link(*, uow: UnitOfWork, token: str) -> PaymentLink:
    """An open link; ``payment_link_paid`` (409) or ``payment_link_expired`` (410) otherwise."""
    link = _link_by_token(uow, token)
    _refuse_unpayable(link, utcnow())
    return link


def pay_payment_link(
    *,
    uow: UnitOfWork,
    providers: PaymentProviders,
    token: str,
    details: Mapping[str, Any],
    idempotency_key: str,
) -> Payment:
    """Pay an open link by card. A retry with the same key gets the same payment; a second
    payment of a paid link is refused (``payment_link_paid``) and never charged."""
    _check_key(idempotency_key)
    link = _link_by_token(uow, token, lock=True)

    def attempt() -> Payment:
        return _start(
            uow=uow,
            providers=providers,
            reference=link.reference,
            amount=link.amount,
            currency=link.currency,
            method=PaymentMethod.CARD,
            details=details,
            idempotency_key=idempotency_key,
            channel=link.channel,
            store_id=link.store_id,
            actor=None,
            provider=None,
            payment_link_id=link.id,
        )

    if _find_by_key(uow, link.reference, idempotency_key) is not None:
        return attempt()  # a retry: the same payment back, or idempotency_key_reused
    now = utcnow()
    _refuse_unpayable(link, now)
    if isinstance(details, Mapping):
        # Bad details are refused before the attempt still waiting is abandoned (and cancelled).
        providers.for_method(PaymentMethod.CARD).check_details(PaymentMethod.CARD, details)
    abandon_waiting_payments(
        uow=uow, providers=providers, reference=link.reference, payment_link_id=link.id
    )
    payment = attempt()
    if payment.status == PaymentStatus.CAPTURED:
        _mark_link_paid(uow, link.id, now)
    return payment


def abandon_waiting_payments(
    *,
    uow: UnitOfWork,
    providers: PaymentProviders,
    reference: str,
    payment_link_id: str | None = None,
) -> int:
    """Fail the attempts of a reference (or of one of its links) still waiting for 3-D Secure,
    so that a new attempt and an old one can never both capture. One conditional UPDATE per
    attempt: if the shopper's answer wins the race, the attempt stays captured and the caller
    sees it in what was paid. Returns how many were abandoned."""
    query = select(Payment).where(
        Payment.reference == reference,
        Payment.status == PaymentStatus.REQUIRES_ACTION.value,
    )
    if payment_link_id is not None:
        query = query.where(Payment.payment_link_id == payment_link_id)
    abandoned = 0
    for waiting in uow.session.scalars(query).all():
        if _transition(
            uow,
            waiting,
            to=PaymentStatus.FAILED,
            allowed_from=[PaymentStatus.REQUIRES_ACTION],
            next_action_url=None,
            failure_code="abandoned",
            failure_message="Replaced by a newer payment attempt.",
        ):
            abandoned += 1
            uow.record(_failed(waiting))
            provider = providers.find(waiting.provider)
            if provider is not None and waiting.provider_reference:
                provider.cancel(
                    provider_reference=waiting.provider_reference,
                    idempotency_key=_provider_key("cancel", waiting.id),
                )
    return abandoned


def _mark_link_paid(uow: UnitOfWork, link_id: str, now: datetime) -> None:
    statement = (
        update(PaymentLink)
        .where(PaymentLink.id == link_id, PaymentLink.state == PaymentLinkStatus.OPEN.value)
        .values(state=PaymentLinkStatus.PAID.value, paid_at=now)
        .execution_options(synchronize_session=False)
    )
    result = cast(CursorResult[Any], uow.session.execute(statement))
    if result.rowcount != 1:
        log.warning("a payment completed on a link already paid", extra={"link_id": link_id})
    link = uow.session.get(PaymentLink, link_id)
    if link is not None:
        uow.session.refresh(link)


# --- the test provider's card tokens ------------------------------------------------------------


def create_test_card_token(
    *, providers: PaymentProviders, number: str, exp_month: int, exp_year: int, cvc: str
) -> CardToken:
    """Exchange a test card for a token, as a processor's client library would."""
    sandbox = providers.find("test")
    if not isinstance(sandbox, SandboxCardProvider):
        raise NotFound(
            "the test payment provider is not enabled on this server",
            code="test_provider_disabled",
        )
    return sandbox.tokenize(
        number=number, exp_month=exp_month, exp_year=exp_year, cvc=cvc, now=utcnow()
    )


def payment_link_qr_svg(*, uow: UnitOfWork, token: str, base_url: str) -> bytes:
    """The QR code of an open link, as an SVG to print or show on a till's screen."""
    link = get_payment_link(uow=uow, token=token)
    code = segno.make_qr(f"{base_url.rstrip('/')}{link.url_path}", error="m")
    buffer = io.BytesIO()
    code.save(buffer, kind="svg", scale=10, border=4, title="Payer", xmldecl=False)
    return buffer.getvalue()
