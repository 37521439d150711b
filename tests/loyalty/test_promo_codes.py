"""Promo codes: what a code takes off a subtotal, when and where it is refused (with a code the
till can show), the cap on uses and uses given back; and the back office's API to manage them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from parcours.core.auth.models import Role
from parcours.core.clock import utcnow
from parcours.core.db import Database
from parcours.core.errors import Conflict, InvalidInput
from parcours.core.uow import UnitOfWork
from parcours.loyalty import service as loyalty
from parcours.loyalty.models import PromoCode


def create(db: Database, code: str, **fields: object) -> None:
    values: dict[str, object] = {"kind": "percent", "value": 10}
    values.update(fields)
    with UnitOfWork(db) as uow:
        loyalty.create_promo_code(uow=uow, code=code, **values)  # type: ignore[arg-type]
        uow.commit()


def quote(
    db: Database, code: str, subtotal: int = 10_000, channel: str | None = "web", **kw: object
) -> loyalty.Discount:
    with UnitOfWork(db, read_only=True) as uow:
        return loyalty.quote_discount(
            uow=uow,
            code=code,
            subtotal=subtotal,
            currency=str(kw.get("currency", "EUR")),
            channel=channel,
            at=kw.get("at", utcnow()),  # type: ignore[arg-type]
        )


def refusal(db: Database, code: str, **kw: object) -> loyalty.PromoCodeRefused:
    with pytest.raises(loyalty.PromoCodeRefused) as refused:
        quote(db, code, **kw)  # type: ignore[arg-type]
    assert refused.value.status == 422
    return refused.value


def test_a_percentage_is_rounded_down_and_an_amount_never_exceeds_the_subtotal(
    db: Database,
) -> None:
    create(db, "dix", kind="percent", value=10)
    create(db, "CINQ-EUROS", kind="amount", value=500)
    assert quote(db, "  dix ", subtotal=5999).amount == 599  # typed in any case, rounded down
    assert quote(db, "DIX", subtotal=5999).code == "DIX"
    assert quote(db, "cinq-euros", subtotal=5999).amount == 500
    assert quote(db, "cinq-euros", subtotal=300).amount == 300


def test_every_refusal_has_a_stable_code(db: Database) -> None:
    now = utcnow()
    create(db, "MIN50", min_subtotal=5000)
    create(db, "LATER", starts_at=now + timedelta(days=1))
    create(db, "OVER", ends_at=now - timedelta(seconds=1), starts_at=now - timedelta(days=9))
    create(db, "STOPPED", active=False)
    create(db, "APPONLY", channels=["app"])
    create(db, "CHF", kind="amount", value=500, currency="CHF")
    create(db, "ONCE", max_redemptions=1)

    minimum = refusal(db, "MIN50", subtotal=4999)
    assert minimum.code == "promo_code_minimum_not_met"
    assert minimum.extra["minimum"] == 5000
    assert minimum.extra["missing"] == 1
    assert "50,00" in minimum.extra["minimum_formatted"]
    assert "50,00" in loyalty.describe_refusal(minimum, "fr")
    assert "50.00" in loyalty.describe_refusal(minimum, "en")
    assert quote(db, "MIN50", subtotal=5000).amount == 500

    assert refusal(db, "NOPE").code == "promo_code_unknown"
    assert refusal(db, "no such code!").code == "promo_code_unknown"
    assert refusal(db, "LATER").code == "promo_code_not_started"
    assert quote(db, "LATER", at=now + timedelta(days=2)).amount == 1000
    assert refusal(db, "OVER").code == "promo_code_expired"
    assert refusal(db, "STOPPED").code == "promo_code_inactive"
    assert refusal(db, "APPONLY", channel="web").code == "promo_code_channel"
    assert quote(db, "APPONLY", channel="app").amount == 1000
    assert quote(db, "APPONLY", channel=None).amount == 1000  # where is not known yet
    assert refusal(db, "CHF").code == "promo_code_currency"
    assert quote(db, "CHF", currency="CHF").amount == 500

    with UnitOfWork(db) as uow:
        loyalty.redeem_promo_code(
            uow=uow, code="ONCE", order_id="ord_1", profile_id=None, amount=1000, at=now
        )
        uow.commit()
    assert refusal(db, "ONCE").code == "promo_code_exhausted"


def test_redemptions_are_capped_and_given_back_once(db: Database) -> None:
    create(db, "DUO", max_redemptions=2)
    now = utcnow()
    with UnitOfWork(db) as uow:
        for order_id in ("ord_a", "ord_b"):
            loyalty.redeem_promo_code(
                uow=uow, code="duo", order_id=order_id, profile_id=None, amount=100, at=now
            )
        uow.commit()
    with UnitOfWork(db) as uow, pytest.raises(Conflict) as refused:
        loyalty.redeem_promo_code(
            uow=uow, code="DUO", order_id="ord_c", profile_id=None, amount=100, at=now
        )
    assert refused.value.code == "promo_code_exhausted"
    with UnitOfWork(db) as uow:
        loyalty.release_redemption(uow=uow, order_id="ord_a")
        loyalty.release_redemption(uow=uow, order_id="ord_a")  # twice: given back once
        loyalty.release_redemption(uow=uow, order_id="ord_unknown")
        uow.commit()
    with UnitOfWork(db) as uow:
        promo = loyalty.get_promo_code_by_code(uow=uow, code="DUO")
        assert promo is not None
        assert promo.redemptions == 1
        loyalty.redeem_promo_code(
            uow=uow, code="DUO", order_id="ord_c", profile_id=None, amount=100, at=now
        )
        uow.commit()
    with UnitOfWork(db, read_only=True) as uow:
        promo = uow.session.query(PromoCode).filter_by(code="DUO").one()
        assert promo.redemptions == 2
        first = loyalty.redemption_of(uow=uow, order_id="ord_a")
        assert first is not None
        assert first.released_at is not None


def test_bad_codes_are_refused_at_creation(db: Database) -> None:
    with UnitOfWork(db) as uow:
        for fields, code in (
            ({"code": "AB"}, "invalid_promo_code_format"),
            ({"code": "ÉTÉ2025"}, "invalid_promo_code_format"),
            ({"value": 101}, "invalid_promo_value"),
            ({"value": 0}, "invalid_promo_value"),
            ({"channels": ["tv"]}, "invalid_promo_channels"),
            (
                {"starts_at": utcnow(), "ends_at": utcnow() - timedelta(days=1)},
                "invalid_promo_period",
            ),
        ):
            values: dict[str, object] = {"code": "GOOD", "kind": "percent", "value": 10}
            values.update(fields)
            with pytest.raises(InvalidInput) as refused:
                loyalty.create_promo_code(uow=uow, **values)  # type: ignore[arg-type]
            assert refused.value.code == code
    create(db, "TAKEN")
    with UnitOfWork(db) as uow, pytest.raises(Conflict) as taken:
        loyalty.create_promo_code(uow=uow, code="taken", kind="amount", value=5)
    assert taken.value.code == "promo_code_taken"


# --- the API --------------------------------------------------------------------------------------


def test_the_back_office_creates_lists_reads_and_stops_codes(
    staff_client: Callable[..., TestClient], client: TestClient, secret_headers: dict[str, str]
) -> None:
    manager = staff_client(Role.MANAGER)
    created = manager.post(
        "/v1/promo-codes",
        json={
            "code": "bienvenue10",
            "description": "Bienvenue : -10 %",
            "kind": "percent",
            "value": 10,
            "min_subtotal": 3000,
            "max_redemptions": 100,
            "channels": ["web", "till"],
        },
        headers={"Idempotency-Key": "promo-1"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["code"] == "BIENVENUE10"
    assert (body["remaining"], body["redemptions"], body["active"]) == (100, 0, True)
    replay = manager.post(
        "/v1/promo-codes",
        json={
            "code": "bienvenue10",
            "description": "Bienvenue : -10 %",
            "kind": "percent",
            "value": 10,
            "min_subtotal": 3000,
            "max_redemptions": 100,
            "channels": ["web", "till"],
        },
        headers={"Idempotency-Key": "promo-1"},
    )
    assert replay.status_code == 201
    assert replay.json()["id"] == body["id"]
    assert replay.headers.get("idempotent-replayed") == "true"

    for n in range(3):
        assert (
            client.post(
                "/v1/promo-codes",
                json={"code": f"PAGE-{n}", "kind": "amount", "value": 500},
                headers=secret_headers,
            ).status_code
            == 201
        )
    first = manager.get("/v1/promo-codes", params={"limit": 2}).json()
    assert [item["code"] for item in first["items"]] == ["PAGE-2", "PAGE-1"]
    rest = manager.get(
        "/v1/promo-codes", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [item["code"] for item in rest["items"]] == ["PAGE-0", "BIENVENUE10"]
    assert rest["next_cursor"] is None

    associate = staff_client(Role.ASSOCIATE, stores={"loc_a"})
    assert associate.get("/v1/promo-codes/bienvenue10").json()["id"] == body["id"]
    assert associate.post("/v1/promo-codes/BIENVENUE10/deactivate").status_code == 403
    stopped = manager.post("/v1/promo-codes/BIENVENUE10/deactivate")
    assert stopped.status_code == 200
    assert stopped.json()["active"] is False
    active = manager.get("/v1/promo-codes", params={"active": "true"}).json()["items"]
    assert "BIENVENUE10" not in [item["code"] for item in active]
    missing = manager.get("/v1/promo-codes/NOPE")
    assert missing.status_code == 404
    assert missing.json()["code"] == "promo_code_not_found"


def test_who_may_manage_codes(
    staff_client: Callable[..., TestClient],
    client: TestClient,
    publishable_headers: dict[str, str],
) -> None:
    body = {"code": "ROLE-TEST", "kind": "percent", "value": 5}
    assert (
        staff_client(Role.ASSOCIATE, stores={"loc_a"})
        .post("/v1/promo-codes", json=body)
        .status_code
        == 403
    )
    assert staff_client(Role.MARKETER).get("/v1/promo-codes").status_code == 403
    assert client.post("/v1/promo-codes", json=body).status_code == 401
    refused = client.get("/v1/promo-codes", headers=publishable_headers)
    assert refused.status_code == 403, "a key shipped in browsers cannot list the codes"
    assert staff_client(Role.ADMIN).post("/v1/promo-codes", json=body).status_code == 201


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"code": "x", "kind": "percent", "value": 10}, "validation_error"),
        ({"code": "OK-CODE", "kind": "half", "value": 10}, "validation_error"),
        ({"code": "OK-CODE", "kind": "percent", "value": 0}, "validation_error"),
        ({"code": "OK-CODE", "kind": "percent", "value": 150}, "invalid_promo_value"),
        ({"code": "OK-CODE", "kind": "amount", "value": 5, "channels": ["tv"]}, "validation_error"),
        (
            {"code": "OK-CODE", "kind": "amount", "value": 5, "starts_at": "2030-01-01T00:00:00"},
            "validation_error",
        ),
        ({"code": "OK-CODE", "kind": "amount", "value": 5, "surprise": 1}, "validation_error"),
    ],
)
def test_bad_input_is_a_problem_document(
    client: TestClient, secret_headers: dict[str, str], body: dict[str, object], code: str
) -> None:
    answer = client.post("/v1/promo-codes", json=body, headers=secret_headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == code
