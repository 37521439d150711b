"""Racing requests on a real database: one charge per key, one capture event per payment, and
refunds that never add up to more than was taken."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from parcours.core.db import Database
from parcours.core.errors import Conflict
from parcours.core.uow import UnitOfWork
from parcours.payments import service
from parcours.payments.models import Payment
from parcours.payments.providers import PaymentProviders, SandboxCardProvider

Outbox = Callable[[str], list[dict[str, Any]]]


def _race(threads: int, work: Callable[[], object]) -> tuple[list[object], list[BaseException]]:
    """Run ``work`` in ``threads`` threads released at the same instant."""
    start = threading.Barrier(threads)
    results: list[object] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        start.wait()
        try:
            result = work()
        except BaseException as exc:  # collected, asserted by the test
            with lock:
                errors.append(exc)
        else:
            with lock:
                results.append(result)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    return results, errors


def test_twenty_identical_requests_make_one_charge_and_one_payment(
    db: Database,
    providers: PaymentProviders,
    sandbox: SandboxCardProvider,
    card: Callable[[str], str],
    outbox: Outbox,
) -> None:
    token = card("4242424242424242")

    def start() -> str:
        with UnitOfWork(db) as uow:
            payment = service.start_payment(
                uow=uow,
                providers=providers,
                reference="ord_race",
                amount=4990,
                currency="EUR",
                method="card",
                details={"token": token},
                idempotency_key="same-key",
                channel="web",
            )
            uow.commit()
            return payment.id

    results, errors = _race(20, start)

    assert errors == []
    assert len(set(results)) == 1
    assert sandbox.charge_attempts == 1
    with UnitOfWork(db, read_only=True) as uow:
        payments = service.payments_for(uow=uow, reference="ord_race")
    assert [p.id for p in payments] == results[:1]
    assert len(outbox("payments.payment_captured")) == 1


def test_racing_3d_secure_confirmations_capture_once(
    db: Database,
    pay: Callable[..., Payment],
    providers: PaymentProviders,
    outbox: Outbox,
) -> None:
    payment = pay("4000000000003220")

    def confirm() -> str:
        with UnitOfWork(db) as uow:
            confirmed = service.confirm_payment_action(
                uow=uow, providers=providers, payment_id=payment.id, succeeded=True
            )
            uow.commit()
            return confirmed.status

    results, errors = _race(8, confirm)

    # Late answers see the capture (or lose the race at the UPDATE): all report it, one records.
    assert errors == []
    assert results == ["captured"] * 8
    assert len(outbox("payments.payment_captured")) == 1


def test_racing_refunds_never_exceed_the_payment(
    db: Database,
    pay: Callable[..., Payment],
    providers: PaymentProviders,
    outbox: Outbox,
) -> None:
    payment = pay()  # 49,90 €
    keys = iter(range(100))
    lock = threading.Lock()

    def refund() -> str:
        with lock:
            key = f"refund-{next(keys)}"
        with UnitOfWork(db) as uow:
            made = service.refund_payment(
                uow=uow,
                providers=providers,
                payment_id=payment.id,
                amount=1000,
                reason="racing returns",
                idempotency_key=key,
            )
            uow.commit()
            return made.id

    results, errors = _race(10, refund)

    assert len(results) == 4
    assert len(errors) == 6
    assert all(isinstance(e, Conflict) for e in errors), errors
    assert {e.code for e in errors if isinstance(e, Conflict)} == {"refund_exceeds_captured"}
    with UnitOfWork(db, read_only=True) as uow:
        refunded = service.get_payment(uow=uow, payment_id=payment.id)
        assert (refunded.refunded_amount, refunded.status) == (4000, "partially_refunded")
    assert len(outbox("payments.payment_refunded")) == 4
