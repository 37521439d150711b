"""Scan a product on the associate's tablet: the sheet with stock here, nearby and in the
warehouse; a size only the warehouse holds is ordered for her, to collect here (endless aisle).
A camera scan (Chromium's fake camera playing a video of the label) opens the same sheet."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, Shop
from tests.e2e.conftest import TABLET

from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.inventory import service as inventory
from parcours.orders.models import Order


def test_a_typed_gtin_opens_the_sheet_and_a_warehouse_size_is_ordered_for_her(
    live_server: str,
    tablet: Page,
    shop: Shop,
    db: Database,
    associate: Callable[..., str],
    sign_in: Callable[..., None],
    screenshot: Callable[[Page, str], Path],
) -> None:
    sign_in(tablet, associate(), "/associate/produits")
    code = tablet.get_by_label("Code-barres, référence ou recherche")
    expect(code).to_be_focused()  # a handheld scanner types straight into it
    code.fill(shop.gtins["L"])
    code.press("Enter")

    expect(tablet.get_by_role("heading", name="Pantalon noir")).to_be_visible()
    expect(tablet).to_have_url(re.compile(rf"/associate/produits/{shop.product_id}\?variant="))
    medium = tablet.get_by_test_id("stock-M")
    expect(medium.get_by_test_id("here")).to_have_text("1 en stock")
    expect(medium.get_by_test_id("nearby")).to_contain_text("Parcours PAR-B")
    expect(medium.get_by_test_id("warehouse")).to_have_text("20 en stock")
    large = tablet.get_by_test_id("stock-L")
    expect(large.get_by_test_id("here")).to_have_text("0 en stock")
    expect(large.get_by_test_id("nearby")).to_have_text("—")
    expect(large.get_by_test_id("warehouse")).to_have_text("3 en stock")
    expect(large.get_by_role("button", name="Ajouter la taille L à la vente")).to_have_count(0)
    expect(medium.get_by_role("button", name="Ajouter la taille M à la vente")).to_be_visible()
    screenshot(tablet, "associate-products-sheet")

    large.get_by_role("link", name="Commander la taille L pour elle").click()
    expect(tablet.get_by_role("heading", name="Commander pour elle")).to_be_visible()
    expect(tablet.get_by_test_id("promise-pickup")).to_contain_text("retrait ici à partir de")
    expect(tablet.get_by_test_id("promise-delivery")).to_contain_text("livraison estimée le")
    expect(tablet.get_by_label("Rue")).to_be_hidden()  # asked only for a delivery
    tablet.get_by_label("E-mail de la cliente").fill("ines@example.com")
    screenshot(tablet, "associate-products-endless-aisle")
    tablet.get_by_role("button", name="Valider la commande").click()

    tablet.wait_for_url(re.compile(r"/associate/caisse/commandes/ord_"))
    order_id = tablet.url.rsplit("/", 1)[1]
    with UnitOfWork(db, read_only=True) as uow:
        order = uow.session.scalars(select(Order)).one()
        assert order.id == order_id
        assert (order.origin, order.channel, order.store_id) == (
            "endless_aisle",
            "till",
            shop.store_a,
        )
        assert str(order.placed_by).startswith("usr_")
        assert order.email == "ines@example.com"
        [group] = order.fulfilments
        assert (group.method, group.source_location_id, group.pickup_location_id) == (
            "click_and_collect",
            shop.warehouse,
            shop.store_a,
        )
        assert [line.variant_id for line in order.lines] == [shop.variants["L"]]
        assert order.lines[0].touchpoint == "store"


def test_the_sheet_says_when_a_transfer_arrives_in_the_stores_time_zone(
    live_server: str,
    tablet: Page,
    shop: Shop,
    db: Database,
    associate: Callable[..., str],
    sign_in: Callable[..., None],
    screenshot: Callable[[Page, str], Path],
) -> None:
    # Due at 23:30 UTC on the 23rd: already the 24th in Paris, the day the associate promises.
    with UnitOfWork(db) as uow:
        inventory.create_transfer(
            uow=uow,
            from_location_id=shop.warehouse,
            to_location_id=shop.store_a,
            lines=[(shop.variants["S"], 2), (shop.variants["L"], 1)],
            lead_time=timedelta(days=2),
            now=datetime(2026, 11, 21, 23, 30, tzinfo=UTC),
        )
        inventory.create_transfer(
            uow=uow,
            from_location_id=shop.warehouse,
            to_location_id=shop.store_a,
            lines=[(shop.variants["L"], 1)],
            lead_time=timedelta(days=5),
            now=datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
        )
        uow.commit()
    sign_in(tablet, associate(), f"/associate/produits/{shop.product_id}")
    small = tablet.get_by_test_id("stock-S").get_by_test_id("incoming")
    expect(small).to_have_text(["2 en route, arrivée prévue le 24/11"])
    large = tablet.get_by_test_id("stock-L").get_by_test_id("incoming")
    expect(large).to_have_text(
        ["1 en route, arrivée prévue le 24/11", "1 en route, arrivée prévue le 26/11"]
    )
    expect(tablet.get_by_test_id("stock-M").get_by_test_id("incoming")).to_have_count(0)
    screenshot(tablet, "associate-products-incoming")
    tablet.goto(f"{live_server}/associate/produits/{shop.product_id}?lang=en")
    expect(tablet.get_by_test_id("stock-S").get_by_test_id("incoming")).to_have_text(
        "2 on the way, expected on 24/11"
    )


def test_a_delivery_without_an_address_is_refused_with_a_message(
    live_server: str,
    tablet: Page,
    shop: Shop,
    associate: Callable[..., str],
    sign_in: Callable[..., None],
) -> None:
    sign_in(
        tablet,
        associate(),
        f"/associate/produits/{shop.product_id}/commander?variant={shop.variants['L']}",
    )
    tablet.get_by_label("Livraison à domicile").check()
    tablet.get_by_label("E-mail de la cliente").fill("ines@example.com")
    # The browser asks for the address first; sent anyway, the server says what is missing.
    tablet.evaluate("document.getElementById('order-form').noValidate = true")
    tablet.get_by_role("button", name="Valider la commande").click()
    expect(tablet.get_by_role("alert")).to_have_text(
        "Adresse incomplète : nom, rue, code postal et ville sont nécessaires."
    )
    expect(tablet.get_by_label("Livraison à domicile")).to_be_checked()


def test_words_list_the_products_found(
    live_server: str,
    tablet: Page,
    shop: Shop,
    associate: Callable[..., str],
    sign_in: Callable[..., None],
) -> None:
    sign_in(tablet, associate(), "/associate/produits?code=chaussette+introuvable")
    expect(tablet.get_by_text("Aucun produit ne correspond")).to_be_visible()
    tablet.goto(f"{live_server}/associate/produits?code=PN-M")
    expect(tablet.get_by_test_id("stock-M")).to_have_attribute("aria-current", "true")
    tablet.goto(
        f"{live_server}/associate/produits?code={live_server}/q/{shop.variants['S']}%3Fm%3Dposter"
    )
    expect(tablet.get_by_test_id("stock-S")).to_have_attribute("aria-current", "true")


# --- the camera ---------------------------------------------------------------------------------


def _label_video(gtin: str, path: Path, *, frames: int = 10) -> Path:
    """A short Y4M video of a shelf label (Chromium's fake camera plays it in a loop)."""
    barcode = zxingcpp.create_barcode(gtin, zxingcpp.BarcodeFormat.EAN13)
    bitmap = zxingcpp.write_barcode_to_image(barcode, scale=4)
    height, width = bitmap.shape[:2]
    code = Image.frombytes("L", (width, height), bytes(memoryview(bitmap)))  # type: ignore[arg-type]
    frame = Image.new("L", (640, 480), 230)
    frame.paste(code, ((640 - width) // 2, (480 - height) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * (320 * 240)
    buffer = io.BytesIO()
    buffer.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
    for _ in range(frames):
        buffer.write(b"FRAME\n" + luma + chroma + chroma)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture
def camera_tablet(browser: Browser, tmp_path: Path, shop: Shop) -> Iterator[Page]:
    """A tablet whose camera films the label of size M."""
    video = _label_video(shop.gtins["M"], tmp_path / "label.y4m")
    with_camera = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    context = with_camera.new_context(locale="fr-FR", permissions=["camera"], **TABLET)  # type: ignore[arg-type]
    yield context.new_page()
    context.close()
    with_camera.close()


def test_the_camera_reads_the_label_and_opens_the_sheet(
    live_server: str,
    camera_tablet: Page,
    shop: Shop,
    associate: Callable[..., str],
    sign_in: Callable[..., None],
) -> None:
    sign_in(camera_tablet, associate(), "/associate/produits")
    camera_tablet.get_by_role("button", name="Scanner").click()
    expect(camera_tablet.get_by_role("heading", name="Pantalon noir")).to_be_visible(timeout=15_000)
    expect(camera_tablet).to_have_url(
        re.compile(rf"/associate/produits/{shop.product_id}\?variant={shop.variants['M']}")
    )
    expect(camera_tablet.get_by_test_id("stock-M")).to_have_attribute("aria-current", "true")
