"""The journey tables as the analytics engine reads them: one flat row per event, one row per
product line of an order.

Every analysis, on DuckDB, PostgreSQL or ClickHouse, reads these two tables and nothing else, so
one SQL definition runs everywhere. Times are naive UTC (``timestamp`` without zone: the three
engines agree on it); money is integer minor units, as everywhere in Parcours.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

#: One row per stored event (consented to analytics).
EVENTS: Final = pa.schema(
    [
        ("event_id", pa.string()),  # ev_… for the event store; imported/simulated ids otherwise
        ("ts", pa.timestamp("us")),  # UTC, corrected for clock skew
        ("profile_id", pa.string()),  # the customer profile when known at compaction
        ("anonymous_id", pa.string()),  # the device, stitched to a profile at query time
        ("event", pa.string()),  # Segment e-commerce name: "Product Viewed", "Order Completed"…
        ("channel", pa.string()),  # tracking channel: web, app, store, till, kiosk, email…
        ("place", pa.string()),  # online | store | messaging | print | other (see PLACES)
        ("store_id", pa.string()),
        ("session_id", pa.string()),
        ("campaign", pa.string()),  # utm_campaign (or an imported campaign id)
        ("source", pa.string()),  # utm_source
        ("device", pa.string()),  # mobile, tablet, desktop…
        ("product_id", pa.string()),  # the product of a single-product event
        ("category", pa.string()),
        ("order_id", pa.string()),
        ("revenue", pa.int64()),  # minor units: an order's merchandise total
        ("quantity", pa.int32()),
        ("available", pa.bool_()),  # a viewed / added product was in stock (where known)
        ("results", pa.int32()),  # a search's result count
        ("query", pa.string()),  # a search's text
        ("step", pa.int32()),  # a checkout step number
        ("waited_seconds", pa.int32()),  # a pickup's wait at the desk
        ("origin", pa.string()),  # live | simulated | completejourney: where the row came from
    ]
)

#: One row per product line of an order event (Order Completed, Order Collected, Order Refunded).
ITEMS: Final = pa.schema(
    [
        ("event_id", pa.string()),
        ("ts", pa.timestamp("us")),
        ("profile_id", pa.string()),
        ("anonymous_id", pa.string()),
        ("event", pa.string()),
        ("channel", pa.string()),
        ("place", pa.string()),
        ("store_id", pa.string()),
        ("order_id", pa.string()),
        ("product_id", pa.string()),
        ("category", pa.string()),
        ("quantity", pa.int32()),
        ("amount", pa.int64()),  # minor units: the line's total after discounts
        ("origin", pa.string()),
    ]
)

#: Where a channel's events happen. Web-to-store questions compare ``online`` and ``store``.
PLACES: Final[dict[str, str]] = {
    "web": "online",
    "app": "online",
    "marketplace": "online",
    "social": "online",
    "store": "store",
    "till": "store",
    "kiosk": "store",
    "sms": "messaging",
    "email": "messaging",
    "print": "print",
    "mail": "print",
    "server": "other",
}


def place_of(channel: str | None) -> str:
    """The place of a channel (``other`` for one we do not know)."""
    return PLACES.get(channel or "", "other")


#: Origins of lake rows. ``live``: compacted from this shop's event store.
LIVE, SIMULATED, COMPLETEJOURNEY = "live", "simulated", "completejourney"
