"""Use cases of customers: resolve identities into profiles, merge and unmerge them, record
consent, answer ``can_contact``, export and erase a person's data.

Identity rules (:class:`IdentityRules`) say which identifier kinds a profile may hold only one
value of (``user_id``, ``email``, ``loyalty_card`` by default) and which may move from one
profile to another (anonymous and device ids: a shared computer, a second-hand phone). Whatever
the rules, two profiles that each carry a different *verified* email are never merged
automatically: a conflict is recorded for a person to decide.

Events follow profiles through :mod:`parcours.tracking.service` (``assign_profile``). Nothing
here logs an email, a phone number or a trait: logs and event payloads carry ids only.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import phonenumbers
from pydantic_core import to_jsonable_python
from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from parcours.core.clock import as_utc, utcnow
from parcours.core.errors import Conflict, DomainError, InvalidInput, NotFound
from parcours.core.events import DomainEvent
from parcours.core.ids import new_id
from parcours.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from parcours.core.uow import UnitOfWork
from parcours.customers.events import (
    ConsentChanged,
    CustomerErased,
    CustomerIdentified,
    ProfilesMerged,
    ProfilesUnmerged,
)
from parcours.customers.models import (
    ConsentPurpose,
    ConsentRecord,
    CustomerNote,
    Erasure,
    Identifier,
    IdentifierKind,
    IdentityConflict,
    Merge,
    NoteKind,
    Profile,
    ProjectionCursor,
    ShopperSession,
    SignInCode,
)
from parcours.tracking import service as tracking
from parcours.tracking.ingest import SIGNED_IN_CONTEXT
from parcours.tracking.normalise import CLIENT_SOURCES, is_unverified_order_claim

log = logging.getLogger("parcours.customers")

K = IdentifierKind

#: When identifiers of several profiles meet, the profile found by the first kind in this order
#: survives; a lower kind that breaks a rule is the one left out.
PRIORITY: tuple[IdentifierKind, ...] = (
    K.USER_ID,
    K.LOYALTY_CARD,
    K.EMAIL,
    K.PHONE,
    K.DEVICE_ID,
    K.ANONYMOUS_ID,
)

#: Trait keys that carry identifiers (Segment spells them both ways); kept as identifiers, not
#: as traits, so that erasure has one place to clear.
_TRAIT_IDENTIFIERS: dict[str, IdentifierKind] = {
    "email": K.EMAIL,
    "phone": K.PHONE,
    "loyalty_card": K.LOYALTY_CARD,
    "loyaltyCard": K.LOYALTY_CARD,
    "device_id": K.DEVICE_ID,
    "deviceId": K.DEVICE_ID,
}
_TRAIT_VERIFIED: dict[str, IdentifierKind] = {
    "email_verified": K.EMAIL,
    "emailVerified": K.EMAIL,
    "phone_verified": K.PHONE,
    "phoneVerified": K.PHONE,
}
MAX_IDENTIFIER_LENGTH = 200
MAX_TRAITS = 100
MAX_TRAITS_BYTES = 16 * 1024

#: Marketing purposes and the one channel each allows: ``can_contact`` checks both.
CONTACT_CHANNELS: dict[ConsentPurpose, str] = {
    ConsentPurpose.MARKETING_EMAIL: "email",
    ConsentPurpose.MARKETING_SMS: "sms",
    ConsentPurpose.MARKETING_PUSH: "push",
}
#: The identifier a channel needs to reach someone (push tokens live with notifications).
_CONTACT_POINTS: dict[str, IdentifierKind] = {"email": K.EMAIL, "sms": K.PHONE}

ANONYMISE = "anonymise"
DROP = "drop"

#: A consent's time may run this far ahead of ours (a till's clock), no further.
CONSENT_CLOCK_SKEW = timedelta(minutes=5)
#: No consent recorded here predates this (the GDPR's consent rules are from 2016).
CONSENT_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


class Gone(DomainError):
    status, code, title = 410, "customer_erased", "Erased"


class IdentityRaced(Conflict):
    """Another transaction linked one of these identifiers first: identify again."""

    code = "identify_raced"


#: How often ``identify`` starts again when a concurrent one linked an identifier first.
RACE_RETRIES = 3


@dataclasses.dataclass(frozen=True, slots=True)
class IdentityRules:
    """What a retailer decides about identities; the defaults suit most shops."""

    #: A profile holds at most one value of these kinds: two profiles with different values are
    #: different people and are never merged automatically.
    unique_kinds: frozenset[IdentifierKind] = frozenset({K.USER_ID, K.EMAIL, K.LOYALTY_CARD})
    #: These may move to the profile that identifies with them last.
    movable_kinds: frozenset[IdentifierKind] = frozenset({K.ANONYMOUS_ID, K.DEVICE_ID})
    #: Phone numbers written without a country code are read in this region.
    phone_region: str = "FR"


DEFAULT_RULES = IdentityRules()


@dataclasses.dataclass(frozen=True, slots=True)
class Claim:
    """An identifier someone presents, normalised."""

    kind: IdentifierKind
    value: str
    verified: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind.value, self.value)


# --- normalisation ----------------------------------------------------------------------------


def normalise_email(value: object) -> str | None:
    """Trimmed, lower-case; ``None`` when it cannot be an address."""
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or "@" in domain or any(c.isspace() for c in email):
        return None
    return email if len(email) <= 320 else None


def normalise_phone(value: object, *, region: str = "FR") -> str | None:
    """E.164 (``+33612345678``); ``None`` when it is not a valid number."""
    if not isinstance(value, str | int):
        return None
    try:
        number = phonenumbers.parse(str(value), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_identifier(kind: IdentifierKind, value: object, *, region: str = "FR") -> str | None:
    """The stored form of an identifier, or ``None`` when the value is not one."""
    if kind is K.EMAIL:
        return normalise_email(value)
    if kind is K.PHONE:
        return normalise_phone(value, region=region)
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    text = str(value).strip()
    if kind is K.LOYALTY_CARD:
        text = "".join(text.split()).upper()
    if not text or len(text) > MAX_IDENTIFIER_LENGTH:
        return None
    return text


def mask_identifier(kind: str, value: str) -> str:
    """What an associate's screen shows: enough to confirm with the person, not to copy."""
    if kind == K.EMAIL:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    if kind == K.PHONE:
        return f"{value[:3]}{'*' * max(0, len(value) - 5)}{value[-2:]}"
    return value


def _claims(
    *,
    anonymous_id: str | None,
    user_id: str | None,
    device_id: str | None,
    traits: Mapping[str, Any],
    trusted: bool,
    verified: Iterable[IdentifierKind],
    rules: IdentityRules,
) -> list[Claim]:
    raw: dict[IdentifierKind, object] = {}
    for key, kind in _TRAIT_IDENTIFIERS.items():
        if traits.get(key) is not None:
            raw.setdefault(kind, traits[key])
    for kind, given in ((K.USER_ID, user_id), (K.ANONYMOUS_ID, anonymous_id)):
        if given is not None:
            raw[kind] = given
    if device_id is not None:
        raw[K.DEVICE_ID] = device_id
    verified_kinds = set(verified)
    if trusted:  # only a server may say an address was verified
        verified_kinds |= {kind for key, kind in _TRAIT_VERIFIED.items() if traits.get(key) is True}
    claims = []
    for kind in PRIORITY:
        if kind not in raw:
            continue
        value = normalise_identifier(kind, raw[kind], region=rules.phone_region)
        if value is None:
            log.info("identifier ignored: not valid", extra={"kind": kind.value})
            continue
        claims.append(Claim(kind, value, kind in verified_kinds))
    return claims


def check_traits(traits: Mapping[str, Any]) -> None:
    """Refuse (422) traits no export could write back: NaN or Infinity anywhere (JSON has no
    such numbers), more than :data:`MAX_TRAITS` keys, or over :data:`MAX_TRAITS_BYTES` of
    JSON."""
    if len(traits) > MAX_TRAITS:
        raise InvalidInput(
            f"a person holds at most {MAX_TRAITS} traits", code="too_many_traits", limit=MAX_TRAITS
        )
    try:
        size = len(json.dumps(traits, allow_nan=False, separators=(",", ":")).encode())
    except ValueError:
        raise InvalidInput(
            "traits hold NaN or Infinity: JSON numbers are finite", code="non_finite_number"
        ) from None
    except TypeError:
        raise InvalidInput("traits must be plain JSON values", code="invalid_traits") from None
    if size > MAX_TRAITS_BYTES:
        raise InvalidInput(
            f"traits are limited to {MAX_TRAITS_BYTES // 1024} KiB of JSON",
            code="traits_too_large",
            limit=MAX_TRAITS_BYTES,
        )


def _plain_traits(traits: Mapping[str, Any]) -> dict[str, Any]:
    """Traits without the identifiers (kept in their own table) and verification flags."""
    skip = set(_TRAIT_IDENTIFIERS) | set(_TRAIT_VERIFIED) | {"userId", "user_id", "anonymousId"}
    return {k: v for k, v in traits.items() if k not in skip}


# --- names and the associate's search ----------------------------------------------------------

#: Trait keys that hold a name, as Segment and our own forms spell them.
_FIRST_NAME_KEYS = ("first_name", "firstName")
_LAST_NAME_KEYS = ("last_name", "lastName")
MAX_SEARCH_NAME = 200


def fold_name(text: str) -> str:
    """Lower case, accents removed, anything but letters and digits turned into single spaces:
    ``"Hélène  D'Arc"`` -> ``"helene d arc"``; how names are stored and searched."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join("".join(c if c.isalnum() else " " for c in plain).split())


def _trait_text(traits: Mapping[str, Any], keys: Iterable[str]) -> str:
    for key in keys:
        value = traits.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    return ""


def name_parts(traits: Mapping[str, Any]) -> tuple[str, str]:
    """(first name, last name) from the traits; a lone ``name`` is split at its last space."""
    first = _trait_text(traits, _FIRST_NAME_KEYS)
    last = _trait_text(traits, _LAST_NAME_KEYS)
    if first or last:
        return first, last
    full = _trait_text(traits, ("name",))
    given, _, family = full.rpartition(" ")
    return (given, family) if given else (full, "")


def display_name(traits: Mapping[str, Any]) -> str:
    """The person's name as she would write it, or an empty string."""
    return " ".join(part for part in name_parts(traits) if part)


def masked_name(traits: Mapping[str, Any]) -> str:
    """``"Camille D."``: enough to recognise someone in a list, not a full name to copy."""
    first, last = name_parts(traits)
    if first and last:
        return f"{first} {last[:1].upper()}."
    if last:
        return f"{last[:1].upper()}."
    return first


def _refresh_search_name(profile: Profile) -> None:
    """Keep the folded name in step with the traits (called wherever traits are written)."""
    folded = fold_name(display_name(profile.traits))[:MAX_SEARCH_NAME].strip()
    profile.search_name = folded or None


def city_of(traits: Mapping[str, Any]) -> str | None:
    """The city from the traits (``city`` or Segment's ``address.city``), if known."""
    address = traits.get("address")
    nested = address.get("city") if isinstance(address, Mapping) else None
    for value in (traits.get("city"), nested):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class ProfileMatch:
    """A profile an associate's search found, and how: ``loyalty_card``, ``email``, ``phone`` or
    ``name``. An exact identifier match is the person; a name match is a candidate."""

    profile: Profile
    matched_by: str
    identifiers: list[Identifier]


_PHONE_CHARACTERS = frozenset("0123456789+-. ()")


def search_profiles(*, uow: UnitOfWork, query: str, limit: int = 20) -> list[ProfileMatch]:
    """Who the associate means: an exact email, phone or loyalty card, else the people whose
    name has words starting with each word typed (``"dup"`` finds Camille Dupont). Live
    profiles only; identifier matches first."""
    text = " ".join(query.split())[:MAX_IDENTIFIER_LENGTH]
    if not text:
        return []
    limit = max(1, min(limit, 50))
    found: dict[str, str] = {}
    tries: list[tuple[IdentifierKind, str | None]] = [
        (K.LOYALTY_CARD, normalise_identifier(K.LOYALTY_CARD, text))
    ]
    if "@" in text:
        tries.append((K.EMAIL, normalise_email(text)))
    elif set(text) <= _PHONE_CHARACTERS and sum(c.isdigit() for c in text) >= 6:
        tries.append((K.PHONE, normalise_phone(text, region=DEFAULT_RULES.phone_region)))
    for kind, value in tries:
        if value is None:
            continue
        row = uow.session.scalar(
            select(Identifier).where(Identifier.kind == kind.value, Identifier.value == value)
        )
        if row is not None:
            profile = resolve_profile(uow=uow, profile_id=row.profile_id)
            if profile.erased_at is None:
                found.setdefault(profile.id, kind.value)
    words = fold_name(text).split()[:5]
    if words and len(found) < limit and "@" not in text:
        # Each word typed must start a word of the name: the leading one is served by the
        # index (``LIKE 'dup%'``), the others by a scan of this short column.
        conditions = [
            or_(Profile.search_name.like(f"{word}%"), Profile.search_name.like(f"% {word}%"))
            for word in words
        ]
        for pid in uow.session.scalars(
            select(Profile.id)
            .where(
                *conditions,
                Profile.search_name.is_not(None),
                Profile.merged_into.is_(None),
                Profile.erased_at.is_(None),
            )
            .order_by(Profile.search_name, Profile.id)
            .limit(limit)
        ):
            found.setdefault(pid, "name")
    ids = list(found)[:limit]
    if not ids:
        return []
    profiles = {p.id: p for p in uow.session.scalars(select(Profile).where(Profile.id.in_(ids)))}
    held: dict[str, list[Identifier]] = {pid: [] for pid in ids}
    for identifier in uow.session.scalars(
        select(Identifier)
        .where(Identifier.profile_id.in_(ids))
        .order_by(Identifier.kind, Identifier.first_seen, Identifier.id)
    ):
        held[identifier.profile_id].append(identifier)
    return [ProfileMatch(profiles[pid], found[pid], held[pid]) for pid in ids if pid in profiles]


# --- reading profiles -------------------------------------------------------------------------


def resolve_profile(*, uow: UnitOfWork, profile_id: str) -> Profile:
    """The live profile an id stands for today: merged profiles lead to their survivor."""
    profile = uow.session.get(Profile, profile_id)
    if profile is None:
        raise NotFound("no customer with this id", code="customer_not_found")
    hops = 0
    while profile.merged_into is not None and hops < 100:
        following = uow.session.get(Profile, profile.merged_into)
        if following is None:
            break
        profile, hops = following, hops + 1
    return profile


def get_live_profile(*, uow: UnitOfWork, profile_id: str) -> Profile:
    """Like :func:`resolve_profile`, refusing an erased profile (410)."""
    profile = resolve_profile(uow=uow, profile_id=profile_id)
    if profile.erased_at is not None:
        raise Gone("this customer's data was erased")
    return profile


def identifiers_of(*, uow: UnitOfWork, profile_id: str) -> list[Identifier]:
    """A profile's identifiers, by kind then first seen."""
    return list(
        uow.session.scalars(
            select(Identifier)
            .where(Identifier.profile_id == profile_id)
            .order_by(Identifier.kind, Identifier.first_seen, Identifier.id)
        )
    )


def find_profile(*, uow: UnitOfWork, kind: IdentifierKind, value: str) -> Profile | None:
    """The profile an email, phone, loyalty card (or any identifier) points at, if any."""
    normalised = normalise_identifier(kind, value, region=DEFAULT_RULES.phone_region)
    if normalised is None:
        raise InvalidInput(f"this is not a valid {kind.value}", code="invalid_identifier")
    row = uow.session.scalar(
        select(Identifier).where(Identifier.kind == kind.value, Identifier.value == normalised)
    )
    return None if row is None else resolve_profile(uow=uow, profile_id=row.profile_id)


def merged_profile_ids(*, uow: UnitOfWork, profile_id: str) -> list[str]:
    """Every profile merged (directly or through others) into this one, not undone."""
    found: list[str] = []
    frontier = [profile_id]
    while frontier:
        children = list(
            uow.session.scalars(select(Profile.id).where(Profile.merged_into.in_(frontier)))
        )
        found.extend(children)
        frontier = children
    return found


# --- identity resolution ----------------------------------------------------------------------


def _view(identifiers: Iterable[Identifier | Claim]) -> dict[str, set[tuple[str, bool]]]:
    view: dict[str, set[tuple[str, bool]]] = {}
    for item in identifiers:
        view.setdefault(str(item.kind), set()).add((item.value, item.verified))
    return view


def _rule_broken(
    a: Mapping[str, set[tuple[str, bool]]],
    b: Mapping[str, set[tuple[str, bool]]],
    rules: IdentityRules,
) -> tuple[str, str] | None:
    """Why two sets of identifiers cannot be one person, or ``None`` when they can."""
    verified_a = {v for v, ok in a.get(K.EMAIL.value, ()) if ok}
    verified_b = {v for v, ok in b.get(K.EMAIL.value, ()) if ok}
    if verified_a and verified_b and verified_a.isdisjoint(verified_b):
        return ("verified_emails_differ", K.EMAIL.value)
    for kind in sorted(rules.unique_kinds):
        values_a = {v for v, _ in a.get(kind.value, ())}
        values_b = {v for v, _ in b.get(kind.value, ())}
        if values_a and values_b and values_a.isdisjoint(values_b):
            return ("unique_kind", kind.value)
    return None


def _record_conflict(
    uow: UnitOfWork,
    *,
    profile_id: str,
    other_profile_id: str | None,
    reason: str,
    kind: str,
    at: datetime,
) -> None:
    pair = [profile_id, other_profile_id]
    open_already = uow.session.scalar(
        select(IdentityConflict.id).where(
            IdentityConflict.resolved_at.is_(None),
            IdentityConflict.reason == reason,
            IdentityConflict.kind == kind,
            or_(
                and_(
                    IdentityConflict.profile_id == pair[0],
                    IdentityConflict.other_profile_id.is_not_distinct_from(pair[1]),
                ),
                and_(
                    IdentityConflict.profile_id == pair[1],
                    IdentityConflict.other_profile_id == pair[0],
                ),
            ),
        )
    )
    if open_already is None:
        uow.session.add(
            IdentityConflict(
                id=new_id("icf"),
                profile_id=profile_id,
                other_profile_id=other_profile_id,
                reason=reason,
                kind=kind,
                detected_at=at,
            )
        )
    log.warning(
        "identity conflict: profiles not merged",
        extra={"profile_id": profile_id, "other_profile_id": other_profile_id, "reason": reason},
    )


def _new_profile(uow: UnitOfWork, at: datetime) -> Profile:
    profile = Profile(id=new_id("cus"), traits={}, created_at=at, updated_at=at)
    uow.session.add(profile)
    uow.session.flush()
    return profile


def _attach(uow: UnitOfWork, profile: Profile, claim: Claim, at: datetime) -> Identifier:
    """Insert a new identifier; :class:`IdentityRaced` if another transaction just took it."""
    row = Identifier(
        id=new_id("cid"),
        profile_id=profile.id,
        kind=claim.kind.value,
        value=claim.value,
        verified=claim.verified,
        first_seen=at,
        last_seen=at,
    )
    try:
        with uow.session.begin_nested():
            uow.session.add(row)
    except IntegrityError:
        raise IdentityRaced(
            "someone else identified with this identifier at the same moment; try again"
        ) from None
    return row


def identify(
    *,
    uow: UnitOfWork,
    anonymous_id: str | None = None,
    user_id: str | None = None,
    traits: Mapping[str, Any] | None = None,
    channel: str,
    at: datetime | None = None,
    device_id: str | None = None,
    verified: Iterable[IdentifierKind] = (),
    trusted: bool = False,
    rules: IdentityRules = DEFAULT_RULES,
    claim: bool = False,
    signed_in: SignedIn | None = None,
) -> Profile:
    """Find (or create) the profile these identifiers belong to, link the new ones, merge the
    profiles they reveal to be one person when the rules allow it, and store the traits.

    ``trusted``: the caller is a server, whose ``email_verified`` / ``phone_verified`` traits are
    believed; ``verified`` names kinds the caller verified itself.

    ``claim``: a client source (a browser, an app) sent it, with a key anyone can read: it may
    not touch a profile holding a verified identifier, move a device with history, nor merge a
    profile with activity — unless ``signed_in`` (the shopper session it came with) is that
    person's. See "Claims" in docs/customers.md."""
    at = at or utcnow()
    traits = traits or {}
    check_traits(traits)
    claims = _claims(
        anonymous_id=anonymous_id,
        user_id=user_id,
        device_id=device_id,
        traits=traits,
        trusted=trusted,
        verified=verified,
        rules=rules,
    )
    if not claims:
        raise InvalidInput(
            "identify needs at least one identifier: anonymous id, user id, email, phone, "
            "loyalty card or device id",
            code="nothing_to_identify",
        )
    # Two channels may identify the same new person at the same moment: the one that loses
    # the race on an identifier starts again from a savepoint and finds the winner's profile.
    for attempt in range(RACE_RETRIES):
        pending: list[DomainEvent] = []
        try:
            with uow.session.begin_nested():
                guard = _Guard.of(uow, claim=claim, signed_in=signed_in)
                target, new_profile = _resolve(uow, claims, traits, rules, at, pending, guard)
            break
        except IdentityRaced:
            if attempt == RACE_RETRIES - 1:
                raise
    for recorded in pending:
        uow.record(recorded)
    uow.record(CustomerIdentified(profile_id=target.id, channel=channel, new_profile=new_profile))
    return target


@dataclasses.dataclass(frozen=True, slots=True)
class SignedIn:
    """The signed-in shopper session a client's identify came with (stamped by the collection
    API from her session cookie or token, never taken from the message)."""

    profile_id: str
    anonymous_id: str


@dataclasses.dataclass(frozen=True, slots=True)
class _Guard:
    """What an identify may change: everything for a server; for a client's claim, nothing of
    a verified or active person but the signed-in shopper's own."""

    claim: bool
    own_profiles: frozenset[str] = frozenset()
    own_anonymous_id: str | None = None

    @classmethod
    def of(cls, uow: UnitOfWork, *, claim: bool, signed_in: SignedIn | None) -> _Guard:
        if not claim or signed_in is None:
            return cls(claim=claim)
        try:
            own = resolve_profile(uow=uow, profile_id=signed_in.profile_id)
        except NotFound:
            return cls(claim=True)
        if own.erased_at is not None:
            return cls(claim=True)
        cluster = frozenset({own.id, *merged_profile_ids(uow=uow, profile_id=own.id)})
        return cls(claim=True, own_profiles=cluster, own_anonymous_id=signed_in.anonymous_id)

    def holds_back(self, uow: UnitOfWork, profile: Profile, *, taken_from: bool) -> str | None:
        """Why a claim must leave this found profile alone, or ``None``: it holds a verified
        identifier, or it has a history and would be merged or lose a device id
        (``taken_from``)."""
        if not self.claim or profile.id in self.own_profiles:
            return None
        if _holds_verified(uow, profile.id):
            return "unverified_claim"
        if taken_from and _has_activity(uow, profile.id):
            return "active_profile"  # neither merged nor robbed of its device ids
        return None

    def may_link_device(self, uow: UnitOfWork, target: Profile, claim: Claim) -> bool:
        """On a signed-in shopper's claim, a device id other than her session's own joins her
        profile only when it has no history: another device's orders and events stay its own."""
        if not self.claim or target.id not in self.own_profiles:
            return True
        if claim.kind is K.ANONYMOUS_ID and claim.value == self.own_anonymous_id:
            return True
        return claim.kind is not K.ANONYMOUS_ID or not tracking.has_history(
            uow=uow, anonymous_id=claim.value
        )


def _holds_verified(uow: UnitOfWork, profile_id: str) -> bool:
    return (
        uow.session.scalar(
            select(Identifier.id)
            .where(Identifier.profile_id == profile_id, Identifier.verified.is_(True))
            .limit(1)
        )
        is not None
    )


def _has_activity(uow: UnitOfWork, profile_id: str) -> bool:
    """Events, consents or an identifier beyond device ids: someone's history, not a blank."""
    if any(
        i.kind not in (K.ANONYMOUS_ID.value, K.DEVICE_ID.value)
        for i in identifiers_of(uow=uow, profile_id=profile_id)
    ):
        return True
    consent = uow.session.scalar(
        select(ConsentRecord.id).where(ConsentRecord.profile_id == profile_id).limit(1)
    )
    if consent is not None:
        return True
    return tracking.has_history(uow=uow, profile_id=profile_id)


def _resolve(
    uow: UnitOfWork,
    claims: Sequence[Claim],
    traits: Mapping[str, Any],
    rules: IdentityRules,
    at: datetime,
    pending: list[DomainEvent],
    guard: _Guard,
) -> tuple[Profile, bool]:
    """One attempt of :func:`identify`: the profile, and whether it is new."""
    existing = {
        (row.kind, row.value): row
        for row in uow.session.scalars(
            select(Identifier).where(
                or_(*(and_(Identifier.kind == k, Identifier.value == v) for k, v in _keys(claims)))
            )
        )
    }
    kinds_found_by: dict[str, set[IdentifierKind]] = {}
    for claim in claims:
        found = existing.get(claim.key)
        if found is not None:
            kinds_found_by.setdefault(found.profile_id, set()).add(claim.kind)

    target: Profile | None = None
    view_claims = list(claims)
    held_back: set[tuple[str, str]] = set()
    for claim in claims:  # in priority order: the best-identified profile survives
        found = existing.get(claim.key)
        if found is None or found.profile_id not in kinds_found_by:
            continue
        profile = resolve_profile(uow=uow, profile_id=found.profile_id)
        movable_only = kinds_found_by.pop(found.profile_id) <= rules.movable_kinds
        if target is not None and target.id == profile.id:
            continue
        theirs = _view(identifiers_of(uow=uow, profile_id=profile.id))
        ours = _view(
            [*view_claims, *(identifiers_of(uow=uow, profile_id=target.id) if target else ())]
        )
        broken = _rule_broken(ours, theirs, rules)
        becomes_target = target is None and (broken is None or not movable_only)
        why = guard.holds_back(uow, profile, taken_from=not becomes_target)
        if why is not None:
            # A claim about someone else's verified or active profile: it keeps its identifiers
            # and traits; what the claim adds goes elsewhere.
            mine = {
                c.key
                for c in claims
                if (row := existing.get(c.key)) and row.profile_id == found.profile_id
            }
            held_back |= mine
            view_claims = [c for c in view_claims if c.key not in mine]
            if why == "unverified_claim":
                _record_conflict(
                    uow,
                    profile_id=profile.id,
                    other_profile_id=None,
                    reason=why,
                    kind=claim.kind.value,
                    at=at,
                )
            continue
        if becomes_target:
            target = profile
            continue
        if broken is None and target is not None:
            _merge(
                uow,
                survivor=target,
                merged=profile,
                reason="identify",
                by="identity",
                at=at,
                pending=pending,
            )
            continue
        if not movable_only:
            # A different person: leave their identifiers with them and say so.
            _record_conflict(
                uow,
                profile_id=target.id if target else profile.id,
                other_profile_id=profile.id if target else None,
                reason=broken[0] if broken else "unique_kind",
                kind=broken[1] if broken else claim.kind.value,
                at=at,
            )
            view_claims = [
                c
                for c in view_claims
                if (row := existing.get(c.key)) is None or row.profile_id != profile.id
            ]
        # Movable-only and incompatible: a shared device; its identifiers move below.

    new_profile = target is None
    if target is None:
        if held_back and all(c.key in held_back for c in claims):
            raise InvalidInput(
                "this claim names only people it may not speak for", code="claim_refused"
            )
        target = _new_profile(uow, at)
    to_link = [
        c for c in claims if c.key not in held_back and guard.may_link_device(uow, target, c)
    ]
    linked = _link_claims(uow, target, to_link, existing, rules, at)

    plain = _plain_traits(traits)
    if plain:
        check_traits({**target.traits, **plain})
        target.traits = {**target.traits, **plain}
        _refresh_search_name(target)
    target.updated_at = max(target.updated_at, at)
    uow.session.flush()
    if linked:
        tracking.assign_profile(
            uow=uow,
            profile_id=target.id,
            anonymous_ids=[c.value for c in linked if c.kind is K.ANONYMOUS_ID],
            user_ids=[c.value for c in linked if c.kind is K.USER_ID],
            only_unassigned=True,
        )
    return target, new_profile


def _keys(claims: Sequence[Claim]) -> list[tuple[str, str]]:
    return [c.key for c in claims]


def _link_claims(
    uow: UnitOfWork,
    target: Profile,
    claims: Sequence[Claim],
    existing: Mapping[tuple[str, str], Identifier],
    rules: IdentityRules,
    at: datetime,
) -> list[Claim]:
    """Attach new identifiers to ``target`` and take over movable ones; returns the claims that
    now point at it and did not before."""
    linked: list[Claim] = []
    held = identifiers_of(uow=uow, profile_id=target.id)
    for claim in claims:
        row = existing.get(claim.key)
        if row is None:
            clash = claim.kind in rules.unique_kinds and any(
                i.kind == claim.kind.value and i.value != claim.value for i in held
            )
            if clash:
                _record_conflict(
                    uow,
                    profile_id=target.id,
                    other_profile_id=None,
                    reason="unique_kind",
                    kind=claim.kind.value,
                    at=at,
                )
                continue
            held.append(_attach(uow, target, claim, at))
            linked.append(claim)
            continue
        if row.profile_id != target.id:
            if claim.kind not in rules.movable_kinds:
                continue
            row.profile_id = target.id
            linked.append(claim)
        row.last_seen = max(row.last_seen, at)
        row.verified = row.verified or claim.verified
    uow.session.flush()
    return linked


def alias(
    *,
    uow: UnitOfWork,
    previous_id: str,
    user_id: str,
    channel: str = "web",
    at: datetime | None = None,
    rules: IdentityRules = DEFAULT_RULES,
    claim: bool = False,
    signed_in: SignedIn | None = None,
) -> Profile:
    """Say that ``previous_id`` (an anonymous id, or an earlier user id) and ``user_id`` are
    the same person. ``claim``, ``signed_in``: as for :func:`identify`."""
    at = at or utcnow()
    previous = uow.session.scalar(
        select(Identifier).where(
            Identifier.kind == K.USER_ID.value, Identifier.value == previous_id.strip()
        )
    )
    if previous is None:
        return identify(
            uow=uow,
            anonymous_id=previous_id,
            user_id=user_id,
            channel=channel,
            at=at,
            rules=rules,
            claim=claim,
            signed_in=signed_in,
        )
    profile = resolve_profile(uow=uow, profile_id=previous.profile_id)
    guard = _Guard.of(uow, claim=claim, signed_in=signed_in)
    if guard.holds_back(uow, profile, taken_from=False):
        raise InvalidInput("this alias names a person it may not speak for", code="claim_refused")
    current = uow.session.scalar(
        select(Identifier).where(
            Identifier.kind == K.USER_ID.value, Identifier.value == user_id.strip()
        )
    )
    if current is None:
        # An alias is the one way a profile gets a second user id: the caller says so.
        second = Claim(K.USER_ID, user_id.strip())
        _link_claims(
            uow, profile, [second], {}, dataclasses.replace(rules, unique_kinds=frozenset()), at
        )
        tracking.assign_profile(
            uow=uow, profile_id=profile.id, user_ids=[second.value], only_unassigned=True
        )
    elif current.profile_id != profile.id:
        other = resolve_profile(uow=uow, profile_id=current.profile_id)
        if guard.holds_back(uow, other, taken_from=True):
            raise InvalidInput(
                "this alias names a person it may not speak for", code="claim_refused"
            )
        # The two user ids are the alias's own claim; every other rule still holds.
        relaxed = dataclasses.replace(rules, unique_kinds=rules.unique_kinds - {K.USER_ID})
        broken = _rule_broken(
            _view(identifiers_of(uow=uow, profile_id=profile.id)),
            _view(identifiers_of(uow=uow, profile_id=other.id)),
            relaxed,
        )
        if broken is None:
            _merge(uow, survivor=profile, merged=other, reason="alias", by="identity", at=at)
        else:
            _record_conflict(
                uow,
                profile_id=profile.id,
                other_profile_id=other.id,
                reason=broken[0],
                kind=broken[1],
                at=at,
            )
    uow.record(CustomerIdentified(profile_id=profile.id, channel=channel, new_profile=False))
    return profile


# --- merge and unmerge ------------------------------------------------------------------------


def merge_profiles(
    *,
    uow: UnitOfWork,
    survivor_id: str,
    merged_id: str,
    by: str,
    reason: str = "manual",
    force: bool = False,
    at: datetime | None = None,
    rules: IdentityRules = DEFAULT_RULES,
) -> Merge:
    """Merge one profile into another, recorded so it can be undone. The rules are checked
    unless ``force`` (a person who looked at both profiles decided)."""
    survivor = get_live_profile(uow=uow, profile_id=survivor_id)
    merged = get_live_profile(uow=uow, profile_id=merged_id)
    if survivor.id == merged.id:
        raise Conflict("these ids are already one profile", code="same_profile")
    if not force:
        broken = _rule_broken(
            _view(identifiers_of(uow=uow, profile_id=survivor.id)),
            _view(identifiers_of(uow=uow, profile_id=merged.id)),
            rules,
        )
        if broken is not None:
            raise Conflict(
                f"these profiles look like two people ({broken[0]}: {broken[1]}); "
                "send force=true to merge them anyway",
                code="profiles_conflict",
                reason=broken[0],
                kind=broken[1],
            )
    return _merge(uow, survivor=survivor, merged=merged, reason=reason, by=by, at=at or utcnow())


def _merge(
    uow: UnitOfWork,
    *,
    survivor: Profile,
    merged: Profile,
    reason: str,
    by: str,
    at: datetime,
    pending: list[DomainEvent] | None = None,
) -> Merge:
    moved = identifiers_of(uow=uow, profile_id=merged.id)
    consents = list(
        uow.session.scalars(select(ConsentRecord).where(ConsentRecord.profile_id == merged.id))
    )
    for row in moved:
        row.profile_id = survivor.id
    for consent in consents:
        consent.profile_id = survivor.id
    taken = {k: v for k, v in merged.traits.items() if k not in survivor.traits}
    if taken:
        survivor.traits = {**survivor.traits, **taken}
        _refresh_search_name(survivor)
    survivor.updated_at = merged.updated_at = max(survivor.updated_at, at)
    merged.merged_into = survivor.id
    merge = Merge(
        id=new_id("mrg"),
        survivor_id=survivor.id,
        merged_id=merged.id,
        identifier_ids=[row.id for row in moved],
        consent_ids=[c.id for c in consents],
        traits_taken=taken,
        reason=reason,
        merged_by=by,
        merged_at=at,
    )
    uow.session.add(merge)
    uow.session.flush()
    tracking.assign_profile(
        uow=uow,
        profile_id=survivor.id,
        anonymous_ids=[r.value for r in moved if r.kind == K.ANONYMOUS_ID.value],
        user_ids=[r.value for r in moved if r.kind == K.USER_ID.value],
    )
    merged_event = ProfilesMerged(
        merge_id=merge.id, survivor_id=survivor.id, merged_id=merged.id, reason=reason
    )
    if pending is None:
        uow.record(merged_event)
    else:  # recorded by the caller once its attempt holds
        pending.append(merged_event)
    log.info(
        "profiles merged",
        extra={"merge_id": merge.id, "survivor_id": survivor.id, "merged_id": merged.id},
    )
    return merge


def get_merge(*, uow: UnitOfWork, merge_id: str) -> Merge:
    merge = uow.session.get(Merge, merge_id)
    if merge is None:
        raise NotFound("no merge with this id", code="merge_not_found")
    return merge


def unmerge(*, uow: UnitOfWork, merge_id: str, by: str, at: datetime | None = None) -> Merge:
    """Undo a merge: both profiles back as they were, with their identifiers, consents, traits
    and events. Identifiers linked to the survivor after the merge stay with it."""
    at = at or utcnow()
    merge = get_merge(uow=uow, merge_id=merge_id)
    if merge.undone_at is not None:
        raise Conflict("this merge was already undone", code="merge_already_undone")
    survivor = uow.session.get(Profile, merge.survivor_id)
    merged = uow.session.get(Profile, merge.merged_id)
    if survivor is None or merged is None:
        raise Conflict("a profile of this merge no longer exists", code="merge_not_undoable")
    if survivor.erased_at is not None or merged.erased_at is not None:
        raise Gone("a profile of this merge was erased: there is nothing to restore")
    if merged.merged_into != survivor.id or survivor.merged_into is not None:
        raise Conflict(
            "the survivor was merged again since: undo that merge first",
            code="merge_not_undoable",
        )
    back = list(
        uow.session.scalars(
            select(Identifier).where(
                Identifier.id.in_(merge.identifier_ids or [""]),
                Identifier.profile_id == survivor.id,
            )
        )
    )
    for row in back:
        row.profile_id = merged.id
    if merge.consent_ids:
        uow.session.execute(
            update(ConsentRecord)
            .where(ConsentRecord.id.in_(merge.consent_ids), ConsentRecord.profile_id == survivor.id)
            .values(profile_id=merged.id)
            .execution_options(synchronize_session=False)
        )
    traits = dict(survivor.traits)
    for key, value in merge.traits_taken.items():
        if traits.get(key) == value:
            del traits[key]
    survivor.traits = traits
    _refresh_search_name(survivor)
    merged.merged_into = None
    survivor.updated_at = merged.updated_at = max(survivor.updated_at, at)
    merge.undone_at, merge.undone_by = at, by
    uow.session.flush()
    tracking.assign_profile(
        uow=uow,
        profile_id=merged.id,
        anonymous_ids=[r.value for r in back if r.kind == K.ANONYMOUS_ID.value],
        user_ids=[r.value for r in back if r.kind == K.USER_ID.value],
    )
    uow.record(ProfilesUnmerged(merge_id=merge.id, survivor_id=survivor.id, merged_id=merged.id))
    log.info("merge undone", extra={"merge_id": merge.id})
    return merge


def merges_of(*, uow: UnitOfWork, profile_ids: Sequence[str]) -> list[Merge]:
    """Every merge a profile took part in, oldest first."""
    return list(
        uow.session.scalars(
            select(Merge)
            .where(or_(Merge.survivor_id.in_(profile_ids), Merge.merged_id.in_(profile_ids)))
            .order_by(Merge.merged_at, Merge.id)
        )
    )


def conflicts_of(*, uow: UnitOfWork, profile_ids: Sequence[str]) -> list[IdentityConflict]:
    return list(
        uow.session.scalars(
            select(IdentityConflict)
            .where(
                or_(
                    IdentityConflict.profile_id.in_(profile_ids),
                    IdentityConflict.other_profile_id.in_(profile_ids),
                )
            )
            .order_by(IdentityConflict.detected_at, IdentityConflict.id)
        )
    )


# --- consent ----------------------------------------------------------------------------------


def record_consent(
    *,
    uow: UnitOfWork,
    profile_id: str,
    purpose: ConsentPurpose,
    granted: bool,
    channel: str,
    wording_version: str,
    at: datetime | None = None,
    by: str | None = None,
    events_without_consent: str = ANONYMISE,
) -> ConsentRecord:
    """Append a grant or a withdrawal. Withdrawing analytics consent strips the person's
    identifiers from the events already stored (the event store keeps anonymous facts).

    ``at`` (when the person said so, if not now) is refused (422) in the future beyond
    :data:`CONSENT_CLOCK_SKEW` or before :data:`CONSENT_EARLIEST`. It is the record's date only:
    what is current is the latest record *written* (see :func:`current_consents`)."""
    profile = get_live_profile(uow=uow, profile_id=profile_id)
    purpose = ConsentPurpose(purpose)
    now = utcnow()
    when = now if at is None else as_utc(at)
    if when > now + CONSENT_CLOCK_SKEW or when < CONSENT_EARLIEST:
        raise InvalidInput(
            f"a consent's time must be between {CONSENT_EARLIEST.date().isoformat()} and "
            f"{int(CONSENT_CLOCK_SKEW.total_seconds() // 60)} minutes from now",
            code="consent_time_out_of_range",
        )
    record = ConsentRecord(
        id=new_id("cns"),
        profile_id=profile.id,
        purpose=purpose.value,
        granted=granted,
        channel=channel,
        wording_version=wording_version,
        recorded_at=when,
        recorded_by=by,
    )
    uow.session.add(record)
    uow.session.flush()
    if purpose is ConsentPurpose.ANALYTICS and not granted:
        _withhold_events(uow, profile, events_without_consent)
    uow.record(
        ConsentChanged(
            profile_id=profile.id, purpose=purpose.value, granted=granted, channel=channel
        )
    )
    return record


def record_guest_consent(
    *,
    uow: UnitOfWork,
    anonymous_id: str,
    purpose: ConsentPurpose,
    granted: bool,
    channel: str,
    wording_version: str,
    events_without_consent: str = ANONYMISE,
) -> ConsentRecord | None:
    """A guest's answer (the cookie banner), kept on the profile of her session's device id so
    that it follows her when she signs in (signing in merges that profile into hers, consents
    included). Nothing is recorded when the device id already belongs to someone known: a
    guest never speaks for a profile. Returns the record, or ``None`` when nothing changed."""
    row = uow.session.scalar(
        select(Identifier).where(
            Identifier.kind == K.ANONYMOUS_ID.value, Identifier.value == anonymous_id
        )
    )
    if row is None:
        profile = identify(uow=uow, anonymous_id=anonymous_id, channel=channel)
    else:
        profile = resolve_profile(uow=uow, profile_id=row.profile_id)
        others = [
            i
            for i in identifiers_of(uow=uow, profile_id=profile.id)
            if i.kind not in (K.ANONYMOUS_ID.value, K.DEVICE_ID.value)
        ]
        if others or profile.erased_at is not None:
            return None
    was = current_consents(uow=uow, profile_id=profile.id).get(purpose)
    if was is not None and was.granted == granted:
        return None
    return record_consent(
        uow=uow,
        profile_id=profile.id,
        purpose=purpose,
        granted=granted,
        channel=channel,
        wording_version=wording_version,
        by="guest",
        events_without_consent=events_without_consent,
    )


def _withhold_events(uow: UnitOfWork, profile: Profile, mode: str) -> int:
    """Without analytics consent a person's events keep no identifier (``anonymise``) or are not
    kept at all (``drop``): those already attached to them and those sent under their ids but
    not attached yet."""
    cluster = [profile.id, *merged_profile_ids(uow=uow, profile_id=profile.id)]
    held = identifiers_of(uow=uow, profile_id=profile.id)
    tracking.assign_profile(
        uow=uow,
        profile_id=profile.id,
        anonymous_ids=[i.value for i in held if i.kind == K.ANONYMOUS_ID.value],
        user_ids=[i.value for i in held if i.kind == K.USER_ID.value],
        only_unassigned=True,
    )
    withhold = tracking.delete_events_of if mode == DROP else tracking.erase_profile_events
    return sum(withhold(uow=uow, profile_id=pid) for pid in cluster)


def current_consents(*, uow: UnitOfWork, profile_id: str) -> dict[ConsentPurpose, ConsentRecord]:
    """The last record written per purpose: what the person says today. Records are ordered by
    id (ids sort in the order they were made), never by the time a caller claimed: a grant
    dated 2099 does not outlive the withdrawal written after it."""
    current: dict[ConsentPurpose, ConsentRecord] = {}
    for record in uow.session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.profile_id == profile_id)
        .order_by(ConsentRecord.id)
    ):
        current[ConsentPurpose(record.purpose)] = record
    return current


def consent_history(
    *, uow: UnitOfWork, profile_id: str, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> tuple[list[ConsentRecord], str | None]:
    """Every grant and withdrawal, oldest first, a page at a time."""
    limit = max(1, min(limit, MAX_LIMIT))
    query = (
        select(ConsentRecord)
        .where(ConsentRecord.profile_id == profile_id)
        .order_by(ConsentRecord.recorded_at, ConsentRecord.id)
        .limit(limit + 1)
    )
    if cursor:
        at_text, last_id = decode_cursor(cursor, arity=2)
        try:
            after = datetime.fromisoformat(str(at_text))
        except ValueError:
            raise InvalidInput("this cursor is not one we issued", code="invalid_cursor") from None
        query = query.where(
            or_(
                ConsentRecord.recorded_at > after,
                and_(ConsentRecord.recorded_at == after, ConsentRecord.id > str(last_id)),
            )
        )
    rows = list(uow.session.scalars(query))
    if len(rows) > limit:
        last = rows[limit - 1]
        return rows[:limit], encode_cursor(last.recorded_at.isoformat(), last.id)
    return rows, None


def can_contact(*, uow: UnitOfWork, profile_id: str, channel: str, purpose: str) -> bool:
    """Whether a message on ``channel`` for ``purpose`` may be sent: the one check every
    sender calls. False without a current grant for that purpose, for a channel the purpose
    does not cover, without an address on that channel, and for unknown or erased people."""
    try:
        wanted = ConsentPurpose(purpose)
        profile = resolve_profile(uow=uow, profile_id=profile_id)
    except (ValueError, NotFound):
        return False
    if profile.erased_at is not None or CONTACT_CHANNELS.get(wanted) != channel:
        return False
    record = current_consents(uow=uow, profile_id=profile.id).get(wanted)
    if record is None or not record.granted:
        return False
    needed = _CONTACT_POINTS.get(channel)
    if needed is None:
        return True
    return any(i.kind == needed.value for i in identifiers_of(uow=uow, profile_id=profile.id))


def analytics_withdrawn(*, uow: UnitOfWork, profile_id: str) -> bool:
    """Whether the person's latest word on analytics is no."""
    record = current_consents(uow=uow, profile_id=profile_id).get(ConsentPurpose.ANALYTICS)
    return record is not None and not record.granted


# --- profile 360 ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Profile360:
    profile: Profile
    identifiers: list[Identifier]
    consents: dict[ConsentPurpose, ConsentRecord]
    activity: dict[str, Any]
    latest_events: list[tracking.StoredEvent]
    merged_profile_ids: list[str]
    open_conflicts: int


def profile_360(*, uow: UnitOfWork, profile_id: str, events_limit: int = 20) -> Profile360:
    """Everything a screen shows about a person: traits, identifiers, consents, activity per
    channel and the latest events across channels."""
    profile = get_live_profile(uow=uow, profile_id=profile_id)
    merged = merged_profile_ids(uow=uow, profile_id=profile.id)
    cluster = [profile.id, *merged]
    return Profile360(
        profile=profile,
        identifiers=identifiers_of(uow=uow, profile_id=profile.id),
        consents=current_consents(uow=uow, profile_id=profile.id),
        activity=person_activity(uow=uow, profile_ids=cluster),
        latest_events=latest_events(uow=uow, profile_ids=cluster, limit=events_limit),
        merged_profile_ids=merged,
        open_conflicts=sum(
            1 for c in conflicts_of(uow=uow, profile_ids=[profile.id]) if c.resolved_at is None
        ),
    )


def latest_events(
    *, uow: UnitOfWork, profile_ids: Sequence[str], limit: int = 20
) -> list[tracking.StoredEvent]:
    """The newest events of a person across the profiles merged into theirs. Events recorded
    with a profile id only (a till sale) keep the merged profile's id, so that an undo finds
    them where they were: the person is read as the whole cluster."""
    found: list[tracking.StoredEvent] = []
    for pid in profile_ids:
        page, _ = tracking.events_of_profile(uow=uow, profile_id=pid, limit=limit)
        # A browser saying "Order Completed" is no order of hers: the orders context says so.
        found.extend(e for e in page if not is_unverified_order_claim(e.source, e.event))
    found.sort(key=lambda e: (e.timestamp, e.id), reverse=True)
    return found[:limit]


def person_activity(*, uow: UnitOfWork, profile_ids: Sequence[str]) -> dict[str, Any]:
    """First and last seen per channel and counts per event name, over a person's profiles."""
    channels: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    for pid in profile_ids:
        activity = tracking.profile_activity(uow=uow, profile_id=pid)
        for channel, seen in activity["channels"].items():
            into = channels.get(channel)
            if into is None:
                channels[channel] = dict(seen)
                continue
            into["first_seen"] = min(into["first_seen"], seen["first_seen"])
            into["last_seen"] = max(into["last_seen"], seen["last_seen"])
            into["events"] += seen["events"]
        for name, count in activity["counts"].items():
            counts[name] = counts.get(name, 0) + count
    return {
        "channels": channels,
        "counts": counts,
        "total": sum(counts.values()),
        "first_seen": min((c["first_seen"] for c in channels.values()), default=None),
        "last_seen": max((c["last_seen"] for c in channels.values()), default=None),
    }


# --- recognised in a store ---------------------------------------------------------------------

RECOGNITION_METHODS = frozenset({"loyalty_card", "search"})
#: Opening the same person's 360 again within this many seconds is the same recognition.
_RECOGNITION_WINDOW_S = 600


def record_recognition(
    *,
    uow: UnitOfWork,
    profile_id: str,
    store_id: str,
    method: str,
    by: str,
    at: datetime | None = None,
) -> str | None:
    """An associate recognised the person in a store: a touchpoint of her journey. Nothing is
    recorded for someone who said no to analytics; returns the event id, else ``None``."""
    if method not in RECOGNITION_METHODS:
        raise InvalidInput("recognised by loyalty card or search", code="invalid_method")
    profile = get_live_profile(uow=uow, profile_id=profile_id)
    if analytics_withdrawn(uow=uow, profile_id=profile.id):
        return None
    at = at or utcnow()
    # A reload or a back-and-forth is not a second visit: one event per window.
    window = int(at.timestamp()) // _RECOGNITION_WINDOW_S
    return tracking.record_domain_event(
        uow=uow,
        name="Customer Recognised",
        properties={"method": method, "by": by},
        channel="store",
        occurred_at=at,
        store_id=store_id,
        profile_id=profile.id,
        message_id=f"recognised:{profile.id}:{store_id}:{by}:{method}:{window}",
    )


# --- notes and preferences ---------------------------------------------------------------------

MAX_NOTE_LENGTH = 1000


def add_customer_note(
    *,
    uow: UnitOfWork,
    profile_id: str,
    kind: NoteKind | str,
    text: str,
    author: str,
    store_id: str | None = None,
    at: datetime | None = None,
) -> CustomerNote:
    """Keep what an associate learnt about a person ("size 38, prefers black") so that the next
    associate, in any store, knows it too."""
    profile = get_live_profile(uow=uow, profile_id=profile_id)
    try:
        kind = NoteKind(kind)
    except ValueError:
        raise InvalidInput("a note is a note or a preference", code="invalid_note_kind") from None
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInput("write something in the note", code="empty_note")
    if len(cleaned) > MAX_NOTE_LENGTH:
        raise InvalidInput(
            f"a note holds at most {MAX_NOTE_LENGTH} characters", code="note_too_long"
        )
    note = CustomerNote(
        id=new_id("cno"),
        profile_id=profile.id,
        kind=kind.value,
        text=cleaned,
        author=author,
        store_id=store_id,
        created_at=at or utcnow(),
    )
    uow.session.add(note)
    uow.session.flush()
    log.info("customer note added", extra={"profile_id": profile.id, "note_id": note.id})
    return note


def notes_of(*, uow: UnitOfWork, profile_id: str, limit: int = 100) -> list[CustomerNote]:
    """A person's notes and preferences, newest first, those of profiles merged into hers
    included (an unmerge takes them back with their profile)."""
    profile = resolve_profile(uow=uow, profile_id=profile_id)
    cluster = [profile.id, *merged_profile_ids(uow=uow, profile_id=profile.id)]
    return list(
        uow.session.scalars(
            select(CustomerNote)
            .where(CustomerNote.profile_id.in_(cluster))
            .order_by(CustomerNote.created_at.desc(), CustomerNote.id.desc())
            .limit(max(1, min(limit, 500)))
        )
    )


# --- GDPR: access and erasure -----------------------------------------------------------------

EXPORT_FORMAT = "parcours.customer-export/1"


def _row(obj: Any, *fields: str) -> dict[str, Any]:
    return {name: to_jsonable_python(getattr(obj, name)) for name in fields}


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as ``null``: a row stored before they were refused
    must not make the export fail (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _exported_event(event: tracking.StoredEvent) -> dict[str, Any]:
    document: dict[str, Any] = to_jsonable_python(dataclasses.asdict(event))
    # Everything held is exported, an order a browser claimed too, marked for what it is.
    document["unverified_claim"] = is_unverified_order_claim(event.source, event.event)
    return document


def export_profile(
    *, uow: UnitOfWork, profile_id: str, at: datetime | None = None
) -> dict[str, Any]:
    """Right of access: one JSON document of everything held about the person — profile and
    the profiles merged into it, identifiers, consents and their history, merges, conflicts,
    activity, the notes staff wrote and every event."""
    profile = get_live_profile(uow=uow, profile_id=profile_id)
    cluster = [profile.id, *merged_profile_ids(uow=uow, profile_id=profile.id)]
    profiles = [uow.session.get(Profile, pid) for pid in cluster]
    events: list[dict[str, Any]] = []
    for pid in cluster:
        cursor: str | None = None
        while True:
            page, cursor = tracking.events_of_profile(
                uow=uow, profile_id=pid, limit=200, cursor=cursor
            )
            events.extend(_exported_event(e) for e in page)
            if cursor is None:
                break
    history = list(
        uow.session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.profile_id.in_(cluster))
            .order_by(ConsentRecord.recorded_at, ConsentRecord.id)
        )
    )
    consent_fields = ("id", "purpose", "granted", "channel", "wording_version", "recorded_at")
    document = {
        "format": EXPORT_FORMAT,
        "exported_at": to_jsonable_python(at or utcnow()),
        "profile": _row(profile, "id", "traits", "created_at", "updated_at"),
        "merged_profiles": [
            _row(p, "id", "traits", "created_at", "updated_at") for p in profiles[1:] if p
        ],
        "identifiers": [
            _row(i, "kind", "value", "verified", "first_seen", "last_seen")
            for i in identifiers_of(uow=uow, profile_id=profile.id)
        ],
        "consents": {
            "current": {
                purpose.value: _row(record, *consent_fields)
                for purpose, record in current_consents(uow=uow, profile_id=profile.id).items()
            },
            "history": [_row(r, *consent_fields) for r in history],
        },
        "merges": [
            _row(m, "id", "survivor_id", "merged_id", "reason", "merged_at", "undone_at")
            for m in merges_of(uow=uow, profile_ids=cluster)
        ],
        "identity_conflicts": [
            _row(c, "id", "profile_id", "other_profile_id", "reason", "kind", "detected_at")
            for c in conflicts_of(uow=uow, profile_ids=cluster)
        ],
        "notes": [
            _row(n, "id", "kind", "text", "author", "store_id", "created_at")
            for n in notes_of(uow=uow, profile_id=profile.id)
        ],
        "activity": to_jsonable_python(person_activity(uow=uow, profile_ids=cluster)),
        "events": events,
    }
    log.info("customer data exported", extra={"profile_id": profile.id, "events": len(events)})
    finite: dict[str, Any] = _finite(document)
    return finite


@dataclasses.dataclass(frozen=True, slots=True)
class ErasureScope:
    """Who is being erased, as other contexts find her in their data: her profiles (merged ones
    included), her email addresses and her devices (anonymous ids) — a guest order placed on
    her phone or under her address before she had an account is hers too."""

    profile_ids: tuple[str, ...]
    emails: tuple[str, ...]
    anonymous_ids: tuple[str, ...]


#: Another context's erasure of what it holds about the person; returns counts for the log.
ErasureStep = Callable[[UnitOfWork, ErasureScope], Mapping[str, int]]

#: The steps other contexts register (their ``register``, at app start). They run inside the
#: erasure's transaction, while her addresses and devices are still known: once it commits no
#: personal data is left to find them by, and the ``CustomerErased`` event carries ids only.
_ERASURE_STEPS: dict[str, ErasureStep] = {}


def register_erasure_step(name: str, step: ErasureStep) -> None:
    """Have ``step`` run in every erasure (registering a name again replaces its step)."""
    _ERASURE_STEPS[name] = step


def erase_profile(
    *, uow: UnitOfWork, profile_id: str, by: str, at: datetime | None = None
) -> Erasure:
    """Right to erasure: traits, identifiers, consents and the personal data of the events go;
    the profile id stays as an empty shell, events stay as anonymous facts (aggregate counts),
    and a log records who erased what, when, with counts only. A later identify with the same
    email finds nothing and starts a new, empty profile."""
    at = at or utcnow()
    profile = resolve_profile(uow=uow, profile_id=profile_id)
    if profile.erased_at is not None:
        raise Gone("this customer's data was already erased")
    cluster = [profile.id, *merged_profile_ids(uow=uow, profile_id=profile.id)]
    identifiers = list(
        uow.session.scalars(select(Identifier).where(Identifier.profile_id.in_(cluster)))
    )
    # Events sent under the person's ids but not attached yet are theirs too.
    tracking.assign_profile(
        uow=uow,
        profile_id=profile.id,
        anonymous_ids=[i.value for i in identifiers if i.kind == K.ANONYMOUS_ID.value],
        user_ids=[i.value for i in identifiers if i.kind == K.USER_ID.value],
        only_unassigned=True,
    )
    events = sum(tracking.erase_profile_events(uow=uow, profile_id=pid) for pid in cluster)
    scope = ErasureScope(
        profile_ids=tuple(cluster),
        emails=tuple(sorted({i.value for i in identifiers if i.kind == K.EMAIL.value})),
        anonymous_ids=tuple(
            sorted({i.value for i in identifiers if i.kind == K.ANONYMOUS_ID.value})
        ),
    )
    elsewhere: dict[str, int] = {}
    for name in sorted(_ERASURE_STEPS):
        for key, count in _ERASURE_STEPS[name](uow, scope).items():
            elsewhere[f"{name}_{key}"] = count
    # Her devices are signed out and her pending sign-in codes go with her address.
    sessions = uow.session.execute(
        update(ShopperSession)
        .where(ShopperSession.profile_id.in_(cluster))
        .values(profile_id=None, ended_at=at)
        .execution_options(synchronize_session=False)
    )
    emails = [i.value for i in identifiers if i.kind == K.EMAIL.value]
    if emails:
        uow.session.execute(
            delete(SignInCode)
            .where(SignInCode.email.in_(emails))
            .execution_options(synchronize_session=False)
        )
    counts: dict[str, int] = {f"identifiers_{kind.value}": 0 for kind in IdentifierKind}
    for identifier in identifiers:
        counts[f"identifiers_{identifier.kind}"] += 1
    uow.session.execute(
        delete(Identifier)
        .where(Identifier.profile_id.in_(cluster))
        .execution_options(synchronize_session=False)
    )
    consents = uow.session.execute(
        delete(ConsentRecord)
        .where(ConsentRecord.profile_id.in_(cluster))
        .execution_options(synchronize_session=False)
    )
    notes = uow.session.execute(
        delete(CustomerNote)
        .where(CustomerNote.profile_id.in_(cluster))
        .execution_options(synchronize_session=False)
    )
    uow.session.execute(
        update(Merge)
        .where(or_(Merge.survivor_id.in_(cluster), Merge.merged_id.in_(cluster)))
        .values(traits_taken={})
        .execution_options(synchronize_session=False)
    )
    for pid in cluster:
        shell = uow.session.get(Profile, pid)
        if shell is not None:
            shell.traits = {}
            shell.search_name = None
            shell.erased_at = at
            shell.updated_at = at
    counts.update(
        profiles=len(cluster),
        consents=consents.rowcount or 0,  # type: ignore[attr-defined]
        notes=notes.rowcount or 0,  # type: ignore[attr-defined]
        shopper_sessions=sessions.rowcount or 0,  # type: ignore[attr-defined]
        events_anonymised=events,
        **elsewhere,
    )
    erasure = Erasure(
        id=new_id("era"), profile_id=profile.id, erased_at=at, erased_by=by, counts=counts
    )
    uow.session.add(erasure)
    uow.session.flush()
    uow.session.expire_all()  # bulk statements above: reload what callers read next
    uow.record(CustomerErased(profile_id=profile.id, erasure_id=erasure.id))
    log.info("customer erased", extra={"profile_id": profile.id, "erasure_id": erasure.id})
    return erasure


# --- the identity projector over the event store ----------------------------------------------

IDENTITY_PROJECTION = "identity"


def projection_position(*, uow: UnitOfWork, name: str = IDENTITY_PROJECTION) -> str | None:
    """The last event id a projector applied, locking its row so two workers take turns."""
    row = uow.session.scalar(
        select(ProjectionCursor).where(ProjectionCursor.name == name).with_for_update()
    )
    if row is None:
        try:
            with uow.session.begin_nested():
                uow.session.add(ProjectionCursor(name=name, updated_at=utcnow()))
        except IntegrityError:
            pass  # another worker created it: read theirs, locked
        row = uow.session.scalar(
            select(ProjectionCursor).where(ProjectionCursor.name == name).with_for_update()
        )
    return None if row is None else row.last_event_id


def save_projection_position(
    *, uow: UnitOfWork, last_event_id: str | None, name: str = IDENTITY_PROJECTION
) -> None:
    row = uow.session.get(ProjectionCursor, name)
    if row is None:
        row = ProjectionCursor(name=name, updated_at=utcnow())
        uow.session.add(row)
    row.last_event_id = last_event_id
    row.updated_at = utcnow()
    uow.session.flush()


def _device_id(context: Mapping[str, Any]) -> str | None:
    device = context.get("device")
    if isinstance(device, Mapping) and isinstance(device.get("id"), str):
        return str(device["id"])
    return None


def _signed_in_of(context: Mapping[str, Any]) -> SignedIn | None:
    """The shopper session the collection API found with the message (its stamp only)."""
    stamp = context.get(SIGNED_IN_CONTEXT)
    if not isinstance(stamp, Mapping):
        return None
    profile_id, anonymous_id = stamp.get("profile_id"), stamp.get("anonymous_id")
    if isinstance(profile_id, str) and isinstance(anonymous_id, str):
        return SignedIn(profile_id=profile_id, anonymous_id=anonymous_id)
    return None


def _apply_identity_event(uow: UnitOfWork, stored: tracking.StoredEvent) -> None:
    # A browser's, an app's or a kiosk's word is a claim; the shop's servers and tills are
    # trusted (their keys never leave the shop).
    claim = stored.source in CLIENT_SOURCES
    signed_in = _signed_in_of(stored.context or {}) if claim else None
    if stored.type == "identify":
        identify(
            uow=uow,
            anonymous_id=stored.anonymous_id,
            user_id=stored.user_id,
            traits=stored.traits or {},
            device_id=_device_id(stored.context or {}),
            channel=stored.channel,
            at=stored.timestamp,
            trusted=stored.source == "server",
            claim=claim,
            signed_in=signed_in,
        )
    elif stored.type == "alias" and stored.previous_id and stored.user_id:
        alias(
            uow=uow,
            previous_id=stored.previous_id,
            user_id=stored.user_id,
            channel=stored.channel,
            at=stored.timestamp,
            claim=claim,
            signed_in=signed_in,
        )


def project_identity_events(
    *,
    uow: UnitOfWork,
    after_id: str | None,
    limit: int = 500,
    received_before: datetime | None = None,
    events_without_consent: str = ANONYMISE,
) -> str | None:
    """Apply the identify and alias events stored after ``after_id``, and attach events of
    known identifiers to their profile; returns the last event id read (``after_id`` when
    there was nothing). Applying an event twice changes nothing, so a crash between batches
    only repeats work. An event that cannot be applied is skipped (and logged by id).

    ``received_before``: read only events received before then. Several ingestion committers
    may commit ids out of order; the background task leaves a settling delay so that no event
    committed late behind the position is skipped."""
    batch = tracking.read_events(
        uow=uow, after_id=after_id, limit=limit, received_before=received_before
    )
    if not batch:
        return after_id
    anonymous: set[str] = set()
    users: set[str] = set()
    for stored in batch:
        if stored.type in ("identify", "alias"):
            try:
                with uow.session.begin_nested():
                    _apply_identity_event(uow, stored)
            except Exception as exc:  # one bad message must not stop the stream for everyone
                code = exc.code if isinstance(exc, DomainError) else type(exc).__name__
                log.warning("identity event skipped", extra={"event_id": stored.id, "code": code})
        if stored.profile_id is None:
            if stored.anonymous_id:
                anonymous.add(stored.anonymous_id)
            if stored.user_id:
                users.add(stored.user_id)
    _attach_unassigned(uow, anonymous, users, events_without_consent)
    return batch[-1].id


def _attach_unassigned(
    uow: UnitOfWork, anonymous: set[str], users: set[str], events_without_consent: str
) -> None:
    """Give events of known identifiers their profile; anonymise them again for people who
    said no to analytics."""
    if not anonymous and not users:
        return
    keys = [(K.ANONYMOUS_ID.value, v) for v in anonymous] + [(K.USER_ID.value, v) for v in users]
    by_profile: dict[str, tuple[list[str], list[str]]] = {}
    for start in range(0, len(keys), 200):
        chunk = keys[start : start + 200]
        for row in uow.session.scalars(
            select(Identifier).where(
                or_(*(and_(Identifier.kind == k, Identifier.value == v) for k, v in chunk))
            )
        ):
            anon_ids, user_ids = by_profile.setdefault(row.profile_id, ([], []))
            (anon_ids if row.kind == K.ANONYMOUS_ID.value else user_ids).append(row.value)
    for profile_id, (anon_ids, user_ids) in by_profile.items():
        changed = tracking.assign_profile(
            uow=uow,
            profile_id=profile_id,
            anonymous_ids=anon_ids,
            user_ids=user_ids,
            only_unassigned=True,
        )
        if changed and analytics_withdrawn(uow=uow, profile_id=profile_id):
            if events_without_consent == DROP:
                tracking.delete_events_of(uow=uow, profile_id=profile_id)
            else:
                tracking.erase_profile_events(uow=uow, profile_id=profile_id)


# --- loyalty cards ----------------------------------------------------------------------------

#: Cards the shop issues itself: "PC" and eight digits (the printed cards' shape).
LOYALTY_CARD_PREFIX = "PC"


def loyalty_card_of(*, uow: UnitOfWork, profile_id: str) -> str | None:
    """The number of a person's loyalty card, if she has one."""
    for identifier in identifiers_of(uow=uow, profile_id=profile_id):
        if identifier.kind == K.LOYALTY_CARD.value:
            return identifier.value
    return None


def issue_loyalty_card(*, uow: UnitOfWork, profile_id: str, anonymous_id: str, channel: str) -> str:
    """Her loyalty card number, given now if she has none: a new ``loyalty_card`` identifier
    linked through :func:`identify` with the anonymous id of the session she is signed in on
    (already hers), so the associate app's search finds her by the exact number."""
    held = loyalty_card_of(uow=uow, profile_id=profile_id)
    if held is not None:
        return held
    for _ in range(20):
        number = f"{LOYALTY_CARD_PREFIX}{secrets.randbelow(10**8):08d}"
        if find_profile(uow=uow, kind=K.LOYALTY_CARD, value=number) is None:
            break
    else:  # pragma: no cover - a hundred million numbers
        raise Conflict("no loyalty card number is free", code="loyalty_card_unavailable")
    profile = identify(
        uow=uow, anonymous_id=anonymous_id, traits={"loyalty_card": number}, channel=channel
    )
    if profile.id != profile_id and profile_id not in merged_profile_ids(
        uow=uow, profile_id=profile.id
    ):
        raise Conflict("this session is not this customer's", code="profile_mismatch")
    return number


def anonymous_id_links(*, uow: UnitOfWork) -> list[tuple[str, str]]:
    """Every device (anonymous id) known to belong to a live profile, as ``(anonymous_id,
    profile_id)`` — merged profiles followed to their survivor. Journey analyses use it to see a
    visitor who browsed before signing in as the one person she is."""
    rows = uow.session.execute(
        select(Identifier.value, Identifier.profile_id, Profile.merged_into, Profile.erased_at)
        .join(Profile, Profile.id == Identifier.profile_id)
        .where(Identifier.kind == K.ANONYMOUS_ID.value)
    ).all()
    survivors = {row[1]: row[2] for row in rows if row[2]}
    links: list[tuple[str, str]] = []
    for value, profile_id, _, erased_at in rows:
        if erased_at is not None:
            continue
        seen = {profile_id}
        while profile_id in survivors and survivors[profile_id] not in seen:
            profile_id = survivors[profile_id]
            seen.add(profile_id)
        links.append((value, profile_id))
    return links


def erased_profile_ids(
    *, uow: UnitOfWork, since: datetime | None = None
) -> list[tuple[str, datetime]]:
    """``(profile_id, erased_at)`` of erasures after ``since``: copies of customer data outside
    this context (the journey lake) erase the same people."""
    query = select(Erasure.profile_id, Erasure.erased_at).order_by(Erasure.erased_at)
    if since is not None:
        query = query.where(Erasure.erased_at > since)
    return [(profile_id, as_utc(at)) for profile_id, at in uow.session.execute(query)]
