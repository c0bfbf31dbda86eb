"""The status line: each channel's sync state and the replies waiting to go out."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from deskterm.sanitize import one_line


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """

    def show(self, channels: dict[str, dict], queued: int, note: str = "") -> None:
        """Plain text only: channel names and errors come from config and servers."""
        text = Text()
        for name, state in channels.items():
            mark = "✗" if state["last_error"] else ("✓" if state["last_success"] else "·")
            when = (state["last_success"] or "never")[5:16].replace("T", " ")
            text.append(f"{one_line(name)} {mark} {when}  ", style="bold red" if state["last_error"] else "")
        if not channels:
            text.append("no channels configured  ")
        text.append(f"{queued} outbound queued", style="bold" if queued else "")
        if note:
            text.append(f"  ·  {one_line(note)}")
        self.update(text)
