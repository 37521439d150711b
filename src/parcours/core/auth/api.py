"""JSON routes for API keys and staff accounts (admins only), sessions, and ``/v1/me``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from parcours.core.auth import service, throttle
from parcours.core.auth.http import SESSION_COOKIE
from parcours.core.auth.models import Role
from parcours.core.auth.principal import ADMIN, ANY_STAFF, PUBLIC, Principal
from parcours.core.auth.principal import CATALOG_READ as ANY_CALLER
from parcours.core.auth.schemas import (
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyRead,
    Me,
    SessionCreate,
    SessionOpened,
    StaffUserCreate,
    StaffUserRead,
)
from parcours.core.auth.throttle import client_address
from parcours.core.deps import SettingsDep, UowDep
from parcours.core.errors import Unauthenticated
from parcours.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from parcours.core.settings import Settings

router = APIRouter(prefix="/v1", tags=["access"])

AdminDep = Annotated[Principal, Depends(ADMIN)]


@router.get("/me", response_model=Me, summary="Who the caller is")
def read_me(principal: Annotated[Principal, Depends(ANY_CALLER)]) -> Me:
    return Me(
        kind=principal.kind,
        id=principal.id,
        name=principal.name,
        role=principal.role,
        key_kind=principal.key_kind,
        store_ids=sorted(principal.store_ids),
    )


@router.post(
    "/api-keys",
    response_model=ApiKeyIssued,
    status_code=status.HTTP_201_CREATED,
    summary="Issue an API key (the token is shown once)",
)
def create_api_key(body: ApiKeyCreate, uow: UowDep, _: AdminDep) -> ApiKeyIssued:
    issued = service.create_api_key(uow=uow, kind=body.kind, name=body.name, source=body.source)
    uow.commit()
    return ApiKeyIssued(**ApiKeyRead.model_validate(issued.key).model_dump(), token=issued.token)


@router.get("/api-keys", response_model=Page[ApiKeyRead], summary="List API keys")
def list_api_keys(
    uow: UowDep,
    _: AdminDep,
    cursor: Annotated[
        str | None, Query(max_length=200, description="from the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[ApiKeyRead]:
    keys, next_cursor = service.list_api_keys(uow=uow, cursor=cursor, limit=limit)
    return Page[ApiKeyRead](
        items=[ApiKeyRead.model_validate(k) for k in keys], next_cursor=next_cursor
    )


@router.post("/api-keys/{key_id}/revoke", response_model=ApiKeyRead, summary="Revoke an API key")
def revoke_api_key(key_id: str, request: Request, uow: UowDep, _: AdminDep) -> ApiKeyRead:
    key = service.revoke_api_key(uow=uow, key_id=key_id)
    uow.commit()
    request.app.state.api_key_cache.clear()
    return ApiKeyRead.model_validate(key)


@router.post(
    "/staff-users",
    response_model=StaffUserRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a staff account",
)
def create_staff_user(body: StaffUserCreate, uow: UowDep, _: AdminDep) -> StaffUserRead:
    user = service.create_staff_user(
        uow=uow,
        email=str(body.email),
        name=body.name,
        role=Role(body.role),
        password=body.password,
        store_ids=frozenset(body.store_ids),
    )
    uow.commit()
    return StaffUserRead(
        id=user.id,
        email=user.email,
        name=user.name,
        role=Role(user.role),
        active=user.active,
        store_ids=sorted(user.store_ids),
        created_at=user.created_at,
    )


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    """HttpOnly (no script reads it), Secure, SameSite=Lax (no cross-site writes)."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_max_age_seconds,
        httponly=True,
        secure=settings.session_cookie_secure,
        samesite="lax",
        path="/",
    )


@router.post(
    "/sessions",
    response_model=SessionOpened,
    summary="Sign a staff member in (sets the cookie)",
    dependencies=[Depends(PUBLIC)],
)
def open_session(
    body: SessionCreate, request: Request, response: Response, uow: UowDep, settings: SettingsDep
) -> SessionOpened:
    """Refused with 429 ``too_many_attempts`` and ``Retry-After`` while this client must wait
    after wrong passwords (see docs/api.md, "Sign-in throttling")."""
    email, client = str(body.email), client_address(request)
    throttle.check_password_attempt(uow=uow, email=email, client=client)
    user = service.authenticate_staff(uow=uow, email=email, password=body.password)
    if user is None:
        throttle.record_password_failure(uow=uow, email=email, client=client)
        uow.commit()  # the failure counts although the request fails
        raise Unauthenticated("wrong email or password", code="invalid_credentials")
    throttle.record_password_success(uow=uow, email=email, client=client)
    opened = service.open_staff_session(
        uow=uow, user=user, max_age_seconds=settings.session_max_age_seconds
    )
    uow.commit()
    set_session_cookie(response, opened.token, settings)
    return SessionOpened(
        csrf_token=opened.csrf_token,
        user_id=user.id,
        name=user.name,
        role=Role(user.role),
        store_ids=sorted(user.store_ids),
    )


@router.delete(
    "/sessions/current",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out",
)
def close_session(
    request: Request, uow: UowDep, _: Annotated[Principal, Depends(ANY_STAFF)]
) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    service.close_staff_session(uow=uow, token=token)
    uow.commit()
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
