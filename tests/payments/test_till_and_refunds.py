"""Payments at the till (cash, the store's terminal) and refunds, full or partial, never more
than what was captured."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from parcours.core.errors import Conflict, InvalidInput
from parcours.core.uow import UnitOfWork
from parcours.payments import service
from parcours.payments.models import Payment
from parcours.payments.providers import PaymentProviders

Outbox = Callable[[str], list[dict[str, Any]]]
Pay = Callable[..., Payment]


def _till(uow: UnitOfWork, providers: PaymentProviders, **overrides: Any) -> Payment:
    arguments: dict[str, Any] = {
        "reference": "ord_1",
        "amount": 4990,
        "currency": "EUR",
        "method": "cash",
        "details": {"tendered": 5000},
        "idempotency_key": "till-1",
        "channel": "till",
        "store_id": "loc_lyon",
        "actor": "stf_1",
    }
    arguments.update(overrides)
    payment = service.start_payment(uow=uow, providers=providers, **arguments)
    uow.commit()
    return payment


def test_cash_is_captured_with_the_change_due(
    uow: UnitOfWork, providers: PaymentProviders, outbox: Outbox
) -> None:
    payment = _till(uow, providers, details={"tendered": 10000})

    assert (payment.status, payment.method, payment.provider) == ("captured", "cash", "till")
    assert (payment.tendered_amount, payment.change_due) == (10000, 5010)
    assert payment.actor == "stf_1"
    assert outbox("payments.payment_captured")[0]["store_id"] == "loc_lyon"


def test_cash_that_does_not_cover_the_amount_is_refused_and_leaves_nothing(
    uow: UnitOfWork, providers: PaymentProviders, outbox: Outbox
) -> None:
    with pytest.raises(InvalidInput) as refused:
        _till(uow, providers, details={"tendered": 4000})
    assert refused.value.code == "insufficient_tender"
    uow.commit()  # a caller that carries on must not commit a half-made payment
    assert service.payments_for(uow=uow, reference="ord_1") == []
    assert outbox("payments.payment_captured") == []


@pytest.mark.parametrize(
    ("method", "details", "code"),
    [
        ("cash", {}, "tendered_missing"),
        ("cash", {"tendered": "50 €"}, "tendered_missing"),
        ("card_terminal", {}, "terminal_reference_missing"),
        ("card_terminal", {"terminal_reference": "  "}, "terminal_reference_missing"),
    ],
)
def test_till_payments_need_their_details(
    uow: UnitOfWork,
    providers: PaymentProviders,
    method: str,
    details: dict[str, Any],
    code: str,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        _till(uow, providers, method=method, details=details)
    assert refused.value.code == code


def test_the_terminal_reference_is_recorded(uow: UnitOfWork, providers: PaymentProviders) -> None:
    payment = _till(
        uow, providers, method="card_terminal", details={"terminal_reference": "TPE-0042-118"}
    )
    assert payment.status == "captured"
    assert payment.terminal_reference == "TPE-0042-118"
    assert payment.change_due is None


def test_partial_then_full_refund(
    pay: Pay, uow: UnitOfWork, providers: PaymentProviders, outbox: Outbox
) -> None:
    payment = pay()

    first = service.refund_payment(
        uow=uow,
        providers=providers,
        payment_id=payment.id,
        amount=1990,
        reason="one item returned",
        idempotency_key="r1",
        actor="stf_1",
    )
    uow.commit()
    assert first.id.startswith("rfd_")
    assert (first.status, first.amount, first.currency) == ("succeeded", 1990, "EUR")
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", 1990)
    assert service.captured_total(uow=uow, reference="ord_1") == 3000

    service.refund_payment(
        uow=uow,
        providers=providers,
        payment_id=payment.id,
        amount=3000,
        reason="the rest",
        idempotency_key="r2",
    )
    uow.commit()
    assert (payment.status, payment.refunded_amount) == ("refunded", 4990)
    assert service.captured_total(uow=uow, reference="ord_1") == 0
    assert [e["amount"] for e in outbox("payments.payment_refunded")] == [1990, 3000]
    assert [r.amount for r in service.list_refunds(uow=uow, payment_id=payment.id)] == [1990, 3000]


def test_a_refund_never_exceeds_what_remains(
    pay: Pay, uow: UnitOfWork, providers: PaymentProviders
) -> None:
    payment = pay()
    service.refund_payment(
        uow=uow,
        providers=providers,
        payment_id=payment.id,
        amount=4000,
        reason="r",
        idempotency_key="r1",
    )
    uow.commit()

    with pytest.raises(Conflict) as refused:
        service.refund_payment(
            uow=uow,
            providers=providers,
            payment_id=payment.id,
            amount=991,
            reason="r",
            idempotency_key="r2",
        )
    assert refused.value.code == "refund_exceeds_captured"
    assert refused.value.extra["refundable_amount"] == 990
    uow.commit()
    assert payment.refunded_amount == 4000
    assert len(service.list_refunds(uow=uow, payment_id=payment.id)) == 1


def test_a_refund_with_the_same_key_is_made_once(
    pay: Pay, uow: UnitOfWork, providers: PaymentProviders, outbox: Outbox
) -> None:
    payment = pay()
    request: dict[str, Any] = {
        "payment_id": payment.id,
        "amount": 1000,
        "reason": "r",
        "idempotency_key": "r1",
    }
    first = service.refund_payment(uow=uow, providers=providers, **request)
    uow.commit()
    again = service.refund_payment(uow=uow, providers=providers, **request)
    uow.commit()

    assert again.id == first.id
    assert payment.refunded_amount == 1000
    assert len(outbox("payments.payment_refunded")) == 1
    with pytest.raises(Conflict) as reused:
        service.refund_payment(uow=uow, providers=providers, **{**request, "amount": 500})
    assert reused.value.code == "idempotency_key_reused"


def test_only_captured_payments_are_refunded(
    pay: Pay, uow: UnitOfWork, providers: PaymentProviders
) -> None:
    declined = pay("4000000000000002")
    with pytest.raises(Conflict) as refused:
        service.refund_payment(
            uow=uow,
            providers=providers,
            payment_id=declined.id,
            amount=100,
            reason="r",
            idempotency_key="r1",
        )
    assert refused.value.code == "payment_not_refundable"


def test_cash_is_refunded_from_the_drawer(uow: UnitOfWork, providers: PaymentProviders) -> None:
    payment = _till(uow, providers)
    refund = service.refund_payment(
        uow=uow,
        providers=providers,
        payment_id=payment.id,
        amount=4990,
        reason="returned in store",
        idempotency_key="r1",
    )
    assert refund.status == "succeeded"
    assert payment.status == "refunded"
