"""`deskterm sync once|run|status`: the channels' runner, for cron, systemd and a person."""

from __future__ import annotations

import sys

import click

from deskterm.sanitize import one_line


def register(cli: click.Group) -> None:
    from deskterm.cli import Session, json_option, pass_session

    @cli.group("sync")
    def sync() -> None:
        """Bring the channels' new data in and send the queued replies."""

    @sync.command("once")
    @click.argument("channels", nargs=-1)
    @json_option
    @pass_session
    def once_command(session: Session, channels: tuple[str, ...]) -> None:
        """One pass over every enabled channel (or the ones named); exit 1 if one failed."""
        from deskterm.sync.runner import sync_once

        document = sync_once(session, list(channels) or None)
        if session.json_output:
            session.emit(document)
        else:
            for name, result in document["channels"].items():
                fetched = ", ".join(f"{n} {kind}" for kind, n in result["fetched"].items() if n) or "nothing new"
                session.say(one_line(f"{name}: " + (f"{fetched}, {result['sent']} sent" if result["ok"]
                                                    else f"failed: {result['error']}")))
                for event in result["events"]:
                    session.say(one_line(f"{name}: attention: {event}"))
        if not all(result["ok"] for result in document["channels"].values()):
            sys.exit(1)

    @sync.command("run")
    @pass_session
    def run_command(session: Session) -> None:
        """The daemon: each channel on its schedule, retries with backoff, until SIGTERM or SIGINT."""
        from deskterm.sync.runner import Daemon

        session.say("deskterm sync: running; stop with SIGTERM or ctrl+c")
        Daemon(session).run()
        session.say("deskterm sync: stopped")

    @sync.command("status")
    @json_option
    @pass_session
    def status_command(session: Session) -> None:
        """Per channel: last success, last error, cursors, lag; queued replies; recent events."""
        from deskterm.sync.runner import status

        document = status(session)
        if session.json_output:
            session.emit(document)
            return
        for name, state in document["channels"].items():
            lag = f"{state['lag_seconds']} s ago" if state["lag_seconds"] is not None else "never"
            session.say(one_line(f"{name}: last success {state['last_success'] or 'never'} ({lag})"
                                 + (f"; last error: {state['last_error']}" if state["last_error"] else "")))
            for scope, value in state["cursors"].items():
                session.say(one_line(f"  {scope}: {value['cursor']} (UIDVALIDITY {value['uidvalidity']})"))
            for event in state["events"]:
                session.say(one_line(f"  {event['at']} attention: {event['text']}"))
        session.say("outbound: " + (", ".join(f"{n} {s}" for s, n in document["outbound"].items()) or "none"))
