"""Strict types at the API edge: a quantity is a JSON integer, a yes/no a JSON boolean, a time has
its offset, a currency is an ISO 4217 code in use. What a lenient parser would coerce ("1", true,
a time without zone, "ABC") is refused with 422 before any service sees it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from parcours.carts.schemas import CartLineCreate, CartLineUpdate
from parcours.catalog.schemas import ProductCreate
from parcours.core.money import currencies_in_use
from parcours.customers.schemas import ConsentChange, IdentifyRequest, MergeRequest
from parcours.inventory.schemas import ReservationCreate, StockAdjustmentCreate, TransferLineIn
from parcours.loyalty.schemas import PromoCodeCreate
from parcours.orders.schemas import PaymentIn, ReturnLineIn
from parcours.payments.schemas import PaymentLinkCreate, RefundCreate

_LINK = {"reference": "ord_1", "amount": 100, "currency": "EUR", "description": "Commande"}
_PROMO = {"code": "ETE", "kind": "amount", "value": 500}
_RESERVE = {"variant_id": "v", "location_id": "l", "reference": "c"}
_ADJUST = {"variant_id": "v", "location_id": "l", "reason": "r"}
_CONSENT = {"purpose": "marketing_email", "granted": True, "channel": "web", "wording_version": "1"}

#: (schema, a valid body, the field, what a lenient parser would have coerced)
CASES: list[tuple[type[BaseModel], dict[str, Any], str, Any]] = [
    (CartLineCreate, {"variant_id": "var_1"}, "quantity", "1"),
    (CartLineCreate, {"variant_id": "var_1"}, "quantity", True),
    (CartLineCreate, {"variant_id": "var_1"}, "quantity", 1.0),
    (CartLineUpdate, {}, "quantity", "2"),
    (CartLineUpdate, {}, "saved_for_later", "true"),
    (ReservationCreate, {**_RESERVE, "quantity": 1}, "quantity", True),
    (StockAdjustmentCreate, {**_ADJUST, "delta": -1}, "delta", "-1"),
    (TransferLineIn, {"variant_id": "v", "quantity": 3}, "quantity", "3"),
    (ReturnLineIn, {"line_id": "l", "quantity": 1}, "quantity", "1"),
    (PaymentIn, {"method": "cash"}, "tendered", "5000"),
    (RefundCreate, {"reason": "r", "amount": 100}, "amount", "100"),
    (PaymentLinkCreate, _LINK, "amount", "100"),
    (PromoCodeCreate, _PROMO, "value", "500"),
    (PromoCodeCreate, _PROMO, "active", "yes"),
    (IdentifyRequest, {"user_id": "u", "channel": "web"}, "email_verified", 1),
    (MergeRequest, {"other_id": "cus_1"}, "force", "true"),
    (ConsentChange, _CONSENT, "granted", "true"),
    (ConsentChange, _CONSENT, "at", "2026-03-01T10:00:00"),
    (ConsentChange, _CONSENT, "at", datetime(2026, 3, 1, 10)),
    (PaymentLinkCreate, _LINK, "currency", "ABC"),
    (PaymentLinkCreate, _LINK, "currency", "FRF"),
    (PromoCodeCreate, _PROMO, "currency", "XTS"),
    (ProductCreate, {"name": "Robe", "price_amount": 100}, "currency", "XXX"),
    (ProductCreate, {"name": "Robe", "price_amount": 100}, "currency", "eur"),
]


@pytest.mark.parametrize(
    ("schema", "valid", "field", "coercible"),
    CASES,
    ids=[f"{schema.__name__}.{field}={value!r}" for schema, _, field, value in CASES],
)
def test_request_schemas_refuse_what_a_lenient_parser_would_coerce(
    schema: type[BaseModel], valid: dict[str, Any], field: str, coercible: Any
) -> None:
    schema.model_validate(valid)  # the body is fine with the field as JSON gives it
    with pytest.raises(ValidationError) as refused:
        schema.model_validate({**valid, field: coercible})
    assert [error["loc"][0] for error in refused.value.errors()] == [field]


def test_the_json_natives_still_pass() -> None:
    assert CartLineCreate.model_validate({"variant_id": "v", "quantity": 3}).quantity == 3
    change = ConsentChange.model_validate({**_CONSENT, "at": "2026-03-01T10:00:00+01:00"})
    assert change.at is not None
    assert change.at.utcoffset() is not None
    aware = ConsentChange.model_validate({**_CONSENT, "at": datetime(2026, 3, 1, tzinfo=UTC)})
    assert aware.at == datetime(2026, 3, 1, tzinfo=UTC)
    assert PaymentLinkCreate.model_validate({**_LINK, "currency": "CHF"}).currency == "CHF"
    assert {"EUR", "GBP", "USD", "CHF", "JPY", "XOF"} <= currencies_in_use()
    assert not {"FRF", "DEM", "XTS", "XXX"} & currencies_in_use()


def test_a_consent_time_without_offset_is_a_422(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    answer = client.post(
        "/v1/customers/cus_unknown/consents",
        json={**_CONSENT, "at": "2026-03-01T10:00:00"},
        headers=secret_headers,
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["location"] == ["body", "at"]
