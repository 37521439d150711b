"""Every back-office page on a simulated shop (half a year, a few hundred thousand events), as a
manager sees it on a 1440×900 screen: the pictures of docs/backoffice.md
(``PARCOURS_SCREENSHOTS=docs/screenshots``). Each page must draw its chart without a script
error first."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from playwright.sync_api import Page, expect
from tests.e2e.backoffice.conftest import Backoffice

from parcours.journeys.lake import Lake
from parcours.journeys.simulate import simulate_history

#: (screenshot name, address under /gestion/parcours, the chart it must draw or None)
PAGES = (
    ("overview", "", "#daily-chart"),
    ("stages", "/etapes", "#stages-chart"),
    ("paths", "/chemins", "#paths-chart"),
    ("web-to-store", "/web-magasin", "#ropo-chart"),
    ("value", "/valeur", "#value-chart"),
    ("friction", "/frictions", None),
    ("cohorts", "/cohortes", None),
    (
        "funnel",
        "/entonnoir?event=Product+Viewed&event=Product+Added&event=Checkout+Started"
        "&event=Order+Completed&window=7&order=ordered&breakdown=channel",
        "#funnel-chart",
    ),
)


def test_screenshots_of_every_page(
    manager_page: Page,
    backoffice_server: Backoffice,
    history: str,
    screenshot: Callable[[Page, str], Path],
) -> None:
    lake_dir = backoffice_server.settings.lake_dir
    shutil.rmtree(lake_dir, ignore_errors=True)
    simulate_history(
        lake=Lake(lake_dir), events=300_000, end=datetime(2026, 6, 30), profiles=[history]
    )
    page = manager_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    for name, path, chart in PAGES:
        page.goto(f"{backoffice_server.url}/gestion/parcours{path}")
        if chart is not None:
            expect(page.locator(chart)).to_have_attribute("data-drawn", "true")
        assert errors == [], (name, errors)
        screenshot(page, f"backoffice-{name}")
    # Who dropped before ordering, from the funnel's last step.
    page.locator('#funnel-table tr[data-step="4"]').get_by_role("link").click()
    expect(page.locator("#dropped-table tbody tr").first).to_be_visible()
    screenshot(page, "backoffice-dropped")
    # The same funnel on a tablet in landscape.
    page.set_viewport_size({"width": 1180, "height": 820})
    page.go_back()
    expect(page.locator("#funnel-chart")).to_have_attribute("data-drawn", "true")
    screenshot(page, "backoffice-funnel-tablet")
