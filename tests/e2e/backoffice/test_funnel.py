"""A marketer builds a funnel in the browser: picks the steps, adds and removes one, filters a
step, breaks it down by channel, reads conversion and median time per step, opens the people who
dropped (masked) and exports them."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from playwright.sync_api import Page, expect
from tests.e2e.backoffice.conftest import Backoffice

from parcours.core.db import Database
from parcours.journeys import service
from parcours.journeys.schemas import FunnelSpec, FunnelStep
from parcours.web.backoffice.formatting import Formatter

FR = Formatter("fr", "fr_FR")


def test_build_a_funnel_and_reach_who_dropped(
    manager_page: Page,
    backoffice_server: Backoffice,
    db: Database,
    history: str,
    tmp_path: Path,
) -> None:
    page = manager_page
    page.get_by_role("link", name="Entonnoir").click()
    # The default funnel runs at once: product view to order.
    expect(page.locator("#funnel-table tbody tr")).to_have_count(4)
    # Rebuild it: remove the last step, add "Checkout Step Completed" then "Order Completed".
    steps = page.get_by_test_id("step-event")
    page.get_by_role("button", name="Retirer l'étape 4").click()
    expect(steps).to_have_count(3)
    page.get_by_role("button", name="+ Ajouter une étape").click()
    expect(steps).to_have_count(4)
    expect(page.get_by_role("group", name="Étape 4")).to_be_visible()
    steps.nth(3).fill("Order Completed")
    page.get_by_label("Ventiler par").select_option("channel")
    page.get_by_label("Fenêtre (jours)").fill("14")
    page.get_by_role("button", name="Calculer l'entonnoir").click()
    expect(page).to_have_url(re.compile(r"breakdown=channel"))

    engine = service.open_engine(backoffice_server.settings, db)
    scope = service.default_scope(engine=engine, days=90)
    spec = FunnelSpec(
        steps=[
            FunnelStep(event=e)
            for e in ("Product Viewed", "Product Added", "Checkout Started", "Order Completed")
        ],
        window_days=14,
        breakdown="channel",
    )
    result = service.run_funnel(engine=engine, scope=scope, spec=spec)
    for step in result.steps:
        row = page.locator(f'#funnel-table tr[data-step="{step.index}"]')
        expect(row.locator('[data-col="persons"]')).to_have_text(FR.integer(step.persons))
        expect(row.locator('[data-col="conversion"]')).to_have_text(FR.percent(step.conversion))
        expect(row.locator('[data-col="median_seconds"]')).to_have_text(
            FR.duration(step.median_seconds)
        )
    expect(page.locator("#funnel-chart")).to_have_attribute("data-drawn", "true")
    expect(page.locator("#breakdown-table tbody tr")).to_have_count(len(result.breakdown))

    with page.expect_download() as download:
        page.get_by_test_id("export-funnel").click()
    rows = list(
        csv.reader(io.StringIO(Path(download.value.path()).read_bytes().decode("utf-8-sig")))
    )
    assert rows[0] == result.tables()[0].columns
    assert [int(r[2]) for r in rows[1:]] == [s.persons for s in result.steps]

    # Who dropped before ordering: Camille, masked.
    last = result.steps[-1]
    page.locator('#funnel-table tr[data-step="4"]').get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Arrêtés à l'étape 4")
    expect(page.locator("#dropped-table")).to_contain_text("Camille D.")
    expect(page.locator("#dropped-table")).to_contain_text("c***@exemple.fr")
    expect(page.locator("#dropped-table")).not_to_contain_text("Dupont")
    expect(page.locator("#dropped-table tbody tr")).to_have_count(last.dropped)
    link = page.get_by_role("link", name="Camille D.")
    expect(link).to_have_attribute("href", f"/associate/clients/{history}")

    with page.expect_download() as download:
        page.get_by_test_id("export-dropped").click()
    target = tmp_path / "dropped.csv"
    download.value.save_as(target)
    exported = list(csv.reader(io.StringIO(target.read_bytes().decode("utf-8-sig"))))
    assert exported[0] == ["person_id", "profile_id", "identified"]
    assert [history, history, "true"] in exported


def test_a_step_filter_that_needs_a_number_is_said_in_the_form(manager_page: Page) -> None:
    page = manager_page
    page.get_by_role("link", name="Entonnoir").click()
    page.locator("#fcol-1").select_option("results")
    page.locator("#fval-1").fill("beaucoup")
    page.get_by_role("button", name="Calculer l'entonnoir").click()
    expect(page.get_by_role("alert")).to_contain_text("Cette colonne attend un nombre entier.")
    expect(page.locator("#fval-1")).to_have_value("beaucoup")
