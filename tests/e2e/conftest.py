"""A live Parcours server on loopback and headless Debian Chromium driven by Playwright.

Screenshots go to ``PARCOURS_SCREENSHOTS`` when set (``docs/screenshots`` is refreshed that way),
else to the test's temporary folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from parcours.app import create_app
from parcours.core.db import Database
from parcours.core.settings import Environment, Settings

CHROMIUM = os.environ.get("PARCOURS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP = {"viewport": {"width": 1280, "height": 860}}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_db(database_url: str, db: Database) -> Database:
    return db


@pytest.fixture(scope="session")
def live_server(database_url: str, db: Database) -> Iterator[str]:
    port = _free_port()
    settings = Settings(
        environment=Environment.TEST,
        database_url=database_url,
        host="127.0.0.1",
        port=port,
        relay_in_process=False,
        log_level="WARNING",
    )
    app = create_app(settings, database=db)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", access_log=False, log_config=None
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run 'make browser' (Debian's chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="fr-FR", **PHONE)  # type: ignore[arg-type]
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def desktop(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="fr-FR", **DESKTOP)  # type: ignore[arg-type]
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(tmp_path: Path) -> Callable[[Page, str], Path]:
    target = Path(os.environ.get("PARCOURS_SCREENSHOTS", tmp_path))
    target.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str) -> Path:
        # A full-page picture shows images below the fold: load the lazy ones first.
        page.evaluate(
            """() => Promise.all(Array.from(document.images).map((img) => {
                img.loading = "eager";
                return img.decode().catch(() => null);
            }))"""
        )
        path = target / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
