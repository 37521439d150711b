"""Printable QR codes: what they encode, that they scan, and where their short links land."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from parcours.catalog.models import Product
from parcours.catalog.qr import PrintMedium, landing_path, short_url

from .conftest import MakeProduct

BASE_URL = "http://127.0.0.1:8000"  # the test settings' base_url


@pytest.fixture
def robe(make_product: MakeProduct) -> Product:
    return make_product(
        name="Robe d'été",
        status="published",
        channels=["web"],
        variants=[{"sku": "ROBE-S"}, {"sku": "ROBE-M"}],
    )


def _decode_png(content: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(content)))
    assert len(results) == 1
    text: str = results[0].text
    return text


def test_short_urls_and_landing_pages() -> None:
    assert (
        short_url(base_url=BASE_URL + "/", target_id="prd_x", medium=PrintMedium.SHELF_LABEL)
        == f"{BASE_URL}/q/prd_x?m=shelf_label"
    )
    assert landing_path(
        slug="robe", variant_id="var_1", medium=PrintMedium.POSTER, campaign="ete"
    ) == ("/produits/robe?variant=var_1&utm_source=poster&utm_medium=print&utm_campaign=ete")
    assert landing_path(slug="robe") == "/produits/robe"


def test_the_png_scans_back_to_the_short_url(
    client: TestClient, secret_headers: dict[str, str], robe: Product
) -> None:
    response = client.get(
        f"/v1/products/{robe.id}/qr.png",
        params={"medium": "magazine", "campaign": "printemps-2025"},
        headers=secret_headers,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"] == 'inline; filename="robe-d-ete-magazine.png"'
    assert _decode_png(response.content) == f"{BASE_URL}/q/{robe.id}?m=magazine&c=printemps-2025"


def test_a_variant_gets_its_own_code(
    client: TestClient, secret_headers: dict[str, str], robe: Product
) -> None:
    variant_id = robe.variants[1].id
    response = client.get(
        f"/v1/products/{robe.id}/qr.png",
        params={"medium": "shelf_label", "variant": variant_id},
        headers=secret_headers,
    )
    assert response.status_code == 200, response.text
    assert _decode_png(response.content) == f"{BASE_URL}/q/{variant_id}?m=shelf_label"


def test_the_svg_is_an_svg_document(
    client: TestClient, publishable_headers: dict[str, str], robe: Product
) -> None:
    response = client.get(
        f"/v1/products/{robe.id}/qr.svg", params={"medium": "poster"}, headers=publishable_headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.text.startswith("<svg")
    assert "<title>Robe d'été</title>" in response.text


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"medium": "television"}, 422, "validation_error"),
        ({}, 422, "validation_error"),
        ({"medium": "poster", "campaign": "été 2025"}, 422, "validation_error"),
        ({"medium": "poster", "campaign": "x" * 65}, 422, "validation_error"),
        (
            {"medium": "poster", "variant": "var_01hzzzzzzzzzzzzzzzzzzzzzzz"},
            404,
            "variant_not_found",
        ),
    ],
)
def test_bad_qr_requests_are_clear_problems(
    client: TestClient,
    secret_headers: dict[str, str],
    robe: Product,
    params: dict[str, str],
    status: int,
    code: str,
) -> None:
    response = client.get(f"/v1/products/{robe.id}/qr.svg", params=params, headers=secret_headers)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert response.headers["content-type"] == "application/problem+json"


def test_a_code_of_an_unknown_product_is_404(
    client: TestClient, secret_headers: dict[str, str]
) -> None:
    response = client.get("/v1/products/nope/qr.png?medium=poster", headers=secret_headers)
    assert (response.status_code, response.json()["code"]) == (404, "product_not_found")


def test_qr_images_need_a_catalog_reader(client: TestClient, robe: Product) -> None:
    response = client.get(f"/v1/products/{robe.id}/qr.png?medium=poster")
    assert response.status_code == 401


def test_scanning_lands_on_the_product_page_with_attribution(
    client: TestClient, robe: Product
) -> None:
    response = client.get(
        f"/q/{robe.id}", params={"m": "poster", "c": "soldes-ete"}, follow_redirects=False
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert location.path == "/produits/robe-d-ete"
    assert parse_qs(location.query) == {
        "utm_source": ["poster"],
        "utm_medium": ["print"],
        "utm_campaign": ["soldes-ete"],
    }
    assert response.headers["cache-control"] == "no-store"


def test_a_variant_code_lands_on_its_variant(client: TestClient, robe: Product) -> None:
    variant_id = robe.variants[0].id
    response = client.get(f"/q/{variant_id}?m=shelf_label", follow_redirects=False)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query == {
        "variant": [variant_id],
        "utm_source": ["shelf_label"],
        "utm_medium": ["print"],
    }


def test_a_tampered_attribution_still_lands(client: TestClient, robe: Product) -> None:
    response = client.get(f"/q/{robe.id}?m=tv&c=<script>", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "/produits/robe-d-ete"


@pytest.mark.parametrize(
    "target", ["prd_01hzzzzzzzzzzzzzzzzzzzzzzz", "var_01hzzzzzzzzzzzzzzzzzzzzzzz", "nope"]
)
def test_an_unknown_short_link_is_a_404_problem(client: TestClient, target: str) -> None:
    response = client.get(f"/q/{target}", follow_redirects=False)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "qr_target_not_found"
