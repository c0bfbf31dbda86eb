"""ctrl+p: every action by name, for the screen in front and the app."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

ACTIONS = {  # name shown in the palette: (screen class name or None for any, action)
    "Search messages": (None, "app.search"),
    "Help: keys on this screen": (None, "app.help"),
    "Queue: cycle scope (open, mine, unassigned, all)": ("QueueScreen", "scope"),
    "Queue: cycle channel": ("QueueScreen", "channel"),
    "Queue: cycle lowest risk": ("QueueScreen", "risk"),
    "Queue: next saved view": ("QueueScreen", "view"),
    "Queue: reload": ("QueueScreen", "reload"),
    "Ticket: reply": ("ConversationScreen", "reply"),
    "Ticket: reply from a template": ("ConversationScreen", "reply_template"),
    "Ticket: internal note": ("ConversationScreen", "note"),
    "Ticket: tag": ("ConversationScreen", "tag"),
    "Ticket: take (assign to me)": ("ConversationScreen", "take"),
    "Ticket: assign": ("ConversationScreen", "assign"),
    "Ticket: snooze": ("ConversationScreen", "snooze"),
    "Ticket: close": ("ConversationScreen", "close"),
    "Ticket: no response needed": ("ConversationScreen", "nrn"),
    "Ticket: timeline / thread": ("ConversationScreen", "timeline"),
    "Ticket: save its attachments": ("ConversationScreen", "save_attachments"),
    "Undo the last reply": (None, "app.undo_reply"),
    "Quit": (None, "app.quit"),
}


class DesktermCommands(Provider):
    def _available(self) -> list[tuple[str, str]]:
        screen = self.app.screen_stack[-2] if len(self.app.screen_stack) > 1 else self.app.screen
        return [(name, action) for name, (where, action) in ACTIONS.items()
                if where is None or type(screen).__name__ == where]

    def _run(self, action: str) -> None:
        """Runs after the palette has closed, on whatever screen is then in front."""
        if action.startswith("app."):
            self.app.call_later(self.app.run_action, action.removeprefix("app."))
        else:
            self.app.call_later(lambda: self.app.screen.run_action(action))

    async def discover(self) -> Hits:
        for name, action in self._available():
            yield DiscoveryHit(name, partial(self._run, action))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action in self._available():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self._run, action))
