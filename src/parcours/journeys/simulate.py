"""Simulated omnichannel history: journeys written straight into the lake (origin ``simulated``)
for demos and load tests, at any size, the same for the same seed.

People are drawn first: devices nobody signed in on, and customers linked to profiles, each
shopping online only, in store only, or both, from a home store, over a lifetime. Their visits
are then drawn as episodes of a few kinds — an online journey (a campaign touch, a search, some
product views, a stock check, the cart, the checkout steps, the order, delivered or collected
in store), a till purchase, research online then a purchase in store (ROPO), a campaign that
reached them — each step taken with a probability, so abandonment, zero-result searches,
out-of-stock views, click-and-collect add-ons, returns, reviews and shares all happen.

Nothing is written as a result: that omnichannel customers spend more and stay longer follows
from how they behave (they research before buying, so their baskets are larger; they pick up
orders and buy more at the desk; they lapse more slowly because more channels keep them in
touch). Everything is drawn with numpy over whole arrays, so ten million events take seconds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from parcours.core.uow import UnitOfWork
from parcours.journeys.lake import Lake
from parcours.journeys.schema import EVENTS, ITEMS, SIMULATED, place_of

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

#: (product id, category, price in minor units): what a simulated shopper can buy.
CatalogueItem = tuple[str, str, int]

EVENT_NAMES = (
    "Promotion Clicked",
    "Campaign Received",
    "Products Searched",
    "Product Viewed",
    "Store Stock Checked",
    "Product Added",
    "Checkout Started",
    "Checkout Step Completed",
    "Order Completed",
    "Pickup Checked In",
    "Order Collected",
    "Order Refunded",
    "Product Reviewed",
    "Product Shared",
    "Customer Recognised",
)
E = {name: code for code, name in enumerate(EVENT_NAMES)}
CHANNELS = ("web", "app", "store", "till", "social", "email", "sms", "mail")
C = {name: code for code, name in enumerate(CHANNELS)}
DEVICES = ("desktop", "mobile", "tablet")
#: What shoppers type that the catalogue does not answer (zero-result searches).
ZERO_RESULT_QUERIES = ("trench vegan", "taille 52", "gilet chauffant", "pantalon velours rouge")
CAMPAIGNS = tuple(
    f"sim-{name}"
    for name in (
        "soldes",
        "rentree",
        "nouveautes",
        "fidelite",
        "black-friday",
        "noel",
        "printemps",
        "ete",
    )
)

ONLINE, STORE, OMNI = 0, 1, 2
_SECOND = 1_000_000  # microseconds


@dataclass(frozen=True, slots=True)
class Behaviour:
    """The probabilities and rates people act by; change them to see other shops."""

    anonymous_share: float = 0.15
    segment_shares: tuple[float, float, float] = (0.30, 0.35, 0.35)  # online, store, both
    lifetime_days: tuple[float, float, float] = (75.0, 90.0, 125.0)  # mean, by segment
    #: Episode kinds by segment: online journey, store visit, research then store, campaign.
    kinds: tuple[tuple[float, float, float, float], ...] = (
        (0.85, 0.0, 0.0, 0.15),
        (0.0, 0.85, 0.0, 0.15),
        (0.30, 0.30, 0.25, 0.15),
    )
    touch: float = 0.35
    search: float = 0.6
    zero_result: float = 0.06
    continue_after_zero: float = 0.3
    unavailable: float = 0.08
    stock_check: float = 0.35  # of omnichannel people's online journeys
    add_if_available: float = 0.38
    add_if_unavailable: float = 0.03
    checkout: float = 0.62
    steps: tuple[float, float, float] = (0.88, 0.85, 0.9)
    pay: float = 0.9
    lines: float = 0.9  # extra lines per online basket (Poisson mean)
    researched_lines: float = 0.25  # more when the shopper compared or checked the stock
    store_lines: float = 1.9
    click_and_collect: float = 0.45  # of omnichannel online orders
    add_on: float = 0.29  # pickups with another purchase in the store
    ropo_same_product: float = 0.8
    refund: float = 0.05
    review: float = 0.08
    share: float = 0.04
    recognised: float = 0.3  # store visits where the associate or kiosk recognised the card


@dataclass
class SimulationReport:
    events: int = 0
    items: int = 0
    persons: int = 0
    orders: int = 0
    seconds: float = 0.0
    write_seconds: float = 0.0  # of which writing the lake (sorting, Parquet)
    by_event: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [
            f"simulated {self.events} events, {self.items} order lines, {self.orders} orders, "
            f"{self.persons} people in {self.seconds:.1f}s "
            f"(writing the lake {self.write_seconds:.1f}s)"
        ]


class _Columns:
    """Event rows under construction: integer codes per column, -1 for null."""

    NAMES = (
        "person",
        "ts",
        "event",
        "channel",
        "store",
        "session",
        "campaign",
        "source",
        "product",
        "order",
        "revenue",
        "quantity",
        "available",
        "results",
        "query",
        "step",
        "waited",
    )

    def __init__(self) -> None:
        self.parts: list[dict[str, Ints]] = []

    def add(
        self, person: Ints, ts: Ints, event: int | Ints, channel: int | Ints, **values: Ints | int
    ) -> None:
        n = len(person)
        if n == 0:
            return
        part = {"person": person, "ts": ts}
        given: dict[str, Ints | int] = {"event": event, "channel": channel, **values}
        for name in self.NAMES[2:]:
            value = given.get(name, -1)
            part[name] = np.broadcast_to(np.asarray(value, dtype=np.int64), (n,))
        self.parts.append(part)

    def concat(self) -> dict[str, Ints]:
        return {name: np.concatenate([p[name] for p in self.parts]) for name in self.NAMES}


class _Items:
    def __init__(self) -> None:
        self.order: list[Ints] = []
        self.product: list[Ints] = []
        self.quantity: list[Ints] = []

    def add(self, order: Ints, product: Ints, quantity: Ints) -> None:
        self.order.append(order)
        self.product.append(product)
        self.quantity.append(quantity)


class _World:
    """The random draws shared by every episode kind."""

    def __init__(
        self, rng: np.random.Generator, products: Sequence[CatalogueItem], stores: Sequence[str]
    ) -> None:
        self.rng = rng
        by_category = sorted(range(len(products)), key=lambda i: (products[i][1], i))
        self.product_ids = [products[i][0] for i in by_category]
        categories = [products[i][1] for i in by_category]
        self.category_names = sorted(set(categories))
        self.category = np.array([self.category_names.index(c) for c in categories], np.int64)
        self.price = np.array([max(1, products[i][2]) for i in by_category], np.int64)
        self.category_start = np.searchsorted(self.category, np.arange(len(self.category_names)))
        self.category_size = np.bincount(self.category, minlength=len(self.category_names))
        # Popularity follows a long tail: a few products sell most.
        weights = 1.0 / np.arange(1, len(products) + 1) ** 0.8
        self.popularity = np.cumsum(rng.permutation(weights))
        self.popularity /= self.popularity[-1]
        self.stores = list(stores)
        store_weights = 1.0 / np.arange(1, len(stores) + 1) ** 0.6
        self.store_popularity = np.cumsum(store_weights) / store_weights.sum()
        self.orders = 0
        self.sessions = 0

    def popular_products(self, n: int) -> Ints:
        index = np.searchsorted(self.popularity, self.rng.random(n))
        return np.minimum(index, len(self.product_ids) - 1).astype(np.int64)

    def same_category(self, products: Ints) -> Ints:
        category = self.category[products]
        offset = (self.rng.random(len(products)) * self.category_size[category]).astype(np.int64)
        return np.asarray(self.category_start[category] + offset, np.int64)

    def home_stores(self, n: int) -> Ints:
        return np.searchsorted(self.store_popularity, self.rng.random(n)).astype(np.int64)

    def new_orders(self, n: int) -> Ints:
        ids = np.arange(self.orders, self.orders + n, dtype=np.int64)
        self.orders += n
        return ids

    def new_sessions(self, n: int) -> Ints:
        ids = np.arange(self.sessions, self.sessions + n, dtype=np.int64)
        self.sessions += n
        return ids

    def seconds(self, mean: float, n: int) -> Ints:
        return (self.rng.exponential(mean, n) * _SECOND).astype(np.int64) + _SECOND

    def basket(self, orders: Ints, first: Ints | None, extra: Floats, items: _Items) -> Ints:
        """Lines for each order (the ``first`` product, then popular ones); returns revenue."""
        lines = self.rng.poisson(extra) + (0 if first is not None else 1)
        order_of_line = np.repeat(np.arange(len(orders)), lines)
        products = self.popular_products(len(order_of_line))
        quantity = 1 + (self.rng.random(len(order_of_line)) < 0.15).astype(np.int64)
        if first is not None:
            order_of_line = np.concatenate([np.arange(len(orders)), order_of_line])
            products = np.concatenate([first, products])
            quantity = np.concatenate([np.ones(len(orders), np.int64), quantity])
        items.add(orders[order_of_line], products, quantity)
        return np.bincount(
            order_of_line, weights=self.price[products] * quantity, minlength=len(orders)
        ).astype(np.int64)


def _online_journeys(
    world: _World,
    b: Behaviour,
    person: Ints,
    start: Ints,
    omni: Bools,
    home: Ints,
    device_app: Bools,
    events: _Columns,
    items: _Items,
) -> None:
    """Touch, search, views, stock check, cart, checkout steps, order and what follows it."""
    rng = world.rng
    n = len(person)
    if n == 0:
        return
    channel = np.where(device_app, C["app"], C["web"])
    session = world.new_sessions(n)
    focus = world.popular_products(n)
    touched = rng.random(n) < b.touch
    touch_channel = np.array([C["social"], C["email"], C["sms"]])[
        np.searchsorted([0.5, 0.85], rng.random(n))
    ]
    campaign = np.where(touched, rng.integers(0, len(CAMPAIGNS), n), -1)
    source = np.where(touched, touch_channel, -1)
    searched = rng.random(n) < b.search
    zero = searched & (rng.random(n) < b.zero_result)
    goes_on = ~zero | (rng.random(n) < b.continue_after_zero)
    views = np.where(goes_on, 1 + rng.binomial(2, 0.4, n), 0)
    available = rng.random(n) >= b.unavailable
    checked = goes_on & omni & (rng.random(n) < b.stock_check)
    in_store = rng.random(n) < 0.85
    added = (views > 0) & (
        rng.random(n) < np.where(available, b.add_if_available, b.add_if_unavailable)
    )
    started = added & (rng.random(n) < b.checkout)
    step1 = started & (rng.random(n) < b.steps[0])
    step2 = step1 & (rng.random(n) < b.steps[1])
    step3 = step2 & (rng.random(n) < b.steps[2])
    ordered = step3 & (rng.random(n) < b.pay)

    # Slots in journey order; each present or not, each after a gap from the previous one.
    present = np.stack(
        [
            touched,
            searched,
            views >= 1,
            views >= 2,
            views >= 3,
            checked,
            added,
            started,
            step1,
            step2,
            step3,
            ordered,
        ],
        axis=1,
    )
    gaps = np.stack(
        [
            np.zeros(n, np.int64),
            world.seconds(120, n),
            world.seconds(40, n),
            world.seconds(70, n),
            world.seconds(70, n),
            world.seconds(60, n),
            world.seconds(90, n),
            world.seconds(120, n),
            world.seconds(60, n),
            world.seconds(50, n),
            world.seconds(50, n),
            world.seconds(40, n),
        ],
        axis=1,
    )
    at = start[:, None] + np.cumsum(gaps, axis=1)
    rows, slot = np.nonzero(present)
    when = at[rows, slot]

    def pick(mask_slot: Bools) -> tuple[Ints, Ints]:
        return rows[mask_slot], when[mask_slot]

    # The touch is on its own channel: an ad clicked on social, a campaign in the inbox.
    r, w = pick(slot == 0)
    events.add(
        person[r],
        w - 300 * _SECOND,
        np.where(touch_channel[r] == C["social"], E["Promotion Clicked"], E["Campaign Received"]),
        touch_channel[r],
        campaign=campaign[r],
        source=touch_channel[r],
        session=session[r],
    )
    r, w = pick(slot == 1)
    category = world.category[focus[r]]
    events.add(
        person[r],
        w,
        E["Products Searched"],
        channel[r],
        session=session[r],
        campaign=campaign[r],
        source=source[r],
        results=np.where(zero[r], 0, world.category_size[category]),
        query=np.where(
            zero[r],
            rng.integers(0, len(ZERO_RESULT_QUERIES), len(r)),
            len(ZERO_RESULT_QUERIES) + category,
        ),
    )
    for view in (2, 3, 4):
        r, w = pick(slot == view)
        product = focus[r] if view == 2 else world.same_category(focus[r])
        seen = available[r] if view == 2 else rng.random(len(r)) >= b.unavailable
        events.add(
            person[r],
            w,
            E["Product Viewed"],
            channel[r],
            session=session[r],
            campaign=campaign[r],
            source=source[r],
            product=product,
            available=seen.astype(np.int64),
        )
    r, w = pick(slot == 5)
    events.add(
        person[r],
        w,
        E["Store Stock Checked"],
        channel[r],
        session=session[r],
        store=home[r],
        product=focus[r],
        available=in_store[r].astype(np.int64),
    )
    r, w = pick(slot == 6)
    events.add(
        person[r],
        w,
        E["Product Added"],
        channel[r],
        session=session[r],
        campaign=campaign[r],
        source=source[r],
        product=focus[r],
        available=available[r].astype(np.int64),
        quantity=1,
    )
    r, w = pick(slot == 7)
    events.add(
        person[r],
        w,
        E["Checkout Started"],
        channel[r],
        session=session[r],
        campaign=campaign[r],
        source=source[r],
    )
    for step in (1, 2, 3):
        r, w = pick(slot == 7 + step)
        events.add(
            person[r],
            w,
            E["Checkout Step Completed"],
            channel[r],
            session=session[r],
            campaign=campaign[r],
            source=source[r],
            step=step,
        )

    r, w = pick(slot == 11)
    orders = world.new_orders(len(r))
    researched = (views[r] >= 2) | checked[r]
    revenue = world.basket(
        orders, focus[r], np.asarray(b.lines + b.researched_lines * researched, np.float64), items
    )
    collect = omni[r] & (rng.random(len(r)) < b.click_and_collect)
    store = np.where(collect, home[r], -1)
    events.add(
        person[r],
        w,
        E["Order Completed"],
        channel[r],
        session=session[r],
        campaign=campaign[r],
        source=source[r],
        order=orders,
        revenue=revenue,
        store=store,
    )
    _after_online_order(
        world,
        b,
        person[r],
        w,
        orders,
        revenue,
        focus[r],
        channel[r],
        collect,
        home[r],
        events,
        items,
    )


def _after_online_order(
    world: _World,
    b: Behaviour,
    person: Ints,
    at: Ints,
    orders: Ints,
    revenue: Ints,
    product: Ints,
    channel: Ints,
    collect: Bools,
    home: Ints,
    events: _Columns,
    items: _Items,
) -> None:
    rng = world.rng
    n = len(person)
    # Click-and-collect: at the desk hours or days later, sometimes buying more while there.
    c = np.nonzero(collect)[0]
    arrive = at[c] + ((2 + rng.exponential(20, len(c))) * 3600 * _SECOND).astype(np.int64)
    waited = (rng.lognormal(np.log(150), 0.7, len(c))).astype(np.int64)
    events.add(
        person[c], arrive, E["Pickup Checked In"], C["store"], store=home[c], order=orders[c]
    )
    collected = arrive + waited * _SECOND
    events.add(
        person[c],
        collected,
        E["Order Collected"],
        C["store"],
        store=home[c],
        order=orders[c],
        waited=waited,
    )
    chosen = rng.random(len(c)) < b.add_on
    more = c[chosen]
    when = collected[chosen] + world.seconds(900, len(more))
    add_on = world.new_orders(len(more))
    extra = world.basket(add_on, None, np.full(len(more), 0.6), items)
    events.add(
        person[more],
        when,
        E["Order Completed"],
        C["till"],
        store=home[more],
        order=add_on,
        revenue=extra,
    )
    # Returns, reviews and shares (the ultimate moment of truth).
    day = 86400 * _SECOND
    back = np.nonzero(rng.random(n) < b.refund)[0]
    events.add(
        person[back],
        at[back] + rng.integers(3 * day, 25 * day, len(back)),
        E["Order Refunded"],
        np.where(collect[back], C["store"], channel[back]),
        order=orders[back],
        revenue=revenue[back],
        store=np.where(collect[back], home[back], -1),
    )
    rev = np.nonzero(rng.random(n) < b.review)[0]
    events.add(
        person[rev],
        at[rev] + rng.integers(3 * day, 15 * day, len(rev)),
        E["Product Reviewed"],
        channel[rev],
        product=product[rev],
    )
    shared = np.nonzero(rng.random(n) < b.share)[0]
    events.add(
        person[shared],
        at[shared] + rng.integers(day // 24, 3 * day, len(shared)),
        E["Product Shared"],
        C["social"],
        product=product[shared],
    )


def _store_visits(
    world: _World,
    b: Behaviour,
    person: Ints,
    start: Ints,
    home: Ints,
    linked: Bools,
    first: Ints | None,
    extra: Floats,
    events: _Columns,
    items: _Items,
) -> None:
    """A purchase at the till of the home store (sometimes another one)."""
    rng = world.rng
    n = len(person)
    store = np.where(rng.random(n) < 0.8, home, world.home_stores(n))
    channel = np.where(rng.random(n) < 0.75, C["till"], C["store"])
    recognised = np.nonzero(linked & (rng.random(n) < b.recognised))[0]
    events.add(
        person[recognised],
        start[recognised] - world.seconds(300, len(recognised)),
        E["Customer Recognised"],
        C["store"],
        store=store[recognised],
    )
    orders = world.new_orders(n)
    revenue = world.basket(orders, first, extra, items)
    events.add(
        person, start, E["Order Completed"], channel, store=store, order=orders, revenue=revenue
    )


def _ropo(
    world: _World,
    b: Behaviour,
    person: Ints,
    start: Ints,
    home: Ints,
    device_app: Bools,
    events: _Columns,
    items: _Items,
) -> None:
    """Research online (search, views, a stock check), then buy in store days later."""
    rng = world.rng
    n = len(person)
    channel = np.where(device_app, C["app"], C["web"])
    session = world.new_sessions(n)
    focus = world.popular_products(n)
    searched = np.nonzero(rng.random(n) < b.search)[0]
    category = world.category[focus[searched]]
    events.add(
        person[searched],
        start[searched] - world.seconds(60, len(searched)),
        E["Products Searched"],
        channel[searched],
        session=session[searched],
        results=world.category_size[category],
        query=len(ZERO_RESULT_QUERIES) + category,
    )
    views = 1 + rng.binomial(2, 0.5, n)
    at = start.copy()
    for view in range(3):
        r = np.nonzero(views > view)[0]
        product = focus[r] if view == 0 else world.same_category(focus[r])
        at[r] += world.seconds(60, len(r))
        events.add(
            person[r],
            at[r],
            E["Product Viewed"],
            channel[r],
            session=session[r],
            product=product,
            available=(rng.random(len(r)) >= b.unavailable).astype(np.int64),
        )
    checked = np.nonzero(rng.random(n) < b.stock_check + 0.1)[0]
    events.add(
        person[checked],
        at[checked] + world.seconds(45, len(checked)),
        E["Store Stock Checked"],
        channel[checked],
        session=session[checked],
        store=home[checked],
        product=focus[checked],
        available=1,
    )
    later = at + ((0.3 + rng.exponential(2.0, n)) * 86400 * _SECOND).astype(np.int64)
    bought = np.where(rng.random(n) < b.ropo_same_product, focus, world.same_category(focus))
    _store_visits(
        world,
        b,
        person,
        later,
        home,
        np.ones(n, np.bool_),
        bought,
        np.full(n, b.store_lines),
        events,
        items,
    )


def _campaigns(world: _World, person: Ints, start: Ints, segment: Ints, events: _Columns) -> None:
    rng = world.rng
    n = len(person)
    channel = np.where(
        segment == STORE,
        C["mail"],
        np.array([C["email"], C["sms"]])[(rng.random(n) < 0.3).astype(np.int64)],
    )
    events.add(
        person, start, E["Campaign Received"], channel, campaign=rng.integers(0, len(CAMPAIGNS), n)
    )


def _synthetic_catalogue() -> list[CatalogueItem]:
    categories = (
        "robes",
        "pantalons",
        "pulls",
        "chemises",
        "vestes",
        "chaussures",
        "sacs",
        "accessoires",
    )
    rng = np.random.default_rng(0)
    return [
        (
            f"sim-p{i:04d}",
            categories[i % len(categories)],
            int(round(float(rng.lognormal(np.log(4500), 0.5)), -2)),
        )
        for i in range(400)
    ]


def _generate(
    b: Behaviour,
    world: _World,
    episodes: int,
    days: int,
    end_us: int,
    profiles: Sequence[str],
    persons_per_episode: float = 0.2,
) -> tuple[dict[str, Ints], _Items, int, Bools, Bools]:
    rng = world.rng
    n_people = max(1, int(episodes * persons_per_episode), len(profiles))
    anonymous = rng.random(n_people) < b.anonymous_share
    anonymous[: len(profiles)] = False
    segment = np.searchsorted(np.cumsum(b.segment_shares)[:-1], rng.random(n_people))
    segment = np.where(anonymous, ONLINE, segment)
    lifetime = rng.exponential(np.array(b.lifetime_days)[segment])
    arrival = rng.uniform(-0.5 * days, days, n_people)
    begin = np.maximum(arrival, 0.0)
    finish = np.minimum(arrival + lifetime, float(days))
    window = np.maximum(finish - begin, 0.0)
    intensity = rng.lognormal(0.0, 0.6, n_people) * window
    weights = np.cumsum(intensity)
    who = np.minimum(np.searchsorted(weights, rng.random(episodes) * weights[-1]), n_people - 1)
    day = begin[who] + rng.random(episodes) * window[who]
    # Daytime, in the shop's hours: 8:00 to 21:00 UTC.
    start = (
        end_us
        - int(days * 86400 * _SECOND)
        + ((np.floor(day) * 86400 + 8 * 3600 + rng.random(episodes) * 13 * 3600) * _SECOND).astype(
            np.int64
        )
    )
    kinds = np.array(b.kinds)[segment[who]]
    kind = (rng.random(episodes)[:, None] > np.cumsum(kinds, axis=1)).sum(axis=1)
    kind = np.where(anonymous[who] & (kind == 3), 0, kind)
    home = world.home_stores(n_people)
    app = rng.random(n_people) < 0.4
    events = _Columns()
    items = _Items()
    pick = [np.nonzero(kind == k)[0] for k in range(4)]
    w = who[pick[0]]
    _online_journeys(
        world, b, w, start[pick[0]], segment[w] == OMNI, home[w], app[w], events, items
    )
    w = who[pick[1]]
    _store_visits(
        world,
        b,
        w,
        start[pick[1]],
        home[w],
        ~anonymous[w],
        None,
        np.full(len(w), b.store_lines),
        events,
        items,
    )
    w = who[pick[2]]
    _ropo(world, b, w, start[pick[2]], home[w], app[w], events, items)
    w = who[pick[3]]
    _campaigns(world, w, start[pick[3]], segment[w], events)
    return events.concat(), items, n_people, anonymous, segment == OMNI


def _strings(codes: Ints, dictionary: Sequence[str]) -> pa.Array:
    mask = codes < 0
    indices = pa.array(np.where(mask, 0, codes).astype(np.int32), mask=mask)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(dictionary), pa.string())).cast(
        pa.string()
    )


def _numbered(prefix: str, codes: Ints) -> pa.Array:
    numbers = pa.array(codes, mask=codes < 0).cast(pa.string())
    return pc.utf8_replace_slice(numbers, 0, 0, prefix)


def _optional(codes: Ints, kind: pa.DataType) -> pa.Array:
    return pa.array(codes, mask=codes < 0).cast(kind)


def simulate_history(
    *,
    lake: Lake,
    events: int,
    end: datetime,
    days: int = 180,
    products: Sequence[CatalogueItem] = (),
    stores: Sequence[str] = (),
    profiles: Sequence[str] = (),
    seed: int = 7,
    behaviour: Behaviour | None = None,
    replace: bool = True,
) -> SimulationReport:
    """Write about ``events`` simulated events (and their order lines) over the ``days`` before
    ``end`` (naive UTC) into the lake, replacing the previous simulation unless ``replace`` is
    false. ``profiles`` are linked to the first simulated customers; the others are ``sim-…``."""
    started = time.perf_counter()
    b = behaviour or Behaviour()
    catalogue = list(products) or _synthetic_catalogue()
    store_ids = list(stores) or [f"sim-store-{i}" for i in range(1, 9)]
    end_us = int((end - datetime(1970, 1, 1)).total_seconds() * _SECOND)

    # A pilot run says how many events an episode makes with these behaviours.
    pilot = _generate(
        b, _World(np.random.default_rng(seed + 1), catalogue, store_ids), 20_000, days, end_us, ()
    )
    per_episode = len(pilot[0]["ts"]) / 20_000
    world = _World(np.random.default_rng(seed), catalogue, store_ids)
    episodes = max(1, round(events / per_episode))
    rows, items, n_people, anonymous, _ = _generate(b, world, episodes, days, end_us, profiles)
    keep = rows["ts"] <= end_us
    rows = {name: values[keep] for name, values in rows.items()}

    person_ids = np.arange(n_people, dtype=np.int64)
    linked = np.where(anonymous, -1, person_ids)
    given = list(profiles)
    profile_names = given + [f"sim-{i}" for i in range(len(given), n_people)]
    profile_col = _strings(linked[rows["person"]], profile_names)
    anonymous_col = _numbered(f"sim{seed}-d", np.where(anonymous, person_ids, -1)[rows["person"]])
    channel = _strings(rows["channel"], CHANNELS)
    places = [place_of(c) for c in CHANNELS]
    n = len(rows["ts"])
    category_codes = np.where(
        rows["product"] >= 0, world.category[np.maximum(rows["product"], 0)], -1
    )
    queries = list(ZERO_RESULT_QUERIES) + world.category_names
    device = np.where(
        np.isin(rows["channel"], [C["web"], C["app"]]),
        np.where(rows["channel"] == C["app"], 1, rows["person"] % 3),
        -1,
    )
    events_table = pa.table(
        {
            "event_id": _numbered(f"sim{seed}-e", np.arange(n, dtype=np.int64)),
            "ts": pa.array(rows["ts"], pa.timestamp("us")),
            "profile_id": profile_col,
            "anonymous_id": anonymous_col,
            "event": _strings(rows["event"], EVENT_NAMES),
            "channel": channel,
            "place": _strings(rows["channel"], places),
            "store_id": _strings(rows["store"], store_ids),
            "session_id": _numbered(f"sim{seed}-s", rows["session"]),
            "campaign": _strings(rows["campaign"], CAMPAIGNS),
            "source": _strings(rows["source"], CHANNELS),
            "device": _strings(device, DEVICES),
            "product_id": _strings(rows["product"], world.product_ids),
            "category": _strings(category_codes, world.category_names),
            "order_id": _numbered(f"sim{seed}-o", rows["order"]),
            "revenue": _optional(rows["revenue"], pa.int64()),
            "quantity": _optional(rows["quantity"], pa.int32()),
            "available": _optional(rows["available"], pa.bool_()),
            "results": _optional(rows["results"], pa.int32()),
            "query": _strings(rows["query"], queries),
            "step": _optional(rows["step"], pa.int32()),
            "waited_seconds": _optional(rows["waited"], pa.int32()),
            "origin": pa.repeat(pa.scalar(SIMULATED), n),
        },
        schema=EVENTS,
    )
    items_table = _items_table(world, rows, items, events_table, seed)
    writing = time.perf_counter()
    if replace:
        lake.drop_origin(SIMULATED)
    report = SimulationReport(persons=n_people, orders=world.orders)
    report.events = lake.append("events", events_table, origin=SIMULATED)
    report.items = lake.append("items", items_table, origin=SIMULATED)
    counts = pc.value_counts(events_table["event"])
    report.by_event = {str(v["values"]): int(v["counts"]) for v in counts.to_pylist()}
    report.write_seconds = round(time.perf_counter() - writing, 2)
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def _items_table(
    world: _World, rows: dict[str, Ints], items: _Items, events_table: pa.Table, seed: int
) -> pa.Table:
    """One row per order line, carrying its order event's time, person, channel and store."""
    order = np.concatenate(items.order) if items.order else np.zeros(0, np.int64)
    product = np.concatenate(items.product) if items.product else np.zeros(0, np.int64)
    quantity = np.concatenate(items.quantity) if items.quantity else np.zeros(0, np.int64)
    completed = np.nonzero((rows["event"] == E["Order Completed"]) & (rows["order"] >= 0))[0]
    position = np.full(world.orders, -1, np.int64)
    position[rows["order"][completed]] = completed
    line_event = position[order]
    kept = line_event >= 0  # orders placed after ``end`` were dropped with their event
    line_event, product, quantity = line_event[kept], product[kept], quantity[kept]
    taken = pa.array(line_event)
    columns: dict[str, Any] = {
        name: events_table[name].take(taken)
        for name in (
            "event_id",
            "ts",
            "profile_id",
            "anonymous_id",
            "event",
            "channel",
            "place",
            "store_id",
            "order_id",
        )
    }
    columns["product_id"] = _strings(product, world.product_ids)
    columns["category"] = _strings(world.category[product], world.category_names)
    columns["quantity"] = pa.array(quantity.astype(np.int32))
    columns["amount"] = pa.array(world.price[product] * quantity)
    columns["origin"] = pa.repeat(pa.scalar(SIMULATED), len(product))
    return pa.table(columns, schema=ITEMS)


def shop_catalogue(uow: UnitOfWork) -> tuple[list[CatalogueItem], list[str]]:
    """The published products (id, category name, price) and the active stores of this shop,
    read through the catalog and stores services: what a simulated history of it is made of."""
    from parcours.catalog import service as catalog
    from parcours.catalog.models import ProductStatus
    from parcours.stores import service as stores
    from parcours.stores.models import LocationKind

    names: dict[str, str] = {}
    pending = list(catalog.list_categories(uow=uow).items)
    while pending:
        node = pending.pop()
        names[node.id] = node.name
        pending.extend(node.children)
    products: list[CatalogueItem] = []
    cursor: str | None = None
    while True:
        page = catalog.list_products(
            uow=uow, cursor=cursor, limit=200, status=ProductStatus.PUBLISHED
        )
        products.extend(
            (p.id, names.get(p.category_id or "", "other"), p.price_amount) for p in page.items
        )
        cursor = page.next_cursor
        if cursor is None:
            break
    store_ids: list[str] = []
    after: str | None = None
    while True:
        locations, after = stores.list_locations(
            uow=uow, kind=LocationKind.STORE, active=True, cursor=after, limit=200
        )
        store_ids.extend(location.id for location in locations)
        if after is None:
            break
    return products, store_ids


def default_end() -> datetime:
    """Now, as naive UTC to the second: where a demo history ends."""
    from parcours.core.clock import utcnow

    return utcnow().replace(tzinfo=None, microsecond=0)
