"""JSON routes of notifications: the messages sent to customers, for support staff.

Reading messages takes ``MESSAGES_READ`` (admins, managers and server keys): a message holds what
a customer received (a pickup code, a receipt). Addresses are always shown masked.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from parcours.core.auth.models import KeyKind
from parcours.core.auth.principal import BACK_OFFICE, STOREFRONT, AccessPolicy, Principal
from parcours.core.deps import ReadUowDep, UowDep
from parcours.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from parcours.core.settings import Environment
from parcours.customers import shoppers
from parcours.customers.http import shopper_token
from parcours.customers.models import IdentifierKind
from parcours.customers.service import mask_identifier
from parcours.notifications import service
from parcours.notifications.models import Message, MessageStatus
from parcours.notifications.schemas import (
    MessageDetail,
    MessageRead,
    PushSubscriptionCreate,
    PushSubscriptionDelete,
    PushSubscriptionRead,
)

#: Who may read the messages sent to customers: the back office, and servers.
MESSAGES_READ = AccessPolicy("messages_read", roles=BACK_OFFICE, keys=frozenset({KeyKind.SECRET}))

router = APIRouter(tags=["notifications"])
V1 = "/v1"

Reader = Annotated[Principal, Depends(MESSAGES_READ)]


def _fields(message: Message) -> dict[str, object]:
    return {
        "id": message.id,
        "channel": message.channel,
        "template": message.template,
        "locale": message.locale,
        "purpose": message.purpose,
        "status": message.status,
        "reason": message.reason,
        "reference": message.reference,
        "profile_id": message.profile_id,
        "to_address": (
            None
            if message.to_address is None
            else mask_identifier(IdentifierKind.EMAIL, message.to_address)
        ),
        "subject": message.subject,
        "attempts": message.attempts,
        "last_error": message.last_error,
        "created_at": message.created_at,
        "sent_at": message.sent_at,
        "delivered_by": message.delivered_by,
        "redacted": message.redacted_at is not None,
    }


@router.get(f"{V1}/messages", response_model=Page[MessageRead], summary="Messages to customers")
def list_messages(
    uow: ReadUowDep,
    _: Reader,
    reference: Annotated[str | None, Query(max_length=80, description="an order id…")] = None,
    status: MessageStatus | None = None,
    profile_id: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[str | None, Query(max_length=512, description="from a previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[MessageRead]:
    rows, next_cursor = service.list_messages(
        uow=uow,
        reference=reference,
        status=status,
        profile_id=profile_id,
        cursor=cursor,
        limit=limit,
    )
    return Page[MessageRead](
        items=[MessageRead.model_validate(_fields(m)) for m in rows], next_cursor=next_cursor
    )


@router.get(
    f"{V1}/messages/{{message_id}}",
    response_model=MessageDetail,
    summary="One message, with the text the customer received",
)
def get_message(message_id: str, uow: ReadUowDep, _: Reader) -> MessageDetail:
    message = service.get_message(uow=uow, message_id=message_id)
    return MessageDetail.model_validate(
        {**_fields(message), "body_text": service.readable_body(message)}
    )


# --- web push subscriptions -------------------------------------------------------------------

Storefront = Annotated[Principal, Depends(STOREFRONT)]


@router.post(
    f"{V1}/push/subscriptions",
    response_model=PushSubscriptionRead,
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe the shopper's browser to web push",
)
def subscribe_to_push(
    body: PushSubscriptionCreate, request: Request, uow: UowDep, _: Storefront
) -> PushSubscriptionRead:
    """The browser's ``PushSubscription`` for the shopper's session (``X-Shopper-Token`` or the
    ``parcours_shopper`` cookie): her opt-in to hear that an order is ready. Subscribing the
    same endpoint again updates it (idempotent) for its owner only: the same session, or the
    same ``keys.auth``; another's endpoint is 403 ``push_subscription_not_yours``."""
    session = shoppers.require_shopper_session(uow=uow, token=shopper_token(request))
    row = service.subscribe_to_push(
        uow=uow,
        endpoint=body.endpoint,
        p256dh=body.keys.p256dh,
        auth=body.keys.auth,
        profile_id=session.profile_id,
        anonymous_id=session.anonymous_id,
        locale=body.locale,
        allow_local=request.app.state.settings.environment is not Environment.PRODUCTION,
    )
    uow.commit()
    return PushSubscriptionRead(
        id=row.id, created_at=row.created_at, signed_in=row.profile_id is not None
    )


@router.delete(
    f"{V1}/push/subscriptions",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Stop web push to this browser",
)
def unsubscribe_from_push(
    body: PushSubscriptionDelete, request: Request, uow: UowDep, _: Storefront
) -> Response:
    """No push goes to this endpoint any more (204 also when it was not subscribed). Only its
    owner may: the shopper session that subscribed it (``X-Shopper-Token`` or the cookie), or
    a body with the subscription's ``keys.auth``; 403 ``push_subscription_not_yours`` else."""
    token = shopper_token(request)
    session = shoppers.find_shopper_session(uow=uow, token=token) if token else None
    service.unsubscribe_from_push(
        uow=uow,
        endpoint=body.endpoint,
        anonymous_id=session.anonymous_id if session else None,
        auth=body.keys.auth if body.keys else None,
    )
    uow.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
