"""Associate app: recognise the customer and show her 360.

The associate types a name, an email, a phone number, or scans a loyalty card (a handheld
scanner types like a keyboard, the camera posts frames to the server's decoder). Results are
masked until one is chosen; an exact loyalty card opens the 360 at once. The 360 is assembled
here from each context's services: identity and consents (customers), orders and returns
(orders), carts (carts), products viewed online (tracking, only with her personalisation
consent), and the notes associates keep about her.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from parcours.carts import service as carts
from parcours.carts.models import CartStatus
from parcours.catalog import service as catalog
from parcours.core.auth import service as auth
from parcours.core.auth.models import Role
from parcours.core.clock import utcnow
from parcours.core.deps import ReadUowDep, UowDep
from parcours.core.errors import DomainError, NotFound
from parcours.core.i18n import BABEL_LOCALES, translate
from parcours.core.money import format_money
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.models import ConsentPurpose, IdentifierKind, NoteKind, Profile
from parcours.orders import service as orders
from parcours.stores import service as stores
from parcours.tracking import service as tracking
from parcours.web.associate.shell import Acting, ActingDep, render_associate
from parcours.web.rendering import page_locale

router = APIRouter(include_in_schema=False)

CLIENTS = "/associate/clients"
#: How far back the products she looked at online are shown.
VIEWED_DAYS = 14
VIEWED_EVENT = "Product Viewed"
Via = Literal["search", "loyalty_card"]


# --- search -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MaskedRow:
    """One search result as the list shows it: enough to confirm with her, not to copy."""

    profile_id: str
    name: str
    email: str | None
    phone: str | None
    city: str | None
    matched_by: str


def _masked_row(match: customers.ProfileMatch) -> MaskedRow:
    def first(kind: IdentifierKind) -> str | None:
        value = next((i.value for i in match.identifiers if i.kind == kind.value), None)
        return None if value is None else customers.mask_identifier(kind.value, value)

    return MaskedRow(
        profile_id=match.profile.id,
        name=customers.masked_name(match.profile.traits),
        email=first(IdentifierKind.EMAIL),
        phone=first(IdentifierKind.PHONE),
        city=customers.city_of(match.profile.traits),
        matched_by=match.matched_by,
    )


@router.get(CLIENTS, response_class=HTMLResponse)
def search_page(
    request: Request,
    acting: ActingDep,
    uow: ReadUowDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    query = (q or "").strip()
    rows: list[MaskedRow] = []
    if query:
        matches = customers.search_profiles(uow=uow, query=query)
        if len(matches) == 1 and matches[0].matched_by == IdentifierKind.LOYALTY_CARD.value:
            # Her card is her: no list to choose from.
            target = f"{CLIENTS}/{quote(matches[0].profile.id)}?via=loyalty_card"
            return RedirectResponse(target, status_code=303)
        rows = [_masked_row(m) for m in matches]
    return render_associate(
        request,
        "associate/customer_search.html",
        acting,
        section="customers",
        query=query,
        rows=rows,
    )


# --- the 360 ------------------------------------------------------------------------------------


@dataclass(slots=True)
class TimelineEntry:
    at: datetime
    kind: Literal["order", "return", "cart", "viewed"]
    title: str
    channel: str | None = None
    store: str | None = None
    status: str | None = None
    amount: str | None = None
    details: list[str] = field(default_factory=list)
    when: str = ""


@dataclass(frozen=True, slots=True)
class ConsentState:
    purpose: str
    state: Literal["granted", "withdrawn", "unknown"]
    date: str | None


@dataclass(slots=True)
class _Viewed:
    product_id: str | None
    name: str
    sizes: set[str] = field(default_factory=set)
    channels: set[str] = field(default_factory=set)
    count: int = 0
    last: datetime | None = None


def _relative_day(at: datetime, now: datetime, zone: ZoneInfo, lang: str) -> str:
    """ "aujourd'hui", "hier", "il y a 3 jours": days counted in the store's time zone."""
    days = (now.astimezone(zone).date() - at.astimezone(zone).date()).days
    if days <= 0:
        hour = format_time(at.astimezone(zone), format="short", locale=BABEL_LOCALES[lang])
        return translate(lang, "associate.customers.when.today", time=hour)
    if days == 1:
        return translate(lang, "associate.customers.when.yesterday")
    return translate(lang, "associate.customers.when.days_ago", n=days)


def _label(lang: str, group: str, value: str) -> str:
    """A channel's or a status's words; the raw value when no text names it yet."""
    message_id = f"associate.customers.{group}.{value}"
    text = translate(lang, message_id)
    return value if text == message_id else text


def _zone(acting: Acting) -> ZoneInfo:
    try:
        return ZoneInfo(acting.store.timezone or "Europe/Paris")
    except (KeyError, ValueError):
        return ZoneInfo("Europe/Paris")


def _size_of(properties: dict[str, Any], variants: dict[str, catalog.VariantInfo]) -> str | None:
    for key in ("size", "taille"):
        value = properties.get(key)
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()[:20]
    variant = properties.get("variant") or properties.get("variant_id")
    if isinstance(variant, str):
        info = variants.get(variant)
        if info is not None:
            size = info.attributes.get("size") or info.attributes.get("taille")
            return size or None
        if len(variant) <= 10:  # Segment's spec sends the variant's label ("M")
            return variant
    return None


def _viewed_products(uow: UnitOfWork, cluster: list[str], now: datetime) -> list[_Viewed]:
    """Products she viewed online lately, one entry per product however many times."""
    since = now - timedelta(days=VIEWED_DAYS)
    events: list[tracking.StoredEvent] = []
    for pid in cluster:
        cursor: str | None = None
        for _ in range(20):  # at most 4,000 events read per profile
            page, cursor = tracking.events_of_profile(
                uow=uow, profile_id=pid, limit=200, cursor=cursor
            )
            events.extend(e for e in page if e.event == VIEWED_EVENT and e.timestamp >= since)
            if cursor is None or not page or page[-1].timestamp < since:
                break
    variant_ids = [
        str(e.properties.get("variant") or e.properties.get("variant_id"))
        for e in events
        if e.properties.get("variant") or e.properties.get("variant_id")
    ]
    variants = catalog.get_variants(uow=uow, variant_ids=variant_ids) if variant_ids else {}
    grouped: dict[str, _Viewed] = {}
    for event in events:
        props = dict(event.properties)
        product_id = props.get("product_id")
        product_id = str(product_id) if isinstance(product_id, str | int) else None
        label = props.get("name")
        key = product_id or (str(label) if label else event.id)
        viewed = grouped.get(key)
        if viewed is None:
            viewed = grouped[key] = _Viewed(product_id, str(label or ""))
        viewed.count += 1
        viewed.channels.add(event.channel)
        size = _size_of(props, variants)
        if size:
            viewed.sizes.add(size)
        if viewed.last is None or event.timestamp > viewed.last:
            viewed.last = event.timestamp
    for viewed in grouped.values():
        if viewed.product_id:
            # A product since deleted: the name the page sent stays.
            with suppress(NotFound):
                viewed.name = catalog.get_product(uow=uow, product_id=viewed.product_id).name
    return sorted(grouped.values(), key=lambda v: v.last or now, reverse=True)


def _consent_states(
    consents: dict[ConsentPurpose, Any], zone: ZoneInfo, babel: str
) -> list[ConsentState]:
    states = []
    for purpose in ConsentPurpose:
        record = consents.get(purpose)
        if record is None:
            states.append(ConsentState(purpose.value, "unknown", None))
            continue
        day = format_date(record.recorded_at.astimezone(zone).date(), "medium", locale=babel)
        states.append(
            ConsentState(purpose.value, "granted" if record.granted else "withdrawn", day)
        )
    return states


def _identity(profile: Profile, identifiers: list[Any], masked: bool) -> dict[str, list[str]]:
    shown: dict[str, list[str]] = defaultdict(list)
    for identifier in identifiers:
        if identifier.kind not in ("email", "phone", "loyalty_card"):
            continue
        value = identifier.value
        if masked:
            value = customers.mask_identifier(identifier.kind, value)
        shown[identifier.kind].append(value)
    return dict(shown)


def _timeline(
    uow: UnitOfWork,
    acting: Acting,
    cluster: list[str],
    viewed: list[_Viewed] | None,
    lang: str,
    now: datetime,
) -> list[TimelineEntry]:
    babel = BABEL_LOCALES[lang]
    zone = _zone(acting)
    entries: list[TimelineEntry] = []
    her_orders, _ = orders.orders_of(uow=uow, profile_id=cluster[0], limit=30)
    numbers = {order.id: order.number for order in her_orders}
    store_ids = {o.store_id for o in her_orders if o.store_id}
    returns = orders.returns_of(uow=uow, order_ids=list(numbers))
    store_ids |= {r.location_id for r in returns}
    her_carts = [c for pid in cluster for c in carts.carts_of(uow=uow, profile_id=pid)]
    store_ids |= {c.store_id for c in her_carts if c.store_id}
    names = {
        sid: loc.name for sid, loc in stores.get_locations(uow=uow, location_ids=store_ids).items()
    }
    for order in her_orders:
        entries.append(
            TimelineEntry(
                at=order.placed_at,
                kind="order",
                title=translate(lang, "associate.customers.timeline.order", number=order.number),
                channel=order.channel,
                store=names.get(order.store_id or ""),
                status=order.status,
                amount=format_money(order.total, order.currency, babel),
                details=[f"{line.quantity} × {line.name}" for line in order.lines][:5],
            )
        )
    currency_of = {order.id: order.currency for order in her_orders}
    for record in returns:
        entries.append(
            TimelineEntry(
                at=record.created_at,
                kind="return",
                title=translate(
                    lang,
                    "associate.customers.timeline.return",
                    number=numbers.get(record.order_id, ""),
                ),
                channel="store",
                store=names.get(record.location_id),
                amount=format_money(record.amount, currency_of.get(record.order_id, "EUR"), babel),
            )
        )
    for cart in her_carts:
        if cart.status in (CartStatus.CHECKED_OUT.value, CartStatus.MERGED.value):
            continue  # an order or the cart it joined tells the story
        items = sum(line.quantity for line in cart.lines if not line.saved_for_later)
        entries.append(
            TimelineEntry(
                at=cart.updated_at,
                kind="cart",
                title=translate(lang, "associate.customers.timeline.cart", count=items),
                channel=cart.channel,
                store=names.get(cart.store_id or ""),
                status=cart.status,
            )
        )
    for product in viewed or []:
        details = []
        if product.sizes:
            sizes = ", ".join(sorted(product.sizes))
            details.append(translate(lang, "associate.customers.viewed.sizes", sizes=sizes))
        if product.count > 1:
            details.append(translate(lang, "associate.customers.viewed.times", n=product.count))
        entries.append(
            TimelineEntry(
                at=product.last or now,
                kind="viewed",
                title=product.name or translate(lang, "associate.customers.viewed.unnamed"),
                channel=", ".join(sorted(product.channels)),
                details=details,
            )
        )
    entries.sort(key=lambda e: e.at, reverse=True)
    for entry in entries:
        if entry.channel:
            entry.channel = ", ".join(_label(lang, "channel", c) for c in entry.channel.split(", "))
        if entry.status:
            entry.status = _label(lang, "status", entry.status)
        entry.when = _relative_day(entry.at, now, zone, lang)
        if (now - entry.at).days >= 2:  # "il y a 5 jours · 17 nov.": the date to look it up
            day = format_date(entry.at.astimezone(zone).date(), "medium", locale=babel)
            entry.when = f"{entry.when} · {day}"
    return entries


def _open_cart(uow: UnitOfWork, acting: Acting, profile_id: str) -> carts.CartView | None:
    active = next(
        (c for c in carts.carts_of(uow=uow, profile_id=profile_id) if c.status == "active"), None
    )
    if active is None or not active.lines:
        return None
    return carts.view_cart(uow=uow, cart=active, store_id=acting.store_id)


def _missing(request: Request, acting: Acting, reason: str) -> Response:
    return render_associate(
        request,
        "associate/customer_missing.html",
        acting,
        status_code=404,
        section="customers",
        reason=reason,
    )


@router.get(f"{CLIENTS}/{{profile_id}}", response_class=HTMLResponse)
def customer_page(
    request: Request,
    profile_id: str,
    acting: ActingDep,
    uow: UowDep,
    via: Via | None = None,
    error: Annotated[str | None, Query(max_length=40)] = None,
    added: bool = False,
) -> Response:
    try:
        profile = customers.resolve_profile(uow=uow, profile_id=profile_id[:40])
    except NotFound:
        return _missing(request, acting, "unknown")
    if profile.erased_at is not None:
        return _missing(request, acting, "erased")
    if profile.id != profile_id or via is not None:
        if via is not None:
            customers.record_recognition(
                uow=uow,
                profile_id=profile.id,
                store_id=acting.store_id,
                method=via,
                by=acting.principal.id or "staff",
            )
            uow.commit()
        # Merged: her surviving profile; recognised: a clean address, so a reload records
        # nothing twice.
        return RedirectResponse(f"{CLIENTS}/{quote(profile.id)}", status_code=303)

    lang = page_locale(request)
    babel = BABEL_LOCALES[lang]
    zone = _zone(acting)
    now = utcnow()
    cluster = [profile.id, *customers.merged_profile_ids(uow=uow, profile_id=profile.id)]
    consents = customers.current_consents(uow=uow, profile_id=profile.id)
    personalisation = consents.get(ConsentPurpose.PERSONALISATION)
    may_personalise = personalisation is not None and personalisation.granted
    viewed = _viewed_products(uow, cluster, now) if may_personalise else None
    # The API masks emails and phones for associates: the page says no more.
    masked = acting.principal.role is Role.ASSOCIATE
    identifiers = customers.identifiers_of(uow=uow, profile_id=profile.id)
    notes = customers.notes_of(uow=uow, profile_id=profile.id)
    note_stores = stores.get_locations(
        uow=uow, location_ids={n.store_id for n in notes if n.store_id}
    )
    authors = auth.staff_names(uow=uow, staff_ids=[n.author for n in notes])
    cart = _open_cart(uow, acting, profile.id)
    return render_associate(
        request,
        "associate/customer_360.html",
        acting,
        section="customers",
        profile=profile,
        name=customers.display_name(profile.traits),
        city=customers.city_of(profile.traits),
        identity=_identity(profile, identifiers, masked),
        since=format_date(profile.created_at.astimezone(zone).date(), "long", locale=babel),
        consents=_consent_states(consents, zone, babel),
        may_personalise=may_personalise,
        personalisation_state=(
            "unknown"
            if personalisation is None
            else ("granted" if personalisation.granted else "withdrawn")
        ),
        viewed_count=len(viewed or []),
        timeline=_timeline(uow, acting, cluster, viewed, lang, now),
        notes=[
            {
                "kind": note.kind,
                "text": note.text,
                "mine": note.author == acting.principal.id,
                "author": authors.get(note.author),
                "store": note_stores[note.store_id].name if note.store_id in note_stores else None,
                "date": format_date(
                    note.created_at.astimezone(zone).date(), "medium", locale=babel
                ),
            }
            for note in notes
        ],
        note_kinds=[kind.value for kind in NoteKind],
        cart=cart,
        money=lambda amount, currency: format_money(amount, currency, babel),
        error=error,
        added=added,
    )


@router.post(f"{CLIENTS}/{{profile_id}}/notes")
def add_note(
    profile_id: str,
    acting: ActingDep,
    uow: UowDep,
    text: Annotated[str, Form(max_length=2000)] = "",
    kind: Annotated[str, Form(max_length=20)] = NoteKind.NOTE.value,
) -> Response:
    """A note or a preference; PRG back to her 360 (with the refusal's code when refused)."""
    target = f"{CLIENTS}/{quote(profile_id[:40])}"
    try:
        customers.add_customer_note(
            uow=uow,
            profile_id=profile_id,
            kind=kind,
            text=text,
            author=acting.principal.id or "staff",
            store_id=acting.store_id,
        )
    except DomainError as refused:
        return RedirectResponse(f"{target}?error={quote(refused.code)}#notes", status_code=303)
    uow.commit()
    return RedirectResponse(f"{target}?added=1#notes", status_code=303)
