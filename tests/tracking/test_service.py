"""The event store's use cases, as other contexts call them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.errors import InvalidInput
from parcours.core.uow import UnitOfWork
from parcours.tracking import service as tracking

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def _record(uow: UnitOfWork, name: str, minutes: int = 0, **kwargs: object) -> str:
    params: dict[str, object] = {
        "properties": {"order_id": "ord_1", "total": 5900},
        "channel": "till",
        "occurred_at": T0 + timedelta(minutes=minutes),
    }
    params.update(kwargs)
    return tracking.record_domain_event(uow=uow, name=name, **params)  # type: ignore[arg-type]


def test_a_domain_event_joins_the_timeline(uow: UnitOfWork) -> None:
    event_id = _record(uow, "Completed Order", store_id="loc_1", user_id="u1", profile_id="cus_1")
    uow.commit()

    [stored] = tracking.read_events(uow=uow, after_id=None)
    assert stored.id == event_id
    assert event_id.startswith("ev_")
    assert stored.event == "Order Completed"  # v1 name normalised
    assert stored.channel == "till"
    assert stored.store_id == "loc_1"
    assert stored.timestamp == T0
    assert stored.day == T0.date()
    assert stored.properties == {"order_id": "ord_1", "total": 5900}


def test_a_repeated_message_id_is_stored_once(uow: UnitOfWork) -> None:
    first = _record(uow, "Order Completed", message_id="order-ord_1")
    again = _record(uow, "Order Completed", message_id="order-ord_1")
    uow.commit()
    assert first == again
    assert len(tracking.read_events(uow=uow, after_id=None)) == 1


def test_an_unknown_channel_is_refused(uow: UnitOfWork) -> None:
    with pytest.raises(InvalidInput):
        _record(uow, "Order Completed", channel="fax")


def test_read_events_follows_id_order_and_filters_types(uow: UnitOfWork) -> None:
    ids = [_record(uow, f"Custom {n}", n) for n in range(5)]
    uow.commit()
    assert [e.id for e in tracking.read_events(uow=uow, after_id=ids[1], limit=2)] == ids[2:4]
    assert tracking.read_events(uow=uow, after_id=None, types=["identify"]) == []
    assert len(tracking.read_events(uow=uow, after_id=None, types=["track"])) == 5
    past = utcnow() - timedelta(minutes=1)
    assert tracking.read_events(uow=uow, after_id=None, received_before=past) == []


def test_assign_profile_attaches_identifiers_events(uow: UnitOfWork) -> None:
    _record(uow, "Product Viewed", 0, anonymous_id="anon-1", channel="web")
    _record(uow, "Product Viewed", 1, anonymous_id="anon-2", channel="web")
    _record(uow, "Order Completed", 2, user_id="u1", profile_id="cus_old")
    uow.commit()

    changed = tracking.assign_profile(
        uow=uow, profile_id="cus_1", anonymous_ids=["anon-1"], user_ids=["u1"], only_unassigned=True
    )
    assert changed == 1  # u1's event already belongs to a profile
    assert tracking.assign_profile(uow=uow, profile_id="cus_1", user_ids=["u1"]) == 1
    assert tracking.assign_profile(uow=uow, profile_id="cus_1", user_ids=["u1"]) == 0
    uow.commit()
    events, _ = tracking.events_of_profile(uow=uow, profile_id="cus_1")
    assert {e.anonymous_id or e.user_id for e in events} == {"anon-1", "u1"}


def test_events_of_profile_pages_newest_first(uow: UnitOfWork) -> None:
    ids = [_record(uow, "Product Viewed", n, profile_id="cus_1") for n in range(5)]
    uow.commit()
    page, cursor = tracking.events_of_profile(uow=uow, profile_id="cus_1", limit=3)
    assert [e.id for e in page] == ids[::-1][:3]
    assert cursor is not None
    rest, end = tracking.events_of_profile(uow=uow, profile_id="cus_1", limit=3, cursor=cursor)
    assert [e.id for e in rest] == ids[::-1][3:]
    assert end is None


def test_profile_activity_per_channel_and_event(uow: UnitOfWork) -> None:
    _record(uow, "Product Viewed", 0, profile_id="cus_1", channel="web")
    _record(uow, "Product Viewed", 5, profile_id="cus_1", channel="web")
    _record(uow, "Order Completed", 60, profile_id="cus_1", channel="till")
    _record(uow, "Order Completed", 90, profile_id="cus_2", channel="till")
    uow.commit()

    activity = tracking.profile_activity(uow=uow, profile_id="cus_1")
    assert activity["counts"] == {"Product Viewed": 2, "Order Completed": 1}
    assert activity["channels"]["web"] == {
        "first_seen": T0,
        "last_seen": T0 + timedelta(minutes=5),
        "events": 2,
    }
    assert activity["channels"]["till"]["first_seen"] == T0 + timedelta(minutes=60)
    assert activity["total"] == 3
    assert activity["first_seen"] == T0
    assert activity["last_seen"] == T0 + timedelta(minutes=60)


def test_erasure_keeps_anonymous_facts_only(uow: UnitOfWork) -> None:
    _record(
        uow,
        "Order Completed",
        profile_id="cus_1",
        user_id="u1",
        anonymous_id="anon-1",
        store_id="loc_1",
        properties={"email": "a@example.com", "Phone": "+33600000000", "total": 10},
    )
    _record(uow, "Order Completed", 1, profile_id="cus_2", user_id="u2")
    uow.commit()

    assert tracking.erase_profile_events(uow=uow, profile_id="cus_1") == 1
    uow.commit()
    erased, kept = sorted(tracking.read_events(uow=uow, after_id=None), key=lambda e: e.timestamp)
    assert (erased.user_id, erased.anonymous_id, erased.profile_id) == (None, None, None)
    assert erased.properties == {"total": 10}
    assert (erased.event, erased.channel, erased.store_id, erased.timestamp) == (
        "Order Completed",
        "till",
        "loc_1",
        T0,
    )
    assert kept.user_id == "u2"


def test_retention_deletes_old_events(uow: UnitOfWork) -> None:
    _record(uow, "Old", -60 * 24 * 400)
    recent = _record(uow, "Recent")
    uow.commit()
    assert tracking.delete_events_older_than(uow=uow, cutoff=T0 - timedelta(days=395)) == 1
    uow.commit()
    assert [e.id for e in tracking.read_events(uow=uow, after_id=None)] == [recent]


def test_run_retention_reads_the_settings(uow: UnitOfWork, db: Database) -> None:
    from parcours.core.settings import Settings
    from parcours.tracking.tasks import run_retention

    _record(uow, "Old", occurred_at=utcnow() - timedelta(days=40))
    recent = _record(uow, "Recent", occurred_at=utcnow() - timedelta(days=2))
    uow.commit()
    assert run_retention(db, Settings(event_retention_days=30)) == 1
    assert [e.id for e in tracking.read_events(uow=uow, after_id=None)] == [recent]


def test_erasure_strips_context_and_urls(uow: UnitOfWork) -> None:
    from parcours.tracking.normalise import strip_personal_data

    properties, context = strip_personal_data(
        {"url": "https://shop.example/p?email=a%40b.fr", "product_id": "prd_1", "e_mail": "x"},
        {
            "ip": "203.0.113.9",
            "userAgent": "Mozilla/5.0",
            "traits": {"email": "a@b.fr"},
            "page": {"url": "https://shop.example/p?token=abc#x", "path": "/p", "search": "?t=1"},
            "locale": "fr-FR",
        },
    )
    assert properties == {"url": "https://shop.example/p", "product_id": "prd_1"}
    assert context == {
        "page": {"url": "https://shop.example/p", "path": "/p", "search": ""},
        "locale": "fr-FR",
    }
