"""The catalog's HTTP API: shapes, errors as problem+json, who may call what, queries per page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from parcours.core.auth.models import Role
from parcours.core.auth.principal import AccessPolicy

from .conftest import GTINS, MakeProduct, ean13

ROBE: dict[str, Any] = {
    "name": "Robe d'été en lin",
    "price_amount": 4990,
    "brand": "Maison Lumière",
    "channels": ["web", "store"],
    "image_urls": ["https://cdn.example/robe.jpg", "/media/robe-dos.jpg"],
    "variants": [
        {"sku": "ROBE-LIN-S", "gtin": GTINS[0], "attributes": {"taille": "S", "couleur": "bleu"}},
        {
            "sku": "ROBE-LIN-M",
            "gtin": GTINS[1],
            "attributes": {"taille": "M", "couleur": "bleu"},
            "price_amount": 5490,
        },
    ],
}


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def test_creating_a_product_answers_201_with_prices_formatted_in_french(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    response = client.post("/v1/products", json=ROBE, headers=secret_headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/v1/products/{body['id']}"
    assert body["slug"] == "robe-d-ete-en-lin"
    assert body["price"] == {"amount": 4990, "currency": "EUR", "formatted": "49,90\xa0€"}
    assert body["status"] == "draft"
    assert body["channels"] == ["web", "store"]
    small, medium = body["variants"]
    assert (small["price"]["formatted"], small["has_own_price"]) == ("49,90\xa0€", False)
    assert (medium["price"]["formatted"], medium["has_own_price"]) == ("54,90\xa0€", True)
    assert small["gtin"] == GTINS[0]

    again = client.get(f"/v1/products/{body['id']}", headers=secret_headers)
    assert again.json() == body
    by_slug = client.get("/v1/products/by-slug/robe-d-ete-en-lin", headers=secret_headers)
    assert by_slug.json()["id"] == body["id"]


def test_patch_changes_only_what_it_names(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    created = client.post("/v1/products", json=ROBE, headers=secret_headers).json()
    response = client.patch(
        f"/v1/products/{created['id']}",
        json={"price_amount": 3990, "description": "Lin lavé.", "category_id": None},
        headers=secret_headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["price"]["formatted"] == "39,90\xa0€"
    assert (body["name"], body["description"]) == (ROBE["name"], "Lin lavé.")
    assert body["variants"][1]["price"]["amount"] == 5490

    null_name = client.patch(
        f"/v1/products/{created['id']}", json={"name": None}, headers=secret_headers
    )
    _problem(null_name, 422, "validation_error")


def test_publishing_on_channels(client: TestClient, secret_headers: dict[str, str]) -> None:
    created = client.post("/v1/products", json=ROBE, headers=secret_headers).json()
    published = client.post(
        f"/v1/products/{created['id']}/publish", json={"channels": ["app"]}, headers=secret_headers
    )
    assert published.status_code == 200, published.text
    assert (published.json()["status"], published.json()["channels"]) == (
        "published",
        ["web", "app", "store"],
    )
    without_body = client.post(f"/v1/products/{created['id']}/publish", headers=secret_headers)
    assert without_body.status_code == 200
    bare = client.post(
        "/v1/products", json={"name": "Nu", "price_amount": 100}, headers=secret_headers
    ).json()
    refused = client.post(f"/v1/products/{bare['id']}/publish", headers=secret_headers)
    _problem(refused, 422, "publish_needs_channel")


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"variants": [{"sku": "X", "gtin": "4006381333932"}]}, "check digit"),
        ({"variants": [{"sku": "X", "gtin": "40063813"}]}, "check digit"),
        ({"variants": [{"sku": "X", "gtin": "12ab"}]}, "digits only"),
        ({"variants": [{"sku": "bad sku!"}]}, "a SKU has"),
        ({"variants": [{"sku": "A"}, {"sku": "A"}]}, "same SKU"),
        ({"price_amount": -1}, "greater than or equal"),
        ({"price_amount": 49.9}, "integer"),
        ({"currency": "eur"}, "in capitals"),
        ({"currency": "ZZZ"}, "ISO 4217"),
        ({"channels": ["tv"]}, "web"),
        ({"image_urls": ["javascript:alert(1)"]}, "http"),
        ({"image_urls": ["//evil.example/x.png"]}, "protocol-relative"),
        ({"name": ""}, "at least 1"),
        ({"colour": "rouge"}, "Extra inputs"),
    ],
)
def test_bad_product_input_is_a_problem_with_a_clear_message(
    client: TestClient, secret_headers: dict[str, str], change: dict[str, Any], where: str
) -> None:
    response = client.post("/v1/products", json={**ROBE, **change}, headers=secret_headers)
    body = _problem(response, 422, "validation_error")
    assert where in body["detail"] + " ".join(e["message"] for e in body["errors"])


def test_nul_characters_are_refused_before_they_reach_the_database(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    response = client.post("/v1/products", json={**ROBE, "name": "a\x00b"}, headers=secret_headers)
    body = _problem(response, 422, "invalid_characters")
    assert "NUL" in body["detail"]


def test_taken_codes_are_409_with_a_stable_code(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    client.post("/v1/products", json=ROBE, headers=secret_headers)
    same_sku = {"name": "Autre", "price_amount": 1, "variants": [{"sku": "ROBE-LIN-S"}]}
    _problem(client.post("/v1/products", json=same_sku, headers=secret_headers), 409, "sku_taken")
    same_gtin = {"name": "Autre", "price_amount": 1, "variants": [{"sku": "Y", "gtin": GTINS[0]}]}
    _problem(client.post("/v1/products", json=same_gtin, headers=secret_headers), 409, "gtin_taken")
    same_slug = {"name": "Autre", "slug": "robe-d-ete-en-lin", "price_amount": 1}
    _problem(client.post("/v1/products", json=same_slug, headers=secret_headers), 409, "slug_taken")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/products/prd_01hzzzzzzzzzzzzzzzzzzzzzzz",
        "/v1/products/nope",
        "/v1/products/by-slug/inconnu",
        "/v1/variants/by-sku/INCONNU",
    ],
)
def test_unknown_things_are_404_problems(
    client: TestClient, secret_headers: dict[str, str], path: str
) -> None:
    response = client.get(path, headers=secret_headers)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] in {"product_not_found", "variant_not_found"}


def test_unknown_product_on_write_routes_is_404(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    patch = client.patch("/v1/products/nope", json={"name": "x"}, headers=secret_headers)
    _problem(patch, 404, "product_not_found")
    publish = client.post("/v1/products/prd_x/publish", headers=secret_headers)
    _problem(publish, 404, "product_not_found")


def test_a_scanned_barcode_finds_the_variant_and_its_product(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    created = client.post("/v1/products", json=ROBE, headers=secret_headers).json()
    found = client.get(f"/v1/variants/by-gtin/{GTINS[1]}", headers=secret_headers)
    assert found.status_code == 200
    assert found.json()["variant"]["sku"] == "ROBE-LIN-M"
    assert found.json()["product"]["id"] == created["id"]
    by_sku = client.get("/v1/variants/by-sku/ROBE-LIN-S", headers=secret_headers)
    assert by_sku.json()["variant"]["gtin"] == GTINS[0]
    _problem(client.get("/v1/variants/by-gtin/123", headers=secret_headers), 422, "invalid_gtin")
    unknown = client.get(f"/v1/variants/by-gtin/{GTINS[4]}", headers=secret_headers)
    _problem(unknown, 404, "variant_not_found")


def test_categories_are_created_and_listed_as_a_tree(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    femme = client.post("/v1/categories", json={"name": "Femme"}, headers=secret_headers)
    assert femme.status_code == 201, femme.text
    robes = client.post(
        "/v1/categories",
        json={"name": "Robes d'été", "parent_id": femme.json()["id"]},
        headers=secret_headers,
    )
    assert robes.json()["slug"] == "robes-d-ete"
    tree = client.get("/v1/categories", headers=secret_headers).json()
    assert tree["next_cursor"] is None
    assert [(c["slug"], [k["slug"] for k in c["children"]]) for c in tree["items"]] == [
        ("femme", ["robes-d-ete"])
    ]
    again = client.post("/v1/categories", json={"name": "Femme"}, headers=secret_headers)
    _problem(again, 409, "category_slug_taken")
    orphan = client.post(
        "/v1/categories", json={"name": "X", "parent_id": "cat_nope"}, headers=secret_headers
    )
    _problem(orphan, 422, "unknown_category")


def test_lists_are_cursor_paginated_and_validate_their_parameters(
    client: TestClient, secret_headers: dict[str, str], make_product: MakeProduct
) -> None:
    ids = [make_product().id for _ in range(5)]
    first = client.get("/v1/products?limit=2", headers=secret_headers).json()
    second = client.get(
        "/v1/products", params={"limit": 2, "cursor": first["next_cursor"]}, headers=secret_headers
    ).json()
    last = client.get(
        "/v1/products", params={"limit": 2, "cursor": second["next_cursor"]}, headers=secret_headers
    ).json()
    pages = [first, second, last]
    assert [p["id"] for page in pages for p in page["items"]] == ids
    assert last["next_cursor"] is None
    for bad in ("limit=0", "limit=201", "status=gone", "channel=tv"):
        _problem(client.get(f"/v1/products?{bad}", headers=secret_headers), 422, "validation_error")
    for cursor in ("garbage!", "WyJhIiwiYiJd", "WzFd"):
        response = client.get(f"/v1/products?cursor={cursor}", headers=secret_headers)
        _problem(response, 422, "invalid_cursor")


def test_creating_post_is_idempotent_with_a_key(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    headers = {**secret_headers, "Idempotency-Key": "robe-1"}
    first = client.post("/v1/products", json=ROBE, headers=headers)
    replay = client.post("/v1/products", json=ROBE, headers=headers)
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    listed = client.get("/v1/products", headers=secret_headers).json()["items"]
    assert len(listed) == 1


# ---------------------------------------------------------------------------------------------
# Who may call what


def test_anonymous_callers_get_401(client: TestClient) -> None:
    for method, path in (
        ("GET", "/v1/products"),
        ("POST", "/v1/products"),
        ("GET", "/v1/categories"),
    ):
        response = client.request(method, path, json=ROBE if method == "POST" else None)
        _problem(response, 401, "unauthenticated")


def test_a_publishable_key_reads_published_products_only_and_cannot_write(
    client: TestClient,
    publishable_headers: dict[str, str],
    make_product: MakeProduct,
) -> None:
    published = make_product(status="published", channels=["web"])
    draft = make_product()
    listed = client.get("/v1/products", headers=publishable_headers).json()["items"]
    assert [p["id"] for p in listed] == [published.id]
    drafts = client.get("/v1/products?status=draft", headers=publishable_headers).json()["items"]
    assert [p["id"] for p in drafts] == [published.id], "the status filter cannot reveal drafts"
    assert (
        client.get(f"/v1/products/{published.id}", headers=publishable_headers).status_code == 200
    )
    hidden = client.get(f"/v1/products/{draft.id}", headers=publishable_headers)
    _problem(hidden, 404, "product_not_found")
    write = client.post("/v1/products", json=ROBE, headers=publishable_headers)
    _problem(write, 403, "insufficient_role")
    patch = client.patch(
        f"/v1/products/{draft.id}", json={"name": "x"}, headers=publishable_headers
    )
    _problem(patch, 403, "insufficient_role")


@pytest.mark.parametrize(
    ("role", "can_write"),
    [(Role.ADMIN, True), (Role.MANAGER, True), (Role.MARKETER, False), (Role.ASSOCIATE, False)],
)
def test_staff_roles(
    staff_client: Callable[..., TestClient], make_product: MakeProduct, role: Role, can_write: bool
) -> None:
    make_product()
    client = staff_client(role, stores={"sto_01hzzzzzzzzzzzzzzzzzzzzzzz"})
    assert client.get("/v1/products").status_code == 200
    response = client.post("/v1/products", json=ROBE)
    assert response.status_code == (201 if can_write else 403), response.text


def test_every_catalog_route_declares_exactly_one_access_policy() -> None:
    from parcours.catalog.api import router

    routes = [r for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) == 15
    for route in routes:
        policies = [
            d.call for d in route.dependant.dependencies if isinstance(d.call, AccessPolicy)
        ]
        assert len(policies) == 1, route.path


# ---------------------------------------------------------------------------------------------
# Queries per request (no N+1)


@pytest.mark.parametrize("products", [5, 50])
def test_listing_products_takes_the_same_few_queries_however_many(
    client: TestClient,
    secret_headers: dict[str, str],
    make_product: MakeProduct,
    sql_statements: list[str],
    products: int,
) -> None:
    for n in range(products):
        make_product(
            status="published",
            channels=["web", "store"],
            variants=[
                {"sku": f"P{n}-{size}", "gtin": ean13(n * 10 + i), "attributes": {"taille": size}}
                for i, size in enumerate(("S", "M", "L"))
            ],
        )
    client.get("/v1/products?limit=1", headers=secret_headers)  # caches the API key
    sql_statements.clear()
    response = client.get("/v1/products?limit=50", headers=secret_headers)
    assert len(response.json()["items"]) == products
    assert len(sql_statements) == 3, sql_statements  # products, their variants, their channels

    sql_statements.clear()
    client.get("/v1/search/products?q=article", headers=secret_headers)
    assert len(sql_statements) == 3, sql_statements
