"""Pairing a kiosk in tests, as the store's staff would: a one-time code, entered on the screen."""

from __future__ import annotations

from typing import Protocol

from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.stores import kiosks


class _Browser(Protocol):
    def post(self, url: str, *, data: dict[str, str], follow_redirects: bool) -> object: ...


def issue_pairing_code(db: Database, store_id: str, name: str = "Entrée") -> str:
    """A code an associate of the store would read on her tablet."""
    with UnitOfWork(db) as uow:
        issued = kiosks.start_pairing(uow=uow, store_id=store_id, name=name, created_by=None)
        uow.commit()
    return issued.code


def pair_screen(browser: _Browser, db: Database, store_id: str, store_code: str) -> None:
    """The screen (a TestClient) becomes this store's kiosk: its cookie holds the token."""
    answer = browser.post(
        f"/kiosk/{store_code}/appairer",
        data={"code": issue_pairing_code(db, store_id)},
        follow_redirects=False,
    )
    assert getattr(answer, "status_code", None) == 303, getattr(answer, "text", "")
