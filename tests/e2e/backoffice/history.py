"""A small shop history in the journey lake, for the back-office tests (HTTP and browser).

Seven people over six weeks of March–April 2026: an omnichannel customer, a shopper who looks
online and buys in store, two who drop before paying, a store-only regular, a click-and-collect
shopper who buys more at pickup, an anonymous visitor; and one simulated shopper, so that the
origin filter has something to leave out.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.journeys.conftest import event, item, write_lake

from parcours.journeys.lake import Lake

D = timedelta(days=1)
H = timedelta(hours=1)
STORE = "loc_store_a"


def _order(
    person: str, at: timedelta, channel: str, amount: int, product: str, **extra: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    row = event(
        person,
        "Order Completed",
        at,
        channel,
        revenue=amount,
        order_id=f"o-{person}-{at.days}-{channel}",
        **extra,
    )
    return row, item(row, product, amount, category="pulls")


def shop_history(root: Path, *, identified: str = "p3") -> Lake:
    """Writes the history into a lake at ``root``; ``identified`` is the profile id of the
    shopper who adds to her cart and leaves (the dropped list shows her)."""
    events: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []

    def order(*args: Any, **kwargs: Any) -> None:
        row, line = _order(*args, **kwargs)
        events.append(row)
        items.append(line)

    # p1: researches, buys online, later in store: omnichannel.
    events += [
        event("p1", "Product Viewed", 0 * D, "web", product_id="pull-bleu", category="pulls"),
        event("p1", "Product Added", 0 * D + H, "web", product_id="pull-bleu", category="pulls"),
        event("p1", "Checkout Started", 0 * D + 2 * H, "web"),
    ]
    order("p1", 0 * D + 3 * H, "web", 5900, "pull-bleu")
    order("p1", 10 * D, "store", 3900, "bonnet", store_id=STORE)
    # p2: checks the store's stock online, buys that product in the store two days later.
    events += [
        event("p2", "Product Viewed", 1 * D, "web", product_id="pull-rouge", category="pulls"),
        event(
            "p2", "Store Stock Checked", 1 * D + H, "web", product_id="pull-rouge", store_id=STORE
        ),
        event("p2", "Product Added", 1 * D + 2 * H, "web", product_id="pull-rouge"),
    ]
    order("p2", 3 * D, "store", 6900, "pull-rouge", store_id=STORE)
    # identified (p3): adds to the cart, starts paying, leaves.
    events += [
        event(identified, "Product Viewed", 2 * D, "app", product_id="pull-bleu", category="pulls"),
        event(identified, "Product Added", 2 * D + H, "app", product_id="pull-bleu"),
        event(identified, "Checkout Started", 2 * D + 2 * H, "app"),
        event(identified, "Checkout Step Completed", 2 * D + 3 * H, "app", step=1),
    ]
    # p4: searches for what the shop does not have, views an item out of stock.
    events += [
        event("p4", "Products Searched", 4 * D, "web", query="robe rouge", results=0),
        event(
            "p4",
            "Product Viewed",
            4 * D + H,
            "web",
            product_id="pull-vert",
            category="pulls",
            available=False,
        ),
        event("p4", "Product Added", 4 * D + 2 * H, "web", product_id="pull-vert", available=False),
    ]
    # p5: store only, comes back a month later.
    order("p5", 5 * D, "store", 2500, "chaussettes", store_id=STORE)
    order("p5", 36 * D, "store", 2500, "chaussettes", store_id=STORE)
    # p6: click-and-collect, buys a scarf at pickup.
    events.append(
        event("p6", "Product Viewed", 6 * D, "web", product_id="pull-gris", category="pulls")
    )
    events.append(event("p6", "Product Added", 6 * D + H, "web", product_id="pull-gris"))
    events.append(event("p6", "Checkout Started", 6 * D + 2 * H, "web"))
    order("p6", 6 * D + 3 * H, "web", 7900, "pull-gris")
    events.append(
        event("p6", "Order Collected", 7 * D, "store", store_id=STORE, waited_seconds=240)
    )
    order("p6", 7 * D + 0.5 * H, "store", 1900, "echarpe", store_id=STORE)
    # An anonymous visitor: views and adds.
    events += [
        event("anon:visitor-1", "Product Viewed", 8 * D, "web", product_id="pull-bleu"),
        event("anon:visitor-1", "Product Added", 8 * D + H, "web", product_id="pull-bleu"),
    ]
    # A simulated shopper, so the origin filter leaves something out.
    events.append(
        event("sim-1", "Product Viewed", 9 * D, "web", product_id="pull-bleu", origin="simulated")
    )
    sim_row, sim_line = _order("sim-1", 9 * D + H, "web", 9900, "pull-bleu", origin="simulated")
    events.append(sim_row)
    items.append(sim_line)
    return write_lake(root, events, items)
