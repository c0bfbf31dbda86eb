"""The terminal UI: an App that only routes; screens do the work, the core does the rest.

The App owns the session (store, config, clock, the agent's actions), polls SQLite's
`data_version` so the screens update when a sync or another agent commits, and applies the
keymap from config (`[keys]`: binding id = keys).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.app import App
from textual.binding import Binding

from deskterm.errors import UserError
from deskterm.sanitize import one_line
from deskterm.screens.commands import DesktermCommands
from deskterm.screens.queue import QueueScreen

if TYPE_CHECKING:
    from deskterm.cli import Session

POLL_SECONDS = 2.0


class DesktermApp(App[None]):
    TITLE = "deskterm"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {DesktermCommands}
    BINDINGS = [
        Binding("slash", "search", "Search", id="app.search"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("ctrl+q", "quit", "Quit", show=False, id="app.quit"),
        Binding("u", "undo_reply", "Undo reply", show=False, id="app.undo_reply"),
    ]

    def __init__(self, session: "Session") -> None:
        super().__init__()
        self.session = session
        self._data_version: int | None = None
        self._last_reply: str | None = None

    def on_mount(self) -> None:
        keys = self.session.config.keys
        if keys:
            self.set_keymap(keys)
        self.push_screen(QueueScreen())
        self.poll_store()  # the baseline
        self.set_interval(POLL_SECONDS, self.poll_store)

    def poll_store(self) -> None:
        """When another process committed (a sync, a colleague), read the new messages for risk in a
        worker (a big sync can bring thousands), then refresh the screens."""
        version = self.session.store.scalar("PRAGMA data_version")
        if self._data_version is not None and version != self._data_version:
            self.triage_in_background()
        self._data_version = version

    @work(thread=True, exclusive=True, group="triage")
    def triage_in_background(self) -> None:
        from deskterm.store import Store
        from deskterm.triage.assess import Triage

        session = self.session
        with Store(session.workspace.database, session.clock) as store:
            Triage(store, session.config, session.clock, session.triage_engine().rules).refresh()
        self.call_from_thread(self.refresh_screens)

    def refresh_screens(self) -> None:
        self._data_version = self.session.store.scalar("PRAGMA data_version")  # our own triage writes
        for screen in self.screen_stack:
            refresh = getattr(screen, "store_changed", None)
            if refresh:
                refresh()

    def open_ticket(self, ticket_id: int, message_id: str | None = None) -> None:
        """Back to the queue screen, showing the ticket there (from search, for instance)."""
        while not isinstance(self.screen, QueueScreen):
            self.pop_screen()
        self.screen.open_ticket(ticket_id, message_id)

    def undoable_reply(self, message_id: str) -> None:
        self._last_reply = message_id
        seconds = self.session.config.undo_seconds
        self.notify(f"Reply queued. Press u within {seconds} s to take it back.", timeout=seconds)

    def action_undo_reply(self) -> None:
        if self._last_reply is None:
            self.notify("no reply to undo", severity="warning")
            return
        try:
            self.session.actions().undo_reply(self._last_reply, self.session.config.undo_seconds)
        except UserError as exc:
            self.notify(one_line(str(exc)), severity="error", markup=False)
            return
        self._last_reply = None
        self.notify("Reply taken back; it was never sent.")
        self.refresh_screens()

    def action_search(self) -> None:
        from deskterm.screens.search import SearchScreen

        if isinstance(self.screen, SearchScreen):
            self.screen.edit_query()
            return
        if not self.is_screen_installed("search"):  # one search screen: its results wait for the way back
            self.install_screen(SearchScreen(), "search")
        self.push_screen("search")

    @work(thread=True, group="evidence")
    def build_evidence(self, claim_id: str | None = None, ticket_id: int | None = None) -> None:
        """Assemble an evidence folder off the UI thread (attachments can be large); say where it is."""
        from deskterm.evidence.build import EvidenceBuilder
        from deskterm.store import Store

        session = self.session
        try:
            with Store(session.workspace.database, session.clock) as store:
                builder = EvidenceBuilder(store, session.workspace.attachments_dir, session.workspace.evidence_dir,
                                          session.agent)
                built = builder.for_claim(claim_id) if claim_id else builder.for_ticket(ticket_id)
        except (UserError, OSError) as exc:
            self.call_from_thread(self.notify, one_line(str(exc)), title="evidence", severity="error", markup=False)
            return
        missing = f"; missing: {', '.join(built.missing)}" if built.missing else ""
        self.call_from_thread(self.notify, one_line(f"Evidence in {built.path}{missing}"), title="evidence",
                              timeout=12, markup=False)

    def action_claims(self) -> None:
        from deskterm.screens.claims import ClaimsScreen

        if not isinstance(self.screen, ClaimsScreen):
            self.push_screen(ClaimsScreen())

    def action_help(self) -> None:
        from deskterm.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))


def run_tui(session: "Session") -> None:
    DesktermApp(session).run()
