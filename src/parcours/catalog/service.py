"""Catalog use cases: categories, products and variants, publication, prices, search, CSV import,
QR codes.

Every function takes the unit of work and keyword arguments; writers flush and never commit (the
entry point owns the transaction). Refusals are domain errors with stable codes:
``product_not_found``, ``variant_not_found``, ``unknown_category``, ``slug_taken``, ``sku_taken``,
``gtin_taken``, ``invalid_gtin``, ``publish_needs_channel``, ``publish_needs_variant``,
``import_rejected``… Other contexts read the catalog through :func:`get_variants` and the finders.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TextIO, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import Select, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from parcours.catalog import qr
from parcours.catalog.csv_import import CsvUnreadable, ParsedFile, ProductRows, parse_catalog_csv
from parcours.catalog.events import PriceChanged, ProductPublished
from parcours.catalog.models import (
    Category,
    Channel,
    Product,
    ProductChannel,
    ProductSearchDocument,
    ProductStatus,
    Variant,
)
from parcours.catalog.schemas import (
    CategoryCreate,
    ImportReport,
    ImportRowError,
    ProductCreate,
    ProductUpdate,
    VariantCreate,
    is_sku,
    is_slug,
    normalise_gtin,
)
from parcours.catalog.search import (
    SearchQuery,
    build_document,
    fold,
    folded_words,
    ranked_matches,
    spelling_hint,
    starts_with_words,
)
from parcours.core.clock import utcnow
from parcours.core.errors import Conflict, InvalidInput, NotFound
from parcours.core.ids import has_prefix, new_id
from parcours.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from parcours.core.uow import UnitOfWork

CATEGORY_PREFIX = "cat"
PRODUCT_PREFIX = "prd"
VARIANT_PREFIX = "var"
MAX_SEARCH_OFFSET = 1_000
MAX_REPORTED_ERRORS = 1_000
_IN_CHUNK = 500  # ids per IN (…) list: well under every driver's parameter limit
_CHANNEL_ORDER = {channel.value: i for i, channel in enumerate(Channel)}

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    """One page of a list and the cursor of the next (None on the last page)."""

    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class CategoryNode:
    id: str
    slug: str
    name: str
    parent_id: str | None
    position: int
    children: list[CategoryNode] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class VariantInfo:
    """What other contexts need of a variant (inventory, carts, orders): no ORM object leaks."""

    id: str
    product_id: str
    product_slug: str
    product_name: str
    product_status: str
    sku: str
    gtin: str | None
    attributes: dict[str, str]
    price_amount: int
    currency: str
    image_url: str | None


@dataclass(frozen=True, slots=True)
class QrImage:
    content: bytes
    media_type: str
    filename: str


class ImportRejected(InvalidInput):
    """The file has bad rows; nothing was written. ``report`` lists them."""

    code = "import_rejected"

    def __init__(self, report: ImportReport) -> None:
        bad = len(report.errors) + report.errors_not_shown
        super().__init__(
            f"{bad} problem{'s' if bad > 1 else ''} in the file: nothing was imported",
            report=report.model_dump(mode="json"),
        )
        self.report = report


# ---------------------------------------------------------------------------------------------
# Shared helpers


def _validate(model: type[M], values: Mapping[str, Any]) -> M:
    """Validate keyword arguments with the API's schema: every caller obeys the same rules."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        errors = [
            {
                "location": [str(part) for part in err.get("loc", ())],
                "message": str(err.get("msg", "")).removeprefix("Value error, "),
                "type": err.get("type"),
            }
            for err in exc.errors()
        ]
        first = errors[0]
        where = ".".join(first["location"])
        raise InvalidInput(
            f"{where}: {first['message']}" if where else str(first["message"]),
            code="validation_error",
            errors=errors,
        ) from None


def _flush(uow: UnitOfWork) -> None:
    """Flush, turning a unique-constraint race (two writers, same SKU) into a 409, not a 500."""
    try:
        uow.session.flush()
    except IntegrityError as exc:
        message = str(exc.orig).lower()
        if "categories" in message and "slug" in message:
            raise Conflict("a category already has this slug", code="category_slug_taken") from None
        for needle, code in (("sku", "sku_taken"), ("gtin", "gtin_taken"), ("slug", "slug_taken")):
            if needle in message:
                raise Conflict(f"this {needle} is already taken", code=code) from None
        raise


def _chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def _assign(target: object, attribute: str, value: Any) -> bool:
    """Set an attribute only if it differs; say whether it did (for 'unchanged' counts)."""
    if getattr(target, attribute) == value:
        return False
    setattr(target, attribute, value)
    return True


def slugify(value: str, *, max_length: int = 150) -> str:
    """``"Robe d'été en lin"`` -> ``"robe-d-ete-en-lin"``."""
    slug = "-".join(re.findall(r"[a-z0-9]+", fold(value)))[:max_length].strip("-")
    return slug or "produit"


def effective_price(variant: Variant) -> int:
    """What a shopper pays for the variant: its own price, else its product's."""
    if variant.price_amount is not None:
        return variant.price_amount
    return variant.product.price_amount


# ---------------------------------------------------------------------------------------------
# Categories


def _category_by_slug(uow: UnitOfWork, slug: str) -> Category | None:
    return uow.session.scalars(select(Category).where(Category.slug == slug)).first()


def _category_ref(
    uow: UnitOfWork, *, category_id: str | None = None, category_slug: str | None = None
) -> Category | None:
    """The category a body or a filter names; unknown is the caller's mistake (422)."""
    if category_id is not None:
        found = (
            uow.session.get(Category, category_id)
            if has_prefix(category_id, CATEGORY_PREFIX)
            else None
        )
        if found is None:
            raise InvalidInput("no category has this id", code="unknown_category")
        return found
    if category_slug is not None:
        found = _category_by_slug(uow, category_slug) if is_slug(category_slug) else None
        if found is None:
            raise InvalidInput("no category has this slug", code="unknown_category")
        return found
    return None


def _category_parents(uow: UnitOfWork) -> dict[str, str | None]:
    rows = uow.session.execute(select(Category.id, Category.parent_id)).all()
    return {row.id: row.parent_id for row in rows}


def _descendant_ids(uow: UnitOfWork, root_id: str) -> list[str]:
    """The category and every category below it (trees are small: one query, walked here)."""
    children: dict[str | None, list[str]] = {}
    for category_id, parent_id in _category_parents(uow).items():
        children.setdefault(parent_id, []).append(category_id)
    found, stack = [], [root_id]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, ()))
    return found


def create_category(
    *,
    uow: UnitOfWork,
    name: str,
    slug: str | None = None,
    parent_id: str | None = None,
    position: int = 0,
) -> Category:
    """Create a category, at the top of the tree or under ``parent_id``."""
    data = _validate(
        CategoryCreate, {"name": name, "slug": slug, "parent_id": parent_id, "position": position}
    )
    parent = _category_ref(uow, category_id=data.parent_id)
    slug = data.slug or slugify(data.name)
    if _category_by_slug(uow, slug) is not None:
        raise Conflict(
            f"a category already has the slug {slug!r}", code="category_slug_taken", slug=slug
        )
    category = Category(
        id=new_id(CATEGORY_PREFIX),
        slug=slug,
        name=data.name,
        parent_id=parent.id if parent else None,
        position=data.position,
    )
    uow.session.add(category)
    _flush(uow)
    return category


def upsert_category(
    *,
    uow: UnitOfWork,
    slug: str,
    name: str,
    parent_slug: str | None = None,
    position: int = 0,
) -> Category:
    """Create the category with this slug, or bring an existing one to these values (loaders)."""
    data = _validate(CategoryCreate, {"name": name, "slug": slug, "position": position})
    parent = _category_ref(uow, category_slug=parent_slug)
    category = _category_by_slug(uow, slug)
    if category is None:
        category = Category(
            id=new_id(CATEGORY_PREFIX),
            slug=slug,
            name=data.name,
            parent_id=parent.id if parent else None,
            position=data.position,
        )
        uow.session.add(category)
        _flush(uow)
        return category
    if parent is not None:
        parents = _category_parents(uow)
        ancestor: str | None = parent.id
        while ancestor is not None:
            if ancestor == category.id:
                raise InvalidInput(
                    "a category cannot sit under itself or its own descendants",
                    code="category_cycle",
                )
            ancestor = parents.get(ancestor)
    renamed = _assign(category, "name", data.name)
    category.parent_id = parent.id if parent else None
    category.position = data.position
    _flush(uow)
    if renamed:  # the category's name is part of its products' search documents
        ids = uow.session.scalars(select(Product.id).where(Product.category_id == category.id))
        rebuild_search_documents(uow=uow, product_ids=list(ids))
    return category


def list_categories(
    *, uow: UnitOfWork, cursor: str | None = None, limit: int = MAX_LIMIT
) -> Listing[CategoryNode]:
    """The category tree: top-level categories (paginated) with their children nested."""
    categories = uow.session.scalars(
        select(Category).order_by(Category.position, Category.slug)
    ).all()
    nodes = {
        c.id: CategoryNode(
            id=c.id, slug=c.slug, name=c.name, parent_id=c.parent_id, position=c.position
        )
        for c in categories
    }
    roots: list[CategoryNode] = []
    for node in nodes.values():
        parent = nodes.get(node.parent_id) if node.parent_id else None
        (parent.children if parent else roots).append(node)
    if cursor is not None:
        position, slug = decode_cursor(cursor, arity=2)
        if not isinstance(position, int) or not isinstance(slug, str):
            raise InvalidInput("this cursor is not one we issued", code="invalid_cursor")
        roots = [r for r in roots if (r.position, r.slug) > (position, slug)]
    page = roots[:limit]
    more = len(roots) > limit
    return Listing(page, encode_cursor(page[-1].position, page[-1].slug) if more else None)


# ---------------------------------------------------------------------------------------------
# Products: writing


def _visible_channels(product: Product) -> frozenset[str]:
    if product.status != ProductStatus.PUBLISHED.value:
        return frozenset()
    return frozenset(c.channel for c in product.channels)


def _check_publishable(product: Product) -> None:
    if product.status != ProductStatus.PUBLISHED.value:
        return
    if not product.channels:
        raise InvalidInput(
            "a published product needs at least one channel (web, app, store, marketplace)",
            code="publish_needs_channel",
        )
    if not product.variants:
        raise InvalidInput(
            "a published product needs at least one variant to sell",
            code="publish_needs_variant",
        )


def _record_publication(uow: UnitOfWork, product: Product, before: frozenset[str]) -> None:
    newly_visible = _visible_channels(product) - before
    if newly_visible:
        channels = tuple(sorted(newly_visible, key=_CHANNEL_ORDER.__getitem__))
        uow.record(ProductPublished(product_id=product.id, slug=product.slug, channels=channels))


def _category_name(uow: UnitOfWork, category_id: str | None) -> str:
    if category_id is None:
        return ""
    category = uow.session.get(Category, category_id)  # the identity map answers repeat calls
    return category.name if category else ""


def _document_for(product: Product, category_name: str) -> str:
    values: list[str] = []
    for value in product.attributes.values():
        if isinstance(value, str):
            values.append(value)
        elif isinstance(value, list):
            values.extend(str(v) for v in value)
    for variant in product.variants:
        values.extend(variant.attributes.values())
    return build_document(
        name=product.name,
        brand=product.brand,
        category_name=category_name,
        attributes=dict.fromkeys(values),
        description=product.description,
    )


def _refresh_document(uow: UnitOfWork, product: Product) -> None:
    document = _document_for(product, _category_name(uow, product.category_id))
    if product.search_document is None:
        product.search_document = ProductSearchDocument(product_id=product.id, document=document)
    else:
        _assign(product.search_document, "document", document)


def _slug_owner(uow: UnitOfWork, slug: str) -> str | None:
    return uow.session.scalars(select(Product.id).where(Product.slug == slug)).first()


def _ensure_slug_free(uow: UnitOfWork, slug: str, *, product_id: str | None = None) -> None:
    owner = _slug_owner(uow, slug)
    if owner is not None and owner != product_id:
        raise Conflict(f"another product has the slug {slug!r}", code="slug_taken", slug=slug)


def _free_slug(uow: UnitOfWork, name: str) -> str:
    base = slugify(name)
    slug = base
    while _slug_owner(uow, slug) is not None:
        slug = f"{base}-{secrets.token_hex(2)}"
    return slug


def _ensure_codes_free(
    uow: UnitOfWork, variants: Sequence[VariantCreate], *, product_id: str | None
) -> None:
    """SKUs and GTINs are unique across the catalog; a product may re-send its own."""
    if not variants:
        return
    skus = [v.sku for v in variants]
    gtin_skus = {v.gtin: v.sku for v in variants if v.gtin is not None}
    query = select(Variant.sku, Variant.gtin, Variant.product_id).where(
        Variant.sku.in_(skus) | Variant.gtin.in_(list(gtin_skus))
    )
    rows = uow.session.execute(query).all()
    for row in rows:
        if row.sku in skus and row.product_id != product_id:
            raise Conflict(
                f"SKU {row.sku} belongs to another product", code="sku_taken", sku=row.sku
            )
    for row in rows:
        if row.gtin in gtin_skus and gtin_skus[row.gtin] != row.sku:
            raise Conflict(
                f"GTIN {row.gtin} belongs to another variant ({row.sku})",
                code="gtin_taken",
                gtin=row.gtin,
            )


def _new_variant(data: VariantCreate, position: int) -> Variant:
    return Variant(
        id=new_id(VARIANT_PREFIX),
        sku=data.sku,
        gtin=data.gtin,
        attributes=dict(data.attributes),
        price_amount=data.price_amount,
        position=position,
    )


def _new_product(
    uow: UnitOfWork, data: ProductCreate, *, slug: str, category: Category | None
) -> Product:
    """Build and add a product with its variants, channels and search document (no checks)."""
    now = utcnow()
    product = Product(
        id=new_id(PRODUCT_PREFIX),
        slug=slug,
        name=data.name,
        description=data.description,
        brand=data.brand,
        category_id=category.id if category else None,
        price_amount=data.price_amount,
        currency=data.currency,
        status=data.status.value,
        attributes=dict(data.attributes),
        image_urls=list(data.image_urls),
        created_at=now,
        updated_at=now,
    )
    product.channels = [ProductChannel(channel=c.value) for c in data.channels]
    product.variants = [_new_variant(v, position=i) for i, v in enumerate(data.variants)]
    _check_publishable(product)
    product.search_document = ProductSearchDocument(
        product_id=product.id, document=_document_for(product, category.name if category else "")
    )
    uow.session.add(product)
    _record_publication(uow, product, before=frozenset())
    return product


def create_product(
    *,
    uow: UnitOfWork,
    name: str,
    price_amount: int,
    currency: str = "EUR",
    slug: str | None = None,
    description: str = "",
    brand: str = "",
    category_id: str | None = None,
    category_slug: str | None = None,
    attributes: Mapping[str, Any] | None = None,
    image_urls: Sequence[str] = (),
    channels: Iterable[Channel | str] = (),
    status: ProductStatus | str = ProductStatus.DRAFT,
    variants: Sequence[VariantCreate | Mapping[str, Any]] = (),
) -> Product:
    """Create a product with its variants; records ProductPublished if created published.

    ``variants`` are :class:`VariantCreate` or mappings of the same fields (``sku``, ``gtin``,
    ``attributes``, ``price_amount``). One flush per product, however many variants.
    """
    data = _validate(
        ProductCreate,
        {
            "name": name,
            "slug": slug,
            "description": description,
            "brand": brand,
            "category_id": category_id,
            "category_slug": category_slug,
            "price_amount": price_amount,
            "currency": currency,
            "attributes": dict(attributes or {}),
            "image_urls": list(image_urls),
            "channels": list(channels),
            "status": status,
            "variants": [v.model_dump() if isinstance(v, VariantCreate) else v for v in variants],
        },
    )
    category = _category_ref(uow, category_id=data.category_id, category_slug=data.category_slug)
    if data.slug is not None:
        _ensure_slug_free(uow, data.slug)
    final_slug = data.slug or _free_slug(uow, data.name)
    _ensure_codes_free(uow, data.variants, product_id=None)
    product = _new_product(uow, data, slug=final_slug, category=category)
    _flush(uow)
    return product


@dataclass
class _Changes:
    product: bool = False
    variants_created: int = 0
    variants_updated: int = 0
    variants_unchanged: int = 0

    @property
    def any(self) -> bool:
        return self.product or self.variants_created > 0 or self.variants_updated > 0


_SIMPLE_FIELDS = ("name", "slug", "description", "brand", "price_amount", "currency")


def _apply_product_fields(
    product: Product,
    data: ProductCreate | ProductUpdate,
    fields: frozenset[str],
    category: Category | None,
) -> bool:
    changed = False
    for name in _SIMPLE_FIELDS:
        if name in fields:
            changed |= _assign(product, name, getattr(data, name))
    if "attributes" in fields:
        changed |= _assign(product, "attributes", dict(data.attributes or {}))
    if "image_urls" in fields:
        changed |= _assign(product, "image_urls", list(data.image_urls or []))
    if "status" in fields and data.status is not None:
        changed |= _assign(product, "status", data.status.value)
    if {"category_id", "category_slug"} & fields:
        changed |= _assign(product, "category_id", category.id if category else None)
    if "channels" in fields:
        wanted = [c.value for c in data.channels or []]
        if {c.channel for c in product.channels} != set(wanted):
            kept = {c.channel: c for c in product.channels}
            product.channels = [kept.get(c) or ProductChannel(channel=c) for c in wanted]
            changed = True
    return changed


def _upsert_variants(
    uow: UnitOfWork,
    product: Product,
    variants: Sequence[tuple[VariantCreate, frozenset[str]]],
    old_base: tuple[int, str],
    changes: _Changes,
) -> None:
    """Update the variants whose SKU the product has (only ``fields``), add the others."""
    existing = {v.sku: v for v in product.variants}
    for data, fields in variants:
        current = existing.get(data.sku)
        if current is None:
            product.variants.append(_new_variant(data, position=len(product.variants)))
            changes.variants_created += 1
            continue
        old_own_price = current.price_amount
        changed = False
        if "gtin" in fields:
            changed |= _assign(current, "gtin", data.gtin)
        if "attributes" in fields:
            changed |= _assign(current, "attributes", dict(data.attributes))
        if "price_amount" in fields:
            changed |= _assign(current, "price_amount", data.price_amount)
        if changed:
            changes.variants_updated += 1
        else:
            changes.variants_unchanged += 1
        if current.price_amount != old_own_price:
            old = (old_own_price if old_own_price is not None else old_base[0], old_base[1])
            new = (effective_price(current), product.currency)
            if old != new:
                uow.record(
                    PriceChanged(
                        product_id=product.id,
                        variant_id=current.id,
                        old_amount=old[0],
                        old_currency=old[1],
                        new_amount=new[0],
                        currency=new[1],
                    )
                )


def _update_loaded_product(
    uow: UnitOfWork,
    product: Product,
    data: ProductCreate | ProductUpdate,
    fields: frozenset[str],
    category: Category | None,
    variants: Sequence[tuple[VariantCreate, frozenset[str]]] = (),
) -> _Changes:
    """Apply changes to a loaded product and keep its events and search document in step."""
    visible_before = _visible_channels(product)
    old_base = (product.price_amount, product.currency)
    changes = _Changes(product=_apply_product_fields(product, data, fields, category))
    _upsert_variants(uow, product, variants, old_base, changes)
    _check_publishable(product)
    if not changes.any:
        return changes
    product.updated_at = utcnow()
    _refresh_document(uow, product)
    new_base = (product.price_amount, product.currency)
    if new_base != old_base:
        uow.record(
            PriceChanged(
                product_id=product.id,
                variant_id=None,
                old_amount=old_base[0],
                old_currency=old_base[1],
                new_amount=new_base[0],
                currency=new_base[1],
            )
        )
    _record_publication(uow, product, before=visible_before)
    return changes


def update_product(*, uow: UnitOfWork, product_id: str, **changes: Any) -> Product:
    """Change the fields given (the others stay); ``variants`` are matched by SKU: known ones are
    updated with the fields they carry, new ones added. Records PriceChanged, ProductPublished."""
    data = _validate(ProductUpdate, changes)
    fields = frozenset(data.model_fields_set)
    product = _load_product(uow, product_id)
    category = None
    if {"category_id", "category_slug"} & fields:
        category = _category_ref(
            uow, category_id=data.category_id, category_slug=data.category_slug
        )
    if data.slug is not None:
        _ensure_slug_free(uow, data.slug, product_id=product.id)
    variants = data.variants or []
    _ensure_codes_free(uow, variants, product_id=product.id)
    _update_loaded_product(
        uow,
        product,
        data,
        fields - {"variants"},
        category,
        [(v, frozenset(v.model_fields_set)) for v in variants],
    )
    _flush(uow)
    return product


def publish_product(
    *, uow: UnitOfWork, product_id: str, channels: Iterable[Channel | str] | None = None
) -> Product:
    """Publish the product on ``channels`` (added to those it has), or on its own channels."""
    product = _load_product(uow, product_id)
    try:
        wanted = [Channel(c).value for c in channels] if channels is not None else []
    except ValueError:
        raise InvalidInput(
            f"channels are among: {', '.join(c.value for c in Channel)}", code="unknown_channel"
        ) from None
    if not wanted and not product.channels:
        raise InvalidInput(
            "say on which channels to publish: the product has none yet",
            code="publish_needs_channel",
        )
    visible_before = _visible_channels(product)
    present = {c.channel for c in product.channels}
    product.channels.extend(
        ProductChannel(channel=c) for c in dict.fromkeys(wanted) if c not in present
    )
    product.status = ProductStatus.PUBLISHED.value
    _check_publishable(product)
    if _visible_channels(product) != visible_before:
        product.updated_at = utcnow()
        _record_publication(uow, product, before=visible_before)
    _flush(uow)
    return product


def rebuild_search_documents(*, uow: UnitOfWork, product_ids: Sequence[str] | None = None) -> int:
    """Recompute the search documents of these products (all when None); returns how many."""
    query = select(Product).options(
        selectinload(Product.variants), selectinload(Product.search_document)
    )
    batches: Iterable[Sequence[str] | None] = (
        [None] if product_ids is None else _chunks(product_ids)
    )
    count = 0
    for batch in batches:
        statement = query if batch is None else query.where(Product.id.in_(batch))
        for product in uow.session.scalars(statement):
            _refresh_document(uow, product)
            count += 1
    _flush(uow)
    return count


# ---------------------------------------------------------------------------------------------
# Products: reading


def _with_details(statement: Select[Any]) -> Select[Any]:
    """Variants and channels in one query each, whatever the number of products (no N+1)."""
    return statement.options(selectinload(Product.variants), selectinload(Product.channels))


def _load_product(uow: UnitOfWork, product_id: str, *, published_only: bool = False) -> Product:
    product: Product | None = None
    if has_prefix(product_id, PRODUCT_PREFIX):
        statement = _with_details(select(Product).where(Product.id == product_id))
        product = uow.session.scalars(statement).first()
    if product is None or (published_only and product.status != ProductStatus.PUBLISHED.value):
        raise NotFound("no product has this id", code="product_not_found")
    return product


def get_product(*, uow: UnitOfWork, product_id: str, published_only: bool = False) -> Product:
    """One product with its variants and channels; ``published_only`` hides drafts and archives."""
    return _load_product(uow, product_id, published_only=published_only)


def get_product_by_slug(*, uow: UnitOfWork, slug: str, published_only: bool = False) -> Product:
    """The product a page URL names."""
    product: Product | None = None
    if is_slug(slug):
        statement = _with_details(select(Product).where(Product.slug == slug))
        product = uow.session.scalars(statement).first()
    if product is None or (published_only and product.status != ProductStatus.PUBLISHED.value):
        raise NotFound("no product has this slug", code="product_not_found")
    return product


def _find_variant(uow: UnitOfWork, condition: Any, published_only: bool) -> Variant | None:
    statement = (
        select(Variant)
        .where(condition)
        .options(
            joinedload(Variant.product).selectinload(Product.variants),
            joinedload(Variant.product).selectinload(Product.channels),
        )
    )
    variant = uow.session.scalars(statement).first()
    if variant is None:
        return None
    if published_only and variant.product.status != ProductStatus.PUBLISHED.value:
        return None
    return variant


def find_variant_by_gtin(*, uow: UnitOfWork, gtin: str, published_only: bool = False) -> Variant:
    """The variant a scanned barcode names (GTIN-8/12/13/14, check digit verified)."""
    try:
        code = normalise_gtin(gtin)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="invalid_gtin") from None
    variant = _find_variant(uow, Variant.gtin == code, published_only)
    if variant is None:
        raise NotFound("no variant has this GTIN", code="variant_not_found", gtin=code)
    return variant


def find_variant_by_sku(*, uow: UnitOfWork, sku: str, published_only: bool = False) -> Variant:
    """The variant with this SKU."""
    variant = _find_variant(uow, Variant.sku == sku, published_only) if is_sku(sku) else None
    if variant is None:
        raise NotFound("no variant has this SKU", code="variant_not_found")
    return variant


def _clamp(limit: int) -> int:
    return max(1, min(limit, MAX_LIMIT))


def list_products(
    *,
    uow: UnitOfWork,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
    category_id: str | None = None,
    category_slug: str | None = None,
    channel: Channel | str | None = None,
    status: ProductStatus | str | None = None,
) -> Listing[Product]:
    """Products in creation order, filtered by category (its subcategories included), by channel
    listed on and by status; three queries a page, however many products and variants."""
    limit = _clamp(limit)
    statement = _with_details(select(Product)).order_by(Product.id).limit(limit + 1)
    if cursor is not None:
        (after,) = decode_cursor(cursor, arity=1)
        if not isinstance(after, str):
            raise InvalidInput("this cursor is not one we issued", code="invalid_cursor")
        statement = statement.where(Product.id > after)
    category = _category_ref(uow, category_id=category_id, category_slug=category_slug)
    if category is not None:
        statement = statement.where(Product.category_id.in_(_descendant_ids(uow, category.id)))
    statement = _filter_channel_status(statement, channel, status)
    products = list(uow.session.scalars(statement))
    if len(products) > limit:
        return Listing(products[:limit], encode_cursor(products[limit - 1].id))
    return Listing(products)


def _filter_channel_status(
    statement: Select[Any], channel: Channel | str | None, status: ProductStatus | str | None
) -> Select[Any]:
    if channel is not None:
        statement = statement.where(
            Product.channels.any(ProductChannel.channel == Channel(channel))
        )
    if status is not None:
        statement = statement.where(Product.status == ProductStatus(status).value)
    return statement


def search_products(
    *,
    uow: UnitOfWork,
    query: str,
    limit: int = 20,
    channel: Channel | str | None = None,
    published_only: bool = False,
    cursor: str | None = None,
) -> Listing[Product]:
    """Products matching a shopper's words, best first: accent- and case-insensitive, plurals
    found, the last word as a prefix. Runs on SQLite FTS5 or PostgreSQL full-text alike."""
    limit = _clamp(limit)
    offset = 0
    if cursor is not None:
        (offset,) = decode_cursor(cursor, arity=1)
        if (
            not isinstance(offset, int)
            or isinstance(offset, bool)
            or not 0 < offset <= MAX_SEARCH_OFFSET
        ):
            raise InvalidInput("this cursor is not one we issued", code="invalid_cursor")
    parsed = SearchQuery.parse(query)
    if parsed is None:
        return Listing([])
    statement = ranked_matches(parsed, uow.db.engine.dialect.name)
    statement = _filter_channel_status(
        _with_details(statement), channel, ProductStatus.PUBLISHED if published_only else None
    )
    products = list(uow.session.scalars(statement.limit(limit + 1).offset(offset)))
    if len(products) > limit and offset + limit < MAX_SEARCH_OFFSET:
        return Listing(products[:limit], encode_cursor(offset + limit))
    return Listing(products[:limit])


def get_variants(*, uow: UnitOfWork, variant_ids: Iterable[str]) -> dict[str, VariantInfo]:
    """Many variants at once, by id (ids that name no variant are left out of the answer)."""
    ids = sorted({i for i in variant_ids if has_prefix(i, VARIANT_PREFIX)})
    found: dict[str, VariantInfo] = {}
    for batch in _chunks(ids):
        statement = (
            select(Variant).where(Variant.id.in_(batch)).options(joinedload(Variant.product))
        )
        for variant in uow.session.scalars(statement):
            product = variant.product
            found[variant.id] = VariantInfo(
                id=variant.id,
                product_id=product.id,
                product_slug=product.slug,
                product_name=product.name,
                product_status=product.status,
                sku=variant.sku,
                gtin=variant.gtin,
                attributes=dict(variant.attributes),
                price_amount=effective_price(variant),
                currency=product.currency,
                image_url=product.image_urls[0] if product.image_urls else None,
            )
    return found


# ---------------------------------------------------------------------------------------------
# QR codes


def render_product_qr(
    *,
    uow: UnitOfWork,
    base_url: str,
    product_id: str,
    medium: qr.PrintMedium | str,
    campaign: str | None = None,
    variant_id: str | None = None,
    image_format: qr.QrFormat | str = qr.QrFormat.SVG,
) -> QrImage:
    """The printable QR code of a product (or one of its variants) for a medium and a campaign."""
    printed_on = qr.parse_medium(str(medium))
    if printed_on is None:
        raise InvalidInput(
            f"medium is one of: {', '.join(m.value for m in qr.PrintMedium)}",
            code="unknown_medium",
        )
    if campaign is not None and not qr.is_campaign(campaign):
        raise InvalidInput(
            "a campaign has up to 64 letters, digits, '.', '_' or '-'", code="invalid_campaign"
        )
    product = _load_product(uow, product_id)
    if variant_id is not None and variant_id not in {v.id for v in product.variants}:
        raise NotFound(
            "this product has no variant with this id",
            code="variant_not_found",
        )
    image_format = qr.QrFormat(image_format)
    url = qr.short_url(
        base_url=base_url,
        target_id=variant_id or product.id,
        medium=printed_on,
        campaign=campaign,
    )
    return QrImage(
        content=qr.render(url, image_format, title=product.name),
        media_type=qr.MEDIA_TYPES[image_format],
        filename=f"{product.slug}-{printed_on.value}.{image_format.value}",
    )


def resolve_short_link(
    *, uow: UnitOfWork, target_id: str, medium: str | None = None, campaign: str | None = None
) -> str:
    """Where a scanned code lands: the product page, with the printed medium as attribution.

    An unknown medium or a malformed campaign is dropped rather than refused: the code is already
    printed, the shopper must land anyway.
    """
    slug: str | None = None
    variant_id: str | None = None
    if has_prefix(target_id, VARIANT_PREFIX):
        row = uow.session.execute(
            select(Product.slug).join(Variant.product).where(Variant.id == target_id)
        ).first()
        slug, variant_id = (row.slug, target_id) if row else (None, None)
    elif has_prefix(target_id, PRODUCT_PREFIX):
        slug = uow.session.scalars(select(Product.slug).where(Product.id == target_id)).first()
    if slug is None:
        raise NotFound("no product or variant has this id", code="qr_target_not_found")
    printed_on = qr.parse_medium(medium)
    return qr.landing_path(
        slug=slug,
        variant_id=variant_id,
        medium=printed_on,
        campaign=campaign if campaign and qr.is_campaign(campaign) else None,
    )


# ---------------------------------------------------------------------------------------------
# CSV import


def import_products_csv(*, uow: UnitOfWork, text_or_stream: str | bytes | TextIO) -> ImportReport:
    """Create or update products and variants from a CSV file (columns: see
    :mod:`parcours.catalog.csv_import`), all or nothing: with any bad row, nothing is written and
    :class:`ImportRejected` carries the report of every bad row. Re-importing the same file
    changes nothing (products are matched by slug, variants by SKU)."""
    try:
        parsed = parse_catalog_csv(text_or_stream)
    except CsvUnreadable as exc:
        raise InvalidInput(str(exc), code="csv_unreadable") from None
    report = ImportReport(rows_read=parsed.rows_read)
    errors = list(parsed.errors)
    existing, categories = _check_import_against_catalog(uow, parsed, errors)
    if errors:
        errors.sort(key=lambda e: e.line)
        report.errors = errors[:MAX_REPORTED_ERRORS]
        report.errors_not_shown = max(0, len(errors) - MAX_REPORTED_ERRORS)
        raise ImportRejected(report)

    for rows in parsed.products:
        category = None
        if rows.product.category_slug is not None:
            category = categories[rows.product.category_slug]
        product = existing.get(rows.slug)
        if product is None:
            data = rows.product.model_copy(update={"variants": [r.variant for r in rows.variants]})
            _new_product(uow, data, slug=rows.slug, category=category)
            report.products_created += 1
            report.variants_created += len(rows.variants)
            continue
        changes = _update_loaded_product(
            uow,
            product,
            rows.product,
            rows.fields - {"slug"},
            category,
            _import_variant_changes(product, rows),
        )
        if changes.any:
            report.products_updated += 1
        else:
            report.products_unchanged += 1
        report.variants_created += changes.variants_created
        report.variants_updated += changes.variants_updated
        report.variants_unchanged += changes.variants_unchanged
    _flush(uow)
    return report


def _import_variant_changes(
    product: Product, rows: ProductRows
) -> list[tuple[VariantCreate, frozenset[str]]]:
    """A row speaks for its columns only: size and colour are set or cleared among the variant's
    other attributes, and an absent price or GTIN column leaves those alone."""
    by_sku = {v.sku: v for v in product.variants}
    changes = []
    for row in rows.variants:
        fields = {"attributes"}
        if row.gives_gtin:
            fields.add("gtin")
        if row.gives_price:
            fields.add("price_amount")
        current = by_sku.get(row.variant.sku)
        variant = row.variant
        if current is not None:
            merged = {k: v for k, v in current.attributes.items() if k not in row.attribute_keys}
            merged.update(row.variant.attributes)
            variant = row.variant.model_copy(update={"attributes": merged})
        changes.append((variant, frozenset(fields)))
    return changes


def _check_import_against_catalog(
    uow: UnitOfWork, parsed: ParsedFile, errors: list[ImportRowError]
) -> tuple[dict[str, Product], dict[str, Category]]:
    """What only the database knows: categories exist, SKUs and GTINs are not someone else's."""
    products = parsed.products
    existing: dict[str, Product] = {}
    for batch in _chunks([p.slug for p in products]):
        statement = _with_details(select(Product).where(Product.slug.in_(batch))).options(
            selectinload(Product.search_document)
        )
        existing.update((p.slug, p) for p in uow.session.scalars(statement))

    categories: dict[str, Category] = {}
    for category_batch in _chunks(sorted({slug for _, slug in parsed.category_refs})):
        statement_c = select(Category).where(Category.slug.in_(category_batch))
        categories.update((c.slug, c) for c in uow.session.scalars(statement_c))
    errors.extend(
        ImportRowError(line=line, column="category_slug", message="no such category")
        for line, slug in parsed.category_refs
        if slug not in categories
    )

    sku_rows: dict[str, tuple[str, int]] = {}  # sku -> (product slug in the file, line)
    gtin_rows: dict[str, tuple[str, int]] = {}  # gtin -> (sku in the file, line)
    for rows in products:
        current = existing.get(rows.slug)
        status = (
            rows.product.status.value if rows.status_given or current is None else current.status
        )
        channels = (
            rows.product.channels
            if "channels" in rows.fields
            else (current.channels if current else [])
        )
        if status == ProductStatus.PUBLISHED.value and not channels:
            errors.append(
                ImportRowError(
                    line=rows.line, column="channels", message="a published product needs a channel"
                )
            )
        for row in rows.variants:
            sku_rows[row.variant.sku] = (rows.slug, row.line)
            if row.variant.gtin is not None:
                gtin_rows[row.variant.gtin] = (row.variant.sku, row.line)

    skus = list(sku_rows)
    for batch in _chunks(skus):
        owners = uow.session.execute(
            select(Variant.sku, Product.slug).join(Variant.product).where(Variant.sku.in_(batch))
        )
        for sku, owner_slug in owners:
            file_slug, line = sku_rows[sku]
            if owner_slug != file_slug:
                errors.append(
                    ImportRowError(
                        line=line, column="sku", message=f"SKU belongs to product {owner_slug}"
                    )
                )
    gtins = list(gtin_rows)
    for batch in _chunks(gtins):
        owners = uow.session.execute(
            select(Variant.gtin, Variant.sku).where(Variant.gtin.in_(batch))
        )
        for gtin, owner_sku in owners:
            file_sku, line = gtin_rows[gtin]
            if owner_sku != file_sku:
                errors.append(
                    ImportRowError(
                        line=line, column="gtin", message=f"GTIN belongs to variant {owner_sku}"
                    )
                )
    return existing, categories


def create_draft_products_in_bulk(*, uow: UnitOfWork, products: Sequence[ProductCreate]) -> int:
    """Create the draft products whose slug is free, each with its variants and search document,
    a few multi-row INSERTs per 500 products; returns how many were created.

    For catalogues of tens of thousands of products from another system (the Complete Journey
    importer): :func:`create_product` spends several queries per product, and publishing would
    record one ProductPublished per product, so only drafts are taken. A product whose slug
    exists is skipped, which makes re-importing the same list add nothing; a SKU that belongs
    to another product is a Conflict ``sku_taken``, as everywhere else."""
    if any(p.status is not ProductStatus.DRAFT or p.slug is None for p in products):
        raise InvalidInput("bulk creation takes drafts with a slug", code="validation_error")
    taken: set[str] = set()
    for batch in _chunks([p.slug for p in products if p.slug is not None]):
        taken.update(uow.session.scalars(select(Product.slug).where(Product.slug.in_(batch))))
    fresh = {p.slug: p for p in products if p.slug not in taken}
    skus = [v.sku for p in fresh.values() for v in p.variants]
    for sku_batch in _chunks(skus):
        owner = uow.session.scalars(select(Variant.sku).where(Variant.sku.in_(sku_batch))).first()
        if owner is not None:
            raise Conflict(f"SKU {owner} belongs to another product", code="sku_taken", sku=owner)
    slugs = sorted({p.category_slug for p in fresh.values() if p.category_slug is not None})
    categories: dict[str, Category] = {}
    for category_batch in _chunks(slugs):
        statement = select(Category).where(Category.slug.in_(category_batch))
        categories.update((c.slug, c) for c in uow.session.scalars(statement))
    missing = [slug for slug in slugs if slug not in categories]
    if missing:
        raise NotFound(f"no category {missing[0]!r}", code="unknown_category")
    now = utcnow()
    product_rows: list[dict[str, Any]] = []
    variant_rows: list[dict[str, Any]] = []
    document_rows: list[dict[str, Any]] = []
    documents: dict[tuple[str, ...], str] = {}
    for data in fresh.values():
        category = categories.get(data.category_slug or "")
        product_id = new_id(PRODUCT_PREFIX)
        product_rows.append(
            {
                "id": product_id,
                "slug": data.slug,
                "name": data.name,
                "description": data.description,
                "brand": data.brand,
                "category_id": category.id if category else data.category_id,
                "price_amount": data.price_amount,
                "currency": data.currency,
                "status": ProductStatus.DRAFT.value,
                "attributes": dict(data.attributes),
                "image_urls": list(data.image_urls),
                "created_at": now,
                "updated_at": now,
            }
        )
        variant_rows.extend(
            {
                "id": new_id(VARIANT_PREFIX),
                "product_id": product_id,
                "sku": v.sku,
                "gtin": v.gtin,
                "attributes": dict(v.attributes),
                "price_amount": v.price_amount,
                "position": position,
            }
            for position, v in enumerate(data.variants)
        )
        words = [str(w) for value in data.attributes.values() for w in _as_list(value)]
        words.extend(a for v in data.variants for a in v.attributes.values())
        # Imported catalogues repeat the same texts (type, size, brand) many times over.
        key = (data.name, data.brand, category.name if category else "", *words, data.description)
        if key not in documents:
            documents[key] = build_document(
                name=data.name,
                brand=data.brand,
                category_name=key[2],
                attributes=dict.fromkeys(words),
                description=data.description,
            )
        document_rows.append({"product_id": product_id, "document": documents[key]})
    for model, rows in (
        (Product, product_rows),
        (Variant, variant_rows),
        (ProductSearchDocument, document_rows),
    ):
        for start in range(0, len(rows), _IN_CHUNK):
            uow.session.execute(insert(model), rows[start : start + _IN_CHUNK])
    return len(product_rows)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if isinstance(value, str) else []


# ---------------------------------------------------------------------------------------------
# Storefront reading: category lists with facets, newest products, suggestions, spelling hints

#: Variant attributes a shopper filters by, as the catalogue names them.
SIZE_ATTRIBUTE = "taille"
COLOUR_ATTRIBUTE = "couleur"
BROWSE_SORTS = ("new", "price_asc", "price_desc", "name")
MAX_BROWSE_PAGE_SIZE = 96
MAX_SUGGESTIONS = 8
_LETTER_SIZES = ("XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL")


@dataclass(frozen=True, slots=True)
class FacetValue:
    value: str
    count: int  # products that would remain with this value chosen (other filters kept)
    selected: bool


@dataclass(frozen=True, slots=True)
class BrowseFilters:
    """What a shopper narrowed a list by. ``in_stock_variant_ids``: when set, only these variants
    count (the page asks inventory which variants her store holds; the catalog never reads
    stock)."""

    sizes: frozenset[str] = frozenset()
    colours: frozenset[str] = frozenset()
    min_price: int | None = None  # minor units, inclusive
    max_price: int | None = None
    in_stock_variant_ids: frozenset[str] | None = None

    @property
    def any(self) -> bool:
        return bool(
            self.sizes
            or self.colours
            or self.min_price is not None
            or self.max_price is not None
            or self.in_stock_variant_ids is not None
        )


@dataclass(frozen=True, slots=True)
class BrowsePage:
    """One page of a filtered, sorted product list with the facets around it."""

    items: list[Product]
    prices: dict[str, int]  # product id -> lowest price among its matching variants
    total: int
    page: int
    pages: int
    sizes: list[FacetValue]
    colours: list[FacetValue]
    price_floor: int | None  # the cheapest and dearest variants of the unfiltered list
    price_ceiling: int | None


@dataclass(frozen=True, slots=True)
class Suggestion:
    kind: str  # "product" or "category"
    label: str
    url: str
    detail: str = ""  # the category a product sits in, for the listbox


def size_order(value: str) -> tuple[int, float, str]:
    """XS < S < M < L < XL, then numbers in numeric order (36 < 38 < 100), then the rest."""
    upper = value.upper()
    if upper in _LETTER_SIZES:
        return (0, float(_LETTER_SIZES.index(upper)), value)
    try:
        return (1, float(value.replace(",", ".")), value)
    except ValueError:
        return (2, 0.0, value)


def _variant_matches(variant: Variant, filters: BrowseFilters, *, skip: str | None = None) -> bool:
    attributes = variant.attributes
    if skip != "size" and filters.sizes and attributes.get(SIZE_ATTRIBUTE) not in filters.sizes:
        return False
    if (
        skip != "colour"
        and filters.colours
        and attributes.get(COLOUR_ATTRIBUTE) not in filters.colours
    ):
        return False
    if filters.in_stock_variant_ids is not None and variant.id not in filters.in_stock_variant_ids:
        return False
    price = effective_price(variant)
    if filters.min_price is not None and price < filters.min_price:
        return False
    return not (filters.max_price is not None and price > filters.max_price)


def _facet(
    products: Sequence[Product], filters: BrowseFilters, *, attribute: str, skip: str
) -> dict[str, int]:
    """Disjunctive counts: for each value, the products matching every *other* filter with a
    variant of that value, so choosing a second size widens the list as she expects."""
    counts: dict[str, int] = {}
    for product in products:
        values = {
            str(v.attributes[attribute])
            for v in product.variants
            if attribute in v.attributes and _variant_matches(v, filters, skip=skip)
        }
        for value in values:
            counts[value] = counts.get(value, 0) + 1
    return counts


def browse_products(
    *,
    uow: UnitOfWork,
    category_slug: str | None = None,
    filters: BrowseFilters | None = None,
    sort: str = "new",
    page: int = 1,
    per_page: int = 24,
    channel: Channel | str | None = Channel.WEB,
    stocked: Callable[[list[str]], Collection[str]] | None = None,
) -> BrowsePage:
    """Published products of a category (its sub-categories included), narrowed by size, colour,
    price and the variants in stock, sorted, one page of them, with facet counts.

    Two queries (the products, then their variants and channels) whatever the page; filtering
    and counting run in Python over the category's products, which suits a shop's categories
    (hundreds of products), not a marketplace's. ``stocked`` answers which of the variant ids
    it is given are in stock where she wants them (the caller asks inventory): only those count."""
    filters = filters or BrowseFilters()
    if sort not in BROWSE_SORTS:
        raise InvalidInput(f"sort is one of {', '.join(BROWSE_SORTS)}", code="unknown_sort")
    per_page = max(1, min(per_page, MAX_BROWSE_PAGE_SIZE))
    statement = _filter_channel_status(_with_details(select(Product)), channel, "published")
    if category_slug is not None:
        category = _category_ref(uow, category_slug=category_slug)
        assert category is not None  # _category_ref refuses an unknown slug
        statement = statement.where(Product.category_id.in_(_descendant_ids(uow, category.id)))
    products = list(uow.session.scalars(statement))
    if stocked is not None:
        held = stocked([v.id for p in products for v in p.variants])
        filters = replace(filters, in_stock_variant_ids=frozenset(held))
    all_prices = [effective_price(v) for p in products for v in p.variants]
    kept: list[Product] = []
    lowest: dict[str, int] = {}
    for product in products:
        matching = [v for v in product.variants if _variant_matches(v, filters)]
        if matching:
            kept.append(product)
            lowest[product.id] = min(effective_price(v) for v in matching)
    if sort == "new":
        kept.sort(key=lambda p: (p.created_at, p.id), reverse=True)
    elif sort == "price_asc":
        kept.sort(key=lambda p: (lowest[p.id], fold(p.name), p.id))
    elif sort == "price_desc":
        kept.sort(key=lambda p: (-lowest[p.id], fold(p.name), p.id))
    else:
        kept.sort(key=lambda p: (fold(p.name), p.id))
    pages = max(1, -(-len(kept) // per_page))
    page = max(1, min(page, pages))
    items = kept[(page - 1) * per_page : page * per_page]

    def facet(attribute: str, skip: str, chosen: frozenset[str]) -> list[FacetValue]:
        counts = _facet(products, filters, attribute=attribute, skip=skip)
        for value in chosen:  # a chosen value stays visible (and removable) at 0
            counts.setdefault(value, 0)
        order = size_order if attribute == SIZE_ATTRIBUTE else fold
        return [
            FacetValue(value, counts[value], value in chosen) for value in sorted(counts, key=order)
        ]

    return BrowsePage(
        items=items,
        prices={p.id: lowest[p.id] for p in items},
        total=len(kept),
        page=page,
        pages=pages,
        sizes=facet(SIZE_ATTRIBUTE, "size", filters.sizes),
        colours=facet(COLOUR_ATTRIBUTE, "colour", filters.colours),
        price_floor=min(all_prices) if all_prices else None,
        price_ceiling=max(all_prices) if all_prices else None,
    )


def newest_products(
    *, uow: UnitOfWork, limit: int = 8, channel: Channel | str | None = Channel.WEB
) -> list[Product]:
    """The latest published products, newest first (the home page's "new in")."""
    statement = _filter_channel_status(_with_details(select(Product)), channel, "published")
    statement = statement.order_by(Product.created_at.desc(), Product.id.desc())
    return list(uow.session.scalars(statement.limit(_clamp(limit))))


def products_by_ids(
    *,
    uow: UnitOfWork,
    product_ids: Sequence[str],
    channel: Channel | str | None = Channel.WEB,
) -> list[Product]:
    """Published products by id, in the order asked (unknown or unpublished ids left out)."""
    wanted = list(dict.fromkeys(i for i in product_ids if has_prefix(i, PRODUCT_PREFIX)))
    found: dict[str, Product] = {}
    for batch in _chunks(wanted):
        statement = _filter_channel_status(
            _with_details(select(Product)).where(Product.id.in_(batch)), channel, "published"
        )
        found.update((p.id, p) for p in uow.session.scalars(statement))
    return [found[i] for i in wanted if i in found]


def category_product_counts(
    *, uow: UnitOfWork, channel: Channel | str | None = Channel.WEB
) -> dict[str, int]:
    """Published products per category id, each category counting its sub-categories' too."""
    grouped: Any = select(Product.category_id, func.count()).group_by(Product.category_id)
    statement = _filter_channel_status(grouped, channel, "published")
    own: dict[str, int] = {
        row[0]: int(row[1]) for row in uow.session.execute(statement) if row[0] is not None
    }
    parents = _category_parents(uow)
    totals = dict.fromkeys(parents, 0)
    for category_id, count in own.items():
        current: str | None = category_id
        while current is not None and current in totals:
            totals[current] += count
            current = parents.get(current)
    return totals


def suggest(
    *,
    uow: UnitOfWork,
    query: str,
    limit: int = MAX_SUGGESTIONS,
    channel: Channel | str | None = Channel.WEB,
) -> list[Suggestion]:
    """What to offer as she types: categories whose name starts like her words, then the best
    matching product names; at most ``limit`` (8), no duplicate names. Two or three queries."""
    limit = max(1, min(limit, MAX_SUGGESTIONS))
    parsed = SearchQuery.parse(query)
    if parsed is None:
        return []
    categories = uow.session.scalars(select(Category).order_by(Category.position)).all()
    names = {c.id: c.name for c in categories}
    parents = {c.id: c.parent_id for c in categories}
    found: list[Suggestion] = []
    for category in categories:
        if starts_with_words(category.name, query) and len(found) < 3:
            parent = names.get(parents.get(category.id) or "")
            label = f"{category.name} · {parent}" if parent else category.name
            found.append(Suggestion("category", label, f"/rayons/{category.slug}"))
    statement = ranked_matches(parsed, uow.db.engine.dialect.name)
    statement = _filter_channel_status(statement, channel, ProductStatus.PUBLISHED)
    seen: set[str] = set()
    for product in uow.session.scalars(statement.limit(limit * 3)):
        key = fold(product.name)
        if key in seen:
            continue
        seen.add(key)
        found.append(
            Suggestion(
                "product",
                product.name,
                f"/produits/{product.slug}",
                names.get(product.category_id or "", ""),
            )
        )
        if len(found) >= limit:
            break
    return found[:limit]


def spelling_suggestion(
    *, uow: UnitOfWork, query: str, channel: Channel | str | None = Channel.WEB
) -> str | None:
    """A nearby query made of words of published product and category names ("pantalom" ->
    "pantalon"), or None. For the zero-results page only: it reads every name."""
    statement = _filter_channel_status(select(Product.name), channel, "published")
    vocabulary: set[str] = set()
    for name in uow.session.scalars(statement):
        vocabulary.update(folded_words(name))
    for name in uow.session.scalars(select(Category.name)):
        vocabulary.update(folded_words(name))
    return spelling_hint(query, vocabulary)


def product_category_ids(*, uow: UnitOfWork, product_ids: Sequence[str]) -> dict[str, str]:
    """Each known product's category id (products without one are left out): the journey
    analyses compare what was researched online and bought in store by category too."""
    found: dict[str, str] = {}
    for batch in _chunks(list(dict.fromkeys(product_ids))):
        rows = uow.session.execute(
            select(Product.id, Product.category_id).where(
                Product.id.in_(batch), Product.category_id.is_not(None)
            )
        )
        found.update((product_id, category_id) for product_id, category_id in rows if category_id)
    return found
