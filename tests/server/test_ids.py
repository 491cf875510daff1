"""The seeded ID source: reproducible, and its UUIDs exactly what ``uuid.UUID(version=4)`` makes."""

from __future__ import annotations

import random
import uuid

from hypothesis import given, strategies as st

from mockserver.core.ids import IdSource


@given(seed=st.integers(min_value=0, max_value=2**64), draws=st.integers(min_value=1, max_value=20))
def test_uuid4_is_the_standard_version_4_string_of_the_same_random_bits(seed, draws):
    reference = random.Random(seed)
    expected = [str(uuid.UUID(int=reference.getrandbits(128), version=4)) for _ in range(draws)]
    source = IdSource(seed)
    assert [source.uuid4() for _ in range(draws)] == expected


def test_extreme_bit_patterns_keep_the_version_and_variant():
    for bits in (0, 2**128 - 1):
        source = IdSource(0)
        source._rng.getrandbits = lambda _n, bits=bits: bits
        text = source.uuid4()
        assert text == str(uuid.UUID(int=bits, version=4))
        assert uuid.UUID(text).version == 4 and uuid.UUID(text).variant == uuid.RFC_4122


def test_the_same_seed_gives_the_same_ids_and_seeds():
    first, second = IdSource(7), IdSource(7)
    assert [first.uuid4(), first.seed32()] == [second.uuid4(), second.seed32()]
