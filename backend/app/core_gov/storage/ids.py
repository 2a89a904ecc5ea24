"""Record ids: a type prefix, then a time-sortable, random part (Crockford base32, lower-case)."""

from __future__ import annotations

import random
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _b32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


_last: tuple[int, str] = (-1, "")  # the time part, made once per millisecond
# The random part comes from the module's generator: seeded from os.urandom at start and
# re-seeded in a forked child, so two processes never share a sequence.


_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # 10 bits as 2 chars: a million ids in a bulk import add up


def new_id(prefix: str) -> str:
    """``dr_01jc9…``: 10 chars of milliseconds since the epoch, then 10 random chars (50 bits)."""
    global _last
    millis = time.time_ns() // 1_000_000
    if _last[0] != millis:
        _last = (millis, _b32(millis, 10))
    bits = random.getrandbits(50)
    return f"{prefix}_{_last[1]}{_PAIRS[bits >> 40]}{_PAIRS[bits >> 30 & 1023]}{_PAIRS[bits >> 20 & 1023]}{_PAIRS[bits >> 10 & 1023]}{_PAIRS[bits & 1023]}"
