"""Record ids: a type prefix, then a time-sortable, random part (Crockford base32, lower-case)."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _b32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """``dr_01jc9…``: 10 chars of milliseconds since the epoch, then 10 random chars."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(7), "big")
    return f"{prefix}_{_b32(millis, 10)}{_b32(rand, 10)}"
