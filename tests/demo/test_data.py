"""The demo retailer's pure data: counts, identifiers, GTINs, images, stock spread, calendar."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

import parcours.demo
from parcours.demo.data import (
    CHANNELS,
    IMAGE_URL_PREFIX,
    SERVICES,
    DemoLocation,
    DemoProduct,
    demo_categories,
    demo_locations,
    demo_places,
    demo_products,
    demo_stock,
    easter_sunday,
    gtin13_check_digit,
)

STATIC = Path(parcours.demo.__file__).parent / "static"
FASHION_ROOTS = ("femme", "homme")


@pytest.fixture(scope="module")
def products() -> list[DemoProduct]:
    return demo_products()


@pytest.fixture(scope="module")
def locations() -> list[DemoLocation]:
    return demo_locations()


@pytest.fixture(scope="module")
def stock(products: list[DemoProduct], locations: list[DemoLocation]) -> dict[tuple[str, str], int]:
    return demo_stock(products, locations)


def gtin_is_valid(gtin: str) -> bool:
    """Independent check: weights 3 and 1 alternate from the right, check digit excluded."""
    if len(gtin) != 13 or not gtin.isdigit():
        return False
    body, check = gtin[:-1], int(gtin[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def in_metropolitan_france(latitude: float, longitude: float) -> bool:
    return 41.3 <= latitude <= 51.1 and -5.2 <= longitude <= 9.6


# ---- counts and identifiers -----------------------------------------------------------------


def test_counts(products: list[DemoProduct], locations: list[DemoLocation]) -> None:
    stores = [location for location in locations if location.kind == "store"]
    warehouses = [location for location in locations if location.kind == "warehouse"]
    assert len(stores) == 8
    assert len(warehouses) == 1
    assert len({store.city for store in stores}) >= 6
    assert 250 <= len(products) <= 350
    assert 1_000 <= sum(len(product.variants) for product in products) <= 2_000
    assert len(demo_places()) >= 150


def test_identifiers_are_unique(products: list[DemoProduct], locations: list[DemoLocation]) -> None:
    codes = [location.code for location in locations]
    slugs = [product.slug for product in products]
    skus = [variant.sku for product in products for variant in product.variants]
    gtins = [variant.gtin for product in products for variant in product.variants]
    assert len(set(codes)) == len(codes)
    assert len(set(slugs)) == len(slugs)
    assert len(set(skus)) == len(skus)
    assert len(set(gtins)) == len(gtins)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug) for slug in slugs)
    assert all(re.fullmatch(r"[A-Z0-9]+(-[A-Z0-9]+)*", sku) for sku in skus)


def test_gtins_are_valid_and_french(products: list[DemoProduct]) -> None:
    for product in products:
        for variant in product.variants:
            assert gtin_is_valid(variant.gtin), variant
            assert 300 <= int(variant.gtin[:3]) <= 379, variant


@pytest.mark.parametrize(
    ("first12", "expected"),
    [("400638133393", "1"), ("590123412345", "7"), ("376099900001", "2"), ("000000000000", "0")],
)
def test_gtin13_check_digit(first12: str, expected: str) -> None:
    assert gtin13_check_digit(first12) == expected
    assert gtin_is_valid(first12 + expected)


@pytest.mark.parametrize("bad", ["", "12345678901", "1234567890123", "12345678901a"])
def test_gtin13_check_digit_rejects_bad_input(bad: str) -> None:
    with pytest.raises(ValueError, match="12 digits"):
        gtin13_check_digit(bad)


# ---- catalogue --------------------------------------------------------------------------------


def test_categories_form_a_two_level_tree(products: list[DemoProduct]) -> None:
    categories = demo_categories()
    by_slug = {category.slug: category for category in categories}
    assert len(by_slug) == len(categories)
    roots = {category.slug for category in categories if category.parent_slug is None}
    assert {"femme", "homme", "accessoires", "maison"} <= roots
    seen: set[str] = set()
    for category in categories:
        if category.parent_slug is not None:
            assert category.parent_slug in roots
            assert category.parent_slug in seen, "parents come before children"
        seen.add(category.slug)
    leaves = {category.slug for category in categories if category.parent_slug is not None}
    assert {product.category_slug for product in products} <= leaves


def test_products_look_like_a_real_catalogue(products: list[DemoProduct]) -> None:
    names = [product.name for product in products]
    assert any(name.startswith("Pantalons ") for name in names)
    trouser_colours = {
        variant.attributes["couleur"]
        for product in products
        if product.name.startswith("Pantalon ")
        for variant in product.variants
    }
    assert len(trouser_colours) >= 4
    assert len({product.brand for product in products}) >= 5
    for product in products:
        assert product.currency == "EUR"
        assert product.price_cents > 0
        assert product.price_cents % 10 in (0, 9), product.name
        assert product.channels
        assert set(product.channels) <= set(CHANNELS)
        assert product.variants
        sentences = re.findall(r"[.!?](?:\s|$)", product.description)
        assert 1 <= len(sentences) <= 3, product.description
        assert "lorem" not in product.description.lower()
    channel_sets = [set(product.channels) for product in products]
    assert sum(channels == set(CHANNELS) for channels in channel_sets) > len(products) / 2
    assert {"store"} in channel_sets
    assert any("store" not in channels for channels in channel_sets)


def test_fashion_has_size_and_colour_variants(products: list[DemoProduct]) -> None:
    for product in products:
        root = product.category_slug.split("-")[0]
        if root in FASHION_ROOTS:
            assert all({"taille", "couleur"} <= set(v.attributes) for v in product.variants)
            assert len(product.variants) >= 5
        elif root == "maison":
            assert 1 <= len(product.variants) <= 12
    trousers = [p for p in products if p.category_slug == "femme-pantalons"]
    assert {v.attributes["taille"] for p in trousers for v in p.variants} == {
        "36",
        "38",
        "40",
        "42",
        "44",
        "46",
    }


def test_every_image_exists(products: list[DemoProduct]) -> None:
    referenced = set()
    for product in products:
        assert product.image_urls
        for url in product.image_urls:
            assert url.startswith(IMAGE_URL_PREFIX)
            referenced.add(url.removeprefix(IMAGE_URL_PREFIX))
    for name in referenced:
        assert (STATIC / name).is_file(), name
    svgs = sorted(STATIC.glob("*.svg"))
    assert len(svgs) >= 15
    for svg in svgs:
        text = svg.read_text(encoding="utf-8")
        assert len(text.encode("utf-8")) < 3_000, svg.name
        assert 'viewBox="0 0 400 400"' in text, svg.name


# ---- stock ------------------------------------------------------------------------------------


def test_stock_is_spread_unevenly(
    products: list[DemoProduct],
    locations: list[DemoLocation],
    stock: dict[tuple[str, str], int],
) -> None:
    warehouse = next(location.code for location in locations if location.kind == "warehouse")
    stores = [location.code for location in locations if location.kind == "store"]
    assert all(quantity >= 0 for quantity in stock.values())
    totals: dict[str, int] = defaultdict(int)
    for (_, code), quantity in stock.items():
        totals[code] += quantity
    assert totals[warehouse] > sum(totals[code] for code in stores)
    assert totals["PAR-RIV"] > 2 * totals["NTE-CRE"]

    every_sku = [variant.sku for product in products for variant in product.variants]
    assert all(stock.get((sku, warehouse), 0) > 0 for sku in every_sku)
    assert any(1 <= stock.get((sku, code), 0) <= 2 for sku in every_sku for code in stores)


def test_some_stores_lack_some_sizes(
    products: list[DemoProduct],
    locations: list[DemoLocation],
    stock: dict[tuple[str, str], int],
) -> None:
    stores = [location.code for location in locations if location.kind == "store"]
    gaps = 0
    for product in products:
        for code in stores:
            by_size: dict[str, int] = defaultdict(int)
            for variant in product.variants:
                if "taille" in variant.attributes:
                    by_size[variant.attributes["taille"]] += stock.get((variant.sku, code), 0)
            if by_size and any(by_size.values()) and not all(by_size.values()):
                gaps += 1
    assert gaps >= 20


def test_some_products_are_only_in_the_warehouse(
    products: list[DemoProduct],
    locations: list[DemoLocation],
    stock: dict[tuple[str, str], int],
) -> None:
    warehouse = next(location.code for location in locations if location.kind == "warehouse")
    stores = [location.code for location in locations if location.kind == "store"]
    only_in_warehouse = [
        product
        for product in products
        if "store" in product.channels
        and all(
            stock.get((variant.sku, warehouse), 0) > 0
            and all(stock.get((variant.sku, code), 0) == 0 for code in stores)
            for variant in product.variants
        )
    ]
    assert len(only_in_warehouse) >= 1


def test_web_only_products_are_not_in_stores(
    products: list[DemoProduct],
    locations: list[DemoLocation],
    stock: dict[tuple[str, str], int],
) -> None:
    stores = {location.code for location in locations if location.kind == "store"}
    web_only = {
        variant.sku
        for product in products
        if "store" not in product.channels
        for variant in product.variants
    }
    assert web_only
    assert not any(sku in web_only and code in stores for sku, code in stock)


# ---- locations, calendar, gazetteer ------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "expected"),
    [(2000, date(2000, 4, 23)), (2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)),
     (2026, date(2026, 4, 5)), (2027, date(2027, 3, 28)), (2038, date(2038, 4, 25))],
)  # fmt: skip
def test_easter(year: int, expected: date) -> None:
    assert easter_sunday(year) == expected


def test_locations(locations: list[DemoLocation]) -> None:
    for location in locations:
        assert location.country == "FR"
        assert location.timezone == "Europe/Paris"
        assert re.fullmatch(r"\d{5}", location.postcode)
        assert re.fullmatch(r"\+33 \d( \d\d){4}", location.phone), location.phone
        assert in_metropolitan_france(location.latitude, location.longitude), location.code
        assert location.services
        assert set(location.services) <= set(SERVICES)
        for hours in location.hours:
            assert 0 <= hours.weekday <= 6
            assert re.fullmatch(r"\d\d:\d\d", hours.opens)
            assert hours.opens < hours.closes
    stores = [location for location in locations if location.kind == "store"]
    (warehouse,) = [location for location in locations if location.kind == "warehouse"]
    assert warehouse.services == ("ship_from_store",)
    assert {hours.weekday for hours in warehouse.hours} == {0, 1, 2, 3, 4}
    assert any(set(store.services) != set(SERVICES) for store in stores)
    assert all({0, 1, 2, 3, 4, 5} <= {h.weekday for h in store.hours} for store in stores)
    assert any(6 in {h.weekday for h in store.hours} for store in stores if store.city == "Paris")


def test_closures_include_public_holidays(locations: list[DemoLocation]) -> None:
    for location in locations:
        closed = {c.day for c in location.closures if c.opens is None and c.closes is None}
        assert date(2026, 12, 25) in closed
        assert date(2026, 5, 25) in closed  # lundi de Pentecôte
        assert date(2026, 4, 6) in closed  # lundi de Pâques
        assert date(2026, 5, 14) in closed  # Ascension
        assert date(2027, 5, 17) in closed
        days = [closure.day for closure in location.closures]
        assert days == sorted(days)
        assert len(set(days)) == len(days)
        for closure in location.closures:
            assert (closure.opens is None) == (closure.closes is None)
            assert closure.reason
    special = [
        closure
        for closure in locations[0].closures
        if closure.day == date(2026, 12, 24) and closure.closes is not None
    ]
    assert special
    assert special[0].closes == "17:00"


def test_gazetteer(locations: list[DemoLocation]) -> None:
    places = demo_places()
    postcodes = {place.postcode for place in places}
    assert {"75001", "69002", "13001", "31000", "33000", "59000", "44000"} <= postcodes
    assert {f"750{n:02d}" for n in range(1, 21)} <= postcodes
    assert {f"6900{n}" for n in range(1, 10)} <= postcodes
    assert {f"130{n:02d}" for n in range(1, 17)} <= postcodes
    keys = [(place.postcode, place.city) for place in places]
    assert len(set(keys)) == len(keys)
    for place in places:
        assert re.fullmatch(r"\d{5}", place.postcode)
        assert in_metropolitan_france(place.latitude, place.longitude), place
    # Every store is near the gazetteer entry of its postcode.
    by_postcode = {place.postcode: place for place in places}
    for location in locations:
        place = by_postcode[location.postcode]
        assert abs(place.latitude - location.latitude) < 0.05, location.code
        assert abs(place.longitude - location.longitude) < 0.07, location.code


# ---- determinism ------------------------------------------------------------------------------


def test_everything_is_deterministic(
    products: list[DemoProduct], locations: list[DemoLocation]
) -> None:
    assert demo_products() == products
    assert demo_locations() == locations
    assert demo_places() == demo_places()
    assert demo_categories() == demo_categories()
    assert demo_stock(products, locations) == demo_stock(products, locations)
    assert demo_products(seed=8) != products
    assert demo_stock(products, locations, seed=12) != demo_stock(products, locations)
