"""schemathesis generates requests from our OpenAPI description, valid and invalid, for every
operation, with a secret key and with a publishable key: none may answer 5xx, and every refusal is
problem+json.

The number of examples per operation is bounded for CI (``PARCOURS_FUZZ_EXAMPLES``, default 25).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

from parcours.core.auth.models import KeyKind

EXAMPLES = int(os.environ.get("PARCOURS_FUZZ_EXAMPLES", "25"))


def test_no_operation_answers_a_server_error(
    app: FastAPI, api_key: Callable[[KeyKind], str]
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = [{"Authorization": f"Bearer {api_key(kind)}"} for kind in KeyKind]
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def exercise(case: schemathesis.Case) -> None:
            for header in headers:
                response = case.call(headers=header)
                if response.status_code >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path} {case.query} -> "
                        f"{response.status_code}: {response.text[:300]}"
                    )
                elif response.status_code >= 400:
                    content_type = response.headers.get("content-type", [""])
                    value = content_type[0] if isinstance(content_type, list) else content_type
                    assert value.startswith("application/problem+json"), (
                        f"{case.method} {case.formatted_path} -> {response.status_code} {value}"
                    )

        exercise()
    assert operations >= 10
    assert failures == []
