"""What ingestion adds to each message: corrected time, spec v2 names, channel, campaign,
device and session."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from parcours.core.auth.models import KeySource
from parcours.core.clock import utcnow
from parcours.tracking.models import Event

from .conftest import basic

Stored = Callable[[], list[Event]]


def _send(client: TestClient, key: str, *messages: dict[str, Any], **batch: Any) -> None:
    body = {"batch": [{"anonymousId": "anon-1", "type": "track", **m} for m in messages], **batch}
    response = client.post("/v1/batch", json=body, headers=basic(key))
    assert response.status_code == 200, response.text


def _iso(value: datetime) -> str:
    return value.isoformat()


def test_clock_skew_is_corrected_from_sent_at(
    client: TestClient, write_key: Callable[..., str], stored: Stored
) -> None:
    device_now = utcnow() + timedelta(hours=3)  # the device's clock is 3 hours ahead
    before = utcnow()
    _send(
        client,
        write_key(),
        {"event": "A", "messageId": "a", "timestamp": _iso(device_now - timedelta(seconds=40))},
        sentAt=_iso(device_now),
    )
    after = utcnow()
    [event] = stored()
    assert before - timedelta(seconds=40) <= event.timestamp <= after - timedelta(seconds=40)
    assert event.original_timestamp == device_now - timedelta(seconds=40)
    assert event.sent_at == device_now
    assert before <= event.received_at <= after


def test_without_sent_at_the_device_time_stands_and_without_any_time_receipt(
    client: TestClient, write_key: Callable[..., str], stored: Stored
) -> None:
    then = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    _send(
        client,
        write_key(),
        {"event": "Imported", "messageId": "a", "timestamp": "2026-01-02T03:04:05Z"},
        {"event": "Now", "messageId": "b"},
    )
    imported, now = sorted(stored(), key=lambda e: e.message_id)
    assert imported.timestamp == then
    assert imported.day == then.date()
    assert now.timestamp == now.received_at


def test_v1_names_are_normalised_and_custom_names_kept(
    client: TestClient, write_key: Callable[..., str], stored: Stored
) -> None:
    _send(
        client,
        write_key(),
        {"event": "Viewed Product", "messageId": "1", "properties": {"id": "prd_1"}},
        {"event": "Completed Order", "messageId": "2"},
        {"event": "product_added", "messageId": "3"},
        {"event": "Poster Scanned", "messageId": "4"},
    )
    events = {e.message_id: e for e in stored()}
    assert events["1"].event == "Product Viewed"
    assert events["1"].properties == {"id": "prd_1", "product_id": "prd_1"}
    assert events["2"].event == "Order Completed"
    assert events["3"].event == "Product Added"
    assert events["4"].event == "Poster Scanned"


def test_channel_follows_the_key_source_and_context(
    client: TestClient, write_key: Callable[..., str], stored: Stored
) -> None:
    _send(client, write_key(KeySource.TILL), {"event": "Order Completed", "messageId": "till"})
    _send(client, write_key(KeySource.APP), {"event": "X", "messageId": "app"})
    _send(client, write_key(KeySource.KIOSK), {"event": "X", "messageId": "kiosk"})
    server = write_key(KeySource.SERVER)
    _send(
        client,
        server,
        {"event": "Order Completed", "messageId": "mkt", "context": {"channel": "marketplace"}},
        {"event": "Message Replied", "messageId": "srv"},
        {"event": "X", "messageId": "bad", "context": {"channel": "pigeon"}},
    )
    channels = {e.message_id: (e.channel, e.source) for e in stored()}
    assert channels == {
        "till": ("till", "till"),
        "app": ("app", "app"),
        "kiosk": ("kiosk", "kiosk"),
        "mkt": ("marketplace", "server"),
        "srv": ("server", "server"),
        "bad": ("server", "server"),
    }


def test_campaign_from_context_or_page_url_and_print_qr(
    client: TestClient, write_key: Callable[..., str], stored: Stored
) -> None:
    _send(
        client,
        write_key(),
        {
            "type": "page",
            "messageId": "qr",
            "name": "Product",
            "context": {
                "page": {
                    "url": "https://shop.example/p/1?utm_source=metro&utm_medium=print"
                    "&utm_campaign=autumn&utm_content=poster-a"
                }
            },
        },
        {
            "event": "X",
            "messageId": "ctx",
            "anonymousId": "anon-2",
            "context": {"campaign": {"name": "sale", "source": "news", "medium": "email"}},
        },
    )
    events = {e.message_id: e for e in stored()}
    qr = events["qr"]
    assert (qr.utm_source, qr.utm_medium, qr.utm_campaign, qr.utm_content) == (
        "metro",
        "print",
        "autumn",
        "poster-a",
    )
    assert qr.channel == "print"
    assert (qr.type, qr.event) == ("page", "Product")
    ctx = events["ctx"]
    assert (ctx.utm_campaign, ctx.utm_source, ctx.utm_medium) == ("sale", "news", "email")
    assert ctx.channel == "web"


def test_device_and_store(
    client: TestClient, write_key: Callable[..., str], stored: Stored
) -> None:
    iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
    _send(
        client,
        write_key(KeySource.TILL),
        {"event": "X", "messageId": "1", "context": {"userAgent": iphone}},
        {
            "event": "X",
            "messageId": "2",
            "context": {"device": {"type": "pos"}, "store": {"id": "loc_9"}},
        },
    )
    events = {e.message_id: e for e in stored()}
    assert events["1"].device_type == "mobile"
    assert (events["2"].device_type, events["2"].store_id) == ("pos", "loc_9")


def test_sessions_split_on_inactivity_and_new_campaigns(
    client: TestClient, write_key: Callable[..., str], stored: Stored
) -> None:
    t0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

    def at(minutes: int, message_id: str, **extra: Any) -> dict[str, Any]:
        return {
            "event": "X",
            "messageId": message_id,
            "timestamp": _iso(t0 + timedelta(minutes=minutes)),
            **extra,
        }

    key = write_key()
    _send(client, key, at(0, "a"), at(10, "b"), at(39, "c"))  # gaps under 30 minutes
    _send(client, key, at(70, "d"))  # 31 minutes later: a new session
    url = "https://shop.example/?utm_campaign=sale&utm_medium=email"
    _send(client, key, at(72, "e", context={"page": {"url": url}}))  # a new campaign
    _send(client, key, at(73, "f"), at(74, "g", anonymousId="anon-other"))
    sessions = {e.message_id: e.session_id for e in stored()}
    assert sessions["a"] == sessions["b"] == sessions["c"]
    assert sessions["d"] not in (sessions["a"], None)
    assert sessions["e"] != sessions["d"]
    assert sessions["f"] == sessions["e"]
    assert sessions["g"] not in (sessions["f"], None)


def test_sessions_continue_from_the_database_when_the_cache_forgot(
    app: Any, client: TestClient, write_key: Callable[..., str], stored: Stored
) -> None:
    key = write_key()
    recent = utcnow() - timedelta(minutes=5)
    _send(client, key, {"event": "X", "messageId": "a", "timestamp": _iso(recent)})
    app.state.tracking.committer.sessions.forget()  # as another process, or after a restart
    _send(client, key, {"event": "X", "messageId": "b"})
    first, second = sorted(stored(), key=lambda e: e.message_id)
    assert first.session_id == second.session_id is not None
