"""Money as integer minor units plus an ISO 4217 currency, formatted for people with Babel."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from babel.core import get_global
from babel.numbers import format_currency, get_currency_precision, get_territory_currencies
from pydantic import AfterValidator, Field, StringConstraints


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


@functools.cache
def currencies_in_use() -> frozenset[str]:
    """ISO 4217 codes that are legal tender somewhere today (CLDR's data, through Babel): not
    withdrawn ones (FRF), nor the codes for testing (XTS) or "no currency" (XXX)."""
    today = date.today()
    return frozenset(
        code
        for territory in get_global("territory_currencies")
        for code in get_territory_currencies(territory, start_date=today, tender=True)
    )


def check_currency(value: str) -> str:
    """A currency a price or a payment can be in: an ISO 4217 code in use, in capitals."""
    if value not in currencies_in_use():
        raise ValueError("a currency is an ISO 4217 code in use, in capitals: EUR, CHF, GBP…")
    return value


#: A currency at the API edge: refused with 422 unless :func:`check_currency` accepts it.
CurrencyCode = Annotated[
    str,
    StringConstraints(min_length=3, max_length=3),
    AfterValidator(check_currency),
    Field(description="ISO 4217 code in use, upper case", examples=["EUR"]),
]
