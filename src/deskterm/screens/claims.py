"""The claims, nearest deadline first, with days left coloured and the seller's steps a key away.

Claims are few (hundreds, not millions), so a DataTable holds them all. Every cell is a Text built
from sanitized strings: a SKU or an order id from a report file is never read as markup.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from deskterm.errors import UserError
from deskterm.reconcile.book import list_claims
from deskterm.sanitize import one_line
from deskterm.screens.prompt import PromptScreen
from deskterm.widgets.key_bar import KeyBar

COLUMNS = ("days left", "deadline", "kind", "status", "units", "amount", "SKU / FNSKU", "order / shipment", "mkt")


def days_left(claim: dict[str, Any]) -> Text:
    """Words first, colour second: `5d LEFT` reads the same in a terminal without colours."""
    left = claim["days_left"]
    if claim["status"] == "expired":
        return Text("expired", style="dim strike")
    if claim["status"] == "pending":
        return Text(f"opens {claim['window_opens'][5:]}", style="dim")
    if claim["status"] != "open" or left is None:
        return Text("-", style="dim")
    style = "bold reverse red" if left <= 3 else "bold red" if left <= 7 else "yellow" if left <= 21 else "green"
    return Text(f"{left}d left", style=style)


class ClaimsScreen(Screen[None]):
    DEFAULT_CSS = """
    ClaimsScreen #claims-title { height: 1; background: $primary-darken-2; padding: 0 1; }
    ClaimsScreen DataTable { height: 2fr; }
    ClaimsScreen #claim-detail { height: 1fr; padding: 0 1; border-top: solid $primary; overflow-y: auto; }
    """
    BINDINGS = [
        Binding("escape,q", "back", "Back", id="claims.back"),
        Binding("enter", "open_ticket", "Ticket", id="claims.ticket"),
        Binding("e", "evidence", "Evidence", id="claims.evidence"),
        Binding("f", "file", "Filed", id="claims.file"),
        Binding("p", "paid", "Paid", id="claims.paid"),
        Binding("d", "dismiss", "Dismiss", id="claims.dismiss"),
        Binding("a", "toggle_all", "All", tooltip="Pending and open, or every status", id="claims.all"),
        Binding("s", "rescan", "Rescan", id="claims.rescan"),
        Binding("j", "cursor(1)", "Down", show=False, id="claims.down"),
        Binding("k", "cursor(-1)", "Up", show=False, id="claims.up"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.everything = False
        self.claims: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Static(id="claims-title", markup=False)
        yield DataTable(cursor_type="row", zebra_stripes=True, id="claims")
        yield Static(id="claim-detail", markup=False)
        yield KeyBar()  # fits 80 columns; ctrl+p is in `?`

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)
        self.store_changed()

    def store_changed(self) -> None:
        session = self.app.session
        table = self.query_one(DataTable)
        keep = self.current["claim_id"] if self.current else None
        self.claims = list_claims(session.store, session.clock.now().date(), everything=self.everything)
        table.clear()
        for claim in self.claims:
            amount = f"{claim['amount']} {claim['currency']}" if claim["amount"] else "no value"
            table.add_row(days_left(claim), Text(claim["deadline"] or ""), Text(claim["kind"]), Text(claim["status"]),
                          Text(str(claim["quantity"]), justify="right"), Text(amount, justify="right"),
                          Text(one_line(claim["sku"] or claim["fnsku"] or "")),
                          Text(one_line(claim["order_id"] or claim["shipment_id"] or "")),
                          Text(claim["marketplace"] or ""), key=claim["claim_id"])
        rows = [c["claim_id"] for c in self.claims]
        if keep in rows:
            table.move_cursor(row=rows.index(keep), animate=False)
        totals: dict[str, float] = {}
        for claim in self.claims:
            if claim["amount"] and claim["status"] in ("pending", "open"):
                totals[claim["currency"]] = totals.get(claim["currency"], 0) + float(claim["amount"])
        money = ", ".join(f"{total:,.2f} {currency}" for currency, total in sorted(totals.items()))
        self.query_one("#claims-title", Static).update(
            f"Claims · {'every status' if self.everything else 'pending and open'} · {len(self.claims)} · "
            f"recoverable {money or 'nothing'}")
        self._show_detail()

    @property
    def current(self) -> dict[str, Any] | None:
        table = self.query_one(DataTable)
        if not self.claims or table.cursor_row is None or table.cursor_row >= len(self.claims):
            return None
        return self.claims[table.cursor_row]

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open_ticket()  # the table takes Enter itself

    def _show_detail(self) -> None:
        claim = self.current
        text = Text()
        if claim is None:
            text.append("No claims here. `a` shows every status; `s` scans the store again.")
        else:
            text.append(one_line(f"{claim['claim_id']} · {claim['kind']} · {claim['status']} · window "
                                 f"{claim['window_opens']} to {claim['deadline']}") + "\n", style="bold")
            for key in ("case_id", "paid_amount", "closed_reason"):
                if claim.get(key):
                    text.append(one_line(f"{key.replace('_', ' ')}: {claim[key]}") + "\n")
            if claim["ticket_ids"]:
                text.append(one_line("tickets: " + ", ".join(f"#{t}" for t in claim["ticket_ids"])
                                     + " (Enter opens the first)") + "\n")
            for reason in claim["reasons"]:
                text.append(one_line(f"· {reason}") + "\n")
        self.query_one("#claim-detail", Static).update(text)

    # -- actions ---------------------------------------------------------------------------------
    def action_back(self) -> None:
        self.app.pop_screen()

    def action_cursor(self, step: int) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=max(0, table.cursor_row + step), animate=False)

    def action_toggle_all(self) -> None:
        self.everything = not self.everything
        self.store_changed()

    def action_open_ticket(self) -> None:
        claim = self.current
        if claim and claim["ticket_ids"]:
            self.app.open_ticket(claim["ticket_ids"][0])
        elif claim:
            self.notify("no conversation is linked to this claim", severity="warning")

    def action_file(self) -> None:
        self._ask("Amazon case id (the claim was filed)", lambda book, claim, today, answer:
                  book.file(claim["claim_id"], answer, today), "filed")

    def action_paid(self) -> None:
        self._ask("Amount Amazon paid", lambda book, claim, today, answer:
                  book.paid(claim["claim_id"], answer, today), "marked paid")

    def action_dismiss(self) -> None:
        self._ask("Why is it not filed?", lambda book, claim, today, answer:
                  book.dismiss(claim["claim_id"], answer, today), "dismissed")

    def _ask(self, question: str, step, done: str) -> None:
        claim = self.current
        if claim is None:
            return

        def answered(answer: str | None) -> None:
            if not answer:
                return
            session = self.app.session
            try:
                step(session.claim_book(), claim, session.clock.now().date(), answer)
            except UserError as exc:
                self.notify(one_line(str(exc)), title="refused", severity="error", timeout=8, markup=False)
                return
            self.notify(f"{claim['claim_id']} {done}", markup=False)
            self.store_changed()

        self.app.push_screen(PromptScreen(question), answered)

    def action_evidence(self) -> None:
        claim = self.current
        if claim is not None:
            self.app.build_evidence(claim_id=claim["claim_id"])

    def action_rescan(self) -> None:
        self.notify("scanning the store for claims…")
        self._rescan()

    @work(thread=True, exclusive=True, group="claims-scan")
    def _rescan(self) -> None:
        from deskterm.reconcile.policy import Policy
        from deskterm.reconcile.scan import scan
        from deskterm.store import Store

        session = self.app.session
        with Store(session.workspace.database, session.clock) as store:
            outcome = scan(store, session.clock, Policy.from_config(session.config.claims),
                           session.triage_engine().rules)
        self.app.call_from_thread(self._scanned, outcome)

    def _scanned(self, outcome) -> None:
        self.notify(f"found {outcome.found}, updated {outcome.updated}, expired {outcome.expired}, "
                    f"resolved {outcome.resolved}", markup=False)
        self.store_changed()
