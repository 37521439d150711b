"""A store's pickup desk and returns counter: what to prepare, what waits on the shelf, who is
waiting at the desk and for how long, what was handed over today; an order found by its pickup
code; what to suggest while she is there; and the orders a customer may bring back.

The in-store queue is measured on the fulfilment group: ``arrived_at`` (she showed up: checked
in by an associate, by typing or scanning her code, or from her own phone) to ``done_at`` (handed
over). :func:`parcours.orders.service.collect_order` records it on ``OrderCollected``.
"""

from __future__ import annotations

import contextlib
import re
import statistics
import threading
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select

from parcours.catalog import service as catalog
from parcours.core.clock import utcnow
from parcours.core.errors import Conflict, DomainError, InvalidInput, NotFound
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.models import IdentifierKind
from parcours.inventory import service as inventory
from parcours.orders import service
from parcours.orders.models import (
    Fulfilment,
    FulfilmentMethod,
    FulfilmentStatus,
    Order,
    OrderLine,
    OrderReturn,
    OrderStatus,
)
from parcours.stores import service as stores

#: What the desk hands over: paid online, or reserved and paid there. A till sale leaves at once.
DESK_METHODS = (FulfilmentMethod.CLICK_AND_COLLECT.value, FulfilmentMethod.RESERVE_IN_STORE.value)
_OPEN = (
    FulfilmentStatus.PENDING.value,
    FulfilmentStatus.IN_TRANSIT.value,
    FulfilmentStatus.READY.value,
)
_HANDED_OVER = (FulfilmentStatus.COLLECTED.value, FulfilmentStatus.DELIVERED.value)
_CODE = re.compile(r"^\d{6}$")
_NUMBER = re.compile(r"^[0-9A-Z]{5}-[0-9A-Z]{5}$")


class TooManyCodeTries(DomainError):
    status, code, title = 429, "too_many_code_tries", "Too many wrong pickup codes"


# --- read models ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeskLine:
    line_id: str
    product_id: str
    variant_id: str
    name: str
    details: str  # "S", "S · noir": the variant's attributes
    quantity: int


@dataclass(frozen=True, slots=True)
class DeskOrder:
    """One order as the desk sees it in this store: its groups here, never its pickup code."""

    order_id: str
    number: str
    customer: str  # first name and initial ("Jeanne M."), or "" when she is not known
    method: str
    status: str  # the groups' status here: pending, in_transit, ready, collected
    lines: tuple[DeskLine, ...]
    paid: bool
    amount_due: int
    currency: str
    ready_by: datetime | None
    ready_at: datetime | None
    arrived_at: datetime | None
    done_at: datetime | None

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def waited_seconds(self) -> int | None:
        """Arrival to hand-over: the queue she stood in (None while she waits)."""
        if self.arrived_at is None or self.done_at is None:
            return None
        return max(0, int((self.done_at - self.arrived_at).total_seconds()))

    @property
    def can_hand_over(self) -> bool:
        return self.status == FulfilmentStatus.READY.value and self.paid


@dataclass(frozen=True, slots=True)
class PickupQueue:
    """The desk's four lists for one store."""

    location_id: str
    timezone: str
    to_prepare: list[DeskOrder]  # paid (or reserved) and not ready; in transit ones included
    ready: list[DeskOrder]  # on the shelf, she has not come yet
    arrived: list[DeskOrder]  # she is at the desk: the live waiting timers
    collected_today: list[DeskOrder]  # handed over today (store's time zone), newest first
    median_wait_seconds: int | None
    max_wait_seconds: int | None


def _details(attributes: dict[str, str]) -> str:
    return " · ".join(str(value) for value in attributes.values())


def customer_label(traits: dict[str, object]) -> str:
    """First name and the last name's initial: enough to call her, no more."""
    first = str(traits.get("first_name") or traits.get("firstName") or "").strip()
    last = str(traits.get("last_name") or traits.get("lastName") or "").strip()
    if not first:
        full = str(traits.get("name") or "").split()
        first, last = (full[0], full[-1] if len(full) > 1 else "") if full else ("", "")
    if not first:
        return ""
    return f"{first} {last[0].upper()}." if last else first


def _customers(uow: UnitOfWork, orders: Iterable[Order]) -> dict[str, str]:
    names: dict[str, str] = {}
    for profile_id in {order.profile_id for order in orders if order.profile_id}:
        try:
            profile = customers.resolve_profile(uow=uow, profile_id=profile_id)
        except DomainError:
            continue
        names[profile_id] = customer_label(profile.traits if profile.erased_at is None else {})
    return names


def _desk_order(order: Order, groups: Sequence[Fulfilment], customer: str) -> DeskOrder:
    ids = {group.id for group in groups}
    first = groups[0]

    def earliest(values: Iterable[datetime | None]) -> datetime | None:
        present = [value for value in values if value is not None]
        return min(present) if present else None

    return DeskOrder(
        order_id=order.id,
        number=order.number,
        customer=customer,
        method=first.method,
        status=first.status,
        lines=tuple(
            DeskLine(
                line_id=line.id,
                product_id=line.product_id,
                variant_id=line.variant_id,
                name=line.name,
                details=_details(line.attributes),
                quantity=line.quantity,
            )
            for line in order.lines
            if line.fulfilment_id in ids
        ),
        paid=order.paid_at is not None,
        amount_due=max(0, order.total - order.paid_amount),
        currency=order.currency,
        ready_by=earliest(group.ready_by for group in groups),
        ready_at=earliest(group.ready_at for group in groups),
        arrived_at=earliest(group.arrived_at for group in groups),
        done_at=max((g.done_at for g in groups if g.done_at), default=None),
    )


def _bucket(group: Fulfilment) -> str:
    if group.status == FulfilmentStatus.COLLECTED.value:
        return "collected"
    if group.arrived_at is not None and group.status != FulfilmentStatus.IN_TRANSIT.value:
        return "arrived"
    if group.status == FulfilmentStatus.READY.value:
        return "ready"
    return "to_prepare"


def _waiting_for_payment_online(order: Order, group: Fulfilment) -> bool:
    """Placed online and not paid yet: nothing to prepare (its window may still close)."""
    return order.paid_at is None and group.method == FulfilmentMethod.CLICK_AND_COLLECT.value


def start_of_day(now: datetime, timezone: str) -> datetime:
    """Midnight of ``now``'s day in the store's time zone, as UTC."""
    zone = ZoneInfo(timezone)
    return datetime.combine(now.astimezone(zone).date(), time(), tzinfo=zone).astimezone(UTC)


def pickup_queue(*, uow: UnitOfWork, location_id: str, now: datetime | None = None) -> PickupQueue:
    """The pickup desk of one store, and only that store: to prepare, ready, waiting at the
    desk, handed over today with each customer's wait and the day's median and longest."""
    now = now or utcnow()
    location = stores.get_location(uow=uow, location_id=location_id)
    since = start_of_day(now, location.timezone)
    groups = list(
        uow.session.scalars(
            select(Fulfilment)
            .where(
                Fulfilment.pickup_location_id == location_id,
                Fulfilment.method.in_(DESK_METHODS),
                or_(
                    Fulfilment.status.in_(_OPEN),
                    and_(
                        Fulfilment.status == FulfilmentStatus.COLLECTED.value,
                        Fulfilment.done_at >= since,
                    ),
                ),
            )
            .order_by(Fulfilment.id)
        )
    )
    orders = {
        order.id: order
        for order in uow.session.scalars(
            select(Order).where(Order.id.in_({group.order_id for group in groups}))
        )
    }
    names = _customers(uow, orders.values())
    by_bucket: dict[tuple[str, str], list[Fulfilment]] = defaultdict(list)
    for group in groups:
        order = orders[group.order_id]
        if order.status == OrderStatus.CANCELLED.value or _waiting_for_payment_online(order, group):
            continue
        by_bucket[(_bucket(group), order.id)].append(group)
    lists: dict[str, list[DeskOrder]] = defaultdict(list)
    for (bucket, order_id), found in by_bucket.items():
        order = orders[order_id]
        lists[bucket].append(_desk_order(order, found, names.get(order.profile_id or "", "")))
    far = datetime.max.replace(tzinfo=UTC)
    collected = sorted(lists["collected"], key=lambda o: o.done_at or far, reverse=True)
    waits = [o.waited_seconds for o in collected if o.waited_seconds is not None]
    return PickupQueue(
        location_id=location_id,
        timezone=location.timezone,
        to_prepare=sorted(lists["to_prepare"], key=lambda o: (o.ready_by or far, o.number)),
        ready=sorted(lists["ready"], key=lambda o: (o.ready_at or far, o.number)),
        arrived=sorted(lists["arrived"], key=lambda o: (o.arrived_at or far, o.number)),
        collected_today=collected,
        median_wait_seconds=int(statistics.median(waits)) if waits else None,
        max_wait_seconds=max(waits) if waits else None,
    )


def desk_order(*, uow: UnitOfWork, order_id: str, location_id: str) -> DeskOrder:
    """One order's groups to collect in this store, as the desk shows them."""
    order = service.get_order(uow=uow, order_id=order_id)
    groups = [
        group
        for group in order.fulfilments
        if group.pickup_location_id == location_id and group.method in DESK_METHODS
    ]
    if not groups:
        raise NotFound("this order is not collected in this store", code="not_collected_here")
    open_groups = [group for group in groups if group.status in _OPEN]
    return _desk_order(
        order, open_groups or groups, _customers(uow, [order]).get(order.profile_id or "", "")
    )


# --- the customer arrives ------------------------------------------------------------------------


def record_arrival(
    *,
    uow: UnitOfWork,
    order_id: str,
    location_id: str,
    by: str = "staff",
    channel: str = "store",
    actor: str | None = None,
    at: datetime | None = None,
) -> Order:
    """She is at the desk of this store: her wait starts now. The first check-in counts; a
    second one (she taps on her phone, then the associate types her code) changes nothing."""
    order = service.get_order(uow=uow, order_id=order_id)
    if order.status == OrderStatus.CANCELLED.value:
        raise Conflict("this order is cancelled", code="order_cancelled")
    groups = [
        group
        for group in order.fulfilments
        if group.pickup_location_id == location_id and group.method in DESK_METHODS
    ]
    waiting = [
        group
        for group in groups
        if group.status in (FulfilmentStatus.PENDING.value, FulfilmentStatus.READY.value)
    ]
    if not waiting:
        if any(group.status == FulfilmentStatus.IN_TRANSIT.value for group in groups):
            raise Conflict("this order has not reached this store yet", code="not_in_store_yet")
        raise Conflict(
            "nothing of this order is to be collected in this store", code="nothing_to_collect_here"
        )
    if any(_waiting_for_payment_online(order, group) for group in waiting):
        raise Conflict("this order is not paid yet", code="payment_required")
    fresh = [group for group in waiting if group.arrived_at is None]
    if not fresh:
        return order
    now = at or utcnow()
    for group in fresh:
        group.arrived_at = now
    order.updated_at = now
    order.version += 1
    # The timeline and the journey share the orders context's own writers.
    service._log(uow, order, "customer_arrived", now, actor=actor, location_id=location_id, by=by)
    service._journey(
        uow,
        order,
        "Pickup Checked In",
        {"checked_in_by": by},
        channel=channel,
        store_id=location_id,
        at=now,
    )
    uow.session.flush()
    return order


class WrongCodeLimit:
    """At most ``tries`` wrong pickup codes per ``window`` per associate: a 6-digit code cannot be
    guessed that way. Kept in the process (a desk is served by one process at a time in the
    common case); a restart forgets it, which costs an attacker nothing worth having."""

    def __init__(self, tries: int = 5, window: timedelta = timedelta(minutes=1)) -> None:
        self.tries, self.window = tries, window
        self._wrong: dict[str, deque[datetime]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, who: str, now: datetime) -> deque[datetime]:
        wrong = self._wrong[who]
        while wrong and wrong[0] <= now - self.window:
            wrong.popleft()
        return wrong

    def check(self, who: str, now: datetime) -> None:
        with self._lock:
            if len(self._recent(who, now)) >= self.tries:
                raise TooManyCodeTries(
                    f"{self.tries} wrong codes in a row: wait a minute", code="too_many_code_tries"
                )

    def record_wrong(self, who: str, now: datetime) -> None:
        with self._lock:
            self._recent(who, now).append(now)


def find_pickup_by_code(
    *,
    uow: UnitOfWork,
    location_id: str,
    code: str,
    actor: str | None = None,
    at: datetime | None = None,
    check_in: bool = True,
) -> list[DeskOrder]:
    """The orders to collect in this store with this pickup code (typed, or read from her QR).
    Codes are 6 random digits, so two open orders of one store may share one: all are shown.
    Finding her checks her in (she is at the desk with her code) unless ``check_in`` is off."""
    wanted = re.sub(r"\s+", "", code or "")
    if not _CODE.match(wanted):
        raise InvalidInput("a pickup code has 6 digits", code="invalid_pickup_code")
    order_ids = list(
        uow.session.scalars(
            select(Order.id)
            .join(Fulfilment, Fulfilment.order_id == Order.id)
            .where(
                Order.pickup_code == wanted,
                Order.status != OrderStatus.CANCELLED.value,
                Fulfilment.pickup_location_id == location_id,
                Fulfilment.method.in_(DESK_METHODS),
                Fulfilment.status.in_(_OPEN),
            )
            .distinct()
            .order_by(Order.id)
        )
    )
    if not order_ids:
        raise NotFound("no order to collect here has this code", code="wrong_pickup_code")
    found = []
    for order_id in order_ids:
        if check_in:
            # In transit or unpaid: shown as it is, with what stops the hand-over.
            with contextlib.suppress(Conflict):
                record_arrival(
                    uow=uow,
                    order_id=order_id,
                    location_id=location_id,
                    by="code",
                    actor=actor,
                    at=at,
                )
        found.append(desk_order(uow=uow, order_id=order_id, location_id=location_id))
    return found


# --- what to suggest while she is here ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SuggestedVariant:
    variant_id: str
    label: str
    available: int


@dataclass(frozen=True, slots=True)
class Suggestion:
    product_id: str
    name: str
    price_amount: int
    currency: str
    image_url: str | None
    orders_together: int  # orders holding both this product and one of hers
    variants: tuple[SuggestedVariant, ...]  # in stock in this store only


def co_purchases(
    *,
    uow: UnitOfWork,
    product_ids: Sequence[str],
    since: datetime | None = None,
    limit: int = 20,
) -> list[tuple[str, int]]:
    """``(product_id, orders)``: products found in the same orders as any of these, most often
    first; the products themselves are left out, cancelled orders too."""
    wanted = list(dict.fromkeys(product_ids))
    if not wanted:
        return []
    baskets = (
        select(OrderLine.order_id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.product_id.in_(wanted), Order.status != OrderStatus.CANCELLED.value)
    )
    if since is not None:
        baskets = baskets.where(Order.placed_at >= since)
    together = func.count(func.distinct(OrderLine.order_id))
    rows = uow.session.execute(
        select(OrderLine.product_id, together)
        .where(OrderLine.order_id.in_(baskets), OrderLine.product_id.not_in(wanted))
        .group_by(OrderLine.product_id)
        .order_by(together.desc(), OrderLine.product_id)
        .limit(limit)
    )
    return [(product_id, int(count)) for product_id, count in rows]


def bought_together(
    *,
    uow: UnitOfWork,
    product_ids: Sequence[str],
    location_id: str,
    limit: int = 4,
    since: datetime | None = None,
) -> list[Suggestion]:
    """What to offer her at the desk: the products most often bought with hers, that this store
    has on its shelf now (a suggestion she cannot take home today is a disappointment)."""
    if since is None:
        since = utcnow() - timedelta(days=365)
    suggestions: list[Suggestion] = []
    for product_id, count in co_purchases(
        uow=uow, product_ids=product_ids, since=since, limit=limit * 5
    ):
        try:
            product = catalog.get_product(uow=uow, product_id=product_id, published_only=True)
        except NotFound:
            continue
        variant_ids = [variant.id for variant in product.variants]
        here = inventory.available_at(uow=uow, variant_ids=variant_ids, location_ids=[location_id])
        in_stock = tuple(
            SuggestedVariant(
                variant_id=variant.id,
                label=_details(dict(variant.attributes)) or variant.sku,
                available=here.get(variant.id, {}).get(location_id, 0),
            )
            for variant in product.variants
            if here.get(variant.id, {}).get(location_id, 0) > 0
        )
        if not in_stock:
            continue
        infos = catalog.get_variants(uow=uow, variant_ids=[in_stock[0].variant_id])
        info = infos.get(in_stock[0].variant_id)
        suggestions.append(
            Suggestion(
                product_id=product.id,
                name=product.name,
                price_amount=info.price_amount if info else product.price_amount,
                currency=product.currency,
                image_url=product.image_urls[0] if product.image_urls else None,
                orders_together=count,
                variants=in_stock,
            )
        )
        if len(suggestions) >= limit:
            break
    return suggestions


# --- returns at the counter -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReturnableLine:
    line_id: str
    name: str
    details: str
    unit_price: int
    quantity: int
    returned: int
    returnable: int  # 0 while not handed over, or all came back already
    handed_over: bool


@dataclass(frozen=True, slots=True)
class ReturnCandidate:
    """An order brought to the counter: what may come back, or why nothing may."""

    order_id: str
    number: str
    status: str
    channel: str
    placed_at: datetime
    currency: str
    total: int
    paid_amount: int
    refunded_amount: int
    lines: tuple[ReturnableLine, ...]
    refusal: str | None  # not_paid, not_handed_over, all_returned, cancelled; None: returnable

    @property
    def returnable(self) -> bool:
        return self.refusal is None


def return_candidate(*, uow: UnitOfWork, order_id: str) -> ReturnCandidate:
    """The order's lines with what can still come back, or the reason nothing can."""
    order = service.get_order(uow=uow, order_id=order_id)
    handed = {group.id for group in order.fulfilments if group.status in _HANDED_OVER}
    lines = tuple(
        ReturnableLine(
            line_id=line.id,
            name=line.name,
            details=_details(line.attributes),
            unit_price=line.unit_price,
            quantity=line.quantity,
            returned=line.returned_quantity,
            returnable=(line.quantity - line.returned_quantity)
            if line.fulfilment_id in handed
            else 0,
            handed_over=line.fulfilment_id in handed,
        )
        for line in order.lines
    )
    refusal: str | None = None
    if order.status == OrderStatus.CANCELLED.value:
        refusal = "cancelled"
    elif order.paid_at is None:
        refusal = "not_paid"
    elif not any(line.returnable for line in lines):
        refusal = (
            "all_returned"
            if all(line.returned >= line.quantity for line in lines if line.handed_over) and handed
            else "not_handed_over"
        )
    return ReturnCandidate(
        order_id=order.id,
        number=order.number,
        status=order.status,
        channel=order.channel,
        placed_at=order.placed_at,
        currency=order.currency,
        total=order.total,
        paid_amount=order.paid_amount,
        refunded_amount=order.refunded_amount,
        lines=lines,
        refusal=refusal,
    )


def find_orders_for_return(*, uow: UnitOfWork, query: str, limit: int = 20) -> list[Order]:
    """Orders an associate looks up at the counter: by number (``ABCDE-12345``), by id, or by
    the customer's email (her orders, merged profiles and guest checkouts included)."""
    text = (query or "").strip()
    if not text:
        raise InvalidInput("type an order number or an email", code="query_required")
    if "@" in text:
        email = customers.normalise_email(text)
        if email is None:
            raise InvalidInput("this is not an email address", code="invalid_email")
        found: dict[str, Order] = {
            order.id: order
            for order in uow.session.scalars(
                select(Order).where(Order.email == email).order_by(Order.id.desc()).limit(limit)
            )
        }
        profile = customers.find_profile(uow=uow, kind=IdentifierKind.EMAIL, value=email)
        if profile is not None:
            mine, _ = service.orders_of(uow=uow, profile_id=profile.id, limit=limit)
            found.update({order.id: order for order in mine})
        return sorted(found.values(), key=lambda order: order.id, reverse=True)[:limit]
    wanted = text.upper()
    if text.startswith("ord_"):
        order = uow.session.get(Order, text)
    elif _NUMBER.match(wanted):
        order = uow.session.scalars(select(Order).where(Order.number == wanted)).first()
    else:
        raise InvalidInput("an order number looks like ABCDE-12345", code="invalid_order_number")
    return [order] if order is not None else []


def get_return(*, uow: UnitOfWork, return_id: str) -> OrderReturn:
    """A return taken at a counter, or NotFound ``return_not_found``."""
    record = uow.session.get(OrderReturn, return_id)
    if record is None:
        raise NotFound(f"no return {return_id!r}", code="return_not_found")
    return record
