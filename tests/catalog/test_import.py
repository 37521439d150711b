"""CSV import: documented columns, all or nothing, every bad row reported, re-import idempotent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from parcours.catalog import service
from parcours.catalog.events import PriceChanged, ProductPublished
from parcours.catalog.models import Product, Variant
from parcours.core.auth.models import Role
from parcours.core.errors import InvalidInput
from parcours.core.uow import UnitOfWork

from .conftest import GTINS, MakeProduct

HEADER = (
    "product_slug,product_name,description,brand,category_slug,price_cents,currency,channels,"
    "status,image_urls,sku,gtin,size,colour,variant_price_cents"
)
GOOD = f"""{HEADER}
robe-lin,Robe en lin,"Lin lavé, coupe ample",Maison Lumière,robes,4990,EUR,web|store,published,https://cdn.example/robe.jpg|/media/robe-dos.jpg,ROBE-LIN-S,{GTINS[0]},S,bleu,
robe-lin,,,,,,,,,,ROBE-LIN-M,{GTINS[1]},M,bleu,5490
pantalon-chino,Pantalons chino,,,,5990,,,,,CHINO-40,,40,beige,
"""


def _count(uow: UnitOfWork, model: type[Product] | type[Variant]) -> int:
    return uow.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def robes(uow: UnitOfWork) -> None:
    service.upsert_category(uow=uow, slug="robes", name="Robes")
    uow.commit()


def _report(uow: UnitOfWork, content: str | bytes) -> dict[str, Any]:
    report = service.import_products_csv(uow=uow, text_or_stream=content)
    uow.commit()
    return report.model_dump()


@pytest.mark.usefixtures("robes")
def test_a_good_file_creates_products_and_variants(uow: UnitOfWork) -> None:
    report = _report(uow, GOOD)
    assert report == {
        "rows_read": 3,
        "products_created": 2,
        "products_updated": 0,
        "products_unchanged": 0,
        "variants_created": 3,
        "variants_updated": 0,
        "variants_unchanged": 0,
        "errors": [],
        "errors_not_shown": 0,
    }
    robe = service.get_product_by_slug(uow=uow, slug="robe-lin")
    assert (robe.name, robe.brand, robe.status, robe.price_amount) == (
        "Robe en lin",
        "Maison Lumière",
        "published",
        4990,
    )
    assert robe.description == "Lin lavé, coupe ample"
    assert sorted(c.channel for c in robe.channels) == ["store", "web"]
    assert robe.image_urls == ["https://cdn.example/robe.jpg", "/media/robe-dos.jpg"]
    assert [(v.sku, v.attributes, v.price_amount) for v in robe.variants] == [
        ("ROBE-LIN-S", {"taille": "S", "couleur": "bleu"}, None),
        ("ROBE-LIN-M", {"taille": "M", "couleur": "bleu"}, 5490),
    ]
    chino = service.get_product_by_slug(uow=uow, slug="pantalon-chino")
    assert (chino.status, chino.currency, chino.category_id) == ("draft", "EUR", None)
    assert [p.name for p in service.search_products(uow=uow, query="pantalon").items] == [
        "Pantalons chino"
    ]


@pytest.mark.usefixtures("robes")
def test_importing_the_same_file_again_changes_nothing(uow: UnitOfWork) -> None:
    _report(uow, GOOD)
    again = service.import_products_csv(uow=uow, text_or_stream=GOOD)
    assert (again.products_created, again.products_updated, again.products_unchanged) == (0, 0, 2)
    assert (again.variants_created, again.variants_updated, again.variants_unchanged) == (0, 0, 3)
    assert uow.pending_events == ()


@pytest.mark.usefixtures("robes")
def test_a_changed_file_updates_by_slug_and_sku(uow: UnitOfWork) -> None:
    _report(uow, GOOD)
    changed = GOOD.replace(",4990,EUR,", ",3990,EUR,").replace(
        "CHINO-40,,40,beige,", "CHINO-40,,40,kaki,\npantalon-chino,,,,,,,,,,CHINO-42,,42,kaki,"
    )
    report = service.import_products_csv(uow=uow, text_or_stream=changed)
    assert (report.products_created, report.products_updated, report.products_unchanged) == (
        0,
        2,
        0,
    )
    assert (report.variants_created, report.variants_updated, report.variants_unchanged) == (
        1,
        1,
        2,
    )
    assert [type(e) for e in uow.pending_events] == [PriceChanged]
    uow.commit()
    chino = service.get_product_by_slug(uow=uow, slug="pantalon-chino")
    assert [(v.sku, v.attributes["couleur"]) for v in chino.variants] == [
        ("CHINO-40", "kaki"),
        ("CHINO-42", "kaki"),
    ]


def test_columns_left_out_leave_existing_values_alone(
    uow: UnitOfWork, make_product: MakeProduct
) -> None:
    product = make_product(
        name="Robe",
        slug="robe",
        description="Garder ceci.",
        status="published",
        channels=["web"],
        variants=[
            {"sku": "ROBE-1", "gtin": GTINS[2], "attributes": {"taille": "S", "coupe": "ample"}}
        ],
    )
    report = _report(
        uow, "product_slug,product_name,price_cents,sku,size\nrobe,Robe,4990,ROBE-1,M\n"
    )
    assert report["variants_updated"] == 1
    again = service.get_product(uow=uow, product_id=product.id)
    assert (again.description, again.status, again.variants[0].gtin) == (
        "Garder ceci.",
        "published",
        GTINS[2],
    )
    assert again.variants[0].attributes == {"taille": "M", "coupe": "ample"}


def test_every_bad_row_is_reported_and_nothing_is_written(
    uow: UnitOfWork, make_product: MakeProduct
) -> None:
    make_product(slug="autre", variants=[{"sku": "PRIS-1"}])
    bad = f"""{HEADER}
robe-lin,Robe en lin,,,inconnue,49.90,EUR,web|tv,published,ftp://x,ROBE-LIN-S,{GTINS[0][:-1]}0,S,bleu,
robe-lin,Autre nom,,,,,,,,,ROBE-LIN-M,,M,bleu,-5
Pas Un Slug,Nom,,,,100,,,,,X-1,,,,
ok-produit,OK,,,,100,,,,,OK-1,,,,
ok-produit,,,,,,,,,,OK-1,,,,
ok-produit,,,,,,,,,,PRIS-1,,,,
ok-produit,,,,,,,,,,,,,,
"""
    with pytest.raises(InvalidInput) as rejected:
        service.import_products_csv(uow=uow, text_or_stream=bad)
    assert rejected.value.code == "import_rejected"
    errors = [(e["line"], e["column"]) for e in rejected.value.extra["report"]["errors"]]
    assert (2, "price_cents") in errors
    assert (2, "channels") in errors
    assert (2, "image_urls") in errors
    assert (2, "gtin") in errors
    assert (3, "product_name") in errors, "contradicts the first row of the product"
    assert (3, "variant_price_cents") in errors
    assert (4, "product_slug") in errors
    assert (6, "sku") in errors, "SKU already on line 5"
    assert (7, "sku") in errors, "SKU of another product"
    assert (8, "sku") in errors, "required"
    assert (5, "sku") not in errors
    assert [line for line, _ in errors] == sorted(line for line, _ in errors)
    assert (_count(uow, Product), _count(uow, Variant)) == (1, 1)


def test_an_unknown_category_is_reported_against_its_row(uow: UnitOfWork) -> None:
    with pytest.raises(InvalidInput) as rejected:
        service.import_products_csv(
            uow=uow,
            text_or_stream="product_slug,product_name,price_cents,sku,category_slug\n"
            "a,A,100,A-1,nulle-part\n",
        )
    assert rejected.value.extra["report"]["errors"] == [
        {"line": 2, "column": "category_slug", "message": "no such category"}
    ]


@pytest.mark.parametrize(
    ("content", "column", "message"),
    [
        ("product_slug,product_name,sku\na,A,A-1\n", "price_cents", "required column missing"),
        ("product_slug,product_name,price_cents,sku,prix\n", "prix", "unknown column"),
        ("product_slug,product_name,price_cents,sku,sku\n", "sku", "column given twice"),
    ],
)
def test_header_problems_are_reported_on_line_1(
    uow: UnitOfWork, content: str, column: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as rejected:
        service.import_products_csv(uow=uow, text_or_stream=content)
    assert {"line": 1, "column": column, "message": message} in rejected.value.extra["report"][
        "errors"
    ]


def test_french_spreadsheet_exports_are_read(uow: UnitOfWork) -> None:
    content = "\ufeffproduct_slug;product_name;price_cents;sku;channels;status\r\n"
    content += "bol;Bol en grès;1290;BOL-1;store;published\r\n\r\n"
    report = _report(uow, content.encode("utf-8"))
    assert report["products_created"] == 1
    bol = service.get_product_by_slug(uow=uow, slug="bol")
    assert (bol.name, bol.status) == ("Bol en grès", "published")


def test_import_records_the_same_events_as_the_api(uow: UnitOfWork) -> None:
    service.import_products_csv(
        uow=uow,
        text_or_stream="product_slug,product_name,price_cents,sku,channels,status\n"
        "bol,Bol,1290,BOL-1,store|web,published\n",
    )
    assert [(type(e), getattr(e, "channels", None)) for e in uow.pending_events] == [
        (ProductPublished, ("web", "store"))
    ]


# ---------------------------------------------------------------------------------------------
# Over HTTP


@pytest.mark.usefixtures("robes")
def test_import_over_http_as_csv_body_or_multipart(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    csv_headers = {**secret_headers, "Content-Type": "text/csv; charset=utf-8"}
    response = client.post("/v1/products/import", content=GOOD.encode(), headers=csv_headers)
    assert response.status_code == 200, response.text
    assert response.json()["products_created"] == 2

    upload = client.post(
        "/v1/products/import",
        files={"file": ("catalogue.csv", GOOD.encode(), "text/csv")},
        headers=secret_headers,
    )
    assert upload.status_code == 200, upload.text
    assert upload.json()["products_unchanged"] == 2


def test_bad_rows_over_http_are_a_422_problem_with_the_report(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    bad = "product_slug,product_name,price_cents,sku,gtin\na,A,100,A-1,4006381333932\n"
    response = client.post(
        "/v1/products/import", content=bad, headers={**secret_headers, "Content-Type": "text/csv"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "import_rejected"
    assert body["report"]["errors"] == [
        {
            "line": 2,
            "column": "gtin",
            "message": "check digit of GTIN 4006381333932 is wrong: expected 1",
        }
    ]


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b"\xff\xfe\x00b\x00a\x00d", "text/csv", 422, "csv_unreadable"),
        (b"", "text/csv", 422, "csv_unreadable"),
        (b'{"a": 1}', "application/json", 415, "unsupported_media_type"),
    ],
)
def test_unreadable_uploads_are_clear_problems(
    client: TestClient,
    secret_headers: dict[str, str],
    content: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    response = client.post(
        "/v1/products/import",
        content=content,
        headers={**secret_headers, "Content-Type": content_type},
    )
    assert (response.status_code, response.json()["code"]) == (status, code)


def test_a_multipart_form_without_the_file_field(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    response = client.post(
        "/v1/products/import",
        files={"autre": ("x.csv", b"a", "text/csv")},
        headers=secret_headers,
    )
    assert (response.status_code, response.json()["code"]) == (422, "csv_missing")


def test_only_catalog_writers_may_import(
    client: TestClient, publishable_headers: dict[str, str]
) -> None:
    headers = {"Content-Type": "text/csv"}
    anonymous = client.post("/v1/products/import", content=GOOD, headers=headers)
    assert anonymous.status_code == 401
    storefront = client.post(
        "/v1/products/import", content=GOOD, headers={**headers, **publishable_headers}
    )
    assert storefront.status_code == 403


def test_a_manager_uploads_from_a_page_form_with_the_csrf_field(
    staff_client: Callable[..., TestClient],
) -> None:
    client = staff_client(Role.MANAGER)
    token = client.headers.pop("X-CSRF-Token")
    content = b"product_slug,product_name,price_cents,sku\nbol,Bol,1290,BOL-1\n"
    files = {"file": ("catalogue.csv", content, "text/csv")}
    response = client.post("/v1/products/import", files=files, data={"csrf_token": token})
    assert response.status_code == 200, response.text
    assert response.json()["products_created"] == 1
