"""An erased customer's calls for an adviser keep no trace of her: who asked (profile, device)
and what she wrote go; the store, the product, the times and the status stay for the counts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from tests.conftest import Shop

from parcours.app import build_bus
from parcours.core.auth import service as auth
from parcours.core.auth.models import Role
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.outbox import Relay
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.stores import service
from parcours.stores.models import AdviceRequest, AdviceStatus

HER_PHONE = "anon-her-phone"
OTHER_PHONE = "anon-other-phone"


def _person(uow: UnitOfWork, email: str, anonymous_id: str | None = None) -> str:
    return customers.identify(
        uow=uow, anonymous_id=anonymous_id, traits={"email": email}, channel="app"
    ).id


def _calls(db: Database, shop: Shop) -> dict[str, Any]:
    """Her calls (signed in, from her phone before she signed in, under a profile merged into
    hers) beside a stranger's and a kiosk's."""
    with UnitOfWork(db) as uow:
        her = _person(uow, "ines@example.com", HER_PHONE)
        older = _person(uow, "ines.pro@example.com")
        customers.merge_profiles(uow=uow, survivor_id=her, merged_id=older, by="stf_x", force=True)
        stranger = _person(uow, "lea@example.com", OTHER_PHONE)

        asked = iter(range(10, 0, -1))

        def ask(**who: Any) -> str:
            return service.request_advice(
                uow=uow,
                store_id=shop.store_a,
                source="app",
                variant_id=shop.variants["M"],
                product_id=shop.product_id,
                # Minutes apart: one device pauses between two calls.
                now=utcnow() - timedelta(minutes=next(asked)),
                **who,
            ).id

        made = {
            "signed_in": ask(profile_id=her, anonymous_id=HER_PHONE, note="Ines, robe rouge"),
            "before_sign_in": ask(anonymous_id=HER_PHONE, note="Je suis en cabine 3"),
            "merged": ask(profile_id=older, note="Rappel pour Ines"),
            "stranger": ask(profile_id=stranger, anonymous_id=OTHER_PHONE, note="Léa, taille 40"),
            "kiosk": service.request_advice(
                uow=uow,
                store_id=shop.store_a,
                source="kiosk",
                anonymous_id="kiosk-session",
                note="Au rayon pantalons",
            ).id,
        }
        adviser = auth.create_staff_user(
            uow=uow,
            email="conseil@parcours.test",
            name="Nora",
            role=Role.ASSOCIATE,
            password="correct horse battery",
            store_ids=frozenset({shop.store_a}),
        )
        service.take_advice_request(uow=uow, request_id=made["signed_in"], staff_id=adviser.id)
        uow.commit()
    return {"her": her, **made}


def _row(db: Database, request_id: str) -> AdviceRequest:
    with UnitOfWork(db, read_only=True) as uow:
        row = uow.session.get(AdviceRequest, request_id)
        assert row is not None
        uow.session.expunge(row)
        return row


def test_erasing_her_blanks_her_calls_and_keeps_the_anonymous_facts(
    db: Database, shop: Shop, staff_client: Callable[..., TestClient], app: Any
) -> None:
    calls = _calls(db, shop)
    before = _row(db, calls["signed_in"])

    erased = staff_client(Role.ADMIN).post(f"/v1/customers/{calls['her']}/erase")
    assert erased.status_code in (200, 201), erased.text
    app.state.relay.run_once()

    for key in ("signed_in", "before_sign_in", "merged"):
        row = _row(db, calls[key])
        assert (row.profile_id, row.anonymous_id, row.note) == (None, None, ""), key
        assert (row.store_id, row.product_id, row.variant_id) == (
            shop.store_a,
            shop.product_id,
            shop.variants["M"],
        ), key
    kept = _row(db, calls["signed_in"])
    assert (kept.status, kept.source) == (AdviceStatus.TAKEN.value, "app")
    assert (kept.requested_at, kept.taken_at) == (before.requested_at, before.taken_at)
    # Other shoppers' calls are theirs and stay as they were.
    stranger = _row(db, calls["stranger"])
    assert (stranger.anonymous_id, stranger.note) == (OTHER_PHONE, "Léa, taille 40")
    assert stranger.profile_id is not None
    assert _row(db, calls["kiosk"]).note == "Au rayon pantalons"


def test_the_relay_runs_the_erasure_once_and_a_second_run_changes_nothing(
    db: Database, shop: Shop
) -> None:
    calls = _calls(db, shop)
    with UnitOfWork(db) as uow:
        customers.erase_profile(uow=uow, profile_id=calls["her"], by="stf_dpo")
        uow.commit()
    bus = build_bus()
    Relay(db, bus).run_once()
    Relay(db, bus).run_once()
    assert _row(db, calls["before_sign_in"]).note == ""
    with UnitOfWork(db) as uow:
        assert service.erase_advice_requests_of(uow=uow, profile_ids=[calls["her"]]) == 0
        assert service.erase_advice_requests_of(uow=uow, profile_ids=[]) == 0
