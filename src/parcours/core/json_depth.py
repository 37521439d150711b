"""How deep a JSON document nests, measured on its bytes before anyone parses it.

Python's parser recurses once per level: a few thousand ``[`` overflow its stack (a
``RecursionError``, not a ``ValueError``), and whatever walks the parsed value recurses again. No
request of ours needs more than a handful of levels, so every JSON body is held to
:data:`MAX_JSON_DEPTH`.
"""

from __future__ import annotations

import re
from itertools import accumulate

MAX_JSON_DEPTH = 32

# A JSON string, escapes included (unrolled, so the engine never backtracks through it).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_too_deep(body: bytes, *, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels (brackets in strings aside).

    Malformed JSON is left to the parser: this only answers for the depth it would reach.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # too few brackets to nest that deep: no scan (most bodies)
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKET)
    return any(depth > limit for depth in accumulate(_STEP[b] for b in brackets))
