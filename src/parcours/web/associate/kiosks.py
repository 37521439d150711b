"""Associate app: the store's kiosks ("Bornes"), paired and revoked by its staff.

Pairing a kiosk shows a one-time code (and a link and QR code holding it) valid 10 minutes:
typed or opened on the kiosk's screen, it gives the screen its device credential. The list shows
the store's paired kiosks (when each was last used) and the pairings still waiting; revoking one
stops it at its next tap. Any associate or manager acting for the store may do both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from parcours.catalog import qr
from parcours.core.clock import as_utc
from parcours.core.deps import ReadUowDep, SettingsDep, UowDep
from parcours.core.errors import DomainError
from parcours.core.uow import UnitOfWork
from parcours.stores import kiosks
from parcours.web.associate.shell import Acting, ActingDep, render_associate

router = APIRouter(include_in_schema=False)

BASE = "/associate/bornes"


@dataclass(frozen=True, slots=True)
class KioskRow:
    """One kiosk as the list shows it."""

    id: str
    name: str
    paired: bool
    since: str  # paired at, or the pairing's expiry while it waits
    last_seen: str | None


def _local(moment: datetime | None, acting: Acting) -> str | None:
    if moment is None:
        return None
    return as_utc(moment).astimezone(ZoneInfo(acting.store.timezone)).strftime("%d/%m/%Y %H:%M")


def _rows(uow: UnitOfWork, acting: Acting) -> list[KioskRow]:
    rows = []
    for kiosk in kiosks.list_kiosks(uow=uow, store_id=acting.store_id):
        paired = kiosk.token_hash is not None
        rows.append(
            KioskRow(
                id=kiosk.id,
                name=kiosk.name,
                paired=paired,
                since=_local(kiosk.paired_at if paired else kiosk.pairing_expires_at, acting) or "",
                last_seen=_local(kiosk.last_seen_at, acting),
            )
        )
    return rows


def _list_page(
    request: Request,
    acting: Acting,
    uow: UnitOfWork,
    *,
    status_code: int = 200,
    error: str | None = None,
    issued: kiosks.IssuedPairing | None = None,
    link: str | None = None,
) -> HTMLResponse:
    return render_associate(
        request,
        "associate/kiosks.html",
        acting,
        status_code=status_code,
        section="kiosks",
        kiosks=_rows(uow, acting),
        error=error,
        issued=issued,
        link=link,
        qr_svg=_qr(link) if link else None,
        minutes=int(kiosks.PAIRING_LIFETIME.total_seconds() // 60),
        revoked=request.query_params.get("revoquee") == "1",
    )


def _qr(url: str) -> str:
    return qr.render(url, qr.QrFormat.SVG, title="Parcours").decode()


@router.get(BASE, response_class=HTMLResponse)
def kiosks_page(request: Request, acting: ActingDep, uow: ReadUowDep) -> Response:
    """The store's kiosks, with "pair a kiosk" and a revoke button on each."""
    return _list_page(request, acting, uow)


@router.post(BASE, response_class=HTMLResponse)
def pair_a_kiosk(
    request: Request,
    acting: ActingDep,
    uow: UowDep,
    settings: SettingsDep,
    name: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    """A one-time pairing code for a new kiosk of this store, shown once (never stored)."""
    try:
        issued = kiosks.start_pairing(
            uow=uow,
            store_id=acting.store_id,
            name=name,
            created_by=str(acting.principal.id),
        )
    except DomainError:
        uow.rollback()
        return _list_page(
            request, acting, uow, status_code=422, error="associate.kiosks.error.name"
        )
    uow.commit()
    code = issued.code
    link = f"{settings.base_url}/kiosk/{quote(acting.store.code)}/appairer?code={code}"
    response = _list_page(request, acting, uow, status_code=201, issued=issued, link=link)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post(BASE + "/{kiosk_id}/revoquer")
def revoke_a_kiosk(
    kiosk_id: str,
    acting: ActingDep,
    uow: UowDep,
) -> Response:
    """The kiosk (or its waiting pairing) stops working at its next request."""
    try:
        kiosks.revoke_kiosk(uow=uow, kiosk_id=kiosk_id[:40], store_id=acting.store_id)
    except DomainError:
        uow.rollback()
        return RedirectResponse(BASE, status_code=303)
    uow.commit()
    return RedirectResponse(f"{BASE}?revoquee=1", status_code=303)
