"""Journey analytics use cases: the one door the API, the back-office pages and the CLI use.

Each function reads the lake and the live tail through a :class:`JourneyEngine`; nothing here
writes (the compaction task and the importers do).
"""

from __future__ import annotations

from parcours.core.db import Database
from parcours.core.settings import Settings
from parcours.core.uow import UnitOfWork
from parcours.journeys.compaction import compact_events, read_tail
from parcours.journeys.engine import JourneyEngine, Tail
from parcours.journeys.friction import find_friction
from parcours.journeys.funnels import compile_funnel, dropped_profiles, run_funnel
from parcours.journeys.lake import Lake
from parcours.journeys.model import JourneyModel, load_model
from parcours.journeys.overview import default_scope, overview
from parcours.journeys.paths import top_paths
from parcours.journeys.ropo import web_to_store
from parcours.journeys.stages import journey_stages
from parcours.journeys.value import omnichannel_value, retention_cohorts

__all__ = [
    "compact_now",
    "compile_funnel",
    "default_scope",
    "dropped_profiles",
    "find_friction",
    "journey_stages",
    "journey_model",
    "omnichannel_value",
    "open_engine",
    "overview",
    "retention_cohorts",
    "run_funnel",
    "top_paths",
    "web_to_store",
]


def open_engine(settings: Settings, db: Database) -> JourneyEngine:
    """The engine over this shop's lake; each query also reads the events not compacted yet
    (and the identity links) from the event store, so results are current."""
    lake = Lake(settings.lake_dir)

    def tail() -> Tail:
        with UnitOfWork(db, read_only=True) as uow:
            return read_tail(uow=uow, lake=lake)

    return JourneyEngine(lake, tail=tail)


def journey_model(settings: Settings) -> JourneyModel:
    return load_model(settings.journeys_stage_map)


def compact_now(settings: Settings, db: Database) -> int:
    """Compact now (CLI, after a demo load, tests): the committed events go to Parquet."""
    return compact_events(
        db=db, lake=Lake(settings.lake_dir), retention_days=settings.event_retention_days
    )
