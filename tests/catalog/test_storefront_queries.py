"""The storefront's reading of the catalog: category lists with facets, newest products,
suggestions as she types, spelling hints; and what sells at a store (orders context)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.conftest import Shop

from parcours.carts import service as carts
from parcours.carts.models import TouchpointKind
from parcours.catalog import service as catalog
from parcours.catalog.search import spelling_hint
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.errors import InvalidInput
from parcours.core.ids import new_id
from parcours.core.uow import UnitOfWork
from parcours.orders import popularity
from parcours.orders import service as orders
from parcours.orders.models import FulfilmentMethod


def dress_the_shop(db: Database, shop: Shop) -> dict[str, str]:
    """Women's department: the shop's "Pantalon noir" (S/M/L, black, 59,90) plus a beige pair
    of trousers (38/40, 69,90 and 74,90) and a blue dress (S/M, 49,90). Returns slugs by name."""
    with UnitOfWork(db) as uow:
        catalog.upsert_category(uow=uow, slug="femme", name="Femme")
        catalog.upsert_category(
            uow=uow, slug="femme-pantalons", name="Pantalons", parent_slug="femme"
        )
        catalog.upsert_category(uow=uow, slug="femme-robes", name="Robes", parent_slug="femme")
        black = catalog.get_product(uow=uow, product_id=shop.product_id)
        catalog.update_product(
            uow=uow,
            product_id=black.id,
            category_slug="femme-pantalons",
            image_urls=["/static/storefront/icons/icon-192.png"],
            description="Un pantalon noir droit.",
            brand="Parcours",
            variants=[
                {"sku": f"PN-{size}", "attributes": {"taille": size, "couleur": "Noir"}}
                for size in ("S", "M", "L")
            ],
        )
        beige = catalog.create_product(
            uow=uow,
            name="Pantalon large beige",
            price_amount=6990,
            category_slug="femme-pantalons",
            channels=["web"],
            status="published",
            variants=[
                {"sku": "PLB-38", "attributes": {"taille": "38", "couleur": "Beige"}},
                {
                    "sku": "PLB-40",
                    "attributes": {"taille": "40", "couleur": "Beige"},
                    "price_amount": 7490,
                },
            ],
        )
        dress = catalog.create_product(
            uow=uow,
            name="Robe en lin bleue",
            price_amount=4990,
            category_slug="femme-robes",
            channels=["web"],
            status="published",
            variants=[
                {"sku": f"RLB-{size}", "attributes": {"taille": size, "couleur": "Bleu"}}
                for size in ("S", "M")
            ],
        )
        catalog.create_product(
            uow=uow,
            name="Robe brouillon",
            price_amount=1000,
            category_slug="femme-robes",
            channels=["web"],
            variants=[{"sku": "RBR-M", "attributes": {"taille": "M"}}],
        )
        uow.commit()
        return {"black": black.slug, "beige": beige.slug, "dress": dress.slug}


@pytest.fixture
def dressed(db: Database, shop: Shop) -> dict[str, str]:
    return dress_the_shop(db, shop)


def _names(page: catalog.BrowsePage) -> list[str]:
    return [p.name for p in page.items]


def test_a_department_lists_its_subcategories_published_products(
    uow: UnitOfWork, dressed: dict[str, str]
) -> None:
    page = catalog.browse_products(uow=uow, category_slug="femme", sort="name")
    assert _names(page) == ["Pantalon large beige", "Pantalon noir", "Robe en lin bleue"]
    assert page.total == 3
    assert page.pages == 1
    assert [(f.value, f.count) for f in page.sizes] == [
        ("S", 2),
        ("M", 2),
        ("L", 1),
        ("38", 1),
        ("40", 1),
    ]
    assert [(f.value, f.count) for f in page.colours] == [("Beige", 1), ("Bleu", 1), ("Noir", 1)]
    assert (page.price_floor, page.price_ceiling) == (4990, 7490)


def test_filters_narrow_and_facets_count_the_other_filters(
    uow: UnitOfWork, dressed: dict[str, str]
) -> None:
    filters = catalog.BrowseFilters(sizes=frozenset({"S"}), colours=frozenset({"Noir"}))
    page = catalog.browse_products(uow=uow, category_slug="femme", filters=filters)
    assert _names(page) == ["Pantalon noir"]
    # Sizes are counted with the colour filter only; colours with the size filter only.
    assert {f.value: f.count for f in page.sizes} == {"S": 1, "M": 1, "L": 1}
    assert {f.value: (f.count, f.selected) for f in page.colours} == {
        "Bleu": (1, False),
        "Noir": (1, True),
    }


def test_price_range_and_sorting_use_the_matching_variants_price(
    uow: UnitOfWork, dressed: dict[str, str]
) -> None:
    up = catalog.browse_products(uow=uow, category_slug="femme", sort="price_asc")
    assert _names(up) == ["Robe en lin bleue", "Pantalon noir", "Pantalon large beige"]
    down = catalog.browse_products(uow=uow, category_slug="femme", sort="price_desc")
    assert _names(down) == list(reversed(_names(up)))
    dear = catalog.browse_products(
        uow=uow, category_slug="femme", filters=catalog.BrowseFilters(min_price=7000)
    )
    assert _names(dear) == ["Pantalon large beige"]
    assert dear.prices[dear.items[0].id] == 7490  # only the 40 costs that much


def test_in_store_keeps_products_with_a_matching_variant_held_there(
    uow: UnitOfWork, shop: Shop, dressed: dict[str, str]
) -> None:
    held = {shop.variants["M"]}  # what store B holds
    page = catalog.browse_products(
        uow=uow,
        category_slug="femme",
        filters=catalog.BrowseFilters(sizes=frozenset({"S"})),
        stocked=lambda ids: held & set(ids),
    )
    assert page.items == []  # the black trousers are there, but not in S
    page = catalog.browse_products(uow=uow, category_slug="femme", stocked=lambda ids: held)
    assert _names(page) == ["Pantalon noir"]
    assert [(f.value, f.count) for f in page.sizes] == [("M", 1)]


def test_pages_and_unknowns(uow: UnitOfWork, dressed: dict[str, str]) -> None:
    second = catalog.browse_products(uow=uow, category_slug="femme", per_page=2, page=2)
    assert (second.page, second.pages, len(second.items)) == (2, 2, 1)
    beyond = catalog.browse_products(uow=uow, category_slug="femme", per_page=2, page=9)
    assert beyond.page == 2
    with pytest.raises(InvalidInput, match="no category") as unknown:
        catalog.browse_products(uow=uow, category_slug="nulle-part")
    assert unknown.value.code == "unknown_category"


def test_newest_counts_and_products_by_ids(uow: UnitOfWork, dressed: dict[str, str]) -> None:
    newest = catalog.newest_products(uow=uow, limit=2)
    assert [p.name for p in newest] == ["Robe en lin bleue", "Pantalon large beige"]
    counts = catalog.category_product_counts(uow=uow)
    by_slug = {n.slug: n.id for n in catalog.list_categories(uow=uow).items}
    assert counts[by_slug["femme"]] == 3  # the draft dress does not count
    ids = [p.id for p in reversed(newest)]
    assert [p.id for p in catalog.products_by_ids(uow=uow, product_ids=[*ids, "prd_nope"])] == ids


def test_suggestions_offer_categories_then_products(
    uow: UnitOfWork, dressed: dict[str, str]
) -> None:
    found = catalog.suggest(uow=uow, query="pant")
    assert found[0].kind == "category"
    assert found[0].label == "Pantalons · Femme"
    assert found[0].url == "/rayons/femme-pantalons"
    products = [s.label for s in found if s.kind == "product"]
    assert set(products) == {"Pantalon noir", "Pantalon large beige"}
    assert catalog.suggest(uow=uow, query="robe brou") == []  # drafts stay hidden
    assert len(catalog.suggest(uow=uow, query="e", limit=50)) <= catalog.MAX_SUGGESTIONS


def test_spelling_hints_come_from_catalogue_words(uow: UnitOfWork, dressed: dict[str, str]) -> None:
    assert catalog.spelling_suggestion(uow=uow, query="pantalom noire") == "pantalon noir"
    assert catalog.spelling_suggestion(uow=uow, query="robe") is None  # nothing to fix
    assert catalog.spelling_suggestion(uow=uow, query="zzzz") is None
    assert spelling_hint("bleuu", ["bleue", "beige"]) == "bleue"


def test_best_sellers_of_a_store_and_of_the_network(db: Database, shop: Shop) -> None:
    with UnitOfWork(db) as uow:
        for _ in range(2):
            cart = carts.open_cart(
                uow=uow, profile_id=None, anonymous_id=new_id("anon"), channel="web", currency="EUR"
            )
            carts.add_line(
                uow=uow,
                cart_id=cart.id,
                variant_id=shop.variants["S"],
                quantity=2,
                touchpoint=carts.Touchpoint(kind=TouchpointKind.WEB),
            )
            orders.place_order(
                uow=uow,
                cart_id=cart.id,
                groups=[
                    orders.FulfilmentRequest(
                        FulfilmentMethod.CLICK_AND_COLLECT, store_id=shop.store_a
                    )
                ],
                placement=orders.Placement(channel="web"),
            )
        uow.commit()
    with UnitOfWork(db) as uow:
        since = utcnow() - timedelta(days=14)
        at_a = popularity.best_selling_products(uow=uow, since=since, store_id=shop.store_a)
        assert [(s.product_id, s.units, s.orders) for s in at_a] == [(shop.product_id, 4, 2)]
        assert popularity.best_selling_products(uow=uow, since=since, store_id=shop.store_b) == []
        assert len(popularity.best_selling_products(uow=uow, since=since)) == 1
        later = utcnow() + timedelta(minutes=1)
        assert popularity.best_selling_products(uow=uow, since=later) == []
