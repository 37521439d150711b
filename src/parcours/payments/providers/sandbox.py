"""The test provider: a card processor simulated with Stripe's documented test card numbers.

A card is first exchanged for a token (``POST /v1/payments/test-provider/tokens``), as with a real
processor, and payments carry only the token. The token is sealed, not stored: it holds the brand,
the last four digits, the expiry and the outcome the number implies, signed with the server's
secret, and never the number or the CVC. Being stateless, the provider works the same across
processes, and is idempotent by construction: the same idempotency key gives the same charge
reference, the same card the same outcome.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from parcours.core.errors import InvalidInput
from parcours.payments.models import PaymentMethod
from parcours.payments.providers.base import ChargeOutcome, ChargeRequest, RefundOutcome

SUCCEED = "succeed"
REQUIRE_3DS = "require_3ds"


@dataclass(frozen=True, slots=True)
class TestCard:
    brand: str
    outcome: str  # SUCCEED, REQUIRE_3DS, or the decline code
    __test__ = False  # not a pytest test class, whatever imports it


#: Stripe's test numbers (https://docs.stripe.com/testing), with the outcome each one triggers.
TEST_CARDS: dict[str, TestCard] = {
    "4242424242424242": TestCard("visa", SUCCEED),
    "5555555555554444": TestCard("mastercard", SUCCEED),
    "378282246310005": TestCard("amex", SUCCEED),
    "4000000000000002": TestCard("visa", "card_declined"),
    "4000000000009995": TestCard("visa", "insufficient_funds"),
    "4000000000000069": TestCard("visa", "expired_card"),
    "4000000000000127": TestCard("visa", "incorrect_cvc"),
    "4000000000003220": TestCard("visa", REQUIRE_3DS),
}

#: Messages as a processor words them; shops translate by ``failure_code``.
DECLINE_MESSAGES = {
    "card_declined": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "authentication_failed": "The 3-D Secure authentication failed.",
    "live_card_in_test_mode": "Your card was declined: this server takes test cards only.",
}


@dataclass(frozen=True, slots=True)
class CardToken:
    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


def luhn_valid(digits: str) -> bool:
    """The checksum every card number carries (ISO/IEC 7812): catches most typing errors."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def brand_of(digits: str) -> str:
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in {"34", "37"}:
        return "amex"
    if 51 <= int(digits[:2]) <= 55 or 2221 <= int(digits[:4]) <= 2720:
        return "mastercard"
    if digits.startswith(("6011", "65")):
        return "discover"
    return "unknown"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SandboxCardProvider:
    """Card payments against test numbers; ``charge_attempts`` counts real (non-replayed) calls."""

    name = "test"
    methods = frozenset({PaymentMethod.CARD})

    def __init__(self, *, secret_key: str) -> None:
        self._key = hmac.new(
            secret_key.encode(), b"parcours.payments.test-card-token", hashlib.sha256
        ).digest()
        self._lock = threading.Lock()
        self.charge_attempts = 0

    # --- tokens --------------------------------------------------------------------------------

    def tokenize(
        self, *, number: str, exp_month: int, exp_year: int, cvc: str, now: datetime
    ) -> CardToken:
        """Check a card as a processor would and seal what payments need into a token.

        Error messages never repeat the number: they say what is wrong, not what was sent.
        """
        digits = "".join(number.split())
        if not digits.isdigit() or not 12 <= len(digits) <= 19:
            raise InvalidInput("the card number is not a valid card number", code="invalid_number")
        if not luhn_valid(digits):
            raise InvalidInput("the card number is incorrect", code="incorrect_number")
        if not 1 <= exp_month <= 12:
            raise InvalidInput("the expiry month is invalid", code="invalid_expiry_month")
        if exp_year < now.year or exp_year > now.year + 50:
            raise InvalidInput("the expiry year is invalid", code="invalid_expiry_year")
        if (exp_year, exp_month) < (now.year, now.month):
            raise InvalidInput("the card has expired", code="invalid_expiry_month")
        if not (cvc.isdigit() and len(cvc) in (3, 4)):
            raise InvalidInput("the security code is invalid", code="invalid_cvc")
        known = TEST_CARDS.get(digits)
        card = known or TestCard(brand_of(digits), "live_card_in_test_mode")
        last4 = digits[-4:]
        body = f"{card.brand}|{last4}|{exp_month}|{exp_year}|{card.outcome}|{secrets.token_hex(8)}"
        sealed = _b64(body.encode())
        token = f"tok_{sealed}.{self._sign(sealed)}"
        return CardToken(
            token=token, brand=card.brand, last4=last4, exp_month=exp_month, exp_year=exp_year
        )

    def _sign(self, sealed: str) -> str:
        return _b64(hmac.new(self._key, sealed.encode(), hashlib.sha256).digest()[:18])

    def _open(self, token: str) -> tuple[str, str, str]:
        """(brand, last4, outcome) of a token we issued, else ``invalid_card_token``."""
        refused = InvalidInput("this card token is not one we issued", code="invalid_card_token")
        sealed, dot, signature = token.removeprefix("tok_").partition(".")
        if not token.startswith("tok_") or not dot:
            raise refused
        if not hmac.compare_digest(signature, self._sign(sealed)):
            raise refused
        try:
            brand, last4, _month, _year, outcome, _nonce = _unb64(sealed).decode().split("|")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise refused from None
        return brand, last4, outcome

    # --- the provider interface ----------------------------------------------------------------

    def check_details(self, method: PaymentMethod, details: Mapping[str, Any]) -> dict[str, Any]:
        token = details.get("token")
        if not isinstance(token, str) or not token:
            raise InvalidInput(
                "a card payment with the test provider needs a card token ('token': 'tok_…')",
                code="card_token_missing",
            )
        if len(token) > 255:
            raise InvalidInput("this card token is not one we issued", code="invalid_card_token")
        self._open(token)
        return {"token": token}

    def authorise_and_capture(self, request: ChargeRequest) -> ChargeOutcome:
        with self._lock:
            self.charge_attempts += 1
        brand, last4, outcome = self._open(str(request.details["token"]))
        reference = "tp_ch_" + hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:24]
        if outcome in (SUCCEED, REQUIRE_3DS):
            return ChargeOutcome(
                status="captured" if outcome == SUCCEED else "requires_action",
                provider_reference=reference,
                card_brand=brand,
                card_last4=last4,
            )
        return ChargeOutcome(
            status="failed",
            provider_reference=reference,
            card_brand=brand,
            card_last4=last4,
            failure_code=outcome,
            failure_message=DECLINE_MESSAGES.get(outcome, DECLINE_MESSAGES["card_declined"]),
        )

    def complete_action(
        self, *, provider_reference: str, succeeded: bool, idempotency_key: str
    ) -> ChargeOutcome:
        if succeeded:
            return ChargeOutcome(status="captured", provider_reference=provider_reference)
        return ChargeOutcome(
            status="failed",
            provider_reference=provider_reference,
            failure_code="authentication_failed",
            failure_message=DECLINE_MESSAGES["authentication_failed"],
        )

    def refund(
        self,
        *,
        provider_reference: str | None,
        amount: int,
        currency: str,
        reason: str,
        idempotency_key: str,
    ) -> RefundOutcome:
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        return RefundOutcome(status="succeeded", provider_reference=f"tp_re_{digest}")

    def cancel(self, *, provider_reference: str, idempotency_key: str) -> None:
        return None
