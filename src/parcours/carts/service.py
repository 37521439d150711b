"""Use cases of carts: one cart per shopper wherever she is, every line with its touchpoint.

Every change goes through :func:`_bump`: one conditional ``UPDATE carts SET version = version + 1
WHERE id = … [AND version = <If-Match>] AND status = 'active'``. It serialises writers on the cart
row (row lock on PostgreSQL, the writer lock on SQLite) and refuses a stale device with 412, so
two phones editing one cart never overwrite each other silently.

Prices and stock are re-checked on every read (:func:`view_cart`): the cart keeps the price the
shopper saw, and the view says what changed ("price changed", "only 2 left in this store").
A promo code applied to the cart is re-checked the same way: when it no longer applies (expired,
the minimum no longer met), the view says why and takes nothing off; checkout then refuses it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from parcours.carts.events import CartUpdated
from parcours.carts.models import Cart, CartHandoff, CartLine, CartStatus, TouchpointKind
from parcours.catalog import service as catalog
from parcours.catalog.service import VariantInfo
from parcours.core.clock import utcnow
from parcours.core.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from parcours.core.ids import new_id
from parcours.core.uow import UnitOfWork
from parcours.inventory import service as inventory
from parcours.loyalty import service as loyalty
from parcours.tracking import service as tracking

if TYPE_CHECKING:
    from parcours.carts.scan import ScanResult
    from parcours.customers.models import ShopperSession

MAX_QUANTITY = 99
MAX_LINES = 100
HANDOFF_LIFETIME = timedelta(minutes=10)
#: How many units make a line "low" in the chosen store ("only 2 left").
LOW_STOCK = 3


@dataclass(frozen=True, slots=True)
class Touchpoint:
    """Where a line came from: the channel, and for print the medium and campaign scanned."""

    kind: TouchpointKind
    medium: str | None = None
    campaign: str | None = None
    store_id: str | None = None


# --- reading ------------------------------------------------------------------------------------


def get_cart(*, uow: UnitOfWork, cart_id: str) -> Cart:
    """A cart with its lines, or NotFound ``cart_not_found``."""
    cart = uow.session.get(Cart, cart_id)
    if cart is None:
        raise NotFound(f"no cart {cart_id!r}", code="cart_not_found")
    return cart


def find_active_cart(
    *, uow: UnitOfWork, profile_id: str | None, anonymous_id: str | None
) -> Cart | None:
    """The shopper's active cart: her profile's once she is known, else her device's."""
    if profile_id is not None:
        condition = Cart.profile_id == profile_id
    elif anonymous_id is not None:
        condition = (Cart.anonymous_id == anonymous_id) & Cart.profile_id.is_(None)
    else:
        return None
    return uow.session.scalars(
        select(Cart).where(condition, Cart.status == CartStatus.ACTIVE.value)
    ).first()


def open_cart(
    *,
    uow: UnitOfWork,
    profile_id: str | None,
    anonymous_id: str | None,
    channel: str,
    currency: str,
    store_id: str | None = None,
    actor: str | None = None,
) -> Cart:
    """The shopper's active cart, created if she has none. Two devices asking at once get the
    same cart: the unique index on active carts lets one insert win, the other reads it."""
    found = find_active_cart(uow=uow, profile_id=profile_id, anonymous_id=anonymous_id)
    if found is not None:
        return found
    now = utcnow()
    cart = Cart(
        id=new_id("crt"),
        anonymous_id=anonymous_id,
        profile_id=profile_id,
        status=CartStatus.ACTIVE.value,
        currency=currency,
        version=1,
        channel=channel,
        store_id=store_id,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    if profile_id is None and anonymous_id is None:
        # A till's walk-in cart: nobody to find it by, only its id and its handoff code.
        uow.session.add(cart)
        uow.session.flush()
        return cart
    try:
        with uow.session.begin_nested():
            uow.session.add(cart)
            uow.session.flush()
    except IntegrityError:
        found = find_active_cart(uow=uow, profile_id=profile_id, anonymous_id=anonymous_id)
        if found is None:  # pragma: no cover - the unique index named a cart that is gone
            raise
        return found
    return cart


def carts_of(*, uow: UnitOfWork, profile_id: str) -> list[Cart]:
    """Every cart of a profile, newest first (the associate's 360 shows the open one)."""
    return list(
        uow.session.scalars(
            select(Cart).where(Cart.profile_id == profile_id).order_by(Cart.created_at.desc())
        )
    )


# --- the view a shopper sees --------------------------------------------------------------------


class WarningCode(StrEnum):
    PRICE_CHANGED = "price_changed"
    LOW_STOCK = "low_stock"
    NOT_ENOUGH_STOCK = "not_enough_stock"
    OUT_OF_STOCK_HERE = "out_of_stock_here"
    OUT_OF_STOCK = "out_of_stock"
    UNAVAILABLE = "unavailable"
    #: The cart's promo code does not apply now; ``details.reason`` is the refusal's code.
    PROMO_NOT_APPLICABLE = "promo_not_applicable"


@dataclass(frozen=True, slots=True)
class LineWarning:
    code: WarningCode
    message_fr: str
    message_en: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LineView:
    line: CartLine
    variant: VariantInfo | None
    unit_price: int
    amount: int
    warnings: list[LineWarning]


@dataclass(frozen=True, slots=True)
class CartView:
    cart: Cart
    lines: list[LineView]
    saved: list[LineView]
    subtotal: int
    item_count: int
    store_id: str | None
    #: The code on the cart (even when it does not apply now: the warning says why).
    promo_code: str | None = None
    #: What the code takes off now, in minor units; 0 when it does not apply.
    discount: int = 0
    #: The code's terms when it applies (its description, percent or amount).
    promo: loyalty.Discount | None = None
    #: Warnings about the whole cart (``promo_not_applicable``), beside the lines' own.
    warnings: list[LineWarning] = field(default_factory=list)

    @property
    def total(self) -> int:
        """What she pays for the items: the subtotal less the discount (before delivery)."""
        return self.subtotal - self.discount

    @property
    def etag(self) -> str:
        return version_etag(self.cart.version)


def version_etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str | None) -> int | None:
    """``If-Match: "7"`` (or ``W/"7"``, or ``7``) -> 7; absent -> None; anything else refused."""
    if value is None:
        return None
    raw = value.strip().removeprefix("W/").strip('"')
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidInput(
            'If-Match carries the cart version from its ETag, e.g. "3"', code="invalid_if_match"
        )
    return int(raw)


def _stock_warnings(
    quantity: int, store_id: str | None, here: int | None, anywhere: int
) -> list[LineWarning]:
    if anywhere <= 0:
        return [
            LineWarning(
                WarningCode.OUT_OF_STOCK,
                "Cet article n'est plus disponible.",
                "This item is out of stock.",
            )
        ]
    if store_id is None or here is None:
        if anywhere < quantity:
            return [
                LineWarning(
                    WarningCode.NOT_ENOUGH_STOCK,
                    f"Plus que {anywhere} disponible(s).",
                    f"Only {anywhere} left.",
                    {"available": anywhere},
                )
            ]
        return []
    if here <= 0:
        return [
            LineWarning(
                WarningCode.OUT_OF_STOCK_HERE,
                "Épuisé dans ce magasin : livraison ou retrait après transfert.",
                "Out of stock in this store: delivery or collection after a transfer.",
                {"store_id": store_id, "available": 0},
            )
        ]
    if here < quantity:
        return [
            LineWarning(
                WarningCode.NOT_ENOUGH_STOCK,
                f"Plus que {here} dans ce magasin.",
                f"Only {here} left in this store.",
                {"store_id": store_id, "available": here},
            )
        ]
    if here <= LOW_STOCK:
        return [
            LineWarning(
                WarningCode.LOW_STOCK,
                f"Plus que {here} dans ce magasin.",
                f"Only {here} left in this store.",
                {"store_id": store_id, "available": here},
            )
        ]
    return []


def view_cart(*, uow: UnitOfWork, cart: Cart, store_id: str | None = None) -> CartView:
    """The cart as the shopper must see it now: today's prices and stock, with a warning on
    every line whose price moved or whose stock is short. ``store_id``: the store she collects
    from or stands in (default: the till's store for a till cart). Three queries at most."""
    store_id = store_id or cart.store_id
    variant_ids = [line.variant_id for line in cart.lines]
    variants = catalog.get_variants(uow=uow, variant_ids=variant_ids) if variant_ids else {}
    here = (
        inventory.available_at(uow=uow, variant_ids=variant_ids, location_ids=[store_id])
        if store_id and variant_ids
        else {}
    )
    anywhere = inventory.available_anywhere(uow=uow, variant_ids=variant_ids)
    active: list[LineView] = []
    saved: list[LineView] = []
    for line in cart.lines:
        variant = variants.get(line.variant_id)
        warnings: list[LineWarning] = []
        if variant is None or variant.product_status != "published":
            price = line.unit_price_seen
            warnings.append(
                LineWarning(
                    WarningCode.UNAVAILABLE,
                    "Cet article n'est plus proposé.",
                    "This item is no longer sold.",
                )
            )
        else:
            price = variant.price_amount
            if price != line.unit_price_seen:
                warnings.append(
                    LineWarning(
                        WarningCode.PRICE_CHANGED,
                        "Le prix a changé depuis l'ajout au panier.",
                        "The price changed since you added this item.",
                        {"was": line.unit_price_seen, "now": price},
                    )
                )
            held_here = here.get(line.variant_id, {}).get(store_id) if store_id else None
            if store_id and held_here is None:
                held_here = 0
            warnings += _stock_warnings(
                line.quantity, store_id, held_here, anywhere.get(line.variant_id, 0)
            )
        view = LineView(line, variant, price, price * line.quantity, warnings)
        (saved if line.saved_for_later else active).append(view)
    # What she can still buy: a line no longer sold stays in sight (to be removed) but counts
    # neither in the subtotal nor in the item count, which checkout would not honour.
    buyable = [view for view in active if not _unavailable(view)]
    subtotal = sum(view.amount for view in buyable)
    promo: loyalty.Discount | None = None
    cart_warnings: list[LineWarning] = []
    if cart.promo_code:
        try:
            # Where she will pay is not known on a read: the channel is checked when the code
            # is applied and at checkout.
            promo = loyalty.quote_discount(
                uow=uow,
                code=cart.promo_code,
                subtotal=subtotal,
                currency=cart.currency,
                channel=None,
                at=utcnow(),
            )
        except loyalty.PromoCodeRefused as refused:
            cart_warnings.append(promo_warning(refused))
    return CartView(
        cart=cart,
        lines=active,
        saved=saved,
        subtotal=subtotal,
        item_count=sum(view.line.quantity for view in buyable),
        store_id=store_id,
        promo_code=cart.promo_code,
        discount=promo.amount if promo else 0,
        promo=promo,
        warnings=cart_warnings,
    )


def promo_warning(refused: loyalty.PromoCodeRefused) -> LineWarning:
    """The cart's warning for a code that no longer applies, with the refusal's reason."""
    return LineWarning(
        WarningCode.PROMO_NOT_APPLICABLE,
        loyalty.describe_refusal(refused, "fr"),
        loyalty.describe_refusal(refused, "en"),
        {"reason": refused.code, **refused.extra},
    )


def _unavailable(view: LineView) -> bool:
    return any(warning.code is WarningCode.UNAVAILABLE for warning in view.warnings)


# --- changing -----------------------------------------------------------------------------------


def _bump(
    uow: UnitOfWork, cart: Cart, expected_version: int | None, change: str, now: datetime
) -> None:
    """Claim the next version of the cart, or refuse: 412 if the device's copy is stale,
    409 if the cart is no longer active.

    The cart's lines are read again once the row is held: they were loaded before, and another
    request may have changed them since (on PostgreSQL the update waits for it, then goes on),
    so a change computed from the old lines would add a second line for one item or lose a
    quantity. Callers look lines up only after this."""
    condition = [Cart.id == cart.id, Cart.status == CartStatus.ACTIVE.value]
    if expected_version is not None:
        condition.append(Cart.version == expected_version)
    claimed = uow.session.execute(
        update(Cart)
        .where(*condition)
        .values(version=Cart.version + 1, updated_at=now)
        .returning(Cart.version, Cart.promo_code),
        execution_options={"synchronize_session": False},
    ).one_or_none()
    if claimed is None:
        uow.session.refresh(cart, ["version", "status"])
        if cart.status != CartStatus.ACTIVE.value:
            raise Conflict(
                f"this cart is {cart.status}", code="cart_not_active", status_now=cart.status
            )
        raise PreconditionFailed(
            "the cart changed on another device: read it again and retry",
            code="cart_version_mismatch",
            current_version=cart.version,
        )
    new_version, promo_code = claimed
    set_committed_value(cart, "version", new_version)
    set_committed_value(cart, "updated_at", now)
    # Read with the row held, like the lines: a code applied meanwhile on another device counts.
    set_committed_value(cart, "promo_code", promo_code)
    lines = uow.session.scalars(
        select(CartLine)
        .where(CartLine.cart_id == cart.id)
        .order_by(CartLine.position)
        .execution_options(populate_existing=True)
    )
    set_committed_value(cart, "lines", list(lines))
    uow.record(CartUpdated(cart_id=cart.id, version=new_version, change=change))


def _check_quantity(quantity: int) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput(f"a quantity is between 1 and {MAX_QUANTITY}", code="invalid_quantity")


def _sellable_variant(uow: UnitOfWork, variant_id: str) -> VariantInfo:
    variant = catalog.get_variants(uow=uow, variant_ids=[variant_id]).get(variant_id)
    if variant is None:
        raise NotFound(f"no variant {variant_id!r}", code="variant_not_found")
    if variant.product_status != "published":
        raise Conflict("this product is not for sale", code="product_not_for_sale")
    return variant


def _journey_properties(variant: VariantInfo, cart: Cart, quantity: int) -> dict[str, Any]:
    """Segment e-commerce v2 product properties: price in major units, as the spec says."""
    return {
        "cart_id": cart.id,
        "product_id": variant.product_id,
        "variant": variant.id,
        "sku": variant.sku,
        "name": variant.product_name,
        "price": variant.price_amount / 100,
        "currency": variant.currency,
        "quantity": quantity,
    }


def _record_journey(
    uow: UnitOfWork,
    cart: Cart,
    name: str,
    properties: dict[str, Any],
    channel: str,
    store_id: str | None,
    at: datetime,
) -> None:
    tracking.record_domain_event(
        uow=uow,
        name=name,
        properties=properties,
        channel=channel,
        occurred_at=at,
        store_id=store_id,
        anonymous_id=cart.anonymous_id,
        profile_id=cart.profile_id,
    )


def add_line(
    *,
    uow: UnitOfWork,
    cart_id: str,
    variant_id: str,
    quantity: int,
    touchpoint: Touchpoint,
    expected_version: int | None = None,
    actor: str | None = None,
) -> Cart:
    """Put a variant in the cart (adding to its line if it is already there, where the first
    touchpoint stays: it is what brought the item in). Records "Product Added" on the journey,
    with the channel and, for print, the medium and campaign scanned."""
    _check_quantity(quantity)
    cart = get_cart(uow=uow, cart_id=cart_id)
    variant = _sellable_variant(uow, variant_id)
    if variant.currency != cart.currency:
        raise Conflict("this item is priced in another currency", code="currency_mismatch")
    now = utcnow()
    _bump(uow, cart, expected_version, "line_added", now)
    existing = next(
        (line for line in cart.lines if line.variant_id == variant_id and not line.saved_for_later),
        None,
    )
    if existing is not None:
        if existing.quantity + quantity > MAX_QUANTITY:
            raise InvalidInput(
                f"at most {MAX_QUANTITY} of one item per cart", code="invalid_quantity"
            )
        existing.quantity += quantity
        existing.unit_price_seen = variant.price_amount
    else:
        if len(cart.lines) >= MAX_LINES:
            raise Conflict(f"a cart holds at most {MAX_LINES} lines", code="cart_full")
        cart.lines.append(
            CartLine(
                id=new_id("cln"),
                cart_id=cart.id,
                variant_id=variant_id,
                quantity=quantity,
                unit_price_seen=variant.price_amount,
                saved_for_later=False,
                position=max((line.position for line in cart.lines), default=-1) + 1,
                touchpoint=touchpoint.kind.value,
                medium=touchpoint.medium,
                campaign=touchpoint.campaign,
                touchpoint_store_id=touchpoint.store_id,
                added_by=actor,
                added_at=now,
            )
        )
    properties = _journey_properties(variant, cart, quantity)
    if touchpoint.medium:
        properties["medium"] = touchpoint.medium
    if touchpoint.campaign:
        properties["campaign"] = touchpoint.campaign
    _record_journey(
        uow, cart, "Product Added", properties, touchpoint.kind.value, touchpoint.store_id, now
    )
    uow.session.flush()
    return cart


def _line(cart: Cart, line_id: str) -> CartLine:
    for line in cart.lines:
        if line.id == line_id:
            return line
    raise NotFound(f"this cart has no line {line_id!r}", code="cart_line_not_found")


def change_line(
    *,
    uow: UnitOfWork,
    cart_id: str,
    line_id: str,
    quantity: int | None = None,
    saved_for_later: bool | None = None,
    expected_version: int | None = None,
) -> Cart:
    """Change a line's quantity, or move it to "saved for later" and back."""
    if quantity is None and saved_for_later is None:
        raise InvalidInput("change quantity or saved_for_later", code="nothing_to_change")
    if quantity is not None:
        _check_quantity(quantity)
    cart = get_cart(uow=uow, cart_id=cart_id)
    _bump(uow, cart, expected_version, "line_changed", utcnow())
    line = _line(cart, line_id)
    if quantity is not None:
        line.quantity = quantity
    if saved_for_later is not None:
        line.saved_for_later = saved_for_later
    uow.session.flush()
    return cart


def remove_line(
    *,
    uow: UnitOfWork,
    cart_id: str,
    line_id: str,
    expected_version: int | None = None,
    channel: str = "web",
) -> Cart:
    """Take a line out; records "Product Removed" on the journey."""
    cart = get_cart(uow=uow, cart_id=cart_id)
    now = utcnow()
    _bump(uow, cart, expected_version, "line_removed", now)
    line = _line(cart, line_id)
    variant = catalog.get_variants(uow=uow, variant_ids=[line.variant_id]).get(line.variant_id)
    cart.lines.remove(line)
    if variant is not None:
        _record_journey(
            uow,
            cart,
            "Product Removed",
            _journey_properties(variant, cart, line.quantity),
            channel,
            None,
            now,
        )
    uow.session.flush()
    return cart


# --- promo codes ----------------------------------------------------------------------------------


def buyable_subtotal(*, uow: UnitOfWork, cart: Cart) -> int:
    """The subtotal a code is judged on: today's prices of the lines she can buy (what
    :func:`view_cart` shows and checkout charges), in one query."""
    lines = active_lines(cart)
    variants = (
        catalog.get_variants(uow=uow, variant_ids=[line.variant_id for line in lines])
        if lines
        else {}
    )
    total = 0
    for line in lines:
        variant = variants.get(line.variant_id)
        if variant is not None and variant.product_status == "published":
            total += variant.price_amount * line.quantity
    return total


_CODE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


def promo_channel(channel: str) -> str:
    """The channel a code's restriction speaks of: an associate's tablet sells through the till."""
    return "till" if channel == "store" else channel


def _coupon_properties(cart: Cart, code: str, discount: loyalty.Discount | None) -> dict[str, Any]:
    """Segment e-commerce v2 coupon properties: the discount in major units."""
    return {
        "cart_id": cart.id,
        "coupon_id": discount.promo_code_id if discount else None,
        # What was typed, kept to what a code can hold: the journey stores no stray text.
        "coupon_name": "".join(c for c in loyalty.normalise_code(code) if c in _CODE_CHARS)[:32],
        "discount": (discount.amount if discount else 0) / 100,
        "currency": cart.currency,
    }


def apply_promo_code(
    *,
    uow: UnitOfWork,
    cart_id: str,
    code: str,
    expected_version: int | None = None,
    channel: str | None = None,
) -> Cart:
    """Put a promo code on the cart after checking it against the cart now; refused with
    PromoCodeRefused (422, its ``code`` says why) and "Coupon Denied" recorded, the cart left
    as it was. ``channel``: where she is (default: the cart's own), for codes kept to some
    channels. Records "Coupon Applied". Replaces the code already there, if any."""
    cart = get_cart(uow=uow, cart_id=cart_id)
    where = channel or cart.channel
    now = utcnow()
    try:
        # Checked before the cart's version moves: a refused code leaves the till's ETag good.
        loyalty.quote_discount(
            uow=uow,
            code=code,
            subtotal=buyable_subtotal(uow=uow, cart=cart),
            currency=cart.currency,
            channel=promo_channel(where),
            at=now,
        )
    except loyalty.PromoCodeRefused as refused:
        _record_journey(
            uow,
            cart,
            "Coupon Denied",
            {**_coupon_properties(cart, code, None), "reason": refused.code},
            where,
            cart.store_id,
            now,
        )
        raise
    _bump(uow, cart, expected_version, "promo_code_applied", now)
    # Again with the lines read under the row lock: another device may have just changed them.
    try:
        discount = loyalty.quote_discount(
            uow=uow,
            code=code,
            subtotal=buyable_subtotal(uow=uow, cart=cart),
            currency=cart.currency,
            channel=promo_channel(where),
            at=now,
        )
    except loyalty.PromoCodeRefused as refused:
        # Not a refusal to keep: the version already moved, so the caller must roll back
        # (a Conflict is never committed), and she tries again on the cart as it is now.
        raise Conflict(
            "the cart changed while the code was being applied: try again",
            code="cart_changed_meanwhile",
            reason=refused.code,
        ) from refused
    cart.promo_code = discount.code
    _record_journey(
        uow,
        cart,
        "Coupon Applied",
        _coupon_properties(cart, code, discount),
        where,
        cart.store_id,
        now,
    )
    uow.session.flush()
    return cart


def remove_promo_code(
    *,
    uow: UnitOfWork,
    cart_id: str,
    expected_version: int | None = None,
    channel: str | None = None,
) -> Cart:
    """Take the promo code off the cart; records "Coupon Removed" if there was one."""
    cart = get_cart(uow=uow, cart_id=cart_id)
    now = utcnow()
    _bump(uow, cart, expected_version, "promo_code_removed", now)
    removed = cart.promo_code
    cart.promo_code = None
    if removed:
        _record_journey(
            uow,
            cart,
            "Coupon Removed",
            _coupon_properties(cart, removed, None),
            channel or cart.channel,
            cart.store_id,
            now,
        )
    uow.session.flush()
    return cart


# --- merging: sign-in and the till identifying a customer ----------------------------------------


class MergeStrategy(Protocol):
    """What happens to two carts when they turn out to be one shopper's (Vendure's idea:
    merchants disagree, so it is a strategy). Returns the cart that stays active."""

    name: str
    #: Whether the other cart's lines join the survivor: it then ends ``merged``, else
    #: ``abandoned`` (set aside, its lines left in it).
    takes_lines: bool

    def merge(self, *, uow: UnitOfWork, guest: Cart, existing: Cart, now: datetime) -> Cart: ...


def _move_lines(guest: Cart, existing: Cart) -> None:
    position = max((line.position for line in existing.lines), default=-1) + 1
    for line in list(guest.lines):
        same = next(
            (
                kept
                for kept in existing.lines
                if kept.variant_id == line.variant_id
                and kept.saved_for_later == line.saved_for_later
            ),
            None,
        )
        if same is not None:
            same.quantity = min(MAX_QUANTITY, max(same.quantity, line.quantity))
            continue
        guest.lines.remove(line)
        line.cart_id = existing.id
        line.position = position
        position += 1
        existing.lines.append(line)


class MergeLines:
    """The default: the guest cart's lines join the shopper's cart; for an item in both, the
    larger quantity wins (adding them would double what she meant to buy once)."""

    name = "merge"
    takes_lines = True

    def merge(self, *, uow: UnitOfWork, guest: Cart, existing: Cart, now: datetime) -> Cart:
        _move_lines(guest, existing)
        return existing


class KeepGuestCart:
    """What she just built wins; the older cart is set aside (still in her history)."""

    name = "keep_guest"
    takes_lines = False

    def merge(self, *, uow: UnitOfWork, guest: Cart, existing: Cart, now: datetime) -> Cart:
        return guest


class KeepExistingCart:
    """Her account's cart wins; what she built as a guest is set aside."""

    name = "keep_existing"
    takes_lines = False

    def merge(self, *, uow: UnitOfWork, guest: Cart, existing: Cart, now: datetime) -> Cart:
        return existing


MERGE_STRATEGIES: dict[str, MergeStrategy] = {
    strategy.name: strategy for strategy in (MergeLines(), KeepGuestCart(), KeepExistingCart())
}


def merge_strategy(name: str) -> MergeStrategy:
    try:
        return MERGE_STRATEGIES[name]
    except KeyError:
        raise ValueError(
            f"unknown cart merge strategy {name!r}; one of {', '.join(MERGE_STRATEGIES)}"
        ) from None


def _end(cart: Cart, status: CartStatus, now: datetime, merged_into: str | None = None) -> None:
    cart.status = status.value
    cart.ended_at = now
    cart.merged_into = merged_into
    cart.version += 1


@dataclass(frozen=True, slots=True)
class Attached:
    """The shopper's cart once it is known whose it is, and the cart that ended for it (merged
    into it or set aside), whose open devices must be told."""

    cart: Cart
    ended: Cart | None = None


def attach_profile(
    *,
    uow: UnitOfWork,
    cart_id: str,
    profile_id: str,
    strategy: MergeStrategy,
) -> Attached:
    """The cart now belongs to a known shopper (she signed in, or the associate recognised her
    at the till). If she already has an active cart, the strategy decides which survives; the
    other ends ``merged`` (``merged_into`` tells where it went) or ``abandoned``."""
    cart = get_cart(uow=uow, cart_id=cart_id)
    if cart.profile_id == profile_id:
        return Attached(cart)
    if cart.profile_id is not None:
        raise Conflict("this cart belongs to another customer", code="cart_owned_by_other")
    now = utcnow()
    _bump(uow, cart, None, "customer_attached", now)
    existing = find_active_cart(uow=uow, profile_id=profile_id, anonymous_id=None)
    if existing is None or existing.id == cart.id:
        cart.profile_id = profile_id
        uow.session.flush()
        return Attached(cart)
    # Her cart is held too (and its lines read again): a line her laptop adds meanwhile is
    # merged, not lost, and both carts get a new version their devices can see.
    _bump(uow, existing, None, "merged", now)
    survivor = strategy.merge(uow=uow, guest=cart, existing=existing, now=now)
    loser = existing if survivor is cart else cart
    _end(
        loser,
        CartStatus.MERGED if strategy.takes_lines else CartStatus.ABANDONED,
        now,
        merged_into=survivor.id,
    )
    if strategy.takes_lines and survivor.promo_code is None and loser.promo_code is not None:
        # Her lines joined this cart: the code she typed on that device comes with them.
        survivor.promo_code = loser.promo_code
    # The loser leaves the "one active cart" index before the survivor takes the profile.
    uow.session.flush()
    survivor.profile_id = profile_id
    uow.record(CartUpdated(cart_id=loser.id, version=loser.version, change=loser.status))
    uow.session.flush()
    return Attached(survivor, ended=loser)


def attach_on_sign_in(
    *,
    uow: UnitOfWork,
    anonymous_id: str,
    profile_id: str,
    strategy: MergeStrategy,
) -> Attached | None:
    """At sign-in: the device's guest cart (if any) joins the shopper's cart."""
    guest = find_active_cart(uow=uow, profile_id=None, anonymous_id=anonymous_id)
    if guest is None:
        found = find_active_cart(uow=uow, profile_id=profile_id, anonymous_id=None)
        return None if found is None else Attached(found)
    return attach_profile(uow=uow, cart_id=guest.id, profile_id=profile_id, strategy=strategy)


def hold_for_checkout(*, uow: UnitOfWork, cart_id: str, expected_version: int | None) -> Cart:
    """Lock the cart for the checkout that reads it: its lines are read once the row is held,
    so a line added on another device meanwhile is either in the order or refused, never
    closed with the cart unordered. 412 if ``expected_version`` is stale."""
    cart = get_cart(uow=uow, cart_id=cart_id)
    _bump(uow, cart, expected_version, "checkout_started", utcnow())
    return cart


def mark_checked_out(*, uow: UnitOfWork, cart_id: str, order_id: str) -> Cart:
    """The cart became an order: it leaves the active carts; the shopper starts a new one.
    Lines saved for later move to her next cart."""
    cart = get_cart(uow=uow, cart_id=cart_id)
    now = utcnow()
    _bump(uow, cart, None, "checked_out", now)
    saved = [line for line in cart.lines if line.saved_for_later]
    cart.status = CartStatus.CHECKED_OUT.value
    cart.order_id = order_id
    cart.ended_at = now
    uow.session.flush()
    if saved and (cart.profile_id or cart.anonymous_id):
        follower = open_cart(
            uow=uow,
            profile_id=cart.profile_id,
            anonymous_id=cart.anonymous_id,
            channel=cart.channel,
            currency=cart.currency,
        )
        # One UPDATE moves them: taking a line out of the closed cart's collection would mark it
        # an orphan to delete (the lines' cascade), and the checkout then failed on it.
        uow.session.execute(
            update(CartLine)
            .where(CartLine.id.in_([line.id for line in saved]))
            .values(cart_id=follower.id)
            .execution_options(synchronize_session=False)
        )
        for line in saved:
            uow.session.expire(line)
        uow.session.expire(cart, ["lines"])
        uow.session.expire(follower, ["lines"])
    return cart


# --- handoff: the same cart at a till or a kiosk --------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedHandoff:
    """A code to type and a token for the QR code; the token is shown once, stored hashed."""

    handoff: CartHandoff
    code: str
    token: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_handoff(
    *, uow: UnitOfWork, cart_id: str, lifetime: timedelta = HANDOFF_LIFETIME
) -> IssuedHandoff:
    """A 6-digit code and a QR token that open this cart elsewhere for ``lifetime``. The code is
    unique among live codes, so a till typing it can only reach this cart."""
    cart = get_cart(uow=uow, cart_id=cart_id)
    if cart.status != CartStatus.ACTIVE.value:
        raise Conflict(f"this cart is {cart.status}", code="cart_not_active")
    now = utcnow()
    live_codes = set(
        uow.session.scalars(
            select(CartHandoff.code).where(
                CartHandoff.expires_at > now, CartHandoff.claimed_at.is_(None)
            )
        )
    )
    for _ in range(50):
        code = f"{secrets.randbelow(1_000_000):06d}"
        if code not in live_codes:
            break
    else:  # pragma: no cover - a million codes live at once
        raise Conflict("too many handoffs in progress; try again", code="handoff_busy")
    token = secrets.token_urlsafe(24)
    handoff = CartHandoff(
        id=new_id("cho"),
        cart_id=cart.id,
        code=code,
        token_hash=_token_hash(token),
        created_at=now,
        expires_at=now + lifetime,
    )
    uow.session.add(handoff)
    uow.session.flush()
    return IssuedHandoff(handoff, code, token)


def _scanned_token(scanned: str) -> str:
    """The token, whether the till sends it or the whole link the QR code holds."""
    path = urlsplit(scanned.strip()).path
    return path.rsplit("/h/", 1)[1] if "/h/" in path else scanned.strip()


def claim_handoff(
    *,
    uow: UnitOfWork,
    code: str | None = None,
    token: str | None = None,
    actor: str | None = None,
    store_id: str | None = None,
) -> Cart:
    """Open the cart behind a code (typed) or token (scanned). Single use: a claimed code is
    spent, so a code read over a shoulder is worthless once the till used it."""
    if (code is None) == (token is None):
        raise InvalidInput("give the 6-digit code or the QR token", code="handoff_code_required")
    now = utcnow()
    condition = (
        CartHandoff.code == code.strip()
        if code is not None
        else CartHandoff.token_hash == _token_hash(_scanned_token(token or ""))
    )
    handoff = uow.session.scalars(
        select(CartHandoff)
        .where(condition, CartHandoff.expires_at > now, CartHandoff.claimed_at.is_(None))
        .order_by(CartHandoff.created_at.desc())
    ).first()
    if handoff is None:
        raise NotFound("this code is unknown, used or expired", code="handoff_not_found")
    claimed = uow.session.execute(
        update(CartHandoff)
        .where(CartHandoff.id == handoff.id, CartHandoff.claimed_at.is_(None))
        .values(claimed_at=now, claimed_by=actor, claimed_store_id=store_id),
        execution_options={"synchronize_session": False},
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        raise NotFound("this code is unknown, used or expired", code="handoff_not_found")
    cart = get_cart(uow=uow, cart_id=handoff.cart_id)
    if cart.status != CartStatus.ACTIVE.value:
        raise Conflict(f"this cart is {cart.status}", code="cart_not_active")
    return cart


def peek_handoff(*, uow: UnitOfWork, token: str) -> Cart | None:
    """The active cart a live, unclaimed QR token opens, without spending the token (the phone
    shows what it is about to take before she confirms); None when unknown, used or expired."""
    handoff = uow.session.scalars(
        select(CartHandoff).where(
            CartHandoff.token_hash == _token_hash(_scanned_token(token)),
            CartHandoff.expires_at > utcnow(),
            CartHandoff.claimed_at.is_(None),
        )
    ).first()
    if handoff is None:
        return None
    cart = uow.session.get(Cart, handoff.cart_id)
    return cart if cart is not None and cart.status == CartStatus.ACTIVE.value else None


def take_handoff(
    *,
    uow: UnitOfWork,
    token: str,
    profile_id: str | None,
    anonymous_id: str | None,
    channel: str,
    currency: str,
) -> Attached:
    """A selection made elsewhere (a kiosk) moves into this shopper's own cart: the handoff is
    spent, its lines join her cart as :class:`MergeLines` does (the larger quantity wins for an
    item in both; each line keeps the touchpoint that brought it in), and the other cart ends
    ``merged`` into hers. Refused like :func:`claim_handoff` (``handoff_not_found``)."""
    source = claim_handoff(uow=uow, token=token)
    target = open_cart(
        uow=uow,
        profile_id=profile_id,
        anonymous_id=anonymous_id,
        channel=channel,
        currency=currency,
    )
    if target.id == source.id:
        return Attached(target)
    if target.currency != source.currency:
        raise Conflict("this selection is priced in another currency", code="currency_mismatch")
    now = utcnow()
    # Both carts held, lines read again: a line her laptop adds meanwhile is kept, not lost.
    _bump(uow, source, None, "handed_off", now)
    _bump(uow, target, None, "merged", now)
    _move_lines(source, target)
    if target.promo_code is None and source.promo_code is not None:
        target.promo_code = source.promo_code
    _end(source, CartStatus.MERGED, now, merged_into=target.id)
    uow.record(CartUpdated(cart_id=source.id, version=source.version, change=source.status))
    uow.session.flush()
    return Attached(target, ended=source)


def abandon_cart(*, uow: UnitOfWork, cart_id: str) -> Cart:
    """Set an active cart aside (a kiosk's selection when its shopper walks away): it leaves the
    active carts, its lines stay in it for the journey's record. An ended cart is left as is."""
    cart = get_cart(uow=uow, cart_id=cart_id)
    if cart.status != CartStatus.ACTIVE.value:
        return cart
    now = utcnow()
    _bump(uow, cart, None, "abandoned", now)
    _end(cart, CartStatus.ABANDONED, now)
    uow.record(CartUpdated(cart_id=cart.id, version=cart.version, change=cart.status))
    uow.session.flush()
    return cart


def resolve_scanned_code(*, uow: UnitOfWork, text: str) -> ScanResult:
    """What a code read by the shopper's own camera names (the browser decoded it): a GTIN
    (EAN-13, EAN-8, UPC-A) or one of our printed QR links, as a ``carts.scan.ScanResult`` with
    the print medium and campaign when the code is a printed one. NotFound
    ``scan_not_a_product`` when it is not one of our products."""
    # Imported here: the scan module loads zxing-cpp, which only photo decoding needs.
    from parcours.carts import scan

    value = text.strip()
    try:
        if value.isdigit() and len(value) in (8, 12, 13, 14):
            symbology = {8: "ean8", 12: "upca"}.get(len(value), "ean13")
            return scan._from_gtin(uow, symbology, value)
        return scan._from_qr(uow, value)
    except (NotFound, InvalidInput) as exc:
        raise NotFound(exc.detail, code="scan_not_a_product") from None


# --- helpers for orders ---------------------------------------------------------------------------


def active_lines(cart: Cart, line_ids: Sequence[str] | None = None) -> list[CartLine]:
    """The lines a checkout takes: all but those saved for later (or those named)."""
    lines = [line for line in cart.lines if not line.saved_for_later]
    if line_ids is None:
        return lines
    wanted = set(line_ids)
    return [line for line in lines if line.id in wanted]


# --- signing in: the session, the identity graph and the cart move together ----------------------


def send_sign_in_code(
    *, uow: UnitOfWork, email: str, locale: str, client: str | None = None
) -> None:
    """Mail a one-time sign-in code (queued in this transaction, sent by the delivery task);
    ``client``, the caller's address, is throttled (see ``shoppers.request_sign_in_code``)."""
    from parcours.customers import shoppers
    from parcours.notifications import service as notifications

    code = shoppers.request_sign_in_code(uow=uow, email=email, client=client)
    notifications.queue_email(
        uow=uow,
        template="sign_in_code",
        to_address=email.strip().lower(),
        locale=locale,
        context={
            "code": code,
            "valid_minutes": int(shoppers.CODE_LIFETIME.total_seconds() // 60),
        },
        purpose="transactional",
    )


def sign_in(
    *, uow: UnitOfWork, session: ShopperSession, email: str, code: str, strategy: MergeStrategy
) -> Attached | None:
    """Sign the session in and bring this device's cart into the shopper's: she finds on her
    laptop what she put in the cart on her phone. Returns her active cart, if she has one."""
    from parcours.customers import shoppers

    shoppers.sign_in_shopper(
        uow=uow, session=session, email=email, code=code, channel=session.channel
    )
    assert session.profile_id is not None
    return attach_on_sign_in(
        uow=uow,
        anonymous_id=session.anonymous_id,
        profile_id=session.profile_id,
        strategy=strategy,
    )
