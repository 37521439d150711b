"""Associate app: shoppers' calls for an adviser in her store, live.

The page lists the store's open calls (waiting, then taken) with the product and, when the
shopper is known, her name and a link to her 360. ``advice.js`` listens to the store's stream
(``GET /v1/locations/{id}/advice-requests/events``) and reloads the list fragment at each change,
so a new call appears without a reload; the same script keeps the nav badge current on every page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from parcours.catalog import service as catalog
from parcours.core.auth import service as auth
from parcours.core.clock import utcnow
from parcours.core.deps import ReadUowDep, UowDep
from parcours.core.errors import DomainError
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.stores import service as stores
from parcours.stores.api import publish_advice_change
from parcours.stores.models import AdviceRequest, AdviceStatus
from parcours.web.associate.shell import Acting, ActingDep, render_associate

router = APIRouter(include_in_schema=False)

BASE = "/associate/conseil"
#: After this wait the timer turns red: someone should go now.
LATE_AFTER_SECONDS = 5 * 60
_MESSAGES = {
    "advice_already_taken": "associate.advice.error.taken",
    "advice_request_closed": "associate.advice.error.closed",
    "advice_request_not_found": "associate.advice.error.closed",
}


@dataclass(frozen=True, slots=True)
class AdviceCard:
    """One call as the tablet shows it."""

    id: str
    status: str
    source: str
    note: str
    requested_at: datetime
    waited_seconds: int
    product_name: str | None
    product_id: str | None
    size: str | None
    image_url: str | None
    customer_name: str | None
    profile_id: str | None
    taken_by_name: str | None
    taken_by_me: bool

    @property
    def late(self) -> bool:
        return self.status == AdviceStatus.WAITING.value and self.waited_seconds >= (
            LATE_AFTER_SECONDS
        )


def _name_of(traits: dict[str, object]) -> str | None:
    parts = [str(traits[key]) for key in ("first_name", "last_name") if traits.get(key)]
    if parts:
        return " ".join(parts)
    name = traits.get("name")
    return str(name) if name else None


def advice_cards(*, uow: UnitOfWork, acting: Acting, now: datetime) -> list[AdviceCard]:
    """The store's open calls with what the associate needs to walk up to the shopper."""
    found = stores.open_advice_requests(uow=uow, store_id=acting.store_id)
    variant_ids = [a.variant_id for a in found if a.variant_id]
    variants = catalog.get_variants(uow=uow, variant_ids=variant_ids)
    products = {}
    for product_id in {a.product_id for a in found if a.product_id and not a.variant_id}:
        try:
            products[product_id] = catalog.get_product(uow=uow, product_id=product_id)
        except DomainError:
            continue
    advisers = auth.staff_names(uow=uow, staff_ids=[a.taken_by for a in found if a.taken_by])
    cards = []
    for advice in found:
        product_name = image_url = size = None
        variant = variants.get(advice.variant_id or "")
        if variant is not None:
            product_name, image_url = variant.product_name, variant.image_url
            size = " · ".join(str(v) for v in variant.attributes.values()) or variant.sku
        elif advice.product_id in products:
            product = products[advice.product_id]
            product_name = product.name
            image_url = product.image_urls[0] if product.image_urls else None
        cards.append(
            AdviceCard(
                id=advice.id,
                status=advice.status,
                source=advice.source,
                note=advice.note,
                requested_at=advice.requested_at,
                waited_seconds=max(
                    0, int(((advice.taken_at or now) - advice.requested_at).total_seconds())
                ),
                product_name=product_name,
                product_id=advice.product_id,
                size=size,
                image_url=image_url,
                customer_name=_customer_name(uow, advice),
                profile_id=advice.profile_id,
                taken_by_name=advisers.get(advice.taken_by) if advice.taken_by else None,
                taken_by_me=advice.taken_by == acting.principal.id,
            )
        )
    # Waiting calls first (oldest first: who waits longest), then those being answered.
    return sorted(cards, key=lambda c: (c.status != AdviceStatus.WAITING.value, c.requested_at))


def _customer_name(uow: UnitOfWork, advice: AdviceRequest) -> str | None:
    if advice.profile_id is None:
        return None
    try:
        profile = customers.get_live_profile(uow=uow, profile_id=advice.profile_id)
    except DomainError:
        return None
    return _name_of(dict(profile.traits))


def _page(
    request: Request, acting: Acting, uow: UnitOfWork, template: str, error: str | None = None
) -> HTMLResponse:
    now = utcnow()
    cards = advice_cards(uow=uow, acting=acting, now=now)
    return render_associate(
        request,
        template,
        acting,
        section="advice",
        cards=cards,
        waiting=sum(card.status == AdviceStatus.WAITING.value for card in cards),
        now=now,
        late_after=LATE_AFTER_SECONDS,
        error=_MESSAGES.get(error or "") if error else None,
    )


@router.get(BASE, response_class=HTMLResponse)
def advice_page(
    request: Request,
    acting: ActingDep,
    uow: ReadUowDep,
    error: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The store's calls for an adviser, updated live."""
    return _page(request, acting, uow, "associate/advice.html", error)


@router.get(BASE + "/liste", response_class=HTMLResponse)
def advice_list(request: Request, acting: ActingDep, uow: ReadUowDep) -> Response:
    """The list alone, for the page's script to swap in when the stream says something changed."""
    return _page(request, acting, uow, "associate/advice_list.html")


def _act(request: Request, acting: Acting, uow: UnitOfWork, request_id: str, verb: str) -> Response:
    try:
        advice = stores.get_advice_request(uow=uow, request_id=request_id)
        acting.principal.require_store(advice.store_id)
        if advice.store_id != acting.store_id:
            return RedirectResponse(f"{BASE}?error=advice_request_not_found", status_code=303)
        if verb == "take":
            stores.take_advice_request(
                uow=uow, request_id=request_id, staff_id=str(acting.principal.id)
            )
        elif verb == "done":
            stores.finish_advice_request(uow=uow, request_id=request_id)
        else:
            stores.cancel_advice_request(uow=uow, request_id=request_id)
    except DomainError as exc:
        if exc.code == "store_out_of_scope":
            raise
        uow.rollback()
        return RedirectResponse(f"{BASE}?error={exc.code}", status_code=303)
    uow.commit()
    publish_advice_change(request, uow, advice)
    return RedirectResponse(BASE, status_code=303)


@router.post(BASE + "/{request_id}/prendre")
def take(request_id: str, request: Request, acting: ActingDep, uow: UowDep) -> Response:
    """« Je m'en occupe »: she walks to the shopper; the other tablets see it taken."""
    return _act(request, acting, uow, request_id, "take")


@router.post(BASE + "/{request_id}/terminer")
def finish(request_id: str, request: Request, acting: ActingDep, uow: UowDep) -> Response:
    return _act(request, acting, uow, request_id, "done")


@router.post(BASE + "/{request_id}/annuler")
def cancel(request_id: str, request: Request, acting: ActingDep, uow: UowDep) -> Response:
    return _act(request, acting, uow, request_id, "cancel")
