"""Search snippets: up to two short passages of a body around the words that matched, marked **so**.

Whoosh's highlighter builds a token object per word of the body and reads the schema for its
analyzer; for 20 hits that was two thirds of a search on a small archive. This finds the same
words (the index's own regex and fold) in one pass and cuts passages in the way Whoosh's
`ContextFragmenter` does: a passage opens `SURROUND` characters before a match, runs on while
matches follow within `SURROUND`, and holds at most `MAX_CHARS`.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from deskterm.fold import folded
from deskterm.index.analysis import WORD

MAX_CHARS = 160
SURROUND = 50
READ_LIMIT = 32_768   # as Whoosh's highlighter: a match deeper in a huge body gives no snippet
TOP = 2
BETWEEN = " … "
_WORDS = re.compile(WORD)


def snippet(body: str, words: Collection[str]) -> str | None:
    """Passages of `body` holding the most distinct `words` (folded index terms), in body order."""
    if not body or not words:
        return None
    text = body[:READ_LIMIT]
    tokens = [(m.start(), m.end(), folded(m.group())) for m in _WORDS.finditer(text)]
    hits = [n for n, token in enumerate(tokens) if token[2] in words]
    if not hits:
        return None
    passages: list[tuple[int, int, list[int]]] = []  # (first token, last token, matched tokens)
    index = 0
    while index < len(hits):
        matched = [hits[index]]
        first = hits[index]
        while first > 0 and tokens[hits[index]][0] - tokens[first - 1][0] <= SURROUND:
            first -= 1
        start = tokens[first][0]
        index += 1
        while (index < len(hits) and tokens[hits[index]][0] - tokens[matched[-1]][1] <= SURROUND
               and tokens[hits[index]][1] - start <= MAX_CHARS):
            matched.append(hits[index])
            index += 1
        last = matched[-1]
        while (last + 1 < len(tokens) and tokens[last + 1][1] - tokens[matched[-1]][1] <= SURROUND
               and tokens[last + 1][1] - start <= MAX_CHARS):
            last += 1
        passages.append((first, last, matched))
    best = sorted(passages, key=lambda p: (-len({tokens[n][2] for n in p[2]}), -len(p[2]), p[0]))[:TOP]
    return BETWEEN.join(_marked(text, tokens, passage) for passage in sorted(best))


def _marked(text: str, tokens: list[tuple[int, int, str]], passage: tuple[int, int, list[int]]) -> str:
    first, last, matched = passage
    parts, at = [], tokens[first][0]
    for number in matched:
        start, end, _term = tokens[number]
        parts += [text[at:start], "**", text[start:end], "**"]
        at = end
    parts.append(text[at:tokens[last][1]])
    return "".join(parts)
