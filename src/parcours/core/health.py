"""Liveness, readiness and Prometheus metrics: what an orchestrator and a scraper ask."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from parcours.core.auth.models import KeyKind
from parcours.core.auth.principal import BACK_OFFICE, PUBLIC, AccessPolicy
from parcours.core.errors import problem
from parcours.core.outbox import outbox_stats
from parcours.core.uow import UnitOfWork

router = APIRouter(tags=["operations"])

#: Metrics name every route and its traffic: for the people running the shop and their scraper
#: (a secret API key as its bearer token), not for anyone who finds the URL.
METRICS_READ = AccessPolicy("metrics_read", roles=BACK_OFFICE, keys=frozenset({KeyKind.SECRET}))


@router.get("/healthz", summary="The process is alive", dependencies=[Depends(PUBLIC)])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The process can serve: the database answers",
    response_model=None,
    dependencies=[Depends(PUBLIC)],
)
def readyz(request: Request) -> dict[str, object] | Response:
    try:
        with UnitOfWork(request.app.state.db, read_only=True) as uow:
            uow.session.execute(text("SELECT 1"))
            outbox = outbox_stats(uow.session)
    except Exception as exc:
        return problem(503, "not_ready", "Not ready", f"database unavailable: {type(exc).__name__}")
    return {
        "status": "ready",
        "database": request.app.state.db.engine.dialect.name,
        "outbox": outbox,
    }


@router.get(
    "/metrics",
    summary="Prometheus metrics (managers, admins, or a secret API key)",
    response_class=Response,
    dependencies=[Depends(METRICS_READ)],
)
def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
