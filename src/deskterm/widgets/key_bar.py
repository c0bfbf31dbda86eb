"""The keys of what is on screen, in one line at the bottom: one widget, one line of text.

Textual's Footer mounts a widget per key and recomposes them all whenever the bindings change,
which for the queue is every time a ticket opens or closes: that recompose, CSS and all, was the
largest part of opening a ticket. This draws the same keys as one Text and only repaints.
A click on a key presses it, as in Textual's Footer.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


class KeyBar(Widget, can_focus=False):
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    KeyBar > .key-bar--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyBar > .key-bar--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    """
    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description"}

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self._keys: list[tuple[int, int, str, bool]] = []  # (first cell, end cell, key, enabled)

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        if screen is self.screen:
            self.refresh()

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-bar--key")
        description_style = self.get_component_rich_style("key-bar--description")
        line = Text(no_wrap=True, overflow="crop", end="")
        self._keys = []
        shown: set[str] = set()
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in shown:
                continue
            shown.add(binding.action)
            start, first = line.cell_len, len(line.plain)
            line.append(self.app.get_key_display(binding), key_style)
            line.append(f" {binding.description}", description_style)
            if not enabled:
                line.stylize("dim", first)
            self._keys.append((start, line.cell_len, binding.key, enabled))
            line.append(" ")
        return line

    def on_click(self, event: events.Click) -> None:
        for start, end, key, enabled in self._keys:
            if start <= event.x < end:
                if enabled:
                    self.app.simulate_key(key)
                else:
                    self.app.bell()
                return
