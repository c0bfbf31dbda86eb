"""Folding words for matching: lower case, accents off, `ß` -> `ss`.

The search index and the triage rules both match words this way. It lives apart from the
index's analyzer so that the TUI, whose triage rules need it at launch, does not import Whoosh
(50 ms of its start).
"""

from __future__ import annotations

import unicodedata

# Letters that decomposition does not fold the way readers expect.
_SPECIAL = str.maketrans({"ß": "ss", "œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "þ": "th", "ı": "i"})
CACHE_LIMIT = 200_000
FOLDED: dict[str, str] = {}  # word -> fold(word), filled by folded(); hot loops read it directly


def fold(text: str) -> str:
    """`Größe` -> `grosse`, `endommagé` -> `endommage`, `Rückbuchung` -> `ruckbuchung`."""
    text = text.lower().translate(_SPECIAL)
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def folded(word: str) -> str:
    """fold(), cached per process: a vocabulary is small, token streams are not."""
    result = FOLDED.get(word)
    if result is None:
        result = fold(word)
        if len(FOLDED) < CACHE_LIMIT:
            FOLDED[word] = result
    return result
