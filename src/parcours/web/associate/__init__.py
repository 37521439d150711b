"""The store associate's app (``/associate``): tablet-first pages for clienteling, product scan and
endless aisle, the till, the pickup desk, adviser calls, returns and the store's kiosks, each
acting for one store."""

from __future__ import annotations

from fastapi import APIRouter

from parcours.web.associate import advice, customers, kiosks, pickup, products, shell, till

router = APIRouter(include_in_schema=False)
for _area in (shell, customers, products, till, pickup, advice, kiosks):
    router.include_router(_area.router)
