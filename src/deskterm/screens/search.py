"""`/`: search every message with the query language; Enter opens the ticket at that message."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from deskterm.sanitize import one_line
from deskterm.widgets.key_bar import KeyBar

LIMIT = 50


def highlighted(snippet: str) -> Text:
    """A snippet whose **marked** words are shown bold: plain text in, styled text out, no markup."""
    text = Text()
    for number, part in enumerate(one_line(snippet).split("**")):
        text.append(part, style="bold reverse" if number % 2 else "")
    return text


class SearchScreen(Screen[None]):
    DEFAULT_CSS = """
    SearchScreen OptionList { height: 1fr; }
    SearchScreen #summary { height: 1; color: $text-muted; padding: 0 1; }
    """
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="search.back")]

    def compose(self) -> ComposeResult:
        yield Input(placeholder='words "a phrase" from: order: tag: risk: is:unanswered date:2w..  (Enter)',
                    id="query")
        yield Static(id="summary", markup=False)
        yield OptionList(id="results")
        yield KeyBar()  # fits 80 columns; ctrl+p is in `?`

    def on_screen_resume(self) -> None:
        self.edit_query()

    def edit_query(self) -> None:
        """Back to the query, text selected, so typing replaces it."""
        query = self.query_one(Input)
        query.focus()
        query.select_all()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.query_one("#summary", Static).update("searching…")
            self.run_search(event.value)

    @work(thread=True, exclusive=True, group="search")
    def run_search(self, text: str) -> None:
        """In a thread, with its own connection: the index may need to catch up first."""
        from deskterm.index import SearchIndex
        from deskterm.index.query import QueryError
        from deskterm.store import Store

        session = self.app.session
        with Store(session.workspace.database, session.clock) as store:
            try:
                hits = SearchIndex(session.workspace.index_dir, store).search(text, session.clock.now(), limit=LIMIT)
            except QueryError as exc:
                self.app.call_from_thread(self.show, [], f"query: {exc}")
                return
        self.app.call_from_thread(self.show, hits, f"{len(hits)} messages" + (" (the newest)" if len(hits) == LIMIT else ""))

    def show(self, hits: list[dict], summary: str) -> None:
        self.hits = hits
        self.query_one("#summary", Static).update(one_line(summary))
        results = self.query_one(OptionList)
        results.clear_options()
        for number, hit in enumerate(hits):
            head = Text(one_line(f"{(hit['sent_at'] or '')[:16].replace('T', ' ')}  #{hit['ticket_id']}  "
                                 f"{hit['channel']}  {hit['sender'] or ''}  {hit['subject'] or ''}")[:160], style="bold")
            results.add_option(Option(head + "\n  " + highlighted(hit["snippet"] or "")[:300], id=str(number)))
        if hits:
            results.highlighted = 0
            results.focus()

    @on(OptionList.OptionSelected)
    def open_hit(self, event: OptionList.OptionSelected) -> None:
        hit = self.hits[int(event.option.id)]
        self.app.open_ticket(hit["ticket_id"], hit["message_id"])
