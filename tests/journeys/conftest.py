"""Journey tables written by hand: a lake in a temporary folder, filled with the rows a test
names, and the engine over it."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from parcours.journeys.engine import JourneyEngine
from parcours.journeys.lake import Lake
from parcours.journeys.schema import EVENTS, ITEMS, place_of

T0 = datetime(2026, 3, 2, 9, 0)  # a Monday, naive UTC like the lake
_ids = itertools.count(1)


def event(
    person: str,
    name: str,
    at: datetime | timedelta,
    channel: str = "web",
    **columns: Any,
) -> dict[str, Any]:
    """One events row: ``person`` becomes the profile id (``anon:x`` → anonymous id ``x``);
    ``at`` is a time or an offset from :data:`T0`."""
    when = T0 + at if isinstance(at, timedelta) else at
    row: dict[str, Any] = dict.fromkeys(EVENTS.names)
    if person.startswith("anon:"):
        row["anonymous_id"] = person.removeprefix("anon:")
    else:
        row["profile_id"] = person
    row.update(
        event_id=columns.pop("event_id", f"ev_test{next(_ids):08d}"),
        ts=when,
        event=name,
        channel=channel,
        place=place_of(channel),
        origin=columns.pop("origin", "live"),
    )
    unknown = set(columns) - set(EVENTS.names)
    assert not unknown, f"not an events column: {unknown}"
    row.update(columns)
    return row


def item(
    order_event: dict[str, Any], product_id: str, amount: int, **columns: Any
) -> dict[str, Any]:
    """One items row of an order event (same time, person, channel, store)."""
    row: dict[str, Any] = {name: order_event.get(name) for name in ITEMS.names}
    row.update(product_id=product_id, amount=amount, quantity=columns.pop("quantity", 1))
    row.update(columns)
    return row


def write_lake(
    root: Path, events: Sequence[dict[str, Any]], items: Sequence[dict[str, Any]] = ()
) -> Lake:
    lake = Lake(root)
    by_origin: dict[str, list[dict[str, Any]]] = {}
    for row in events:
        by_origin.setdefault(row["origin"], []).append(row)
    for origin, rows in by_origin.items():
        lake.append("events", pa.Table.from_pylist(list(rows), schema=EVENTS), origin=origin)
    item_origins: dict[str, list[dict[str, Any]]] = {}
    for row in items:
        item_origins.setdefault(row["origin"], []).append(row)
    for origin, rows in item_origins.items():
        lake.append("items", pa.Table.from_pylist(list(rows), schema=ITEMS), origin=origin)
    return lake


@pytest.fixture
def journey_engine(tmp_path: Path) -> Callable[..., JourneyEngine]:
    """``journey_engine(events, items)``: an engine over a fresh lake of those rows."""
    counter = itertools.count()

    def build(
        events: Sequence[dict[str, Any]], items: Sequence[dict[str, Any]] = ()
    ) -> JourneyEngine:
        return JourneyEngine(write_lake(tmp_path / f"lake{next(counter)}", events, items))

    return build
