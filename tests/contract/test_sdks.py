"""The official Segment and RudderStack Python SDKs, unchanged, against a live server: identify,
track and page arrive once each with their properties intact, and a resent message id is stored
once. RudderStack gzips its bodies and authenticates with HTTP Basic only; Segment's SDK sends
``writeKey`` in the body and Basic auth."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import pytest
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient
from sqlalchemy import select

from parcours.core.auth import service as auth_service
from parcours.core.auth.models import KeyKind, KeySource
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.tracking.models import Event


class AnalyticsClient(Protocol):
    def identify(self, *args: Any, **kwargs: Any) -> Any: ...
    def track(self, *args: Any, **kwargs: Any) -> Any: ...
    def page(self, *args: Any, **kwargs: Any) -> Any: ...
    def flush(self) -> None: ...
    def shutdown(self) -> None: ...


def _segment(key: str, host: str, on_error: Callable[..., None]) -> AnalyticsClient:
    return SegmentClient(key, host=host, on_error=on_error, max_retries=2)  # type: ignore[no-any-return]


def _rudder(key: str, host: str, on_error: Callable[..., None]) -> AnalyticsClient:
    return RudderClient(key, host=host, on_error=on_error, max_retries=2)  # type: ignore[no-any-return]


@pytest.fixture
def server_key(db: Database) -> str:
    with UnitOfWork(db) as uow:
        issued = auth_service.create_api_key(
            uow=uow, kind=KeyKind.WRITE, name="backend", source=KeySource.SERVER
        )
        uow.commit()
    return issued.token


def _stored(db: Database) -> list[Event]:
    with UnitOfWork(db, read_only=True) as uow:
        return list(uow.session.scalars(select(Event).order_by(Event.id)))


@pytest.mark.parametrize("make_client", [_segment, _rudder], ids=["segment", "rudderstack"])
def test_sdk_messages_are_stored_once_with_their_properties(
    live_server: str,
    db: Database,
    server_key: str,
    make_client: Callable[[str, str, Callable[..., None]], AnalyticsClient],
) -> None:
    errors: list[Any] = []
    client = make_client(server_key, live_server, lambda error, _batch: errors.append(error))
    properties = {
        "product_id": "prd_1",
        "price": 59.9,
        "tags": ["wool", "navy"],
        "nested": {"a": 1},
    }
    try:
        client.identify("u-42", {"email": "jeanne@example.com", "plan": "gold"}, message_id="id-1")
        client.track("u-42", "Viewed Product", properties, message_id="tr-1")
        client.page("u-42", "Shop", "Pull marin", {"path": "/p/pull"}, message_id="pg-1")
        client.flush()
        client.track("u-42", "Viewed Product", properties, message_id="tr-1")  # a retry
        client.flush()
    finally:
        client.shutdown()
    assert errors == []

    events = {e.message_id: e for e in _stored(db)}
    assert sorted(events) == ["id-1", "pg-1", "tr-1"]
    identify, track, page = events["id-1"], events["tr-1"], events["pg-1"]
    assert (identify.type, identify.user_id) == ("identify", "u-42")
    assert identify.traits == {"email": "jeanne@example.com", "plan": "gold"}
    assert (track.type, track.event) == ("track", "Product Viewed")
    assert {k: track.properties[k] for k in properties} == properties
    assert (page.type, page.event) == ("page", "Pull marin")
    assert page.properties["path"] == "/p/pull"
    assert page.properties["category"] == "Shop"
    for event in events.values():
        assert event.channel == "server"
        assert event.sent_at is not None
        assert event.context["library"]["name"]
