"""Decoding a camera frame on the associate's tablet: text and symbology, no lookup."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from tests.carts.conftest import Headers
from tests.carts.test_scan import ean13, photo_of, qr_of
from tests.conftest import Shop

from parcours.core.auth.models import Role


def read(client: TestClient, content: bytes, headers: Headers | None = None):  # type: ignore[no-untyped-def]
    return client.post(
        "/v1/code-reads", files={"image": ("frame.jpg", content, "image/jpeg")}, headers=headers
    )


def test_a_frame_of_a_label_or_a_qr_code_is_read(
    staff_client: Callable[..., TestClient], shop: Shop
) -> None:
    tablet = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    label = read(tablet, photo_of(ean13(shop.gtins["M"])))
    assert label.status_code == 200, label.text
    assert label.json() == {"text": shop.gtins["M"], "symbology": "ean13"}
    card = read(tablet, photo_of(qr_of("LOY-123456"), angle=2))
    assert card.json() == {"text": "LOY-123456", "symbology": "qr"}


def test_garbage_is_422_and_shoppers_may_not_use_it(
    staff_client: Callable[..., TestClient],
    client: TestClient,
    publishable_headers: Headers,
    shop: Shop,
) -> None:
    tablet = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    for content in (b"not an image at all", photo_of(qr_of("x").resize((5, 5)))):
        refused = read(tablet, content)
        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "code_unreadable"
    assert read(client, photo_of(ean13(shop.gtins["M"])), publishable_headers).status_code == 403
