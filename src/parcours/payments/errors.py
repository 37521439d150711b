"""Refusals particular to payments, beside the shared ones of ``core/errors.py``."""

from __future__ import annotations

from parcours.core.errors import DomainError


class Gone(DomainError):
    """It existed, and is no longer usable (an expired payment link)."""

    status, code, title = 410, "gone", "Gone"


class ProviderUnavailable(DomainError):
    """The provider could not be reached or failed: nothing was recorded, retry with the same
    Idempotency-Key (the provider's own idempotency makes the retry safe)."""

    status, code, title = 502, "payment_provider_unavailable", "Payment provider unavailable"


class InvalidSignature(DomainError):
    """A webhook whose signature does not prove it came from the provider."""

    status, code, title = 400, "invalid_signature", "Invalid signature"
