"""Printable QR codes for products and variants, and where their short links land.

A code encodes a short URL, ``{base_url}/q/{product_or_variant_id}?m=<medium>&c=<campaign>``:
short, so the code stays coarse enough to scan from a poster across a shop window; the printed
medium and campaign ride along so the visit is attributed to them. ``GET /q/{id}`` redirects to
the product page with the same attribution as UTM parameters (``utm_medium=print``).
"""

from __future__ import annotations

import io
import re
from enum import StrEnum
from urllib.parse import quote, urlencode

import segno

CAMPAIGN_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_CAMPAIGN = re.compile(CAMPAIGN_PATTERN)
PRODUCT_PAGE = "/produits/{slug}"


class PrintMedium(StrEnum):
    """Where a code is printed: what a marketer compares when reading the journeys."""

    POSTER = "poster"
    MAGAZINE = "magazine"
    SHELF_LABEL = "shelf_label"
    PACKAGING = "packaging"
    FLYER = "flyer"
    WINDOW = "window"


class QrFormat(StrEnum):
    SVG = "svg"
    PNG = "png"


MEDIA_TYPES = {QrFormat.SVG: "image/svg+xml", QrFormat.PNG: "image/png"}


def is_campaign(value: str) -> bool:
    return _CAMPAIGN.match(value) is not None


def parse_medium(value: str | None) -> PrintMedium | None:
    try:
        return PrintMedium(value) if value is not None else None
    except ValueError:
        return None


def short_url(
    *, base_url: str, target_id: str, medium: PrintMedium, campaign: str | None = None
) -> str:
    """``https://shop.example/q/prd_…?m=poster&c=soldes-ete``."""
    query = {"m": medium.value}
    if campaign:
        query["c"] = campaign
    return f"{base_url.rstrip('/')}/q/{quote(target_id, safe='')}?{urlencode(query)}"


def landing_path(
    *,
    slug: str,
    variant_id: str | None = None,
    medium: PrintMedium | None = None,
    campaign: str | None = None,
) -> str:
    """The product page a scan lands on, carrying the attribution as UTM parameters."""
    query: dict[str, str] = {}
    if variant_id is not None:
        query["variant"] = variant_id
    if medium is not None:
        query["utm_source"] = medium.value
        query["utm_medium"] = "print"
        if campaign:
            query["utm_campaign"] = campaign
    path = PRODUCT_PAGE.format(slug=quote(slug, safe=""))
    return f"{path}?{urlencode(query)}" if query else path


def render(url: str, image_format: QrFormat, *, title: str | None = None) -> bytes:
    """The code as an SVG (scales for print) or a PNG (10 px modules, quiet zone of 4)."""
    code = segno.make_qr(url, error="m")
    buffer = io.BytesIO()
    if image_format is QrFormat.SVG:
        code.save(buffer, kind="svg", scale=10, border=4, title=title, xmldecl=False)
    else:
        code.save(buffer, kind="png", scale=10, border=4)
    return buffer.getvalue()
