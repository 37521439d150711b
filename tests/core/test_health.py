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
