"""ctrl+p: every action by name, for the screen in front and the app."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

ACTIONS = {  # name shown in the palette: (where: None anywhere, "queue" on the list, "ticket" in a ticket,
    # "claims" on the claims screen; action)
    "Search messages": (None, "app.search"),
    "Help: keys on this screen": (None, "app.help"),
    "Queue: cycle scope (open, mine, unassigned, all)": ("queue", "scope"),
    "Queue: cycle channel": ("queue", "channel"),
    "Queue: cycle lowest risk": ("queue", "risk"),
    "Queue: next saved view": ("queue", "view"),
    "Queue: reload": ("queue", "reload"),
    "Ticket: reply": ("ticket", "reply"),
    "Ticket: reply from a template": ("ticket", "reply_template"),
    "Ticket: internal note": ("ticket", "note"),
    "Ticket: tag": ("ticket", "tag"),
    "Ticket: take (assign to me)": ("ticket", "take"),
    "Ticket: assign": ("ticket", "assign"),
    "Ticket: snooze": ("ticket", "snooze"),
    "Ticket: close": ("ticket", "close"),
    "Ticket: no response needed": ("ticket", "nrn"),
    "Ticket: timeline / thread": ("ticket", "timeline"),
    "Ticket: save its attachments": ("ticket", "save_attachments"),
    "Ticket: evidence folder (its claim, or an A-to-z defence)": ("ticket", "evidence"),
    "Ticket: back to the queue": ("ticket", "close_ticket"),
    "Claims: reimbursement claims by deadline": (None, "app.claims"),
    "Claim: build its evidence folder": ("claims", "evidence"),
    "Claim: mark filed (case id)": ("claims", "file"),
    "Claim: mark paid": ("claims", "paid"),
    "Claim: dismiss": ("claims", "dismiss"),
    "Claim: open its conversation": ("claims", "open_ticket"),
    "Claims: every status / pending and open": ("claims", "toggle_all"),
    "Claims: scan the store again": ("claims", "rescan"),
    "Undo the last reply": (None, "app.undo_reply"),
    "Quit": (None, "app.quit"),
}


def _place(screen: object) -> str | None:
    """Where the agent is: on the queue's list, in a ticket, on the claims, or elsewhere (search, help)."""
    if type(screen).__name__ == "ClaimsScreen":
        return "claims"
    if type(screen).__name__ != "QueueScreen":
        return None
    return "ticket" if screen.ticket_open else "queue"


class DesktermCommands(Provider):
    def _available(self) -> list[tuple[str, str]]:
        screen = self.app.screen_stack[-2] if len(self.app.screen_stack) > 1 else self.app.screen
        place = _place(screen)
        return [(name, action) for name, (where, action) in ACTIONS.items() if where is None or where == place]

    def _run(self, action: str) -> None:
        """Runs after the palette has closed, on whatever is then in front."""
        if action.startswith("app."):
            self.app.call_later(self.app.run_action, action.removeprefix("app."))
        else:
            self.app.call_later(self._on_front, action)

    async def _on_front(self, action: str) -> None:
        screen = self.app.screen
        target = screen.query_one("#conversation") if _place(screen) == "ticket" else screen
        await target.run_action(action)

    async def discover(self) -> Hits:
        for name, action in self._available():
            yield DiscoveryHit(name, partial(self._run, action))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action in self._available():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self._run, action))
