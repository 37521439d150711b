"""JSON routes of customers: the profile 360, lookups, server-side identify, merges, consents,
and the data-subject requests (export, erasure).

Customer data is personal data: reading it takes ``CUSTOMERS_READ`` (associates and marketers
see emails and phones masked), changing it (notes included) ``CUSTOMERS_WRITE``, and the
data-subject requests — export everything, erase everything — ``CUSTOMERS_ERASE`` (admins and
server keys only).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import JSONResponse

from parcours.core.auth.models import KeyKind, Role
from parcours.core.auth.principal import AccessPolicy, Principal
from parcours.core.clock import utcnow
from parcours.core.deps import ReadUowDep, SettingsDep, UowDep
from parcours.core.errors import Forbidden, InvalidInput
from parcours.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from parcours.core.uow import UnitOfWork
from parcours.customers import service
from parcours.customers.models import ConsentRecord, Identifier, IdentifierKind, Merge, Profile
from parcours.customers.schemas import (
    ActivityRead,
    ConsentChange,
    ConsentRead,
    ConsentsRead,
    CustomerRead,
    CustomerSummary,
    ErasureRead,
    EventRead,
    IdentifierRead,
    IdentifyRequest,
    MergeRead,
    MergeRequest,
    NoteCreate,
    NoteRead,
)
from parcours.tracking import service as tracking

_SECRET = frozenset({KeyKind.SECRET})

#: Who may read customer profiles: every staff role, and servers.
CUSTOMERS_READ = AccessPolicy(
    "customers_read",
    roles=frozenset({Role.ADMIN, Role.MANAGER, Role.MARKETER, Role.ASSOCIATE}),
    keys=_SECRET,
)
#: Who may identify customers, record their consent and merge profiles (merges: back office).
CUSTOMERS_WRITE = AccessPolicy(
    "customers_write", roles=frozenset({Role.ADMIN, Role.MANAGER, Role.ASSOCIATE}), keys=_SECRET
)
#: Data-subject requests: export everything held about a person, or erase it.
CUSTOMERS_ERASE = AccessPolicy("customers_erase", roles=frozenset({Role.ADMIN}), keys=_SECRET)

router = APIRouter(tags=["customers"])
V1 = "/v1"

Reader = Annotated[Principal, Depends(CUSTOMERS_READ)]
Writer = Annotated[Principal, Depends(CUSTOMERS_WRITE)]
PrivacyOfficer = Annotated[Principal, Depends(CUSTOMERS_ERASE)]
Cursor = Annotated[str | None, Query(max_length=512, description="from the previous page")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def _actor(principal: Principal) -> str:
    """Who did it, for the records: a staff user or API key id, never a name or email."""
    return principal.id or principal.kind


#: Staff who see emails and phones masked, as their screens show them: associates (enough to
#: confirm with the person) and marketers (they target segments, never write to one person).
_MASKED_ROLES = frozenset({Role.ASSOCIATE, Role.MARKETER})
#: Keys under which traits and event properties carry contact details, at any depth.
_CONTACT_KEYS = {"email": IdentifierKind.EMAIL, "phone": IdentifierKind.PHONE}


def _masks(principal: Principal) -> bool:
    return principal.kind == "staff" and principal.role in _MASKED_ROLES


def _masked_values(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with every email and phone masked like an identifier (nested objects too)."""
    masked: dict[str, Any] = {}
    for key, value in values.items():
        kind = _CONTACT_KEYS.get(key.lower())
        if kind is not None and isinstance(value, str):
            masked[key] = service.mask_identifier(kind, value)
        elif isinstance(value, dict):
            masked[key] = _masked_values(value)
        elif isinstance(value, list):
            masked[key] = [_masked_values(v) if isinstance(v, dict) else v for v in value]
        else:
            masked[key] = value
    return masked


def _shown(values: dict[str, Any], *, masked: bool) -> dict[str, Any]:
    return _masked_values(values) if masked else dict(values)


def _identifier_read(identifier: Identifier, *, masked: bool) -> IdentifierRead:
    value = identifier.value
    if masked:
        value = service.mask_identifier(identifier.kind, value)
    return IdentifierRead(
        kind=identifier.kind,
        value=value,
        verified=identifier.verified,
        first_seen=identifier.first_seen,
        last_seen=identifier.last_seen,
    )


def _consent_read(record: ConsentRecord) -> ConsentRead:
    return ConsentRead.model_validate(record, from_attributes=True)


def _summary(uow: UnitOfWork, profile: Profile, principal: Principal) -> CustomerSummary:
    masked = _masks(principal)
    return CustomerSummary(
        id=profile.id,
        traits=_shown(profile.traits, masked=masked),
        identifiers=[
            _identifier_read(i, masked=masked)
            for i in service.identifiers_of(uow=uow, profile_id=profile.id)
        ],
        created_at=profile.created_at,
        updated_at=profile.updated_at,
    )


def _merge_read(merge: Merge) -> MergeRead:
    return MergeRead.model_validate(merge, from_attributes=True)


@router.get(f"{V1}/customers", response_model=Page[CustomerSummary], summary="Find a customer")
def find_customer(
    uow: ReadUowDep,
    principal: Reader,
    email: Annotated[str | None, Query(max_length=320)] = None,
    phone: Annotated[str | None, Query(max_length=40)] = None,
    loyalty_card: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[CustomerSummary]:
    given = [
        (kind, value)
        for kind, value in (
            (IdentifierKind.EMAIL, email),
            (IdentifierKind.PHONE, phone),
            (IdentifierKind.LOYALTY_CARD, loyalty_card),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise InvalidInput(
            "look a customer up by exactly one of email, phone or loyalty_card",
            code="one_lookup_key",
        )
    kind, value = given[0]
    profile = service.find_profile(uow=uow, kind=kind, value=value)
    items = [] if profile is None else [_summary(uow, profile, principal)]
    return Page[CustomerSummary](items=items)


@router.post(
    f"{V1}/customers/identify",
    response_model=CustomerSummary,
    summary="Recognise a customer (a till scanning a loyalty card, a server after login)",
)
def identify_customer(body: IdentifyRequest, uow: UowDep, principal: Writer) -> CustomerSummary:
    if body.store_id is not None:
        # The recognition is credited to that store on the journey: only its own staff say so.
        principal.require_store(body.store_id)
    traits = dict(body.traits)
    for key in ("email", "phone", "loyalty_card"):
        if getattr(body, key) is not None:
            traits[key] = getattr(body, key)
    verified = [
        kind
        for kind, flag in (
            (IdentifierKind.EMAIL, body.email_verified),
            (IdentifierKind.PHONE, body.phone_verified),
        )
        if flag
    ]
    now = utcnow()
    profile = service.identify(
        uow=uow,
        anonymous_id=body.anonymous_id,
        user_id=body.user_id,
        device_id=body.device_id,
        traits=traits,
        channel=body.channel,
        at=now,
        verified=verified,
    )
    # The recognition itself belongs on the person's timeline (kinds only, no values).
    tracking.record_domain_event(
        uow=uow,
        name="Customer Identified",
        properties={
            "identifiers": sorted(k for k in ("email", "phone", "loyalty_card") if k in traits)
        },
        channel=body.channel,
        occurred_at=now,
        store_id=body.store_id,
        profile_id=profile.id,
    )
    summary = _summary(uow, profile, principal)
    uow.commit()
    return summary


@router.get(
    f"{V1}/customers/{{customer_id}}",
    response_model=CustomerRead,
    summary="The profile 360: traits, identifiers, consents, activity, latest events",
)
def get_customer(
    customer_id: str,
    uow: ReadUowDep,
    principal: Reader,
    events: Annotated[int, Query(ge=1, le=100, description="latest events shown")] = 20,
) -> CustomerRead:
    view = service.profile_360(uow=uow, profile_id=customer_id, events_limit=events)
    masked = _masks(principal)
    activity = view.activity
    return CustomerRead(
        id=view.profile.id,
        traits=_shown(view.profile.traits, masked=masked),
        identifiers=[_identifier_read(i, masked=masked) for i in view.identifiers],
        created_at=view.profile.created_at,
        updated_at=view.profile.updated_at,
        consents={p.value: _consent_read(r) for p, r in view.consents.items()},
        activity=ActivityRead.model_validate(activity),
        latest_events=[
            EventRead(
                id=e.id,
                type=e.type,
                event=e.event,
                channel=e.channel,
                store_id=e.store_id,
                timestamp=e.timestamp,
                properties=_shown(e.properties, masked=masked),
            )
            for e in view.latest_events
        ],
        merged_profile_ids=view.merged_profile_ids,
        open_conflicts=view.open_conflicts,
    )


def _require_back_office(principal: Principal) -> None:
    if principal.kind == "staff" and principal.role not in (Role.ADMIN, Role.MANAGER):
        raise Forbidden("merging profiles is for managers and admins", code="insufficient_role")


@router.post(
    f"{V1}/customers/{{customer_id}}/merge",
    response_model=MergeRead,
    status_code=status.HTTP_201_CREATED,
    summary="Merge another profile into this one (recorded; can be undone)",
)
def merge_customers(
    customer_id: str, body: MergeRequest, uow: UowDep, principal: Writer
) -> MergeRead:
    _require_back_office(principal)
    merge = service.merge_profiles(
        uow=uow,
        survivor_id=customer_id,
        merged_id=body.other_id,
        by=_actor(principal),
        force=body.force,
    )
    read = _merge_read(merge)
    uow.commit()
    return read


@router.post(f"{V1}/merges/{{merge_id}}/undo", response_model=MergeRead, summary="Undo a merge")
def undo_merge(merge_id: str, uow: UowDep, principal: Writer) -> MergeRead:
    _require_back_office(principal)
    merge = service.unmerge(uow=uow, merge_id=merge_id, by=_actor(principal))
    read = _merge_read(merge)
    uow.commit()
    return read


@router.post(
    f"{V1}/customers/{{customer_id}}/consents",
    response_model=ConsentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record a grant or a withdrawal of consent",
)
def change_consent(
    customer_id: str,
    body: ConsentChange,
    uow: UowDep,
    principal: Writer,
    settings: SettingsDep,
) -> ConsentRead:
    record = service.record_consent(
        uow=uow,
        profile_id=customer_id,
        purpose=body.purpose,
        granted=body.granted,
        channel=body.channel,
        wording_version=body.wording_version,
        at=body.at,  # AwareDatetime: a time without its offset is a 422 at the edge
        by=_actor(principal),
        events_without_consent=str(settings.events_without_consent),
    )
    read = _consent_read(record)
    uow.commit()
    return read


@router.get(
    f"{V1}/customers/{{customer_id}}/consents",
    response_model=ConsentsRead,
    summary="Current consents and their full history",
)
def list_consents(
    customer_id: str,
    uow: ReadUowDep,
    _: Reader,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> ConsentsRead:
    profile = service.get_live_profile(uow=uow, profile_id=customer_id)
    history, next_cursor = service.consent_history(
        uow=uow, profile_id=profile.id, cursor=cursor, limit=limit
    )
    current = service.current_consents(uow=uow, profile_id=profile.id)
    return ConsentsRead(
        current={p.value: _consent_read(r) for p, r in current.items()},
        history=[_consent_read(r) for r in history],
        next_cursor=next_cursor,
    )


@router.get(
    f"{V1}/customers/{{customer_id}}/export",
    summary="Right of access: everything held about this person, as one JSON document",
    response_class=JSONResponse,
)
def export_customer(customer_id: str, uow: ReadUowDep, _: PrivacyOfficer) -> JSONResponse:
    document = service.export_profile(uow=uow, profile_id=customer_id)
    filename = f"customer-{document['profile']['id']}.json"
    return JSONResponse(
        document,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.post(
    f"{V1}/customers/{{customer_id}}/erase",
    response_model=ErasureRead,
    summary="Right to erasure: remove this person's data (a log without personal data stays)",
)
def erase_customer(customer_id: str, uow: UowDep, principal: PrivacyOfficer) -> ErasureRead:
    erasure = service.erase_profile(uow=uow, profile_id=customer_id, by=_actor(principal))
    read = ErasureRead.model_validate(erasure, from_attributes=True)
    uow.commit()
    return read


@router.get(
    f"{V1}/customers/{{customer_id}}/notes",
    response_model=Page[NoteRead],
    summary="Notes and preferences store staff wrote about the person, newest first",
)
def list_notes(customer_id: str, uow: ReadUowDep, _: Reader) -> Page[NoteRead]:
    profile = service.get_live_profile(uow=uow, profile_id=customer_id)
    notes = service.notes_of(uow=uow, profile_id=profile.id)
    return Page[NoteRead](items=[NoteRead.model_validate(n, from_attributes=True) for n in notes])


@router.post(
    f"{V1}/customers/{{customer_id}}/notes",
    response_model=NoteRead,
    status_code=status.HTTP_201_CREATED,
    summary='Add a note or a preference ("size 38, prefers black")',
)
def add_note(customer_id: str, body: NoteCreate, uow: UowDep, principal: Writer) -> NoteRead:
    if body.store_id is not None and principal.kind == "staff":
        principal.require_store(body.store_id)  # an associate writes for her own store
    note = service.add_customer_note(
        uow=uow,
        profile_id=customer_id,
        kind=body.kind,
        text=body.text,
        author=_actor(principal),
        store_id=body.store_id,
    )
    read = NoteRead.model_validate(note, from_attributes=True)
    uow.commit()
    return read
