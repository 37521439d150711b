"""Liveness, readiness and Prometheus metrics: what an orchestrator and a scraper ask."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from parcours.core.auth.principal import PUBLIC
from parcours.core.errors import problem
from parcours.core.outbox import outbox_stats
from parcours.core.uow import UnitOfWork

router = APIRouter(tags=["operations"], dependencies=[Depends(PUBLIC)])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The process can serve: the database answers", response_model=None)
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


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
