"""The catalogue pages as a shopper's browser gets them, without JavaScript: home shelves,
departments with filters in the URL, search and its zero-results help, the product page's
delivery promise, reviews placeholder and schema.org data, the store locator."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from tests.catalog.test_storefront_queries import dress_the_shop
from tests.conftest import Shop

from parcours.core.db import Database


@pytest.fixture
def dressed(db: Database, shop: Shop) -> dict[str, str]:
    return dress_the_shop(db, shop)


def _json_ld(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert found is not None
    data: dict[str, object] = json.loads(found.group(1))
    return data


def test_home_shows_new_in_and_the_recently_viewed_shelf(
    client: TestClient, dressed: dict[str, str]
) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "Nouveautés" in page.text
    assert "Robe en lin bleue" in page.text
    assert "Vus récemment" in page.text
    assert "data-recent-grid" in page.text
    assert 'href="/rayons/femme"' in page.text


def test_department_tree_and_list(client: TestClient, dressed: dict[str, str]) -> None:
    tree = client.get("/rayons")
    assert 'href="/rayons/femme-pantalons"' in tree.text
    assert "Robes" in tree.text
    page = client.get("/rayons/femme")
    assert page.status_code == 200
    assert "3 produit(s)" in page.text
    assert client.get("/rayons/nulle-part").status_code == 404


def test_filters_live_in_the_query_string(client: TestClient, dressed: dict[str, str]) -> None:
    page = client.get("/rayons/femme?taille=S&couleur=Noir&tri=prix-croissant")
    assert "1 produit(s)" in page.text
    assert "Pantalon noir" in page.text
    assert "Robe en lin bleue" not in page.text
    assert 'value="S" checked' in page.text
    assert 'aria-label="Retirer le filtre Noir"' in page.text
    assert '<option value="prix-croissant" selected>' in page.text


def test_in_my_store_filter_and_the_empty_state(
    client: TestClient, shop: Shop, dressed: dict[str, str]
) -> None:
    # Store A (nearest the default place) holds the black trousers in S and M only.
    page = client.get(f"/rayons/femme?magasin={shop.store_a}")
    assert "1 produit(s)" in page.text
    assert "Pantalon noir" in page.text
    assert "Disponible dans mon magasin (Parcours PAR-A)" in page.text
    empty = client.get(f"/rayons/femme?magasin={shop.store_a}&taille=L")
    assert "Aucun produit ne correspond à ces filtres" in empty.text
    assert 'href="/rayons/femme"' in empty.text  # "Retirer les filtres"
    ignored = client.get("/rayons/femme?magasin=loc_nope&prix_min=abc&page=x&tri=bad")
    assert ignored.status_code == 200
    assert "3 produit(s)" in ignored.text


def test_search_finds_then_helps_when_nothing_matches(
    client: TestClient, dressed: dict[str, str]
) -> None:
    found = client.get("/recherche", params={"q": "pantalon noir"})
    assert "Pantalon noir" in found.text
    typo = client.get("/recherche", params={"q": "pantalom"})
    assert "Aucun résultat pour « pantalom »" in typo.text
    assert "Vouliez-vous dire" in typo.text
    assert "/recherche?q=pantalon" in typo.text
    none = client.get("/recherche", params={"q": "zzzz"})
    assert "Vouliez-vous dire" not in none.text
    assert 'href="/rayons/femme-pantalons"' in none.text  # popular departments
    assert 'href="/magasins"' in none.text
    assert "Demandez en magasin" in none.text


def test_suggestions_json(client: TestClient, dressed: dict[str, str]) -> None:
    answer = client.get("/recherche/suggestions", params={"q": "pant"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["suggestions"][0] == {
        "kind": "category",
        "label": "Pantalons · Femme",
        "url": "/rayons/femme-pantalons",
        "detail": "",
    }
    assert {"Pantalon noir", "Pantalon large beige"} <= {s["label"] for s in body["suggestions"]}
    assert len(body["suggestions"]) <= 8
    assert "max-age" in answer.headers["cache-control"]
    assert client.get("/recherche/suggestions", params={"q": "p"}).json()["suggestions"] == []


def test_product_page_promises_delivery_and_describes_itself(
    client: TestClient, shop: Shop, dressed: dict[str, str]
) -> None:
    page = client.get(f"/produits/{shop.product_slug}?variant={shop.variants['L']}")
    assert page.status_code == 200
    assert re.search(r"Livraison estimée le \w+ \d+ \w+", page.text)
    assert 'id="avis"' in page.text
    assert "Aucun avis" in page.text
    assert 'name="variant_id" value="' + shop.variants["L"] + '"' in page.text
    assert "Ajouter au panier · L" in page.text
    assert 'fetchpriority="high"' in page.text
    assert 'width="400" height="400"' in page.text
    data = _json_ld(page.text)
    assert data["@type"] == "Product"
    assert data["name"] == "Pantalon noir"
    assert data["sku"] == "PN-L"
    assert data["gtin13"] == shop.gtins["L"]
    assert data["brand"] == {"@type": "Brand", "name": "Parcours"}
    assert data["description"] == "Un pantalon noir droit."
    assert isinstance(data["image"], list)
    assert str(data["image"][0]).startswith("http")
    offers = data["offers"]
    assert isinstance(offers, dict)
    assert offers["price"] == "59.90"
    assert offers["priceCurrency"] == "EUR"
    assert offers["availability"] == "https://schema.org/InStock"
    assert str(offers["url"]).endswith(
        f"/produits/{shop.product_slug}?variant={shop.variants['L']}"
    )
    # Recently viewed: what the page hands to catalogue.js to keep in her browser.
    assert "data-recent-item=" in page.text


def test_product_out_of_stock_everywhere(client: TestClient, dressed: dict[str, str]) -> None:
    page = client.get(f"/produits/{dressed['dress']}")
    assert "Livraison à domicile indisponible" in page.text
    assert _json_ld(page.text)["offers"]["availability"] == "https://schema.org/OutOfStock"  # type: ignore[index]


def test_store_locator_links(client: TestClient, shop: Shop) -> None:
    page = client.get("/magasins")
    assert "https://www.openstreetmap.org/?mlat=48.85660&amp;mlon=2.35220" in page.text
    assert "Itinéraire" in page.text
    assert "(nouvelle fenêtre)" in page.text
    assert '<th scope="row">Lundi</th>' in page.text
