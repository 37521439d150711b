"""Card payments through Stripe, with the official ``stripe`` library.

A payment is one PaymentIntent created and confirmed in one call (``confirm=true``, automatic
capture) with the payment method the browser collected through Stripe.js (``pm_…``): card numbers
never reach this server. 3-D Secure leaves the intent in ``requires_action``; the shopper completes
it on Stripe's page (``return_url`` set) or with Stripe.js and the intent's client secret, and the
result arrives by webhook (``payment_intent.succeeded`` / ``payment_intent.payment_failed``).
Every call sends an ``Idempotency-Key`` derived from ours, so a retry never charges twice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import stripe
from stripe.params import PaymentIntentCreateParams

from parcours.core.errors import Conflict, InvalidInput
from parcours.payments.errors import InvalidSignature, ProviderUnavailable
from parcours.payments.models import PaymentMethod
from parcours.payments.providers.base import ChargeOutcome, ChargeRequest, RefundOutcome

log = logging.getLogger("parcours.payments.stripe")

_PAYMENT_METHOD = re.compile(r"^pm_[A-Za-z0-9_]{1,250}$")
#: The message of a decline code Stripe reports inside ``card_declined`` that says more.
_GENERIC_DECLINES = {None, "", "generic_decline"}


def _failure(error: Mapping[str, Any] | None, default: str) -> tuple[str, str | None]:
    """(failure_code, message) of a Stripe error object: the decline code when it says more."""
    error = error or {}
    decline = error.get("decline_code")
    code = decline if decline not in _GENERIC_DECLINES else error.get("code")
    message = error.get("message")
    return str(code or default), (str(message)[:500] if message else None)


def _card(intent: Mapping[str, Any]) -> dict[str, Any]:
    method = intent.get("payment_method")
    card = method.get("card") if isinstance(method, Mapping) else None
    if not isinstance(card, Mapping):
        return {}
    return {"card_brand": card.get("brand"), "card_last4": card.get("last4")}


def outcome_of(intent: Mapping[str, Any]) -> ChargeOutcome:
    """Our view of a PaymentIntent (as returned by the API or carried by an event)."""
    status = intent.get("status")
    common: dict[str, Any] = {"provider_reference": intent.get("id"), **_card(intent)}
    if status == "succeeded":
        return ChargeOutcome(status="captured", **common)
    if status == "requires_action":
        action = intent.get("next_action") or {}
        redirect = action.get("redirect_to_url") or {}
        return ChargeOutcome(
            status="requires_action",
            next_action_url=redirect.get("url"),
            client_secret=intent.get("client_secret"),
            **common,
        )
    if status in ("requires_payment_method", "canceled"):
        default = "canceled" if status == "canceled" else "payment_failed"
        code, message = _failure(intent.get("last_payment_error"), default)
        return ChargeOutcome(status="failed", failure_code=code, failure_message=message, **common)
    return ChargeOutcome(status="processing", **common)  # processing, requires_capture…


class StripeProvider:
    name = "stripe"
    methods = frozenset({PaymentMethod.CARD})

    def __init__(
        self,
        *,
        api_key: str,
        webhook_secret: str | None = None,
        api_base: str | None = None,
        return_url: str | None = None,
        max_network_retries: int = 2,
    ) -> None:
        self._api_key = api_key
        self.webhook_secret = webhook_secret
        self.return_url = return_url
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            max_network_retries=max_network_retries,
        )

    def check_details(self, method: PaymentMethod, details: Mapping[str, Any]) -> dict[str, Any]:
        payment_method = details.get("payment_method")
        if not isinstance(payment_method, str) or not _PAYMENT_METHOD.match(payment_method):
            raise InvalidInput(
                "a card payment with Stripe needs the payment method collected by Stripe.js "
                "('payment_method': 'pm_…')",
                code="invalid_payment_method",
            )
        return {"payment_method": payment_method}

    def authorise_and_capture(self, request: ChargeRequest) -> ChargeOutcome:
        # Only values that are the same on a retry: Stripe refuses a reused key with other params.
        params: PaymentIntentCreateParams = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            "payment_method": str(request.details["payment_method"]),
            "allowed_payment_method_types": ["card"],
            "confirm": True,
            "capture_method": "automatic",
            "metadata": {"parcours_reference": request.reference},
            "expand": ["payment_method"],
        }
        if self.return_url:
            params["return_url"] = self.return_url
        try:
            intent = self._client.v1.payment_intents.create(
                params,
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.CardError as exc:
            # A decline answers 402 with the error, and the failed intent inside it.
            body = exc.json_body if isinstance(exc.json_body, dict) else {}
            error = body.get("error") or {}
            code, message = _failure(error, "card_declined")
            failed = error.get("payment_intent") or {}
            return ChargeOutcome(
                status="failed",
                provider_reference=failed.get("id"),
                failure_code=code,
                failure_message=message,
                **_card(error),
            )
        except stripe.StripeError as exc:
            raise _refusal(exc) from None
        return outcome_of(intent.to_dict())

    def complete_action(
        self, *, provider_reference: str, succeeded: bool, idempotency_key: str
    ) -> ChargeOutcome:
        # Stripe ran the challenge: its intent, not the caller's word, says how it ended.
        try:
            intent = self._client.v1.payment_intents.retrieve(
                provider_reference, params={"expand": ["payment_method"]}
            )
        except stripe.StripeError as exc:
            raise _refusal(exc) from None
        return outcome_of(intent.to_dict())

    def refund(
        self,
        *,
        provider_reference: str | None,
        amount: int,
        currency: str,
        reason: str,
        idempotency_key: str,
    ) -> RefundOutcome:
        if not provider_reference:
            raise Conflict("this payment has no Stripe reference", code="payment_not_refundable")
        try:
            refund = self._client.v1.refunds.create(
                {
                    "payment_intent": provider_reference,
                    "amount": amount,
                    "reason": "requested_by_customer",
                    "metadata": {"parcours_reason": reason[:500]},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _refusal(exc) from None
        data = refund.to_dict()
        status = data.get("status")
        if status == "succeeded":
            return RefundOutcome(status="succeeded", provider_reference=data.get("id"))
        if status in ("failed", "canceled"):
            return RefundOutcome(
                status="failed",
                provider_reference=data.get("id"),
                failure_code=str(data.get("failure_reason") or "refund_failed"),
            )
        return RefundOutcome(status="pending", provider_reference=data.get("id"))

    def cancel(self, *, provider_reference: str, idempotency_key: str) -> None:
        try:
            self._client.v1.payment_intents.cancel(
                provider_reference, options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            # Already succeeded or failed: the webhook tells us which; nothing to undo here.
            log.warning(
                "stripe refused to cancel a payment intent",
                extra={"provider_reference": provider_reference, "error": type(exc).__name__},
            )

    def parse_webhook(self, *, payload: bytes, signature_header: str) -> dict[str, Any]:
        """The event, once its signature proves it is Stripe's and recent (5 minutes)."""
        if not self.webhook_secret:
            raise Conflict(
                "PARCOURS_STRIPE_WEBHOOK_SECRET is not set: webhooks cannot be verified",
                code="webhook_secret_missing",
            )
        try:
            event = stripe.Webhook.construct_event(
                payload, signature_header, self.webhook_secret, api_key=self._api_key
            )
        except (stripe.SignatureVerificationError, UnicodeDecodeError):
            raise InvalidSignature(
                "the Stripe-Signature header does not match this payload, or is too old"
            ) from None
        except ValueError:
            raise InvalidInput("the webhook payload is not JSON", code="invalid_payload") from None
        data: dict[str, Any] = event.to_dict()
        return data


def _refusal(exc: stripe.StripeError) -> Exception:
    """A Stripe error as one of ours; the log keeps Stripe's request id, never the parameters."""
    log.warning(
        "stripe refused a call",
        extra={
            "error": type(exc).__name__,
            "code": exc.code,
            "http_status": exc.http_status,
            "stripe_request_id": exc.request_id,
        },
    )
    if isinstance(exc, stripe.IdempotencyError):
        return Conflict(
            "Stripe saw this idempotency key with other parameters",
            code="idempotency_key_reused",
        )
    if isinstance(exc, stripe.InvalidRequestError):
        if exc.param == "payment_method" or exc.code == "resource_missing":
            return InvalidInput(
                "Stripe does not know this payment method", code="invalid_payment_method"
            )
        return InvalidInput(
            f"Stripe refused the request ({exc.code or 'invalid_request'})",
            code="payment_provider_refused",
        )
    return ProviderUnavailable("Stripe could not be reached or failed; retry with the same key")
