"""The shopper's storefront, an installable web app (``/``): catalogue and search, product pages
with store availability, the cart shared with her other devices, checkout, her account, the store
locator, scanning, the in-store kiosk (``/kiosk``), and the PWA's manifest and service worker."""

from __future__ import annotations

from fastapi import APIRouter

from parcours.web.storefront import account, cart, catalogue, checkout, kiosk, pwa, scan

router = APIRouter(include_in_schema=False)
for _area in (pwa, catalogue, cart, checkout, account, scan, kiosk):
    router.include_router(_area.router)
