"""Inputs and results of the journey analyses (API bodies, page data, CSV tables).

Every result can be flattened into named tables (:meth:`tables`), which is what the CSV export of
the back-office and ``?format=csv`` on the API serve: one definition of each figure, however it
is read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

#: Columns a step's filters and a breakdown may name (flat columns of the events table).
FILTER_COLUMNS = (
    "channel",
    "place",
    "store_id",
    "campaign",
    "source",
    "device",
    "product_id",
    "category",
    "available",
    "results",
    "query",
    "step",
)
NUMBER_COLUMNS = ("results", "step")
BREAKDOWNS = ("channel", "place", "store_id", "campaign", "device", "first_touch_campaign")


class Table(BaseModel):
    """A table of a result: ``columns`` are stable ids (the pages translate them)."""

    name: str
    columns: list[str]
    rows: list[list[Any]]


class Period(BaseModel):
    """A half-open time range ``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end <= self.start:
            raise ValueError("the period must end after it starts")
        return self


class Scope(BaseModel):
    """What an analysis reads: a period and, optionally, some origins of the data."""

    period: Period
    origins: list[str] | None = None  # None: every origin in the lake


# --- funnels ---------------------------------------------------------------------------------


class StepFilter(BaseModel):
    column: str
    op: Literal["eq", "ne", "in", "gt", "lt"] = "eq"
    value: str | int | bool | list[str] | list[int]

    @field_validator("column")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in FILTER_COLUMNS:
            raise ValueError(f"unknown column {value!r}; one of {', '.join(FILTER_COLUMNS)}")
        return value

    @model_validator(mode="after")
    def _typed(self) -> StepFilter:
        """The value fits the column (a number for ``results``/``step``, yes or no for
        ``available``, text otherwise) and a list goes with ``in`` only: a query never fails
        on a value the engine cannot compare."""
        values = self.value if isinstance(self.value, list) else [self.value]
        if isinstance(self.value, list) and self.op != "in":
            raise ValueError(f"a list of values goes with the 'in' operator, not {self.op!r}")
        if not values:
            raise ValueError("give at least one value")
        if self.column in NUMBER_COLUMNS:
            numbers = []
            for value in values:
                if isinstance(value, bool) or not str(value).strip().lstrip("-").isdigit():
                    raise ValueError(f"{self.column} takes whole numbers, not {value!r}")
                numbers.append(int(str(value).strip()))
            self.value = numbers if isinstance(self.value, list) else numbers[0]
        elif self.column == "available":
            if not all(isinstance(value, bool) for value in values) or self.op not in ("eq", "ne"):
                raise ValueError("available takes true or false, with eq or ne")
        else:
            if any(isinstance(value, bool) for value in values):
                raise ValueError(f"{self.column} takes text, not true or false")
            texts = [str(value) for value in values]
            self.value = texts if isinstance(self.value, list) else texts[0]
        return self


class FunnelStep(BaseModel):
    event: str = Field(min_length=1, max_length=200)
    label: str | None = Field(default=None, max_length=100)
    filters: list[StepFilter] = Field(default_factory=list, max_length=10)


class FunnelSpec(BaseModel):
    steps: list[FunnelStep] = Field(min_length=2, max_length=8)
    window_days: int = Field(default=7, ge=1, le=90)
    order: Literal["ordered", "any"] = "ordered"
    breakdown: str | None = None

    @field_validator("breakdown")
    @classmethod
    def _breakdown(cls, value: str | None) -> str | None:
        if value is not None and value not in BREAKDOWNS:
            raise ValueError(f"unknown breakdown {value!r}; one of {', '.join(BREAKDOWNS)}")
        return value


class FunnelStepResult(BaseModel):
    index: int  # 1-based
    label: str
    persons: int
    conversion: float  # from the first step (0..1)
    step_conversion: float  # from the previous step (0..1)
    median_seconds: float | None  # from the previous step
    dropped: int  # reached the previous step, not this one


class FunnelBreakdownRow(BaseModel):
    value: str | None
    persons: list[int]  # per step


class FunnelResult(BaseModel):
    spec: FunnelSpec
    steps: list[FunnelStepResult]
    breakdown: list[FunnelBreakdownRow] = Field(default_factory=list)

    def tables(self) -> list[Table]:
        tables = [
            Table(
                name="funnel",
                columns=[
                    "step",
                    "label",
                    "persons",
                    "conversion",
                    "step_conversion",
                    "median_seconds",
                    "dropped",
                ],
                rows=[
                    [
                        s.index,
                        s.label,
                        s.persons,
                        s.conversion,
                        s.step_conversion,
                        s.median_seconds,
                        s.dropped,
                    ]
                    for s in self.steps
                ],
            )
        ]
        if self.breakdown:
            tables.append(
                Table(
                    name="funnel_breakdown",
                    columns=[self.spec.breakdown or "value"]
                    + [f"step_{s.index}" for s in self.steps],
                    rows=[[row.value, *row.persons] for row in self.breakdown],
                )
            )
        return tables


# --- journey stages --------------------------------------------------------------------------


class StageRow(BaseModel):
    stage: str  # need, search, comparison, decision, evaluation, loyalty
    current: int  # persons whose latest stage is this one
    reached: int  # persons who reached it in the period
    to_next: float | None  # share of those who reached it then reached the next stage
    median_seconds_to_next: float | None


class MomentRow(BaseModel):
    moment: str  # zmot, fmot, umot
    persons: int
    events: int


class StagesResult(BaseModel):
    stages: list[StageRow]
    moments: list[MomentRow]

    def tables(self) -> list[Table]:
        return [
            Table(
                name="stages",
                columns=["stage", "current", "reached", "to_next", "median_seconds_to_next"],
                rows=[
                    [r.stage, r.current, r.reached, r.to_next, r.median_seconds_to_next]
                    for r in self.stages
                ],
            ),
            Table(
                name="moments",
                columns=["moment", "persons", "events"],
                rows=[[r.moment, r.persons, r.events] for r in self.moments],
            ),
        ]


# --- paths -----------------------------------------------------------------------------------


class PathRow(BaseModel):
    steps: list[str]  # "web:Product Viewed" → touch labels "place:kind"
    persons: int
    converted: int  # of them, how many ended with a purchase


class SankeyLink(BaseModel):
    source: str  # "1. online · view"
    target: str
    persons: int


class PathsResult(BaseModel):
    paths: list[PathRow]
    links: list[SankeyLink]

    def tables(self) -> list[Table]:
        return [
            Table(
                name="paths",
                columns=["path", "persons", "converted"],
                rows=[[" > ".join(r.steps), r.persons, r.converted] for r in self.paths],
            ),
            Table(
                name="path_links",
                columns=["source", "target", "persons"],
                rows=[[r.source, r.target, r.persons] for r in self.links],
            ),
        ]


# --- web-to-store ----------------------------------------------------------------------------


class WebToStoreResult(BaseModel):
    days: int  # the research window before a store purchase
    store_purchases: int
    store_revenue: int  # minor units
    after_product_research: int  # store purchases with an online view of a bought product
    after_category_research: int  # … of a bought product's category (includes the above)
    revenue_after_research: int  # store revenue of purchases after category research
    share_after_research: float  # after_category_research / store_purchases
    availability_checks: int  # online views of in-store availability (Store Stock Checked…)
    checks_then_store_purchase: int
    pickups: int  # click-and-collect orders collected
    pickups_with_addon: int  # a store purchase by the same person, same store, within 2 hours
    addon_revenue: int
    currency: str = "EUR"

    def tables(self) -> list[Table]:
        return [
            Table(
                name="web_to_store",
                columns=["measure", "value"],
                rows=[[k, v] for k, v in self.model_dump().items()],
            )
        ]


# --- omnichannel value -----------------------------------------------------------------------


class Estimate(BaseModel):
    """A mean with its 95% confidence interval."""

    mean: float
    low: float
    high: float


class SegmentValue(BaseModel):
    segment: Literal["store_only", "online_only", "omnichannel"]
    customers: int
    spend: Estimate  # per customer, minor units
    orders: Estimate  # per customer
    basket: Estimate  # per order, minor units
    retained: Estimate  # share active again 90+ days after their first purchase (0..1)
    online_spend: Estimate  # per customer, minor units
    store_spend: Estimate


class OmnichannelValueResult(BaseModel):
    segments: list[SegmentValue]
    #: omnichannel vs single-channel: +x (0.10 = +10%) with a 95% interval, or None
    spend_uplift_online: Estimate | None
    spend_uplift_store: Estimate | None
    currency: str = "EUR"

    def tables(self) -> list[Table]:
        columns = ["segment", "customers"]
        measures = ("spend", "orders", "basket", "retained", "online_spend", "store_spend")
        for name in measures:
            columns += [name, f"{name}_low", f"{name}_high"]
        rows = []
        for s in self.segments:
            row: list[Any] = [s.segment, s.customers]
            for name in measures:
                e: Estimate = getattr(s, name)
                row += [e.mean, e.low, e.high]
            rows.append(row)
        return [Table(name="omnichannel_value", columns=columns, rows=rows)]


# --- friction --------------------------------------------------------------------------------


class FrictionRow(BaseModel):
    kind: str  # drop_off, zero_results, out_of_stock, abandoned_checkout, pickup_wait
    label: str  # the step, query, product or store it is about
    store_id: str | None = None
    count: int  # in the period
    previous: int  # in the period of the same length before it (the trend)
    value: int | None = None  # minor units (estimated lost sales) or seconds (waits)


class FrictionResult(BaseModel):
    rows: list[FrictionRow]

    def tables(self) -> list[Table]:
        return [
            Table(
                name="friction",
                columns=["kind", "label", "store_id", "count", "previous", "value"],
                rows=[
                    [r.kind, r.label, r.store_id, r.count, r.previous, r.value] for r in self.rows
                ],
            )
        ]


# --- cohorts ---------------------------------------------------------------------------------


class CohortRow(BaseModel):
    cohort: str  # first purchase month, "2026-03"
    first_channel: str  # place of the first purchase: online | store
    customers: int
    retention: list[float]  # share buying again in month +1, +2, …


class CohortsResult(BaseModel):
    cohorts: list[CohortRow]

    def tables(self) -> list[Table]:
        months = max((len(c.retention) for c in self.cohorts), default=0)
        return [
            Table(
                name="cohorts",
                columns=["cohort", "first_channel", "customers"]
                + [f"month_{n + 1}" for n in range(months)],
                rows=[[c.cohort, c.first_channel, c.customers, *c.retention] for c in self.cohorts],
            )
        ]


# --- overview --------------------------------------------------------------------------------


class Overview(BaseModel):
    period: Period
    persons: int
    customers: int  # persons with a purchase
    orders: int
    revenue: int  # minor units
    online_revenue: int
    store_revenue: int
    omnichannel_share: float  # of customers, those who bought online and in store
    research_online_share: float  # of store purchases, those after online research (7 days)
    daily: list[tuple[str, int, int]]  # (day, online orders, store orders)
    origins: list[str]
    currency: str = "EUR"

    def tables(self) -> list[Table]:
        return [
            Table(
                name="overview",
                columns=["measure", "value"],
                rows=[
                    [k, v]
                    for k, v in self.model_dump(exclude={"daily", "period", "origins"}).items()
                ],
            ),
            Table(
                name="daily_orders",
                columns=["day", "online_orders", "store_orders"],
                rows=[list(d) for d in self.daily],
            ),
        ]
