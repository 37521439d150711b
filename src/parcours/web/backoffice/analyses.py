"""The read-only analysis pages: overview, stages and moments of truth, paths, web-to-store,
omnichannel value, friction and cohorts.

Each page asks the journey service for one result over the chosen period and origin, draws it
(a chart and the same figures as a table, for people who cannot see the chart) and serves any of
its tables as CSV with ``?format=csv&table=<name>``: what is exported is what is shown.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from parcours.catalog import service as catalog
from parcours.core.errors import InvalidInput
from parcours.core.uow import UnitOfWork
from parcours.journeys import service
from parcours.journeys.schemas import (
    CohortsResult,
    FrictionResult,
    FrictionRow,
    OmnichannelValueResult,
    Overview,
    PathsResult,
    StagesResult,
    Table,
    WebToStoreResult,
)
from parcours.stores import service as stores
from parcours.web.backoffice.shell import (
    HOME,
    AnalystDep,
    Filters,
    FiltersDep,
    export_table,
    open_engine,
    render_backoffice,
    wants_csv,
)

router = APIRouter(include_in_schema=False)

TableName = Annotated[str | None, Query(max_length=40)]
#: Friction kinds in the order a manager acts on them.
FRICTION_KINDS = ("drop_off", "abandoned_checkout", "out_of_stock", "zero_results", "pickup_wait")
STAGES = ("need", "search", "comparison", "decision", "evaluation", "loyalty")


def _answer(
    request: Request,
    filters: Filters,
    tables: list[Table],
    table: str | None,
    template: str,
    section: str,
    **context: Any,
) -> Response:
    """The page, or one of its tables as CSV (refused while the filters are wrong: a file of
    the default period under the name of another would mislead)."""
    if wants_csv(request):
        if filters.errors:
            raise InvalidInput("the period or origin is not valid", code="invalid_filters")
        return export_table(tables, table, filters)
    extras = {name: value for name, _, value, _, _ in context.get("extra_fields", [])}
    return render_backoffice(
        request,
        template,
        section=section,
        filters=filters,
        tables=tables,
        page_query=filters.query(**extras),
        **context,
    )


# --- overview ----------------------------------------------------------------------------------


def _daily_chart(result: Overview) -> dict[str, Any]:
    return {
        "labels": [day for day, _, _ in result.daily],
        "series": [
            {"key": "online", "values": [online for _, online, _ in result.daily]},
            {"key": "store", "values": [store for _, _, store in result.daily]},
        ],
        "kind": "int",
        "dates": True,
    }


@router.get(HOME, response_class=HTMLResponse)
def overview_page(
    request: Request, _: AnalystDep, filters: FiltersDep, table: TableName = None
) -> Response:
    result = service.overview(engine=open_engine(request), scope=filters.scope)
    return _answer(
        request,
        filters,
        result.tables(),
        table,
        "backoffice/overview.html",
        "overview",
        result=result,
        chart=_daily_chart(result),
    )


# --- stages and moments of truth ---------------------------------------------------------------


@router.get(f"{HOME}/etapes", response_class=HTMLResponse)
def stages_page(
    request: Request, _: AnalystDep, filters: FiltersDep, table: TableName = None
) -> Response:
    result: StagesResult = service.journey_stages(engine=open_engine(request), scope=filters.scope)
    chart = {
        "labels": [row.stage for row in result.stages],
        "series": [
            {"key": "reached", "values": [row.reached for row in result.stages]},
            {"key": "current", "values": [row.current for row in result.stages]},
        ],
        "kind": "int",
    }
    return _answer(
        request,
        filters,
        result.tables(),
        table,
        "backoffice/stages.html",
        "stages",
        result=result,
        chart=chart,
    )


# --- paths -------------------------------------------------------------------------------------


@router.get(f"{HOME}/chemins", response_class=HTMLResponse)
def paths_page(
    request: Request,
    _: AnalystDep,
    filters: FiltersDep,
    table: TableName = None,
    depth: Annotated[int, Query(ge=2, le=6)] = 4,
) -> Response:
    result: PathsResult = service.top_paths(
        engine=open_engine(request), scope=filters.scope, depth=depth, limit=20
    )
    sankey = {
        "links": [
            {"from": link.source, "to": link.target, "flow": link.persons} for link in result.links
        ]
    }
    return _answer(
        request,
        filters,
        result.tables(),
        table,
        "backoffice/paths.html",
        "paths",
        result=result,
        chart=sankey,
        extra_fields=[("depth", "backoffice.paths.depth", depth, 2, 6)],
    )


# --- web-to-store ------------------------------------------------------------------------------


@router.get(f"{HOME}/web-magasin", response_class=HTMLResponse)
def web_to_store_page(
    request: Request,
    _: AnalystDep,
    filters: FiltersDep,
    table: TableName = None,
    days: Annotated[int, Query(ge=1, le=60)] = 7,
) -> Response:
    result: WebToStoreResult = service.web_to_store(
        engine=open_engine(request), scope=filters.scope, days=days
    )
    product = result.after_product_research
    category_only = max(result.after_category_research - product, 0)
    without = max(result.store_purchases - result.after_category_research, 0)
    chart = {
        "labels": ["after_product_research", "after_category_only", "without_research"],
        "series": [{"key": "store_purchases", "values": [product, category_only, without]}],
        "kind": "int",
    }
    return _answer(
        request,
        filters,
        result.tables(),
        table,
        "backoffice/web_to_store.html",
        "web_to_store",
        result=result,
        chart=chart,
        days=days,
        extra_fields=[("days", "backoffice.web_to_store.days", days, 1, 60)],
        checks_share=_share(result.checks_then_store_purchase, result.availability_checks),
        addon_share=_share(result.pickups_with_addon, result.pickups),
        addon_average=(result.addon_revenue / result.pickups_with_addon)
        if result.pickups_with_addon
        else None,
    )


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# --- omnichannel value -------------------------------------------------------------------------


@router.get(f"{HOME}/valeur", response_class=HTMLResponse)
def value_page(
    request: Request, _: AnalystDep, filters: FiltersDep, table: TableName = None
) -> Response:
    result: OmnichannelValueResult = service.omnichannel_value(
        engine=open_engine(request), scope=filters.scope
    )
    chart = {
        "labels": [s.segment for s in result.segments],
        "series": [
            {"key": key, "values": [round(getattr(s, key).mean) for s in result.segments]}
            for key in ("online_spend", "store_spend")
        ],
        "kind": "money",
        "stacked": True,
    }
    return _answer(
        request,
        filters,
        result.tables(),
        table,
        "backoffice/value.html",
        "value",
        result=result,
        chart=chart,
        measures=("spend", "orders", "basket", "retained", "online_spend", "store_spend"),
    )


# --- friction ----------------------------------------------------------------------------------


def _trend(row: FrictionRow) -> str:
    """Up, down or flat against the previous period (a tenth either way is noise)."""
    if row.previous == 0:
        return "new" if row.count else "flat"
    change = (row.count - row.previous) / row.previous
    if change > 0.1:
        return "up"
    if change < -0.1:
        return "down"
    return "flat"


@router.get(f"{HOME}/frictions", response_class=HTMLResponse)
def friction_page(
    request: Request, _: AnalystDep, filters: FiltersDep, table: TableName = None
) -> Response:
    result: FrictionResult = service.find_friction(engine=open_engine(request), scope=filters.scope)
    grouped: dict[str, list[FrictionRow]] = defaultdict(list)
    for row in result.rows:
        grouped[row.kind].append(row)
    kinds = [k for k in FRICTION_KINDS if k in grouped] + sorted(
        k for k in grouped if k not in FRICTION_KINDS
    )
    groups = [
        (
            kind,
            grouped[kind],
            # A store column only where it says more than the label (waits are per store).
            any(r.store_id and r.store_id != r.label for r in grouped[kind]),
            any(r.value is not None for r in grouped[kind]),
        )
        for kind in kinds
    ]
    return _answer(
        request,
        filters,
        result.tables(),
        table,
        "backoffice/friction.html",
        "friction",
        result=result,
        groups=groups,
        names=_names(request, result.rows),
        all_kinds=FRICTION_KINDS,
        trend=_trend,
    )


def _names(request: Request, rows: list[FrictionRow]) -> dict[str, str]:
    """Store and product names for the ids the friction rows carry (the CSV keeps the ids)."""
    store_ids = {r.store_id for r in rows if r.store_id} | {
        r.label for r in rows if r.kind == "pickup_wait"
    }
    product_ids = [r.label for r in rows if r.kind == "out_of_stock"]
    with UnitOfWork(request.app.state.db, read_only=True) as uow:
        names = {
            sid: location.name
            for sid, location in stores.get_locations(uow=uow, location_ids=store_ids).items()
        }
        if product_ids:
            products = catalog.products_by_ids(uow=uow, product_ids=product_ids, channel=None)
            names.update((product.id, product.name) for product in products)
    return names


# --- cohorts -----------------------------------------------------------------------------------


@router.get(f"{HOME}/cohortes", response_class=HTMLResponse)
def cohorts_page(
    request: Request,
    _: AnalystDep,
    filters: FiltersDep,
    table: TableName = None,
    months: Annotated[int, Query(ge=1, le=12)] = 6,
) -> Response:
    result: CohortsResult = service.retention_cohorts(
        engine=open_engine(request), scope=filters.scope, months=months
    )
    by_channel: dict[str, list[Any]] = defaultdict(list)
    for row in result.cohorts:
        by_channel[row.first_channel].append(row)
    width = max((len(c.retention) for c in result.cohorts), default=0)
    period = filters.scope.period
    period_months = max(round((period.end - period.start).days / 30.4), 1)
    return _answer(
        request,
        filters,
        result.tables(),
        table,
        "backoffice/cohorts.html",
        "cohorts",
        result=result,
        channels=sorted(by_channel.items(), key=lambda item: item[0] != "online"),
        width=width,
        months=months,
        period_months=period_months,
        extra_fields=[("months", "backoffice.cohorts.months", months, 1, 12)],
        # A shade per 5 points of retention, the darkest from 50%.
        heat=lambda share: min(int(share * 20 + 0.5), 10) if share is not None else 0,
    )
