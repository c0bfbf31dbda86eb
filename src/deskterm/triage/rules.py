"""The risk rules file: phrases per level and language, and the matcher that finds them.

The file is plain text so a seller can add the words their buyers use (see the shipped
`risk-rules.txt` for the format). Matching works on folded words (case and accents ignored, as
in search), clause by clause, with cheap negation: "not damaged" is not "damaged".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from deskterm.errors import UserError
from deskterm.fold import folded

LEVELS = ("low", "medium", "high", "critical")
RANK = {level: number for number, level in enumerate(LEVELS)}
LANGUAGES = ("en", "it", "de", "fr", "es", "*")
NEGATION_WINDOW = 3          # words before a phrase that can negate it
MAX_SCANNED = 200_000        # characters of one message read for risk words
PREFIX_HEAD = 3              # letters a leading prefix (`casse*`) must have: it is indexed by them
_CLAUSES = re.compile(r"[.!?;:,\n()\[\]\"«»¿¡]+")
_WORDS = re.compile(r"\w+")


@dataclass(frozen=True)
class Rule:
    level: str
    name: str
    language: str
    phrase: str                  # as written in the file
    words: tuple[str, ...]       # folded; a word ending in * is a prefix
    line: int


@dataclass(frozen=True)
class Match:
    rule: Rule
    text: str                    # the words as the buyer wrote them

    def describe(self) -> str:
        return f'{self.rule.name.replace("_", " ")}: "{self.text}" ({self.rule.language})'


@dataclass
class RuleSet:
    source: str
    rules: list[Rule] = field(default_factory=list)
    negations: dict[str, frozenset[str]] = field(default_factory=dict)
    _by_first: dict[str, list[Rule]] = field(default_factory=dict, repr=False)
    # Rules whose first word is a prefix (`casse*`), by the prefix's first PREFIX_HEAD letters: a
    # word then checks only the few prefixes that can match it, not all of them.
    _prefixed: dict[str, list[Rule]] = field(default_factory=dict, repr=False)

    def add(self, rule: Rule) -> None:
        self.rules.append(rule)
        first = rule.words[0]
        if first.endswith("*"):
            self._prefixed.setdefault(first[:PREFIX_HEAD], []).append(rule)
        else:
            self._by_first.setdefault(first, []).append(rule)

    def find(self, text: str) -> list[Match]:
        """Every rule whose phrase occurs in `text`, not negated, at most once per rule."""
        found: dict[tuple[str, str], Match] = {}
        own_words = "\n".join(line for line in text[:MAX_SCANNED].splitlines() if not line.lstrip().startswith(">"))
        for clause in _CLAUSES.split(own_words):
            written = _WORDS.findall(clause)
            if not written:
                continue
            words = [folded(word) for word in written]
            for start, word in enumerate(words):
                candidates = self._by_first.get(word, [])
                prefixed = self._prefixed.get(word[:PREFIX_HEAD])
                if prefixed:
                    candidates = candidates + [r for r in prefixed if word.startswith(r.words[0][:-1])]
                for rule in candidates:
                    key = (rule.level, rule.name)
                    if key in found or not _matches_at(rule.words, words, start):
                        continue
                    if self._negated(rule, words, start):
                        continue
                    found[key] = Match(rule, " ".join(written[start:start + len(rule.words)]))
        return sorted(found.values(), key=lambda m: (-RANK[m.rule.level], m.rule.line))

    def _negated(self, rule: Rule, words: list[str], start: int) -> bool:
        if rule.language == "*":
            negators = frozenset().union(*self.negations.values())
        else:
            negators = self.negations.get(rule.language, frozenset()) | self.negations.get("*", frozenset())
        if _word_matches(rule.words[0], negators):
            return False  # the phrase carries its own negation ("not received")
        return any(word in negators for word in words[max(0, start - NEGATION_WINDOW):start])


def _word_matches(pattern: str, negators: frozenset[str]) -> bool:
    return pattern in negators if not pattern.endswith("*") else any(n.startswith(pattern[:-1]) for n in negators)


def _matches_at(pattern: tuple[str, ...], words: list[str], start: int) -> bool:
    if start + len(pattern) > len(words):
        return False
    for expected, word in zip(pattern, words[start:]):
        if expected.endswith("*"):
            if not word.startswith(expected[:-1]):
                return False
        elif word != expected:
            return False
    return True


def parse_rules(text: str, source: str) -> RuleSet:
    """Parse a rules file; a bad line is a UserError naming the file, the line and the field."""
    rules = RuleSet(source)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        fields = line.split()

        def fail(what: str, problem: str) -> UserError:
            return UserError(f"{source}:{number}: {what}: {problem}")

        if fields[0] == "negate":
            if len(fields) < 3:
                raise fail("negate", "expected: negate LANG WORD...")
            language = _language(fields[1], fail)
            rules.negations[language] = frozenset(folded(word) for word in fields[2:])
            continue
        if fields[0] not in RANK:
            raise fail("level", f"expected one of {', '.join(LEVELS)} or negate, got {fields[0]!r}")
        if len(fields) < 4:
            raise fail("phrase", "expected: LEVEL RULE LANG PHRASE")
        if not re.fullmatch(r"[a-z0-9_]+", fields[1]):
            raise fail("rule", f"expected a name of a-z, 0-9 and _, got {fields[1]!r}")
        phrase = " ".join(fields[3:])
        words = tuple(_pattern_words(phrase))
        if not words or any(word in ("", "*") for word in words):
            raise fail("phrase", f"no words to match in {phrase!r}")
        if words[0].endswith("*") and len(words[0]) <= PREFIX_HEAD:
            raise fail("phrase", f"a leading prefix needs at least {PREFIX_HEAD} letters before *, got {words[0]!r}")
        rules.add(Rule(fields[0], fields[1], _language(fields[2], fail), phrase, words, number))
    return rules


def _language(value: str, fail) -> str:
    if value not in LANGUAGES:
        raise fail("lang", f"expected one of {', '.join(LANGUAGES)}, got {value!r}")
    return value


def _pattern_words(phrase: str) -> list[str]:
    """Words of a phrase as the matcher compares them: folded, a trailing * kept."""
    return [folded(word) + ("*" if star else "") for word, star in re.findall(r"(\w+)(\*?)", phrase)]


def default_rules_text() -> str:
    return resources.files("deskterm.triage").joinpath("risk-rules.txt").read_text(encoding="utf-8")


def load_rules(path: Path | None) -> RuleSet:
    """The workspace's rules file when one is configured, else the shipped default."""
    if path is None:
        return parse_rules(default_rules_text(), "risk-rules.txt (built in)")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: risk rules file not found (config risk_rules_file)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the risk rules: {exc}") from None
    return parse_rules(text, str(path))
