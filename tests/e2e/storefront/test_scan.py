"""Journey 2, scan a poster: her phone's camera (Chromium's fake camera playing a video made from
the poster's QR code) reads the code in the page, and the product lands in her cart with the
print touchpoint: the poster and its campaign. Without a camera, a photo does the same."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import segno
from PIL import Image, ImageDraw, ImageFilter
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, Shop
from tests.e2e.conftest import PHONE

from parcours.carts.models import CartLine
from parcours.catalog import qr
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork

WIDTH, HEIGHT = 640, 480


def refuse_cookies(page: Page) -> None:
    """Answer the cookie banner (refusing is one tap), so it covers nothing in the pictures."""
    refuse = page.get_by_role("button", name="Tout refuser")
    refuse.click()
    expect(refuse).to_be_hidden()


def _poster(url: str) -> Image.Image:
    """A camera frame of the poster: a light wall, the poster, its QR code (as segno prints it)."""
    buffer = io.BytesIO()
    segno.make_qr(url, error="m").save(buffer, kind="png", scale=7, border=3)
    code = Image.open(buffer).convert("L")
    frame = Image.new("L", (WIDTH, HEIGHT), 205)
    draw = ImageDraw.Draw(frame)
    left, top = (WIDTH - code.width) // 2, (HEIGHT - code.height) // 2
    draw.rectangle((left - 40, top - 30, left + code.width + 40, top + code.height + 30), fill=250)
    frame.paste(code, (left, top))
    return frame


def poster_video(url: str, path: Path, *, blurred: int = 20, sharp: int = 20) -> Path:
    """A Y4M video (Chromium's fake camera plays it in a loop): the camera focusing on the
    poster, blurred (unreadable) for ``blurred`` frames at 10 fps, then sharp."""
    sharp_frame = _poster(url)
    soft_frame = sharp_frame.filter(ImageFilter.GaussianBlur(7))
    chroma = bytes([128]) * ((WIDTH // 2) * (HEIGHT // 2))
    out = io.BytesIO()
    out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
    for frame in [soft_frame] * blurred + [sharp_frame] * sharp:
        out.write(b"FRAME\n" + frame.tobytes() + chroma + chroma)
    path.write_bytes(out.getvalue())
    return path


@pytest.fixture
def camera_phone(browser: Browser, tmp_path: Path, shop: Shop, live_server: str) -> Iterator[Page]:
    """A phone whose camera films the poster of size S, campaign "soldes-ete"."""
    url = qr.short_url(
        base_url=live_server,
        target_id=shop.variants["S"],
        medium=qr.PrintMedium.POSTER,
        campaign="soldes-ete",
    )
    video = poster_video(url, tmp_path / "poster.y4m")
    # A second Chromium from the same Playwright driver (one driver per run is allowed): the
    # fake camera is a launch flag.
    with_camera = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    context = with_camera.new_context(locale="fr-FR", permissions=["camera"], **PHONE)  # type: ignore[arg-type]
    yield context.new_page()
    context.close()
    with_camera.close()


def test_the_camera_reads_the_poster_and_the_product_lands_in_her_cart(
    live_server: str,
    camera_phone: Page,
    shop: Shop,
    db: Database,
    screenshot: Callable[[Page, str], Path],
) -> None:
    page = camera_phone
    page.goto(f"{live_server}/")
    refuse_cookies(page)
    page.get_by_role("link", name="Scanner", exact=True).click()
    expect(page.get_by_role("heading", name="Scanner un article")).to_be_visible()
    # Permission already granted: the camera starts by itself (no tap needed), the decoder is
    # the vendored WebAssembly one (Chromium on Linux has no BarcodeDetector).
    assert page.evaluate("'BarcodeDetector' in window") is False
    expect(page.locator(".scan-view")).to_have_attribute("data-state", "running", timeout=15_000)
    expect(page.locator("#scan-status")).to_have_text("Cadrez le code dans le carré.")
    screenshot(page, "storefront-scan-phone")

    expect(page).to_have_url(re.compile(r"/panier\?ajoute=1$"), timeout=20_000)
    expect(page.get_by_text("C'est dans votre panier.")).to_be_visible()
    line = page.get_by_test_id("cart-lines").get_by_role("listitem").first
    expect(line).to_contain_text("Pantalon noir")
    expect(line).to_contain_text("scanné sur un imprimé")
    with UnitOfWork(db, read_only=True) as uow:
        stored = uow.session.scalars(select(CartLine)).one()
        assert (stored.variant_id, stored.touchpoint, stored.medium, stored.campaign) == (
            shop.variants["S"],
            "print",
            "poster",
            "soldes-ete",
        )


def test_without_a_camera_a_photo_of_the_code_does_it(
    live_server: str,
    desktop: Page,
    shop: Shop,
    db: Database,
    tmp_path: Path,
    screenshot: Callable[[Page, str], Path],
) -> None:
    page = desktop
    page.goto(f"{live_server}/scanner")
    refuse_cookies(page)
    page.get_by_role("button", name="Activer la caméra").click()
    # No camera on this computer (or refused): she is told, and the photo form stands out.
    expect(page.locator(".scan-photo.highlight")).to_be_visible()
    expect(page.locator("#scan-status")).to_have_text(re.compile(r"Aucune caméra|refusé l'accès"))
    screenshot(page, "storefront-scan-desktop")
    photo = tmp_path / "label.png"
    segno.make_qr(f"{live_server}/q/{shop.product_id}?m=flyer&c=rentree").save(str(photo), scale=8)
    page.get_by_label("Prendre une photo du code").set_input_files(str(photo))
    # The code names the product, not a size: she picks hers, the flyer rides along.
    expect(page.get_by_role("heading", name="Choisissez votre taille")).to_be_visible()
    page.get_by_role("button", name="Ajouter la taille M au panier").click()
    expect(page.get_by_text("C'est dans votre panier.")).to_be_visible()
    with UnitOfWork(db, read_only=True) as uow:
        stored = uow.session.scalars(select(CartLine)).one()
        assert (stored.variant_id, stored.touchpoint, stored.medium, stored.campaign) == (
            shop.variants["M"],
            "print",
            "flyer",
            "rentree",
        )
