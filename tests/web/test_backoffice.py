"""The journey back-office over HTTP: who may open it, what its CSV exports hold, and how it
answers a wrong period, origin, table or funnel (a form error or a problem, never a crash)."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.e2e.backoffice.history import shop_history

from parcours.core.auth.models import Role
from parcours.core.settings import Settings
from parcours.journeys import service
from parcours.journeys.schemas import FunnelSpec, FunnelStep

PAGES = (
    "/gestion/parcours",
    "/gestion/parcours/etapes",
    "/gestion/parcours/entonnoir",
    "/gestion/parcours/chemins",
    "/gestion/parcours/web-magasin",
    "/gestion/parcours/valeur",
    "/gestion/parcours/frictions",
    "/gestion/parcours/cohortes",
)
#: Every page's tables, as its results name them.
TABLES = {
    "/gestion/parcours": ("overview", "daily_orders"),
    "/gestion/parcours/etapes": ("stages", "moments"),
    "/gestion/parcours/entonnoir": ("funnel",),
    "/gestion/parcours/chemins": ("paths", "path_links"),
    "/gestion/parcours/web-magasin": ("web_to_store",),
    "/gestion/parcours/valeur": ("omnichannel_value",),
    "/gestion/parcours/frictions": ("friction",),
    "/gestion/parcours/cohortes": ("cohorts",),
}
FUNNEL = (
    "event=Product+Viewed&event=Product+Added&event=Checkout+Started&event=Order+Completed"
    "&window=7&order=ordered"
)


@pytest.fixture
def app(app: FastAPI, settings: Settings) -> FastAPI:
    """The app over the test history."""
    shop_history(settings.lake_dir)
    return app


@pytest.fixture
def manager(staff_client: Callable[..., TestClient]) -> TestClient:
    client = staff_client(Role.MANAGER)
    client.headers["Accept"] = "text/html"
    return client


def _csv(response: object) -> list[list[str]]:
    body = response.content  # type: ignore[attr-defined]
    assert body.startswith("\ufeff".encode()), "a byte order mark, for Excel"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


@pytest.mark.parametrize("role", [Role.MANAGER, Role.MARKETER, Role.ADMIN])
def test_managers_marketers_and_admins_open_every_page(
    staff_client: Callable[..., TestClient], role: Role
) -> None:
    client = staff_client(role)
    for path in PAGES:
        response = client.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 200, (path, response.text[:500])
        assert "text/html" in response.headers["content-type"]


def test_associates_are_refused(staff_client: Callable[..., TestClient]) -> None:
    associate = staff_client(Role.ASSOCIATE, stores={"loc_store_a"})
    for path in PAGES:
        response = associate.get(path)
        assert response.status_code == 403, path
        assert response.json()["code"] == "insufficient_role"


def test_a_stranger_is_sent_to_sign_in(client: TestClient) -> None:
    response = client.get(
        "/gestion/parcours/entonnoir", headers={"Accept": "text/html"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/connexion?next=/gestion/parcours/entonnoir"
    assert client.get("/gestion/parcours?format=csv&table=overview").status_code == 401


def test_every_table_of_every_page_exports_as_csv(manager: TestClient) -> None:
    for path, names in TABLES.items():
        for name in names:
            response = manager.get(f"{path}?format=csv&table={name}")
            assert response.status_code == 200, (path, name, response.text[:300])
            assert response.headers["content-type"] == "text/csv; charset=utf-8"
            assert "attachment" in response.headers["content-disposition"]
            assert f"parcours-{name}-" in response.headers["content-disposition"]
            rows = _csv(response)
            assert rows[0], (path, name)


def test_the_csv_holds_the_service_figures_unformatted(
    manager: TestClient, app: FastAPI, settings: Settings
) -> None:
    engine = service.open_engine(settings, app.state.db)
    scope = service.default_scope(engine=engine, days=90)
    spec = FunnelSpec(
        steps=[
            FunnelStep(event=name)
            for name in ("Product Viewed", "Product Added", "Checkout Started", "Order Completed")
        ]
    )
    expected = service.run_funnel(engine=engine, scope=scope, spec=spec).tables()[0]
    start, end = scope.period.start.date(), scope.period.end.date()
    last = end.fromordinal(end.toordinal() - 1)
    response = manager.get(
        f"/gestion/parcours/entonnoir?start={start}&end={last}&{FUNNEL}&format=csv&table=funnel"
    )
    rows = _csv(response)
    assert rows[0] == expected.columns
    assert len(rows) == len(expected.rows) + 1
    for got, want in zip(rows[1:], expected.rows, strict=True):
        assert got == ["" if v is None else str(v) for v in want]
    # Shares stay shares (0.5, not "50 %"), amounts stay minor units.
    overview = _csv(manager.get("/gestion/parcours?format=csv&table=overview"))
    measures = {row[0]: row[1] for row in overview[1:]}
    result = service.overview(engine=engine, scope=scope)
    assert measures["revenue"] == str(result.revenue)
    assert measures["omnichannel_share"] == str(result.omnichannel_share)


def test_the_origin_filter_reads_one_origin(manager: TestClient) -> None:
    every = dict(_csv(manager.get("/gestion/parcours?format=csv&table=overview"))[1:])
    simulated = dict(
        _csv(manager.get("/gestion/parcours?origin=simulated&format=csv&table=overview"))[1:]
    )
    live = dict(_csv(manager.get("/gestion/parcours?origin=live&format=csv&table=overview"))[1:])
    assert int(simulated["orders"]) == 1
    assert int(live["orders"]) + int(simulated["orders"]) == int(every["orders"])


def test_a_spreadsheet_formula_in_a_search_stays_text() -> None:
    from parcours.journeys.schemas import Table
    from parcours.web.backoffice.shell import csv_body

    body = csv_body(
        Table(name="t", columns=["query", "count"], rows=[["=HYPERLINK(1)", -3], ["ok", None]])
    )
    assert body.splitlines() == ["query,count", "'=HYPERLINK(1),-3", "ok,"]


def test_an_unknown_table_is_a_problem(manager: TestClient) -> None:
    response = manager.get("/gestion/parcours?format=csv&table=nope")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "unknown_table"
    assert "daily_orders" in response.json()["detail"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2026-04-10&end=2026-03-01", "La fin de la période précède son début"),
        ("start=hier", "Date non reconnue"),
        ("start=0001-01-01&end=9999-12-31", "Date non reconnue"),
        ("origin=nowhere", "Origine des données inconnue"),
        ("start=2020-01-01&end=2026-04-01", "Période limitée à 400 jours"),
    ],
)
def test_a_wrong_period_or_origin_is_said_in_the_form(
    manager: TestClient, query: str, message: str
) -> None:
    page = manager.get(f"/gestion/parcours?{query}")
    assert page.status_code == 422
    assert message in page.text
    # …and its CSV is refused rather than served for another period.
    assert manager.get(f"/gestion/parcours?{query}&format=csv&table=overview").status_code == 422


def test_bad_numbers_in_the_address_are_problems(manager: TestClient) -> None:
    for path in (
        "/gestion/parcours/web-magasin?days=0",
        "/gestion/parcours/chemins?depth=abc",
        "/gestion/parcours/cohortes?months=99",
    ):
        response = manager.get(path)
        assert response.status_code == 422, path
        assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("event=Product+Viewed", "Un entonnoir a au moins deux étapes."),
        ("event=Product+Viewed&event=&fcol=&fcol=channel", "Chaque étape doit nommer un événement"),
        ("event=A&event=B&fcol=results&fop=gt&fval=beaucoup", "Cette colonne attend un nombre"),
        ("event=A&event=B&fcol=channel&fop=eq&fval=", "Un filtre doit avoir"),
        ("event=A&event=B&window=365", "La fenêtre va de 1 à 90 jours"),
        ("event=A&event=B&breakdown=mood", "Ventilation inconnue"),
        ("event=A&event=B&order=random", "Ordre des étapes inconnu"),
    ],
)
def test_a_wrong_funnel_is_said_in_the_form(manager: TestClient, query: str, message: str) -> None:
    page = manager.get(f"/gestion/parcours/entonnoir?{query}")
    assert page.status_code == 422
    assert message in page.text
    csv_answer = manager.get(f"/gestion/parcours/entonnoir?{query}&format=csv&table=funnel")
    assert csv_answer.status_code == 422
    assert csv_answer.json()["code"] == "invalid_funnel"


def test_a_funnel_with_a_filter_and_a_breakdown(manager: TestClient) -> None:
    query = (
        "event=Product+Viewed&event=Product+Added&fcol=&fcol=channel&fop=eq&fop=eq"
        "&fval=&fval=web&breakdown=channel&order=any&window=3"
    )
    page = manager.get(f"/gestion/parcours/entonnoir?{query}")
    assert page.status_code == 200
    assert 'data-table="funnel_breakdown"' in page.text
    rows = _csv(
        manager.get(f"/gestion/parcours/entonnoir?{query}&format=csv&table=funnel_breakdown")
    )
    assert rows[0] == ["channel", "step_1", "step_2"]


def test_who_dropped_is_a_masked_list_and_an_id_export(manager: TestClient) -> None:
    path = f"/gestion/parcours/entonnoir/abandons?{FUNNEL}&at=4"
    page = manager.get(path)
    assert page.status_code == 200
    assert 'data-person="p3"' in page.text
    rows = _csv(manager.get(path + "&format=csv"))
    assert rows[0] == ["person_id", "profile_id", "identified"]
    assert ["p3", "p3", "true"] in rows
    assert manager.get(f"/gestion/parcours/entonnoir/abandons?{FUNNEL}&at=9").status_code == 422
    assert manager.get(f"/gestion/parcours/entonnoir/abandons?{FUNNEL}&at=1").status_code == 422


def test_english_on_request(manager: TestClient) -> None:
    page = manager.get("/gestion/parcours/valeur?lang=en")
    assert page.status_code == 200
    assert '<html lang="en">' in page.text
    assert "Omnichannel customer value" in page.text
    french = manager.get("/gestion/parcours/valeur?lang=fr")
    assert "Valeur des clients omnicanaux" in french.text


def test_figures_are_formatted_in_french(
    manager: TestClient, app: FastAPI, settings: Settings
) -> None:
    engine = service.open_engine(settings, app.state.db)
    scope = service.default_scope(engine=engine, days=90)
    result = service.overview(engine=engine, scope=scope)
    page = manager.get("/gestion/parcours?lang=fr").text
    euros = f"{result.revenue / 100:,.2f}".replace(",", "\u202f").replace(".", ",") + "\xa0€"
    assert euros in page


def test_a_shop_without_history_shows_empty_pages(manager: TestClient, settings: Settings) -> None:
    shutil.rmtree(settings.lake_dir)
    for path in PAGES:
        page = manager.get(path)
        assert page.status_code == 200, (path, page.text[:300])
    dropped = manager.get(f"/gestion/parcours/entonnoir/abandons?{FUNNEL}&at=2")
    assert dropped.status_code == 200
    assert "Aucune donnée sur cette période." in dropped.text


def test_the_staff_home_leads_managers_and_marketers_to_the_journeys(
    staff_client: Callable[..., TestClient],
) -> None:
    for role in (Role.MANAGER, Role.MARKETER):
        page = staff_client(role).get("/equipe")
        assert page.status_code == 200
        assert 'href="/gestion/parcours"' in page.text
    associate = staff_client(Role.ASSOCIATE, stores={"loc_a"}).get("/equipe")
    assert 'href="/gestion/parcours"' not in associate.text
