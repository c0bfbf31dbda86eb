"""The queue as a Line API list: one painted line per ticket, read a page at a time from SQLite.

A widget per row (ListView) or an in-memory table (DataTable) takes seconds at 100,000 rows
(research/tech.md §2.1); this paints only the visible lines and asks `QueuePager` for them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from deskterm.clock import Clock
from deskterm.sanitize import one_line
from deskterm.triage.queue import QueuePager
from deskterm.widgets.focus import FocusUnstyled

BADGES = {"critical": "CRIT", "high": "HIGH", "medium": "MED ", "low": "low "}


def sla_text(due: str | None, now: dt.datetime) -> tuple[str, str]:
    """The countdown and its component class: ok, soon (under 4 h), late (under 1 h), overdue."""
    if not due:
        return "", "queue--dim"
    seconds = int((dt.datetime.fromisoformat(due.replace("Z", "+00:00")) - now).total_seconds())
    span = abs(seconds)
    days, rest = divmod(span, 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    # At most 10 cells ("LATE 9d23h", "LATE 104d"): the column never runs into the next one.
    text = f"{days}d" if days >= 10 else f"{days}d{hours:02d}h" if days else f"{hours}h{minutes:02d}m"
    if seconds < 0:
        return f"LATE {text}", "queue--overdue"
    return text, "queue--late" if seconds < 3600 else "queue--soon" if seconds < 4 * 3600 else "queue--ok"


def age_text(since: str | None, now: dt.datetime) -> str:
    if not since:
        return ""
    seconds = max(0, int((now - dt.datetime.fromisoformat(since.replace("Z", "+00:00"))).total_seconds()))
    if seconds >= 86400:
        return f"{seconds // 86400}d"
    return f"{seconds // 3600}h" if seconds >= 3600 else f"{seconds // 60}m"


class QueueList(FocusUnstyled, ScrollView, can_focus=True):
    """Tickets in queue order with a cursor; Enter opens one."""

    COMPONENT_CLASSES = {
        "queue--cursor", "queue--critical", "queue--high", "queue--medium", "queue--low",
        "queue--overdue", "queue--late", "queue--soon", "queue--ok", "queue--dim", "queue--claim",
    }
    DEFAULT_CSS = """
    QueueList { height: 1fr; }
    QueueList > .queue--cursor { background: $accent 40%; text-style: bold; }
    QueueList > .queue--critical { color: $error; text-style: bold reverse; }
    QueueList > .queue--high { color: $error; text-style: bold; }
    QueueList > .queue--medium { color: $warning; }
    QueueList > .queue--low { color: $text-muted; }
    QueueList > .queue--overdue { color: $error; text-style: bold reverse; }
    QueueList > .queue--late { color: $error; text-style: bold; }
    QueueList > .queue--soon { color: $warning; }
    QueueList > .queue--ok { color: $success; }
    QueueList > .queue--dim { color: $text-muted; }
    QueueList > .queue--claim { color: $success; text-style: bold; }
    """
    BINDINGS = [
        Binding("j,down", "cursor(1)", "Down", show=False, id="queue.down"),
        Binding("k,up", "cursor(-1)", "Up", show=False, id="queue.up"),
        Binding("pagedown,space", "page(1)", "Page down", show=False, id="queue.page_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="queue.page_up"),
        Binding("g,home", "jump(0)", "First", show=False, id="queue.first"),
        Binding("G,end", "jump(-1)", "Last", show=False, id="queue.last"),
        Binding("enter", "open", "Open", id="queue.open"),
        Binding("C", "app.claims", "Claims", id="queue.claims"),
    ]

    cursor: reactive[int] = reactive(0, repaint=False)
    """Index of the highlighted ticket in the queue."""

    class Opened(Message):
        """The agent asked to open a ticket."""

        def __init__(self, ticket_id: int) -> None:
            super().__init__()
            self.ticket_id = ticket_id

    def __init__(self, pager: QueuePager, clock: Clock, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pager = pager
        self.clock = clock
        self.generation = 0
        """Bumped by every reload, so a late count for an older filter is ignored."""
        self._styles: dict[str, Style] = {}
        """This frame's styles by component name ("" for the widget's own), looked up once a frame."""

    class Counted(Message):
        """The queue's length is known (counted in a worker)."""

        def __init__(self, count: int, generation: int) -> None:
            super().__init__()
            self.count = count
            self.generation = generation

    def reload(self) -> None:
        """Read the queue again (new messages, another filter), painting the first page at once
        and counting the rest in a worker: at a million tickets the count takes longer than a frame."""
        self.pager.reset(now=self.clock.now())
        self.generation += 1
        first_page = self.pager.first_page()
        if len(first_page) < self.pager.PAGE:  # all of it: no need to count
            self.pager.known_count(len(first_page))
        estimate = len(first_page) if len(first_page) < self.pager.PAGE else max(self.virtual_size.height,
                                                                                 len(first_page))
        self.virtual_size = Size(self.size.width, estimate)
        self.cursor = min(self.cursor, max(estimate - 1, 0))
        self.refresh()
        if len(first_page) == self.pager.PAGE:
            self.count_queue(self.generation)

    @work(thread=True, exclusive=True, group="count")
    def count_queue(self, generation: int) -> None:
        from deskterm.store import Store

        with Store(self.pager.store.path, self.pager.store.clock) as store:
            count = self.pager.count_with(store)
        self.post_message(self.Counted(count, generation))

    def on_queue_list_counted(self, message: Counted) -> None:
        if message.generation != self.generation:
            return  # counted for a filter that has changed since
        self.pager.known_count(message.count)
        self.virtual_size = Size(self.size.width, message.count)
        self.cursor = min(self.cursor, max(message.count - 1, 0))
        self.refresh()

    def on_mount(self) -> None:
        self.reload()

    @property
    def length(self) -> int:
        """Tickets known so far (the exact count once the worker has reported)."""
        return self.virtual_size.height

    @property
    def ticket_id(self) -> int | None:
        row = self.pager.row(self.cursor)
        return row["id"] if row is not None else None

    def watch_cursor(self, old: int, new: int) -> None:
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False)
        for index in (old, new):
            self.refresh_line(index)  # two lines repainted, not the screen: it matters over SSH

    def action_cursor(self, step: int) -> None:
        self.cursor = max(0, min(self.cursor + step, self.length - 1))

    def action_page(self, step: int) -> None:
        self.action_cursor(step * max(1, self.scrollable_content_region.height - 1))

    def action_jump(self, where: int) -> None:
        self.cursor = max(0, self.pager.count() - 1) if where < 0 else 0  # the end needs the exact count

    def action_open(self) -> None:
        if self.ticket_id is not None:
            self.post_message(self.Opened(self.ticket_id))

    def render_lines(self, crop: Region) -> list[Strip]:
        # A jump or a page repaints every line; looking each style up through the DOM for each
        # line cost 6 of the 43 ms of CPU such a frame took.
        self._styles.clear()
        return super().render_lines(crop)

    def _style(self, component: str) -> Style:
        found = self._styles.get(component)
        if found is None:
            found = self._styles[component] = (self.get_component_rich_style(component) if component
                                               else self.rich_style)
        return found

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.size.width
        row = self.pager.row(index)
        if row is None:
            return Strip.blank(width, self._style(""))
        base = self._style("queue--cursor" if index == self.cursor else "")
        return Strip(self._segments(row, base), width).crop_extend(0, width, base)

    def _segments(self, row: Any, base: Style) -> list[Segment]:
        now = self.clock.now()
        sla, sla_class = sla_text(row["sla_due"], now)
        style = self._style
        customer = set_cell_size(one_line(row["customer"] or ""), 16)  # cells, not characters: CJK names
        subject = one_line(row["subject"] or "")
        order = row["order_id"] or ""
        wide = self.size.width >= 110
        return [
            Segment(f"{row['id']:>7} ", base),
            Segment(BADGES.get(row["risk"], "    "), base + style(f"queue--{row['risk']}")),
            Segment(" ", base),
            Segment(set_cell_size(sla, 11), base + style(sla_class)),
            Segment(" ", base),
            Segment(f"{row['channel'][:7]:<7} {(row['marketplace'] or '')[:2]:<2} ", base),
            Segment(customer + " ", base),
            Segment(f"{order:<20}" if wide else "", base + style("queue--dim")),
            Segment(f"{age_text(row['sla_started_at'] or row['created_at'], now):>4} ", base + style("queue--dim")),
            Segment("$ " if row["claim_badge"] else "", base + style("queue--claim")),  # money to claim
            Segment(subject, base),
        ]
