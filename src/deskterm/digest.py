"""Short, stable digests that key rows for idempotent upserts."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def digest(values: Iterable[object]) -> bytes:
    """16 bytes that change with any value; None and "" are kept apart."""
    joined = "\x1f".join(["\x00" if v is None else str(v) for v in values])
    return hashlib.blake2b(joined.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def occurrence_key(key: bytes, occurrence: int) -> bytes:
    """The key of the n-th row with the same natural key in one file (n from 0)."""
    if occurrence == 0:
        return key
    return hashlib.blake2b(key + occurrence.to_bytes(4, "big"), digest_size=16).digest()
