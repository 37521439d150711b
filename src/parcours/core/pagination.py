"""Cursor pagination: every list endpoint returns ``items`` and ``next_cursor``.

A cursor is an opaque, URL-safe encoding of the sort key of the last item, so pages stay stable
while rows are inserted, and the database seeks instead of counting an offset.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from parcours.core.errors import InvalidInput

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(*values: Any) -> str:
    raw = json.dumps(list(values), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidInput("this cursor is not one we issued", code="invalid_cursor") from None
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidInput("this cursor is not one we issued", code="invalid_cursor")
    return values
