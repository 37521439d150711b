"""Traits are plain, finite JSON of a bounded size: NaN or Infinity, or a trait blob past the
limits, is refused at the edge (422 on the customers API, 400 on the Segment-compatible one),
nothing non-finite is stored, and her export (the right of access) always answers."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient

from parcours.core.auth import service as auth_service
from parcours.core.auth.models import KeyKind, KeySource
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import service, tasks
from parcours.customers.models import IdentifierKind

EMAIL = "ana.lopez@example.com"
JSON = {"Content-Type": "application/json"}


def _identify_raw(client: TestClient, headers: dict[str, str], traits_json: str) -> dict[str, str]:
    body = f'{{"email": "{EMAIL}", "channel": "web", "traits": {traits_json}}}'
    answer = client.post("/v1/customers/identify", content=body, headers={**headers, **JSON})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, str] = answer.json()
    return problem


@pytest.mark.parametrize(
    "traits", ['{"score": NaN}', '{"score": Infinity}', '{"nested": {"x": [1, -Infinity]}}']
)
def test_non_finite_traits_are_refused_and_nothing_is_stored(
    client: TestClient, db: Database, secret_headers: dict[str, str], traits: str
) -> None:
    problem = _identify_raw(client, secret_headers, traits)
    assert problem["code"] == "non_finite_number"
    with UnitOfWork(db, read_only=True) as uow:
        assert service.find_profile(uow=uow, kind=IdentifierKind.EMAIL, value=EMAIL) is None


def test_her_export_answers_after_a_refused_non_finite_trait(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    person = client.post(
        "/v1/customers/identify",
        json={"email": EMAIL, "channel": "web", "traits": {"first_name": "Ana"}},
        headers=secret_headers,
    ).json()["id"]
    _identify_raw(client, secret_headers, '{"score": 1e999}')
    export = client.get(f"/v1/customers/{person}/export", headers=secret_headers)
    assert export.status_code == 200, export.text
    assert export.json()["profile"]["traits"] == {"first_name": "Ana"}


def test_traits_past_the_size_limit_are_refused(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    big = json.dumps({"notes": "x" * (17 * 1024)})
    assert _identify_raw(client, secret_headers, big)["code"] == "traits_too_large"
    # Many small identifies may not grow one profile past the limits either.
    for batch in range(3):
        traits = {f"k{batch}_{n}": n for n in range(40)}
        answer = client.post(
            "/v1/customers/identify",
            json={"email": EMAIL, "channel": "web", "traits": traits},
            headers=secret_headers,
        )
        if batch < 2:
            assert answer.status_code == 200, answer.text
        else:
            assert answer.status_code == 422, answer.text
            assert answer.json()["code"] == "too_many_traits"


def test_the_event_api_refuses_infinite_numbers(client: TestClient, db: Database) -> None:
    with UnitOfWork(db) as uow:
        issued = auth_service.create_api_key(
            uow=uow, kind=KeyKind.WRITE, name="web events", source=KeySource.WEB
        )
        uow.commit()
    auth = base64.b64encode(f"{issued.token}:".encode()).decode()
    body = '{"anonymousId": "a-1", "traits": {"email": "EMAIL", "score": 1e999}}'.replace(
        "EMAIL", EMAIL
    )
    answer = client.post(
        "/v1/identify", content=body, headers={"Authorization": f"Basic {auth}", **JSON}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "non_finite_number"
    tasks.run_identity_projection(db, settle_seconds=0)
    with UnitOfWork(db, read_only=True) as uow:
        assert service.find_profile(uow=uow, kind=IdentifierKind.EMAIL, value=EMAIL) is None
