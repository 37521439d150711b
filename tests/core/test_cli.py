"""The ``parcours`` command as an operator runs it, in a separate process on a fresh SQLite file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PARCOURS = str(Path(sys.executable).with_name("parcours"))


def _run(args: list[str], url: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PARCOURS_DATABASE_URL": url, "PARCOURS_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [PARCOURS, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'var' / 'shop.db'}"


def test_migrate_keys_users_worker_and_demo(url: str) -> None:
    migrated = _run(["migrate"], url)
    assert migrated.returncode == 0, migrated.stderr
    assert "up to date" in migrated.stdout

    key = _run(["keys", "create", "--kind", "write", "--source", "till", "--name", "caisse"], url)
    assert key.returncode == 0, key.stderr
    key_id, token = key.stdout.split()
    assert key_id.startswith("key_")
    assert token.startswith("wk_")
    assert "will not be shown again" in key.stderr
    bad_key = _run(["keys", "create", "--kind", "root"], url)
    assert bad_key.returncode == 1
    assert "--kind is secret, publishable or write" in bad_key.stderr
    revoked = _run(["keys", "revoke", key_id], url)
    assert revoked.returncode == 0, revoked.stderr

    demo = _run(["demo", "--no-serve"], url)
    assert demo.returncode == 0, demo.stderr
    assert "products: 304" in demo.stdout
    assert "associate@demo.parcours.dev" in demo.stdout
    assert "write key (web): wk_" in demo.stdout
    # The demo kiosk is paired by opening the printed link on its screen (a kiosk writes
    # nothing until paired); each start prints a fresh one-time code.
    link = re.search(r"/kiosk/PAR-RIV/appairer\?code=([A-Z0-9]{4}-[A-Z0-9]{4})", demo.stdout)
    assert link is not None, demo.stdout
    again = _run(["demo", "--no-serve"], url)
    assert "already loaded" in again.stdout
    second = re.search(r"/kiosk/PAR-RIV/appairer\?code=([A-Z0-9-]+)", again.stdout)
    assert second is not None
    assert second.group(1) != link.group(1)

    user = _run(
        [
            "users",
            "create",
            "--email",
            "lea@boutique.example",
            "--name",
            "Léa",
            "--role",
            "associate",
            "--store",
            "LYO-REP",
        ],
        url,
        stdin="un mot de passe solide\nun mot de passe solide\n",
    )
    assert user.returncode == 0, user.stderr
    unknown_store = _run(
        [
            "users",
            "create",
            "--email",
            "tom@boutique.example",
            "--name",
            "Tom",
            "--role",
            "associate",
            "--store",
            "NOWHERE",
            "--password",
            "un mot de passe solide",
        ],
        url,
    )
    assert unknown_store.returncode == 1
    assert "unknown store code(s): NOWHERE" in unknown_store.stderr

    worker = _run(["worker", "--once"], url)
    assert worker.returncode == 0, worker.stderr
    assert worker.stdout.startswith("dispatched ")
