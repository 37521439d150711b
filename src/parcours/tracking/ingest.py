"""From a Segment HTTP API request to event rows: decoding (gzip with a cap), limits, validation,
batch-level context merge, clock-skew correction, channel, campaign and device.

Pure functions: no database, no I/O, cheap enough to run on the event loop.
"""

from __future__ import annotations

import functools
import json
import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from parcours.core.json_depth import MAX_JSON_DEPTH, json_too_deep
from parcours.tracking.normalise import CHANNELS, is_v1_product_event, normalise_event_name

MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024

MESSAGE_TYPES = ("track", "identify", "page", "screen", "group", "alias")

#: The channel of a write key's source; ``server`` keys say theirs in ``context.channel``.
SOURCE_CHANNELS = {"web": "web", "app": "app", "till": "till", "kiosk": "kiosk"}

_UTM_FIELDS = ("campaign", "medium", "source", "term", "content")
_CAMPAIGN_KEYS = {"campaign": "name", "medium": "medium", "source": "source", "term": "term"}


class IngestionError(Exception):
    """A request refused as a whole: mapped to 400 problem+json with a stable ``code``."""

    def __init__(self, code: str, detail: str, *, index: int | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.index = index


@dataclass(frozen=True, slots=True)
class Decoded:
    payload: dict[str, Any]
    size: int  # bytes of JSON after decompression


#: Set by the collection API, never by a client: the signed-in shopper session an identify was
#: sent from (``{"profile_id", "anonymous_id"}``). A client's own value under this key is dropped.
SIGNED_IN_CONTEXT = "parcoursSignedIn"


class _NonFinite(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NonFinite(f"{name} is not JSON")  # NaN and Infinity: no database stores them


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _NonFinite(f"{text} is too large for a number")  # 1e999 reads as Infinity
    return value


def decode_body(raw: bytes, content_encoding: str | None, *, limit: int) -> Decoded:
    """The JSON object of a request body, gunzipped when it says so. Decompression stops past
    ``limit`` bytes of output: a small gzip bomb costs us nothing."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
        decompressor = zlib.decompressobj(wbits)
        try:
            data = decompressor.decompress(raw, limit + 1)
        except zlib.error:
            raise IngestionError("invalid_body", "the body is not valid gzip") from None
        if len(data) > limit or decompressor.unconsumed_tail:
            raise IngestionError(
                "batch_too_large", f"the decompressed body is over {limit // 1024} KB"
            )
    elif encoding == "identity":
        data = raw
    else:
        raise IngestionError("unsupported_encoding", f"unsupported Content-Encoding {encoding!r}")
    if len(data) > limit:
        raise IngestionError("batch_too_large", f"the body is over {limit // 1024} KB")
    if b"\x00" in data or b"\\u0000" in data:
        raise IngestionError("invalid_characters", "the body contains a NUL character")
    if json_too_deep(data):
        raise IngestionError(
            "json_too_deep", f"arrays and objects may nest at most {MAX_JSON_DEPTH} levels"
        )
    try:
        payload = json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float)
    except _NonFinite:
        raise IngestionError(
            "non_finite_number", "the body holds NaN or Infinity: JSON numbers are finite"
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise IngestionError("invalid_json", "the body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise IngestionError("invalid_json", "the body must be a JSON object")
    return Decoded(payload, len(data))


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``, nested objects merged key by key."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = _merge(current, value)
        else:
            merged[key] = value
    return merged


def messages_of(decoded: Decoded, kind: str) -> list[dict[str, Any]]:
    """The messages of a request: ``batch`` for ``/v1/batch``, else the body itself typed by
    its route. Batch-level ``context``, ``integrations`` and ``sentAt`` go into each message
    (a message's own values win)."""
    payload = decoded.payload
    if kind != "batch":
        if decoded.size > MAX_MESSAGE_BYTES:
            raise IngestionError("message_too_large", "a message is limited to 32 KB", index=0)
        return [{**payload, "type": kind}]
    batch = payload.get("batch")
    if not isinstance(batch, list):
        raise IngestionError("invalid_batch", "'batch' must be a list of messages")
    if not batch:
        return []
    shared = {
        key: payload[key]
        for key in ("context", "integrations")
        if isinstance(payload.get(key), Mapping)
    }
    sent_at = payload.get("sentAt")
    messages: list[dict[str, Any]] = []
    measure = decoded.size > MAX_MESSAGE_BYTES  # else no message can be over the limit
    for index, message in enumerate(batch):
        if not isinstance(message, dict):
            raise IngestionError("invalid_message", "a message must be an object", index=index)
        if measure and len(json.dumps(message, separators=(",", ":"))) > MAX_MESSAGE_BYTES:
            raise IngestionError("message_too_large", "a message is limited to 32 KB", index=index)
        if shared:
            message = dict(message)
            for key, value in shared.items():
                own = message.get(key)
                message[key] = _merge(value, own) if isinstance(own, Mapping) else value
        if sent_at is not None and "sentAt" not in message:
            message["sentAt"] = sent_at
        messages.append(message)
    return messages


def parse_time(value: Any, field: str, index: int) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise IngestionError("invalid_message", f"'{field}' must be an ISO 8601 time", index=index)
    try:
        parsed = datetime.fromisoformat(value.strip())
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise IngestionError(
            "invalid_message", f"'{field}' is not an ISO 8601 time", index=index
        ) from None


def corrected_timestamp(
    *, sent_at: datetime | None, original: datetime | None, received_at: datetime
) -> datetime:
    """Segment's clock-skew correction: the device's delay between the event and sending it,
    counted back from when we received it; without ``sentAt``, the device's time as sent."""
    if original is None:
        return received_at
    if sent_at is None:
        return original
    return received_at - (sent_at - original)


def _text(value: Any, field: str, index: int, *, required: bool = False) -> str | None:
    if (
        type(value) is str
        and 0 < len(value) <= 200
        and not value[0].isspace()
        and not value[-1].isspace()
    ):
        return value  # the common case, checked cheaply: thousands of these a second
    if value is None or value == "":
        if required:
            raise IngestionError("invalid_message", f"'{field}' is required", index=index)
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise IngestionError("invalid_message", f"'{field}' must be a string", index=index)
    text = str(value).strip()
    if len(text) > 200:
        raise IngestionError("invalid_message", f"'{field}' is over 200 characters", index=index)
    return text or None


def _object(value: Any, field: str, index: int) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise IngestionError("invalid_message", f"'{field}' must be an object", index=index)
    return value


def _short(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)[:200] or None


def campaign_of(context: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, str]:
    """UTM values: ``context.campaign`` (Segment's names), else the page URL's ``utm_*``."""
    found: dict[str, str] = {}
    campaign = context.get("campaign")
    if isinstance(campaign, Mapping):
        for field in _UTM_FIELDS:
            value = _short(campaign.get(_CAMPAIGN_KEYS.get(field, field)) or campaign.get(field))
            if value:
                found[field] = value
    if found:
        return found
    page = context.get("page")
    url = page.get("url") if isinstance(page, Mapping) else None
    url = url or properties.get("url")
    if isinstance(url, str) and "utm_" in url:
        query = parse_qs(urlsplit(url).query)
        for field in _UTM_FIELDS:
            values = query.get(f"utm_{field}")
            if values and values[0]:
                found[field] = values[0][:200]
    return found


def device_type_of(context: Mapping[str, Any]) -> str | None:
    device = context.get("device")
    if isinstance(device, Mapping) and device.get("type"):
        return _short(device.get("type"))
    agent = context.get("userAgent")
    if not isinstance(agent, str) or not agent:
        return None
    return _device_of_agent(agent)


@functools.lru_cache(maxsize=1024)
def _device_of_agent(agent: str) -> str:
    if "iPad" in agent or "Tablet" in agent:
        return "tablet"
    if "Mobi" in agent or "Android" in agent or "iPhone" in agent:
        return "mobile"
    return "desktop"


def channel_of(source: str, context: Mapping[str, Any], utm_medium: str | None) -> str:
    """The key's source decides (web, app, till, kiosk); a valid ``context.channel`` overrides
    it (a server key sending SMS or marketplace events); a scanned print QR
    (``utm_medium=print``) makes the event a print touchpoint."""
    asked = context.get("channel")
    if isinstance(asked, str) and asked in CHANNELS:
        return asked
    if utm_medium == "print":
        return "print"
    return SOURCE_CHANNELS.get(source, "server")


def _store_of(context: Mapping[str, Any], properties: Mapping[str, Any]) -> str | None:
    store = context.get("store")
    if isinstance(store, Mapping) and store.get("id"):
        return _short(store.get("id"))
    return _short(context.get("storeId") or properties.get("store_id"))


def build_row(
    message: Mapping[str, Any],
    *,
    index: int,
    kind: str,
    write_key_id: str,
    source: str,
    received_at: datetime,
) -> dict[str, Any]:
    """One validated message as an event row; its id, session (and message id when the client
    sent none) are set at commit."""
    kind = kind if kind != "batch" else message.get("type", "")
    if kind not in MESSAGE_TYPES:
        raise IngestionError(
            "invalid_message",
            f"'type' must be one of {', '.join(MESSAGE_TYPES)}",
            index=index,
        )
    user_id = _text(message.get("userId"), "userId", index)
    anonymous_id = _text(message.get("anonymousId"), "anonymousId", index)
    if user_id is None and anonymous_id is None:
        raise IngestionError(
            "invalid_message", "'userId' or 'anonymousId' is required", index=index
        )
    properties = _object(message.get("properties"), "properties", index)
    traits = _object(message.get("traits"), "traits", index)
    context = _object(message.get("context"), "context", index)
    if SIGNED_IN_CONTEXT in context:  # only the collection API says who is signed in
        context = {k: v for k, v in context.items() if k != SIGNED_IN_CONTEXT}
    if message.get("integrations") is not None:
        context = {
            **context,
            "integrations": _object(message["integrations"], "integrations", index),
        }
    event: str | None = None
    group_id = previous_id = None
    if kind == "track":
        name = _text(message.get("event"), "event", index, required=True)
        assert name is not None
        event = normalise_event_name(name)
        if "id" in properties and "product_id" not in properties and is_v1_product_event(name):
            properties = {**properties, "product_id": properties["id"]}
    elif kind in ("page", "screen"):
        event = _text(message.get("name"), "name", index)
        category = _text(message.get("category"), "category", index)
        if category:
            properties = {"category": category, **properties}
    elif kind == "group":
        group_id = _text(message.get("groupId"), "groupId", index, required=True)
    elif kind == "alias":
        previous_id = _text(message.get("previousId"), "previousId", index, required=True)
        if user_id is None:
            raise IngestionError("invalid_message", "'userId' is required", index=index)
    if kind == "identify" and not traits and isinstance(context.get("traits"), dict):
        traits = context["traits"]
    original = parse_time(
        message.get("originalTimestamp") or message.get("timestamp"), "timestamp", index
    )
    sent_at = parse_time(message.get("sentAt"), "sentAt", index)
    try:
        timestamp = corrected_timestamp(sent_at=sent_at, original=original, received_at=received_at)
    except OverflowError:
        raise IngestionError(
            "invalid_message", "'sentAt' and 'timestamp' are too far apart", index=index
        ) from None
    utm = campaign_of(context, properties)
    return {
        "id": None,  # named at commit, in commit order (see committer)
        "day": timestamp.date(),
        "message_id": _text(message.get("messageId"), "messageId", index),
        "write_key_id": write_key_id,
        "source": source,
        "type": kind,
        "event": event,
        "properties": properties,
        "traits": traits,
        "context": context,
        "anonymous_id": anonymous_id,
        "user_id": user_id,
        "profile_id": None,
        "group_id": group_id,
        "previous_id": previous_id,
        "channel": channel_of(source, context, utm.get("medium")),
        "store_id": _store_of(context, properties),
        "utm_campaign": utm.get("campaign"),
        "utm_medium": utm.get("medium"),
        "utm_source": utm.get("source"),
        "utm_term": utm.get("term"),
        "utm_content": utm.get("content"),
        "device_type": device_type_of(context),
        "session_id": None,
        "timestamp": timestamp,
        "original_timestamp": original,
        "sent_at": sent_at,
        "received_at": received_at,
    }
