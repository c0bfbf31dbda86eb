"""Widgets whose look does not change with focus, so Textual need not restyle them when it moves."""

from __future__ import annotations


class FocusUnstyled:
    """Mixed in before the Textual widget class, this skips the restyle Textual runs on a widget
    and everything inside it each time the widget gains or loses focus, in case a `:focus` rule
    applies to them. No rule applies to these widgets, neither deskterm's nor Textual's.
    Opening a ticket moves focus from the queue (11 component classes) to the conversation
    (7 widgets). At 100,000 tickets the two restyles took 13 of the 34 ms from Enter to the
    painted ticket. `tests/test_tui.py` checks that restyling changes nothing on these widgets.
    """

    def watch_has_focus(self, _has_focus: bool) -> None:
        """Nothing to restyle (see the class)."""
