"""Journey stages and moments of truth on journeys worked out by hand; the mapping file."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from tests.journeys.conftest import T0, event

from parcours.journeys.engine import JourneyEngine
from parcours.journeys.model import InvalidJourneyModel, load_model
from parcours.journeys.schemas import Period, Scope
from parcours.journeys.stages import journey_stages

D, H = timedelta(days=1), timedelta(hours=1)
SCOPE = Scope(period=Period(start=T0, end=T0 + 60 * D))


def test_stages_count_where_people_are_and_how_they_move_on(
    journey_engine: Callable[..., JourneyEngine],
) -> None:
    engine = journey_engine(
        [
            # a: searches, compares online, buys in store, buys again: ends in loyalty
            event("a", "Products Searched", 0 * H, query="pull"),
            event("a", "Product Viewed", 1 * H),
            event("a", "Order Completed", 2 * D, "till"),
            event("a", "Order Completed", 20 * D, "web"),
            # b: searches and stops
            event("b", "Products Searched", 0 * H),
            # c: compares in the store, buys, reviews (UMOT)
            event("c", "Product Viewed", 0 * H, "store"),
            event("c", "Order Completed", 3 * H, "till"),
            event("c", "Product Reviewed", 3 * D),
        ]
    )
    result = journey_stages(engine=engine, scope=SCOPE)
    stages = {row.stage: row for row in result.stages}

    assert {name: row.current for name, row in stages.items() if row.current} == {
        "search": 1,
        "loyalty": 1,
        "evaluation": 1,
    }
    assert (stages["search"].reached, stages["search"].to_next) == (2, 0.5)
    assert stages["search"].median_seconds_to_next == pytest.approx(3600)
    assert (stages["comparison"].reached, stages["comparison"].to_next) == (2, 1.0)
    assert stages["decision"].reached == 2
    assert stages["loyalty"].to_next is None
    moments = {row.moment: (row.persons, row.events) for row in result.moments}
    # FMOT: c at the shelf and the till, a at the till
    assert moments == {"zmot": (2, 3), "fmot": (2, 3), "umot": (1, 1)}


def test_a_merchant_remaps_events_with_a_file(tmp_path: Path) -> None:
    path = tmp_path / "stages.json"
    path.write_text(json.dumps({"stages": {"Store Visit": "comparison", "Product Viewed": None}}))
    model = load_model(path)
    assert model.stages["Store Visit"] == "comparison"
    assert "Product Viewed" not in model.stages

    path.write_text(json.dumps({"stages": {"Store Visit": "delight"}}))
    with pytest.raises(InvalidJourneyModel, match="unknown stage 'delight'"):
        load_model(path)
