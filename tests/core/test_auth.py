"""Staff sign-in, CSRF, API keys: who may call what."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from parcours.core.auth.models import KeyKind, Role
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork

TEST_PASSWORD = "correct horse battery"  # the staff_client fixture's password


def test_staff_signs_in_and_the_cookie_is_secure_httponly(
    client: TestClient, staff_client: Callable[..., TestClient]
) -> None:
    staff_client(Role.MANAGER)  # creates manager-0@staff.example
    response = client.post(
        "/v1/sessions", json={"email": "Manager-0@Staff.example ", "password": TEST_PASSWORD}
    )
    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    assert "SameSite=lax" in cookie
    assert response.json()["role"] == "manager"
    assert client.get("/v1/me").json()["role"] == "manager"


def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: TestClient, staff_client: Callable[..., TestClient]
) -> None:
    staff_client(Role.MANAGER)
    wrong = client.post(
        "/v1/sessions", json={"email": "manager-0@staff.example", "password": "nope"}
    )
    unknown = client.post("/v1/sessions", json={"email": "who@staff.example", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "invalid_credentials"
    assert "set-cookie" not in wrong.headers


def test_cookie_writes_without_the_csrf_token_are_refused(
    staff_client: Callable[..., TestClient],
) -> None:
    admin = staff_client(Role.ADMIN)
    token = admin.headers.pop("X-CSRF-Token")
    refused = admin.post("/v1/api-keys", json={"kind": "secret", "name": "erp"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    accepted = admin.post(
        "/v1/api-keys", json={"kind": "secret", "name": "erp"}, headers={"X-CSRF-Token": token}
    )
    assert accepted.status_code == 201


def test_api_key_is_shown_once_and_stored_hashed(
    staff_client: Callable[..., TestClient], db: Database
) -> None:
    admin = staff_client(Role.ADMIN)
    issued = admin.post("/v1/api-keys", json={"kind": "publishable", "name": "site"}).json()
    assert issued["token"].startswith("pk_")
    listed = admin.get("/v1/api-keys").json()["items"]
    assert [k["id"] for k in listed] == [issued["id"]]
    assert "token" not in listed[0]
    with UnitOfWork(db, read_only=True) as uow:
        from sqlalchemy import text

        stored = uow.session.execute(text("SELECT token_hash FROM api_keys")).scalar_one()
    assert issued["token"] not in stored


def test_api_keys_are_listed_a_page_at_a_time(staff_client: Callable[..., TestClient]) -> None:
    admin = staff_client(Role.ADMIN)
    issued = [
        admin.post("/v1/api-keys", json={"kind": "secret", "name": f"erp-{n}"}).json()["id"]
        for n in range(5)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        page = admin.get("/v1/api-keys", params=params).json()
        assert len(page["items"]) <= 2
        seen += [k["id"] for k in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(issued)
    assert admin.get("/v1/api-keys", params={"limit": 0}).status_code == 422
    bad = admin.get("/v1/api-keys", params={"cursor": "not-ours"})
    assert bad.json()["code"] == "invalid_cursor"


def test_revoked_key_stops_working_at_once(
    client: TestClient, staff_client: Callable[..., TestClient]
) -> None:
    admin = staff_client(Role.ADMIN)
    issued = admin.post("/v1/api-keys", json={"kind": "secret", "name": "pos"}).json()
    headers = {"Authorization": f"Bearer {issued['token']}"}
    assert client.get("/v1/me", headers=headers).status_code == 200
    assert admin.post(f"/v1/api-keys/{issued['id']}/revoke").status_code == 200
    refused = client.get("/v1/me", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_api_key"


def test_only_admins_manage_keys(
    client: TestClient,
    staff_client: Callable[..., TestClient],
    secret_headers: dict[str, str],
) -> None:
    manager = staff_client(Role.MANAGER)
    assert manager.get("/v1/api-keys").json()["code"] == "insufficient_role"
    assert client.get("/v1/api-keys", headers=secret_headers).status_code == 403
    anonymous = client.get("/v1/api-keys")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")


def test_sign_out_ends_the_session(staff_client: Callable[..., TestClient]) -> None:
    marketer = staff_client(Role.MARKETER)
    assert marketer.delete("/v1/sessions/current").status_code == 204
    assert marketer.get("/v1/me").status_code == 401


def test_an_associate_needs_a_store(staff_client: Callable[..., TestClient]) -> None:
    admin = staff_client(Role.ADMIN)
    response = admin.post(
        "/v1/staff-users",
        json={"email": "a@x.example", "name": "A", "role": "associate", "password": "x" * 12},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "store_required"


def test_bad_key_kind_is_a_validation_problem(staff_client: Callable[..., TestClient]) -> None:
    admin = staff_client(Role.ADMIN)
    response = admin.post("/v1/api-keys", json={"kind": "root", "name": "x"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["errors"][0]["location"] == ["body", "kind"]


def test_publishable_key_reads_who_it_is(
    client: TestClient, api_key: Callable[[KeyKind], str]
) -> None:
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {api_key(KeyKind.PUBLISHABLE)}"})
    assert me.json()["key_kind"] == "publishable"


def test_write_keys_belong_to_a_source_and_cannot_read(
    client: TestClient, staff_client: Callable[..., TestClient]
) -> None:
    admin = staff_client(Role.ADMIN)
    missing = admin.post("/v1/api-keys", json={"kind": "write", "name": "site"})
    assert missing.status_code == 422
    assert missing.json()["code"] == "key_source_mismatch"
    issued = admin.post("/v1/api-keys", json={"kind": "write", "name": "site", "source": "web"})
    assert issued.status_code == 201
    assert issued.json()["token"].startswith("wk_")
    assert issued.json()["source"] == "web"
    headers = {"Authorization": f"Bearer {issued.json()['token']}"}
    assert client.get("/v1/products", headers=headers).status_code == 403
