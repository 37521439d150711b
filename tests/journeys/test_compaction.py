"""The live event store reaches the journey tables: read fresh before compaction, the same
after it, one person across devices once she signs in, and gone from the lake when erased."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.settings import Settings
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.journeys import service
from parcours.journeys.lake import Lake, read_table
from parcours.journeys.schemas import FunnelSpec, Period, Scope
from parcours.tracking import service as tracking
from parcours.tracking.ingest import build_row
from parcours.tracking.store import insert_ignoring_duplicates, new_event_ids

SPEC = FunnelSpec.model_validate(
    {"steps": [{"event": "Product Viewed"}, {"event": "Order Completed"}], "window_days": 7}
)


def _shopper_journey(db: Database) -> str:
    """A device views a product online, then the shopper signs in and buys it in a store."""
    now = utcnow()
    with UnitOfWork(db) as uow:
        tracking.record_domain_event(
            uow=uow,
            name="Product Viewed",
            properties={"product_id": "prd_1", "available": True},
            channel="web",
            occurred_at=now - timedelta(days=2),
            anonymous_id="device-1",
        )
        profile = customers.identify(
            uow=uow,
            anonymous_id="device-1",
            traits={"email": "lea@example.org"},
            channel="web",
            at=now - timedelta(days=1),
        )
        tracking.record_domain_event(
            uow=uow,
            name="Order Completed",
            properties={
                "order_id": "ord_1",
                "revenue": 59.9,
                "products": [{"product_id": "prd_1", "price": 59.9, "quantity": 1}],
            },
            channel="till",
            occurred_at=now - timedelta(hours=1),
            store_id="loc_1",
            profile_id=profile.id,
        )
        uow.commit()
        return profile.id


def _scope() -> Scope:
    now = utcnow()
    return Scope(period=Period(start=now - timedelta(days=10), end=now + timedelta(days=1)))


def test_events_are_read_fresh_then_from_the_lake_with_the_same_result(
    db: Database, settings: Settings
) -> None:
    profile_id = _shopper_journey(db)
    engine = service.open_engine(settings, db)

    before = service.run_funnel(engine=engine, scope=_scope(), spec=SPEC)
    # The view on the anonymous device and the purchase are one person: she signed in between.
    assert [s.persons for s in before.steps] == [1, 1]
    assert Lake(settings.lake_dir).files("events") == []

    compacted = service.compact_events(
        db=db, lake=Lake(settings.lake_dir), now=utcnow() + timedelta(minutes=1)
    )
    assert compacted >= 2
    lake_rows = read_table(Lake(settings.lake_dir), "events").to_pylist()
    assert {row["event"] for row in lake_rows} == {"Product Viewed", "Order Completed"}
    order = next(row for row in lake_rows if row["event"] == "Order Completed")
    assert (order["place"], order["revenue"], order["profile_id"]) == ("store", 5990, profile_id)
    [line] = read_table(Lake(settings.lake_dir), "items").to_pylist()
    assert (line["product_id"], line["amount"]) == ("prd_1", 5990)

    after = service.run_funnel(engine=engine, scope=_scope(), spec=SPEC)
    assert after.steps == before.steps
    # nothing read twice, even by an engine that read the tail a moment before compaction
    [(rows,)] = engine.rows("SELECT COUNT(*) FROM events")
    assert rows == 2


def test_an_erased_customer_leaves_the_lake_too(db: Database, settings: Settings) -> None:
    profile_id = _shopper_journey(db)
    lake = Lake(settings.lake_dir)
    service.compact_events(db=db, lake=lake, now=utcnow() + timedelta(minutes=1))
    assert read_table(lake, "events").num_rows == 2

    with UnitOfWork(db) as uow:
        customers.erase_profile(uow=uow, profile_id=profile_id, by="test")
        uow.commit()
    service.compact_events(db=db, lake=lake, now=utcnow() + timedelta(minutes=1))

    remaining = read_table(lake, "events").to_pylist()
    assert all(row["anonymous_id"] != "device-1" for row in remaining)
    assert all(row["profile_id"] != profile_id for row in remaining)
    assert read_table(lake, "items").num_rows == 0
    engine = service.open_engine(settings, db)
    result = service.run_funnel(engine=engine, scope=_scope(), spec=SPEC)
    assert [s.persons for s in result.steps] == [0, 0]


def _late_rows(count: int) -> list[dict[str, Any]]:
    """A batch named now, as the committer names it: ids and reception time assigned."""
    received = utcnow()
    rows = [
        build_row(
            {
                "type": "track",
                "event": "Product Viewed",
                "anonymousId": "device-late",
                "messageId": f"late-{n}",
                "properties": {"product_id": "prd_late"},
                "timestamp": (received - timedelta(minutes=5)).isoformat(),
            },
            index=n,
            kind="track",
            write_key_id="key_late",
            source="web",
            received_at=received,
        )
        for n in range(count)
    ]
    for row, event_id in zip(rows, new_event_ids(count), strict=True):
        row["id"] = event_id
    return rows


def _record_other_event(db: Database) -> str:
    with UnitOfWork(db) as uow:
        event_id = tracking.record_domain_event(
            uow=uow,
            name="Product Viewed",
            properties={"product_id": "prd_other"},
            channel="web",
            occurred_at=utcnow() - timedelta(minutes=1),
            anonymous_id="device-other",
        )
        uow.commit()
    return event_id


def _assert_late_events_reached_analytics(
    db: Database, settings: Settings, late_ids: set[str]
) -> None:
    lake_ids = {
        row["event_id"] for row in read_table(Lake(settings.lake_dir), "events").to_pylist()
    }
    assert late_ids <= lake_ids
    engine = service.open_engine(settings, db)
    [(count,)] = engine.rows("SELECT COUNT(*) FROM events WHERE anonymous_id = 'device-late'")
    assert count == len(late_ids)


def test_a_batch_named_long_before_its_commit_still_reaches_the_lake(
    db: Database, settings: Settings
) -> None:
    """Ids and reception time are given when a batch is named; its commit may come much later
    (a writer waiting on a lock, a slow disk), after later events were committed and compacted.
    Compaction follows commits, not ids nor clocks: nothing committed is ever passed over."""
    lake = Lake(settings.lake_dir)
    late = _late_rows(3)  # named first: the smallest ids
    _record_other_event(db)  # committed first: a larger id
    # 30 s later the other event is settled and compacted; the late batch is not committed yet
    service.compact_events(db=db, lake=lake, now=utcnow() + timedelta(seconds=30))
    with db.engine.begin() as connection:
        insert_ignoring_duplicates(connection, late)

    service.compact_events(db=db, lake=lake, now=utcnow() + timedelta(seconds=60))

    _assert_late_events_reached_analytics(db, settings, {row["id"] for row in late})


def test_a_transaction_held_open_during_compaction_loses_none_of_its_events(
    db: Database, settings: Settings
) -> None:
    """PostgreSQL writes side by side: a transaction holding inserted events for 30 s (of
    simulated time) while later ones commit and get compacted; once it commits, its events are
    in the query results at once and in the lake at the next compaction."""
    if db.is_sqlite:
        pytest.skip("SQLite has one writer: no event can commit while another write is open")
    lake = Lake(settings.lake_dir)
    late = _late_rows(3)
    with db.engine.connect() as held:
        transaction = held.begin()
        insert_ignoring_duplicates(held, late)
        other = _record_other_event(db)
        service.compact_events(db=db, lake=lake, now=utcnow() + timedelta(seconds=30))
        # the committed event is not lost either: in the lake, or in the live tail until then
        engine = service.open_engine(settings, db)
        [(seen,)] = engine.rows(f"SELECT COUNT(*) FROM events WHERE event_id = '{other}'")
        assert seen == 1
        transaction.commit()

    engine = service.open_engine(settings, db)
    [(count,)] = engine.rows("SELECT COUNT(*) FROM events WHERE anonymous_id = 'device-late'")
    assert count == 3  # the live tail has them before any compaction
    service.compact_events(db=db, lake=lake, now=utcnow() + timedelta(seconds=60))
    _assert_late_events_reached_analytics(db, settings, {row["id"] for row in late})
    assert {row["event_id"] for row in read_table(lake, "events").to_pylist()} >= {other}
