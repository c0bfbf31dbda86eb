"""The reply composer: a text area, the compliance check as you type, send without waiting.

Sending stores the reply and queues it (`Actions.reply`); the network is the sync daemon's
business. For `undo_seconds` after sending, `u` takes it back: the daemon does not send a
reply younger than that.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static, TextArea

from deskterm.compliance import amazon_reply_problems
from deskterm.errors import UserError
from deskterm.sanitize import one_line
from deskterm.templates import fill_for_ticket
from deskterm.widgets.key_bar import KeyBar


class ComposerScreen(ModalScreen[str | None]):
    """Dismissed with the queued reply's Message-ID, or None when nothing was sent."""

    DEFAULT_CSS = """
    ComposerScreen { align: center middle; }
    ComposerScreen > Vertical { width: 96%; height: 90%; background: $panel; border: round $primary; padding: 0 1; }
    ComposerScreen TextArea { height: 1fr; }
    ComposerScreen #problems { height: auto; max-height: 6; color: $error; }
    """
    BINDINGS = [
        Binding("ctrl+s", "send", "Send", id="composer.send"),
        Binding("ctrl+f", "send(True)", "Send anyway", id="composer.force"),
        Binding("ctrl+t", "template", "Insert template", id="composer.template"),
        Binding("escape", "cancel", "Cancel", id="composer.cancel"),
    ]

    def __init__(self, ticket_id: int, template: str | None = None) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.template = template

    def compose(self) -> ComposeResult:
        ticket = self.app.session.store.row("SELECT channel, order_id, subject FROM tickets WHERE id = ?",
                                            (self.ticket_id,))
        self.channel, self.order_id = ticket["channel"], ticket["order_id"]
        with Vertical():
            yield Label(one_line(f"Reply to #{self.ticket_id} · {ticket['channel']} · {ticket['subject'] or ''}"),
                        markup=False)
            yield TextArea(id="body", soft_wrap=True, show_line_numbers=False)
            yield Static(id="problems", markup=False)
        yield KeyBar()  # fits 80 columns; ctrl+p is in `?`

    def on_mount(self) -> None:
        if self.template:
            self._insert(self.template)
        self.query_one(TextArea).focus()
        self._check()

    def on_text_area_changed(self) -> None:
        self._check()

    def _check(self) -> list[str]:
        """Amazon's messaging rules, shown while the agent types."""
        body = self.query_one(TextArea).text
        problems = amazon_reply_problems(body, self.order_id, []) if self.channel == "amazon" and body.strip() else []
        self.query_one("#problems", Static).update(Text("\n".join(f"✗ {p}" for p in problems)))
        return problems

    def _insert(self, name: str) -> None:
        session = self.app.session
        try:
            text = fill_for_ticket(session.store, self.ticket_id, name, None, session.agent, session.templates_dir())
        except UserError as exc:
            self.notify(one_line(str(exc)), severity="error", timeout=8, markup=False)
            return
        self.query_one(TextArea).insert(text)

    def action_template(self) -> None:
        from deskterm.screens.prompt import PromptScreen

        self.app.push_screen(PromptScreen("Template (fuzzy name)"), lambda name: name and self._insert(name))

    def action_send(self, force: bool = False) -> None:
        body = self.query_one(TextArea).text
        try:
            outcome = self.app.session.actions().reply(self.ticket_id, body, force=force)
        except UserError as exc:
            self.query_one("#problems", Static).update(Text(f"✗ {one_line(str(exc))}"))
            return
        self.app.undoable_reply(outcome.message_id)
        self.dismiss(outcome.message_id)

    def action_cancel(self) -> None:
        self.dismiss(None)
