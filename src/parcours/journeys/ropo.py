"""Web-to-store: research online, purchase offline (ROPO), store availability checks that end
in the store, and what click-and-collect shoppers add at the pickup desk.

Definitions (docs/journeys.md quotes them):

* A **store purchase** is an ``Order Completed`` whose channel is a store's (store, till,
  kiosk). It **follows online research** when the same person viewed online (web, app, social,
  marketplace) one of the products it holds — or a product of the same category — in the
  ``days`` before it.
* An **availability check** (``Store Stock Checked``, online) is **followed by a store
  purchase** when the person buys in a store within ``days`` after it.
* A **pickup with an add-on**: an ``Order Collected`` followed, within two hours, by a store
  purchase of the same person in the same store; its value is that purchase's revenue.
"""

from __future__ import annotations

from parcours.journeys.engine import JourneyEngine
from parcours.journeys.overview import period_bounds
from parcours.journeys.schemas import Scope, WebToStoreResult

ADDON_WINDOW_HOURS = 2


def web_to_store(*, engine: JourneyEngine, scope: Scope, days: int = 7) -> WebToStoreResult:
    if not 1 <= days <= 90:
        raise ValueError("the research window is 1 to 90 days")
    start, end = period_bounds(scope.period)
    research = f"""
        WITH purchases AS (
            SELECT event_id, person_id, ts, COALESCE(revenue, 0) AS revenue FROM events
            WHERE event = 'Order Completed' AND place = 'store' AND ts >= ? AND ts < ?
        ),
        views AS (
            SELECT person_id, ts, product_id, category FROM events
            WHERE event = 'Product Viewed' AND place = 'online'
              AND ts >= ? - INTERVAL '{days} days' AND ts < ?
        ),
        matched AS (
            SELECT i.event_id AS event_id,
                   MAX(CASE WHEN v.product_id = i.product_id THEN 1 ELSE 0 END) AS by_product,
                   MAX(CASE WHEN v.product_id = i.product_id OR v.category = i.category
                       THEN 1 ELSE 0 END) AS by_category
            FROM purchases p
            JOIN items i ON i.event_id = p.event_id
            JOIN views v ON v.person_id = p.person_id AND v.ts < p.ts
              AND v.ts >= p.ts - INTERVAL '{days} days'
            GROUP BY i.event_id
        )
        SELECT COUNT(*), COALESCE(SUM(p.revenue), 0),
               COALESCE(SUM(m.by_product), 0), COALESCE(SUM(m.by_category), 0),
               COALESCE(SUM(CASE WHEN m.by_category = 1 THEN p.revenue ELSE 0 END), 0)
        FROM purchases p LEFT JOIN matched m ON m.event_id = p.event_id
    """
    checks = f"""
        WITH checks AS (
            SELECT event_id, person_id, ts FROM events
            WHERE event = 'Store Stock Checked' AND ts >= ? AND ts < ?
        )
        SELECT COUNT(*), COUNT(DISTINCT CASE WHEN EXISTS (
            SELECT 1 FROM events o WHERE o.person_id = c.person_id
              AND o.event = 'Order Completed' AND o.place = 'store'
              AND o.ts > c.ts AND o.ts <= c.ts + INTERVAL '{days} days') THEN c.event_id END)
        FROM checks c
    """
    addons = f"""
        WITH pickups AS (
            SELECT event_id, person_id, ts, store_id FROM events
            WHERE event = 'Order Collected' AND ts >= ? AND ts < ?
        ),
        addon AS (
            SELECT p.event_id AS event_id, SUM(COALESCE(o.revenue, 0)) AS revenue
            FROM pickups p JOIN events o ON o.person_id = p.person_id
              AND o.event = 'Order Completed' AND o.place = 'store'
              AND o.store_id = p.store_id AND o.ts >= p.ts
              AND o.ts <= p.ts + INTERVAL '{ADDON_WINDOW_HOURS} hours'
            GROUP BY p.event_id
        )
        SELECT COUNT(*), COUNT(a.event_id), COALESCE(SUM(a.revenue), 0)
        FROM pickups p LEFT JOIN addon a ON a.event_id = p.event_id
    """
    with engine.connect(origins=scope.origins) as con:
        bought, revenue, by_product, by_category, revenue_after = con.execute(
            research, [start, end, start, end]
        ).fetchall()[0]
        checked, then_bought = con.execute(checks, [start, end]).fetchall()[0]
        pickups, with_addon, addon_revenue = con.execute(addons, [start, end]).fetchall()[0]
    return WebToStoreResult(
        days=days,
        store_purchases=int(bought),
        store_revenue=int(revenue),
        after_product_research=int(by_product),
        after_category_research=int(by_category),
        revenue_after_research=int(revenue_after),
        share_after_research=int(by_category) / int(bought) if bought else 0.0,
        availability_checks=int(checked),
        checks_then_store_purchase=int(then_bought),
        pickups=int(pickups),
        pickups_with_addon=int(with_addon),
        addon_revenue=int(addon_revenue),
    )
