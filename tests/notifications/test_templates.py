"""Every template renders in French and English, with a subject and both parts; the HTML part
escapes what customers or staff typed; amounts and dates read as people expect."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from parcours.core.errors import InvalidInput
from parcours.core.money import Money
from parcours.notifications.rendering import TEMPLATES, normalise_locale, render_email

from .conftest import READY

LINES = [
    {"name": "Pull en laine", "quantity": 1, "amount": {"amount": 4990, "currency": "EUR"}},
    {"name": "Bonnet", "quantity": 2, "amount": Money(2400, "EUR")},
]

CONTEXTS: dict[str, dict[str, Any]] = {
    "ready_for_pickup": READY,
    "order_confirmation": {
        "order_number": "PAR-1042",
        "lines": LINES,
        "total": 7390,
        "fulfilment": "Retrait en magasin à Parcours Rivoli, prêt sous 2 heures",
    },
    "receipt": {
        "store_name": "Parcours Rivoli",
        "lines": LINES,
        "total": Money(7390, "EUR"),
        "payment_method": "Carte bancaire",
        "date": datetime(2026, 3, 2, 9, 5, tzinfo=UTC),
    },
    "sign_in_code": {"code": "493021", "valid_minutes": 15},
    "order_refunded": {"order_number": "PAR-1042", "amount": Money(4990, "EUR")},
}


def test_every_shipped_template_has_a_context_in_these_tests() -> None:
    assert set(CONTEXTS) == set(TEMPLATES)


@pytest.mark.parametrize("template", sorted(TEMPLATES))
@pytest.mark.parametrize("locale", ["fr", "en"])
def test_each_template_renders_a_subject_a_text_and_an_html_part(
    template: str, locale: str
) -> None:
    email = render_email(
        template=template, locale=locale, context=CONTEXTS[template], shop_name="Maison Lumière"
    )
    assert email.subject
    assert "\n" not in email.subject
    assert "Maison Lumière" in email.text  # signed by the shop
    assert email.html.startswith("<!doctype html>")
    assert f'<html lang="{locale}">' in email.html
    assert "{{" not in email.text + email.html
    signature = "L'équipe Maison Lumière" if locale == "fr" else "The Maison Lumière team"
    assert signature in email.text


def test_amounts_and_dates_follow_the_language() -> None:
    fr = render_email(
        template="receipt", locale="fr", context=CONTEXTS["receipt"], shop_name="Parcours"
    )
    en = render_email(
        template="receipt", locale="en", context=CONTEXTS["receipt"], shop_name="Parcours"
    )
    assert "49,90\u00a0€" in fr.text
    assert "Total : 73,90\u00a0€" in fr.text
    assert "2 mars 2026 à 10:05" in fr.text  # UTC 09:05 is 10:05 in Paris
    assert "€49.90" in en.text
    assert "Total: €73.90" in en.text
    assert "2 March 2026 at 10:05" in en.text


def test_amounts_may_come_formatted_by_the_caller() -> None:
    email = render_email(
        template="order_refunded",
        locale="fr",
        context={"order_number": "PAR-7", "amount": "12,00 €"},
        shop_name="Parcours",
    )
    assert "remboursé 12,00 € pour votre commande PAR-7" in email.text


def test_html_escapes_what_people_typed_and_text_keeps_it_as_written() -> None:
    context = {**READY, "lines": [{"name": "<script>alert(1)</script> & co", "quantity": 1}]}
    email = render_email(
        template="ready_for_pickup", locale="fr", context=context, shop_name="Parcours"
    )
    assert "<script>" not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in email.html
    assert "1 × <script>alert(1)</script> & co" in email.text


def test_a_missing_context_key_is_refused_with_its_name() -> None:
    context = {k: v for k, v in READY.items() if k != "pickup_code"}
    with pytest.raises(InvalidInput) as refused:
        render_email(
            template="ready_for_pickup", locale="fr", context=context, shop_name="Parcours"
        )
    assert refused.value.code == "template_context_missing"
    assert "pickup_code" in refused.value.detail


def test_an_unknown_template_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        render_email(template="newsletter", locale="fr", context={}, shop_name="Parcours")
    assert refused.value.code == "unknown_template"


def test_the_fulfilment_summary_may_be_named_either_way() -> None:
    context = {**CONTEXTS["order_confirmation"]}
    context["fulfilment_summary"] = context.pop("fulfilment")
    email = render_email(
        template="order_confirmation", locale="en", context=context, shop_name="Parcours"
    )
    assert "Retrait en magasin à Parcours Rivoli" in email.text


@pytest.mark.parametrize(
    ("given", "expected"),
    [("fr", "fr"), ("en", "en"), ("en-GB", "en"), ("EN_us", "en"), ("de", "fr"), ("", "fr")],
)
def test_languages_we_do_not_write_in_fall_back_to_french(given: str, expected: str) -> None:
    assert normalise_locale(given) == expected


def test_a_subject_never_carries_a_line_break() -> None:
    context = {**READY, "store_name": "Rivoli\r\nBcc: everyone@example.com"}
    email = render_email(
        template="ready_for_pickup", locale="fr", context=context, shop_name="Parcours"
    )
    assert "\r" not in email.subject
    assert "\n" not in email.subject


def test_a_sign_in_code_says_how_long_it_is_valid_whichever_name_is_used() -> None:
    for context in ({"code": "493021", "valid_minutes": 15}, {"code": "493021", "minutes": 15}):
        email = render_email(
            template="sign_in_code", locale="fr", context=context, shop_name="Parcours"
        )
        assert "Il est valable 15 minutes." in email.text


def test_an_empty_order_link_is_left_out() -> None:
    email = render_email(
        template="ready_for_pickup",
        locale="en",
        context={**READY, "order_url": ""},
        shop_name="Parcours",
    )
    assert "Follow your order" not in email.text
    assert "Follow my order" not in email.html


@pytest.mark.parametrize("template", ["receipt", "order_confirmation"])
def test_a_promo_code_discount_shows_as_its_own_line(template: str) -> None:
    context = {**CONTEXTS[template], "total": 6651, "discount": 739, "promo_code": "BIENVENUE10"}
    fr = render_email(template=template, locale="fr", context=context, shop_name="Parcours")
    en = render_email(template=template, locale="en", context=context, shop_name="Parcours")
    assert "Remise (BIENVENUE10) : −7,39\u00a0€" in fr.text
    assert "Total : 66,51\u00a0€" in fr.text
    assert "Discount (BIENVENUE10): −€7.39" in en.text
    assert "−7,39\u00a0€" in fr.html
    without = render_email(
        template=template, locale="fr", context=CONTEXTS[template], shop_name="Parcours"
    )
    assert "Remise" not in without.text + without.html
