"""The search language, in the spirit of notmuch, parsed into a small tree.

    words (all must match)   "a phrase"   a OR b   NOT a   -a   ( ... )
    from:  to:  subject:  body:  order:  sku:  asin:  channel:  marketplace:  tag:  risk:
    is:open|closed|unanswered|inbound|outbound   has:attachment
    date:2026-03-01..2026-03-31   date:2w..   date:yesterday..   date:..2026-03-01   date:today

The tree knows nothing of the engine; index/engine.py turns it into engine queries. A malformed
query raises QueryError naming the problem and where it is.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

FIELDS = {"from", "to", "subject", "body", "order", "sku", "asin", "channel", "marketplace", "tag", "risk",
          "is", "has", "date", "ticket"}
IS_VALUES = {"open", "closed", "pending", "nrn", "unanswered", "inbound", "outbound"}
HAS_VALUES = {"attachment"}


class QueryError(ValueError):
    """A query that cannot be read; the message says what and where (1-based column)."""


@dataclass(frozen=True)
class Term:
    field: str | None     # None: the default fields (subject, body, sender, attachment names)
    text: str
    phrase: bool = False


@dataclass(frozen=True)
class DateRange:
    start: dt.datetime | None  # inclusive, UTC
    end: dt.datetime | None    # exclusive, UTC


@dataclass(frozen=True)
class Not:
    child: "Node"


@dataclass(frozen=True)
class And:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    children: tuple["Node", ...]


Node = Term | DateRange | Not | And | Or

_TOKEN = re.compile(r'\s*(?:(?P<open>\()|(?P<close>\))|(?P<neg>-)(?=[^\s)])|'
                    r'(?P<field>[A-Za-z]+):(?P<fvalue>"[^"]*"?|[^\s()"]*)|(?P<phrase>"[^"]*"?)|(?P<word>[^\s()"]+))')


@dataclass
class _Tok:
    kind: str
    text: str
    column: int
    field: str | None = None


def _tokens(text: str) -> list[_Tok]:
    found: list[_Tok] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:  # pragma: no cover - the pattern accepts any char
            raise QueryError(f"cannot read the query at column {position + 1}")
        kind = match.lastgroup
        if kind == "fvalue":
            kind = "field"
        column = match.start(kind) + 1
        value = match.group(kind if kind != "field" else "fvalue")
        if kind in ("phrase", "field") and value.startswith('"') and (len(value) < 2 or not value.endswith('"')):
            raise QueryError(f'unclosed quote at column {match.start(kind if kind == "phrase" else "fvalue") + 1}')
        if kind == "field":
            found.append(_Tok("field", value, column, match.group("field").lower()))
        elif kind == "word" and value in ("AND", "OR", "NOT"):
            found.append(_Tok(value, value, column))
        else:
            found.append(_Tok(kind, value, column))
        position = match.end()
    return found


class _Parser:
    def __init__(self, tokens: list[_Tok], now: dt.datetime) -> None:
        self.tokens = tokens
        self.index = 0
        self.now = now

    def peek(self) -> _Tok | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Tok:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Node:
        node = self.or_expr()
        extra = self.peek()
        if extra is not None and extra.kind == "close":
            raise QueryError(f"')' at column {extra.column} closes nothing")
        if extra is not None:  # pragma: no cover - and_expr consumes everything but ')' and OR
            raise QueryError(f"unexpected {extra.text!r} at column {extra.column}")
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.unary()]
        while (token := self.peek()) is not None and token.kind not in ("OR", "close"):
            if token.kind == "AND":
                self.take()
            children.append(self.unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self) -> Node:
        token = self.peek()
        if token is None:
            raise QueryError("the query ends where a word was expected")
        if token.kind in ("NOT", "neg"):
            self.take()
            return Not(self.unary())
        return self.primary()

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "open":
            node = self.or_expr()
            close = self.peek()
            if close is None or close.kind != "close":
                raise QueryError(f"the '(' at column {token.column} is never closed")
            self.take()
            return node
        if token.kind == "close":
            raise QueryError(f"')' at column {token.column} closes nothing")
        if token.kind in ("AND", "OR"):
            raise QueryError(f"{token.kind} at column {token.column} needs a word on each side")
        if token.kind == "phrase":
            return Term(None, token.text.strip('"'), phrase=True)
        if token.kind == "field":
            return self.field(token)
        return Term(None, token.text)

    def field(self, token: _Tok) -> Node:
        name, value = token.field or "", token.text
        if name not in FIELDS:
            raise QueryError(f"unknown field '{name}:' at column {token.column} "
                             f"(known: {', '.join(sorted(FIELDS))})")
        phrase = value.startswith('"')
        value = value.strip('"')
        if not value:
            raise QueryError(f"'{name}:' at column {token.column} has no value")
        if name == "date":
            return parse_date_range(value, self.now, token.column)
        if name == "is" and value.lower() not in IS_VALUES:
            raise QueryError(f"is:{value} at column {token.column}: expected one of {', '.join(sorted(IS_VALUES))}")
        if name == "has" and value.lower() not in HAS_VALUES:
            raise QueryError(f"has:{value} at column {token.column}: expected has:attachment")
        return Term(name, value, phrase=phrase)


def parse_query(text: str, now: dt.datetime) -> Node:
    """Parse `text`; `now` anchors relative dates (the workspace clock)."""
    tokens = _tokens(text)
    if not tokens:
        raise QueryError("empty query")
    return _Parser(tokens, now).parse()


_RELATIVE = re.compile(r"^(\d+)([hdwmy])$")


def parse_date_range(value: str, now: dt.datetime, column: int = 1) -> DateRange:
    """`A..B` with either side open; a single date means that whole day (or month, or year)."""
    if ".." in value:
        left, right = value.split("..", 1)
        start = _instant(left, now, column, end=False) if left else None
        end = _instant(right, now, column, end=True) if right else None
        if start and end and end <= start:
            raise QueryError(f"date range at column {column} ends before it starts")
        return DateRange(start, end)
    return DateRange(_instant(value, now, column, end=False), _instant(value, now, column, end=True))


def _instant(text: str, now: dt.datetime, column: int, *, end: bool) -> dt.datetime:
    """The start of the period `text` names, or (end=True) the start of the period after it."""
    utc = dt.timezone.utc
    today = dt.datetime(now.year, now.month, now.day, tzinfo=utc)
    lowered = text.lower()
    if lowered in ("today", "yesterday"):
        day = today - dt.timedelta(days=1 if lowered == "yesterday" else 0)
        return day + dt.timedelta(days=1) if end else day
    if lowered == "now":
        return now
    relative = _RELATIVE.match(lowered)
    if relative:  # hours are exact; days, weeks, months and years count whole days (UTC)
        amount, unit = int(relative.group(1)), relative.group(2)
        if unit == "h":
            return now - dt.timedelta(hours=amount)
        if unit in ("m", "y"):
            months = amount * (12 if unit == "y" else 1)
            year, month = divmod(now.month - 1 - months, 12)
            return today.replace(year=now.year + year, month=month + 1, day=min(now.day, 28))
        return today - dt.timedelta(days=amount * (7 if unit == "w" else 1))
    try:
        if re.fullmatch(r"\d{4}", text):
            start = dt.datetime(int(text), 1, 1, tzinfo=utc)
            return start.replace(year=start.year + 1) if end else start
        if re.fullmatch(r"\d{4}-\d{2}", text):
            year, month = map(int, text.split("-"))
            start = dt.datetime(year, month, 1, tzinfo=utc)
            if end:
                return dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=utc)
            return start
        day = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=utc)
    except ValueError:
        raise QueryError(f"date:{text} at column {column}: expected YYYY-MM-DD, YYYY-MM, YYYY, today, "
                         "yesterday or a span like 2w, 3d, 6m, 1y") from None
    return day + dt.timedelta(days=1) if end else day
