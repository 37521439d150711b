"""The Segment-compatible collection API: authentication, bodies, limits, validation, dedupe."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from parcours.core.auth.models import KeyKind, KeySource, Role
from parcours.tracking.api import install_ingestion
from parcours.tracking.models import Event

from .conftest import basic

Stored = Callable[[], list[Event]]


def _track(n: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Product Viewed",
        "anonymousId": "anon-1",
        "messageId": f"m-{n}",
        "properties": {"product_id": "prd_1", "price": 59.0},
        **extra,
    }


def test_a_track_call_with_basic_auth_is_stored(
    client: TestClient, write_key: Callable[..., str], stored: Stored
) -> None:
    response = client.post("/v1/track", json=_track(), headers=basic(write_key()))
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}
    [event] = stored()
    assert (event.type, event.event, event.anonymous_id) == ("track", "Product Viewed", "anon-1")
    assert event.properties == {"product_id": "prd_1", "price": 59.0}
    assert event.source == "web"
    assert event.channel == "web"
    assert event.id.startswith("ev_")
    assert event.day == event.timestamp.date()


def test_write_key_in_the_body(
    client: TestClient, write_key: Callable[..., str], stored: Stored
) -> None:
    body = {"batch": [_track()], "writeKey": write_key()}
    assert client.post("/v1/batch", json=body).status_code == 200
    assert len(stored()) == 1


def test_a_secret_key_as_bearer_sends_server_events(
    client: TestClient, api_key: Callable[[KeyKind], str], stored: Stored
) -> None:
    headers = {"Authorization": f"Bearer {api_key(KeyKind.SECRET)}"}
    assert client.post("/v1/identify", json=_track(), headers=headers).status_code == 200
    [event] = stored()
    assert (event.type, event.source, event.channel) == ("identify", "server", "server")


def test_no_key_is_401_with_a_basic_challenge(client: TestClient) -> None:
    response = client.post("/v1/track", json=_track())
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.headers["content-type"] == "application/problem+json"
    unknown = client.post("/v1/track", json=_track(), headers=basic("wk_unknown"))
    assert unknown.status_code == 401
    assert unknown.json()["code"] == "invalid_write_key"


def test_publishable_keys_and_staff_cannot_send_events(
    client: TestClient,
    api_key: Callable[[KeyKind], str],
    staff_client: Callable[..., TestClient],
) -> None:
    publishable = api_key(KeyKind.PUBLISHABLE)
    assert client.post("/v1/track", json=_track(), headers=basic(publishable)).status_code == 403
    staff = staff_client(Role.ADMIN)
    assert staff.post("/v1/track", json=_track()).status_code == 403


def test_gzip_bodies_are_accepted(
    client: TestClient, write_key: Callable[..., str], stored: Stored
) -> None:
    body = gzip.compress(json.dumps({"batch": [_track(1), _track(2)]}).encode())
    headers = {**basic(write_key()), "Content-Encoding": "gzip"}
    headers["Content-Type"] = "application/json"
    response = client.post("/v1/batch", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert len(stored()) == 2


def test_a_gzip_bomb_is_refused(client: TestClient, write_key: Callable[..., str]) -> None:
    bomb = gzip.compress(b'{"batch": [' + b" " * 50_000_000 + b"]}")
    assert len(bomb) < 100_000
    headers = {**basic(write_key()), "Content-Encoding": "gzip", "Content-Type": "text/plain"}
    response = client.post("/v1/batch", content=bomb, headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == "batch_too_large"


def test_invalid_gzip_and_json_are_400(client: TestClient, write_key: Callable[..., str]) -> None:
    headers = {**basic(write_key()), "Content-Encoding": "gzip", "Content-Type": "text/plain"}
    response = client.post("/v1/batch", content=b"not gzip", headers=headers)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_body")
    response = client.post(
        "/v1/batch", content=b"{nope", headers={**basic(write_key()), "Content-Type": "text/plain"}
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_json")


@pytest.mark.parametrize("path", ["/v1/batch", "/v1/track"])
@pytest.mark.parametrize("encoding", ["identity", "gzip", "text/plain"])
def test_json_nested_too_deep_is_a_clear_400(
    client: TestClient, write_key: Callable[..., str], stored: Stored, path: str, encoding: str
) -> None:
    deep = b'{"batch": [' if path == "/v1/batch" else b'{"event": "x", "properties": {"p": '
    deep += b"[" * 5000 + b"]" * 5000 + (b"]}" if path == "/v1/batch" else b"}}")
    headers = {**basic(write_key()), "Content-Type": "application/json"}
    if encoding == "gzip":
        deep = gzip.compress(deep)
        headers["Content-Encoding"] = "gzip"
    elif encoding == "text/plain":
        headers["Content-Type"] = "text/plain"
    response = client.post(path, content=deep, headers=headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "json_too_deep"
    assert stored() == []


def test_json_nested_within_the_limit_is_stored(
    client: TestClient, write_key: Callable[..., str], stored: Stored
) -> None:
    nested: Any = "leaf"
    for _ in range(20):
        nested = [nested]
    response = client.post(
        "/v1/track", json=_track(properties={"nested": nested}), headers=basic(write_key())
    )
    assert response.status_code == 200, response.text
    assert stored()[0].properties == {"nested": nested}


def test_batch_context_and_integrations_reach_each_message(
    client: TestClient, write_key: Callable[..., str], stored: Stored
) -> None:
    body = {
        "batch": [
            _track(1, context={"page": {"path": "/p"}, "library": {"name": "mine"}}),
            _track(2),
        ],
        "context": {"library": {"name": "analytics-python", "version": "2"}, "locale": "fr"},
        "integrations": {"All": True},
    }
    assert client.post("/v1/batch", json=body, headers=basic(write_key())).status_code == 200
    first, second = stored()
    assert first.context["page"] == {"path": "/p"}
    assert first.context["library"] == {"name": "mine", "version": "2"}  # the message's own wins
    assert first.context["locale"] == "fr"
    assert second.context["library"]["name"] == "analytics-python"
    assert second.context["integrations"] == {"All": True}


def test_size_limits(client: TestClient, write_key: Callable[..., str]) -> None:
    key = write_key()
    big = _track(1, properties={"blob": "x" * 33_000})
    response = client.post("/v1/batch", json={"batch": [_track(0), big]}, headers=basic(key))
    assert response.status_code == 400
    assert response.json()["code"] == "message_too_large"
    assert response.json()["index"] == 1
    single = client.post("/v1/track", json=big, headers=basic(key))
    assert single.json()["code"] == "message_too_large"
    many = [_track(n, properties={"blob": "x" * 30_000}) for n in range(20)]  # ~600 KB
    response = client.post("/v1/batch", json={"batch": many}, headers=basic(key))
    assert response.status_code == 400
    assert response.json()["code"] == "batch_too_large"


@pytest.mark.parametrize(
    ("message", "detail"),
    [
        ({"type": "track", "event": "X"}, "'userId' or 'anonymousId' is required"),
        ({"type": "track", "userId": "u1"}, "'event' is required"),
        ({"type": "alias", "userId": "u1"}, "'previousId' is required"),
        ({"type": "alias", "anonymousId": "a", "previousId": "p"}, "'userId' is required"),
        ({"type": "group", "userId": "u1"}, "'groupId' is required"),
        ({"type": "purchase", "userId": "u1"}, "'type' must be one of"),
        ({"type": "track", "userId": "u1", "event": "X", "properties": [1]}, "must be an object"),
        ({"type": "track", "userId": "u1", "event": "X", "timestamp": "soon"}, "ISO 8601"),
    ],
)
def test_invalid_messages_name_their_index(
    client: TestClient,
    write_key: Callable[..., str],
    stored: Stored,
    message: dict[str, Any],
    detail: str,
) -> None:
    response = client.post(
        "/v1/batch", json={"batch": [_track(0), message]}, headers=basic(write_key())
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "invalid_message"
    assert problem["index"] == 1
    assert problem["detail"].startswith("message 1: ")
    assert detail in problem["detail"]
    assert stored() == []  # nothing of a refused batch is kept


def test_retries_are_stored_once(
    client: TestClient, write_key: Callable[..., str], stored: Stored
) -> None:
    key = write_key()
    body = {"batch": [_track(1), _track(2), _track(1)]}
    for _ in range(3):
        assert client.post("/v1/batch", json=body, headers=basic(key)).status_code == 200
    assert sorted(e.message_id for e in stored()) == ["m-1", "m-2"]
    # Message ids are scoped to the key: another source's m-1 is another event.
    other = write_key(KeySource.APP)
    assert client.post("/v1/track", json=_track(1), headers=basic(other)).status_code == 200
    assert len(stored()) == 3


def test_messages_without_message_id_get_one(
    client: TestClient, write_key: Callable[..., str], stored: Stored
) -> None:
    message = _track()
    del message["messageId"]
    assert client.post("/v1/track", json=message, headers=basic(write_key())).status_code == 200
    [event] = stored()
    assert event.message_id == event.id


def test_an_empty_batch_succeeds(client: TestClient, write_key: Callable[..., str]) -> None:
    response = client.post("/v1/batch", json={"batch": []}, headers=basic(write_key()))
    assert response.json() == {"success": True}


def test_rate_limit_answers_429_with_retry_after(
    app: FastAPI, client: TestClient, write_key: Callable[..., str]
) -> None:
    install_ingestion(app, rate_per_second=0.5, burst=2)
    key, other = write_key(), write_key(KeySource.APP)
    codes = [
        client.post("/v1/track", json=_track(n), headers=basic(key)).status_code for n in range(3)
    ]
    assert codes == [200, 200, 429]
    refused = client.post("/v1/track", json=_track(9), headers=basic(key))
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 2
    # Another key has its own bucket.
    assert client.post("/v1/track", json=_track(1), headers=basic(other)).status_code == 200


@pytest.mark.parametrize(
    "times",
    [
        {"timestamp": "0001-01-01T00:00:00+14:00"},
        {"sentAt": "9999-12-31T23:59:59Z", "timestamp": "0001-01-01T00:00:00Z"},
    ],
)
def test_impossible_times_are_a_clear_problem(
    client: TestClient, write_key: Callable[..., str], stored: Stored, times: dict[str, str]
) -> None:
    response = client.post("/v1/track", json=_track(**times), headers=basic(write_key()))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_message"
    assert stored() == []
