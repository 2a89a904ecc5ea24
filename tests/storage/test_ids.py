"""Record ids: prefix, 10 chars of milliseconds, 10 random chars (50 bits), Crockford base32."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from app.core_gov.storage import ids


@given(seed=st.integers(0, 2**32))
def test_the_random_part_is_the_50_drawn_bits_in_base32(seed):
    random.seed(seed)
    drawn = random.getrandbits(50)
    random.seed(seed)
    made = ids.new_id("dl")
    assert made[:3] == "dl_" and len(made) == 23 and set(made[3:]) <= set(ids._ALPHABET)
    assert made[-10:] == ids._b32(drawn, 10)


def test_ids_made_later_sort_later(monkeypatch):
    clock = iter([1_700_000_000_000_000_000, 1_700_000_000_001_000_000])
    monkeypatch.setattr(ids.time, "time_ns", lambda: next(clock))
    first, second = ids.new_id("dl"), ids.new_id("dl")
    assert first[3:13] < second[3:13] and first < second
