"""The command line: every TUI action is here too, with `--json` for scripts and cron.

Conventions (DESIGN.md): machine output on stdout as one JSON document, human messages on
stderr; exit 0 on success, 1 when input was rejected or items failed, 2 on a usage or
configuration error; never a traceback for a user error (`--debug` shows one).
"""

from __future__ import annotations

import json
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from deskterm import __version__
from deskterm.clock import Clock
from deskterm.config import Config, load_config
from deskterm.errors import UserError
from deskterm.sanitize import for_terminal, one_line
from deskterm.store import Store
from deskterm.workspace import Workspace

if TYPE_CHECKING:
    from deskterm.actions import Actions
    from deskterm.evidence.build import EvidenceBuilder
    from deskterm.index import SearchIndex
    from deskterm.reconcile.book import ClaimBook
    from deskterm.reconcile.scan import ScanOutcome
    from deskterm.sync.base import ProgressLine
    from deskterm.triage.assess import Triage


@dataclass
class Session:
    """What every command needs: the workspace, its config, the clock, and how to print."""

    home: str | None
    clock: Clock
    json_output: bool = False
    debug: bool = False
    _store: Store | None = field(default=None, repr=False)
    _config: Config | None = field(default=None, repr=False)
    _triage: "Triage | None" = field(default=None, repr=False)

    @property
    def workspace(self) -> Workspace:
        return Workspace.locate(self.home)

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.workspace.config_file)
        return self._config

    @property
    def store(self) -> Store:
        if self._store is None:
            workspace = self.workspace
            _ = self.config  # a bad config stops us before anything is created
            workspace.ensure()
            self._store = Store(workspace.database, self.clock)
        return self._store

    @property
    def agent(self) -> str:
        """Who is acting: config `agent`, else $DESKTERM_AGENT, else the login name."""
        import getpass
        import os

        if self.config.agent:
            return self.config.agent
        try:
            return os.environ.get("DESKTERM_AGENT") or getpass.getuser()
        except (KeyError, OSError):
            return "agent"

    def triage(self) -> "Triage":
        """Triage, brought up to date (new messages read, tickets recomputed) before it is used."""
        from deskterm.links import link_shop_orders

        engine = self.triage_engine()
        engine.refresh(link_shop_orders(self.store))  # a linked order can change a ticket's risk
        return engine

    def triage_engine(self) -> "Triage":
        """The triage rules and clocks, without reading anything new (actions recompute their ticket)."""
        if self._triage is None:
            from deskterm.triage.assess import Triage
            from deskterm.triage.rules import load_rules

            self._triage = Triage(self.store, self.config, self.clock, load_rules(self.risk_rules_path()))
        return self._triage

    def risk_rules_path(self) -> Path | None:
        """Config `risk_rules_file`, else risk-rules.txt beside config.toml, else the built-in rules."""
        if self.config.risk_rules_file:
            return Path(self.config.risk_rules_file).expanduser()
        own = self.workspace.risk_rules_file
        return own if own.exists() else None

    def templates_dir(self) -> Path:
        configured = self.config.templates_dir
        return Path(configured).expanduser() if configured else self.workspace.templates_dir

    def actions(self) -> "Actions":
        from deskterm.actions import Actions

        return Actions(self.store, self.config, self.triage_engine(), self.agent, self.workspace.attachments_dir)

    def scan_claims(self) -> "ScanOutcome":
        """Read new mail for risk first (a buyer's words can make a claim), then reconcile."""
        from deskterm.reconcile.policy import Policy
        from deskterm.reconcile.scan import scan

        engine = self.triage()
        return scan(self.store, self.clock, Policy.from_config(self.config.claims), engine.rules)

    def claim_book(self) -> "ClaimBook":
        from deskterm.reconcile.book import ClaimBook

        return ClaimBook(self.store, self.agent)

    def evidence_builder(self) -> "EvidenceBuilder":
        from deskterm.evidence.build import EvidenceBuilder

        return EvidenceBuilder(self.store, self.workspace.attachments_dir, self.workspace.evidence_dir, self.agent)

    def search_index(self) -> "SearchIndex":
        from deskterm.index import SearchIndex

        return SearchIndex(self.workspace.index_dir, self.store)

    def progress(self, label: str) -> Callable[[int, int], None] | None:
        """A progress callback drawing a bar on stderr when it is a terminal (None otherwise)."""
        phases = self.phases(label)
        return (lambda done, total: phases("", done, total)) if phases else None

    def phases(self, label: str) -> "ProgressLine | None":
        """A bar per phase on stderr when it is a terminal (None otherwise, so cron logs stay quiet):
        one line redrawn in place, left behind when its phase is done or the next one starts."""
        if self.json_output or not sys.stderr.isatty():
            return None
        drawn = {"phase": None, "width": 0}

        def draw(phase: str, done: int, total: int, unit: str = "") -> None:
            if drawn["phase"] not in (None, phase):
                click.echo("", err=True)
                drawn["width"] = 0
            drawn["phase"] = phase
            filled = 30 * min(done, total) // max(total, 1)
            text = one_line(" ".join(part for part in (label, phase) if part)
                            + f" [{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,} {unit}".rstrip())
            click.echo("\r" + text.ljust(drawn["width"]), err=True, nl=False)
            drawn["width"] = len(text)
            if done >= total:
                click.echo("", err=True)
                drawn["phase"], drawn["width"] = None, 0

        return draw

    def reload_config(self) -> None:
        """Read config.toml again (the demo writes one into a new workspace)."""
        self._config = None

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def emit(self, document: Any) -> None:
        """Write the one JSON document of a `--json` run."""
        click.echo(json.dumps(document, indent=2, sort_keys=False, default=str))

    def say(self, text: str = "") -> None:
        """Human output: stdout normally, stderr under --json so stdout stays one document."""
        click.echo(text, err=self.json_output)

    def warn(self, text: str) -> None:
        click.echo(f"deskterm: warning: {one_line(text)}", err=True)


pass_session = click.make_pass_decorator(Session)


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.find_object(Session).json_output = True
    return value


json_option = click.option("--json", "json_flag", is_flag=True, expose_value=False, callback=_set_json,
                           help="Machine output: one JSON document on stdout.")


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False), help="Workspace folder (default: DESKTERM_HOME, else the platform's).")
@click.option("--now", "now", metavar="ISO8601", help="Fix the clock (default: DESKTERM_NOW, else the system time).")
@click.option("--json", "json_output", is_flag=True, help="Machine output: one JSON document on stdout.")
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.version_option(__version__, prog_name="deskterm")
@click.pass_context
def cli(ctx: click.Context, home: str | None, now: str | None, json_output: bool, debug: bool) -> None:
    """deskterm: the help desk and FBA reimbursement finder for Amazon sellers, in the terminal."""
    session = Session(home=home, clock=Clock.from_setting(now), json_output=json_output, debug=debug)
    ctx.obj = session
    ctx.call_on_close(session.close)
    if ctx.invoked_subcommand is None:
        if _interactive() and not json_output:
            _open_tui(session)
        else:
            _print_status(session, status_document(session))
            session.say("\n(not a terminal: the UI opens when deskterm runs in one; `deskterm queue` lists the queue)")


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _open_tui(session: Session) -> None:
    from deskterm.app import run_tui

    session.triage()
    run_tui(session)


def status_document(session: Session) -> dict[str, Any]:
    from deskterm.views import status

    return status(session.store, session.config, session.search_index().count())


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@json_option
@pass_session
def import_command(session: Session, paths: tuple[Path, ...]) -> None:
    """Import report files, mbox files, Maildir folders, .eml files, or folders of them."""
    from deskterm.importer import import_paths

    outcome = import_paths(session.store, list(paths), session.workspace.attachments_dir,
                           session.config.own_address_set())
    session.triage()  # new messages get their risk and their tickets a clock now, not at the next look
    for rejection in outcome.rejected:
        click.echo(one_line(rejection.as_text()), err=True)
    if session.json_output:
        session.emit(outcome.as_json())
    else:
        kinds = sorted(set(outcome.imported) | set(outcome.duplicates))
        for kind in kinds:
            session.say(f"{kind:<15} {outcome.imported[kind]:>9,} new {outcome.duplicates[kind]:>9,} already present")
        if not kinds:
            session.say("nothing imported")
        if outcome.rejected:
            session.say(f"{len(outcome.rejected):,} rejected (kept in the quarantine: deskterm quarantine)")
    if outcome.rejected:
        sys.exit(1)


@cli.command("quarantine")
@json_option
@pass_session
def quarantine_command(session: Session) -> None:
    """List what could not be parsed, with the raw text kept."""
    from deskterm.quarantine import list_quarantine

    entries = list_quarantine(session.store)
    if session.json_output:
        session.emit(entries)
        return
    if not entries:
        session.say("the quarantine is empty")
    for entry in entries:
        where = f"{entry['source']}:{entry['line']}" if entry["line"] else entry["source"]
        session.say(one_line(f"#{entry['id']} {where}: {entry['reason']}"))
        raw = str(entry["raw"])
        preview = raw[:300] + ("…" if len(raw) > 300 else "")
        session.say("    " + for_terminal(preview).replace("\n", "\n    "))


@cli.command("status")
@json_option
@pass_session
def status_command(session: Session) -> None:
    """The workspace at a glance."""
    document = status_document(session)
    if session.json_output:
        session.emit(document)
    else:
        _print_status(session, document)


def _print_status(session: Session, document: dict[str, Any]) -> None:
    session.say(f"workspace  {session.workspace.data_dir}")
    for kind, count in document["counts"].items():
        session.say(f"{kind:<15} {count:>9,}")
    session.say(f"{'indexed':<15} {document['indexed']:>9,}")
    session.say(f"{'quarantined':<15} {document['quarantined']:>9,}")
    session.say(f"{'outbound queued':<15} {document['outbound_queued']:>9,}")
    for status, count in document["claims"].items():
        session.say(f"claims {status:<8} {count:>9,}")
    for name, state in document["channels"].items():
        session.say(one_line(f"channel {name}: last success {state['last_success'] or 'never'}"
                             + (f", last error {state['last_error']}" if state["last_error"] else "")))


@cli.command("config")
@json_option
@pass_session
def config_command(session: Session) -> None:
    """Show the effective configuration, secrets masked."""
    workspace = session.workspace
    document = {
        "workspace": {"data": str(workspace.data_dir), "config": str(workspace.config_file),
                      "database": str(workspace.database)},
        **session.config.masked(),
    }
    if session.json_output:
        session.emit(document)
        return
    for line in _toml_lines(document):
        session.say(one_line(line))


def _toml_lines(document: dict[str, Any], prefix: str = "") -> list[str]:
    """A TOML-looking rendering: scalars first, then one [section] per table."""
    lines, tables = [], []
    for key, value in document.items():
        if isinstance(value, dict) and not ({"env", "set"} == set(value) or {"file", "exists"} == set(value)):
            tables.append((key, value))
        elif isinstance(value, dict) and "env" in value:
            lines.append(f"{key} = {json.dumps(value['env'])}  # {'set' if value['set'] else 'NOT SET'}; value hidden")
        elif isinstance(value, dict):
            lines.append(f"{key} = {json.dumps(value['file'])}  # {'exists' if value['exists'] else 'MISSING'}; value hidden")
        elif value is not None:
            lines.append(f"{key} = {json.dumps(value)}")
    for key, value in tables:
        name = f"{prefix}{key}"
        lines.append("")
        lines.append(f"[{name}]")
        lines.extend(_toml_lines(value, name + "."))
    return lines


@cli.command("show")
@click.argument("ticket", type=int)
@json_option
@pass_session
def show_command(session: Session, ticket: int) -> None:
    """The conversation of TICKET with its order context."""
    from deskterm.views import ticket_view

    session.triage()
    document = ticket_view(session.store, ticket)
    if document is None:
        raise UserError(f"no ticket {ticket}")
    session.actions().opened(ticket)  # what this agent has seen: the reply's collision check
    if session.json_output:
        session.emit(document)
        return
    from deskterm.render import render_ticket

    session.say(render_ticket(document, session.clock.now()))


@cli.command("search", context_settings={"ignore_unknown_options": True})
@click.argument("words", nargs=-1, required=True, type=click.UNPROCESSED)  # `-word` is a query, not an option
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--sort", type=click.Choice(["newest", "relevance"]), default="newest", show_default=True,
              help="newest first (as notmuch), or best match first (reads every match: slower on big archives)")
@json_option
@pass_session
def search_command(session: Session, words: tuple[str, ...], limit: int, sort: str) -> None:
    """Full-text search: words, "phrases", OR, NOT/-word, ( ), from: to: subject: order: sku:
    asin: channel: marketplace: tag: risk: is: has: date:A..B (see the README)."""
    from deskterm.index.query import QueryError

    index = session.search_index()
    try:
        results = index.search(" ".join(words), session.clock.now(), limit=limit, newest_first=sort == "newest")
    except QueryError as exc:
        raise UserError(f"search: {exc}") from None
    if session.json_output:
        session.emit(results)
        return
    if not results:
        session.say("no messages match")
    for hit in results:
        session.say(one_line(f"{hit['sent_at'][:16]}  #{hit['ticket_id']:<5} {hit['channel']:<8} "
                             f"{(hit['sender'] or '')[:28]:<28}  {hit['subject'] or ''}"))
        session.say("    " + one_line(hit["snippet"])[:200])


@cli.command("purge")
@click.option("--days", type=click.IntRange(min=0), help="Days after delivery (default: purge_after_days, 30).")
@click.option("--dry-run", is_flag=True, help="Count what would be purged; change nothing.")
@json_option
@pass_session
def purge_command(session: Session, days: int | None, dry_run: bool) -> None:
    """Remove buyers' names, addresses and phone numbers N days after delivery; keep the facts."""
    from deskterm.purge import Purge, compact, evidence_subjects

    outcome = Purge(session.store, session.config.purge_after_days if days is None else days).run(dry_run)
    if not dry_run and (outcome.tickets or outcome.orders):
        builder = session.evidence_builder()
        for folder, subject in evidence_subjects(session.workspace.evidence_dir):
            zipped = folder.with_name(folder.name + ".zip").exists()
            if "claim" in subject:
                builder.for_claim(subject["claim"]["claim_id"], make_zip=zipped)
            elif "ticket" in subject:
                builder.for_ticket(subject["ticket"]["id"], make_zip=zipped)
            outcome.evidence_folders += 1
        session.search_index().rebuild(session.progress("indexing"))  # deleted text lingers in old segments
        outcome.index_rebuilt = True
        outcome.wal_truncated = compact(session.store)
    if session.json_output:
        session.emit({"dry_run": dry_run, **outcome.as_json()})
        return
    verb = "would purge" if dry_run else "purged"
    session.say(f"{verb} {outcome.tickets:,} tickets ({outcome.messages:,} messages, {outcome.customers:,} buyers) "
                f"and the ship-to of {outcome.orders:,} orders, {outcome.days} days after delivery")
    if not dry_run and (outcome.tickets or outcome.orders):
        session.say(f"rebuilt {outcome.evidence_folders} evidence folders and the search index"
                    + ("" if outcome.wal_truncated else "; another deskterm holds the database open: run purge "
                       "again when it is closed to empty the write-ahead log"))


@cli.group("index")
def index_group() -> None:
    """The full-text index: a cache of the store."""


@index_group.command("rebuild")
@json_option
@pass_session
def index_rebuild(session: Session) -> None:
    """Recreate the index from the store."""
    count = session.search_index().rebuild(session.progress("indexing"))
    if session.json_output:
        session.emit({"indexed": count})
    else:
        session.say(f"indexed {count:,} messages")


@index_group.command("check")
@json_option
@pass_session
def index_check(session: Session) -> None:
    """Compare the index with the store; exit 1 when they differ."""
    report = session.search_index().check()
    if session.json_output:
        session.emit(report.as_json())
    elif report.ok:
        session.say(f"the index matches the store ({report.pending:,} changes waiting to be applied)")
    else:
        if not report.readable:
            session.say(one_line(f"the index cannot be read: {report.problem}"))
        for name in ("missing", "extra", "stale"):
            ids = getattr(report, name)
            if ids:
                session.say(f"{len(ids):,} {name} documents (messages {', '.join(map(str, ids[:10]))}"
                            f"{' …' if len(ids) > 10 else ''})")
        session.say("repair it with: deskterm index rebuild")
    if not report.ok:
        sys.exit(1)


@cli.command("demo")
@click.option("--no-tui", is_flag=True, help="Build the workspace and print what was built; do not open the UI.")
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed and --now, same workspace.")
@json_option
@pass_session
def demo_command(session: Session, no_tui: bool, seed: int) -> None:
    """Build a realistic demo workspace by importing generated real-format files."""
    from deskterm.demo import build_demo

    outcome, files = build_demo(session, seed)
    if not no_tui and not session.json_output and _interactive():
        _open_tui(session)
        return
    document = status_document(session)
    if session.json_output:
        session.emit({"files": [str(f) for f in files], "import": outcome.as_json(), "status": document})
    else:
        session.say(f"Built a demo workspace from {len(files)} generated files in {files[0].parent}:")
        _print_status(session, document)
        session.say("\nExplore it:")
        home = session.workspace.data_dir
        program = sys.argv[0] if Path(sys.argv[0]).name == "deskterm" else "python -m deskterm"
        from deskterm.triage.queue import queue

        top = queue(session.store, session.clock.now(), limit=1)
        for command in ("queue", f"show {top[0]['ticket_id'] if top else 1}", "search '\"arrived broken\" OR danneggiato'", "search is:unanswered",
                        "claims list", "stats", "templates", "quarantine", "config"):
            session.say(f"  {program} --home {home} {command}")
    if outcome.rejected:
        sys.exit(1)


from deskterm.cli_claims import register as register_claims  # noqa: E402 - they need the group above
from deskterm.cli_desk import register  # noqa: E402 - the agent's commands need the group above
from deskterm.cli_evidence import register as register_evidence  # noqa: E402 - they need the group above
from deskterm.cli_sync import register as register_sync  # noqa: E402 - they need the group above

register(cli)
register_claims(cli)
register_evidence(cli)
register_sync(cli)


def main(argv: list[str] | None = None) -> None:
    """Entry point: turn every expected failure into a message and an exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        result = cli.main(args=argv, prog_name="deskterm", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except UserError as exc:
        click.echo(f"deskterm: {one_line(str(exc))}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback for users
        if debug:
            traceback.print_exc()
        else:
            click.echo(f"deskterm: unexpected error: {type(exc).__name__}: {one_line(str(exc))[:300]}"
                       " (run with --debug for details)", err=True)
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)
