"""The in-store kiosk and the shopper's scanner as pages: what they show, what they refuse."""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta
from typing import Protocol

import pytest
import segno
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.conftest import Shop
from tests.kiosk_pairing import pair_screen

from parcours.carts.models import Cart, CartLine
from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers.models import ShopperSession
from parcours.orders.models import Order
from parcours.stores.models import AdviceRequest


class _Answer(Protocol):
    @property
    def text(self) -> str: ...


def _read(answer: _Answer) -> str:
    """The page's text as a shopper reads it (Jinja escapes apostrophes)."""
    return html.unescape(answer.text)


# --- the kiosk ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _paired_kiosk(client: TestClient, db: Database, shop: Shop) -> None:
    """The test client is store B's kiosk, paired by its staff (an unpaired screen writes
    nothing: tests/stores/test_kiosks.py)."""
    pair_screen(client, db, shop.store_b, "PAR-B")


def test_an_unknown_store_or_a_warehouse_has_no_kiosk(client: TestClient, shop: Shop) -> None:
    for code in ("NOPE", "WH"):
        answer = client.get(f"/kiosk/{code}")
        assert answer.status_code == 404
        assert "Aucune borne n'existe à cette adresse." in _read(answer)
    refused = client.post("/kiosk/WH/selection", data={"variant_id": shop.variants["M"]})
    assert refused.status_code == 404


def test_the_product_shows_each_size_across_the_network(client: TestClient, shop: Shop) -> None:
    page = client.get(f"/kiosk/PAR-B/produits/{shop.product_slug}?variant={shop.variants['S']}")
    assert page.status_code == 200
    text = _read(page)
    stock = text[text.index('data-testid="network-stock"') :]
    assert "Cette taille n'est pas disponible ici." in stock
    # Here first, then the other store with its distance, then the warehouse.
    here, store_a, warehouse = (
        stock.index("Ici, Parcours PAR-B"),
        stock.index("Parcours PAR-A"),
        stock.index("Entrepôt"),
    )
    assert here < store_a < warehouse
    assert re.search(
        r"Parcours PAR-A <span class=\"muted\">· \d+,\d km</span></span><strong>5 en", stock
    )
    assert "20 en stock" in stock
    assert "Commander : retrait ici ou livraison" in stock
    in_stock = client.get(f"/kiosk/PAR-B/produits/{shop.product_slug}?variant={shop.variants['M']}")
    assert "En rayon ici : 2 disponible(s)." in _read(in_stock)


def test_the_selection_is_the_kiosks_own_and_the_reset_sets_it_aside(
    client: TestClient, shop: Shop, db: Database
) -> None:
    added = client.post(
        "/kiosk/PAR-B/selection", data={"variant_id": shop.variants["M"]}, follow_redirects=False
    )
    assert added.status_code == 303
    assert "ajoute=1" in added.headers["location"]
    # The kiosk's session is scoped to the kiosk pages, apart from a phone's shopper cookie.
    assert "Path=/kiosk" in added.headers["set-cookie"]
    assert _read(client.get("/kiosk/PAR-B/selection")).count("Retirer Pantalon noir M") == 1
    with UnitOfWork(db, read_only=True) as uow:
        cart = uow.session.scalars(select(Cart)).one()
        line = uow.session.scalars(select(CartLine)).one()
        assert (cart.channel, cart.store_id, cart.status) == ("kiosk", shop.store_b, "active")
        assert (line.touchpoint, line.touchpoint_store_id) == ("kiosk", shop.store_b)
    ended = client.post("/kiosk/PAR-B/terminer", follow_redirects=False)
    assert ended.status_code == 303
    assert ended.headers["location"] == "/kiosk/PAR-B"
    assert "Votre sélection est vide." in _read(client.get("/kiosk/PAR-B/selection"))
    with UnitOfWork(db, read_only=True) as uow:
        assert uow.session.scalars(select(Cart.status)).one() == "abandoned"
        assert uow.session.scalars(select(ShopperSession.ended_at)).one() is not None


def test_a_used_or_unknown_handoff_says_so_and_a_second_phone_gets_nothing(
    client: TestClient, shop: Shop, app: object
) -> None:
    assert client.get("/panier/reprendre/not-a-token").status_code == 410
    client.post("/kiosk/PAR-B/selection", data={"variant_id": shop.variants["M"]})
    sent = client.post("/kiosk/PAR-B/telephone")
    assert sent.status_code == 200
    url = re.search(r'data-url="([^"]+)"', sent.text)
    assert url is not None
    path = url.group(1).split("testserver", 1)[-1].replace("http://127.0.0.1:8000", "")
    path = path[path.index("/panier/reprendre/") :]
    with TestClient(app, base_url="https://testserver") as phone:  # type: ignore[arg-type]
        preview = phone.get(path)
        assert preview.status_code == 200
        assert "Pantalon noir" in _read(preview)
        taken = phone.post(path, follow_redirects=False)
        assert taken.status_code == 303
        assert taken.headers["location"] == "/panier?ajoute=1"
        assert "Pantalon noir" in phone.get("/panier").text
    with TestClient(app, base_url="https://testserver") as other:  # type: ignore[arg-type]
        again = other.get(path)
        assert again.status_code == 410
        assert "Ce code a déjà servi" in _read(again)
        assert other.post(path).status_code == 410


def test_an_order_for_pickup_here_and_an_adviser_call(
    client: TestClient, shop: Shop, db: Database
) -> None:
    form = client.get(f"/kiosk/PAR-B/commander/{shop.variants['S']}")
    assert form.status_code == 200
    assert "Retrait ici, Parcours PAR-B" in _read(form)
    refused = client.post(
        f"/kiosk/PAR-B/commander/{shop.variants['S']}",
        data={"method": "pickup", "email": "pas un email"},
    )
    assert refused.status_code == 422
    assert "Cette adresse e-mail ne semble pas valide." in _read(refused)
    no_address = client.post(
        f"/kiosk/PAR-B/commander/{shop.variants['S']}",
        data={"method": "delivery", "email": "lea@example.com"},
    )
    assert no_address.status_code == 422
    assert "remplissez le nom" in _read(no_address)
    placed = client.post(
        f"/kiosk/PAR-B/commander/{shop.variants['S']}",
        data={"method": "pickup", "email": "lea@example.com"},
        follow_redirects=False,
    )
    assert placed.status_code == 303, placed.text
    page = client.get(placed.headers["location"])
    assert "Commande enregistrée" in _read(page)
    assert 'data-testid="pay-qr"' in _read(page)
    assert "Ou en caisse" in _read(page)
    with UnitOfWork(db, read_only=True) as uow:
        order = uow.session.scalars(select(Order)).one()
        assert (order.channel, order.origin, order.store_id, order.email) == (
            "kiosk",
            "kiosk",
            shop.store_b,
            "lea@example.com",
        )
        assert order.fulfilments[0].pickup_location_id == shop.store_b
        assert order.number in _read(page)
    called = client.post(
        "/kiosk/PAR-B/conseiller",
        data={"variant_id": shop.variants["S"], "next": "/kiosk/PAR-B/produits/x?conseiller=1"},
        follow_redirects=False,
    )
    assert called.headers["location"] == "/kiosk/PAR-B/produits/x?conseiller=1"
    with UnitOfWork(db) as uow:
        advice = uow.session.scalars(select(AdviceRequest)).one()
        assert (advice.store_id, advice.source, advice.variant_id) == (
            shop.store_b,
            "kiosk",
            shop.variants["S"],
        )
        assert advice.kiosk_id is not None  # the paired kiosk is the device that called
        advice.requested_at -= timedelta(seconds=31)  # past the pause between two calls
        uow.commit()
    # Somewhere else than this kiosk: back to its home, never an open redirect.
    elsewhere = client.post(
        "/kiosk/PAR-B/conseiller", data={"next": "https://evil.example/"}, follow_redirects=False
    )
    assert elsewhere.headers["location"] == "/kiosk/PAR-B?conseiller=1"


# --- the scanner ---------------------------------------------------------------------------------


def test_a_typed_gtin_and_a_scanned_poster_code_go_into_her_cart(
    client: TestClient, shop: Shop, db: Database
) -> None:
    page = client.get("/scanner")
    assert page.status_code == 200
    assert 'capture="environment"' in _read(page)
    typed = client.post("/scanner/code", data={"code": shop.gtins["M"]}, follow_redirects=False)
    assert typed.headers["location"] == "/panier?ajoute=1"
    poster = client.post(
        "/scanner/code",
        data={"code": f"https://shop.example/q/{shop.variants['S']}?m=poster&c=soldes-ete"},
        follow_redirects=False,
    )
    assert poster.headers["location"] == "/panier?ajoute=1"
    with UnitOfWork(db, read_only=True) as uow:
        lines = {line.variant_id: line for line in uow.session.scalars(select(CartLine))}
        assert (lines[shop.variants["M"]].touchpoint, lines[shop.variants["M"]].medium) == (
            "web",
            None,
        )
        scanned = lines[shop.variants["S"]]
        assert (scanned.touchpoint, scanned.medium, scanned.campaign) == (
            "print",
            "poster",
            "soldes-ete",
        )


def test_a_product_code_without_a_size_asks_for_the_size(client: TestClient, shop: Shop) -> None:
    answer = client.post(
        "/scanner/code",
        data={"code": f"https://shop.example/q/{shop.product_id}?m=magazine"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == f"/scanner/produits/{shop.product_id}?m=magazine"
    sizes = client.get(answer.headers["location"])
    assert 'name="medium" value="magazine"' in _read(sizes)
    assert "Ajouter la taille S au panier" in _read(sizes)


def test_a_photo_of_a_code_is_read_on_the_server_and_refusals_are_clear(
    client: TestClient, shop: Shop, db: Database
) -> None:
    image = io.BytesIO()
    segno.make_qr(f"https://shop.example/q/{shop.variants['L']}?m=flyer").save(
        image, kind="png", scale=8
    )
    sent = client.post(
        "/scanner/photo",
        files={"photo": ("code.png", image.getvalue(), "image/png")},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    with UnitOfWork(db, read_only=True) as uow:
        line = uow.session.scalars(select(CartLine)).one()
        assert (line.variant_id, line.touchpoint, line.medium) == (
            shop.variants["L"],
            "print",
            "flyer",
        )
    not_ours = client.post("/scanner/code", data={"code": "https://elsewhere.example/x"})
    assert not_ours.status_code == 404
    assert "pas celui d'un de nos articles" in _read(not_ours)
    not_a_photo = client.post(
        "/scanner/photo", files={"photo": ("code.png", b"not an image", "image/png")}
    )
    assert not_a_photo.status_code == 422
    assert "n'est pas une photo" in _read(not_a_photo)
    # A kiosk's "send to my phone" code read with the in-app scanner opens its page.
    kiosk_code = client.post(
        "/scanner/code",
        data={"code": "https://shop.example/panier/reprendre/abc"},
        follow_redirects=False,
    )
    assert kiosk_code.headers["location"] == "/panier/reprendre/abc"
