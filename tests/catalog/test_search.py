"""Search as a French shopper expects it, the same on SQLite FTS5 and PostgreSQL full-text."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from parcours.catalog import service
from parcours.catalog.search import SearchQuery, fold, normalise
from parcours.core.uow import UnitOfWork

from .conftest import MakeProduct


def _names(uow: UnitOfWork, query: str, **kwargs: object) -> list[str]:
    listing = service.search_products(uow=uow, query=query, **kwargs)  # type: ignore[arg-type]
    return [p.name for p in listing.items]


def test_folding_and_stemming_meet_in_the_middle() -> None:
    assert fold("Été ŒUVRE Çà") == "ete oeuvre ca"
    assert normalise("Pantalons noirs") == normalise("pantalon noir") == ["pantalon", "noir"]
    assert normalise("ROBE ÉTÉ") == normalise("robe d'été") == ["rob", "ete"]
    assert normalise("le, la & les — d’") == []


def test_plurals_accents_and_case_are_found(uow: UnitOfWork, make_product: MakeProduct) -> None:
    make_product(name="Pantalons noirs")
    make_product(name="Robe d'été")
    make_product(name="Chaussures de randonnée")

    assert _names(uow, "pantalon noir") == ["Pantalons noirs"]
    assert _names(uow, "ROBE ÉTÉ") == ["Robe d'été"]
    assert _names(uow, "robe ete") == ["Robe d'été"]
    assert _names(uow, "chaussure randonnee") == ["Chaussures de randonnée"]
    assert _names(uow, "pantalon rouge") == [], "every word must match"


def test_the_last_word_matches_as_you_type(uow: UnitOfWork, make_product: MakeProduct) -> None:
    make_product(name="Chemise en lin")
    for typed in ("chem", "chemis", "chemise", "chemises", "lin chemi"):
        assert _names(uow, typed) == ["Chemise en lin"], typed


def test_name_matches_rank_before_description_matches(
    uow: UnitOfWork, make_product: MakeProduct
) -> None:
    make_product(
        name="Jupe plissée",
        description="Se porte avec une veste, comme une robe, en été comme en hiver.",
    )
    make_product(name="Robe portefeuille", description="Fluide, à nouer à la taille.")
    make_product(name="Sandales", description="Pour accompagner une robe légère.")
    found = _names(uow, "robe")
    assert found[0] == "Robe portefeuille"
    assert set(found) == {"Robe portefeuille", "Jupe plissée", "Sandales"}


def test_brand_category_and_colours_are_searchable(
    uow: UnitOfWork, make_product: MakeProduct
) -> None:
    category = service.upsert_category(uow=uow, slug="linge", name="Linge de maison")
    uow.commit()
    make_product(
        name="Housse de couette",
        brand="Atelier Côtier",
        category_id=category.id,
        variants=[{"sku": "HC-1", "attributes": {"couleur": "Vert sauge"}}],
    )
    for query in ("atelier cotier", "linge maison", "sauge", "housse verte"):
        assert _names(uow, query) == ["Housse de couette"], query


def test_updates_keep_the_search_in_step(uow: UnitOfWork, make_product: MakeProduct) -> None:
    product = make_product(name="Gilet")
    service.update_product(uow=uow, product_id=product.id, name="Cardigan en laine")
    uow.commit()
    assert _names(uow, "gilet") == []
    assert _names(uow, "cardigan laine") == ["Cardigan en laine"]


@pytest.mark.parametrize(
    "query",
    [
        '"robe" OR (',
        "*",
        "robe*",
        "NEAR(robe ete)",
        "robe AND NOT ete",
        "'; DROP TABLE products; --",
        "robe:* & !ete | (",
        "\\",
        "^robe",
        "ete -robe",
        "   ",
        "ß" * 200,
    ],
)
def test_hostile_queries_never_break_the_search(
    client: TestClient, secret_headers: dict[str, str], make_product: MakeProduct, query: str
) -> None:
    make_product(name="Robe d'été")
    response = client.get("/v1/search/products", params={"q": query}, headers=secret_headers)
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["items"], list)


def test_a_query_without_words_finds_nothing(uow: UnitOfWork, make_product: MakeProduct) -> None:
    make_product(name="Robe")
    assert SearchQuery.parse("le la les *") is None
    assert _names(uow, "le la les *") == []


def test_search_api_pages_and_filters_by_channel(
    client: TestClient,
    secret_headers: dict[str, str],
    publishable_headers: dict[str, str],
    make_product: MakeProduct,
) -> None:
    for n in range(3):
        make_product(name=f"Robe modèle {n}", status="published", channels=["web"])
    make_product(name="Robe boutique", status="published", channels=["store"])
    make_product(name="Robe brouillon")

    first = client.get("/v1/search/products?q=robe&limit=2", headers=secret_headers).json()
    rest = client.get(
        "/v1/search/products",
        params={"q": "robe", "limit": 2, "cursor": first["next_cursor"]},
        headers=secret_headers,
    ).json()
    names = [p["name"] for p in first["items"] + rest["items"]]
    assert len(set(names)) == len(names) == 4
    assert rest["next_cursor"] is not None

    web = client.get("/v1/search/products?q=robe&channel=web", headers=secret_headers).json()
    assert {p["name"] for p in web["items"]} == {f"Robe modèle {n}" for n in range(3)}
    storefront = client.get("/v1/search/products?q=robe", headers=publishable_headers).json()
    assert "Robe brouillon" not in {p["name"] for p in storefront["items"]}
    assert len(storefront["items"]) == 4

    for bad in ("q=", "q=robe&limit=0", "q=robe&cursor=nope", f"q={'x' * 201}"):
        response = client.get(f"/v1/search/products?{bad}", headers=secret_headers)
        assert response.status_code == 422, bad
        assert response.headers["content-type"] == "application/problem+json"
