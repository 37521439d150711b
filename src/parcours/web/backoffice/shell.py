"""What every journey analytics page shares: who may read it, the period and the data's origin
it reads, the page frame, and the CSV export of its tables.

The filters travel in the query string (``start``, ``end``, ``origin``), never in a cookie, so a
page's address is the figure: it can be bookmarked, sent to a colleague, or fetched as CSV by
adding ``format=csv&table=<name>``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from parcours.core.auth.models import Role
from parcours.core.auth.principal import AccessPolicy, Principal
from parcours.core.errors import NotFound
from parcours.core.i18n import BABEL_LOCALES
from parcours.journeys import service
from parcours.journeys.engine import JourneyEngine
from parcours.journeys.schemas import Period, Scope, Table
from parcours.web.backoffice.formatting import Formatter
from parcours.web.rendering import page_locale, render

#: Managers and marketers read the journey; associates sell, they do not read analytics.
JOURNEY_ANALYTICS = AccessPolicy(
    "journey_analytics", roles=frozenset({Role.ADMIN, Role.MANAGER, Role.MARKETER})
)
AnalystDep = Annotated[Principal, Depends(JOURNEY_ANALYTICS)]

HOME = "/gestion/parcours"
#: The sections, in the navigation's order: (key, path under HOME).
SECTIONS = (
    ("overview", ""),
    ("stages", "/etapes"),
    ("funnel", "/entonnoir"),
    ("paths", "/chemins"),
    ("web_to_store", "/web-magasin"),
    ("value", "/valeur"),
    ("friction", "/frictions"),
    ("cohorts", "/cohortes"),
)
#: The lake's origins a manager may pick; others found in the lake are listed after these.
KNOWN_ORIGINS = ("live", "simulated", "completejourney")
DEFAULT_DAYS = 90
#: The longest period a page reads: a year and a bit, so one request cannot scan a decade.
MAX_DAYS = 400


@dataclass(slots=True)
class Filters:
    """The period and origin a page reads, as asked and as resolved (the default period ends
    at the data's last day, so a history imported last year still shows something)."""

    scope: Scope
    origin: str  # "" means every origin
    origins: list[str]  # the choices offered
    start: date  # first day shown, inclusive
    end: date  # last day shown, inclusive
    errors: list[str] = field(default_factory=list)  # message ids

    def query(self, **extra: Any) -> str:
        """The filters as a query string, with ``extra`` parameters added."""
        params: list[tuple[str, Any]] = [
            ("start", self.start.isoformat()),
            ("end", self.end.isoformat()),
        ]
        if self.origin:
            params.append(("origin", self.origin))
        for key, value in extra.items():
            values = value if isinstance(value, list) else [value]
            params.extend((key, v) for v in values if v is not None)
        return urlencode(params)


def open_engine(request: Request) -> JourneyEngine:
    """The app's journey engine (the lake plus the events not compacted yet), shared with the
    JSON API under ``app.state.journeys``: it holds no connection, only where the lake is."""
    engine = getattr(request.app.state, "journeys", None)
    if not isinstance(engine, JourneyEngine):
        engine = service.open_engine(request.app.state.settings, request.app.state.db)
        request.app.state.journeys = engine
    return engine


def _parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    # Years far off are typing slips, and 0001 or 9999 would overflow the arithmetic below.
    return day if 1970 <= day.year <= 2200 else None


def read_filters(
    request: Request,
    start: Annotated[str | None, Query(max_length=10)] = None,
    end: Annotated[str | None, Query(max_length=10)] = None,
    origin: Annotated[str | None, Query(max_length=40)] = None,
) -> Filters:
    """The page's filters; a wrong date falls back to the default period with a message rather
    than an error page (a manager typing a date should see what went wrong, in the form)."""
    engine = open_engine(request)
    found = [o for o in engine.lake.origins() if o not in KNOWN_ORIGINS]
    choices = [*KNOWN_ORIGINS, *sorted(found)]
    errors: list[str] = []
    chosen = (origin or "").strip()
    if chosen and chosen not in choices:
        errors.append("backoffice.filters.error.origin")
        chosen = ""
    origins = [chosen] if chosen else None
    first, last = _parse_day(start), _parse_day(end)
    if (start and first is None) or (end and last is None):
        errors.append("backoffice.filters.error.date")

    def default_days() -> tuple[date, date]:
        # Asked only when needed: it reads the data's last day.
        scope = service.default_scope(engine=engine, days=DEFAULT_DAYS, origins=origins)
        end_day = (scope.period.end - timedelta(microseconds=1)).date()
        return scope.period.start.date(), end_day

    if first is None and last is None:
        first, last = default_days()
    elif first is None:
        assert last is not None
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    elif last is None:
        last = first + timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        errors.append("backoffice.filters.error.order")
        first, last = default_days()
    elif (last - first).days + 1 > MAX_DAYS:
        errors.append("backoffice.filters.error.too_long")
        first = last - timedelta(days=MAX_DAYS - 1)
    period = Period(
        start=datetime.combine(first, time.min),
        end=datetime.combine(last + timedelta(days=1), time.min),
    )
    return Filters(
        scope=Scope(period=period, origins=origins),
        origin=chosen,
        origins=choices,
        start=first,
        end=last,
        errors=errors,
    )


FiltersDep = Annotated[Filters, Depends(read_filters)]


def render_backoffice(
    request: Request,
    template: str,
    *,
    section: str,
    filters: Filters | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A back-office page, framed with the sections, the filters and a formatter for figures
    in the page's language."""
    lang = page_locale(request)
    if filters is not None and filters.errors and status_code == 200:
        status_code = 422
    return render(
        request,
        template,
        status_code=status_code,
        section=section,
        sections=[(key, HOME + path) for key, path in SECTIONS],
        filters=filters,
        fmt=Formatter(lang, BABEL_LOCALES[lang]),
        **context,
    )


# --- CSV -------------------------------------------------------------------------------------

#: A spreadsheet runs a cell starting with these as a formula (a shopper's search query is
#: shown in the friction table: "=HYPERLINK(…)" must stay text).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value  # numbers as Python writes them: 0.125, 4990 (minor units), no grouping


def csv_body(table: Table) -> str:
    """RFC 4180 CSV with a header row of the stable column ids; UTF-8 with a byte order mark
    (added by :func:`csv_response`) so that Excel opens accents right."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_csv_cell(cell) for cell in row])
    return out.getvalue()


def csv_response(table: Table, filters: Filters | None) -> Response:
    stamp = f"-{filters.start.isoformat()}-{filters.end.isoformat()}" if filters else ""
    filename = f"parcours-{table.name}{stamp}.csv"
    return Response(
        ("\ufeff" + csv_body(table)).encode("utf-8"),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


class UnknownTable(NotFound):
    """The CSV export names a table this page does not have."""

    code = "unknown_table"


def export_table(tables: Sequence[Table], name: str | None, filters: Filters | None) -> Response:
    """The named table as CSV; 404 with the names this page has when it is not one of them."""
    for table in tables:
        if table.name == name:
            return csv_response(table, filters)
    names = ", ".join(t.name for t in tables) or "none"
    raise UnknownTable(f"no table {name!r} on this page; one of: {names}")


def wants_csv(request: Request) -> bool:
    return request.query_params.get("format") == "csv"
