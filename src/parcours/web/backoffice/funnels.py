"""The funnel builder: steps chosen from the events the data holds, each with an optional
filter, a conversion window, ordered or any order, a breakdown; the result per step, and the
people who dropped at a step (masked, exportable for a campaign).

The whole funnel is in the query string (``event``, ``fcol``, ``fop``, ``fval`` once per step,
``window``, ``order``, ``breakdown``): a funnel is shared by sending its address, and its CSV is
that address plus ``format=csv``.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from parcours.core.auth.models import Role
from parcours.core.errors import InvalidInput, NotFound
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.models import IdentifierKind
from parcours.journeys import service
from parcours.journeys.engine import JourneyEngine
from parcours.journeys.schemas import (
    BREAKDOWNS,
    FILTER_COLUMNS,
    FunnelResult,
    FunnelSpec,
    Scope,
    Table,
)
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

FUNNEL = f"{HOME}/entonnoir"
DROPPED = f"{FUNNEL}/abandons"
#: The funnel a manager sees first: from a product page to an order, in a week.
DEFAULT_STEPS = ("Product Viewed", "Product Added", "Checkout Started", "Order Completed")
#: Names always offered, even before the data holds them (Segment's e-commerce events).
KNOWN_EVENTS = (
    "Products Searched",
    "Product Viewed",
    "Product Added",
    "Cart Viewed",
    "Checkout Started",
    "Checkout Step Completed",
    "Order Completed",
    "Order Collected",
    "Pickup Checked In",
    "Store Stock Checked",
    "Customer Recognised",
    "Advice Requested",
    "Coupon Applied",
    "Coupon Redeemed",
    "Campaign Received",
    "Promotion Clicked",
    "Product Shared",
    "Product Reviewed",
    "Order Refunded",
    "Order Cancelled",
)
OPS = ("eq", "ne", "in", "gt", "lt")
MAX_STEPS = 8
#: People listed on the page; the CSV has up to DROPPED_LIMIT.
DROPPED_SHOWN = 50
DROPPED_LIMIT = 500
_INT_COLUMNS = frozenset({"results", "step"})
_TRUE = frozenset({"true", "1", "yes", "oui", "vrai"})


@dataclass(slots=True)
class StepRow:
    """One row of the builder as typed (kept as text so a wrong value is shown back)."""

    event: str = ""
    column: str = ""
    op: str = "eq"
    value: str = ""


@dataclass(slots=True)
class Builder:
    steps: list[StepRow]
    window: str = "7"
    order: str = "ordered"
    breakdown: str = ""

    def query(self, filters: Filters, **extra: Any) -> str:
        """The filters and this funnel as a query string."""
        return filters.query(
            event=[s.event for s in self.steps],
            fcol=[s.column for s in self.steps],
            fop=[s.op for s in self.steps],
            fval=[s.value for s in self.steps],
            window=self.window,
            order=self.order,
            breakdown=self.breakdown or None,
            **extra,
        )


def _read_builder(request: Request) -> Builder:
    params = request.query_params
    events = [e.strip()[:200] for e in params.getlist("event")][:MAX_STEPS]
    if not events:
        return Builder(steps=[StepRow(event=name) for name in DEFAULT_STEPS])

    def nth(name: str, index: int, default: str = "") -> str:
        values = params.getlist(name)
        return values[index].strip()[:200] if index < len(values) else default

    rows = [
        StepRow(event=event, column=nth("fcol", i), op=nth("fop", i, "eq"), value=nth("fval", i))
        for i, event in enumerate(events)
    ]
    rows = [row for row in rows if row.event or row.column]
    return Builder(
        steps=rows,
        window=params.get("window", "7")[:3],
        order=params.get("order", "ordered")[:10],
        breakdown=params.get("breakdown", "")[:40],
    )


def _filter_value(column: str, op: str, text: str) -> str | int | bool | list[str]:
    if op == "in":
        return [part.strip() for part in text.split(",") if part.strip()]
    if column == "available":
        return text.lower() in _TRUE
    if column in _INT_COLUMNS:
        return int(text)  # ValueError: reported as the step's error
    return text


def _spec(builder: Builder) -> tuple[FunnelSpec | None, list[str]]:
    """The funnel to run, or the message ids of what is wrong with the form."""
    errors: list[str] = []
    steps: list[dict[str, Any]] = []
    for row in builder.steps:
        if not row.event:
            errors.append("backoffice.funnel.error.event")
            continue
        step: dict[str, Any] = {"event": row.event, "filters": []}
        if row.column:
            if row.column not in FILTER_COLUMNS or row.op not in OPS or not row.value:
                errors.append("backoffice.funnel.error.filter")
            else:
                try:
                    value = _filter_value(row.column, row.op, row.value)
                except ValueError:
                    errors.append("backoffice.funnel.error.number")
                else:
                    step["filters"].append({"column": row.column, "op": row.op, "value": value})
        steps.append(step)
    if len(steps) < 2:
        errors.append("backoffice.funnel.error.steps")
    try:
        window = int(builder.window)
    except ValueError:
        window = 0
    if not 1 <= window <= 90:
        errors.append("backoffice.funnel.error.window")
    if builder.order not in ("ordered", "any"):
        errors.append("backoffice.funnel.error.order")
    if builder.breakdown and builder.breakdown not in BREAKDOWNS:
        errors.append("backoffice.funnel.error.breakdown")
    if errors:
        return None, list(dict.fromkeys(errors))
    try:
        spec = FunnelSpec(
            steps=steps,  # validated by pydantic here
            window_days=window,
            order=builder.order,
            breakdown=builder.breakdown or None,
        )
    except ValidationError:
        return None, ["backoffice.funnel.error.invalid"]
    return spec, []


def _event_names(engine: JourneyEngine, scope: Scope) -> list[str]:
    """The event names of the period, most frequent first, then the known ones not seen."""
    rows = engine.rows(
        "SELECT event, count(*) AS n FROM events WHERE ts >= ? AND ts < ? "
        "GROUP BY event ORDER BY n DESC, event LIMIT 200",
        [scope.period.start, scope.period.end],
        origins=scope.origins,
    )
    seen = [str(name) for name, _ in rows if name]
    return seen + [name for name in KNOWN_EVENTS if name not in seen]


def _chart(result: FunnelResult) -> dict[str, Any]:
    return {
        "labels": [f"{s.index}. {s.label}" for s in result.steps],
        "series": [{"key": "persons", "values": [s.persons for s in result.steps]}],
        "kind": "int",
        "horizontal": True,
    }


@router.get(FUNNEL, response_class=HTMLResponse)
def funnel_page(
    request: Request,
    _: AnalystDep,
    filters: FiltersDep,
    table: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    engine = open_engine(request)
    builder = _read_builder(request)
    spec, errors = _spec(builder)
    result = None
    if spec is not None:
        result = service.run_funnel(engine=engine, scope=filters.scope, spec=spec)
    if wants_csv(request):
        if result is None or filters.errors:
            raise InvalidInput("the funnel or the period is not valid", code="invalid_funnel")
        return export_table(result.tables(), table, filters)
    while len(builder.steps) < 2:
        builder.steps.append(StepRow())
    return render_backoffice(
        request,
        "backoffice/funnel.html",
        section="funnel",
        filters=filters,
        status_code=422 if errors else 200,
        builder=builder,
        form_errors=errors,
        result=result,
        tables=result.tables() if result else [],
        chart=_chart(result) if result else None,
        event_names=_event_names(engine, filters.scope),
        filter_columns=FILTER_COLUMNS,
        ops=OPS,
        breakdowns=BREAKDOWNS,
        max_steps=MAX_STEPS,
        query=builder.query(filters),
    )


# --- who dropped -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DroppedPerson:
    person_id: str
    profile_id: str | None  # None: a visitor never identified
    name: str = ""
    email: str | None = None
    city: str | None = None
    known: bool = True  # False: an id the lake holds that the database does not (imports)


def _describe(uow: UnitOfWork, person_id: str) -> DroppedPerson:
    """Masked like the associate's search list: enough to recognise, not to copy."""
    if person_id.startswith("a:"):
        return DroppedPerson(person_id=person_id, profile_id=None)
    with suppress(NotFound):
        profile = customers.resolve_profile(uow=uow, profile_id=person_id)
        if profile.erased_at is None:
            email = next(
                (
                    customers.mask_identifier(i.kind, i.value)
                    for i in customers.identifiers_of(uow=uow, profile_id=profile.id)
                    if i.kind == IdentifierKind.EMAIL.value
                ),
                None,
            )
            return DroppedPerson(
                person_id=person_id,
                profile_id=profile.id,
                name=customers.masked_name(profile.traits),
                email=email,
                city=customers.city_of(profile.traits),
            )
    return DroppedPerson(person_id=person_id, profile_id=person_id, known=False)


def dropped_table(person_ids: list[str]) -> Table:
    """The CSV of a targeting list: ids only, never names or addresses."""
    return Table(
        name="dropped",
        columns=["person_id", "profile_id", "identified"],
        rows=[
            [pid, None if pid.startswith("a:") else pid, not pid.startswith("a:")]
            for pid in person_ids
        ],
    )


@router.get(DROPPED, response_class=HTMLResponse)
def dropped_page(
    request: Request,
    principal: AnalystDep,
    filters: FiltersDep,
    at: Annotated[int, Query(ge=2, le=MAX_STEPS)],
) -> Response:
    builder = _read_builder(request)
    spec, errors = _spec(builder)
    if spec is None or filters.errors:
        raise InvalidInput("the funnel or the period is not valid", code="invalid_funnel")
    if at > len(spec.steps):
        raise InvalidInput(f"the funnel has {len(spec.steps)} steps", code="invalid_step")
    person_ids = service.dropped_profiles(
        engine=open_engine(request),
        scope=filters.scope,
        spec=spec,
        step=at,
        limit=DROPPED_LIMIT,
    )
    if wants_csv(request):
        return export_table([dropped_table(person_ids)], "dropped", filters)
    with UnitOfWork(request.app.state.db, read_only=True) as uow:
        shown = [_describe(uow, pid) for pid in person_ids[:DROPPED_SHOWN]]
    return render_backoffice(
        request,
        "backoffice/dropped.html",
        section="funnel",
        filters=filters,
        builder=builder,
        spec=spec,
        at=at,
        total=len(person_ids),
        limit=DROPPED_LIMIT,
        shown=shown,
        # The 360 lives in the associate app: store staff only (a marketer sees the list).
        may_open=principal.role in (Role.ADMIN, Role.MANAGER),
        query=builder.query(filters, at=at),
        funnel_query=builder.query(filters),
    )
