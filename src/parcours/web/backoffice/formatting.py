"""Figures as a manager reads them, in the page's language: "1 234,5 €", "12,5 %", "2 h 05".

The tables of a result carry raw values (minor units, shares from 0 to 1, seconds) under stable
column ids; the CSV export keeps them raw, the pages format them here, by what the column holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from babel import Locale
from babel.numbers import (
    format_currency,
    format_decimal,
    format_percent,
    get_currency_precision,
)

from parcours.core.i18n import translate
from parcours.core.money import format_money

#: Columns (or measures of a measure/value table) that hold a share from 0 to 1.
PERCENT = frozenset(
    {
        "conversion",
        "step_conversion",
        "to_next",
        "retained",
        "retained_low",
        "retained_high",
        "share_after_research",
        "omnichannel_share",
        "research_online_share",
        "converted_share",
    }
)
#: Columns that hold money in minor units.
MONEY = frozenset(
    {
        "revenue",
        "online_revenue",
        "store_revenue",
        "revenue_after_research",
        "addon_revenue",
        "spend",
        "spend_low",
        "spend_high",
        "basket",
        "basket_low",
        "basket_high",
        "online_spend",
        "online_spend_low",
        "online_spend_high",
        "store_spend",
        "store_spend_low",
        "store_spend_high",
        "lost_sales",
    }
)
#: Columns that hold a duration in seconds.
DURATION = frozenset({"median_seconds", "median_seconds_to_next", "wait_seconds"})


@dataclass(frozen=True, slots=True)
class Formatter:
    """Formats figures for one language; templates get it as ``fmt``."""

    lang: str
    babel: str
    currency: str = "EUR"

    def integer(self, value: int | float | None) -> str:
        if value is None:
            return "–"
        return format_decimal(round(value), locale=self.babel)

    def decimal(self, value: float | None, digits: int = 1) -> str:
        if value is None:
            return "–"
        pattern = "#,##0." + "0" * digits if digits else "#,##0"
        return format_decimal(value, format=pattern, locale=self.babel)

    def percent(self, value: float | None, digits: int = 1) -> str:
        if value is None:
            return "–"
        # French puts a no-break space before the sign ("12,5 %"), English none ("12.5%").
        sign = "%" if self.lang == "en" else "\u00a0%"
        pattern = ("#,##0." + "0" * digits if digits else "#,##0") + sign
        return format_percent(value, format=pattern, locale=self.babel)

    def signed_percent(self, value: float | None, digits: int = 1) -> str:
        """An uplift: "+10,0 %" or "−4,0 %"."""
        if value is None:
            return "–"
        text = self.percent(abs(value), digits)
        return ("+" if value >= 0 else "−") + text

    def money(self, minor: int | float | None, currency: str | None = None) -> str:
        if minor is None:
            return "–"
        return format_money(round(minor), currency or self.currency, self.babel)

    def euros(self, minor: int | float | None, currency: str | None = None) -> str:
        """Whole units for headline figures ("5 484 011 €"): cents there are noise."""
        if minor is None:
            return "–"
        code = currency or self.currency
        major = round(minor / 10 ** get_currency_precision(code))
        pattern = Locale.parse(self.babel).currency_formats["standard"].pattern
        whole = pattern.split(";")[0].replace(".00", "")
        return format_currency(major, code, format=whole, locale=self.babel, currency_digits=False)

    def duration(self, seconds: float | None) -> str:
        """Seconds to days, hours and minutes: "45 s", "12 min", "2 h 05", "3,5 j"."""
        if seconds is None:
            return "–"
        if seconds < 60:
            return translate(self.lang, "backoffice.unit.seconds", n=self.integer(seconds))
        minutes = seconds / 60
        if minutes < 60:
            return translate(self.lang, "backoffice.unit.minutes", n=self.integer(minutes))
        hours = minutes / 60
        if hours < 48:
            whole = int(hours)
            rest = round((hours - whole) * 60)
            if rest == 60:
                whole, rest = whole + 1, 0
            return translate(self.lang, "backoffice.unit.hours", h=whole, m=f"{rest:02d}")
        return translate(self.lang, "backoffice.unit.days", n=self.decimal(hours / 24, 1))

    def cell(self, column: str, value: Any, *, whole: bool = False) -> str:
        """A table cell by what its column holds; text as it is."""
        if value is None:
            return "–"
        if isinstance(value, bool):
            return translate(self.lang, "backoffice.yes" if value else "backoffice.no")
        if isinstance(value, int | float):
            if column in PERCENT or column.startswith("month_"):
                return self.percent(value)
            if column in MONEY:
                return self.euros(value) if whole else self.money(value)
            if column in DURATION:
                return self.duration(value)
            if isinstance(value, int):
                return self.integer(value)
            return self.decimal(value, 2)
        return str(value)

    def label(self, group: str, value: Any) -> str:
        """A stable id's words (a stage, a segment, a column); the id itself when none."""
        if value is None:
            return translate(self.lang, "backoffice.none")
        message_id = f"backoffice.{group}.{value}"
        text = translate(self.lang, message_id)
        return str(value) if text == message_id else text

    def touch(self, text: str) -> str:
        """A path's touch in words: "online:view" → "en ligne · vue"; a Sankey node
        "2. online · view" → "2. en ligne · vue". Unknown parts stay as they are."""
        number, dot, rest = text.partition(". ")
        if not (dot and number.isdigit()):
            number, rest = "", text
        for separator in (" · ", ":"):
            place, found, kind = rest.partition(separator)
            if found:
                words = f"{self.label('touch_place', place)} · {self.label('touch', kind)}"
                return f"{number}. {words}" if number else words
        return text

    def path(self, text: str) -> str:
        """A path of the paths table: "online:search > store:purchase" in words."""
        return " → ".join(self.touch(part.strip()) for part in text.split(" > "))

    def column(self, column: str) -> str:
        """A column id's header; ``step_3`` and ``month_2`` are numbered."""
        for prefix in ("step_", "month_"):
            if column.startswith(prefix) and column[len(prefix) :].isdigit():
                key = f"backoffice.col.{prefix}n"
                return translate(self.lang, key, n=column[len(prefix) :])
        return self.label("col", column)

    def chart(self, data: dict[str, Any], label_group: str | None = None) -> dict[str, Any]:
        """A chart's data with its words: labels translated with ``label_group`` (stable ids
        otherwise shown as they are), each series named by ``backoffice.series.<key>``."""
        out = dict(data)
        if label_group and "labels" in data:
            out["labels"] = [self.label(label_group, value) for value in data["labels"]]
        if "series" in data:
            out["series"] = [
                {**series, "label": self.label("series", series["key"])}
                for series in data["series"]
            ]
        if "links" in data:  # a Sankey: its nodes are path touches
            out["links"] = [
                {**link, "from": self.touch(link["from"]), "to": self.touch(link["to"])}
                for link in data["links"]
            ]
        out["currency"] = self.currency
        return out
