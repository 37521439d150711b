"""Operations endpoints answer, and errors keep one shape."""

from fastapi.testclient import TestClient


def test_healthz_and_readyz_report_the_database(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] in {"sqlite", "postgresql"}
    assert ready.json()["outbox"] == {"pending": 0, "dead": 0}


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    client.get("/healthz")
    text = client.get("/metrics").text
    assert 'parcours_http_requests_total{method="GET",route="/healthz",status="200"}' in text


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
