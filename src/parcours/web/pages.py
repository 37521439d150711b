"""Server-rendered pages: staff sign-in now; the shop pages (product availability, store locator)
until the storefront issue replaces them with the full PWA."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from parcours.core.auth import service as auth_service
from parcours.core.auth import throttle
from parcours.core.auth.api import set_session_cookie
from parcours.core.auth.http import SESSION_COOKIE
from parcours.core.auth.principal import ANY_STAFF, PUBLIC, Principal
from parcours.core.auth.throttle import client_address
from parcours.core.deps import ReadUowDep, SettingsDep, UowDep
from parcours.stores import service as stores
from parcours.web.rendering import render

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "parcours_login_csrf"
PublicDep = Annotated[Principal, Depends(PUBLIC)]
StaffDep = Annotated[Principal, Depends(ANY_STAFF)]


def _safe_next(value: str | None) -> str:
    """Only same-site paths: a login link must not bounce people to another site."""
    if not value:
        return "/equipe"
    parsed = urlparse(value)
    if parsed.scheme or parsed.netloc or not value.startswith("/") or value.startswith("//"):
        return "/equipe"
    return value


@router.get("/connexion", response_class=HTMLResponse)
def login_page(request: Request, _: PublicDep, settings: SettingsDep) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        csrf_token=token,
        next_url=_safe_next(request.query_params.get("next")),
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        secure=settings.session_cookie_secure,
        samesite="strict",
        path="/connexion",
    )
    return response


@router.post("/connexion", response_class=HTMLResponse)
def login(
    request: Request,
    uow: UowDep,
    settings: SettingsDep,
    _: PublicDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=500)] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return render(
            request,
            "login.html",
            status_code=403,
            error="login.expired",
            csrf_token=expected or secrets.token_urlsafe(24),
            next_url=_safe_next(next_url),
            email=email,
        )
    client = client_address(request)
    try:
        throttle.check_password_attempt(uow=uow, email=email, client=client)
    except throttle.TooManyAttempts as refused:
        page = render(
            request,
            "login.html",
            status_code=429,
            error="login.throttled",
            csrf_token=expected,
            next_url=_safe_next(next_url),
            email=email,
        )
        page.headers["Retry-After"] = refused.extra["headers"]["Retry-After"]
        return page
    user = auth_service.authenticate_staff(uow=uow, email=email, password=password)
    if user is None:
        throttle.record_password_failure(uow=uow, email=email, client=client)
        uow.commit()  # the failure counts although the sign-in fails
        return render(
            request,
            "login.html",
            status_code=401,
            error="login.failed",
            csrf_token=expected,
            next_url=_safe_next(next_url),
            email=email,
        )
    throttle.record_password_success(uow=uow, email=email, client=client)
    opened = auth_service.open_staff_session(
        uow=uow, user=user, max_age_seconds=settings.session_max_age_seconds
    )
    uow.commit()
    response = RedirectResponse(_safe_next(next_url), status_code=303)
    set_session_cookie(response, opened.token, settings)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/connexion")
    return response


@router.post("/deconnexion")
def logout(request: Request, uow: UowDep, _: StaffDep) -> Response:
    auth_service.close_staff_session(uow=uow, token=request.cookies.get(SESSION_COOKIE, ""))
    uow.commit()
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/equipe", response_class=HTMLResponse)
def staff_home(request: Request, principal: StaffDep, uow: ReadUowDep) -> Response:
    locations = stores.get_locations(uow=uow, location_ids=sorted(principal.store_ids))
    names = sorted(location.name for location in locations.values())
    return render(request, "staff.html", store_names=", ".join(names))
