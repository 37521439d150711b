"""The storefront's catalogue pages: home (new in, trending in her store, recently viewed), the
category tree and category lists with filters, search with suggestions as she types and a helpful
page when nothing matches, the product page (per-store availability, delivery estimate, JSON-LD)
and the store locator. Public, French by default, working without JavaScript; ``catalogue.js``
enhances them (combobox, live filters, the recently viewed list kept in her browser)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

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
from parcours.orders import popularity, sourcing
from parcours.stores import service as stores
from parcours.stores.directory import StoreCard
from parcours.stores.models import LocationKind
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


def _money(amount: int, currency: str, lang: str) -> str:
    return format_money(amount, currency, _BABEL[lang])


def _tile(product: Product, lang: str, price: int | None = None) -> dict[str, Any]:
    prices = {catalog.effective_price(v) for v in product.variants}
    return {
        "name": product.name,
        "url": f"/produits/{product.slug}",
        "image": product.image_urls[0] if product.image_urls else "",
        "price": _money(
            price if price is not None else product.price_amount, product.currency, lang
        ),
        # "from" when her sizes do not all cost the same: the tile shows the lowest.
        "from_price": len(prices) > 1,
        "brand": product.brand,
    }


def nearest_store(uow: UnitOfWork, where: Where) -> StoreCard | None:
    """Her store: the nearest one to the position she gave (or the default place)."""
    found = stores.find_nearest_locations(
        uow=uow,
        latitude=where.place.latitude,
        longitude=where.place.longitude,
        limit=1,
        kind=LocationKind.STORE,
    )
    return found[0][0] if found else None


#: Trending looks back this far, and trusts a store's own sales from this many products on.
TRENDING_WINDOW = timedelta(days=14)
TRENDING_MIN_PRODUCTS = 4


def _trending(
    uow: UnitOfWork, store: StoreCard | None, now: datetime
) -> tuple[list[Product], bool]:
    """The products most bought at her store over two weeks; the network's when the store has
    too little history to say. Returns the products and whether they are the store's own."""
    since = now - TRENDING_WINDOW
    if store is not None:
        sales = popularity.best_selling_products(uow=uow, since=since, store_id=store.id, limit=12)
        products = catalog.products_by_ids(uow=uow, product_ids=[s.product_id for s in sales])
        if len(products) >= TRENDING_MIN_PRODUCTS:
            return products[:8], True
    sales = popularity.best_selling_products(uow=uow, since=since, limit=12)
    return catalog.products_by_ids(uow=uow, product_ids=[s.product_id for s in sales])[:8], False


@router.get("/", response_class=HTMLResponse)
def home(request: Request, uow: ReadUowDep, _: PublicDep) -> Response:
    lang = page_locale(request)
    where = locate_shopper(request, uow)
    store = nearest_store(uow, where)
    trending, own = _trending(uow, store, utcnow())
    newest = catalog.newest_products(uow=uow, limit=8)
    return render(
        request,
        "home.html",
        newest=[_tile(p, lang) for p in newest],
        trending=[_tile(p, lang) for p in trending],
        trending_store=store.name if store is not None and own else None,
        store=store,
        categories=_top_categories(uow),
    )


def _top_categories(uow: UnitOfWork) -> list[dict[str, Any]]:
    counts = catalog.category_product_counts(uow=uow)
    roots = catalog.list_categories(uow=uow).items
    return [
        {"name": node.name, "url": f"/rayons/{node.slug}", "count": counts.get(node.id, 0)}
        for node in roots
        if counts.get(node.id, 0)
    ]


def _popular_categories(uow: UnitOfWork, limit: int = 6) -> list[dict[str, Any]]:
    """The fullest sub-categories: where to look when a search found nothing."""
    counts = catalog.category_product_counts(uow=uow)
    leaves = []
    for root in catalog.list_categories(uow=uow).items:
        for node in root.children or [root]:
            if counts.get(node.id, 0):
                label = f"{node.name} · {root.name}" if node is not root else node.name
                leaves.append((counts[node.id], label, node.slug))
    leaves.sort(key=lambda item: (-item[0], item[1]))
    return [{"name": label, "url": f"/rayons/{slug}"} for _, label, slug in leaves[:limit]]


# --- categories -----------------------------------------------------------------------------

_SORTS = {
    "nouveautes": "new",
    "prix-croissant": "price_asc",
    "prix-decroissant": "price_desc",
    "nom": "name",
}
PER_PAGE = 24


def _find_node(
    nodes: Sequence[catalog.CategoryNode], slug: str, trail: tuple[catalog.CategoryNode, ...] = ()
) -> tuple[catalog.CategoryNode, ...] | None:
    """The path from the root to the category with this slug."""
    for node in nodes:
        if node.slug == slug:
            return (*trail, node)
        found = _find_node(node.children, slug, (*trail, node))
        if found:
            return found
    return None


def _trail_of(uow: UnitOfWork, category_id: str | None) -> list[catalog.CategoryNode]:
    if category_id is None:
        return []

    def walk(
        nodes: Sequence[catalog.CategoryNode], trail: tuple[catalog.CategoryNode, ...]
    ) -> tuple[catalog.CategoryNode, ...] | None:
        for node in nodes:
            if node.id == category_id:
                return (*trail, node)
            found = walk(node.children, (*trail, node))
            if found:
                return found
        return None

    return list(walk(catalog.list_categories(uow=uow).items, ()) or ())


@router.get("/rayons", response_class=HTMLResponse)
def category_tree(request: Request, uow: ReadUowDep, _: PublicDep) -> Response:
    counts = catalog.category_product_counts(uow=uow)

    def node_view(node: catalog.CategoryNode) -> dict[str, Any]:
        return {
            "name": node.name,
            "url": f"/rayons/{node.slug}",
            "count": counts.get(node.id, 0),
            "children": [node_view(c) for c in node.children if counts.get(c.id, 0)],
        }

    roots = [node_view(n) for n in catalog.list_categories(uow=uow).items if counts.get(n.id, 0)]
    return render(request, "storefront/category_tree.html", roots=roots)


def _euros(value: str | None) -> int | None:
    """A price typed in euros ("49", "49,90") as cents; None when empty or not a price."""
    if not value:
        return None
    try:
        number = float(value.strip().replace(",", ".").replace("€", ""))
    except ValueError:
        return None
    return round(number * 100) if 0 <= number < 1_000_000 else None


def _url(path: str, params: Sequence[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(params)}" if params else path


@router.get("/rayons/{slug}", response_class=HTMLResponse)
def category_page(request: Request, slug: str, uow: ReadUowDep, _: PublicDep) -> Response:
    lang = page_locale(request)
    trail = _find_node(catalog.list_categories(uow=uow).items, slug[:120])
    if trail is None:
        return render(request, "error.html", status_code=404, message_id="catalogue.no_category")
    category = trail[-1]
    params = request.query_params
    sizes = frozenset(v[:20] for v in params.getlist("taille")[:20] if v)
    colours = frozenset(v[:40] for v in params.getlist("couleur")[:20] if v)
    min_price, max_price = _euros(params.get("prix_min")), _euros(params.get("prix_max"))
    sort_key = params.get("tri") or "nouveautes"
    if sort_key not in _SORTS:
        sort_key = "nouveautes"
    try:
        page = max(1, min(int(params.get("page") or 1), 1000))
    except ValueError:
        page = 1
    where = locate_shopper(request, uow)
    my_store = nearest_store(uow, where)
    # The store in the URL wins over the nearest one, so a shared link shows the same list.
    store_id = params.get("magasin")
    cards = stores.store_cards(uow=uow) if store_id else {}
    chosen_store = cards.get(store_id or "")
    if chosen_store is not None and chosen_store.kind != LocationKind.STORE.value:
        chosen_store = None

    def in_store(variant_ids: list[str]) -> Collection[str]:
        assert chosen_store is not None
        held = inventory.available_at(
            uow=uow, variant_ids=variant_ids, location_ids=[chosen_store.id]
        )
        return {v for v, at in held.items() if at.get(chosen_store.id, 0) > 0}

    browse = catalog.browse_products(
        uow=uow,
        category_slug=category.slug,
        filters=catalog.BrowseFilters(
            sizes=sizes, colours=colours, min_price=min_price, max_price=max_price
        ),
        sort=_SORTS[sort_key],
        page=page,
        per_page=PER_PAGE,
        stocked=in_store if chosen_store is not None else None,
    )
    path = f"/rayons/{category.slug}"
    kept: list[tuple[str, str]] = [
        *(("taille", s) for s in sorted(sizes, key=catalog.size_order)),
        *(("couleur", c) for c in sorted(colours)),
        *((("prix_min", params["prix_min"]),) if min_price is not None else ()),
        *((("prix_max", params["prix_max"]),) if max_price is not None else ()),
        *((("magasin", chosen_store.id),) if chosen_store is not None else ()),
    ]
    sort_param = [("tri", sort_key)] if sort_key != "nouveautes" else []
    currency = request.app.state.settings.default_currency

    def without(name: str, value: str) -> str:
        return _url(path, [p for p in kept if p != (name, value)] + sort_param)

    chips = [
        {"label": s, "kind": "size", "url": without("taille", s)}
        for s in sorted(sizes, key=catalog.size_order)
    ]
    chips += [{"label": c, "kind": "colour", "url": without("couleur", c)} for c in sorted(colours)]
    if min_price is not None:
        chips.append(
            {
                "label": _money(min_price, currency, lang),
                "kind": "min",
                "url": without("prix_min", params["prix_min"]),
            }
        )
    if max_price is not None:
        chips.append(
            {
                "label": _money(max_price, currency, lang),
                "kind": "max",
                "url": without("prix_max", params["prix_max"]),
            }
        )
    if chosen_store is not None:
        chips.append(
            {
                "label": chosen_store.name,
                "kind": "store",
                "url": without("magasin", chosen_store.id),
            }
        )
    pages = [
        {"number": n, "url": _url(path, kept + sort_param + ([("page", str(n))] if n > 1 else []))}
        for n in range(1, browse.pages + 1)
    ]
    products = {p.id: p for p in browse.items}
    return render(
        request,
        "storefront/category.html",
        category=category,
        trail=trail[:-1],
        children=[{"name": c.name, "url": f"/rayons/{c.slug}"} for c in category.children],
        products=[_tile(products[p.id], lang, browse.prices[p.id]) for p in browse.items],
        browse=browse,
        sizes=browse.sizes,
        colours=browse.colours,
        min_price=params.get("prix_min", "") if min_price is not None else "",
        max_price=params.get("prix_max", "") if max_price is not None else "",
        price_floor=browse.price_floor // 100 if browse.price_floor is not None else None,
        price_ceiling=-(-browse.price_ceiling // 100) if browse.price_ceiling is not None else None,
        sort=sort_key,
        sorts=list(_SORTS),
        my_store=chosen_store or my_store,
        store_on=chosen_store is not None,
        chips=chips,
        clear_url=_url(path, sort_param),
        pages=pages,
        page=browse.page,
    )


# --- search ---------------------------------------------------------------------------------


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
    if query and not results:
        hint = catalog.spelling_suggestion(uow=uow, query=query)
        # Offer the corrected words only when they would find something.
        if (
            hint
            and not catalog.search_products(
                uow=uow, query=hint, limit=1, channel=Channel.WEB, published_only=True
            ).items
        ):
            hint = None
        return render(
            request,
            "storefront/search_empty.html",
            query=query,
            hint=hint,
            hint_url=_url("/recherche", [("q", hint)]) if hint else None,
            categories=_popular_categories(uow),
        )
    return render(request, "search.html", query=query, products=[_tile(p, lang) for p in results])


@router.get("/recherche/suggestions")
def search_suggestions(
    uow: ReadUowDep,
    _: PublicDep,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """What the search box offers as she types: at most 8 product names and categories."""
    query = q.strip()
    found = catalog.suggest(uow=uow, query=query) if len(query) >= 2 else []
    return JSONResponse(
        {
            "query": query,
            "suggestions": [
                {"kind": s.kind, "label": s.label, "url": s.url, "detail": s.detail} for s in found
            ],
        },
        # The same letters give the same list for a minute: the browser need not ask again.
        headers={"Cache-Control": "public, max-age=60"},
    )


# --- product --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliveryEstimate:
    day: datetime
    label: str


def _delivery_estimate(
    request: Request, uow: UnitOfWork, variant_id: str, where: Where, now: datetime, lang: str
) -> DeliveryEstimate | None:
    """When a home delivery of one unit would arrive, promised as checkout will promise it: the
    location the delivery sourcing strategy picks among those holding it, and its lead time."""
    holders = set(inventory.locations_holding(uow=uow, quantities={variant_id: 1}))
    if not holders:
        return None
    cards = stores.store_cards(uow=uow)
    strategy = sourcing.STRATEGIES[request.app.state.settings.delivery_sourcing]
    ranked = strategy.rank(
        [card for card_id, card in cards.items() if card.active and card_id in holders],
        (where.place.latitude, where.place.longitude),
    )
    if not ranked:
        return None
    source = ranked[0]
    lead = (
        sourcing.WAREHOUSE_DELIVERY
        if source.kind == LocationKind.WAREHOUSE.value
        else sourcing.STORE_DELIVERY
    )
    arrives = (now + lead).astimezone(ZoneInfo(source.timezone))
    day = format_date(arrives.date(), "EEEE d MMMM", locale=_BABEL[lang])
    return DeliveryEstimate(arrives, day)


def _availability(anywhere: int) -> str:
    return "https://schema.org/InStock" if anywhere > 0 else "https://schema.org/OutOfStock"


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
    delivery: DeliveryEstimate | None = None
    anywhere = 0
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
        anywhere = inventory.available_anywhere(uow=uow, variant_ids=[chosen.id])[chosen.id]
        delivery = _delivery_estimate(request, uow, chosen.id, where, now, lang)
    medium = parse_medium(request.query_params.get("utm_source"))
    media = _PRINT_MEDIA_EN if lang == "en" else _PRINT_MEDIA_FR
    price = catalog.effective_price(chosen) if chosen is not None else product.price_amount
    labels = _variant_labels(variants)
    formatted_price = _money(price, product.currency, lang)
    response = render(
        request,
        "product.html",
        product=product,
        price=formatted_price,
        trail=[
            {"name": n.name, "url": f"/rayons/{n.slug}"}
            for n in _trail_of(uow, product.category_id)
        ],
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
        chosen_label=labels[chosen.id] if chosen is not None else "",
        where=where,
        stores=stores_near,
        delivery=delivery,
        in_stock_anywhere=anywhere > 0,
        from_print=media.get(medium.value) if medium else None,
        print_medium=medium.value if medium else None,
        print_campaign=request.query_params.get("utm_campaign") if medium else None,
        json_ld=_product_json_ld(request, product, chosen, price, anywhere),
        recent={
            "slug": product.slug,
            "name": product.name,
            "url": f"/produits/{product.slug}",
            "image": product.image_urls[0] if product.image_urls else "",
            "price": formatted_price,
            "brand": product.brand,
        },
    )
    _remember(response, where)
    return response


def _product_json_ld(
    request: Request, product: Product, chosen: Variant | None, price: int, anywhere: int
) -> dict[str, Any]:
    """schema.org Product, as a search engine reads it: the chosen variant's SKU, GTIN and
    offer, available when any location can sell a unit."""
    base = request.app.state.settings.base_url
    url = f"{base}/produits/{product.slug}"
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        # Our id, which the page's tracking sends as Product Viewed's product_id.
        "productID": product.id,
        "name": product.name,
        "description": product.description,
        "brand": {"@type": "Brand", "name": product.brand} if product.brand else None,
        "image": [img if img.startswith("http") else f"{base}{img}" for img in product.image_urls],
        "url": url,
        "offers": {
            "@type": "Offer",
            "price": f"{price / 100:.2f}",
            "priceCurrency": product.currency,
            "availability": _availability(anywhere),
            "itemCondition": "https://schema.org/NewCondition",
            "url": f"{url}?variant={chosen.id}" if chosen is not None else url,
        },
    }
    if chosen is not None:
        data["sku"] = chosen.sku
        if chosen.gtin and len(chosen.gtin) == 13:
            data["gtin13"] = chosen.gtin
        elif chosen.gtin:
            data["gtin"] = chosen.gtin
    return {k: v for k, v in data.items() if v is not None}


# --- stores ---------------------------------------------------------------------------------


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
        today = now.astimezone(ZoneInfo(location.timezone)).weekday()
        lat, lon = f"{location.latitude:.5f}", f"{location.longitude:.5f}"
        cards.append(
            {
                "name": location.name,
                "street": location.street,
                "city": f"{location.postcode} {location.city}",
                "address": f"{location.street}, {location.postcode} {location.city}",
                "km": f"{km:.1f}".replace(".", "," if lang == "fr" else "."),
                "open": status.label(lang),
                "open_now": status.open_now,
                "services": sorted(location.services),
                "hours": [(day, ", ".join(by_day.get(day, []))) for day in range(7)],
                "today": today,
                "phone": location.phone,
                "directions": (f"https://www.openstreetmap.org/directions?route=%3B{lat}%2C{lon}"),
                "map": f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}",
            }
        )
    response = render(request, "stores.html", where=where, stores=cards)
    _remember(response, where)
    return response
