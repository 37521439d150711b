"""Phone and desktop pages in headless Debian Chromium (the browser and the live server are
the root conftest's fixtures).

Screenshots go to ``PARCOURS_SCREENSHOTS`` when set (``docs/screenshots`` is refreshed that way),
else to the test's temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

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
