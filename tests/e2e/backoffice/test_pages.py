"""A manager reads the journey: each page opens, draws its chart, and shows the figures the
journey service computes, formatted in French; the tables export as CSV."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from playwright.sync_api import Page, expect
from tests.e2e.backoffice.conftest import Backoffice

from parcours.core.db import Database
from parcours.journeys import service
from parcours.journeys.engine import JourneyEngine
from parcours.journeys.schemas import Scope
from parcours.web.backoffice.formatting import Formatter

FR = Formatter("fr", "fr_FR")
#: How many colours a canvas holds (sampled): one means nothing was drawn.
PAINTED = """(selector) => {
  const canvas = document.querySelector(selector);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const seen = new Set();
  for (let i = 0; i < pixels.length; i += 4 * 97) seen.add(pixels.slice(i, i + 4).join());
  return seen.size;
}"""


def _engine_and_scope(server: Backoffice, db: Database) -> tuple[JourneyEngine, Scope]:
    engine = service.open_engine(server.settings, db)
    return engine, service.default_scope(engine=engine, days=90)


def _drawn(page: Page, selector: str) -> None:
    canvas = page.locator(selector)
    expect(canvas).to_have_attribute("data-drawn", "true")
    box = canvas.bounding_box()
    assert box is not None
    assert box["width"] > 300
    assert box["height"] > 150
    # Something was painted: the canvas is not one flat colour.
    colours = page.evaluate(PAINTED, selector)
    assert colours > 3, f"{selector} looks empty"


def test_the_overview_shows_the_service_figures(
    manager_page: Page,
    backoffice_server: Backoffice,
    db: Database,
) -> None:
    page = manager_page
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.reload()
    engine, scope = _engine_and_scope(backoffice_server, db)
    result = service.overview(engine=engine, scope=scope)
    expect(page.get_by_role("heading", level=1)).to_have_text("Vue d'ensemble du parcours client")
    kpi = page.locator('[data-kpi="revenue"] .kpi-value')
    expect(kpi).to_have_text(FR.euros(result.revenue))
    expect(page.locator('[data-kpi="orders"] .kpi-value')).to_have_text(FR.integer(result.orders))
    expect(page.locator('[data-kpi="omnichannel_share"] .kpi-value')).to_have_text(
        FR.percent(result.omnichannel_share)
    )
    assert "\u00a0%" in FR.percent(result.omnichannel_share)  # "33,3 %"
    _drawn(page, "#daily-chart")
    assert errors == []


def test_stages_paths_and_web_to_store(
    manager_page: Page,
    backoffice_server: Backoffice,
    db: Database,
) -> None:
    page = manager_page
    engine, scope = _engine_and_scope(backoffice_server, db)
    page.get_by_role("link", name="Étapes").click()
    stages = service.journey_stages(engine=engine, scope=scope)
    _drawn(page, "#stages-chart")
    first = stages.stages[0]
    row = page.locator("#stages-table tbody tr").first
    expect(row.locator("td").nth(1)).to_have_text(FR.integer(first.reached))

    page.get_by_role("link", name="Chemins").click()
    paths = service.top_paths(engine=engine, scope=scope, depth=4, limit=20)
    if paths.links:
        _drawn(page, "#paths-chart")
    expect(page.locator("#paths-table tbody tr")).to_have_count(max(len(paths.paths), 1))

    page.get_by_role("link", name="Web-to-store").click()
    ropo = service.web_to_store(engine=engine, scope=scope, days=7)
    expect(page.locator('[data-kpi="share_after_research"] .kpi-value')).to_have_text(
        FR.percent(ropo.share_after_research)
    )
    expect(page.locator('[data-kpi="addon_revenue"] .kpi-value')).to_have_text(
        FR.euros(ropo.addon_revenue)
    )
    _drawn(page, "#ropo-chart")


def test_value_friction_and_cohorts(
    manager_page: Page,
    backoffice_server: Backoffice,
    db: Database,
) -> None:
    page = manager_page
    engine, scope = _engine_and_scope(backoffice_server, db)
    page.get_by_role("link", name="Valeur omnicanale").click()
    value = service.omnichannel_value(engine=engine, scope=scope)
    _drawn(page, "#value-chart")
    for segment in value.segments:
        cell = page.locator(f'tr[data-segment="{segment.segment}"] td').first
        expect(cell).to_have_text(FR.integer(segment.customers))

    page.get_by_role("link", name="Frictions").click()
    friction = service.find_friction(engine=engine, scope=scope)
    kinds = {row.kind for row in friction.rows}
    for kind in kinds:
        expect(page.locator(f'table[data-kind="{kind}"] tbody tr')).to_have_count(
            sum(1 for row in friction.rows if row.kind == kind)
        )
    if "zero_results" in kinds:
        expect(page.locator('table[data-kind="zero_results"]')).to_contain_text("robe rouge")

    page.get_by_role("link", name="Cohortes").click()
    cohorts = service.retention_cohorts(engine=engine, scope=scope, months=6)
    expect(page.locator("table.heatmap tbody tr")).to_have_count(max(len(cohorts.cohorts), 0))


def test_a_table_downloads_as_csv(manager_page: Page, tmp_path: Path) -> None:
    page = manager_page
    page.get_by_text("Voir les chiffres en tableau").click()
    with page.expect_download() as download:
        page.get_by_test_id("export-daily_orders").click()
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    assert target.name.startswith("parcours-daily_orders-")
    text = target.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["day", "online_orders", "store_orders"]
    shown = page.locator("#daily-table tbody tr").count()
    assert len(rows) - 1 == shown


def test_the_origin_selector_and_english(manager_page: Page) -> None:
    page = manager_page
    page.get_by_label("Origine des données").select_option("simulated")
    page.get_by_role("button", name="Appliquer").click()
    expect(page).to_have_url(re.compile(r"origin=simulated"))
    expect(page.locator('[data-kpi="orders"] .kpi-value')).to_have_text("1")
    # The sections keep the filters.
    page.get_by_role("link", name="Entonnoir").click()
    expect(page.get_by_label("Origine des données")).to_have_value("simulated")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Conversion funnel")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_on_a_tablet_nothing_spills_sideways(
    manager_page: Page, backoffice_server: Backoffice
) -> None:
    page = manager_page
    page.set_viewport_size({"width": 1024, "height": 768})
    for path in ("", "/entonnoir", "/valeur", "/frictions", "/cohortes"):
        page.goto(f"{backoffice_server.url}/gestion/parcours{path}")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, overflow)
