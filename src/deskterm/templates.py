"""Reply templates: text files with `{variables}`, one per name and language, found by fuzzy name.

Files are `NAME.LANG.txt` (LANG one of en, it, de, fr, es) in the workspace's templates folder;
the ones deskterm ships fill the gaps, and a workspace file of the same name and language wins.
"""

from __future__ import annotations

import difflib
import re
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from deskterm.errors import UserError
from deskterm.marketplaces import LANGUAGES
from deskterm.marketplaces import language as buyer_language
from deskterm.store import Store

VARIABLES = ("order_id", "buyer_name", "asin", "sku", "product", "tracking", "agent", "marketplace", "ticket_id")
_FILE = re.compile(r"^(?P<name>[a-z0-9][a-z0-9_-]*)\.(?P<lang>[a-z]{2})\.txt$")


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    text: str
    source: str

    def variables(self) -> list[str]:
        return [field for _literal, field, _spec, _conv in string.Formatter().parse(self.text) if field is not None]

    def render(self, values: dict[str, Any]) -> str:
        """The text with every variable filled; a missing value is an error that names it."""
        missing = [name for name in dict.fromkeys(self.variables()) if not values.get(name)]
        if missing:
            raise UserError(f"template {self.name} ({self.language}) needs {', '.join('{' + m + '}' for m in missing)}"
                            ", which this ticket does not have: write the reply with --body-file instead")
        return self.text.format_map({name: str(values[name]) for name in self.variables()})


def _check(template: Template) -> Template:
    for number, line in enumerate(template.text.splitlines(), start=1):
        try:
            fields = [f for _l, f, _s, _c in string.Formatter().parse(line) if f is not None]
        except ValueError as exc:
            raise UserError(f"{template.source}:{number}: {exc} (write {{{{ and }}}} for literal braces)") from None
        for field in fields:
            if field not in VARIABLES:
                raise UserError(f"{template.source}:{number}: unknown variable {{{field}}}; "
                                f"known: {', '.join(VARIABLES)}")
    return template


def load_templates(folder: Path | None) -> dict[tuple[str, str], Template]:
    """Every template by (name, language): the shipped ones, then the workspace's over them."""
    found: dict[tuple[str, str], Template] = {}
    shipped = resources.files("deskterm.reply_templates")
    sources: list[tuple[str, str, Any]] = [(entry.name, f"(built in) {entry.name}", entry) for entry in shipped.iterdir()]
    if folder is not None and folder.is_dir():
        sources += [(path.name, str(path), path) for path in sorted(folder.iterdir()) if path.is_file()]
    for filename, source, entry in sources:
        match = _FILE.match(filename)
        if not match or match["lang"] not in LANGUAGES:
            continue
        try:
            text = entry.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"{source}: cannot read the template: {exc}") from None
        found[(match["name"], match["lang"])] = _check(Template(match["name"], match["lang"], text.strip("\n"), source))
    return found


def find_template(templates: dict[tuple[str, str], Template], query: str, language: str) -> Template:
    """The template whose name best fits `query` (exact, prefix, letters in order, then close
    spelling), in `language` or else English."""
    names = sorted({name for name, _lang in templates})
    wanted = query.strip().lower()
    for test in (lambda n: n == wanted, lambda n: n.startswith(wanted), lambda n: _in_order(wanted, n)):
        hits = [name for name in names if test(name)]
        if len(hits) == 1:
            return _in_language(templates, hits[0], language)
        if len(hits) > 1:
            raise UserError(f"template {query!r} is ambiguous: {', '.join(hits)}")
    close = difflib.get_close_matches(wanted, names, n=1, cutoff=0.6)
    if close:
        return _in_language(templates, close[0], language)
    raise UserError(f"no template matches {query!r}; there are: {', '.join(names) or 'none'}")


def _in_order(letters: str, name: str) -> bool:
    rest = iter(name)
    return bool(letters) and all(letter in rest for letter in letters if letter not in " -_")


def _in_language(templates: dict[tuple[str, str], Template], name: str, language: str) -> Template:
    return templates.get((name, language)) or templates.get((name, "en")) or next(
        template for (found, _lang), template in sorted(templates.items()) if found == name)


def fill_for_ticket(store: Store, ticket: int, name: str, language: str | None, agent: str,
                    folder: Path | None) -> str:
    """Template `name` (fuzzy) filled with what the store knows of the ticket, in the buyer's language
    unless `language` says otherwise."""
    row = store.row(
        "SELECT t.order_id, t.marketplace, t.id, coalesce(c.name, '') AS buyer_name, o.tracking,"
        " (SELECT l.asin FROM order_lines l WHERE l.order_id = t.order_id ORDER BY l.id LIMIT 1) AS asin,"
        " (SELECT l.sku FROM order_lines l WHERE l.order_id = t.order_id ORDER BY l.id LIMIT 1) AS sku,"
        " (SELECT l.product_name FROM order_lines l WHERE l.order_id = t.order_id ORDER BY l.id LIMIT 1) AS product"
        " FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id LEFT JOIN orders o ON o.order_id = t.order_id"
        " WHERE t.id = ?", (ticket,))
    if row is None:
        raise UserError(f"no ticket {ticket}")
    template = find_template(load_templates(folder), name, language or buyer_language(row["marketplace"]))
    values = {key: row[key] for key in row.keys()}
    values.update(ticket_id=ticket, agent=agent, buyer_name=row["buyer_name"] or "customer")
    return template.render(values)
