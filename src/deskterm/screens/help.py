"""`?`: the keys of the screen underneath, and the app's own, with what they do."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 80%; height: 80%; background: $panel; border: round $primary; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        """What the keys do right now: the screen's active bindings (as remapped by config), so a
        key that is off in this context (the queue's filters while a ticket is open) is not listed."""
        here: dict[str, tuple[list[str], Binding]] = {}
        everywhere: dict[str, tuple[list[str], Binding]] = {}
        for key, active in self.under.active_bindings.items():
            binding = active.binding
            if not active.enabled or binding.id is None:
                continue
            group = everywhere if active.node is self.app else here
            group.setdefault(binding.id, ([], binding))[0].append(self.app.get_key_display(binding))
        text = Text("Keys on this screen\n\n", style="bold")
        self._list(text, here)
        text.append("\nEverywhere\n\n", style="bold")
        self._list(text, everywhere)
        text.append(f"  {'ctrl+p':<16}", style="bold")
        text.append("every action by name\n")
        text.append("\nKeys can be remapped in config.toml under [keys], by binding id, e.g. "
                    "\"conversation.reply\" = \"R\".\n", style="dim")
        yield VerticalScroll(Static(text, markup=False))

    @staticmethod
    def _list(text: Text, bindings: dict[str, tuple[list[str], Binding]]) -> None:
        for keys, binding in bindings.values():
            text.append(f"  {','.join(keys):<16}", style="bold")
            text.append(binding.description + (f"  {binding.tooltip}" if binding.tooltip else "") + "\n")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
