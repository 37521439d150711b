"""Prefixed, time-sortable identifiers (``cus_01J…``): readable in logs, ordered by creation."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A ULID-shaped id: 48 bits of milliseconds then 80 random bits, behind ``prefix_``.

    Sorting ids sorts by creation time, which keeps B-tree inserts local and cursors simple.
    """
    millis = time.time_ns() // 1_000_000
    entropy = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}_{_encode(millis, 10)}{_encode(entropy, 16)}"


def has_prefix(value: str, prefix: str) -> bool:
    """Whether ``value`` looks like an id of that kind (used to reject bad ids early)."""
    body = value.removeprefix(f"{prefix}_")
    return body != value and len(body) == 26 and all(c in _ALPHABET for c in body)
