"""The back-office in a browser: a live server over a lake of its own (the shop history of
:mod:`tests.e2e.backoffice.history`), a manager signed in on a 1440×900 desktop."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page
from tests.conftest import free_port
from tests.e2e.backoffice.history import shop_history
from tests.e2e.conftest import ASSOCIATE_PASSWORD

from parcours.app import create_app
from parcours.core.auth.models import Role
from parcours.core.db import Database
from parcours.core.settings import Environment, Settings
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers

#: Where the documentation's screenshots are taken.
WIDE = {"viewport": {"width": 1440, "height": 900}}


class Backoffice:
    """The server's address and its settings (the lake the pages read)."""

    def __init__(self, url: str, settings: Settings) -> None:
        self.url = url
        self.settings = settings


@pytest.fixture(scope="module")
def backoffice_server(database_url: str, db: Database) -> Iterator[Backoffice]:
    lake_dir = Path(tempfile.mkdtemp(prefix="parcours-backoffice-lake-"))
    port = free_port()
    settings = Settings(
        environment=Environment.TEST,
        database_url=database_url,
        host="127.0.0.1",
        port=port,
        relay_in_process=False,
        log_level="WARNING",
        lake_dir=lake_dir,
    )
    app = create_app(settings, database=db)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    try:
        yield Backoffice(f"http://127.0.0.1:{port}", settings)
    finally:
        server.should_exit = True
        thread.join(10)
        shutil.rmtree(lake_dir, ignore_errors=True)


@pytest.fixture
def history(backoffice_server: Backoffice, db: Database) -> str:
    """A fresh history; the shopper who leaves before paying is Camille Dupont, a real profile
    (the dropped list shows her masked). Returns her profile id."""
    with UnitOfWork(db) as uow:
        profile = customers.identify(
            uow=uow,
            traits={
                "first_name": "Camille",
                "last_name": "Dupont",
                "email": "camille.dupont@exemple.fr",
                "city": "Lyon",
            },
            channel="web",
        )
        uow.commit()
        profile_id = profile.id
    lake_dir = backoffice_server.settings.lake_dir
    shutil.rmtree(lake_dir, ignore_errors=True)
    shop_history(lake_dir, identified=profile_id)
    return profile_id


@pytest.fixture
def wide(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="fr-FR", accept_downloads=True, **WIDE)  # type: ignore[arg-type]
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def manager_page(
    wide: Page,
    backoffice_server: Backoffice,
    associate: Callable[..., str],
    history: str,
) -> Page:
    """A manager signed in, on the overview."""
    email = associate(
        "nadia@boutique.example", name="Nadia Benali", role=Role.MANAGER, stores=frozenset()
    )
    wide.goto(f"{backoffice_server.url}/connexion?next=/gestion/parcours")
    wide.get_by_label("Adresse e-mail").fill(email)
    wide.get_by_label("Mot de passe").fill(ASSOCIATE_PASSWORD)
    wide.get_by_role("button", name="Se connecter").click()
    wide.wait_for_url("**/gestion/parcours")
    return wide
