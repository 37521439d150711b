"""A retried creating POST with the same Idempotency-Key gets the first answer, not a second
resource."""

from __future__ import annotations

import threading
from collections.abc import Callable

from fastapi.testclient import TestClient

from parcours.core.auth.models import Role


def test_retry_replays_the_first_response(staff_client: Callable[..., TestClient]) -> None:
    admin = staff_client(Role.ADMIN)
    headers = {"Idempotency-Key": "create-erp-key-1"}
    first = admin.post("/v1/api-keys", json={"kind": "secret", "name": "erp"}, headers=headers)
    again = admin.post("/v1/api-keys", json={"kind": "secret", "name": "erp"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(admin.get("/v1/api-keys").json()["items"]) == 1


def test_same_key_with_another_body_is_refused(staff_client: Callable[..., TestClient]) -> None:
    admin = staff_client(Role.ADMIN)
    headers = {"Idempotency-Key": "k"}
    admin.post("/v1/api-keys", json={"kind": "secret", "name": "erp"}, headers=headers)
    other = admin.post("/v1/api-keys", json={"kind": "secret", "name": "pos"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


def test_keys_are_scoped_to_the_caller(staff_client: Callable[..., TestClient]) -> None:
    first_admin, second_admin = staff_client(Role.ADMIN), staff_client(Role.ADMIN)
    headers = {"Idempotency-Key": "same"}
    body = {"kind": "secret", "name": "erp"}
    a = first_admin.post("/v1/api-keys", json=body, headers=headers)
    b = second_admin.post("/v1/api-keys", json=body, headers=headers)
    assert a.json()["id"] != b.json()["id"]


def test_concurrent_duplicates_create_one_resource(
    staff_client: Callable[..., TestClient],
) -> None:
    admin = staff_client(Role.ADMIN)
    statuses: list[int] = []
    lock = threading.Lock()

    def send() -> None:
        response = admin.post(
            "/v1/api-keys",
            json={"kind": "secret", "name": "erp"},
            headers={"Idempotency-Key": "burst"},
        )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(statuses) <= {201, 409}
    assert 201 in statuses
    assert len(admin.get("/v1/api-keys").json()["items"]) == 1


def test_an_oversized_key_is_a_clear_error(staff_client: Callable[..., TestClient]) -> None:
    admin = staff_client(Role.ADMIN)
    response = admin.post(
        "/v1/api-keys",
        json={"kind": "secret", "name": "erp"},
        headers={"Idempotency-Key": "k" * 300},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
