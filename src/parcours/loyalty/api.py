"""JSON routes of promo codes: the back office creates and stops them; store staff read them
(the till says what a code gives). Applying a code to a cart is a cart route
(``POST /v1/carts/{id}/promo-code``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from parcours.core.auth.models import KeyKind
from parcours.core.auth.principal import BACK_OFFICE, STORE_STAFF, AccessPolicy, Principal
from parcours.core.deps import ReadUowDep, UowDep
from parcours.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from parcours.loyalty import service
from parcours.loyalty.schemas import PromoCodeCreate, PromoCodeRead

#: Creating and stopping codes: the back office (admins, managers) and servers.
PROMO_WRITE = AccessPolicy("promo_write", roles=BACK_OFFICE, keys=frozenset({KeyKind.SECRET}))
#: Reading codes: the back office, store staff (the till) and servers.
PROMO_READ = AccessPolicy("promo_read", roles=STORE_STAFF, keys=frozenset({KeyKind.SECRET}))

router = APIRouter(prefix="/v1", tags=["loyalty"])

Writer = Annotated[Principal, Depends(PROMO_WRITE)]
Reader = Annotated[Principal, Depends(PROMO_READ)]


@router.post(
    "/promo-codes",
    status_code=status.HTTP_201_CREATED,
    response_model=PromoCodeRead,
    summary="Create a promo code",
)
def create_promo_code(body: PromoCodeCreate, principal: Writer, uow: UowDep) -> PromoCodeRead:
    """Percent or amount off, with an optional minimum, period, cap and channels."""
    promo = service.create_promo_code(
        uow=uow,
        code=body.code,
        kind=body.kind,
        value=body.value,
        currency=body.currency,
        description=body.description,
        min_subtotal=body.min_subtotal,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        max_redemptions=body.max_redemptions,
        channels=body.channels,
        active=body.active,
        actor=principal.id if principal.kind == "staff" else None,
    )
    answer = PromoCodeRead.of(promo)
    uow.commit()
    return answer


@router.get("/promo-codes", response_model=Page[PromoCodeRead], summary="List promo codes")
def list_promo_codes(
    _: Reader,
    uow: ReadUowDep,
    active: bool | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[PromoCodeRead]:
    rows, next_cursor = service.list_promo_codes(uow=uow, active=active, cursor=cursor, limit=limit)
    return Page[PromoCodeRead](items=[PromoCodeRead.of(r) for r in rows], next_cursor=next_cursor)


@router.get("/promo-codes/{code}", response_model=PromoCodeRead, summary="A promo code")
def read_promo_code(code: str, _: Reader, uow: ReadUowDep) -> PromoCodeRead:
    promo = service.get_promo_code_by_code(uow=uow, code=code)
    assert promo is not None
    return PromoCodeRead.of(promo)


@router.post(
    "/promo-codes/{code}/deactivate", response_model=PromoCodeRead, summary="Stop a promo code"
)
def deactivate_promo_code(code: str, _: Writer, uow: UowDep) -> PromoCodeRead:
    """Carts holding it then show ``promo_not_applicable``; placed orders keep their discount."""
    promo = service.deactivate_promo_code(uow=uow, code=code)
    answer = PromoCodeRead.of(promo)
    uow.commit()
    return answer
