"""The claims as the seller works them: list, show, and the three steps a person takes (filed with
Amazon's case id, paid, dismissed). The CLI and the Claims screen both go through here; every step
is audit-logged."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from deskterm.errors import UserError
from deskterm.store import Store

OPEN_STATUSES = ("pending", "open")
ALL_STATUSES = ("pending", "open", "filed", "paid", "dismissed", "expired")


def as_document(row: Any, today: dt.date) -> dict[str, Any]:
    """A claim in DESIGN.md's `claims list --json` shape, plus the seller's steps and days left."""
    claim = {key: row[key] for key in row.keys()}
    claim["reasons"] = json.loads(claim["reasons"])
    claim["ticket_ids"] = json.loads(claim["ticket_ids"])
    claim["sources"] = json.loads(claim["sources"])
    claim["days_left"] = (dt.date.fromisoformat(claim["deadline"]) - today).days if claim["deadline"] else None
    return claim


def list_claims(store: Store, today: dt.date, *, everything: bool = False, kinds: tuple[str, ...] = (),
                statuses: tuple[str, ...] = (), marketplace: str | None = None) -> list[dict[str, Any]]:
    """Pending and open claims (every status with `everything`), the nearest deadline first."""
    wanted = statuses or (ALL_STATUSES if everything else OPEN_STATUSES)
    where = [f"status IN ({', '.join('?' * len(wanted))})"]
    params: list[Any] = list(wanted)
    if kinds:
        where.append(f"kind IN ({', '.join('?' * len(kinds))})")
        params += kinds
    if marketplace:
        where.append("marketplace = ?")
        params.append(marketplace)
    rows = store.rows(f"SELECT * FROM claims WHERE {' AND '.join(where)} ORDER BY deadline, claim_id", params)
    return [as_document(row, today) for row in rows]


class ClaimBook:
    def __init__(self, store: Store, actor: str) -> None:
        self.store = store
        self.actor = actor

    def get(self, claim_id: str, today: dt.date) -> dict[str, Any]:
        row = self.store.row("SELECT * FROM claims WHERE claim_id = ?", (claim_id.strip().upper(),))
        if row is None:
            raise UserError(f"no claim {claim_id!r}; `deskterm claims list --all` shows every claim")
        return as_document(row, today)

    def file(self, claim_id: str, case_id: str, today: dt.date, force: bool = False) -> dict[str, Any]:
        case_id = case_id.strip()
        if not case_id:
            raise UserError("give Amazon's case id (--case-id), as shown in Seller Central's case log")
        claim = self.get(claim_id, today)
        if claim["status"] == "pending" and not force:
            raise UserError(f"claim {claim['claim_id']}'s window opens on {claim['window_opens']}: Amazon treats "
                            "earlier claims as premature (policy); file then, or --force if Amazon asked for it")
        if claim["status"] in ("paid", "dismissed") or (claim["status"] == "expired" and not force):
            raise UserError(f"claim {claim['claim_id']} is {claim['status']}; --force files it anyway")
        return self._step(claim, "filed", "claims.file", case_id=case_id, filed_at=self.store.now())

    def paid(self, claim_id: str, amount: str, today: dt.date) -> dict[str, Any]:
        try:
            value = Decimal(amount.replace(",", "."))
        except InvalidOperation:
            raise UserError(f"--amount {amount!r} is not a number, e.g. 42.50") from None
        if value < 0:
            raise UserError("--amount is what Amazon paid: zero or more")
        claim = self.get(claim_id, today)
        if claim["status"] == "dismissed":
            raise UserError(f"claim {claim['claim_id']} is dismissed; nothing to mark paid")
        return self._step(claim, "paid", "claims.paid", paid_amount=str(value), paid_at=self.store.now())

    def dismiss(self, claim_id: str, reason: str, today: dt.date) -> dict[str, Any]:
        if not reason.strip():
            raise UserError("say why (--reason), e.g. \"Amazon reimbursed it automatically\"")
        claim = self.get(claim_id, today)
        if claim["status"] == "paid":
            raise UserError(f"claim {claim['claim_id']} is paid; it cannot be dismissed")
        return self._step(claim, "dismissed", "claims.dismiss", closed_by="agent", closed_reason=reason.strip())

    def _step(self, claim: dict[str, Any], status: str, action: str, **columns: Any) -> dict[str, Any]:
        columns = {"status": status, **columns, "updated_at": self.store.now()}
        with self.store.write() as conn:
            conn.execute(f"UPDATE claims SET {', '.join(f'{k} = ?' for k in columns)} WHERE claim_id = ?",
                         [*columns.values(), claim["claim_id"]])
            self.store.audit(conn, action, claim["claim_id"], {"from": claim["status"]}, actor=self.actor)
        return {**claim, **columns}
