"""Associate app: scan a product, see its stock here, nearby and in the warehouse, sell it or
order it for her (the endless aisle).

The code field takes what a handheld scanner types (a GTIN, then Enter), a SKU, one of our QR
links (``…/q/<id>``) or product URLs, or words to search the catalogue. The product sheet reads
stock through the inventory service; ordering builds a cart in her name at this store and places
it with this associate as its actor, so the order is marked ``endless_aisle`` when another
location supplies it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit
from zoneinfo import ZoneInfo

from babel.dates import format_date
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from parcours.carts import service as carts
from parcours.carts.models import TouchpointKind
from parcours.catalog import service as catalog
from parcours.catalog.models import Product
from parcours.catalog.service import VariantInfo
from parcours.core.clock import utcnow
from parcours.core.deps import ReadUowDep, SettingsDep, UowDep
from parcours.core.errors import Conflict, DomainError, InvalidInput, NotFound
from parcours.core.i18n import translate
from parcours.core.money import format_money
from parcours.core.settings import Settings
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.inventory import service as inventory
from parcours.orders import service as orders
from parcours.orders import sourcing
from parcours.orders.models import FulfilmentMethod
from parcours.stores import service as stores
from parcours.stores.models import LocationKind
from parcours.web.associate.shell import Acting, ActingDep, render_associate
from parcours.web.rendering import page_locale

router = APIRouter(include_in_schema=False)

BASE = "/associate/produits"
TILL_LINES = "/associate/caisse/lignes"
NEARBY_STORES = 6
_BABEL = {"fr": "fr_FR", "en": "en_GB"}
#: Stock levels as the pills of associate.css colour them.
_PILL = {"in_stock": "ok", "low": "low", "out_of_stock": "out"}
_GTIN = re.compile(r"^\d{8}$|^\d{12,14}$")
_PROFILE_ID = re.compile(r"^cus_[0-9a-z]{26}$")
#: Codes a refused order is explained by, in her words rather than the API's.
_ORDER_ERRORS = {
    "insufficient_stock": "associate.products.error.no_stock",
    "invalid_address": "associate.products.error.address",
    "address_required": "associate.products.error.address",
    "invalid_email": "associate.products.error.email",
    "contact_required": "associate.products.error.email",
    "service_not_offered": "associate.products.error.no_collect",
    "product_not_for_sale": "associate.products.error.not_for_sale",
}


# --- finding the product a code names ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Found:
    """What a typed or scanned code names: a product (and a size), or search results."""

    product_id: str | None = None
    variant_id: str | None = None
    results: list[Product] = field(default_factory=list)


def _from_url(uow: UnitOfWork, text: str) -> Found | None:
    """Our printed QR links (``/q/<id>``) and product pages (``/produits/<slug>?variant=``)."""
    parts = urlsplit(text)
    segments = [segment for segment in parts.path.split("/") if segment]
    if len(segments) == 2 and segments[0] == "q":
        target = segments[1]
        if target.startswith("var_"):
            variant = catalog.get_variants(uow=uow, variant_ids=[target]).get(target)
            return Found(variant.product_id, variant.id) if variant else None
        return Found(target) if target.startswith("prd_") else None
    if len(segments) == 2 and segments[0] == "produits":
        product = catalog.get_product_by_slug(uow=uow, slug=segments[1], published_only=True)
        variant_ids = parse_qs(parts.query).get("variant", [])
        return Found(product.id, variant_ids[0] if variant_ids else None)
    return None


def find_product(*, uow: UnitOfWork, code: str) -> Found:
    """What the associate typed or scanned: a GTIN, a SKU, one of our links, else words."""
    text = code.strip()
    if _GTIN.match(text):
        try:
            variant = catalog.find_variant_by_gtin(uow=uow, gtin=text, published_only=True)
            return Found(variant.product_id, variant.id)
        except (InvalidInput, NotFound):
            pass
    if "/" in text:
        try:
            found = _from_url(uow, text)
        except NotFound:
            found = None
        if found is not None:
            return found
    try:
        variant = catalog.find_variant_by_sku(uow=uow, sku=text, published_only=True)
        return Found(variant.product_id, variant.id)
    except NotFound:
        pass
    listing = catalog.search_products(uow=uow, query=text, limit=20, published_only=True)
    return Found(results=list(listing.items))


# --- the product sheet ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Nearby:
    name: str
    km: float
    units: int
    level: str


@dataclass(frozen=True, slots=True)
class VariantStock:
    """One size as the associate reads it: where it is, and when she could have it here."""

    variant: VariantInfo
    label: str
    price: str
    here: int
    here_level: str
    nearby: list[Nearby]
    warehouse: int
    #: Lots on their way here, soonest first: (units, expected day in the store's time zone).
    incoming: list[tuple[int, str]]
    collect_label: str | None

    @property
    def in_transit(self) -> int:
        return sum(units for units, _ in self.incoming)


def _size_label(variant: VariantInfo) -> str:
    return " · ".join(str(value) for value in variant.attributes.values()) or variant.sku


def _variant_infos(uow: UnitOfWork, product: Product) -> list[VariantInfo]:
    found = catalog.get_variants(uow=uow, variant_ids=[v.id for v in product.variants])
    return [found[v.id] for v in product.variants if v.id in found]


def _warehouse_ids(uow: UnitOfWork) -> list[str]:
    found, _ = stores.list_locations(uow=uow, kind=LocationKind.WAREHOUSE, active=True, limit=100)
    return [location.id for location in found]


def stock_sheet(
    *, uow: UnitOfWork, store: Any, variants: list[VariantInfo], lang: str, now: datetime
) -> list[VariantStock]:
    """Each size's stock here, in the nearest stores, in the warehouses and on its way here,
    with when she could collect it here."""
    ids = [variant.id for variant in variants]
    near = inventory.availability_of_variants(
        uow=uow,
        variant_ids=ids,
        latitude=store.latitude,
        longitude=store.longitude,
        limit=NEARBY_STORES + 1,
        now=now,
    )
    warehouses = inventory.available_at(uow=uow, variant_ids=ids, location_ids=_warehouse_ids(uow))
    incoming = inventory.incoming_transfers(uow=uow, location_id=store.id, variant_ids=ids)
    zone = ZoneInfo(store.timezone)
    sheet = []
    for variant in variants:
        here, here_level = 0, "out"
        nearby = []
        for row in near:
            units, level = row.variants[variant.id]
            if row.location.id == store.id:
                here, here_level = units, _PILL[level]
            elif units > 0:
                nearby.append(Nearby(row.location.name, row.distance_km, units, _PILL[level]))
        collect = next(
            (
                option.collect
                for option in inventory.availability_near(
                    uow=uow,
                    variant_id=variant.id,
                    latitude=store.latitude,
                    longitude=store.longitude,
                    limit=NEARBY_STORES + 1,
                    now=now,
                )
                if option.location.id == store.id
            ),
            None,
        )
        sheet.append(
            VariantStock(
                variant=variant,
                label=_size_label(variant),
                price=format_money(variant.price_amount, variant.currency, _BABEL[lang]),
                here=here,
                here_level=here_level,
                nearby=nearby,
                warehouse=sum(warehouses.get(variant.id, {}).values()),
                incoming=[
                    (
                        units,
                        format_date(
                            expected.astimezone(zone).date(), format="dd/MM", locale=_BABEL[lang]
                        ),
                    )
                    for units, expected in incoming.get(variant.id, [])
                ],
                collect_label=(
                    None
                    if collect is None
                    else (collect.label_en if lang == "en" else collect.label_fr)
                ),
            )
        )
    return sheet


def _client_param(value: str | None) -> str | None:
    return value if value and _PROFILE_ID.match(value) else None


@router.get(BASE, response_class=HTMLResponse)
def products_page(
    request: Request,
    acting: ActingDep,
    uow: ReadUowDep,
    code: Annotated[str | None, Query(max_length=300)] = None,
    client: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The code field; a code that names one product opens its sheet, words list results."""
    if not code or not code.strip():
        return render_associate(
            request, "associate/products.html", acting, section="products", code=""
        )
    found = find_product(uow=uow, code=code)
    extra = {"client": _client_param(client)} if _client_param(client) else {}
    if found.product_id is not None:
        query = urlencode({**({"variant": found.variant_id} if found.variant_id else {}), **extra})
        target = f"{BASE}/{quote(found.product_id)}" + (f"?{query}" if query else "")
        return RedirectResponse(target, status_code=303)
    if len(found.results) == 1:
        query = urlencode(extra)
        return RedirectResponse(
            f"{BASE}/{found.results[0].id}" + (f"?{query}" if query else ""), status_code=303
        )
    lang = page_locale(request)
    return render_associate(
        request,
        "associate/products.html",
        acting,
        section="products",
        code=code.strip(),
        results=[
            (
                product,
                format_money(product.price_amount, product.currency, _BABEL[lang]),
            )
            for product in found.results
        ],
        searched=True,
        client=_client_param(client),
    )


def _published(uow: UnitOfWork, product_id: str) -> Product:
    return catalog.get_product(uow=uow, product_id=product_id, published_only=True)


@router.get(BASE + "/{product_id}", response_class=HTMLResponse)
def product_sheet(
    product_id: str,
    request: Request,
    acting: ActingDep,
    uow: ReadUowDep,
    variant: Annotated[str | None, Query(max_length=40)] = None,
    client: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The product with each size's stock here, nearby, in the warehouse, and the actions."""
    lang = page_locale(request)
    product = _published(uow, product_id)
    variants = _variant_infos(uow, product)
    sheet = stock_sheet(uow=uow, store=acting.store, variants=variants, lang=lang, now=utcnow())
    return render_associate(
        request,
        "associate/product_sheet.html",
        acting,
        section="products",
        product=product,
        sheet=sheet,
        chosen=variant,
        client=_client_param(client),
        here_url=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        till_lines=TILL_LINES,
    )


# --- the endless aisle ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Promise:
    """When she gets it, said before the associate confirms."""

    available: bool
    label: str
    from_elsewhere: bool = False


def _local_day(moment: datetime, store: Any, lang: str) -> str:
    local = moment.astimezone(ZoneInfo(store.timezone))
    return format_date(local.date(), format="EEEE d MMMM", locale=_BABEL[lang])


def promises(
    *,
    uow: UnitOfWork,
    store: Any,
    variant_id: str,
    lang: str,
    now: datetime,
    delivery_strategy: str = "warehouse_first",
) -> dict[str, Promise]:
    """Pickup here and home delivery, as the order's sourcing would promise them now."""

    def t(message_id: str, **values: object) -> str:
        return translate(lang, message_id, **values)

    answer: dict[str, Promise] = {}
    try:
        pickup = sourcing.choose_source(
            uow=uow,
            method=FulfilmentMethod.CLICK_AND_COLLECT,
            quantities={variant_id: 1},
            store_id=store.id,
            address=None,
            delivery_strategy="warehouse_first",
            now=now,
        )
        ready = (
            stores.describe_moment(pickup.ready_by, now=now, locale="en" if lang == "en" else "fr")
            if pickup.ready_by
            else "?"
        )
        answer["pickup"] = Promise(
            True,
            t("associate.products.promise.pickup", when=ready),
            from_elsewhere=pickup.source_location_id != store.id,
        )
    except (Conflict, NotFound, InvalidInput) as exc:
        answer["pickup"] = Promise(
            False, t(_ORDER_ERRORS.get(exc.code, "associate.products.error.no_stock"))
        )
    try:
        # The lead time depends on the source only: the store's own town stands in for her
        # address until she gives it.
        delivery = sourcing.choose_source(
            uow=uow,
            method=FulfilmentMethod.DELIVERY,
            quantities={variant_id: 1},
            store_id=None,
            address={"postcode": store.postcode, "city": store.city},
            delivery_strategy=delivery_strategy,
            now=now,
        )
        answer["delivery"] = Promise(
            True,
            t(
                "associate.products.promise.delivery",
                when=_local_day(delivery.ready_by or now, store, lang),
            ),
            from_elsewhere=True,
        )
    except (Conflict, NotFound, InvalidInput):
        answer["delivery"] = Promise(False, t("associate.products.error.no_stock"))
    return answer


def _prefill_email(uow: UnitOfWork, profile_id: str | None) -> str:
    if profile_id is None:
        return ""
    try:
        profile = customers.get_live_profile(uow=uow, profile_id=profile_id)
    except DomainError:
        return ""
    for identifier in customers.identifiers_of(uow=uow, profile_id=profile.id):
        if identifier.kind == "email":
            return identifier.value
    return ""


def _order_page(
    request: Request,
    acting: Acting,
    uow: UnitOfWork,
    product: Product,
    *,
    variant_id: str | None,
    form: dict[str, str],
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = page_locale(request)
    variants = _variant_infos(uow, product)
    chosen = next((v for v in variants if v.id == variant_id), variants[0] if variants else None)
    if chosen is None:
        raise NotFound("this product has no size for sale", code="variant_not_found")
    return render_associate(
        request,
        "associate/product_order.html",
        acting,
        status_code=status_code,
        section="products",
        product=product,
        variants=variants,
        chosen=chosen,
        size_label=_size_label,
        price=format_money(chosen.price_amount, chosen.currency, _BABEL[lang]),
        promises=promises(
            uow=uow,
            store=acting.store,
            variant_id=chosen.id,
            lang=lang,
            now=utcnow(),
            delivery_strategy=request.app.state.settings.delivery_sourcing,
        ),
        form=form,
        error=error,
    )


@router.get(BASE + "/{product_id}/commander", response_class=HTMLResponse)
def order_for_her_page(
    product_id: str,
    request: Request,
    acting: ActingDep,
    uow: ReadUowDep,
    variant: Annotated[str | None, Query(max_length=40)] = None,
    client: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """Order a size for her: pickup here or home delivery, with each promise shown first."""
    product = _published(uow, product_id)
    profile_id = _client_param(client)
    form = {
        "mode": "pickup",
        "email": _prefill_email(uow, profile_id),
        "client": profile_id or "",
    }
    return _order_page(request, acting, uow, product, variant_id=variant, form=form)


@router.post(BASE + "/{product_id}/commander")
def order_for_her(
    product_id: str,
    request: Request,
    acting: ActingDep,
    uow: UowDep,
    settings: SettingsDep,
    variant_id: Annotated[str, Form(max_length=40)],
    mode: Annotated[str, Form(max_length=20)] = "pickup",
    email: Annotated[str, Form(max_length=320)] = "",
    client: Annotated[str, Form(max_length=40)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    street: Annotated[str, Form(max_length=200)] = "",
    postcode: Annotated[str, Form(max_length=16)] = "",
    city: Annotated[str, Form(max_length=120)] = "",
) -> Response:
    """Place the order: a cart in her name at this store, one line, then the order; the till's
    payment page follows."""
    lang = page_locale(request)
    product = _published(uow, product_id)
    form = {
        "mode": mode,
        "email": email.strip(),
        "client": client,
        "name": name,
        "street": street,
        "postcode": postcode,
        "city": city,
    }
    try:
        order_id = _place(uow, acting, settings, product, variant_id, form, lang)
    except DomainError as exc:
        uow.rollback()
        message = _ORDER_ERRORS.get(exc.code)
        text = translate(lang, message) if message else exc.detail
        return _order_page(
            request,
            acting,
            uow,
            _published(uow, product_id),
            variant_id=variant_id,
            form=form,
            error=text,
            status_code=422,
        )
    uow.commit()
    return RedirectResponse(f"/associate/caisse/commandes/{order_id}", status_code=303)


def _place(
    uow: UnitOfWork,
    acting: Acting,
    settings: Settings,
    product: Product,
    variant_id: str,
    form: dict[str, str],
    lang: str,
) -> str:
    if variant_id not in {variant.id for variant in product.variants}:
        raise NotFound("this size is not of this product", code="variant_not_found")
    profile_id = _client_param(form["client"])
    if profile_id is not None:
        profile_id = customers.get_live_profile(uow=uow, profile_id=profile_id).id
    if not form["email"] and profile_id is None:
        raise InvalidInput("an email to tell her when it is ready", code="contact_required")
    # A walk-in cart: the cart she may be filling on her phone is left alone, and the order
    # joins her history through the placement.
    cart = carts.open_cart(
        uow=uow,
        profile_id=None,
        anonymous_id=None,
        channel="till",
        currency=settings.default_currency,
        store_id=acting.store_id,
        actor=acting.principal.id,
    )
    carts.add_line(
        uow=uow,
        cart_id=cart.id,
        variant_id=variant_id,
        quantity=1,
        touchpoint=carts.Touchpoint(kind=TouchpointKind.STORE, store_id=acting.store_id),
        actor=acting.principal.id,
    )
    if form["mode"] == "delivery":
        group = orders.FulfilmentRequest(
            method=FulfilmentMethod.DELIVERY,
            address={
                "name": form["name"],
                "line1": form["street"],
                "postcode": form["postcode"],
                "city": form["city"],
                "country": acting.store.country,
            },
        )
    else:
        group = orders.FulfilmentRequest(
            method=FulfilmentMethod.CLICK_AND_COLLECT, store_id=acting.store_id
        )
    order = orders.place_order(
        uow=uow,
        cart_id=cart.id,
        groups=[group],
        placement=orders.Placement(
            channel="till",
            store_id=acting.store_id,
            actor=acting.principal.id,
            profile_id=profile_id,
        ),
        email=form["email"] or _prefill_email(uow, profile_id) or None,
        locale=lang,
        # Paid at the till or by a link on her phone, maybe later today: the store's hold, not
        # the web checkout's few minutes, keeps the stock reserved meanwhile.
        payment_window=timedelta(hours=settings.store_hold_hours),
        store_hold=timedelta(hours=settings.store_hold_hours),
        delivery_strategy=settings.delivery_sourcing,
    )
    return order.id


__all__ = ["find_product", "promises", "router", "stock_sheet"]
