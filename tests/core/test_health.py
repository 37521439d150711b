"""Operations endpoints answer, and errors keep one shape."""

import io
import json
import logging
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from parcours.core.auth.models import Role
from parcours.core.logs import JsonFormatter


def test_healthz_and_readyz_report_the_database(client: TestClient, database_url: str) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == make_url(database_url).get_backend_name()
    assert ready.json()["outbox"] == {"pending": 0, "dead": 0}


def test_metrics_count_requests_by_route_template(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    client.get("/healthz")
    text = client.get("/metrics", headers=secret_headers).text
    assert 'parcours_http_requests_total{method="GET",route="/healthz",status="200"}' in text


def test_metrics_are_for_the_back_office_and_its_scraper(
    client: TestClient,
    staff_client: Callable[..., TestClient],
    publishable_headers: dict[str, str],
) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=publishable_headers).status_code == 403
    assert staff_client(Role.MARKETER).get("/metrics").status_code == 403
    manager = staff_client(Role.MANAGER).get("/metrics")
    assert manager.status_code == 200
    assert "parcours_http_requests_total" in manager.text


def test_the_traceback_of_an_unexpected_error_carries_the_request_id(app: FastAPI) -> None:
    def boom() -> None:
        raise RuntimeError("kaput")

    app.add_api_route("/boom", boom)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("parcours.errors")
    logger.addHandler(handler)
    try:
        with TestClient(app, raise_server_exceptions=False) as test_client:
            response = test_client.get("/boom", headers={"X-Request-ID": "req-500"})
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert response.headers["x-request-id"] == "req-500"
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    logged = [entry for entry in lines if entry["message"] == "unhandled error"]
    assert len(logged) == 1
    assert logged[0]["request_id"] == "req-500"
    assert "RuntimeError: kaput" in logged[0]["exception"]


def test_unknown_route_is_problem_json_with_request_id(client: TestClient) -> None:
    response = client.get("/nope", headers={"X-Request-ID": "abc-123"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "abc-123"
    body = response.json()
    assert body["code"] == "not_found"
    assert body["status"] == 404


def test_nul_characters_in_paths_and_queries_are_refused(client: TestClient) -> None:
    for url in ("/v1/products/%00", "/v1/search/products?q=robe%00"):
        response = client.get(url)
        assert response.status_code == 422
        assert response.json()["code"] == "invalid_characters"


def test_oversized_bodies_are_refused_with_413(client: TestClient) -> None:
    response = client.post(
        "/v1/sessions",
        content=b"{" + b" " * 2_000_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_json_nested_too_deep_is_refused_before_parsing(client: TestClient) -> None:
    response = client.post(
        "/v1/sessions",
        content=b'{"email": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "json_too_deep"
