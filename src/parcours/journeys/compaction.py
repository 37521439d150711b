"""From the event store to the journey tables: flattening, compaction into the lake, the live
tail, and erasure.

The periodic task (:func:`compact_events`) copies events into Parquet in commit order, up to
what can no longer change (:func:`parcours.tracking.service.stream_watermark`), and moves the
lake's position; queries read everything after that position from the event store itself
(:func:`read_tail`). No clock nor margin is involved, so a batch that commits long after its ids
were named is still compacted (docs/journeys.md says why nothing committed can be passed over).
Events sent without analytics consent never enter the journey tables.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from parcours.catalog import service as catalog_service
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers_service
from parcours.journeys.engine import LINKS, Tail
from parcours.journeys.lake import Lake
from parcours.journeys.schema import EVENTS, ITEMS, LIVE, place_of
from parcours.tracking import service as tracking_service

log = logging.getLogger("parcours.journeys")

BATCH = 10_000
#: Events with product lines: each line becomes an ``items`` row.
ORDER_EVENTS = frozenset({"Order Completed", "Order Collected", "Order Refunded"})


def _minor(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(round(value * 100))


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _text(value: Any) -> str | None:
    return value[:200] if isinstance(value, str) and value else None


def _utc_naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def consented(stored: tracking_service.StoredEvent) -> bool:
    """Analytics consent was not refused when the event was sent."""
    consent = stored.context.get("consent")
    return not (isinstance(consent, dict) and consent.get("analytics") is False)


def flatten(
    stored: tracking_service.StoredEvent, categories: dict[str, str], links: dict[str, str]
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The journey rows of one stored event: its ``events`` row and its ``items`` rows. Events
    that are not part of a journey (identify calls, no consent, nobody) give nothing."""
    if stored.type not in ("track", "page", "screen") or not stored.event or not consented(stored):
        return None, []
    profile_id = stored.profile_id or (links.get(stored.anonymous_id or "") or None)
    if profile_id is None and not stored.anonymous_id:
        return None, []
    p = stored.properties
    product_id = _text(p.get("product_id"))
    available = p.get("available", p.get("in_stock"))
    base = {
        "event_id": stored.id,
        "ts": _utc_naive(stored.timestamp),
        "profile_id": profile_id,
        "anonymous_id": stored.anonymous_id,
        "event": stored.event,
        "channel": stored.channel,
        "place": place_of(stored.channel),
        "store_id": stored.store_id,
        "order_id": _text(p.get("order_id")),
        "origin": LIVE,
    }
    row = dict.fromkeys(EVENTS.names) | base
    row.update(
        session_id=stored.session_id,
        campaign=stored.utm_campaign or _text(p.get("campaign")),
        source=stored.utm_source,
        device=stored.device_type,
        product_id=product_id,
        category=_text(p.get("category")) or categories.get(product_id or ""),
        revenue=_minor(p.get("revenue", p.get("total"))) if stored.event in ORDER_EVENTS else None,
        quantity=_int(p.get("quantity")),
        available=available if isinstance(available, bool) else None,
        results=_int(p.get("results")),
        query=_text(p.get("query")),
        step=_int(p.get("step")),
        waited_seconds=_int(p.get("waited_seconds")),
    )
    items: list[dict[str, Any]] = []
    products = p.get("products")
    if stored.event in ORDER_EVENTS and isinstance(products, list):
        for line in products:
            if not isinstance(line, dict) or not _text(line.get("product_id")):
                continue
            quantity = _int(line.get("quantity")) or 1
            price = _minor(line.get("price")) or 0
            items.append(
                dict.fromkeys(ITEMS.names)
                | base
                | {
                    "product_id": line["product_id"],
                    "category": _text(line.get("category")) or categories.get(line["product_id"]),
                    "quantity": quantity,
                    "amount": price * quantity,
                }
            )
    return row, items


def _tables(
    uow: UnitOfWork, batch: Sequence[tracking_service.StoredEvent], links: dict[str, str]
) -> tuple[pa.Table, pa.Table]:
    wanted: set[str] = set()
    for stored in batch:
        if isinstance(stored.properties.get("product_id"), str):
            wanted.add(stored.properties["product_id"])
        for line in stored.properties.get("products") or []:
            if isinstance(line, dict) and isinstance(line.get("product_id"), str):
                wanted.add(line["product_id"])
    categories = catalog_service.product_category_ids(uow=uow, product_ids=sorted(wanted))
    events: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for stored in batch:
        row, lines = flatten(stored, categories, links)
        if row is not None:
            events.append(row)
            items.extend(lines)
    return (
        pa.Table.from_pylist(events, schema=EVENTS),
        pa.Table.from_pylist(items, schema=ITEMS),
    )


def identity_links(uow: UnitOfWork) -> dict[str, str]:
    return dict(customers_service.anonymous_id_links(uow=uow))


def lake_position(lake: Lake) -> tracking_service.StreamPosition | None:
    """Where the lake is in the event stream, by commit order. A lake written before commit
    order was kept has only the id: its events all have ``xact`` 0 (migration 0007)."""
    state = lake.state()
    event_id = state.get("position")
    if not event_id:
        return None
    return int(state.get("position_xact", "0")), event_id


def _read_committed(
    uow: UnitOfWork, after: tracking_service.StreamPosition | None, below: int | None
) -> tuple[list[tracking_service.StoredEvent], tracking_service.StreamPosition | None]:
    rows = tracking_service.read_committed_events(uow=uow, after=after, below=below, limit=BATCH)
    return [stored for _, stored in rows], (rows[-1][0] if rows else after)


def compact_events(
    *, db: Database, lake: Lake, now: datetime | None = None, retention_days: int | None = None
) -> int:
    """Copy the committed events after the lake's position into Parquet, apply erasures, and
    merge small files; live rows older than ``retention_days`` (before ``now``) go, as they go
    from the event store. Returns the events read. Safe to run again after a crash: the
    position moves only after the files are written (a crash between the two writes a batch
    twice, which the next run's erasure-by-id and the analyses' per-person logic tolerate —
    see docs)."""
    now = now or utcnow()
    read = 0
    with UnitOfWork(db, read_only=True) as uow:
        # first: every event below the watermark is visible to the reads that follow
        watermark = tracking_service.stream_watermark(uow=uow)
        links = identity_links(uow)
        position = lake_position(lake)
        while True:
            batch, position = _read_committed(uow, position, watermark)
            if not batch or position is None:
                break
            events, items = _tables(uow, batch, links)
            lake.append("events", events, origin=LIVE)
            lake.append("items", items, origin=LIVE)
            lake.save_state(position=position[1], position_xact=str(position[0]))
            read += len(batch)
        erase_from_lake(uow=uow, lake=lake)
    if retention_days:
        lake.remove_before(now.replace(tzinfo=None) - timedelta(days=retention_days), origin=LIVE)
    lake.merge_small_files(origin=LIVE)
    return read


def erase_from_lake(*, uow: UnitOfWork, lake: Lake) -> int:
    """Remove from the lake the events erased in the event store, and every row of erased
    profiles (imported or simulated history lives only in the lake)."""
    state = lake.state()
    removed = 0
    after = int(state.get("erased_seq", "0"))
    while erased := tracking_service.erased_events(uow=uow, after_seq=after):
        removed += lake.remove_rows(event_ids=[event_id for _, event_id in erased])
        after = erased[-1][0]
        lake.save_state(erased_seq=str(after))
    since = state.get("erasures_since")
    profiles = customers_service.erased_profile_ids(
        uow=uow, since=datetime.fromisoformat(since) if since else None
    )
    if profiles:
        removed += lake.remove_rows(profile_ids=[profile_id for profile_id, _ in profiles])
        lake.save_state(erasures_since=max(at for _, at in profiles).isoformat())
    return removed


def read_tail(*, uow: UnitOfWork, lake: Lake, limit: int = 200_000) -> Tail:
    """Every committed event after the lake's position (the last minute or so, and any batch
    whose commit came late), flattened, and the identity links known now."""
    links = identity_links(uow)
    start = lake_position(lake)
    position = start
    batch: list[tracking_service.StoredEvent] = []
    while len(batch) < limit:
        more, position = _read_committed(uow, position, None)
        batch.extend(more)
        if len(more) < BATCH:
            break
    events, items = _tables(uow, batch, links)
    link_rows = pa.Table.from_pylist(
        [{"anonymous_id": a, "profile_id": p} for a, p in links.items()], schema=LINKS
    )
    return Tail(events, items, link_rows, start[1] if start else None)
