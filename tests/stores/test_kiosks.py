"""Kiosks are devices the store's staff pair: a one-time code from the associate app ("Bornes")
gives the screen a long-lived credential; an unpaired screen writes nothing, and a revoked kiosk
stops at its next tap."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.conftest import Shop
from tests.kiosk_pairing import issue_pairing_code, pair_screen

from parcours.carts.models import Cart
from parcours.core.auth.models import Role
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.errors import InvalidInput
from parcours.core.uow import UnitOfWork
from parcours.orders.models import Order
from parcours.stores import kiosks
from parcours.stores.models import AdviceRequest, Kiosk

UNPAIRED = "Cette borne n'est pas encore appairée — demandez à un conseiller."


def _text(answer: object) -> str:
    return html.unescape(getattr(answer, "text", ""))


def _screen(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="https://testserver")


def test_an_associate_pairs_a_kiosk_and_the_screen_keeps_a_hashed_credential(
    app: FastAPI, staff_client: Callable[..., TestClient], shop: Shop, db: Database
) -> None:
    tablet = staff_client(Role.ASSOCIATE, stores={shop.store_b})
    listed = tablet.get("/associate/bornes")
    assert listed.status_code == 200
    assert "Aucune borne n'est encore appairée dans ce magasin." in _text(listed)
    assert tablet.post("/associate/bornes", data={"name": "  "}).status_code == 422
    issued = tablet.post("/associate/bornes", data={"name": "Entrée"})
    assert issued.status_code == 201
    assert issued.headers["cache-control"] == "no-store"
    code = re.search(r'data-testid="pairing-code">([A-Z0-9]{4}-[A-Z0-9]{4})<', issued.text)
    assert code is not None
    link = re.search(r'data-testid="pairing-link" class="pairing-url">([^<]+)<', issued.text)
    assert link is not None
    assert link.group(1).endswith(f"/kiosk/PAR-B/appairer?code={code.group(1)}")

    with _screen(app) as screen:
        before = screen.get("/kiosk/PAR-B")
        assert UNPAIRED in _text(before)
        assert "/kiosk/PAR-B/conseiller" not in before.text  # no write action on show
        # Opening the link pairs nothing (a link preview must not): it fills the form.
        opened = screen.get(f"/kiosk/PAR-B/appairer?code={code.group(1)}")
        assert f'value="{code.group(1)}"' in opened.text
        assert UNPAIRED in _text(screen.get("/kiosk/PAR-B"))
        paired = screen.post(
            "/kiosk/PAR-B/appairer", data={"code": code.group(1).lower()}, follow_redirects=False
        )
        assert paired.status_code == 303
        cookie = next(
            c for c in paired.headers.get_list("set-cookie") if "parcours_kiosk_device=" in c
        )
        for attribute in ("HttpOnly", "Secure", "SameSite=strict", "Path=/kiosk"):
            assert attribute.lower() in cookie.lower()
        token = cookie.split("=", 1)[1].split(";", 1)[0]
        home = screen.get("/kiosk/PAR-B")
        assert "Tout notre catalogue, ici" in _text(home)
        assert UNPAIRED not in _text(home)
        # The code works once.
        again = _screen(app).post("/kiosk/PAR-B/appairer", data={"code": code.group(1)})
        assert again.status_code == 422
        assert "Ce code n'est pas valable" in _text(again)
    with UnitOfWork(db, read_only=True) as uow:
        kiosk = uow.session.scalars(select(Kiosk)).one()
        assert (kiosk.store_id, kiosk.name, kiosk.pairing_hash) == (shop.store_b, "Entrée", None)
        assert kiosk.token_hash is not None
        assert token not in kiosk.token_hash
        assert kiosk.created_by is not None
        assert kiosk.last_seen_at is not None
    shown = tablet.get("/associate/bornes")
    assert "Entrée" in _text(shown)
    assert "Appairée le" in _text(shown)


def test_an_unpaired_screen_writes_nothing(app: FastAPI, shop: Shop, db: Database) -> None:
    with _screen(app) as screen:
        for path, data in (
            ("/kiosk/PAR-B/selection", {"variant_id": shop.variants["M"]}),
            ("/kiosk/PAR-B/conseiller", {}),
            (f"/kiosk/PAR-B/commander/{shop.variants['S']}", {"email": "lea@example.com"}),
            ("/kiosk/PAR-B/telephone", {}),
            ("/kiosk/PAR-B/terminer", {}),
            ("/kiosk/PAR-B/selection/cli_x/retirer", {}),
        ):
            refused = screen.post(path, data=data, follow_redirects=False)
            assert refused.status_code == 403, path
            assert UNPAIRED in _text(refused)
        for path in (
            "/kiosk/PAR-B",
            f"/kiosk/PAR-B/produits/{shop.product_slug}",
            "/kiosk/PAR-B/selection",
            f"/kiosk/PAR-B/commander/{shop.variants['S']}",
        ):
            assert UNPAIRED in _text(screen.get(path)), path
        english = screen.get("/kiosk/PAR-B?lang=en")
        assert "This kiosk is not paired yet — please ask an adviser." in _text(english)
        # A forged cookie is no credential.
        screen.cookies.set("parcours_kiosk_device", "forged", path="/kiosk")
        forged = screen.post("/kiosk/PAR-B/conseiller", data={}, follow_redirects=False)
        assert forged.status_code == 403
    with UnitOfWork(db, read_only=True) as uow:
        for table in (Cart, Order, AdviceRequest):
            assert uow.session.scalar(select(func.count()).select_from(table)) == 0


def test_a_kiosk_is_paired_with_its_own_store_only(
    app: FastAPI, client: TestClient, shop: Shop, db: Database
) -> None:
    other_stores_code = issue_pairing_code(db, shop.store_a)
    refused = client.post("/kiosk/PAR-B/appairer", data={"code": other_stores_code})
    assert refused.status_code == 422
    pair_screen(client, db, shop.store_a, "PAR-A")
    # Store A's credential is nothing at store B.
    assert UNPAIRED in _text(client.get("/kiosk/PAR-B"))
    assert client.post("/kiosk/PAR-B/conseiller", follow_redirects=False).status_code == 403
    assert "Tout notre catalogue, ici" in _text(client.get("/kiosk/PAR-A"))


def test_an_expired_or_guessed_code_pairs_nothing(shop: Shop, uow: UnitOfWork) -> None:
    issued = kiosks.start_pairing(
        uow=uow,
        store_id=shop.store_b,
        name="Rayon homme",
        created_by=None,
        now=utcnow() - kiosks.PAIRING_LIFETIME - timedelta(seconds=1),
    )
    for code in (issued.code, "AAAA-AAAA", ""):
        with pytest.raises(InvalidInput, match="wrong, used or expired"):
            kiosks.pair_kiosk(uow=uow, store_id=shop.store_b, code=code)
    # An expired pairing leaves the list; a waiting one is shown until it is used.
    assert kiosks.list_kiosks(uow=uow, store_id=shop.store_b) == []


def test_revoking_a_kiosk_stops_it_at_once(
    client: TestClient, staff_client: Callable[..., TestClient], shop: Shop, db: Database
) -> None:
    pair_screen(client, db, shop.store_b, "PAR-B")
    assert (
        client.post(
            "/kiosk/PAR-B/selection",
            data={"variant_id": shop.variants["M"]},
            follow_redirects=False,
        ).status_code
        == 303
    )
    with UnitOfWork(db, read_only=True) as uow:
        kiosk_id = uow.session.scalars(select(Kiosk.id)).one()
    # Another store's associate acts for her store: B's kiosk is not hers to revoke.
    theirs = staff_client(Role.ASSOCIATE, stores={shop.store_a})
    theirs.post(f"/associate/bornes/{kiosk_id}/revoquer")
    assert "Tout notre catalogue, ici" in _text(client.get("/kiosk/PAR-B"))

    manager = staff_client(Role.MANAGER, stores={shop.store_b})
    manager.cookies.set("parcours_store", shop.store_b)
    revoked = manager.post(f"/associate/bornes/{kiosk_id}/revoquer", follow_redirects=False)
    assert revoked.status_code == 303
    assert "ne peut plus rien faire" in _text(manager.get(revoked.headers["location"]))
    # The very next tap is refused, and the screen says to ask an adviser.
    refused = client.post(
        "/kiosk/PAR-B/selection", data={"variant_id": shop.variants["M"]}, follow_redirects=False
    )
    assert refused.status_code == 403
    assert UNPAIRED in _text(refused)
    assert UNPAIRED in _text(client.get("/kiosk/PAR-B/selection"))
    with UnitOfWork(db, read_only=True) as uow:
        assert uow.session.get(Kiosk, kiosk_id).revoked_at is not None  # type: ignore[union-attr]
    assert "Aucune borne n'est encore appairée" in _text(manager.get("/associate/bornes"))
