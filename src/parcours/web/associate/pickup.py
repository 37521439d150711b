"""Associate app: the pickup desk (``/associate/retraits``) and the returns counter
(``/associate/retours``) of the store she acts for.

The desk shows only that store's orders: to prepare, on the shelf, customers waiting (live
timers), handed over today with each wait and the day's median. A pickup code typed or scanned
finds the order and checks her in; "Remettre" hands it over against that code. Returns take
back an order bought anywhere: restocked here, refunded to the original payment, once (the form
carries an Idempotency-Key made when it rendered, so a double tap never refunds twice).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from parcours.core.clock import utcnow
from parcours.core.deps import ReadUowDep, SettingsDep, UowDep
from parcours.core.errors import DomainError
from parcours.core.i18n import BABEL_LOCALES, translate
from parcours.core.money import format_money
from parcours.core.uow import UnitOfWork
from parcours.inventory import service as inventory
from parcours.orders import pickup_desk
from parcours.orders import service as orders
from parcours.web.associate.shell import Acting, ActingDep, render_associate
from parcours.web.rendering import page_locale

router = APIRouter(include_in_schema=False)

DESK = "/associate/retraits"
RETURNS = "/associate/retours"
#: Past this wait at the desk, her timer turns red.
LATE_AFTER_SECONDS = 5 * 60
RETURN_REASONS = ("size", "defect", "not_as_pictured", "changed_mind", "other")


def _wrong_codes(request: Request) -> pickup_desk.WrongCodeLimit:
    """One limit per app (tests build many apps side by side), made on first use."""
    state = request.app.state
    limit: pickup_desk.WrongCodeLimit | None = getattr(state, "pickup_wrong_codes", None)
    if limit is None:
        limit = state.pickup_wrong_codes = pickup_desk.WrongCodeLimit()
    return limit


def _said(request: Request, area: str, code: str | None) -> str | None:
    """A refusal's code if the page has words for it, else ``other``: never a raw id."""
    if code is None:
        return None
    message_id = f"associate.{area}.error.{code}"
    return code if translate(page_locale(request), message_id) != message_id else "other"


def _helpers(request: Request, acting: Acting) -> dict[str, Any]:
    """Times in the store's zone, durations and money in the page's language."""
    lang = page_locale(request)
    zone = ZoneInfo(acting.store.timezone)

    def clock(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%H:%M") if value else ""

    def day(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%d/%m/%Y") if value else ""

    def duration(seconds: int | None) -> str:
        if seconds is None:
            return "–"
        minutes, secs = divmod(max(0, int(seconds)), 60)
        hours, minutes = divmod(minutes, 60)
        if hours:
            return f"{hours} h {minutes:02d}"
        return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"

    def money(amount: int, currency: str) -> str:
        return format_money(amount, currency, BABEL_LOCALES[lang])

    def since(value: datetime | None) -> int:
        return max(0, int((utcnow() - value).total_seconds())) if value else 0

    return {
        "clock": clock,
        "day": day,
        "duration": duration,
        "money": money,
        "since": since,
        "late_after": LATE_AFTER_SECONDS,
    }


def _suggestions(
    uow: UnitOfWork, acting: Acting, found: list[pickup_desk.DeskOrder]
) -> list[pickup_desk.Suggestion]:
    product_ids = [line.product_id for order in found for line in order.lines]
    if not product_ids:
        return []
    return pickup_desk.bought_together(
        uow=uow, product_ids=product_ids, location_id=acting.store_id
    )


def _desk(
    request: Request,
    acting: Acting,
    uow: UnitOfWork,
    *,
    status_code: int = 200,
    error: str | None = None,
    code: str = "",
) -> Response:
    queue = pickup_desk.pickup_queue(uow=uow, location_id=acting.store_id)
    return render_associate(
        request,
        "associate/pickup.html",
        acting,
        status_code=status_code,
        section="pickup",
        queue=queue,
        error=error,
        code=code,
        done=request.query_params.get("fait"),
        number=request.query_params.get("commande", "")[:20],
        **_helpers(request, acting),
    )


@router.get(DESK, response_class=HTMLResponse)
def pickup_page(request: Request, acting: ActingDep, uow: ReadUowDep) -> Response:
    return _desk(request, acting, uow)


def _back(done: str, number: str) -> Response:
    return RedirectResponse(f"{DESK}?fait={done}&commande={quote(number)}", status_code=303)


@router.post(f"{DESK}/{{order_id}}/prete")
def mark_ready(
    request: Request, order_id: str, acting: ActingDep, uow: UowDep, settings: SettingsDep
) -> Response:
    """Prepared: on the shelf, and the shopper gets her email with the code and the hours."""
    try:
        order = orders.mark_ready_for_pickup(
            uow=uow,
            order_id=order_id,
            location_id=acting.store_id,
            actor=acting.principal.id,
            order_url=f"{settings.base_url}/commandes/{order_id}",
        )
    except DomainError as refused:
        uow.rollback()
        return _desk(
            request,
            acting,
            uow,
            status_code=refused.status,
            error=_said(request, "pickup", refused.code),
        )
    number = order.number
    uow.commit()
    return _back("ready", number)


@router.post(f"{DESK}/{{order_id}}/arrivee")
def customer_arrived(request: Request, order_id: str, acting: ActingDep, uow: UowDep) -> Response:
    """She is at the desk: her waiting timer starts."""
    try:
        order = pickup_desk.record_arrival(
            uow=uow, order_id=order_id, location_id=acting.store_id, actor=acting.principal.id
        )
    except DomainError as refused:
        uow.rollback()
        return _desk(
            request,
            acting,
            uow,
            status_code=refused.status,
            error=_said(request, "pickup", refused.code),
        )
    number = order.number
    uow.commit()
    return _back("arrived", number)


def _handover(
    request: Request,
    acting: Acting,
    uow: UnitOfWork,
    found: list[pickup_desk.DeskOrder],
    *,
    code: str = "",
    collected: bool = False,
    waited: int | None = None,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    return render_associate(
        request,
        "associate/pickup_handover.html",
        acting,
        status_code=status_code,
        section="pickup",
        found=found,
        code=code,
        collected=collected,
        waited=waited,
        error=error,
        suggestions=_suggestions(uow, acting, found),
        **_helpers(request, acting),
    )


@router.post(f"{DESK}/code")
def find_by_code(
    request: Request,
    acting: ActingDep,
    uow: UowDep,
    code: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Her pickup code, typed or read from her QR: the order(s), and she is checked in. Answered
    with the page itself, not a redirect: the verified code never travels in a URL."""
    limit, who, now = _wrong_codes(request), acting.principal.id or "", utcnow()
    try:
        limit.check(who, now)
        found = pickup_desk.find_pickup_by_code(
            uow=uow, location_id=acting.store_id, code=code, actor=acting.principal.id
        )
    except DomainError as refused:
        uow.rollback()
        if refused.code == "wrong_pickup_code":
            limit.record_wrong(who, now)
        return _desk(
            request,
            acting,
            uow,
            status_code=refused.status,
            error=_said(request, "pickup", refused.code),
            code=code,
        )
    uow.commit()
    return _handover(request, acting, uow, found, code=code.strip())


@router.post(f"{DESK}/{{order_id}}/remise")
def hand_over(
    request: Request,
    order_id: str,
    acting: ActingDep,
    uow: UowDep,
    code: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """ "Remettre": handed over against the code verified a moment ago."""
    try:
        order = orders.collect_order(
            uow=uow,
            order_id=order_id,
            pickup_code=code,
            location_id=acting.store_id,
            actor=acting.principal.id,
        )
    except DomainError as refused:
        uow.rollback()
        return _desk(
            request,
            acting,
            uow,
            status_code=refused.status,
            error=_said(request, "pickup", refused.code),
        )
    uow.commit()
    return RedirectResponse(f"{DESK}/remise/{order.id}", status_code=303)


@router.get(f"{DESK}/remise/{{order_id}}", response_class=HTMLResponse)
def handed_over(request: Request, order_id: str, acting: ActingDep, uow: ReadUowDep) -> Response:
    """The confirmation: handed over, how long she waited, what else to offer her."""
    try:
        found = pickup_desk.desk_order(uow=uow, order_id=order_id, location_id=acting.store_id)
    except DomainError as refused:
        return _desk(
            request,
            acting,
            uow,
            status_code=refused.status,
            error=_said(request, "pickup", refused.code),
        )
    return _handover(
        request,
        acting,
        uow,
        [found],
        collected=found.status == "collected",
        waited=found.waited_seconds,
    )


# --- returns --------------------------------------------------------------------------------------


@router.get(RETURNS, response_class=HTMLResponse)
def returns_page(request: Request, acting: ActingDep, uow: ReadUowDep) -> Response:
    """Find the order: its number, or her email and then one of her orders."""
    query = request.query_params.get("q", "").strip()[:320]
    found = None
    error = None
    status_code = 200
    if query:
        try:
            found = pickup_desk.find_orders_for_return(uow=uow, query=query)
        except DomainError as refused:
            error, status_code = _said(request, "returns", refused.code), refused.status
        if found is not None and len(found) == 1 and "@" not in query:
            return RedirectResponse(f"{RETURNS}/{found[0].id}", status_code=303)
    return render_associate(
        request,
        "associate/return.html",
        acting,
        status_code=status_code,
        section="returns",
        query=query,
        found=found,
        error=error,
        **_helpers(request, acting),
    )


def _return_form(
    request: Request,
    acting: Acting,
    uow: UnitOfWork,
    order_id: str,
    *,
    key: str | None = None,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    candidate = pickup_desk.return_candidate(uow=uow, order_id=order_id)
    return render_associate(
        request,
        "associate/return_order.html",
        acting,
        status_code=status_code,
        section="returns",
        candidate=candidate,
        idempotency_key=key or secrets.token_urlsafe(18),
        reasons=RETURN_REASONS,
        error=error,
        **_helpers(request, acting),
    )


@router.get(f"{RETURNS}/{{order_id}}", response_class=HTMLResponse)
def return_order_page(
    request: Request, order_id: str, acting: ActingDep, uow: ReadUowDep
) -> Response:
    """The order's lines, what can still come back, quantities and a reason."""
    try:
        return _return_form(request, acting, uow, order_id)
    except DomainError as refused:
        return render_associate(
            request,
            "associate/return.html",
            acting,
            status_code=refused.status,
            section="returns",
            query="",
            found=None,
            error=_said(request, "returns", refused.code),
            **_helpers(request, acting),
        )


@router.post(f"{RETURNS}/{{order_id}}")
def take_back(
    request: Request,
    order_id: str,
    acting: ActingDep,
    uow: UowDep,
    idempotency_key: Annotated[str, Form(min_length=8, max_length=64)],
    line_id: Annotated[list[str], Form(max_length=200)],
    quantity: Annotated[list[int], Form(max_length=200)],
    reason: Annotated[str, Form(max_length=40)] = "other",
) -> Response:
    """Confirmed: restocked here, refunded to the original payment; a second tap on the same
    form finds the first return and refunds nothing more."""
    quantities: dict[str, int] = {}
    for line, units in zip(line_id, quantity, strict=False):
        if units > 0:
            quantities[line] = quantities.get(line, 0) + units
    try:
        record = orders.return_items(
            uow=uow,
            providers=request.app.state.payment_providers,
            order_id=order_id,
            quantities=quantities,
            location_id=acting.store_id,
            idempotency_key=f"desk:{idempotency_key}",
            reason=reason if reason in RETURN_REASONS else "other",
            actor=acting.principal.id,
        )
    except DomainError as refused:
        uow.rollback()
        try:
            return _return_form(
                request,
                acting,
                uow,
                order_id,
                key=idempotency_key,
                status_code=refused.status,
                error=_said(request, "returns", refused.code),
            )
        except DomainError:
            return RedirectResponse(RETURNS, status_code=303)
    return_id = record.id
    uow.commit()
    return RedirectResponse(f"{RETURNS}/{order_id}/retour/{return_id}", status_code=303)


@router.get(f"{RETURNS}/{{order_id}}/retour/{{return_id}}", response_class=HTMLResponse)
def return_done(
    request: Request, order_id: str, return_id: str, acting: ActingDep, uow: ReadUowDep
) -> Response:
    """What was refunded and what went back on this store's shelf."""
    record = pickup_desk.get_return(uow=uow, return_id=return_id)
    if record.order_id != order_id:
        return RedirectResponse(f"{RETURNS}/{order_id}", status_code=303)
    order = orders.get_order(uow=uow, order_id=order_id)
    lines = {line.id: line for line in order.lines}
    back = [
        (lines[item["line_id"]], int(item["quantity"]))
        for item in record.lines
        if item["line_id"] in lines
    ]
    stock = inventory.available_at(
        uow=uow,
        variant_ids=[line.variant_id for line, _ in back],
        location_ids=[record.location_id],
    )
    return render_associate(
        request,
        "associate/return_done.html",
        acting,
        section="returns",
        order=order,
        record=record,
        back=[
            {
                "name": line.name,
                "details": " · ".join(str(v) for v in line.attributes.values()),
                "quantity": units,
                "now_here": stock.get(line.variant_id, {}).get(record.location_id, 0),
            }
            for line, units in back
        ],
        here=record.location_id == acting.store_id,
        **_helpers(request, acting),
    )
