"""The back-office (``/gestion``): journey analytics for managers and marketers (overview,
stages, funnels, paths, web-to-store, omnichannel value, friction, cohorts), each table also
served as CSV. Reads only; emits no events."""

from __future__ import annotations

from fastapi import APIRouter

from parcours.web.backoffice import analyses, funnels

router = APIRouter(include_in_schema=False)
for _area in (analyses, funnels):
    router.include_router(_area.router)
