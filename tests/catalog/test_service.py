"""Catalog use cases against the real database: products, variants, prices, publication, lists."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from parcours.catalog import service
from parcours.catalog.events import PriceChanged, ProductPublished
from parcours.catalog.models import Channel, Product, ProductSearchDocument
from parcours.catalog.schemas import VariantCreate
from parcours.core.db import Database
from parcours.core.errors import Conflict, InvalidInput, NotFound
from parcours.core.events import rebuild_event
from parcours.core.outbox import OutboxMessage
from parcours.core.uow import UnitOfWork

from .conftest import GTINS, MakeProduct, ean13


def _robe(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "name": "Robe d'été en lin",
        "price_amount": 4990,
        "brand": "Maison Lumière",
        "variants": [
            {
                "sku": "ROBE-LIN-S",
                "gtin": GTINS[0],
                "attributes": {"taille": "S", "couleur": "bleu"},
            },
            {
                "sku": "ROBE-LIN-M",
                "gtin": GTINS[1],
                "attributes": {"taille": "M", "couleur": "bleu"},
            },
        ],
    }
    values.update(overrides)
    return values


def test_a_product_is_created_with_its_variants_in_order(uow: UnitOfWork) -> None:
    product = service.create_product(uow=uow, **_robe())  # type: ignore[arg-type]
    uow.commit()

    assert product.id.startswith("prd_")
    assert product.slug == "robe-d-ete-en-lin"
    assert product.status == "draft"
    assert [v.sku for v in product.variants] == ["ROBE-LIN-S", "ROBE-LIN-M"]
    assert [v.position for v in product.variants] == [0, 1]
    assert all(v.id.startswith("var_") for v in product.variants)
    document = uow.session.get(ProductSearchDocument, product.id)
    assert document is not None
    assert "rob" in document.document.split()


def test_a_draft_records_no_event_and_a_published_product_does(uow: UnitOfWork) -> None:
    service.create_product(uow=uow, **_robe())  # type: ignore[arg-type]
    assert list(uow.pending_events) == []

    published = service.create_product(
        uow=uow,
        name="Pantalon chino",
        price_amount=5990,
        status="published",
        channels=["web", "store"],
        variants=[VariantCreate(sku="CHINO-40")],
    )
    assert uow.pending_events == (
        ProductPublished(product_id=published.id, slug="pantalon-chino", channels=("web", "store")),
    )


def test_events_reach_the_outbox_with_the_commit_and_come_back_whole(
    uow: UnitOfWork, make_product: MakeProduct
) -> None:
    product = make_product(status="published", channels=["app"])
    rows = uow.session.scalars(select(OutboxMessage)).all()
    assert [r.name for r in rows] == ["catalog.product_published"]
    rebuilt = rebuild_event(rows[0].name, json.loads(rows[0].payload))
    assert rebuilt == ProductPublished(product_id=product.id, slug=product.slug, channels=("app",))


def test_an_automatic_slug_that_is_taken_gets_a_suffix(make_product: MakeProduct) -> None:
    first = make_product(name="Veste en jean")
    second = make_product(name="Veste en jean")
    assert first.slug == "veste-en-jean"
    assert second.slug.startswith("veste-en-jean-")
    assert second.slug != first.slug


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"slug": "robe-d-ete-en-lin"}, "slug_taken"),
        ({"variants": [{"sku": "ROBE-LIN-S"}]}, "sku_taken"),
        ({"variants": [{"sku": "AUTRE-1", "gtin": GTINS[1]}]}, "gtin_taken"),
    ],
)
def test_slugs_skus_and_gtins_are_unique_across_the_catalog(
    uow: UnitOfWork, make_product: MakeProduct, changes: dict[str, object], code: str
) -> None:
    make_product(**_robe())
    values = {"name": "Autre article", "price_amount": 100, **changes}
    with pytest.raises(Conflict) as refused:
        service.create_product(uow=uow, **values)  # type: ignore[arg-type]
    assert refused.value.code == code


def test_a_wrong_check_digit_is_refused_with_the_expected_digit(uow: UnitOfWork) -> None:
    with pytest.raises(InvalidInput) as refused:
        service.create_product(
            uow=uow,
            name="Sac",
            price_amount=100,
            variants=[{"sku": "SAC", "gtin": "4006381333932"}],
        )
    assert refused.value.code == "validation_error"
    assert "expected 1" in refused.value.detail


def test_gtin_8_12_and_14_are_stored_as_13_digits_and_found_however_typed(
    uow: UnitOfWork,
) -> None:
    service.create_product(
        uow=uow,
        name="Bougie",
        price_amount=1500,
        variants=[{"sku": "BOUGIE-UPC", "gtin": "036000291452"}, {"sku": "B8", "gtin": "96385074"}],
    )
    found = service.find_variant_by_gtin(uow=uow, gtin="00036000291452")
    assert (found.sku, found.gtin) == ("BOUGIE-UPC", "0036000291452")
    assert service.find_variant_by_gtin(uow=uow, gtin="96385074").sku == "B8"
    with pytest.raises(InvalidInput) as refused:
        service.find_variant_by_gtin(uow=uow, gtin="12345")
    assert refused.value.code == "invalid_gtin"
    with pytest.raises(NotFound) as missing:
        service.find_variant_by_gtin(uow=uow, gtin=GTINS[5])
    assert missing.value.code == "variant_not_found"


def test_changing_the_price_records_price_changed_once(
    uow: UnitOfWork, make_product: MakeProduct
) -> None:
    product = make_product(**_robe())
    service.update_product(uow=uow, product_id=product.id, price_amount=3990)
    service.update_product(uow=uow, product_id=product.id, price_amount=3990, name="Robe lin")
    assert uow.pending_events == (
        PriceChanged(
            product_id=product.id,
            variant_id=None,
            old_amount=4990,
            old_currency="EUR",
            new_amount=3990,
            currency="EUR",
        ),
    )


def test_a_variant_gets_its_own_price_and_loses_it(
    uow: UnitOfWork, make_product: MakeProduct
) -> None:
    product = make_product(**_robe())
    variant_id = product.variants[1].id
    updated = service.update_product(
        uow=uow, product_id=product.id, variants=[{"sku": "ROBE-LIN-M", "price_amount": 5490}]
    )
    assert service.effective_price(updated.variants[1]) == 5490
    assert updated.variants[1].gtin == GTINS[1], "fields left out of the variant stay"
    service.update_product(
        uow=uow, product_id=product.id, variants=[{"sku": "ROBE-LIN-M", "price_amount": None}]
    )
    events = [e for e in uow.pending_events if isinstance(e, PriceChanged)]
    assert [(e.old_amount, e.new_amount) for e in events] == [(4990, 5490), (5490, 4990)]
    assert len(events) == len(uow.pending_events)
    assert all(
        isinstance(e, PriceChanged) and e.variant_id == variant_id for e in uow.pending_events
    )


def test_variants_are_matched_by_sku_when_updating(
    uow: UnitOfWork, make_product: MakeProduct
) -> None:
    product = make_product(**_robe())
    updated = service.update_product(
        uow=uow,
        product_id=product.id,
        variants=[
            {"sku": "ROBE-LIN-S", "attributes": {"taille": "S", "couleur": "vert"}},
            {"sku": "ROBE-LIN-L", "attributes": {"taille": "L", "couleur": "bleu"}},
        ],
    )
    uow.commit()
    assert [(v.sku, v.attributes["couleur"], v.position) for v in updated.variants] == [
        ("ROBE-LIN-S", "vert", 0),
        ("ROBE-LIN-M", "bleu", 1),
        ("ROBE-LIN-L", "bleu", 2),
    ]


def test_publishing_adds_channels_and_reports_only_the_new_ones(
    uow: UnitOfWork, make_product: MakeProduct
) -> None:
    product = make_product(**_robe(channels=["web"]))
    service.publish_product(uow=uow, product_id=product.id)
    service.publish_product(uow=uow, product_id=product.id, channels=["web", Channel.STORE])
    again = service.publish_product(uow=uow, product_id=product.id, channels=["store"])
    assert again.status == "published"
    assert [e.channels for e in uow.pending_events if isinstance(e, ProductPublished)] == [
        ("web",),
        ("store",),
    ]


def test_a_product_cannot_be_published_nowhere_or_without_variants(
    uow: UnitOfWork, make_product: MakeProduct
) -> None:
    bare = make_product(variants=[])
    with pytest.raises(InvalidInput) as no_channel:
        service.publish_product(uow=uow, product_id=bare.id)
    assert no_channel.value.code == "publish_needs_channel"
    with pytest.raises(InvalidInput) as no_variant:
        service.publish_product(uow=uow, product_id=bare.id, channels=["web"])
    assert no_variant.value.code == "publish_needs_variant"


def test_unknown_or_malformed_ids_are_not_found(uow: UnitOfWork) -> None:
    for product_id in ("prd_01hzzzzzzzzzzzzzzzzzzzzzzz", "nope", "", "prd_'; DROP TABLE x"):
        with pytest.raises(NotFound) as missing:
            service.get_product(uow=uow, product_id=product_id)
        assert missing.value.code == "product_not_found"


def test_categories_form_a_tree_and_filters_include_subcategories(
    uow: UnitOfWork, make_product: MakeProduct
) -> None:
    femme = service.upsert_category(uow=uow, slug="femme", name="Femme")
    robes = service.upsert_category(uow=uow, slug="robes", name="Robes", parent_slug="femme")
    service.upsert_category(uow=uow, slug="maison", name="Maison", position=1)
    uow.commit()
    in_robes = make_product(category_id=robes.id)
    in_femme = make_product(category_slug="femme")
    make_product()

    tree = service.list_categories(uow=uow).items
    assert [(n.slug, [c.slug for c in n.children]) for n in tree] == [
        ("femme", ["robes"]),
        ("maison", []),
    ]
    listed = service.list_products(uow=uow, category_id=femme.id).items
    assert {p.id for p in listed} == {in_robes.id, in_femme.id}
    assert [p.id for p in service.list_products(uow=uow, category_slug="robes").items] == [
        in_robes.id
    ]
    with pytest.raises(InvalidInput) as unknown:
        service.list_products(uow=uow, category_slug="hommes")
    assert unknown.value.code == "unknown_category"


def test_a_category_cannot_move_under_its_own_child(uow: UnitOfWork) -> None:
    service.upsert_category(uow=uow, slug="femme", name="Femme")
    service.upsert_category(uow=uow, slug="robes", name="Robes", parent_slug="femme")
    with pytest.raises(InvalidInput) as refused:
        service.upsert_category(uow=uow, slug="femme", name="Femme", parent_slug="robes")
    assert refused.value.code == "category_cycle"


def test_products_page_by_cursor_without_gaps_or_repeats(
    uow: UnitOfWork, make_product: MakeProduct
) -> None:
    created = [make_product().id for _ in range(7)]
    seen: list[str] = []
    cursor = None
    while True:
        page = service.list_products(uow=uow, limit=3, cursor=cursor)
        seen.extend(p.id for p in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == created


def test_lists_filter_by_channel_and_status(uow: UnitOfWork, make_product: MakeProduct) -> None:
    on_web = make_product(status="published", channels=["web"])
    in_store = make_product(status="published", channels=["store"])
    draft_for_web = make_product(channels=["web"])
    assert [p.id for p in service.list_products(uow=uow, channel="web").items] == [
        on_web.id,
        draft_for_web.id,
    ]
    published = service.list_products(uow=uow, status="published").items
    assert [p.id for p in published] == [on_web.id, in_store.id]


def test_get_variants_answers_many_at_once_with_effective_prices(
    uow: UnitOfWork, make_product: MakeProduct
) -> None:
    product = make_product(
        **_robe(image_urls=["https://cdn.example/robe.jpg"]),
    )
    service.update_product(
        uow=uow, product_id=product.id, variants=[{"sku": "ROBE-LIN-M", "price_amount": 5490}]
    )
    small, medium = (v.id for v in product.variants)
    found = service.get_variants(uow=uow, variant_ids=[small, medium, "var_unknown", small])
    assert set(found) == {small, medium}
    assert (found[small].price_amount, found[medium].price_amount) == (4990, 5490)
    assert found[small].product_name == "Robe d'été en lin"
    assert found[small].image_url == "https://cdn.example/robe.jpg"


def test_many_products_take_a_bounded_number_of_statements_each(
    db: Database, sql_statements: list[str]
) -> None:
    """A loader creating 300 products of 5 variants must not pay one round trip per variant."""
    with UnitOfWork(db) as uow:
        service.upsert_category(uow=uow, slug="femme", name="Femme")
        category = service.upsert_category(uow=uow, slug="robes", name="Robes", parent_slug="femme")
        sql_statements.clear()
        for n in range(20):
            service.create_product(
                uow=uow,
                name=f"Robe {n}",
                price_amount=3000 + n,
                category_id=category.id,
                status="published",
                channels=["web", "store"],
                variants=[
                    {
                        "sku": f"R{n}-{size}",
                        "gtin": ean13(n * 10 + i),
                        "attributes": {"taille": size},
                    }
                    for i, size in enumerate(("XS", "S", "M", "L", "XL"))
                ],
            )
        uow.commit()
    per_product = len(sql_statements) / 20
    assert per_product <= 8, sql_statements[:20]


def test_renaming_a_category_refreshes_its_products_search_documents(
    uow: UnitOfWork, make_product: MakeProduct
) -> None:
    category = service.upsert_category(uow=uow, slug="robes", name="Robes")
    uow.commit()
    product = make_product(name="Modèle Capucine", category_id=category.id)
    service.upsert_category(uow=uow, slug="robes", name="Tuniques")
    uow.commit()
    document = uow.session.get(ProductSearchDocument, product.id)
    assert document is not None
    uow.session.refresh(document)
    assert "tuniqu" in document.document.split()
    assert [p.id for p in service.search_products(uow=uow, query="tunique").items] == [product.id]


def test_product_fields_round_trip(uow: UnitOfWork) -> None:
    product = service.create_product(
        uow=uow,
        name="Plaid en laine",
        price_amount=8900,
        currency="CHF",
        description="Tissé en Écosse.",
        attributes={"material": "laine", "care": ["lavage à la main"]},
        image_urls=["/media/plaid.jpg"],
    )
    uow.commit()
    again = uow.session.get(Product, product.id)
    assert again is not None
    assert (again.currency, again.attributes["care"], again.image_urls) == (
        "CHF",
        ["lavage à la main"],
        ["/media/plaid.jpg"],
    )
