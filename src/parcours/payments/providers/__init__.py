"""Payment providers and the registry an app builds once from its settings."""

from __future__ import annotations

import logging

from parcours.core.settings import Environment, Settings
from parcours.payments.providers.base import (
    ChargeOutcome,
    ChargeRequest,
    PaymentProvider,
    PaymentProviders,
    RefundOutcome,
)
from parcours.payments.providers.sandbox import SandboxCardProvider
from parcours.payments.providers.stripe import StripeProvider
from parcours.payments.providers.till import TillProvider

__all__ = [
    "ChargeOutcome",
    "ChargeRequest",
    "PaymentProvider",
    "PaymentProviders",
    "RefundOutcome",
    "SandboxCardProvider",
    "StripeProvider",
    "TillProvider",
    "build_providers",
]

log = logging.getLogger("parcours.payments")


def build_providers(settings: Settings) -> PaymentProviders:
    """The till always; Stripe when a key is set; the test provider outside production.

    In production the test provider is never registered, whatever ``payment_provider`` says:
    accepting test card numbers there would hand out goods for nothing. Card payments are then
    refused until Stripe is configured.
    """
    providers: list[PaymentProvider] = [TillProvider()]
    production = settings.environment is Environment.PRODUCTION
    if not production:
        providers.append(SandboxCardProvider(secret_key=settings.secret_key))
    if settings.stripe_api_key is not None:
        providers.append(
            StripeProvider(
                api_key=settings.stripe_api_key.get_secret_value(),
                webhook_secret=(
                    settings.stripe_webhook_secret.get_secret_value()
                    if settings.stripe_webhook_secret is not None
                    else None
                ),
                api_base=settings.stripe_api_base,
                return_url=settings.stripe_return_url,
            )
        )
    card_provider: str | None = settings.payment_provider
    if card_provider == "stripe" and settings.stripe_api_key is None:
        raise ValueError("PARCOURS_PAYMENT_PROVIDER=stripe needs PARCOURS_STRIPE_API_KEY")
    if card_provider == "test" and production:
        log.warning(
            "the test payment provider is disabled in production: set "
            "PARCOURS_PAYMENT_PROVIDER=stripe to take card payments"
        )
        card_provider = None
    return PaymentProviders(providers, card_provider=card_provider)
