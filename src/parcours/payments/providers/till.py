"""Payments at the till: cash, and the store's own card terminal.

Nothing is called: the money is already in the drawer or on the terminal's slip when the associate
records it, so both are captured at once. Cash records what was tendered and the change due; the
terminal records the slip's reference, which is what reconciles the day's takings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parcours.core.errors import InvalidInput
from parcours.payments.models import PaymentMethod
from parcours.payments.providers.base import ChargeOutcome, ChargeRequest, RefundOutcome

MAX_TENDER = 1_000_000_000


class TillProvider:
    name = "till"
    methods = frozenset({PaymentMethod.CASH, PaymentMethod.CARD_TERMINAL})

    def check_details(self, method: PaymentMethod, details: Mapping[str, Any]) -> dict[str, Any]:
        if method is PaymentMethod.CASH:
            tendered = details.get("tendered")
            if isinstance(tendered, bool) or not isinstance(tendered, int):
                raise InvalidInput(
                    "a cash payment needs the amount tendered ('tendered', in minor units)",
                    code="tendered_missing",
                )
            if not 0 < tendered <= MAX_TENDER:
                raise InvalidInput("the amount tendered is out of range", code="invalid_tendered")
            return {"tendered": tendered}
        reference = details.get("terminal_reference")
        if not isinstance(reference, str) or not reference.strip():
            raise InvalidInput(
                "a card terminal payment needs the terminal's reference ('terminal_reference')",
                code="terminal_reference_missing",
            )
        if len(reference.strip()) > 80:
            raise InvalidInput(
                "the terminal reference is at most 80 characters", code="invalid_terminal_reference"
            )
        return {"terminal_reference": reference.strip()}

    def authorise_and_capture(self, request: ChargeRequest) -> ChargeOutcome:
        if request.method is PaymentMethod.CASH:
            tendered = int(request.details["tendered"])
            if tendered < request.amount:
                raise InvalidInput(
                    "the cash tendered does not cover the amount",
                    code="insufficient_tender",
                    amount=request.amount,
                    tendered=tendered,
                )
            return ChargeOutcome(
                status="captured", tendered_amount=tendered, change_due=tendered - request.amount
            )
        reference = str(request.details["terminal_reference"])
        return ChargeOutcome(
            status="captured", provider_reference=reference, terminal_reference=reference
        )

    def complete_action(
        self, *, provider_reference: str, succeeded: bool, idempotency_key: str
    ) -> ChargeOutcome:
        raise InvalidInput("till payments never wait for an action", code="no_action_pending")

    def refund(
        self,
        *,
        provider_reference: str | None,
        amount: int,
        currency: str,
        reason: str,
        idempotency_key: str,
    ) -> RefundOutcome:
        # Cash goes back from the drawer, or the associate refunds on the terminal: recorded here.
        return RefundOutcome(status="succeeded")

    def cancel(self, *, provider_reference: str, idempotency_key: str) -> None:
        return None
