"""Prefixed, time-sortable identifiers (``cus_01J…``): readable in logs, ordered by creation."""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


_lock = threading.Lock()
_last = (0, 0)


def new_id(prefix: str) -> str:
    """A ULID-shaped id: 48 bits of milliseconds then 80 random bits, behind ``prefix_``.

    Sorting ids sorts by creation time, which keeps B-tree inserts local and cursors simple.
    Within one millisecond the random part is incremented (monotonic ULID), so ids made by one
    process sort in creation order too.
    """
    global _last
    with _lock:
        millis = time.time_ns() // 1_000_000
        if millis <= _last[0]:
            millis, entropy = _last[0], _last[1] + 1
        else:
            entropy = int.from_bytes(os.urandom(10), "big") >> 1  # room to increment
        _last = (millis, entropy)
    return f"{prefix}_{_encode(millis, 10)}{_encode(entropy, 16)}"


def has_prefix(value: str, prefix: str) -> bool:
    """Whether ``value`` looks like an id of that kind (used to reject bad ids early)."""
    body = value.removeprefix(f"{prefix}_")
    return body != value and len(body) == 26 and all(c in _ALPHABET for c in body)
