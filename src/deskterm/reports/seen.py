"""Which 8-byte keys a report file has shown already, in 8 bytes a key.

A report's rows are numbered by how often their natural key has come before in the file, so the
parser must remember every key. A Python set of ints costs about 60 bytes a key: at five million
ledger rows that was 300 MB, past the import's memory goal. Here the keys are packed into 65,536
byte strings, chosen by two of their bytes, and looked up with a C-speed substring search.
"""

from __future__ import annotations

_BUCKETS = 1 << 16


class SeenKeys:
    def __init__(self) -> None:
        self._buckets: list[bytearray | None] = [None] * _BUCKETS

    def add(self, key: bytes) -> bool:
        """Remember an 8-byte key; False when it was already there."""
        number = key[0] | key[1] << 8
        bucket = self._buckets[number]
        if bucket is None:
            self._buckets[number] = bytearray(key)
            return True
        at = bucket.find(key)
        while at >= 0:
            if at % 8 == 0:  # a match that straddles two keys is not a key
                return False
            at = bucket.find(key, at + 1)
        bucket += key
        return True
