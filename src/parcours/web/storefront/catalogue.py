"""The shop's first pages: home, search, a product with live per-store availability, and the store
locator. Public, French by default; the storefront issue grows them into the full PWA."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from parcours.catalog import service as catalog
from parcours.catalog.models import Channel, Product, Variant
from parcours.catalog.qr import parse_medium
from parcours.core.auth.principal import PUBLIC, Principal
from parcours.core.clock import utcnow
from parcours.core.deps import ReadUowDep
from parcours.core.errors import InvalidInput, NotFound
from parcours.core.money import format_money
from parcours.core.uow import UnitOfWork
from parcours.inventory import service as inventory
from parcours.stores import service as stores
from parcours.web.rendering import page_locale, render

router = APIRouter(include_in_schema=False)
PublicDep = Annotated[Principal, Depends(PUBLIC)]

#: Where a shopper is assumed to be until she says: the centre of Paris.
DEFAULT_PLACE = stores.ResolvedPlace(48.8566, 2.3522, "Paris")
PLACE_COOKIE = "parcours_place"
_BABEL = {"fr": "fr_FR", "en": "en_GB"}
_PRINT_MEDIA_FR = {
    "poster": "une affiche",
    "magazine": "un magazine",
    "shelf_label": "une étiquette en rayon",
    "packaging": "un emballage",
    "flyer": "un prospectus",
    "window": "une vitrine",
}
_PRINT_MEDIA_EN = {
    "poster": "a poster",
    "magazine": "a magazine",
    "shelf_label": "a shelf label",
    "packaging": "packaging",
    "flyer": "a flyer",
    "window": "a shop window",
}


@dataclass(frozen=True, slots=True)
class Where:
    """The shopper's position as the page understood it, and what to tell her if it could not."""

    place: stores.ResolvedPlace
    query: str
    error: str | None = None
    chosen: bool = False


def _float(value: str | None, low: float, high: float) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and low <= number <= high else None


def locate_shopper(request: Request, uow: UnitOfWork) -> Where:
    """From ``lat``/``lon`` (the browser's geolocation), ``q`` (a postcode or city), or the
    position remembered in a cookie; else the default place."""
    params = request.query_params
    lat, lon = _float(params.get("lat"), -90, 90), _float(params.get("lon"), -180, 180)
    if lat is not None and lon is not None:
        label = "ma position" if page_locale(request) == "fr" else "my location"
        return Where(stores.ResolvedPlace(lat, lon, label), "", chosen=True)
    query = (params.get("q") or "").strip()[:120]
    if query:
        try:
            return Where(stores.resolve_place(uow=uow, query=query), query, chosen=True)
        except (NotFound, InvalidInput):
            return Where(DEFAULT_PLACE, query, error="product.place_unknown")
    remembered = request.cookies.get(PLACE_COOKIE, "")
    parts = remembered.split("|", 2)
    if len(parts) == 3:
        lat, lon = _float(parts[0], -90, 90), _float(parts[1], -180, 180)
        if lat is not None and lon is not None:
            return Where(stores.ResolvedPlace(lat, lon, parts[2][:80]), "", chosen=True)
    return Where(DEFAULT_PLACE, "")


def _remember(response: Response, where: Where) -> None:
    if where.chosen and where.error is None:
        place = where.place
        value = f"{place.latitude:.4f}|{place.longitude:.4f}|{place.label[:80]}"
        response.set_cookie(PLACE_COOKIE, value, max_age=30 * 24 * 3600, samesite="lax")


def _variant_labels(variants: list[Variant]) -> dict[str, str]:
    """Name each variant by what tells it apart: "38", not "38 · Noir" when all are black."""
    keys = list(dict.fromkeys(k for v in variants for k in v.attributes))
    varying = [k for k in keys if len({str(v.attributes.get(k, "")) for v in variants}) > 1]
    return {
        v.id: " · ".join(str(v.attributes[k]) for k in varying if k in v.attributes) or v.sku
        for v in variants
    }


def _tile(product: Product, lang: str) -> dict[str, Any]:
    return {
        "name": product.name,
        "url": f"/produits/{product.slug}",
        "image": product.image_urls[0] if product.image_urls else "",
        "price": format_money(product.price_amount, product.currency, _BABEL[lang]),
        "brand": product.brand,
    }


@router.get("/", response_class=HTMLResponse)
def home(request: Request, uow: ReadUowDep, _: PublicDep) -> Response:
    lang = page_locale(request)
    listing = catalog.list_products(uow=uow, limit=200, channel=Channel.WEB, status="published")
    # One product per category first, so the home page shows the range, not twelve trousers.
    featured: list[Product] = []
    seen: set[str | None] = set()
    for product in listing.items:
        if product.category_id not in seen:
            seen.add(product.category_id)
            featured.append(product)
    featured = (featured + [p for p in listing.items if p not in featured])[:12]
    return render(request, "home.html", products=[_tile(p, lang) for p in featured])


@router.get("/recherche", response_class=HTMLResponse)
def search(
    request: Request,
    uow: ReadUowDep,
    _: PublicDep,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    lang = page_locale(request)
    query = q.strip()
    results = (
        catalog.search_products(
            uow=uow, query=query, limit=48, channel=Channel.WEB, published_only=True
        ).items
        if query
        else []
    )
    return render(request, "search.html", query=query, products=[_tile(p, lang) for p in results])


@router.get("/produits/{slug}", response_class=HTMLResponse)
def product_page(request: Request, slug: str, uow: ReadUowDep, _: PublicDep) -> Response:
    lang = page_locale(request)
    try:
        product = catalog.get_product_by_slug(uow=uow, slug=slug[:160], published_only=True)
    except NotFound:
        return render(request, "error.html", status_code=404, message_id="product.not_found")
    variants = list(product.variants)
    chosen_id = request.query_params.get("variant")
    chosen = next((v for v in variants if v.id == chosen_id), variants[0] if variants else None)
    where = locate_shopper(request, uow)
    now = utcnow()
    low = request.app.state.settings.low_stock_threshold
    stores_near: list[dict[str, Any]] = []
    stocked_nearby: dict[str, int] = {}
    if chosen is not None:
        grid = inventory.availability_of_variants(
            uow=uow,
            variant_ids=[v.id for v in variants],
            latitude=where.place.latitude,
            longitude=where.place.longitude,
            limit=10,
            now=now,
            low_threshold=low,
        )
        stocked_nearby = {
            v.id: sum(1 for store in grid if store.variants[v.id][0] > 0) for v in variants
        }
        for store in inventory.availability_near(
            uow=uow,
            variant_id=chosen.id,
            latitude=where.place.latitude,
            longitude=where.place.longitude,
            limit=10,
            now=now,
            low_threshold=low,
        ):
            location = store.location
            stores_near.append(
                {
                    "name": location.name,
                    "address": f"{location.street}, {location.postcode} {location.city}",
                    "km": f"{store.distance_km:.1f}".replace(".", "," if lang == "fr" else "."),
                    "available": store.available,
                    "level": store.level,
                    "open": store.opening.label(lang),
                    "open_now": store.opening.open_now,
                    "collect": (store.collect.label_en if lang == "en" else store.collect.label_fr)
                    if store.collect
                    else None,
                }
            )
    medium = parse_medium(request.query_params.get("utm_source"))
    media = _PRINT_MEDIA_EN if lang == "en" else _PRINT_MEDIA_FR
    price = catalog.effective_price(chosen) if chosen is not None else product.price_amount
    labels = _variant_labels(variants)
    response = render(
        request,
        "product.html",
        product=product,
        price=format_money(price, product.currency, _BABEL[lang]),
        variants=[
            {
                "id": v.id,
                "label": labels[v.id],
                "sku": v.sku,
                "stocked_nearby": stocked_nearby.get(v.id, 0),
                "current": chosen is not None and v.id == chosen.id,
            }
            for v in variants
        ],
        chosen=chosen,
        where=where,
        stores=stores_near,
        from_print=media.get(medium.value) if medium else None,
        print_medium=medium.value if medium else None,
        print_campaign=request.query_params.get("utm_campaign") if medium else None,
        json_ld=_product_json_ld(request, product, chosen, price),
    )
    _remember(response, where)
    return response


def _product_json_ld(
    request: Request, product: Product, chosen: Variant | None, price: int
) -> dict[str, Any]:
    """schema.org Product, as a search engine reads it."""
    base = request.app.state.settings.base_url
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.name,
        "description": product.description,
        "brand": {"@type": "Brand", "name": product.brand} if product.brand else None,
        "image": [img if img.startswith("http") else f"{base}{img}" for img in product.image_urls],
        "offers": {
            "@type": "Offer",
            "price": f"{price / 100:.2f}",
            "priceCurrency": product.currency,
            "url": f"{base}/produits/{product.slug}",
        },
    }
    if chosen is not None:
        data["sku"] = chosen.sku
        if chosen.gtin:
            data["gtin13"] = chosen.gtin
    return {k: v for k, v in data.items() if v is not None}


@router.get("/magasins", response_class=HTMLResponse)
def store_locator(request: Request, uow: ReadUowDep, _: PublicDep) -> Response:
    lang = page_locale(request)
    where = locate_shopper(request, uow)
    now = utcnow()
    found = stores.find_nearest_locations(
        uow=uow, latitude=where.place.latitude, longitude=where.place.longitude, limit=10
    )
    cards = []
    for location, km in found:
        status = stores.opening_status(location, now)
        by_day: dict[int, list[str]] = {}
        for hours in location.hours:
            by_day.setdefault(hours.weekday, []).append(f"{hours.opens}–{hours.closes}")
        cards.append(
            {
                "name": location.name,
                "address": f"{location.street}, {location.postcode} {location.city}",
                "km": f"{km:.1f}".replace(".", "," if lang == "fr" else "."),
                "open": status.label(lang),
                "open_now": status.open_now,
                "services": sorted(location.services),
                "hours": [(day, ", ".join(by_day.get(day, []))) for day in range(7)],
                "phone": location.phone,
                "directions": (
                    "https://www.openstreetmap.org/directions?route=%3B"
                    f"{location.latitude}%2C{location.longitude}"
                ),
            }
        )
    response = render(request, "stores.html", where=where, stores=cards)
    _remember(response, where)
    return response
