"""Card payments with the test provider: what each of Stripe's test numbers does, 3-D Secure,
idempotency, and what the orders context reads back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from parcours.core.errors import Conflict, InvalidInput
from parcours.core.settings import Environment, Settings
from parcours.core.uow import UnitOfWork
from parcours.payments import service
from parcours.payments.models import Payment
from parcours.payments.providers import PaymentProviders, SandboxCardProvider, build_providers

VISA = "4242424242424242"
DECLINED = "4000000000000002"
INSUFFICIENT_FUNDS = "4000000000009995"
EXPIRED = "4000000000000069"
THREE_D_SECURE = "4000000000003220"

Outbox = Callable[[str], list[dict[str, Any]]]
Pay = Callable[..., Payment]


def test_a_good_card_is_captured_at_once(pay: Pay, uow: UnitOfWork, outbox: Outbox) -> None:
    payment = pay(VISA, store_id="sto_1", channel="kiosk")

    assert payment.id.startswith("pay_")
    assert (payment.status, payment.method, payment.provider) == ("captured", "card", "test")
    assert (payment.card_brand, payment.card_last4) == ("visa", "4242")
    assert payment.failure_code is None
    assert payment.next_action_url is None
    assert payment.captured_at is not None
    assert service.captured_total(uow=uow, reference="ord_1") == 4990
    assert outbox("payments.payment_captured") == [
        {
            "payment_id": payment.id,
            "reference": "ord_1",
            "amount": 4990,
            "currency": "EUR",
            "method": "card",
            "channel": "kiosk",
            "store_id": "sto_1",
        }
    ]


@pytest.mark.parametrize(
    ("number", "code"),
    [
        (DECLINED, "card_declined"),
        (INSUFFICIENT_FUNDS, "insufficient_funds"),
        (EXPIRED, "expired_card"),
    ],
)
def test_declined_cards_fail_with_their_reason(
    pay: Pay, uow: UnitOfWork, outbox: Outbox, number: str, code: str
) -> None:
    payment = pay(number)

    assert payment.status == "failed"
    assert payment.failure_code == code
    assert payment.failure_message
    assert payment.card_last4 == number[-4:]
    assert service.captured_total(uow=uow, reference="ord_1") == 0
    assert outbox("payments.payment_captured") == []
    assert [e["failure_code"] for e in outbox("payments.payment_failed")] == [code]


def test_a_card_outside_the_test_numbers_is_declined(pay: Pay) -> None:
    payment = pay("4012888888881881")  # Luhn-valid, but not a test card

    assert (payment.status, payment.failure_code) == ("failed", "live_card_in_test_mode")


def test_3d_secure_waits_for_the_shopper_then_captures_once(
    pay: Pay, uow: UnitOfWork, providers: PaymentProviders, outbox: Outbox
) -> None:
    payment = pay(THREE_D_SECURE)

    assert payment.status == "requires_action"
    assert payment.client_secret
    assert payment.next_action_url == (
        f"/v1/payments/{payment.id}/3ds?client_secret={payment.client_secret}"
    )
    assert service.captured_total(uow=uow, reference="ord_1") == 0
    assert outbox("payments.payment_captured") == []

    for _ in range(2):  # the shopper double-clicks "approve"
        confirmed = service.confirm_payment_action(
            uow=uow, providers=providers, payment_id=payment.id, succeeded=True
        )
        uow.commit()
        assert confirmed.status == "captured"
        assert confirmed.next_action_url is None

    assert service.captured_total(uow=uow, reference="ord_1") == 4990
    assert [e["payment_id"] for e in outbox("payments.payment_captured")] == [payment.id]


def test_a_denied_challenge_fails_and_cannot_be_approved_after(
    pay: Pay, uow: UnitOfWork, providers: PaymentProviders, outbox: Outbox
) -> None:
    payment = pay(THREE_D_SECURE)

    denied = service.confirm_payment_action(
        uow=uow, providers=providers, payment_id=payment.id, succeeded=False
    )
    uow.commit()
    assert (denied.status, denied.failure_code) == ("failed", "authentication_failed")
    with pytest.raises(Conflict) as refused:
        service.confirm_payment_action(
            uow=uow, providers=providers, payment_id=payment.id, succeeded=True
        )
    assert refused.value.code == "payment_not_awaiting_action"
    assert outbox("payments.payment_captured") == []
    assert len(outbox("payments.payment_failed")) == 1


def test_a_payment_captured_at_once_has_no_challenge_to_answer(
    pay: Pay, uow: UnitOfWork, providers: PaymentProviders
) -> None:
    payment = pay(VISA)
    with pytest.raises(Conflict) as refused:
        service.confirm_payment_action(
            uow=uow, providers=providers, payment_id=payment.id, succeeded=True
        )
    assert refused.value.code == "payment_not_awaiting_action"


def test_the_same_key_returns_the_same_payment_and_charges_once(
    uow: UnitOfWork,
    providers: PaymentProviders,
    sandbox: SandboxCardProvider,
    card: Callable[[str], str],
    outbox: Outbox,
) -> None:
    request: dict[str, Any] = {
        "reference": "ord_1",
        "amount": 4990,
        "currency": "EUR",
        "method": "card",
        "details": {"token": card(VISA)},
        "idempotency_key": "checkout-1",
        "channel": "web",
    }
    first = service.start_payment(uow=uow, providers=providers, **request)
    uow.commit()
    again = service.start_payment(uow=uow, providers=providers, **request)
    uow.commit()

    assert again.id == first.id
    assert sandbox.charge_attempts == 1
    assert len(service.payments_for(uow=uow, reference="ord_1")) == 1
    assert len(outbox("payments.payment_captured")) == 1

    with pytest.raises(Conflict) as reused:
        service.start_payment(uow=uow, providers=providers, **{**request, "amount": 100})
    assert reused.value.code == "idempotency_key_reused"
    assert sandbox.charge_attempts == 1

    # Keys belong to a reference: another order may use the same one.
    other = service.start_payment(uow=uow, providers=providers, **{**request, "reference": "ord_2"})
    assert other.id != first.id
    assert sandbox.charge_attempts == 2


def test_a_declined_payment_is_replayed_as_declined(
    pay: Pay, card: Callable[[str], str], sandbox: SandboxCardProvider
) -> None:
    token = card(DECLINED)
    first = pay(DECLINED, details={"token": token}, idempotency_key="k")
    again = pay(DECLINED, details={"token": token}, idempotency_key="k")

    assert again.id == first.id
    assert again.status == "failed"
    assert sandbox.charge_attempts == 1


def test_payments_for_a_reference_and_what_was_captured(pay: Pay, uow: UnitOfWork) -> None:
    declined = pay(DECLINED)
    captured = pay(VISA, amount=3000)
    pay(VISA, reference="ord_other")

    assert [p.id for p in service.payments_for(uow=uow, reference="ord_1")] == [
        declined.id,
        captured.id,
    ]
    assert service.captured_total(uow=uow, reference="ord_1") == 3000
    assert service.captured_total(uow=uow, reference="ord_unknown") == 0


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"method": "cheque"}, "unsupported_payment_method"),
        ({"amount": 0}, "invalid_amount"),
        ({"amount": -5}, "invalid_amount"),
        ({"currency": "eur"}, "invalid_currency"),
        ({"currency": "XXX"}, "invalid_currency"),  # ISO 4217 "no currency", never money
        ({"details": {}}, "card_token_missing"),
        ({"details": {"token": "tok_forged.signature"}}, "invalid_card_token"),
        ({"idempotency_key": ""}, "invalid_idempotency_key"),
        ({"reference": ""}, "invalid_reference"),
    ],
)
def test_bad_requests_are_refused_before_any_charge(
    pay: Pay,
    uow: UnitOfWork,
    sandbox: SandboxCardProvider,
    overrides: dict[str, Any],
    code: str,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        pay(VISA, **overrides)
    assert refused.value.code == code
    assert sandbox.charge_attempts == 0
    assert service.payments_for(uow=uow, reference="ord_1") == []


def test_a_token_cannot_be_altered_to_change_its_outcome(
    card: Callable[[str], str], pay: Pay
) -> None:
    declined = card(DECLINED)
    sealed, _, signature = declined.partition(".")
    approved_body = card(VISA).partition(".")[0]
    with pytest.raises(InvalidInput) as refused:
        pay(VISA, details={"token": f"{approved_body}.{signature}"})
    assert refused.value.code == "invalid_card_token"
    assert sealed != approved_body


def test_production_never_takes_test_cards(settings: Settings, uow: UnitOfWork) -> None:
    production = settings.model_copy(
        update={"environment": Environment.PRODUCTION, "secret_key": "s" * 40}
    )
    providers = build_providers(production)

    assert providers.find("test") is None
    with pytest.raises(Conflict) as refused:
        service.start_payment(
            uow=uow,
            providers=providers,
            reference="ord_1",
            amount=4990,
            currency="EUR",
            method="card",
            details={"token": "tok_x"},
            idempotency_key="k",
            channel="web",
        )
    assert refused.value.code == "payment_provider_unavailable"
    # The till still works.
    cash = service.start_payment(
        uow=uow,
        providers=providers,
        reference="ord_1",
        amount=4990,
        currency="EUR",
        method="cash",
        details={"tendered": 5000},
        idempotency_key="k",
        channel="till",
    )
    assert cash.status == "captured"


def test_stripe_as_card_provider_needs_its_key(settings: Settings) -> None:
    with pytest.raises(ValueError, match="PARCOURS_STRIPE_API_KEY"):
        build_providers(settings.model_copy(update={"payment_provider": "stripe"}))
