"""Scanning a photo: the barcode on a label names the size, our printed QR code names the
product and where it was printed; anything else is told apart from a bad photo."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING

import segno
import zxingcpp
from fastapi.testclient import TestClient
from httpx2 import Response
from PIL import Image, ImageDraw, ImageFilter
from tests.carts.conftest import Headers, add, my_cart

from parcours.catalog import service as catalog
from parcours.core.auth.models import Role
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork

if TYPE_CHECKING:
    from tests.conftest import Shop


def photo_of(code: Image.Image, *, angle: float = 4.0) -> bytes:
    """The code as a phone photographs it: on a shelf label, a little skewed, a little blurred,
    saved as a JPEG."""
    label = Image.new("L", (code.width + 240, code.height + 200), 235)
    label.paste(code, (120, 100))
    ImageDraw.Draw(label).text((120, 30), "Pantalon noir 59,90 €", fill=40)
    shot = label.rotate(angle, expand=True, fillcolor=180).filter(ImageFilter.GaussianBlur(0.8))
    buffer = io.BytesIO()
    shot.convert("RGB").save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def ean13(gtin: str) -> Image.Image:
    barcode = zxingcpp.create_barcode(gtin, zxingcpp.BarcodeFormat.EAN13)
    bitmap = zxingcpp.write_barcode_to_image(barcode, scale=4)
    height, width = bitmap.shape[:2]
    # zxing-cpp's Image is a buffer of grey bytes; its stubs do not say so.
    return Image.frombytes("L", (width, height), bytes(memoryview(bitmap)))  # type: ignore[arg-type]


def qr_of(text: str) -> Image.Image:
    buffer = io.BytesIO()
    segno.make_qr(text, error="m").save(buffer, kind="png", scale=8, border=4)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("L")


def scan(client: TestClient, device: Headers, content: bytes, name: str = "photo.jpg") -> Response:
    return client.post("/v1/scans", files={"image": (name, content, "image/jpeg")}, headers=device)


def test_a_photo_of_a_label_barcode_finds_the_size(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop
) -> None:
    phone = shopper("app")
    found = scan(client, phone, photo_of(ean13(shop.gtins["M"])))
    assert found.status_code == 200, found.text
    answer = found.json()
    assert answer["symbology"] == "ean13"
    assert (answer["product_id"], answer["product_name"]) == (shop.product_id, "Pantalon noir")
    assert answer["variant"]["id"] == shop.variants["M"]
    assert answer["variant"]["gtin"] == shop.gtins["M"]
    assert answer["variant"]["price_amount"] == shop.price
    assert [v["sku"] for v in answer["variants"]] == ["PN-S", "PN-M", "PN-L"]
    assert answer["touchpoint"] == {
        "kind": "app",
        "medium": None,
        "campaign": None,
        "store_id": None,
    }


def test_an_associate_scanning_adds_from_the_store(
    shop: Shop, staff_client: Callable[..., TestClient]
) -> None:
    tablet = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    found = scan(tablet, {}, photo_of(ean13(shop.gtins["S"]), angle=-3))
    assert found.status_code == 200, found.text
    assert found.json()["touchpoint"]["kind"] == "store"


def test_our_printed_qr_code_finds_the_product_and_where_it_was_printed(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop
) -> None:
    phone = shopper("app")
    printed = client.get(
        f"/v1/products/{shop.product_id}/qr.png",
        params={"medium": "poster", "campaign": "x"},
        headers={"Authorization": phone["Authorization"]},
    )
    assert printed.status_code == 200, printed.text
    poster = Image.open(io.BytesIO(printed.content)).convert("L")
    found = scan(client, phone, photo_of(poster))
    assert found.status_code == 200, found.text
    answer = found.json()
    assert answer["symbology"] == "qr"
    assert answer["product_id"] == shop.product_id
    assert answer["variant"] is None, "three sizes: she chooses"
    assert len(answer["variants"]) == 3
    assert answer["touchpoint"] == {
        "kind": "print",
        "medium": "poster",
        "campaign": "x",
        "store_id": None,
    }
    cart = my_cart(client, phone)
    line = add(
        client, phone, cart["id"], shop.variants["L"], touchpoint=answer["touchpoint"]
    ).json()["lines"][0]
    assert line["touchpoint"] == answer["touchpoint"]


def test_a_variants_qr_code_names_the_size(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop
) -> None:
    found = scan(
        client,
        shopper("app"),
        photo_of(qr_of(f"https://boutique.example/q/{shop.variants['S']}?m=flyer&c=rentree")),
    )
    assert found.status_code == 200, found.text
    assert found.json()["variant"]["id"] == shop.variants["S"]
    assert found.json()["touchpoint"]["medium"] == "flyer"


def test_a_photo_without_a_code_asks_for_another(
    client: TestClient, shopper: Callable[..., Headers]
) -> None:
    blank = Image.new("L", (640, 480), 200)
    ImageDraw.Draw(blank).ellipse((100, 100, 400, 300), fill=90)
    buffer = io.BytesIO()
    blank.save(buffer, format="PNG")
    answer = scan(client, shopper("app"), buffer.getvalue(), "photo.png")
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "no_code_found"


def test_something_that_is_not_a_picture_is_refused(
    client: TestClient, shopper: Callable[..., Headers]
) -> None:
    for content in (b"%PDF-1.7 not a photo", b"", b"\x89PNG\r\n\x1a\n truncated"):
        answer = scan(client, shopper("app"), content)
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "unreadable_image"


def test_a_phone_photo_of_several_mib_is_read_up_to_the_documented_8_mib(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop
) -> None:
    phone = shopper("app")
    # A JPEG ignores what follows its end marker: a camera's few MiB, same code.
    heavy = photo_of(ean13(shop.gtins["M"])) + b"\0" * (5 * 1_048_576)
    found = scan(client, phone, heavy)
    assert found.status_code == 200, found.text
    assert found.json()["variant"]["id"] == shop.variants["M"]
    too_big = scan(client, phone, b"\xff" * (8 * 1_048_576 + 1))
    assert too_big.status_code == 413
    assert too_big.json()["code"] == "payload_too_large"


def test_a_code_that_is_not_one_of_ours_is_not_found(
    client: TestClient, shopper: Callable[..., Headers], shop: Shop, db: Database
) -> None:
    phone = shopper("app")
    elsewhere = scan(client, phone, photo_of(qr_of("https://example.org/menu?table=4")))
    assert elsewhere.status_code == 404, elsewhere.text
    assert elsewhere.json()["code"] == "scan_not_a_product"
    unknown_product = scan(
        client, phone, photo_of(qr_of("https://boutique.example/q/prd_unknown?m=poster"))
    )
    assert unknown_product.status_code == 404
    assert unknown_product.json()["code"] == "scan_not_a_product"
    someone_elses_barcode = scan(client, phone, photo_of(ean13("4006381333931")))
    assert someone_elses_barcode.status_code == 404
    assert someone_elses_barcode.json()["code"] == "scan_not_a_product"
    with UnitOfWork(db) as uow:
        catalog.update_product(uow=uow, product_id=shop.product_id, status="archived")
        uow.commit()
    no_longer_sold = scan(client, phone, photo_of(ean13(shop.gtins["S"])))
    assert no_longer_sold.status_code == 404


def test_scanning_needs_a_storefront_or_staff(client: TestClient, shop: Shop) -> None:
    assert scan(client, {}, photo_of(ean13(shop.gtins["S"]))).status_code == 401
