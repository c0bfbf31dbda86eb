"""`deskterm claims ...`: find reimbursement claims, list them by deadline, and record what the
seller did with each (the same `ClaimBook` the Claims screen uses)."""

from __future__ import annotations

from typing import Any

import click

from deskterm.reconcile.book import ALL_STATUSES, list_claims
from deskterm.reconcile.policy import KINDS
from deskterm.sanitize import one_line


def register(cli: click.Group) -> None:
    from deskterm.cli import Session, json_option, pass_session

    @cli.group("claims")
    def claims() -> None:
        """FBA reimbursement claims: scan, list, show, file, paid, dismiss."""

    @claims.command("scan")
    @json_option
    @pass_session
    def scan_command(session: Session) -> None:
        """Find every claim in the store and update the ones found before."""
        outcome = session.scan_claims()
        if session.json_output:
            session.emit(outcome.as_json())
            return
        session.say(f"found {outcome.found}, updated {outcome.updated}, expired {outcome.expired}, "
                    f"resolved {outcome.resolved}, reopened {outcome.reopened}, unchanged {outcome.unchanged}")
        totals = ", ".join(f"{amount} {currency}" for currency, amount in outcome.recoverable.items())
        session.say(f"recoverable (pending and open): {totals or 'nothing'}")
        for line in outcome.not_dated:
            session.say(f"not claimable yet, no delivery date: {one_line(line)}")

    @claims.command("list")
    @click.option("--all", "everything", is_flag=True, help="Filed, paid, dismissed and expired claims too.")
    @click.option("--kind", "kinds", multiple=True, type=click.Choice(KINDS))
    @click.option("--status", "statuses", multiple=True, type=click.Choice(ALL_STATUSES))
    @click.option("--marketplace", help="A marketplace code: US, UK, DE, ...")
    @json_option
    @pass_session
    def list_command(session: Session, everything: bool, kinds: tuple[str, ...], statuses: tuple[str, ...],
                     marketplace: str | None) -> None:
        """Pending and open claims, the nearest deadline first."""
        rows = list_claims(session.store, session.clock.now().date(), everything=everything, kinds=kinds,
                           statuses=statuses, marketplace=marketplace.upper() if marketplace else None)
        if session.json_output:
            session.emit(rows)
            return
        if not rows:
            session.say("no claims" + ("" if everything else " pending or open (--all shows the others)"))
        for claim in rows:
            session.say(_line(claim))

    @claims.command("show")
    @click.argument("claim_id")
    @json_option
    @pass_session
    def show_command(session: Session, claim_id: str) -> None:
        """One claim with the reasons and rows behind it."""
        claim = session.claim_book().get(claim_id, session.clock.now().date())
        if session.json_output:
            session.emit(claim)
            return
        session.say(_line(claim))
        for key in ("event_date", "window_opens", "deadline", "order_id", "shipment_id", "sku", "fnsku", "asin",
                    "unit_value", "case_id", "filed_at", "paid_amount", "paid_at", "closed_reason"):
            if claim.get(key):
                session.say(f"  {key.replace('_', ' '):<13} {one_line(str(claim[key]))}")
        if claim["ticket_ids"]:
            session.say(f"  tickets       {', '.join(f'#{t}' for t in claim['ticket_ids'])}")
        for reason in claim["reasons"]:
            session.say(f"  · {one_line(reason)}")

    @claims.command("file")
    @click.argument("claim_id")
    @click.option("--case-id", required=True, help="Amazon's case id for the claim.")
    @click.option("--force", is_flag=True, help="File a claim whose window is not open, or has closed.")
    @json_option
    @pass_session
    def file_command(session: Session, claim_id: str, case_id: str, force: bool) -> None:
        """Record that the claim was filed with Amazon."""
        claim = session.claim_book().file(claim_id, case_id, session.clock.now().date(), force)
        _done(session, claim, f"claim {claim['claim_id']} filed, case {one_line(case_id)}")

    @claims.command("paid")
    @click.argument("claim_id")
    @click.option("--amount", required=True, help="What Amazon paid, in the claim's currency.")
    @json_option
    @pass_session
    def paid_command(session: Session, claim_id: str, amount: str) -> None:
        """Record what Amazon paid for the claim."""
        claim = session.claim_book().paid(claim_id, amount, session.clock.now().date())
        _done(session, claim, f"claim {claim['claim_id']} paid {claim['paid_amount']} {claim['currency'] or ''}")

    @claims.command("dismiss")
    @click.argument("claim_id")
    @click.option("--reason", required=True, help="Why it will not be filed.")
    @json_option
    @pass_session
    def dismiss_command(session: Session, claim_id: str, reason: str) -> None:
        """Set a claim aside, with the reason; a scan does not bring it back."""
        claim = session.claim_book().dismiss(claim_id, reason, session.clock.now().date())
        _done(session, claim, f"claim {claim['claim_id']} dismissed")


def _done(session: Any, claim: dict[str, Any], text: str) -> None:
    if session.json_output:
        session.emit(claim)
    else:
        session.say(text)


def _line(claim: dict[str, Any]) -> str:
    left = claim["days_left"]
    when = "" if left is None else f"{left}d left" if left >= 0 else f"{-left}d ago"
    subject = claim["order_id"] or claim["shipment_id"] or claim["fnsku"] or ""
    amount = f"{claim['amount']} {claim['currency']}" if claim["amount"] else "no value"
    return one_line(f"{claim['claim_id']:<15} {claim['kind']:<24} {claim['status']:<9} {claim['deadline']} "
                    f"{when:>9}  {claim['quantity']:>3} × {claim['sku'] or claim['fnsku'] or '?':<14} "
                    f"{amount:>14}  {claim['marketplace'] or '':<2} {subject}")
