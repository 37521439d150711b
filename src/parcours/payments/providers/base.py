"""What a payment provider does for us, and the registry of those an app uses.

Every call carries an idempotency key derived from ours, so that a retry after a crash or a
timeout finds the charge (or refund) the provider already made instead of making another.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from parcours.core.errors import Conflict, InvalidInput
from parcours.payments.models import PaymentMethod

ChargeStatus = Literal["captured", "requires_action", "processing", "failed"]
RefundOutcomeStatus = Literal["succeeded", "pending", "failed"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargeRequest:
    payment_id: str
    reference: str
    amount: int
    currency: str
    method: PaymentMethod
    details: Mapping[str, Any]  # as returned by the provider's ``check_details``
    idempotency_key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargeOutcome:
    """What the provider answered. Card facts are the brand and last four digits only."""

    status: ChargeStatus
    provider_reference: str | None = None
    card_brand: str | None = None
    card_last4: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    #: Where the shopper completes 3-D Secure; ``None``: the service points to our challenge.
    next_action_url: str | None = None
    client_secret: str | None = None
    tendered_amount: int | None = None
    change_due: int | None = None
    terminal_reference: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundOutcome:
    status: RefundOutcomeStatus
    provider_reference: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None


class PaymentProvider(Protocol):
    """A way to take money. Implementations: the test provider, the till, Stripe."""

    name: str
    methods: frozenset[PaymentMethod]

    def check_details(self, method: PaymentMethod, details: Mapping[str, Any]) -> dict[str, Any]:
        """The details this provider needs, cleaned; raise ``InvalidInput`` before any charge."""
        ...

    def authorise_and_capture(self, request: ChargeRequest) -> ChargeOutcome:
        """Authorise and capture in one step (the shop ships or hands over at once)."""
        ...

    def complete_action(
        self, *, provider_reference: str, succeeded: bool, idempotency_key: str
    ) -> ChargeOutcome:
        """The outcome once the shopper has answered the 3-D Secure challenge."""
        ...

    def refund(
        self,
        *,
        provider_reference: str | None,
        amount: int,
        currency: str,
        reason: str,
        idempotency_key: str,
    ) -> RefundOutcome: ...

    def cancel(self, *, provider_reference: str, idempotency_key: str) -> None:
        """Give up a payment still waiting for the shopper, so it can never complete."""
        ...


class PaymentProviders:
    """The providers of one app, built once from the settings (see ``build_providers``)."""

    def __init__(self, providers: Iterable[PaymentProvider], *, card_provider: str | None) -> None:
        self._by_name = {provider.name: provider for provider in providers}
        self.card_provider = card_provider

    def get(self, name: str) -> PaymentProvider:
        try:
            return self._by_name[name]
        except KeyError:
            raise Conflict(
                f"the payment provider {name!r} is not configured on this server",
                code="payment_provider_unavailable",
            ) from None

    def find(self, name: str) -> PaymentProvider | None:
        return self._by_name.get(name)

    def for_method(self, method: PaymentMethod, provider: str | None = None) -> PaymentProvider:
        """Who takes this method: the one asked for, else the till or the card provider."""
        if provider is None:
            if method is PaymentMethod.CARD:
                if self.card_provider is None:
                    raise Conflict(
                        "no card payment provider is configured on this server",
                        code="payment_provider_unavailable",
                    )
                provider = self.card_provider
            else:
                provider = "till"
        chosen = self.get(provider)
        if method not in chosen.methods:
            raise InvalidInput(
                f"the provider {provider!r} does not take {method.value} payments",
                code="unsupported_payment_method",
            )
        return chosen

    @property
    def names(self) -> list[str]:
        return sorted(self._by_name)
