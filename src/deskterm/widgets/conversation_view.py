"""One ticket: the thread beside its order context, the timeline, and every agent action a key away.

It lives on the queue screen and is shown in place of the list: opening a ticket replaces text
and toggles `display` (about 25 ms), where switching to a screen of its own cost 210 ms of CSS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from deskterm.clock import parse_until
from deskterm.errors import UserError
from deskterm.sanitize import for_terminal, one_line
from deskterm.screens.prompt import PromptScreen
from deskterm.timeline import timeline
from deskterm.triage.queue import time_left
from deskterm.views import ticket_view
from deskterm.widgets.focus import FocusUnstyled

RISK_STYLE = {"critical": "bold reverse red", "high": "bold red", "medium": "yellow", "low": "dim"}


# What one message may put on screen: a 10 MB line or a million lines would take the renderer
# minutes and gigabytes (research/reliability.md §2.3, rule 4). The rest is counted and named.
MAX_SHOWN_CHARS = 50_000
MAX_SHOWN_LINES = 1_000


def folded(body: str, ticket_id: int | None = None) -> Text:
    """The message text with quoted lines (`>`) folded into one marker line, cut to what a screen
    can show at once (the cut is said, with the message's whole size)."""
    text = Text()
    quoted = 0
    lines = for_terminal(body[:MAX_SHOWN_CHARS]).splitlines()
    shown = f"the first {MAX_SHOWN_CHARS:,} characters" if len(body) > MAX_SHOWN_CHARS else ""
    if len(lines) > MAX_SHOWN_LINES:
        lines, shown = lines[:MAX_SHOWN_LINES], f"the first {MAX_SHOWN_LINES:,} lines"
    for line in lines:
        if line.lstrip().startswith(">"):
            quoted += 1
            continue
        if quoted:
            text.append(f"  [{quoted} quoted lines folded]\n", style="dim")
            quoted = 0
        text.append(f"  {line}\n")
    if quoted:
        text.append(f"  [{quoted} quoted lines folded]\n", style="dim")
    if shown:
        command = f"deskterm show {ticket_id}" if ticket_id else "deskterm show"
        text.append(f"  [cut: this message has {len(body):,} characters in {body.count(chr(10)) + 1:,} lines; "
                    f"{shown} are shown. `{command}` prints it whole.]\n", style="bold")
    return text


class ConversationView(FocusUnstyled, Vertical, can_focus=True):
    DEFAULT_CSS = """
    ConversationView { display: none; height: 1fr; }
    ConversationView #conversation-title { height: 1; background: $primary-darken-2; padding: 0 1; }
    ConversationView #panes { height: 1fr; }
    ConversationView #thread { width: 2fr; padding: 0 1; }
    ConversationView #context { width: 1fr; min-width: 30; padding: 0 1; border-left: solid $primary; }
    """
    # The footer shows what fits in 80 columns; `?` and ctrl+p list every key.
    BINDINGS = [
        Binding("escape,q", "close_ticket", "Back", id="conversation.back"),
        Binding("r", "reply", "Reply", id="conversation.reply"),
        Binding("T", "reply_template", "Template", show=False, id="conversation.template"),
        Binding("n", "note", "Note", id="conversation.note"),
        Binding("t", "tag", "Tag", id="conversation.tag"),
        Binding("a", "take", "Take", show=False, id="conversation.take"),
        Binding("A", "assign", "Assign", show=False, id="conversation.assign"),
        Binding("s", "snooze", "Snooze", show=False, id="conversation.snooze"),
        Binding("c", "close", "Close", id="conversation.close"),
        Binding("N", "nrn", "No reply", id="conversation.nrn"),
        Binding("l", "timeline", "Timeline", id="conversation.timeline"),
        Binding("S", "save_attachments", "Save attachments", show=False, id="conversation.save"),
        Binding("E", "evidence", "Evidence", show=False, id="conversation.evidence"),
        Binding("j", "scroll(1)", "Down", show=False, id="conversation.down"),
        Binding("k", "scroll(-1)", "Up", show=False, id="conversation.up"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ticket_id = 0
        self.message_id: str | None = None
        self.show_timeline = False

    def compose(self) -> ComposeResult:
        yield Static(id="conversation-title", markup=False)
        with Horizontal(id="panes"):
            yield VerticalScroll(Static(id="thread-text", markup=False), id="thread", can_focus=False)
            yield VerticalScroll(Static(id="context-text", markup=False), id="context", can_focus=False)

    def show(self, ticket_id: int, message_id: str | None = None) -> None:
        """Fill the view with a ticket; no widget is built, only text replaced."""
        self.ticket_id, self.message_id, self.show_timeline = ticket_id, message_id, False
        self.app.session.actions().opened(ticket_id)  # the reply's collision check starts here
        self.render_ticket(from_the_top=True)

    def action_close_ticket(self) -> None:
        self.screen.close_ticket()

    def store_changed(self) -> None:
        self.render_ticket()

    def render_ticket(self, from_the_top: bool = False) -> None:
        """Fill in the ticket's text. Only a ticket just opened (or the timeline just toggled) starts
        at the top, or at the message searched for; a refresh (new mail, a sync, an action) keeps the
        agent's place in the thread."""
        session = self.app.session
        view = ticket_view(session.store, self.ticket_id)
        if view is None:
            self.screen.close_ticket()
            return
        ticket = view["ticket"]
        customer = ticket.get("customer_name") or ticket.get("customer_address") or "unknown customer"
        title = Text()
        title.append(f"#{ticket['id']} ")
        title.append(f" {ticket['risk'].upper()} ", style=RISK_STYLE.get(ticket["risk"], ""))
        title.append(one_line(f"  {time_left(ticket['sla_due'], session.clock.now())} · {ticket['channel']} · "
                              f"{ticket['status']} · {customer} · {ticket['subject'] or ''}"))
        self.query_one("#conversation-title", Static).update(title)
        text, target = (self._timeline(view), None) if self.show_timeline else self._messages(view)
        self.query_one("#thread-text", Static).update(text)
        self.query_one("#context-text", Static).update(self._order_context(view))
        if from_the_top:
            self.query_one("#thread", VerticalScroll).scroll_home(animate=False, immediate=True)
            if target is not None:
                self.call_after_refresh(self._scroll_to, text, target)

    def _scroll_to(self, text: Text, offset: int) -> None:
        """Scroll the thread so the line holding character `offset` is at the top."""
        thread = self.query_one("#thread", VerticalScroll)
        before = text[:offset]
        lines = len(before.wrap(self.app.console, max(1, thread.scrollable_content_region.width)))
        thread.scroll_to(y=max(0, lines - 1), animate=False)

    def _messages(self, view: dict) -> tuple[Text, int | None]:
        """The thread as one text; the offset where `message_id` starts, when it is in it."""
        text = Text()
        target = None
        for message in view["messages"]:
            if message["message_id"] == self.message_id:
                target = len(text)
            outbound = message["direction"] == "outbound"
            text.append("→ " if outbound else "← ", style="bold green" if outbound else "bold")
            text.append(one_line(f"{message['sent_at']}  {message['sender_name'] or message['sender'] or ''}  "
                                 f"[{message['kind']}]"), style="reverse" if target == len(text) - 2 else "")
            if message.get("risk") and message["risk"] != "low" and not outbound:
                text.append(f"  {message['risk']}", style=RISK_STYLE[message["risk"]])
            text.append("\n")
            text.append_text(folded(message["body"] or "", self.ticket_id))
            for attachment in message["attachments"]:
                text.append(one_line(f"  attachment: {attachment['filename']} ({attachment['size']:,} bytes)") + "\n",
                            style="cyan")
            if message["no_response_needed"]:
                text.append(one_line(f"  no response needed: {message['no_response_needed']}") + "\n", style="dim")
            text.append("\n")
        for note in view["notes"]:
            text.append(one_line(f"✎ note by {note['agent']} at {note['created_at']}") + "\n", style="italic")
            text.append_text(folded(note["body"], self.ticket_id))
            text.append("\n")
        return text, target

    def _timeline(self, view: dict) -> Text:
        text = Text()
        for event in timeline(view):
            text.append(f"{event.at[:16].replace('T', ' '):<17}", style="dim")
            text.append(f"{event.kind:<14}", style="bold")
            text.append(one_line(event.text) + "\n")
            if event.anomaly:
                text.append(f"{'':31}⚠ {one_line(event.anomaly)}\n", style="bold red")
        return text or Text("nothing recorded yet")

    def _order_context(self, view: dict) -> Text:
        text = Text()
        ticket = view["ticket"]
        for reason in ticket["risk_reasons"][:6]:
            text.append(one_line(f"{reason['level']}: {reason['text']}") + "\n", style=RISK_STYLE[reason["level"]])
        if ticket.get("claim_badge"):
            text.append(one_line(f"$ {ticket['claim_badge']}") + "\n", style="bold green")
        if ticket["tags"]:
            text.append(one_line("tags: " + ", ".join(ticket["tags"])) + "\n")
        if ticket["assignee"]:
            text.append(one_line(f"assigned to {ticket['assignee']}") + "\n")
        for order in view["orders"]:
            text.append("\n" + one_line(f"Order {order['order_id']}") + "\n", style="bold")
            for label, key in (("status", "status"), ("fulfilment", "fulfillment_channel"),
                               ("purchased", "purchase_date"), ("shipped", "shipped_at"),
                               ("latest delivery", "latest_delivery_date"), ("delivered", "delivered_at"),
                               ("carrier", "carrier"), ("tracking", "tracking")):
                if order.get(key):
                    text.append(one_line(f"  {label}: {order[key]}") + "\n")
            for line in order["lines"]:
                text.append(one_line(f"  {line['quantity']} × {line['sku']} {line['item_price'] or ''} "
                                     f"{line['currency'] or ''}") + "\n")
                codes = " ".join(f"{name} {line[key]}" for name, key in (("ASIN", "asin"), ("FNSKU", "fnsku"))
                                 if line[key])
                if codes:
                    text.append(one_line(f"    {codes}") + "\n", style="dim")
            if len(order.get("shipments", [])) > 1:  # split over parcels: each one's own tracking
                for part in order["shipments"]:
                    text.append(one_line(f"  parcel {part['shipment_date'][:10]} {part['quantity']} × {part['sku']}"
                                         f" {part['carrier'] or ''} {part['tracking_number'] or ''}") + "\n")
        for ret in view["returns"]:
            style = "bold red" if (ret.get("disposition") or "").upper() == "SELLABLE" else ""
            text.append(one_line(f"return {ret['return_date'][:10]} {ret['sku']} ×{ret['quantity']} "
                                 f"{ret['disposition']} ({ret['reason']})") + "\n", style=style)
        for refund in view["refunds"]:
            text.append(one_line(f"refund {refund['refund_date'][:10]} {refund['amount']} {refund['currency']}") + "\n")
        for item in view["reimbursements"]:
            text.append(one_line(f"reimbursed {item['approval_date'][:10]} {item['amount_total']} "
                                 f"{item['currency']} ({item['reason']})") + "\n")
        for claim in view["claims"]:
            text.append(one_line(f"claim {claim['kind']} {claim['status']} deadline {claim['deadline']}") + "\n",
                        style="bold")
        if view["other_orders"]:
            text.append("\nThe buyer's other orders\n", style="bold")
            for other in view["other_orders"]:
                text.append(one_line(f"  {other['order_id']} {other['marketplace'] or ''} "
                                     f"{(other['purchase_date'] or '')[:10]} {other['status'] or ''}") + "\n")
        if view["other_tickets"]:
            text.append("\nThe buyer's other tickets\n", style="bold")
            for other in view["other_tickets"]:
                text.append(one_line(f"  #{other['id']} {other['risk']} {other['status']} {other['subject'] or ''}")
                            + "\n")
        return text

    # -- actions ---------------------------------------------------------------------------------
    def _act(self, what: str, call) -> None:
        try:
            call()
        except UserError as exc:
            self.notify(one_line(str(exc)), title=f"{what} refused", severity="error", timeout=8, markup=False)
            return
        self.notify(what)
        self.render_ticket()

    def action_scroll(self, step: int) -> None:
        # At once: a deferred scroll starts from the offset before the last frame, so keys typed
        # (or repeated) faster than the screen refreshes would be lost.
        self.query_one("#thread", VerticalScroll).scroll_relative(y=step * 3, animate=False, immediate=True)

    def action_evidence(self) -> None:
        """The evidence of the claim this conversation supports, else the ticket's own (a defence)."""
        claim = self.app.session.store.scalar(
            "SELECT c.claim_id FROM claims c, json_each(c.ticket_ids) j WHERE j.value = ?"
            " AND c.status IN ('pending', 'open', 'filed') ORDER BY c.deadline LIMIT 1", (self.ticket_id,))
        self.app.build_evidence(claim_id=claim, ticket_id=None if claim else self.ticket_id)

    def action_timeline(self) -> None:
        self.show_timeline = not self.show_timeline
        self.render_ticket(from_the_top=True)

    def action_reply(self, template: str | None = None) -> None:
        from deskterm.screens.composer import ComposerScreen

        self.app.push_screen(ComposerScreen(self.ticket_id, template), lambda _sent: self.render_ticket())

    def action_reply_template(self) -> None:
        self.app.push_screen(PromptScreen("Template (fuzzy name)"),
                             lambda name: name and self.action_reply(template=name))

    def action_note(self) -> None:
        actions = self.app.session.actions()
        self.app.push_screen(PromptScreen("Internal note"),
                             lambda text: text and self._act("note added", lambda: actions.note(self.ticket_id, text)))

    def action_tag(self) -> None:
        def apply(text: str | None) -> None:
            if not text:
                return
            words = text.split()
            add = [w.lstrip("+") for w in words if not w.startswith("-")]
            remove = [w[1:] for w in words if w.startswith("-")]
            self._act("tags changed", lambda: self.app.session.actions().tag(self.ticket_id, add, remove))

        self.app.push_screen(PromptScreen("Tags (+vip -later)"), apply)

    def action_take(self) -> None:
        session = self.app.session
        self._act(f"assigned to {session.agent}", lambda: session.actions().assign(self.ticket_id, session.agent))

    def action_assign(self) -> None:
        self.app.push_screen(PromptScreen("Assign to (empty: nobody)"), lambda name: name is not None and self._act(
            "assigned", lambda: self.app.session.actions().assign(self.ticket_id, name.strip() or None)))

    def action_snooze(self) -> None:
        session = self.app.session
        self.app.push_screen(PromptScreen("Snooze until (2h, 3d, tomorrow, ISO)"), lambda text: text and self._act(
            "snoozed", lambda: session.actions().snooze(self.ticket_id, parse_until(text, session.clock.now()))))

    def action_close(self) -> None:
        self._act("closed", lambda: self.app.session.actions().close(self.ticket_id))

    def action_save_attachments(self) -> None:
        """Only on this explicit key, into a folder the agent confirms; nothing is opened."""
        default = str(Path("~/Downloads").expanduser() / f"deskterm-ticket-{self.ticket_id}")

        def save(folder: str | None) -> None:
            if folder:
                self._act("attachments saved", lambda: self.app.session.actions().save_attachments(
                    self.ticket_id, Path(folder).expanduser()))

        self.app.push_screen(PromptScreen("Save this ticket's attachments into", default), save)

    def action_nrn(self) -> None:
        self.app.push_screen(PromptScreen("No response needed, because"), lambda why: why and self._act(
            "marked no response needed", lambda: self.app.session.actions().no_response_needed(self.ticket_id, why)))
