"""The home screen: the queue, with filters a key away and a status line."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from deskterm.triage.queue import CHANNELS, QueueFilter, QueuePager
from deskterm.triage.rules import LEVELS
from deskterm.views import channel_states, outbound_queued
from deskterm.widgets.conversation_view import ConversationView
from deskterm.widgets.key_bar import KeyBar
from deskterm.widgets.queue_list import QueueList
from deskterm.widgets.status_line import StatusLine

_SCOPES = ("open", "mine", "unassigned", "all")
_QUEUE_ACTIONS = {"scope", "channel", "risk", "view", "reload"}


class QueueScreen(Screen[None]):
    BINDINGS = [
        Binding("f", "scope", "Scope", tooltip="open → mine → unassigned → all tickets", id="queue.scope"),
        Binding("c", "channel", "Channel", tooltip="Cycle the channel filter", id="queue.channel"),
        Binding("r", "risk", "Risk", tooltip="Cycle the lowest risk shown", id="queue.risk"),
        Binding("v", "view", "View", tooltip="Cycle the saved views of config.toml [views]", id="queue.view"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="queue.reload"),
        Binding("q", "app.quit", "Quit", id="queue.quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.scope = "open"
        self.channel: str | None = None
        self.risk: str | None = None
        self.view: str | None = None
        self._conversation: ConversationView | None = None
        """Kept, not queried: the key bar asks `ticket_open` five times a repaint, and a DOM query
        for it was half of the key bar's time."""

    def compose(self) -> ComposeResult:
        session = self.app.session
        yield Static(id="title", markup=False)  # view names come from config.toml: never markup
        yield QueueList(QueuePager(session.store, self._filter(), session.clock.now()), session.clock, id="queue")
        self._conversation = ConversationView(id="conversation")
        yield self._conversation
        yield StatusLine(id="status")
        yield KeyBar()  # fits 80 columns; ctrl+p is in `?`

    def on_mount(self) -> None:
        self._show_title(self.query_one(QueueList).pager.known)
        self._show_status()
        self.set_interval(30, self.query_one(QueueList).refresh)  # the countdowns, twice a minute
        self._mounted = True

    def _filter(self) -> QueueFilter:
        agent = self.app.session.agent
        return QueueFilter(everything=self.scope == "all", channel=self.channel, risk=self.risk,
                           assignee=agent if self.scope == "mine" else None, unassigned=self.scope == "unassigned")

    def _show_title(self, count: int | None = None) -> None:
        self.query_one("#title", Static).update(
            (f"deskterm · view {self.view} · " if self.view else "deskterm · ")
            + f"{self.scope} · {self.channel or 'all channels'} · {self.risk or 'any'} risk and up · "
            + (f"{count:,} tickets" if count is not None else "counting…"))

    def on_queue_list_counted(self, message: QueueList.Counted) -> None:
        if message.generation == self.query_one(QueueList).generation:
            self._show_title(message.count)

    def _apply(self) -> None:
        queue = self.query_one(QueueList)
        queue.pager.reset(self._filter())
        queue.reload()
        self._show_title(queue.pager.known)

    def _show_status(self) -> None:
        session = self.app.session
        self.query_one(StatusLine).show(channel_states(session.store, session.config), outbound_queued(session.store))

    def store_changed(self) -> None:
        """New messages or another agent's action: repaint without moving the agent's cursor."""
        self._apply()
        self._show_status()
        conversation = self.query_one(ConversationView)
        if conversation.display:
            conversation.render_ticket()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The queue's filters neither work nor show in the footer while a ticket is open."""
        return not (action in _QUEUE_ACTIONS and self.ticket_open)

    @property
    def ticket_open(self) -> bool:
        return self._conversation is not None and self._conversation.display  # asked before compose, too

    def open_ticket(self, ticket_id: int, message_id: str | None = None) -> None:
        """Show the ticket in place of the list (the list keeps its place for the way back)."""
        conversation = self.query_one(ConversationView)
        conversation.show(ticket_id, message_id)
        self.query_one(QueueList).display = False
        conversation.display = True
        conversation.focus()
        self.refresh_bindings()

    def close_ticket(self) -> None:
        queue = self.query_one(QueueList)
        self.query_one(ConversationView).display = False
        queue.display = True
        queue.focus()
        self.refresh_bindings()
        self.store_changed()  # the ticket may have left the queue

    def on_screen_resume(self) -> None:
        if getattr(self, "_mounted", False):  # back from search or help: something may have changed
            self.store_changed()

    def on_queue_list_opened(self, message: QueueList.Opened) -> None:
        self.open_ticket(message.ticket_id)

    def action_scope(self) -> None:
        self.view = None
        self.scope = _SCOPES[(_SCOPES.index(self.scope) + 1) % len(_SCOPES)]
        self._apply()

    def action_channel(self) -> None:
        self.view = None
        order = (None, *CHANNELS)
        self.channel = order[(order.index(self.channel) + 1) % len(order)]
        self._apply()

    def action_risk(self) -> None:
        self.view = None
        order = (None, *reversed(LEVELS[1:]))
        self.risk = order[(order.index(self.risk) + 1) % len(order)]
        self._apply()

    def action_view(self) -> None:
        views = self.app.session.config.views
        order = (None, *views)
        self.view = order[(order.index(self.view) + 1) % len(order)] if self.view in order else None
        saved = views.get(self.view, {}) if self.view else {}
        self.scope, self.channel, self.risk = saved.get("scope", "open"), saved.get("channel"), saved.get("risk")
        self._apply()

    def action_reload(self) -> None:
        self.store_changed()
