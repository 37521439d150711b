"""The storefront as an installable app: manifest, service worker, offline page, the cookie banner
on every page and the choice a signed-in shopper makes there."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from parcours.core.db import Database
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers import shoppers
from parcours.customers.models import ConsentPurpose, IdentifierKind
from parcours.web.storefront import pwa

SAME_ORIGIN = {"Origin": "https://testserver"}


def test_manifest_makes_the_shop_installable(client: TestClient) -> None:
    answer = client.get("/manifest.webmanifest")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/manifest+json")
    manifest = answer.json()
    assert manifest["name"] == "Parcours"
    assert manifest["short_name"] == "Parcours"
    assert manifest["start_url"] == "/?source=pwa"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["lang"] == "fr"
    assert manifest["categories"] == ["shopping"]
    assert manifest["theme_color"] == "#1f5f8b"
    assert manifest["background_color"]
    sizes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        image = client.get(icon["src"])
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"


def test_pages_link_the_manifest_and_carry_the_banner(client: TestClient) -> None:
    page = client.get("/hors-ligne").text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert 'id="consent"' in page
    assert "Tout accepter" in page
    assert "Tout refuser" in page
    assert "Personnaliser" in page
    assert "Gérer les cookies" in page
    assert 'data-write-key=""' in page  # no key configured: the pages send nothing
    english = client.get("/hors-ligne?lang=en").text
    assert "Accept all" in english
    assert "Refuse all" in english


def test_service_worker_is_served_at_the_root_without_caching(client: TestClient) -> None:
    answer = client.get("/sw.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.headers["cache-control"] == "no-cache"
    body = answer.text
    assert "__CACHE_VERSION__" not in body
    assert "__PRECACHE__" not in body
    assert f'const VERSION = "{pwa.cache_version()}"' in body
    assert '"/hors-ligne"' in body
    assert '"/static/storefront/app.js"' in body
    # Her cart, checkout, account and the API are never kept by the worker.
    for private in ('"/v1/"', '"/panier"', '"/commande"', '"/compte"', '"/associate"'):
        assert private in body


def test_cache_version_follows_the_static_files(tmp_path: Path) -> None:
    (tmp_path / "storefront").mkdir()
    style = tmp_path / "parcours.css"
    style.write_text("body { color: black; }")
    (tmp_path / "storefront" / "app.js").write_text("// one")
    first = pwa.cache_version(tmp_path, version="1.0.0")
    assert first.startswith("1.0.0-")
    assert pwa.cache_version(tmp_path, version="1.0.0") == first  # stable between requests
    style.write_text("body { color: navy; }")
    stamp = time.time() + 5
    os.utime(style, (stamp, stamp))
    second = pwa.cache_version(tmp_path, version="1.0.0")
    assert second != first
    assert pwa.cache_version(tmp_path, version="1.1.0") != second  # a release changes it too


def test_offline_page_says_what_still_works(client: TestClient) -> None:
    answer = client.get("/hors-ligne")
    assert answer.status_code == 200
    assert "Vous êtes hors ligne" in answer.text
    assert "Ce qui marche encore" in answer.text


def test_anonymous_choice_is_kept_in_the_browser_only(client: TestClient, db: Database) -> None:
    answer = client.post(
        "/consentement", json={"analytics": True, "personalisation": False}, headers=SAME_ORIGIN
    )
    assert answer.status_code == 204
    refused = client.post(
        "/consentement",
        json={"analytics": True},
        headers={"Origin": "https://evil.example"},
    )
    assert refused.status_code == 403
    bad = client.post("/consentement", json={"analytics": "maybe"}, headers=SAME_ORIGIN)
    assert bad.status_code == 400


def _signed_in_shopper(
    db: Database, email: str, anonymous_id: str | None = None
) -> tuple[str, str]:
    with UnitOfWork(db) as uow:
        started = shoppers.start_shopper_session(uow=uow, channel="web", anonymous_id=anonymous_id)
        code = shoppers.request_sign_in_code(uow=uow, email=email)
        session = shoppers.sign_in_shopper(
            uow=uow, session=started.session, email=email, code=code, channel="web"
        )
        assert session.profile_id is not None
        profile_id = session.profile_id
        uow.commit()
    return started.token, profile_id


def test_signed_in_choice_becomes_her_consent_and_links_the_browser(
    client: TestClient, db: Database
) -> None:
    # Her session was opened after her consent: it took the browser's first-party id.
    token, profile_id = _signed_in_shopper(db, "jeanne@example.com", "browser-aid-42")
    client.cookies.set("parcours_shopper", token)
    client.cookies.set("parcours_aid", "browser-aid-42")
    answer = client.post(
        "/consentement", json={"analytics": True, "personalisation": False}, headers=SAME_ORIGIN
    )
    assert answer.status_code == 204
    with UnitOfWork(db, read_only=True) as uow:
        current = customers.current_consents(uow=uow, profile_id=profile_id)
        assert current[ConsentPurpose.ANALYTICS].granted is True
        assert current[ConsentPurpose.ANALYTICS].channel == "web"
        assert current[ConsentPurpose.PERSONALISATION].granted is False
        linked = customers.find_profile(
            uow=uow, kind=IdentifierKind.ANONYMOUS_ID, value="browser-aid-42"
        )
        assert linked is not None
        assert linked.id == profile_id
    # The same answer from another device adds no record; a withdrawal does.
    client.post("/consentement", json={"analytics": True}, headers=SAME_ORIGIN)
    client.post("/consentement", json={"analytics": False}, headers=SAME_ORIGIN)
    with UnitOfWork(db, read_only=True) as uow:
        rows, _ = customers.consent_history(uow=uow, profile_id=profile_id)
        analytics = [r.granted for r in rows if r.purpose == ConsentPurpose.ANALYTICS.value]
        assert sorted(analytics) == [False, True]
        assert not customers.current_consents(uow=uow, profile_id=profile_id)[
            ConsentPurpose.ANALYTICS
        ].granted


def test_push_key_and_browser_subscription(client: TestClient, db: Database) -> None:
    from parcours.notifications.models import PushSubscription

    key = client.get("/push/cle")
    assert key.status_code == 200
    public = key.json()["public_key"]
    assert len(public) == 87  # a 65-byte P-256 point, base64url without padding
    subscription = {
        "endpoint": "https://push.example.net/send/abc",
        "keys": {"p256dh": public, "auth": "AAAAAAAAAAAAAAAAAAAAAA"},
    }
    without_session = client.post("/push/abonnement", json=subscription, headers=SAME_ORIGIN)
    assert without_session.status_code == 409
    token, profile_id = _signed_in_shopper(db, "camille@example.com")
    client.cookies.set("parcours_shopper", token)
    assert (
        client.post("/push/abonnement", json=subscription, headers=SAME_ORIGIN).status_code == 204
    )
    with UnitOfWork(db, read_only=True) as uow:
        row = uow.session.scalars(select(PushSubscription)).one()
        assert row.id.startswith("psh_")
        assert row.profile_id == profile_id
        assert row.revoked_at is None
    gone = client.request(
        "DELETE", "/push/abonnement", content=json.dumps(subscription), headers=SAME_ORIGIN
    )
    assert gone.status_code == 204
    with UnitOfWork(db, read_only=True) as uow:
        assert uow.session.scalars(select(PushSubscription)).one().revoked_at is not None


def test_a_browser_id_that_is_not_her_sessions_is_never_linked(
    client: TestClient, db: Database
) -> None:
    """Tracking ids are not secrets: presenting another device's id must not pull that device's
    history into her profile (and her data export)."""
    with UnitOfWork(db) as uow:
        other = customers.identify(uow=uow, anonymous_id="someone-elses-aid", channel="web")
        other_id = other.id
        uow.commit()
    token, profile_id = _signed_in_shopper(db, "lea@example.com")
    client.cookies.set("parcours_shopper", token)
    client.cookies.set("parcours_aid", "someone-elses-aid")
    answer = client.post("/consentement", json={"analytics": True}, headers=SAME_ORIGIN)
    assert answer.status_code == 204
    with UnitOfWork(db, read_only=True) as uow:
        owner = customers.find_profile(
            uow=uow, kind=IdentifierKind.ANONYMOUS_ID, value="someone-elses-aid"
        )
        assert owner is not None
        assert owner.id == other_id
        assert owner.id != profile_id
        assert customers.current_consents(uow=uow, profile_id=profile_id)[
            ConsentPurpose.ANALYTICS
        ].granted


def test_a_push_subscription_is_removed_or_rebound_by_its_own_browser_only(
    client: TestClient, db: Database, app: object
) -> None:
    from parcours.notifications.models import PushSubscription

    public = client.get("/push/cle").json()["public_key"]
    subscription = {
        "endpoint": "https://push.example.net/send/hers",
        "keys": {"p256dh": public, "auth": "QUFBQUFBQUFBQUFBQUFBQQ"},
    }
    token, _ = _signed_in_shopper(db, "camille@example.com")
    client.cookies.set("parcours_shopper", token)
    assert (
        client.post("/push/abonnement", json=subscription, headers=SAME_ORIGIN).status_code == 204
    )
    other_token, _ = _signed_in_shopper(db, "intrus@example.com")
    with TestClient(app, base_url="https://testserver") as other:  # type: ignore[arg-type]
        other.cookies.set("parcours_shopper", other_token)
        endpoint_only = other.request(
            "DELETE",
            "/push/abonnement",
            content=json.dumps({"endpoint": subscription["endpoint"]}),
            headers=SAME_ORIGIN,
        )
        assert endpoint_only.status_code == 403
        assert endpoint_only.json()["code"] == "push_subscription_not_yours"
        rebind = {**subscription, "keys": {"p256dh": public, "auth": "QkJCQkJCQkJCQkJCQkJCQg"}}
        assert other.post("/push/abonnement", json=rebind, headers=SAME_ORIGIN).status_code == 403
        with UnitOfWork(db, read_only=True) as uow:
            row = uow.session.scalars(select(PushSubscription)).one()
            assert (row.auth, row.revoked_at) == ("QUFBQUFBQUFBQUFBQUFBQQ", None)
        # What push.js sends: the whole subscription, whose keys.auth only her browser holds.
        with_secret = other.request(
            "DELETE", "/push/abonnement", content=json.dumps(subscription), headers=SAME_ORIGIN
        )
        assert with_secret.status_code == 204
    with UnitOfWork(db, read_only=True) as uow:
        assert uow.session.scalars(select(PushSubscription)).one().revoked_at is not None
