"""SQL statements per cart call, locked like Saleor's benchmark tests: a change that adds a query,
or one query per line (N+1), fails here before it slows every phone down.

Counts leave out transaction control (see ``QueryCounter``) and are the same on SQLite and
PostgreSQL. The API key is cached after the first call, so it costs nothing here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi.testclient import TestClient
from tests.carts.conftest import Headers, add, added, my_cart

if TYPE_CHECKING:
    from tests.conftest import QueryCounter, Shop

#: Adding a line, as measured (12):
#:   1  the shopper session, by its token's hash
#:   2  the cart, to check it is hers
#:   3  its lines (loaded with it)
#:   4  the variant and its product: is it for sale, at what price
#:   5  UPDATE carts SET version = version + 1 … RETURNING: claims the next version, holds the row
#:   6  its lines again, now that the row is held (another device may have changed them)
#:   7  INSERT the line (or UPDATE its quantity)
#:   8  INSERT "Product Added" on the shopper's journey (tracking events)
#:   9  the tracking store's duplicate check on that event's message id
#:  10  variants and products of the lines, for the answer's prices
#:  11  stock of the lines everywhere, for the answer's warnings
#:  12  INSERT CartUpdated into the outbox
ADD_LINE = 12
#: Reading the cart against a store (6): session, cart, lines, variants, stock in the store,
#: stock everywhere.
READ_CART = 6
#: Room for a small, deliberate change; past it, update the numbers above and say why.
MARGIN = 1


def test_adding_a_line_costs_a_bounded_number_of_statements_whatever_the_cart_holds(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop, queries: QueryCounter
) -> None:
    phone = shopper("app")
    cart_id = my_cart(client, phone)["id"]
    added(client, phone, cart_id, shop.variants["S"])
    counts = []
    for size in ("M", "L", "S"):  # into a cart of 1, then 2 lines; then onto an existing line
        queries.statements.clear()
        assert add(client, phone, cart_id, shop.variants[size]).status_code == 201
        counts.append(queries.count)
    assert counts[0] <= ADD_LINE + MARGIN, "\n".join(queries.statements)
    assert counts == [counts[0]] * 3, "one statement more per line: an N+1"


def test_reading_a_cart_costs_a_bounded_number_of_statements_whatever_it_holds(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop, queries: QueryCounter
) -> None:
    phone = shopper("app")
    cart_id = my_cart(client, phone)["id"]
    counts = []
    for size in ("S", "M", "L"):
        added(client, phone, cart_id, shop.variants[size])
        queries.statements.clear()
        my_cart(client, phone, store_id=shop.store_a)
        counts.append(queries.count)
    assert counts[0] <= READ_CART + MARGIN, "\n".join(queries.statements)
    assert counts == [counts[0]] * 3, "one statement more per line: an N+1"
