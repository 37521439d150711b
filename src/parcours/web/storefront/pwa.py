"""The storefront as an installable app: the web app manifest, the service worker (offline
catalogue, cache versioning, web push display), the offline page, the shopper's cookie choices
sent back from the consent banner, and the browser's web push subscription.

The service worker is served from the root (``/sw.js``) so its scope is the whole shop, with
``Cache-Control: no-cache`` so the browser checks for a new one on every visit; its cache version
is the package version plus a hash of the static files, so a deploy that changes a stylesheet
empties the old caches.
"""

from __future__ import annotations

import hashlib
import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError

import parcours
from parcours.core.auth.principal import PUBLIC, Principal
from parcours.core.deps import SettingsDep, UowDep
from parcours.core.errors import DomainError
from parcours.core.settings import Environment, Settings
from parcours.core.uow import UnitOfWork
from parcours.customers import service as customers
from parcours.customers import shoppers
from parcours.customers.http import shopper_token
from parcours.customers.models import ConsentPurpose, IdentifierKind, ShopperSession
from parcours.notifications import service as notifications
from parcours.notifications.push import vapid_keys
from parcours.web.rendering import page_locale, render
from parcours.web.storefront.session import open_shopper_session, set_shopper_cookie

log = logging.getLogger("parcours.web")

router = APIRouter(include_in_schema=False)
PublicDep = Annotated[Principal, Depends(PUBLIC)]

WEB_DIR = Path(__file__).resolve().parent.parent
STATIC_DIR = WEB_DIR / "static"
SW_SOURCE = STATIC_DIR / "storefront" / "sw.js"
#: What the service worker keeps from its installation on: enough to show the offline page
#: with the shop's look, and the shell module every page loads.
PRECACHE = (
    "/hors-ligne",
    "/static/parcours.css",
    "/static/storefront/pwa.css",
    "/static/storefront/app.js",
    "/static/parcours-track.js",
    "/static/storefront/icons/icon-192.png",
)
#: The files whose change must reach every installed app (they go into the cache version).
VERSIONED = (
    "parcours.css",
    "parcours-track.js",
    "storefront",
)
#: The wording of the banner the shopper answered: stored with her consent record.
CONSENT_WORDING = "banner-2026-11"
#: The first-party id the tracking module keeps after analytics consent (parcours-track.js).
ANONYMOUS_ID_COOKIE = "parcours_aid"
THEME = "#1f5f8b"
BACKGROUND = "#faf8f5"


# --- manifest ---------------------------------------------------------------------------------


@router.get("/manifest.webmanifest")
def manifest(request: Request, _: PublicDep) -> Response:
    """The web app manifest: what an installed Parcours looks like on a home screen."""
    lang = page_locale(request)
    document: dict[str, Any] = {
        "id": "/",
        "name": "Parcours",
        "short_name": "Parcours",
        "description": (
            "Le catalogue, le stock de votre magasin, votre panier et vos commandes."
            if lang == "fr"
            else "The catalogue, your store's stock, your cart and your orders."
        ),
        "lang": "fr",
        "dir": "ltr",
        "start_url": "/?source=pwa",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "theme_color": THEME,
        "background_color": BACKGROUND,
        "categories": ["shopping"],
        "icons": [
            {
                "src": "/static/storefront/icons/icon-192.png",
                "sizes": "192x192",
                "type": "image/png",
                "purpose": "any",
            },
            {
                "src": "/static/storefront/icons/icon-512.png",
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "any",
            },
            {
                "src": "/static/storefront/icons/icon-maskable-512.png",
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
        "shortcuts": [
            {"name": "Rechercher", "url": "/recherche?source=pwa"},
            {"name": "Scanner", "url": "/scanner?source=pwa"},
            {"name": "Mon panier", "url": "/panier?source=pwa"},
        ],
    }
    return Response(
        json.dumps(document, ensure_ascii=False),
        media_type="application/manifest+json",
        headers={"Cache-Control": "public, max-age=3600"},
    )


# --- service worker ---------------------------------------------------------------------------


def _versioned_files(static_dir: Path) -> list[Path]:
    files: list[Path] = []
    for name in VERSIONED:
        path = static_dir / name
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*")) if p.is_file())
        elif path.is_file():
            files.append(path)
    return files


@lru_cache(maxsize=8)
def _hash_of(signature: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for name, _, _ in signature:
        digest.update(name.encode())
        digest.update(Path(name).read_bytes())
    return digest.hexdigest()[:12]


def cache_version(static_dir: Path = STATIC_DIR, *, version: str = parcours.__version__) -> str:
    """``<package version>-<hash of the static files>``: any change to a stylesheet, a module or
    an icon gives a new service worker, whose activation deletes the old caches. The hash is
    computed again only when a file's size or modification time changed."""
    signature = tuple(
        (str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in _versioned_files(static_dir)
    )
    return f"{version}-{_hash_of(signature)}"


@lru_cache(maxsize=8)
def _worker_source(version: str, source_mtime: int) -> str:
    source = SW_SOURCE.read_text(encoding="utf-8")
    return source.replace("__CACHE_VERSION__", version).replace(
        "__PRECACHE__", json.dumps(list(PRECACHE))
    )


@router.get("/sw.js")
def service_worker(_: PublicDep) -> Response:
    """The service worker, at the root so that it controls every shop page."""
    body = _worker_source(cache_version(), SW_SOURCE.stat().st_mtime_ns)
    return Response(
        body,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/hors-ligne")
def offline_page(request: Request, _: PublicDep) -> Response:
    """What the app shows without a network for a page it has not kept."""
    return render(request, "storefront/offline.html")


# --- consent banner ---------------------------------------------------------------------------


class ConsentChoice(BaseModel):
    analytics: bool
    personalisation: bool = False


def _same_origin(request: Request) -> bool:
    """The JSON routes below answer the shop's own pages only: a form on another site cannot
    post JSON with this Origin (a cross-site request forgery gets 403)."""
    origin = request.headers.get("origin")
    if origin is None:
        return request.headers.get("sec-fetch-site") in (None, "same-origin")
    return origin == f"{request.url.scheme}://{request.url.netloc}"


def _problem(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "status": status, "code": code, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > 8192:
        raise ValueError("body too large")
    return json.loads(raw or b"{}")


def _signed_in(uow: UnitOfWork, request: Request) -> ShopperSession | None:
    token = shopper_token(request)
    session = shoppers.find_shopper_session(uow=uow, token=token) if token else None
    return session if session is not None and session.profile_id is not None else None


def _link_browser(uow: UnitOfWork, profile_id: str, anonymous_id: str) -> None:
    """Tie the browser's first-party id to her profile, so that the events it sends (and sent)
    are hers: an identify with her strongest identifier and the anonymous id."""
    strongest: dict[str, str] = {}
    for identifier in customers.identifiers_of(uow=uow, profile_id=profile_id):
        strongest.setdefault(identifier.kind, identifier.value)
    if IdentifierKind.USER_ID.value in strongest:
        customers.identify(
            uow=uow,
            anonymous_id=anonymous_id,
            user_id=strongest[IdentifierKind.USER_ID.value],
            channel="web",
        )
    elif IdentifierKind.EMAIL.value in strongest:
        customers.identify(
            uow=uow,
            anonymous_id=anonymous_id,
            traits={"email": strongest[IdentifierKind.EMAIL.value]},
            channel="web",
        )


@router.post("/consentement")
async def record_cookie_choice(
    request: Request, uow: UowDep, settings: SettingsDep, _: PublicDep
) -> Response:
    """The banner's answer. The browser keeps it (``parcours.consent``); for a signed-in shopper
    it also becomes her consent record (analytics, personalisation, channel web), and with
    analytics granted her browser's first-party id is linked to her profile. A guest's answer
    is recorded on her session's device (a session is opened for it), with its time and
    wording, so that it follows her when she signs in."""
    if not _same_origin(request):
        return _problem(403, "cross_site_request", "this form belongs to the shop's pages")
    try:
        choice = ConsentChoice.model_validate(await _json_body(request))
    except (ValueError, ValidationError):
        return _problem(400, "invalid_choice", "send {analytics: bool, personalisation: bool}")
    session = _signed_in(uow, request)
    if session is None or session.profile_id is None:
        return _record_guest_choice(request, uow, settings, choice)
    current = customers.current_consents(uow=uow, profile_id=session.profile_id)
    for purpose, granted in (
        (ConsentPurpose.ANALYTICS, choice.analytics),
        (ConsentPurpose.PERSONALISATION, choice.personalisation),
    ):
        record = current.get(purpose)
        if record is not None and record.granted == granted:
            continue  # the same answer again (another device): no new row
        customers.record_consent(
            uow=uow,
            profile_id=session.profile_id,
            purpose=purpose,
            granted=granted,
            channel="web",
            wording_version=CONSENT_WORDING,
            by="shopper",
            events_without_consent=settings.events_without_consent.value,
        )
    anonymous_id = (request.cookies.get(ANONYMOUS_ID_COOKIE) or "").strip()
    # Only the id her own session already uses (its cookie is HttpOnly: proof this browser is
    # hers). Tracking ids are not secrets: linking any id a browser presents would let her pull
    # another device's history into her profile, and her export.
    if choice.analytics and anonymous_id and anonymous_id == session.anonymous_id:
        try:
            _link_browser(uow, session.profile_id, anonymous_id)
        except DomainError as refused:  # an identity conflict is recorded, not shown to her
            log.info("browser id not linked", extra={"code": refused.code})
    uow.commit()
    return Response(status_code=204)


def _record_guest_choice(
    request: Request, uow: UnitOfWork, settings: Settings, choice: ConsentChoice
) -> Response:
    guest, token = open_shopper_session(request, uow)
    for purpose, granted in (
        (ConsentPurpose.ANALYTICS, choice.analytics),
        (ConsentPurpose.PERSONALISATION, choice.personalisation),
    ):
        customers.record_guest_consent(
            uow=uow,
            anonymous_id=guest.anonymous_id,
            purpose=purpose,
            granted=granted,
            channel="web",
            wording_version=CONSENT_WORDING,
            events_without_consent=settings.events_without_consent.value,
        )
    uow.commit()
    response = Response(status_code=204)
    set_shopper_cookie(response, token, settings)
    return response


# --- web push ---------------------------------------------------------------------------------


@router.get("/push/cle")
def push_public_key(settings: SettingsDep, _: PublicDep) -> Response:
    """The server's VAPID public key (``applicationServerKey``); 404 when push is off."""
    keys = vapid_keys(settings)
    if keys is None:
        return _problem(404, "push_disabled", "web push is not configured on this shop")
    return JSONResponse({"public_key": keys.public}, headers={"Cache-Control": "no-cache"})


class _PushKeys(BaseModel):
    p256dh: str = Field(min_length=80, max_length=200)
    auth: str = Field(min_length=16, max_length=100)


class _PushProof(BaseModel):
    p256dh: str | None = Field(default=None, max_length=200)
    auth: str = Field(min_length=16, max_length=100)


class _BrowserSubscription(BaseModel):
    endpoint: str = Field(min_length=10, max_length=1000)
    keys: _PushKeys | None = None


class _BrowserUnsubscription(BaseModel):
    """``PushSubscription.toJSON()``: its ``keys.auth`` proves it is this browser's."""

    endpoint: str = Field(min_length=10, max_length=1000)
    keys: _PushProof | None = None


@router.post("/push/abonnement")
async def subscribe_browser(request: Request, uow: UowDep, _: PublicDep) -> Response:
    """``push.js`` posts the browser's ``PushSubscription`` here (the shop's cookie session):
    her opt-in to hear that her order is ready."""
    return await _push_change(request, uow, subscribe=True)


@router.delete("/push/abonnement")
async def unsubscribe_browser(request: Request, uow: UowDep, _: PublicDep) -> Response:
    """She turned notifications off in the shop: ``push.js`` sends the whole subscription, whose
    ``keys.auth`` (or her cookie session) proves the browser is hers (403 otherwise)."""
    return await _push_change(request, uow, subscribe=False)


async def _push_change(request: Request, uow: UnitOfWork, *, subscribe: bool) -> Response:
    if not _same_origin(request):
        return _problem(403, "cross_site_request", "this form belongs to the shop's pages")
    token = shopper_token(request)
    session = shoppers.find_shopper_session(uow=uow, token=token) if token else None
    try:
        sent = await _json_body(request)
        if not subscribe:
            stop = _BrowserUnsubscription.model_validate(sent)
            # Her cookie session, or the subscription's own secret: the endpoint is no proof.
            notifications.unsubscribe_from_push(
                uow=uow,
                endpoint=stop.endpoint,
                anonymous_id=session.anonymous_id if session else None,
                auth=stop.keys.auth if stop.keys else None,
            )
            uow.commit()
            return Response(status_code=204)
        body = _BrowserSubscription.model_validate(sent)
    except (ValueError, ValidationError):
        return _problem(400, "invalid_subscription", "send the browser's PushSubscription")
    except DomainError as refused:
        return _problem(refused.status, refused.code, refused.detail)
    if session is None or body.keys is None:
        return _problem(409, "shopper_session_required", "open the shop's pages first")
    try:
        notifications.subscribe_to_push(
            uow=uow,
            endpoint=body.endpoint,
            p256dh=body.keys.p256dh,
            auth=body.keys.auth,
            profile_id=session.profile_id,
            anonymous_id=session.anonymous_id,
            locale=page_locale(request),
            allow_local=request.app.state.settings.environment is not Environment.PRODUCTION,
        )
    except DomainError as refused:
        return _problem(refused.status, refused.code, refused.detail)
    uow.commit()
    return Response(status_code=204)
