"""The race helper: fire the same money or stock write at one instant, with every mix of
Idempotency-Keys, then check the ledgers a shop relies on.

``race`` releases its calls together from a barrier, each in its own thread with its own
connection, so on PostgreSQL they really overlap (SQLite serialises writers, so the same test
there checks the sequential answers). ``KEY_MIXES`` names the three ways a client can repeat a
write: several devices with different keys, a retry with the same key, and a bug or an attacker
reusing a key for another request. ``assert_ledgers`` states what must hold after any of them:

- an order never keeps more money than it costs, counted in its own currency only;
- a payment never refunds more than it captured, and the order's refunded amount is the sum of
  its payments' refunds, whatever route made them;
- every stock level equals the sum of its movements, on hand and reserved are never negative,
  and what is reserved is on the shelf.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import text

from parcours.core.db import Database

T = TypeVar("T")

#: The three ways a write is repeated: the test builds one request per slot from the mix.
KEY_MIXES = ("different_keys", "same_key", "same_key_other_body")


def race(calls: Sequence[Callable[[], T]], *, timeout: float = 60) -> list[T]:
    """Run every call at the same instant (a barrier releases them together); their results in
    the order given. An exception in a call is raised here, after all of them finished."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        start.wait(timeout)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout) for future in futures]


def keys_for(mix: str, count: int, prefix: str) -> list[tuple[str, bool]]:
    """``count`` (Idempotency-Key, other_body) pairs for a mix: with ``same_key_other_body`` the
    first request is the real one and the others reuse its key for another body."""
    if mix == "different_keys":
        return [(f"{prefix}-{n}", False) for n in range(count)]
    if mix == "same_key":
        return [(f"{prefix}-0", False) for _ in range(count)]
    if mix == "same_key_other_body":
        return [(f"{prefix}-0", n > 0) for n in range(count)]
    raise ValueError(f"unknown mix {mix!r}")


def ledger_violations(db: Database) -> list[str]:
    """Every broken ledger invariant, in words (an empty list when the books are right)."""
    problems: list[str] = []
    with db.engine.connect() as conn:
        orders = conn.execute(
            text("SELECT id, total, currency, paid_amount, refunded_amount FROM orders")
        ).all()
        for order_id, total, currency, paid, refunded in orders:
            rows = conn.execute(
                text(
                    "SELECT currency, status, amount, refunded_amount FROM payments "
                    "WHERE reference = :ref"
                ),
                {"ref": order_id},
            ).all()
            taken = ("captured", "partially_refunded", "refunded")
            captured = sum(r.amount for r in rows if r.status in taken and r.currency == currency)
            given_back = sum(r.refunded_amount for r in rows if r.currency == currency)
            if captured - given_back > total:
                problems.append(f"{order_id} keeps {captured - given_back} for a total of {total}")
            if captured > total and given_back < captured - total:
                problems.append(f"{order_id} captured {captured} for a total of {total}")
            if paid > total:
                problems.append(f"{order_id} shows {paid} paid for a total of {total}")
            if paid != captured:
                problems.append(f"{order_id} shows {paid} paid, its payments captured {captured}")
            if refunded != given_back:
                problems.append(
                    f"{order_id} shows {refunded} refunded, its payments gave back {given_back}"
                )
            for r in rows:
                if not 0 <= r.refunded_amount <= r.amount:
                    problems.append(f"a payment of {order_id} refunded {r.refunded_amount}")
        levels = conn.execute(
            text("SELECT variant_id, location_id, on_hand, reserved FROM stock_levels")
        ).all()
        for variant_id, location_id, on_hand, reserved in levels:
            moved = conn.scalar(
                text(
                    "SELECT COALESCE(SUM(quantity_delta), 0) FROM stock_movements "
                    "WHERE variant_id = :v AND location_id = :l"
                ),
                {"v": variant_id, "l": location_id},
            )
            where = f"{variant_id} at {location_id}"
            if on_hand != moved:
                problems.append(f"{where}: {on_hand} on hand, its movements add up to {moved}")
            if on_hand < 0 or reserved < 0:
                problems.append(f"{where}: {on_hand} on hand, {reserved} reserved")
            if reserved > on_hand:
                problems.append(f"{where}: {reserved} reserved of {on_hand} on hand")
    return problems


def assert_ledgers(db: Database) -> None:
    """The shop's books hold (see the module's list)."""
    problems = ledger_violations(db)
    assert not problems, "\n".join(problems)
