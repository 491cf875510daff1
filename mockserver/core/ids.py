"""The server's one source of randomness: drawn seeds and every UUID it mints.

A single ``random.Random`` seeded from ``--seed`` makes a run reproducible: the same requests in
the same order get the same seeds, videoUUIDs, imageUUIDs and session UUIDs.
"""

from __future__ import annotations

import random
import uuid

UINT32_MAX = 2**32 - 1


class IdSource:
    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)

    def uuid4(self) -> str:
        """A version-4 UUID string built from the seeded RNG."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def seed32(self) -> int:
        """A generation seed in the unsigned 32-bit range, as the spec says for a missing seed."""
        return self._rng.randint(0, UINT32_MAX)
