"""Event names (Segment e-commerce spec v2, v1 names mapped), channels, and what counts as
personal data in an event."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

#: Where an event happened. ``print``: a scanned poster or magazine QR (``utm_medium=print``).
CHANNELS = (
    "web",
    "app",
    "store",
    "till",
    "kiosk",
    "sms",
    "email",
    "social",
    "marketplace",
    "print",
    "server",
)

#: Sources whose write key ships inside software the public runs (a web page, a phone app, a
#: kiosk): anyone can read the key and send anything with it. What these sources say about a
#: person is a claim (see docs/customers.md); servers (secret keys, ``server`` write keys) and
#: the tills the shop manages are trusted.
CLIENT_SOURCES = frozenset({"web", "app", "kiosk"})

#: Facts about money only the shop's servers know. Sent from a client source they are the
#: browser's word (an analytics conversion), never an order of the person.
ORDER_FACT_EVENTS = frozenset(
    {"Order Completed", "Order Updated", "Order Refunded", "Order Cancelled"}
)


def is_unverified_order_claim(source: str, event: str | None) -> bool:
    """An order event sent by a client source: shown as a claim, never as her order."""
    return source in CLIENT_SOURCES and event in ORDER_FACT_EVENTS


#: Segment e-commerce spec v2 event names.
V2_EVENTS = (
    "Products Searched",
    "Product List Viewed",
    "Product List Filtered",
    "Promotion Viewed",
    "Promotion Clicked",
    "Product Clicked",
    "Product Viewed",
    "Product Added",
    "Product Removed",
    "Cart Viewed",
    "Checkout Started",
    "Checkout Step Viewed",
    "Checkout Step Completed",
    "Payment Info Entered",
    "Order Updated",
    "Order Completed",
    "Order Refunded",
    "Order Cancelled",
    "Coupon Entered",
    "Coupon Applied",
    "Coupon Denied",
    "Coupon Removed",
    "Product Added to Wishlist",
    "Product Removed from Wishlist",
    "Wishlist Product Added to Cart",
    "Product Shared",
    "Cart Shared",
    "Product Reviewed",
)

#: Spec v1 names (verb first) and their v2 names.
V1_TO_V2 = {
    "Searched Products": "Products Searched",
    "Viewed Product Category": "Product List Viewed",
    "Viewed Product List": "Product List Viewed",
    "Filtered Product List": "Product List Filtered",
    "Viewed Promotion": "Promotion Viewed",
    "Clicked Promotion": "Promotion Clicked",
    "Clicked Product": "Product Clicked",
    "Viewed Product": "Product Viewed",
    "Added Product": "Product Added",
    "Removed Product": "Product Removed",
    "Viewed Cart": "Cart Viewed",
    "Started Order": "Checkout Started",
    "Started Checkout": "Checkout Started",
    "Viewed Checkout Step": "Checkout Step Viewed",
    "Completed Checkout Step": "Checkout Step Completed",
    "Entered Payment Info": "Payment Info Entered",
    "Updated Order": "Order Updated",
    "Completed Order": "Order Completed",
    "Refunded Order": "Order Refunded",
    "Cancelled Order": "Order Cancelled",
    "Entered Coupon": "Coupon Entered",
    "Applied Coupon": "Coupon Applied",
    "Denied Coupon": "Coupon Denied",
    "Removed Coupon": "Coupon Removed",
    "Added Product to Wishlist": "Product Added to Wishlist",
    "Removed Product from Wishlist": "Product Removed from Wishlist",
    "Added Wishlist Product to Cart": "Wishlist Product Added to Cart",
    "Shared Product": "Product Shared",
    "Shared Cart": "Cart Shared",
    "Reviewed Product": "Product Reviewed",
}

_SEPARATORS = re.compile(r"[\s_\-]+")


def _key(name: str) -> str:
    return _SEPARATORS.sub(" ", name.strip()).lower()


_KNOWN = {_key(name): name for name in V2_EVENTS} | {_key(v1): v2 for v1, v2 in V1_TO_V2.items()}


@functools.lru_cache(maxsize=4096)  # a shop sends a few dozen names, thousands of times
def normalise_event_name(name: str) -> str:
    """The spec v2 name of a known e-commerce event, whatever its case and separators
    (``"Viewed Product"``, ``"product_viewed"`` → ``"Product Viewed"``); any other name is a
    custom event, kept as sent (trimmed)."""
    stripped = name.strip()
    return _KNOWN.get(_key(stripped), stripped)


def is_v1_product_event(name: str) -> bool:
    return V1_TO_V2.get(name.strip(), "").startswith("Product")


#: Property and trait keys that hold personal data (compared without case and separators).
PERSONAL_KEYS = frozenset(
    {
        "email",
        "phone",
        "firstname",
        "lastname",
        "username",
        "address",
        "street",
        "postalcode",
        "postcode",
        "zip",
        "birthday",
        "birthdate",
        "ip",
        "useragent",
        "userid",
        "anonymousid",
        "loyaltycard",
        "cardnumber",
        "customerid",
        "deviceid",
        "advertisingid",
        "adid",
        "token",
    }
)

#: Context entries that identify a device or a person.
_PERSONAL_CONTEXT = ("ip", "userAgent", "traits", "device", "location", "externalIds")


def _is_personal(key: str) -> bool:
    return _SEPARATORS.sub("", key).lower() in PERSONAL_KEYS


def _without_query(url: Any) -> Any:
    if not isinstance(url, str):
        return url
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def strip_personal_data(
    properties: Mapping[str, Any], context: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``properties`` and ``context`` without personal data: personal keys dropped, URL queries
    and fragments removed (they carry emails and tokens), device identity dropped; the page path,
    campaign, library and locale stay."""
    clean_properties = {k: v for k, v in properties.items() if not _is_personal(k)}
    for url_key in ("url", "referrer", "search"):
        if url_key in clean_properties:
            clean_properties[url_key] = (
                "" if url_key == "search" else _without_query(clean_properties[url_key])
            )
    clean_context = {k: v for k, v in context.items() if k not in _PERSONAL_CONTEXT}
    page = clean_context.get("page")
    if isinstance(page, Mapping):
        clean_page = {k: v for k, v in page.items() if not _is_personal(k)}
        for url_key in ("url", "referrer"):
            if url_key in clean_page:
                clean_page[url_key] = _without_query(clean_page[url_key])
        if "search" in clean_page:
            clean_page["search"] = ""
        clean_context["page"] = clean_page
    return clean_properties, clean_context
