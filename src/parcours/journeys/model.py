"""The journey model: which events mark which stage of the journey and which moment of truth.

Stages follow the buying process of seed 003 — need recognition, information search,
comparison, decision, evaluation, loyalty (seed 002's awareness / consideration / decision
fold into them). Moments of truth follow seed 001: the ZMOT (research online before buying),
the FMOT (at the shelf, in the store), the UMOT (sharing the experience). A merchant changes the
mapping with a JSON file (``PARCOURS_JOURNEYS_STAGE_MAP``, see docs/journeys.md); what is not
mapped belongs to no stage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

STAGES = ("need", "search", "comparison", "decision", "evaluation", "loyalty")
MOMENTS = ("zmot", "fmot", "umot")

DEFAULT_STAGES: dict[str, str] = {
    "Campaign Received": "need",
    "Promotion Viewed": "need",
    "Promotion Clicked": "need",
    "Products Searched": "search",
    "Product List Viewed": "search",
    "Product List Filtered": "search",
    "Store Stock Checked": "search",
    "Product Viewed": "comparison",
    "Product Clicked": "comparison",
    "Product Added to Wishlist": "comparison",
    "Advice Requested": "comparison",
    "Customer Recognised": "comparison",
    "Product Added": "decision",
    "Checkout Started": "decision",
    "Checkout Step Completed": "decision",
    "Order Completed": "decision",
    "Order Collected": "evaluation",
    "Product Reviewed": "evaluation",
    "Order Refunded": "evaluation",
    "Product Shared": "loyalty",
    "Coupon Redeemed": "loyalty",
}

#: A moment: the events that make it, and where they happen (``place`` of the channel).
DEFAULT_MOMENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "zmot": (
        (
            "Products Searched",
            "Product List Viewed",
            "Product Viewed",
            "Store Stock Checked",
            "Product Added to Wishlist",
        ),
        ("online",),
    ),
    "fmot": (
        ("Product Viewed", "Customer Recognised", "Advice Requested", "Order Completed"),
        ("store",),
    ),
    "umot": (("Product Reviewed", "Product Shared"), ("online", "store", "messaging", "other")),
}


@dataclass(frozen=True, slots=True)
class JourneyModel:
    stages: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_STAGES))
    moments: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=lambda: dict(DEFAULT_MOMENTS)
    )
    #: A purchase by someone who bought before moves her to ``loyalty``.
    repeat_purchase_is_loyalty: bool = True


class InvalidJourneyModel(ValueError):
    """The stage map file names an unknown stage or moment, or is not the expected JSON."""


def load_model(path: Path | None) -> JourneyModel:
    """The default model, or the one of a JSON file: ``{"stages": {"Event": "stage"},
    "moments": {"zmot": {"events": [...], "places": [...]}}}`` (each key optional; a stage
    mapped to ``null`` removes the event)."""
    if path is None:
        return JourneyModel()
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidJourneyModel(f"cannot read the journey model {path.name}: {exc}") from exc
    if not isinstance(loaded, dict):
        raise InvalidJourneyModel("the journey model must be a JSON object")
    stages = dict(DEFAULT_STAGES)
    for event, stage in (loaded.get("stages") or {}).items():
        if stage is None:
            stages.pop(event, None)
        elif stage not in STAGES:
            raise InvalidJourneyModel(f"unknown stage {stage!r}; one of {', '.join(STAGES)}")
        else:
            stages[str(event)] = stage
    moments = dict(DEFAULT_MOMENTS)
    for moment, spec in (loaded.get("moments") or {}).items():
        if moment not in MOMENTS or not isinstance(spec, dict):
            raise InvalidJourneyModel(f"unknown moment {moment!r}; one of {', '.join(MOMENTS)}")
        moments[moment] = (
            tuple(str(e) for e in spec.get("events", moments[moment][0])),
            tuple(str(p) for p in spec.get("places", moments[moment][1])),
        )
    return JourneyModel(stages=stages, moments=moments)
