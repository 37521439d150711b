"""Journey stages and moments of truth over the period: where each person is now, how many
move on to the next stage, and how long it takes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from parcours.journeys.engine import JourneyEngine
from parcours.journeys.model import MOMENTS, STAGES, JourneyModel
from parcours.journeys.overview import period_bounds
from parcours.journeys.schemas import MomentRow, Scope, StageRow, StagesResult


def _values(rows: list[tuple[Any, ...]], names: str) -> str:
    """A ``VALUES`` list as a derived table (the mapping is a few dozen rows)."""
    return (
        "(VALUES "
        + ", ".join("(" + ", ".join("?" for _ in row) + ")" for row in rows)
        + (f") AS m({names})")
    )


def journey_stages(
    *, engine: JourneyEngine, scope: Scope, model: JourneyModel | None = None
) -> StagesResult:
    """Per stage: persons whose latest stage in the period is it (``current``), persons who
    reached it, the share of those who then reached the next stage (after their first event of
    this one, within the period) and the median time to it. A purchase by someone who bought
    before counts as ``loyalty`` when the model says so. Per moment of truth: persons and
    events."""
    model = model or JourneyModel()
    start, end = period_bounds(scope.period)
    mapping = [(event, STAGES.index(stage)) for event, stage in sorted(model.stages.items())]
    if not mapping:
        return StagesResult(stages=[], moments=[])
    params: list[Any] = [value for row in mapping for value in row]
    loyalty = STAGES.index("loyalty")
    repeat = (
        f"CASE WHEN e.event = 'Order Completed' AND e.purchase_rank > 1 THEN {loyalty} "
        "ELSE m.stage END"
        if model.repeat_purchase_is_loyalty
        else "m.stage"
    )
    sql = f"""
        WITH ranked AS (
            SELECT person_id, ts, event,
                   CASE WHEN event = 'Order Completed' THEN ROW_NUMBER() OVER (
                       PARTITION BY person_id, event = 'Order Completed' ORDER BY ts) END
                       AS purchase_rank
            FROM events WHERE ts < ?
        ),
        staged AS (
            SELECT e.person_id AS pid, e.ts AS ts, {repeat} AS stage
            FROM ranked e JOIN {_values(mapping, "event, stage")} ON m.event = e.event
            WHERE e.ts >= ?
        ),
        firsts AS (SELECT pid, stage, MIN(ts) AS first_ts FROM staged GROUP BY pid, stage),
        latest AS (
            SELECT pid, stage FROM (
                SELECT pid, stage, ROW_NUMBER() OVER (
                    PARTITION BY pid ORDER BY ts DESC, stage DESC) AS rn FROM staged) x
            WHERE rn = 1
        ),
        moved AS (
            SELECT f.pid AS pid, f.stage AS stage, MIN(s.ts) AS next_ts, MIN(f.first_ts) AS t0
            FROM firsts f JOIN staged s
              ON s.pid = f.pid AND s.stage = f.stage + 1 AND s.ts >= f.first_ts
            GROUP BY f.pid, f.stage
        )
        SELECT f.stage,
               COUNT(*) AS reached,
               COUNT(mv.pid) AS moved_on,
               quantile_cont(epoch(mv.next_ts) - epoch(mv.t0), 0.5) AS median_seconds,
               (SELECT COUNT(*) FROM latest l WHERE l.stage = f.stage) AS current_count
        FROM firsts f LEFT JOIN moved mv ON mv.pid = f.pid AND mv.stage = f.stage
        GROUP BY f.stage ORDER BY f.stage
    """
    found = {
        int(row[0]): row for row in engine.rows(sql, [end, *params, start], origins=scope.origins)
    }
    stages = []
    for index, name in enumerate(STAGES):
        row = found.get(index)
        reached = int(row[1]) if row else 0
        last = index == len(STAGES) - 1
        stages.append(
            StageRow(
                stage=name,
                current=int(row[4]) if row else 0,
                reached=reached,
                to_next=None if last or not reached else int(row[2]) / reached if row else None,
                median_seconds_to_next=None if last or not row or row[3] is None else float(row[3]),
            )
        )
    return StagesResult(stages=stages, moments=_moments(engine, scope, model, start, end))


def _moments(
    engine: JourneyEngine, scope: Scope, model: JourneyModel, start: datetime, end: datetime
) -> list[MomentRow]:
    rows = []
    for moment in MOMENTS:
        events, places = model.moments.get(moment, ((), ()))
        if not events or not places:
            rows.append(MomentRow(moment=moment, persons=0, events=0))
            continue
        sql = (
            "SELECT COUNT(DISTINCT person_id), COUNT(*) FROM events WHERE ts >= ? AND ts < ? "
            f"AND event IN ({', '.join('?' for _ in events)}) "
            f"AND place IN ({', '.join('?' for _ in places)})"
        )
        [(persons, count)] = engine.rows(sql, [start, end, *events, *places], origins=scope.origins)
        rows.append(MomentRow(moment=moment, persons=int(persons), events=int(count)))
    return rows
