"""Money as integer minor units plus an ISO 4217 currency, formatted for people with Babel."""

from __future__ import annotations

from dataclasses import dataclass

from babel.numbers import format_currency, get_currency_precision


@dataclass(frozen=True, slots=True)
class Money:
    amount: int  # minor units: cents for EUR
    currency: str = "EUR"

    def __post_init__(self) -> None:
        if len(self.currency) != 3 or not self.currency.isupper():
            raise ValueError(f"not an ISO 4217 currency code: {self.currency!r}")

    def format(self, locale: str = "fr_FR") -> str:
        return format_money(self.amount, self.currency, locale)


def format_money(amount: int, currency: str, locale: str = "fr_FR") -> str:
    """``format_money(4990, "EUR")`` -> ``'49,90 €'`` (with a narrow no-break space)."""
    digits = get_currency_precision(currency)
    return format_currency(amount / 10**digits, currency, locale=locale)
