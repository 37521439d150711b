"""JSON routes of journey analytics, for managers, marketers and servers. Every GET answers
CSV too (``?format=csv&table=<name>``): the same tables the back-office exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from parcours.core.auth.models import KeyKind, Role
from parcours.core.auth.principal import AccessPolicy, Principal
from parcours.core.errors import InvalidInput
from parcours.journeys import service
from parcours.journeys.engine import JourneyEngine
from parcours.journeys.schemas import (
    CohortsResult,
    FrictionResult,
    FunnelResult,
    FunnelSpec,
    OmnichannelValueResult,
    Overview,
    PathsResult,
    Period,
    Scope,
    StagesResult,
    Table,
    WebToStoreResult,
)

#: Journey analytics: the back office and marketing, and servers with a secret key.
JOURNEY_READ = AccessPolicy(
    "journey_read",
    roles=frozenset({Role.ADMIN, Role.MANAGER, Role.MARKETER}),
    keys=frozenset({KeyKind.SECRET}),
)
Reader = Annotated[Principal, Depends(JOURNEY_READ)]
#: Dates an analysis may name: enough for any shop's history, and far from the calendar's
#: ends (trends compare with the period of the same length before).
EARLIEST, LATEST = date(1990, 1, 1), date(2199, 12, 31)
router = APIRouter(prefix="/v1/journeys", tags=["journeys"])
R = TypeVar("R", bound=BaseModel)


def engine_of(request: Request) -> JourneyEngine:
    """The app's engine (one per app: it holds no connection, only where the lake is)."""
    engine: JourneyEngine | None = getattr(request.app.state, "journeys", None)
    if engine is None:
        engine = service.open_engine(request.app.state.settings, request.app.state.db)
        request.app.state.journeys = engine
    return engine


def scope_of(
    engine: JourneyEngine,
    start: date | None,
    end: date | None,
    origins: list[str] | None,
) -> Scope:
    """The period asked (``end`` inclusive, whole UTC days), else the last 90 days of data."""
    known = engine.lake.origins()
    for origin in origins or []:
        if origin not in {*known, "live"}:
            raise InvalidInput(
                f"unknown origin {origin!r}; the data holds {', '.join(known) or 'none'}",
                code="unknown_origin",
            )
    if start is None and end is None:
        return service.default_scope(engine=engine, origins=origins or None)
    if start is None or end is None:
        raise InvalidInput("give both start and end, or neither", code="invalid_period")
    if end < start:
        raise InvalidInput("the period must end on or after its start", code="invalid_period")
    if start < EARLIEST or end > LATEST:
        raise InvalidInput(
            f"the period must lie between {EARLIEST} and {LATEST}", code="invalid_period"
        )
    period = Period(
        start=datetime.combine(start, time(), UTC),
        end=datetime.combine(end, time(), UTC) + timedelta(days=1),
    )
    return Scope(period=period, origins=origins or None)


class ScopeQuery(BaseModel):
    start: date | None = None
    end: date | None = None
    origin: list[str] = Field(default_factory=list)
    format: Literal["json", "csv"] = "json"
    table: str | None = None


def _query(
    start: date | None = None,
    end: date | None = None,
    origin: Annotated[list[str] | None, Query()] = None,
    format: Literal["json", "csv"] = "json",
    table: str | None = None,
) -> ScopeQuery:
    return ScopeQuery(start=start, end=end, origin=origin or [], format=format, table=table)


QueryDep = Annotated[ScopeQuery, Depends(_query)]


def csv_response(tables: list[Table], name: str | None) -> Response:
    """One table as CSV (the first when ``name`` is not given), UTF-8 with a byte-order mark so
    spreadsheet programs read accents right."""
    chosen = next((t for t in tables if t.name == name), None) if name else tables[0]
    if chosen is None:
        raise InvalidInput(
            f"unknown table {name!r}; one of {', '.join(t.name for t in tables)}",
            code="unknown_table",
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(chosen.columns)
    writer.writerows(chosen.rows)
    return Response(
        "\ufeff" + buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{chosen.name}.csv"'},
    )


def _answer(result: Any, query: ScopeQuery) -> Any:
    if query.format == "csv":
        return csv_response(result.tables(), query.table)
    return result


def _run(request: Request, query: ScopeQuery, run: Callable[[JourneyEngine, Scope], R]) -> Any:
    engine = engine_of(request)
    return _answer(run(engine, scope_of(engine, query.start, query.end, query.origin)), query)


@router.get("/overview", response_model=Overview, summary="Key figures of the journey")
def get_overview(request: Request, _: Reader, query: QueryDep) -> Any:
    return _run(request, query, lambda e, s: service.overview(engine=e, scope=s))


@router.get("/stages", response_model=StagesResult, summary="Journey stages and moments of truth")
def get_stages(request: Request, _: Reader, query: QueryDep) -> Any:
    model = service.journey_model(request.app.state.settings)
    return _run(request, query, lambda e, s: service.journey_stages(engine=e, scope=s, model=model))


@router.get("/paths", response_model=PathsResult, summary="The most frequent cross-channel paths")
def get_paths(
    request: Request,
    _: Reader,
    query: QueryDep,
    depth: Annotated[int, Query(ge=2, le=6)] = 4,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Any:
    return _run(
        request, query, lambda e, s: service.top_paths(engine=e, scope=s, depth=depth, limit=limit)
    )


@router.get(
    "/web-to-store", response_model=WebToStoreResult, summary="Research online, buy in store"
)
def get_web_to_store(
    request: Request, _: Reader, query: QueryDep, days: Annotated[int, Query(ge=1, le=90)] = 7
) -> Any:
    return _run(request, query, lambda e, s: service.web_to_store(engine=e, scope=s, days=days))


@router.get(
    "/omnichannel-value",
    response_model=OmnichannelValueResult,
    summary="What omnichannel customers are worth",
)
def get_omnichannel_value(request: Request, _: Reader, query: QueryDep) -> Any:
    return _run(request, query, lambda e, s: service.omnichannel_value(engine=e, scope=s))


@router.get("/friction", response_model=FrictionResult, summary="Where shoppers trip")
def get_friction(request: Request, _: Reader, query: QueryDep) -> Any:
    return _run(request, query, lambda e, s: service.find_friction(engine=e, scope=s))


@router.get("/cohorts", response_model=CohortsResult, summary="Retention by first channel")
def get_cohorts(
    request: Request, _: Reader, query: QueryDep, months: Annotated[int, Query(ge=1, le=12)] = 6
) -> Any:
    return _run(
        request, query, lambda e, s: service.retention_cohorts(engine=e, scope=s, months=months)
    )


class FunnelQuery(BaseModel):
    spec: FunnelSpec
    start: date | None = None
    end: date | None = None
    origins: list[str] = Field(default_factory=list)


class DroppedProfiles(BaseModel):
    step: int
    profile_ids: list[str]


class CompiledFunnel(BaseModel):
    dialect: str
    sql: str
    params: list[Any]


@router.post("/funnels", response_model=FunnelResult, summary="Run a funnel")
def post_funnel(request: Request, _: Reader, body: FunnelQuery) -> Any:
    """Steps, window, order and breakdown in the body; the result per step and per value."""
    engine = engine_of(request)
    scope = scope_of(engine, body.start, body.end, body.origins)
    return service.run_funnel(engine=engine, scope=scope, spec=body.spec)


@router.post(
    "/funnels/dropped", response_model=DroppedProfiles, summary="Profiles who dropped at a step"
)
def post_funnel_dropped(
    request: Request,
    _: Reader,
    body: FunnelQuery,
    step: Annotated[int, Query(ge=2, le=8)],
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> DroppedProfiles:
    """Profiles whose best attempt reached the step before ``step`` and not ``step``: the list
    to win back (anonymous devices cannot be contacted, so they are not listed)."""
    if step > len(body.spec.steps):
        raise InvalidInput(f"the funnel has {len(body.spec.steps)} steps", code="unknown_step")
    engine = engine_of(request)
    scope = scope_of(engine, body.start, body.end, body.origins)
    ids = service.dropped_profiles(
        engine=engine, scope=scope, spec=body.spec, step=step, limit=limit
    )
    return DroppedProfiles(step=step, profile_ids=ids)


@router.post("/funnels/sql", response_model=CompiledFunnel, summary="A funnel as SQL for an engine")
def post_funnel_sql(
    request: Request,
    _: Reader,
    body: FunnelQuery,
    dialect: Literal["duckdb", "postgres", "clickhouse"] = "clickhouse",
) -> CompiledFunnel:
    """The same funnel as SQL over a table ``events`` of the journey columns (docs/journeys.md):
    what a retailer runs on a distributed engine."""
    engine = engine_of(request)
    scope = scope_of(engine, body.start, body.end, body.origins)
    compiled = service.compile_funnel(
        body.spec, scope.period, dialect=dialect, origins=scope.origins
    )
    return CompiledFunnel(dialect=dialect, sql=compiled.sql, params=compiled.params)
