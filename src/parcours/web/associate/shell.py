"""What every associate page shares: who acts, for which store, and the page frame.

An associate acts for one store at a time. Scoped to one store, that is hers; scoped to several
(or a manager, who may act for all), she picks one and the choice is kept in a cookie that is
checked against her scope on every request, so a stale or forged cookie never widens it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from parcours.core.auth.models import Role
from parcours.core.auth.principal import STORE_STAFF, AccessPolicy, Principal
from parcours.core.deps import ReadUowDep, SettingsDep
from parcours.core.errors import DomainError
from parcours.core.uow import UnitOfWork
from parcours.stores import service as stores
from parcours.stores.models import Location, LocationKind
from parcours.web.rendering import render

router = APIRouter(include_in_schema=False)

#: Store staff only: a marketer reads analytics, she does not sell.
ASSOCIATE_APP = AccessPolicy("associate_app", roles=STORE_STAFF)
StoreStaffDep = Annotated[Principal, Depends(ASSOCIATE_APP)]
STORE_COOKIE = "parcours_store"
HOME = "/associate"


class StoreChoiceNeeded(DomainError):
    """The associate may act for several stores and has not chosen one yet."""

    status, code, title = 409, "store_choice_needed", "Choose a store"


@dataclass(frozen=True, slots=True)
class Acting:
    """The associate at work: who she is and the store she acts for on this page."""

    principal: Principal
    store: Location

    @property
    def store_id(self) -> str:
        return self.store.id

    @property
    def csrf_token(self) -> str:
        return self.principal.csrf_token or ""


def stores_of(uow: UnitOfWork, principal: Principal) -> list[Location]:
    """The active stores she may act for, by name."""
    if principal.acts_for_all_stores:
        found, _ = stores.list_locations(uow=uow, kind=LocationKind.STORE, active=True, limit=500)
    else:
        found = [
            location
            for location in stores.get_locations(uow=uow, location_ids=principal.store_ids).values()
            if location.active and location.kind == LocationKind.STORE
        ]
    return sorted(found, key=lambda location: location.name)


def _acting(request: Request, principal: StoreStaffDep, uow: ReadUowDep) -> Acting:
    choices = stores_of(uow, principal)
    chosen = request.cookies.get(STORE_COOKIE)
    store = next((s for s in choices if s.id == chosen), None)
    if store is None and len(choices) == 1:
        store = choices[0]
    if store is None:
        needed = StoreChoiceNeeded("choose the store you act for", next=request.url.path)
        needed.page_redirect = f"{HOME}/magasin?next={quote(request.url.path)}"
        raise needed
    return Acting(principal=principal, store=store)


ActingDep = Annotated[Acting, Depends(_acting)]


def render_associate(
    request: Request, template: str, acting: Acting, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page of the associate app, framed with her store, her name and the sections."""
    return render(request, template, status_code=status_code, acting=acting, **context)


@router.get(HOME, response_class=HTMLResponse)
def associate_home(request: Request, acting: ActingDep) -> Response:
    return render_associate(request, "associate/home.html", acting, section="home")


@router.get(f"{HOME}/magasin", response_class=HTMLResponse)
def choose_store_page(request: Request, principal: StoreStaffDep, uow: ReadUowDep) -> Response:
    choices = stores_of(uow, principal)
    return render(
        request,
        "associate/choose_store.html",
        choices=choices,
        current=request.cookies.get(STORE_COOKIE),
        next_url=_safe_next(request.query_params.get("next")),
        is_manager=principal.role in (Role.ADMIN, Role.MANAGER),
    )


@router.post(f"{HOME}/magasin")
def choose_store(
    request: Request,
    principal: StoreStaffDep,
    uow: ReadUowDep,
    settings: SettingsDep,
    store_id: Annotated[str, Form(max_length=40)],
    next_url: Annotated[str, Form(alias="next", max_length=300)] = HOME,
) -> Response:
    if all(store.id != store_id for store in stores_of(uow, principal)):
        principal.require_store(store_id)  # out of scope: 403 store_out_of_scope
        return render(  # in scope but closed or a warehouse
            request,
            "associate/choose_store.html",
            status_code=422,
            choices=stores_of(uow, principal),
            current=None,
            next_url=_safe_next(next_url),
            error=True,
        )
    response = RedirectResponse(_safe_next(next_url), status_code=303)
    response.set_cookie(
        STORE_COOKIE,
        store_id,
        max_age=30 * 24 * 3600,
        httponly=True,
        secure=settings.session_cookie_secure,
        samesite="strict",
    )
    return response


def _safe_next(value: str | None) -> str:
    """Only this app's own pages: the store choice never bounces anywhere else."""
    if value and value.startswith(f"{HOME}/") and "//" not in value and value != f"{HOME}/magasin":
        return value
    return HOME
