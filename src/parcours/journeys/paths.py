"""The most frequent cross-channel paths ("social ad → web product view → store purchase"), and
the same journeys as the links of a Sankey chart.

A *touch* is ``place:kind``: the event's place (online, store, messaging, print, other — see
:data:`parcours.journeys.schema.PLACES`) and what the person did, one of :data:`KINDS`. Events
map to kinds as follows, the first matching line winning (other events are not touches):

==========  ================================================================================
purchase    "Order Completed"
pickup      "Order Collected", "Pickup Checked In"
ad          "Campaign Received", "Promotion Clicked", and any event on the social, email or
            sms channels (the person was reached by a campaign or a post)
search      "Products Searched"
view        "Product Viewed", "Store Stock Checked"
cart        "Product Added", "Cart Viewed"
checkout    "Checkout Started", "Checkout Step Completed"
review      "Product Reviewed", "Product Shared"
==========  ================================================================================

A person's *path* is their touches in the period in time order, cut after their first purchase
(what happens after buying is another journey), with consecutive repeats collapsed (five
product views in a row are one ``online:view``), then truncated to ``depth`` touches. A person
*converted* when they made a purchase in the period, even one that falls beyond ``depth``.
"""

from __future__ import annotations

from typing import Final

import duckdb

from parcours.journeys.engine import JourneyEngine
from parcours.journeys.overview import period_bounds
from parcours.journeys.schemas import PathRow, PathsResult, SankeyLink, Scope

KINDS: Final = ("ad", "search", "view", "cart", "checkout", "purchase", "pickup", "review")

#: The event → kind mapping of the module docstring, as SQL over the events view.
KIND_SQL: Final = """CASE
    WHEN event = 'Order Completed' THEN 'purchase'
    WHEN event IN ('Order Collected', 'Pickup Checked In') THEN 'pickup'
    WHEN event IN ('Campaign Received', 'Promotion Clicked')
      OR channel IN ('social', 'email', 'sms') THEN 'ad'
    WHEN event = 'Products Searched' THEN 'search'
    WHEN event IN ('Product Viewed', 'Store Stock Checked') THEN 'view'
    WHEN event IN ('Product Added', 'Cart Viewed') THEN 'cart'
    WHEN event IN ('Checkout Started', 'Checkout Step Completed') THEN 'checkout'
    WHEN event IN ('Product Reviewed', 'Product Shared') THEN 'review'
END"""

_SEPARATOR = " > "

#: One row per person and position (1-based) of their path, before truncation to ``depth``.
_STEPS_SQL = f"""
CREATE TEMP TABLE path_steps AS
WITH touches AS (
    SELECT person_id, ts, event_id, COALESCE(place, 'other') AS place, {KIND_SQL} AS kind
    FROM events
    WHERE ts >= ? AND ts < ?
),
ranked AS (
    SELECT person_id, place || ':' || kind AS touch, kind,
           ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY ts, event_id) AS n
    FROM touches
    WHERE kind IS NOT NULL
),
cut AS (
    SELECT person_id, touch, n,
           MIN(CASE WHEN kind = 'purchase' THEN n END) OVER (PARTITION BY person_id) AS bought_at
    FROM ranked
),
kept AS (
    SELECT person_id, touch, n, bought_at,
           LAG(touch) OVER (PARTITION BY person_id ORDER BY n) AS previous_touch
    FROM cut
    WHERE bought_at IS NULL OR n <= bought_at
)
SELECT person_id, touch,
       CASE WHEN bought_at IS NULL THEN 0 ELSE 1 END AS converted,
       ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY n) AS position
FROM kept
WHERE previous_touch IS NULL OR previous_touch <> touch
"""


def top_paths(
    *, engine: JourneyEngine, scope: Scope, depth: int = 4, limit: int = 20
) -> PathsResult:
    """The ``limit`` most frequent paths of ``depth`` touches at most, and the Sankey links
    between consecutive positions (over every person, not only the top paths, so the chart
    shows all the traffic)."""
    start, end = period_bounds(scope.period)
    with engine.connect(origins=scope.origins) as con:
        con.execute(_STEPS_SQL, [start, end])
        paths = _paths(con, depth, limit)
        links = _links(con, depth)
    return PathsResult(paths=paths, links=links)


def _paths(con: duckdb.DuckDBPyConnection, depth: int, limit: int) -> list[PathRow]:
    rows = con.execute(
        f"""
        SELECT path, COUNT(*) AS persons, SUM(converted) AS converted
        FROM (
            SELECT person_id, STRING_AGG(touch, '{_SEPARATOR}' ORDER BY position) AS path,
                   MAX(converted) AS converted
            FROM path_steps
            WHERE position <= ?
            GROUP BY person_id
        ) person_paths
        GROUP BY path
        ORDER BY persons DESC, path
        LIMIT ?
        """,
        [depth, limit],
    ).fetchall()
    return [
        PathRow(steps=str(path).split(_SEPARATOR), persons=int(persons), converted=int(converted))
        for path, persons, converted in rows
    ]


def _links(con: duckdb.DuckDBPyConnection, depth: int) -> list[SankeyLink]:
    rows = con.execute(
        """
        SELECT a.position, a.touch, b.touch, COUNT(*) AS persons
        FROM path_steps a
        JOIN path_steps b ON b.person_id = a.person_id AND b.position = a.position + 1
        WHERE b.position <= ?
        GROUP BY a.position, a.touch, b.touch
        ORDER BY a.position, persons DESC, a.touch, b.touch
        """,
        [depth],
    ).fetchall()
    return [
        SankeyLink(
            source=node_label(int(position), str(source)),
            target=node_label(int(position) + 1, str(target)),
            persons=int(persons),
        )
        for position, source, target, persons in rows
    ]


def node_label(position: int, touch: str) -> str:
    """A Sankey node: ``"2. store · purchase"`` (the position keeps the chart acyclic)."""
    place, _, kind = touch.partition(":")
    return f"{position}. {place} · {kind}"
