"""A deployment on several processes: pools sized by settings, a database out of reach answered
503 with Retry-After (not 500), and a refused setting that never echoes what it held."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.conftest import free_port
from typer.testing import CliRunner

from parcours.app import create_app
from parcours.cli import app as cli
from parcours.core.db import Database
from parcours.core.settings import Environment, Settings, SettingsError, load_settings


def test_pool_sizes_are_settings_with_safe_defaults() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/parcours_pool_check"
    default = Database.from_settings(Settings(environment=Environment.TEST, database_url=url))
    sized = Database.from_settings(
        Settings(
            environment=Environment.TEST,
            database_url=url,
            database_pool_size=3,
            database_max_overflow=0,
        )
    )
    try:
        # Six processes of the default fit PostgreSQL's default max_connections (100).
        default_total = default.engine.pool.size() + default.engine.pool._max_overflow  # type: ignore[attr-defined]
        assert default_total * 6 <= 100
        assert (sized.engine.pool.size(), sized.engine.pool._max_overflow) == (3, 0)  # type: ignore[attr-defined]
    finally:
        default.dispose()
        sized.dispose()


def test_a_database_out_of_reach_is_a_503_with_retry_after() -> None:
    # Nothing listens on this port: every connection is refused, as when max_connections is hit.
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    settings = Settings(environment=Environment.TEST, database_url=url, relay_in_process=False)
    database = Database.from_settings(settings)
    try:
        app = create_app(settings, database=database)
        with TestClient(
            app, base_url="https://testserver", raise_server_exceptions=False
        ) as client:
            answer = client.get("/v1/products", headers={"Authorization": "Bearer sk_test_x"})
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "2"
        assert answer.json()["code"] == "database_unavailable"
        assert "127.0.0.1" not in answer.text
        assert "postgres" not in answer.text
    finally:
        database.dispose()


def test_a_refused_setting_never_echoes_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk_live_51VerySecretStripeKeyTail"
    monkeypatch.setenv("PARCOURS_STRIPE_API_KEY", secret)
    monkeypatch.setenv("PARCOURS_PORT", secret)  # a value pasted in the wrong variable
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert "PARCOURS_PORT" in str(refused.value)
    assert "Tail" not in str(refused.value)
    assert secret not in str(refused.value)
    result = CliRunner().invoke(cli, ["migrate"])
    assert result.exit_code == 2
    assert "PARCOURS_PORT" in result.output
    assert "Tail" not in result.output
