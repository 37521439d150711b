"""Email templates: which exist, what each needs, and rendering them in French or English.

Each template is two Jinja2 files per language under ``templates/<lang>/``: ``<name>.txt`` (the
plain-text part; its ``{% set subject %}`` block is the subject) and ``<name>.html`` (the HTML
part, autoescaped, extending ``_base.html``). A missing context key fails at rendering, in the
caller's transaction, rather than sending a message with a hole in it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from parcours.core.errors import InvalidInput
from parcours.core.i18n import BABEL_LOCALES, DEFAULT, SUPPORTED
from parcours.core.money import Money, format_money

TEMPLATES_DIR = Path(__file__).parent / "templates"
DEFAULT_TIMEZONE = "Europe/Paris"
DEFAULT_CURRENCY = "EUR"
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    """The context keys a template needs, and those it may take (with their defaults)."""

    required: frozenset[str]
    optional: Mapping[str, Any] = field(default_factory=dict)
    #: Other names callers may use for a key (``fulfilment_summary`` for ``fulfilment``).
    aliases: Mapping[str, str] = field(default_factory=dict)


#: Every template shipped. Lines are mappings (or objects) with ``name``, ``quantity`` and, where
#: money is shown, ``amount``. Amounts are ``Money``, ``{"amount": 4990, "currency": "EUR"}``,
#: minor units (int, in ``currency``) or an already formatted string.
TEMPLATES: dict[str, TemplateSpec] = {
    "ready_for_pickup": TemplateSpec(
        required=frozenset(
            {
                "order_number",
                "pickup_code",
                "store_name",
                "store_address",
                "opening_hours",
                "lines",
                "order_url",
            }
        ),
        optional={"first_name": None, "collect_by": None},
    ),
    "order_confirmation": TemplateSpec(
        required=frozenset({"order_number", "lines", "total", "fulfilment"}),
        optional={"first_name": None, "order_url": None, "currency": DEFAULT_CURRENCY},
        aliases={"fulfilment_summary": "fulfilment"},
    ),
    "receipt": TemplateSpec(
        required=frozenset({"store_name", "lines", "total", "payment_method", "date"}),
        optional={
            "store_address": None,
            "receipt_number": None,
            "order_number": None,
            "currency": DEFAULT_CURRENCY,
            "timezone": DEFAULT_TIMEZONE,
        },
    ),
    "sign_in_code": TemplateSpec(
        required=frozenset({"code"}),
        optional={"valid_minutes": 10, "first_name": None},
        aliases={"minutes": "valid_minutes"},
    ),
    "order_refunded": TemplateSpec(
        required=frozenset({"order_number", "amount"}),
        optional={
            "first_name": None,
            "payment_method": None,
            "order_url": None,
            "currency": DEFAULT_CURRENCY,
        },
    ),
}


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def normalise_locale(locale: str | None) -> str:
    """``"en-GB"`` -> ``"en"``; anything we do not write in -> French."""
    primary = (locale or "").replace("_", "-").split("-")[0].strip().lower()
    return primary if primary in SUPPORTED else DEFAULT


# --- filters ---------------------------------------------------------------------------------


def _money(value: Any, locale: str, currency: str = DEFAULT_CURRENCY) -> str:
    if isinstance(value, str):
        return value  # formatted by the caller
    if isinstance(value, Money):
        return format_money(value.amount, value.currency, BABEL_LOCALES[locale])
    if isinstance(value, Mapping) and isinstance(value.get("amount"), int):
        code = str(value.get("currency") or currency)
        return format_money(value["amount"], code, BABEL_LOCALES[locale])
    if isinstance(value, int) and not isinstance(value, bool):
        return format_money(value, currency, BABEL_LOCALES[locale])
    raise InvalidInput(
        "an amount is Money, {amount, currency}, minor units or a formatted string",
        code="template_amount_invalid",
    )


def _moment(value: Any, locale: str, timezone: str = DEFAULT_TIMEZONE) -> str:
    if isinstance(value, datetime):
        zone = ZoneInfo(timezone)
        pattern = "d MMMM y 'à' HH:mm" if locale == "fr" else "d MMMM y 'at' HH:mm"
        return format_datetime(value, pattern, tzinfo=zone, locale=BABEL_LOCALES[locale])
    if isinstance(value, date):
        return format_date(value, "long", locale=BABEL_LOCALES[locale])
    return str(value)


def _lines_of(value: Any) -> list[str]:
    """An address or hours given as one string (lines split) or as a list of lines."""
    if isinstance(value, str):
        return [line.strip() for line in value.splitlines() if line.strip()]
    if isinstance(value, Sequence):
        return [str(line) for line in value]
    return [str(value)]


# --- environments ----------------------------------------------------------------------------


def _environment(*, html: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["lines_of"] = _lines_of
    return env


@cache
def _environments() -> tuple[Environment, Environment]:
    """Built on first use (nothing at import time); Jinja environments are thread-safe."""
    return _environment(html=False), _environment(html=True)


def _context(
    template: str, locale: str, given: Mapping[str, Any], shop_name: str
) -> dict[str, Any]:
    try:
        spec = TEMPLATES[template]
    except KeyError:
        raise InvalidInput(
            f"no email template {template!r}; known: {', '.join(sorted(TEMPLATES))}",
            code="unknown_template",
        ) from None
    context = dict(spec.optional)
    context.update(given)
    for alias, key in spec.aliases.items():
        if alias in given and key not in given:
            context[key] = given[alias]
    missing = sorted(spec.required - context.keys())
    if missing:
        raise InvalidInput(
            f"the {template} template needs: {', '.join(missing)}",
            code="template_context_missing",
            missing=missing,
        )
    currency = str(context.get("currency") or DEFAULT_CURRENCY)
    timezone = str(context.get("timezone") or DEFAULT_TIMEZONE)
    context.update(
        shop_name=shop_name,
        locale=locale,
        money=lambda value: _money(value, locale, currency),
        moment=lambda value: _moment(value, locale, timezone),
    )
    return context


def render_email(
    *, template: str, locale: str, context: Mapping[str, Any], shop_name: str
) -> RenderedEmail:
    """Subject, text and HTML of a template in a language (``fr`` unless ``en`` is asked)."""
    locale = normalise_locale(locale)
    values = _context(template, locale, context, shop_name)
    text_env, html_env = _environments()
    module = text_env.get_template(f"{locale}/{template}.txt").make_module(values)
    # A subject is one line: a newline in it would be a header injection.
    subject = _SPACES.sub(" ", str(getattr(module, "subject", ""))).strip()
    text = str(module).strip() + "\n"
    html = html_env.get_template(f"{locale}/{template}.html").render(values, subject=subject)
    return RenderedEmail(subject=subject[:300], text=text, html=html)
