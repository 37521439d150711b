"""Settings refuse unsafe defaults; logs never show personal data; ids sort; money formats."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from parcours.core.ids import has_prefix, new_id
from parcours.core.logs import JsonFormatter, redact
from parcours.core.money import Money, format_money
from parcours.core.settings import Environment, Settings


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="PARCOURS_SECRET_KEY"):
        Settings(environment=Environment.PRODUCTION)
    Settings(environment=Environment.PRODUCTION, secret_key="s" * 40)


def test_settings_read_parcours_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARCOURS_PORT", "9100")
    monkeypatch.setenv("PARCOURS_HOST", "0.0.0.0")
    settings = Settings()
    assert (settings.host, settings.port) == ("0.0.0.0", 9100)
    assert settings.base_url == "http://0.0.0.0:9100"


@pytest.mark.parametrize(
    "secret",
    ["marie.dupont@example.fr", "+33 6 12 34 56 78", "06.12.34.56.78", "0612345678"],
)
def test_personal_data_never_appears_in_clear_in_logs(secret: str) -> None:
    record = logging.LogRecord(
        "parcours.test", logging.INFO, __file__, 1, "customer %s signed in", (secret,), None
    )
    record.contact = secret
    line = JsonFormatter().format(record)
    assert secret not in line
    assert "<email:" in line or "<phone:" in line


def test_redaction_keeps_ids_and_amounts() -> None:
    text = "order ord_01jabcdefghjkmnpqrstvwxyz0 total 4990 at 2026-11-22"
    assert redact(text) == text


def test_ids_are_prefixed_and_sort_by_creation() -> None:
    ids = [new_id("cus") for _ in range(500)]  # many share a millisecond
    assert all(has_prefix(i, "cus") for i in ids)
    assert not has_prefix(ids[0], "ord")
    assert sorted(ids) == ids
    assert len(set(ids)) == len(ids)


def test_money_formats_the_french_way() -> None:
    assert format_money(4990, "EUR").replace("\u202f", " ").replace("\xa0", " ") == "49,90 €"
    assert Money(1999).format("en_GB") == "€19.99"
    with pytest.raises(ValueError, match="ISO 4217"):
        Money(100, "euro")
