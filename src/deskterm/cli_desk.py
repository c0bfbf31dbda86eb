"""The agent's commands: the queue, the actions on a ticket, templates and stats.

They call the same `Actions` the TUI's keys call; each prints what it did (or, with `--json`, a
document saying so) and fails with a sentence, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from deskterm.clock import iso, parse_until
from deskterm.errors import UserError
from deskterm.sanitize import one_line
from deskterm.templates import fill_for_ticket, find_template, load_templates


def register(cli: click.Group) -> None:
    from deskterm.cli import Session, json_option, pass_session
    from deskterm.triage.queue import CHANNELS
    from deskterm.triage.rules import LEVELS

    def done(session: Session, ticket: int, text: str, **document: object) -> None:
        if session.json_output:
            session.emit({"ticket_id": ticket, **document})
        else:
            session.say(text)

    @cli.command("queue")
    @click.option("--all", "everything", is_flag=True, help="Every ticket: closed, pending and snoozed ones too.")
    @click.option("--channel", type=click.Choice(CHANNELS))
    @click.option("--risk", type=click.Choice(LEVELS), help="This level and above.")
    @click.option("--mine", is_flag=True, help="Tickets assigned to you.")
    @click.option("--unassigned", is_flag=True, help="Tickets assigned to nobody.")
    @click.option("--limit", type=click.IntRange(1), default=None)
    @json_option
    @pass_session
    def queue_command(session: Session, everything: bool, channel: str | None, risk: str | None, mine: bool,
                      unassigned: bool, limit: int | None) -> None:
        """Open tickets, the most dangerous first, then by SLA deadline, then oldest."""
        from deskterm.triage.queue import QueueFilter, queue, time_left

        session.triage()
        now = session.clock.now()
        rows = queue(session.store, now, QueueFilter(everything, channel, risk, session.agent if mine else None,
                                                     unassigned), limit)
        if session.json_output:
            session.emit(rows)
            return
        if not rows:
            session.say("the queue is empty")
        for row in rows:
            why = row["risk_reasons"][0]["text"] if row["risk_reasons"] else ""
            customer, subject = one_line(row["customer"] or "")[:20], one_line(row["subject"] or "")
            session.say(f"#{row['ticket_id']:<6} {row['risk'].upper():<8} {time_left(row['sla_due'], now):<16} "
                        f"{row['channel']:<7} {row['marketplace'] or '':<3} {customer:<20} "
                        f"{row['order_id'] or '':<19} {subject}"[:220])
            if why:
                session.say("        " + one_line(why)[:150])

    @cli.command("reply")
    @click.argument("ticket", type=int)
    @click.option("--body-file", type=click.Path(dir_okay=False, allow_dash=True), help="The reply's text ('-': stdin).")
    @click.option("--template", "template_name", metavar="NAME", help="Fill a reply template (fuzzy name).")
    @click.option("--lang", type=click.Choice(["en", "it", "de", "fr", "es"]), help="Template language.")
    @click.option("--attach", "attach", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
    @click.option("--close", is_flag=True, help="Close the ticket instead of waiting for the buyer.")
    @click.option("--force", is_flag=True, help="Queue it despite the compliance and collision checks.")
    @json_option
    @pass_session
    def reply_command(session: Session, ticket: int, body_file: str | None, template_name: str | None,
                      lang: str | None, attach: tuple[Path, ...], close: bool, force: bool) -> None:
        """Queue a reply to TICKET (sent by `deskterm sync`; never waits for the network)."""
        from deskterm.actions import Attachment

        if bool(body_file) == bool(template_name):
            raise UserError("give the reply's text with --body-file F (or -), or --template NAME")
        body = _read_text(body_file) if body_file else fill_for_ticket(
            session.store, ticket, template_name, lang, session.agent, session.templates_dir())
        files = [Attachment(path.name, path.read_bytes()) for path in attach]
        outcome = session.actions().reply(ticket, body, files, force=force, close=close)
        for warning in outcome.warnings:
            click.echo(one_line(f"warning (forced): {warning}"), err=True)
        done(session, ticket, f"reply to ticket {ticket} queued as {outcome.message_id}",
             message_id=outcome.message_id, queued=outcome.queued, forced=outcome.warnings)

    @cli.command("note")
    @click.argument("ticket", type=int)
    @click.option("-m", "--message", "text", help="The note's text.")
    @click.option("--body-file", type=click.Path(dir_okay=False, allow_dash=True), help="Read it from a file ('-': stdin).")
    @json_option
    @pass_session
    def note_command(session: Session, ticket: int, text: str | None, body_file: str | None) -> None:
        """Add an internal note to TICKET (never sent to the buyer)."""
        if bool(text) == bool(body_file):
            raise UserError("give the note with -m TEXT or --body-file F")
        note_id = session.actions().note(ticket, text or _read_text(body_file))
        done(session, ticket, f"note added to ticket {ticket}", note_id=note_id)

    @cli.command("tag", context_settings={"ignore_unknown_options": True})
    @click.argument("ticket", type=int)
    @click.argument("changes", nargs=-1, required=True, type=click.UNPROCESSED)
    @json_option
    @pass_session
    def tag_command(session: Session, ticket: int, changes: tuple[str, ...]) -> None:
        """Add and remove tags, as notmuch does: deskterm tag 12 +vip -later."""
        add = [c[1:] for c in changes if c.startswith("+")]
        remove = [c[1:] for c in changes if c.startswith("-")]
        if len(add) + len(remove) != len(changes):
            raise UserError("write each tag change as +tag or -tag")
        tags = session.actions().tag(ticket, add, remove)
        done(session, ticket, f"ticket {ticket} tags: {', '.join(tags) or '(none)'}", tags=tags)

    @cli.command("assign")
    @click.argument("ticket", type=int)
    @click.argument("agent", required=False)
    @click.option("--nobody", is_flag=True, help="Unassign the ticket.")
    @json_option
    @pass_session
    def assign_command(session: Session, ticket: int, agent: str | None, nobody: bool) -> None:
        """Assign TICKET to AGENT (or --nobody)."""
        if bool(agent) == nobody:
            raise UserError("name the agent, or say --nobody")
        session.actions().assign(ticket, None if nobody else agent.strip())
        done(session, ticket, f"ticket {ticket} assigned to {agent or 'nobody'}", assignee=agent)

    @cli.command("take")
    @click.argument("ticket", type=int)
    @json_option
    @pass_session
    def take_command(session: Session, ticket: int) -> None:
        """Assign TICKET to yourself."""
        session.actions().assign(ticket, session.agent)
        done(session, ticket, f"ticket {ticket} assigned to {session.agent}", assignee=session.agent)

    @cli.command("snooze")
    @click.argument("ticket", type=int)
    @click.argument("until")
    @json_option
    @pass_session
    def snooze_command(session: Session, ticket: int, until: str) -> None:
        """Hide TICKET from the queue until UNTIL (2h, 3d, 1w, tomorrow, or an ISO time); a new buyer
        message brings it back sooner."""
        when = parse_until(until, session.clock.now())
        session.actions().snooze(ticket, when)
        done(session, ticket, f"ticket {ticket} snoozed until {iso(when)}", snoozed_until=iso(when))

    @cli.command("close")
    @click.argument("ticket", type=int)
    @click.option("--force", is_flag=True, help="Close even with unanswered Amazon buyer messages.")
    @json_option
    @pass_session
    def close_command(session: Session, ticket: int, force: bool) -> None:
        """Close TICKET."""
        session.actions().close(ticket, force)
        done(session, ticket, f"ticket {ticket} closed", status="closed")

    @cli.command("reopen")
    @click.argument("ticket", type=int)
    @json_option
    @pass_session
    def reopen_command(session: Session, ticket: int) -> None:
        """Reopen TICKET."""
        session.actions().reopen(ticket)
        done(session, ticket, f"ticket {ticket} reopened", status="open")

    @cli.command("nrn")
    @click.argument("ticket", type=int)
    @click.option("--reason", required=True, help='Why no reply is needed, e.g. "buyer said thanks".')
    @json_option
    @pass_session
    def nrn_command(session: Session, ticket: int, reason: str) -> None:
        """Mark TICKET's unanswered buyer messages "no response needed" (stops the clock) and close it."""
        marked = session.actions().no_response_needed(ticket, reason)
        done(session, ticket, f"ticket {ticket}: {marked} message(s) marked no response needed; closed",
             marked=marked, status="closed")

    @cli.command("risk")
    @click.argument("ticket", type=int)
    @click.argument("level", type=click.Choice(LEVELS))
    @click.option("--reason", required=True, help="Why (kept in the audit log and on the ticket).")
    @json_option
    @pass_session
    def risk_command(session: Session, ticket: int, level: str, reason: str) -> None:
        """Override TICKET's risk level (the one way to lower it); later buyer messages can raise it."""
        session.actions().set_risk(ticket, level, reason)
        done(session, ticket, f"ticket {ticket} risk set to {level}", risk=level)

    @cli.command("templates")
    @click.argument("name", required=False)
    @click.option("--ticket", type=int, help="Fill the template for this ticket.")
    @click.option("--lang", type=click.Choice(["en", "it", "de", "fr", "es"]))
    @json_option
    @pass_session
    def templates_command(session: Session, name: str | None, ticket: int | None, lang: str | None) -> None:
        """List reply templates, or show NAME (fuzzy), filled for --ticket."""
        templates = load_templates(session.templates_dir())
        if name is None:
            listing: dict[str, list[str]] = {}
            for found, language in sorted(templates):
                listing.setdefault(found, []).append(language)
            if session.json_output:
                session.emit([{"name": n, "languages": langs} for n, langs in listing.items()])
            for found, languages in listing.items():
                session.say(f"{found:<28} {' '.join(languages)}")
            return
        if ticket is not None:
            text = fill_for_ticket(session.store, ticket, name, lang, session.agent, session.templates_dir())
            template_name = name
        else:
            template = find_template(templates, name, lang or "en")
            text, template_name = template.text, template.name
        if session.json_output:
            session.emit({"name": template_name, "text": text})
        else:
            session.say(text)

    @cli.command("stats")
    @json_option
    @pass_session
    def stats_command(session: Session) -> None:
        """Late Response Rate and average response time (7/30/90 days), and the ODR inputs known here."""
        from deskterm.triage.stats import odr_inputs, response_stats

        session.triage()
        now = session.clock.now()
        document = {"as_of": iso(now), "response": response_stats(session.store, now,
                                                                    session.config.sla.get("response_hours", 24)),
                    "odr": odr_inputs(session.store, now)}
        if session.json_output:
            session.emit(document)
            return
        session.say(f"as of {document['as_of']}")
        for channel, windows in document["response"].items():
            for window, figures in windows.items():
                rate = figures["late_response_rate"]
                average = figures["average_response_hours"]
                session.say(f"{channel:<8} {window:>4}  {figures['messages']:>6} messages  late "
                            f"{'-' if rate is None else f'{rate:.1%}':>6} ({figures['over_24h']} over 24 h, "
                            f"{figures['no_response']} no response)  average "
                            f"{'-' if average is None else f'{average:.1f} h'}  waiting {figures['waiting']}")
        odr = document["odr"]
        session.say(f"last {odr['days']} days: {odr['a_to_z_claims']} A-to-z claim notices, {odr['chargebacks']} "
                    f"chargebacks, {odr['negative_feedback_threats']} negative-feedback threats; "
                    f"{len(odr['orders_at_risk'])} of {odr['orders']} orders at risk")

    @cli.command("triage")
    @click.option("--rescan", is_flag=True, help="Read every message again (after editing the risk rules).")
    @json_option
    @pass_session
    def triage_command(session: Session, rescan: bool) -> None:
        """Bring risk levels and SLA clocks up to date (imports and syncs do this themselves)."""
        from deskterm.triage.assess import Triage
        from deskterm.triage.rules import load_rules

        if rescan:
            with session.store.write() as conn:
                conn.execute("UPDATE messages SET risk = NULL")
                session.store.audit(conn, "triage_rescan", actor=session.agent)
        outcome = Triage(session.store, session.config, session.clock,
                         load_rules(session.risk_rules_path())).refresh()
        if session.json_output:
            session.emit({"messages": outcome.messages, "tickets": outcome.tickets})
        else:
            session.say(f"read {outcome.messages:,} messages, updated {outcome.tickets:,} tickets")


def _read_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read: {exc}") from None
