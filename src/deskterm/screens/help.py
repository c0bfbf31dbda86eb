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
        text = Text("Keys on this screen\n\n", style="bold")
        seen = set()
        for node in [self.under, *(node for node in self.under.query("*") if node.display)]:
            for binding in getattr(node, "BINDINGS", []):
                if not isinstance(binding, Binding) or binding.id in seen:
                    continue
                seen.add(binding.id)
                keys = self.app.get_key_display(binding) if binding.key else ""
                text.append(f"  {keys:<16}", style="bold")
                text.append(f"{binding.description}  {binding.tooltip}\n")
        text.append("\nEverywhere\n\n", style="bold")
        text.append("  /               search\n  ?               this help\n  ctrl+p          every action by name\n"
                    "  ctrl+q          quit\n")
        text.append("\nKeys can be remapped in config.toml under [keys], by binding id, e.g. "
                    "\"conversation.reply\" = \"R\".\n", style="dim")
        yield VerticalScroll(Static(text, markup=False))

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
