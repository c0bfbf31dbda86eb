"""Units lost or damaged in a fulfilment centre (`fc_lost`, `fc_damaged`), from the ledger.

Only Adjustments rows are read, through the ledger's partial index, so a ledger of millions of
Shipments rows costs nothing here. For each FNSKU, oldest first:

- a loss row's open units are its Unreconciled Quantity where the file has that column; where it
  has not, its quantity less later found rows (F, N) for the FNSKU not already set against an
  earlier loss;
- Lost_Warehouse (for M, 5) or Damaged_Warehouse (for 6, 7, E, H, K, U) reimbursements of the
  FNSKU, net of reversals, then cover open rows dated on or before their approval, oldest first.

A later download of the same ledger days repeats a row with its reconciliation updated; only the
copy from the file imported last counts, so a claim is never found twice.
"""

from __future__ import annotations

from collections import defaultdict

from deskterm.reconcile.found import Found, Reimbursement, day, marketplace_of_country, where
from deskterm.store import Store

LOST = {"M": "misplaced", "5": "misplaced"}
DAMAGED = {"6": "damaged (carrier-damaged level)", "7": "damaged (expired level)", "E": "damaged (sellable level)",
           "H": "damaged (customer-damaged level)", "K": "damaged (defective level)",
           "U": "damaged (distributor-damaged level)"}
FOUND = ("F", "N")
REIMBURSED_AS = {"fc_lost": "Lost_Warehouse", "fc_damaged": "Damaged_Warehouse"}


ROWS_AT_ONCE = 10_000  # adjustment rows read and held at once (about 1.8 KB each as Python rows)
_ADJUSTMENTS = ("event_type IN ('Adjustments', 'Receipts') AND event_type = 'Adjustments'"  # the partial index
                f" AND reason IN ({', '.join(repr(code) for code in (*LOST, *DAMAGED, *FOUND))})")


def find(store: Store, reimbursements: list[Reimbursement], catalog: dict[str, tuple[str, str | None]],
         rows_at_once: int = ROWS_AT_ONCE) -> list[Found]:
    covering: dict[tuple[str, str], list[Reimbursement]] = defaultdict(list)
    for item in reimbursements:
        if item.fnsku and item.quantity > 0:
            covering[(item.fnsku, item.reason)].append(item)
    found: list[Found] = []
    for condition, params in _fnsku_groups(store, rows_at_once):
        rows = store.rows(
            "SELECT id, event_date, coalesce(event_time, '') AS event_time, fnsku, asin, msku, reference_id, quantity,"
            " fulfillment_center, disposition, reason, country, unreconciled_quantity, source_file, source_line,"
            f" imported_at FROM ledger_events WHERE {_ADJUSTMENTS} AND {condition}"
            " ORDER BY fnsku, event_date, event_time, id", params)
        by_fnsku: dict[str, list] = defaultdict(list)
        for row in _latest_copies(rows):
            by_fnsku[row["fnsku"]].append(row)
        for fnsku, events in by_fnsku.items():
            found += _claims_of(fnsku, events, covering, catalog)
    return found


def _fnsku_groups(store: Store, rows_at_once: int) -> list[tuple[str, list[str]]]:
    """SQL conditions that split the adjustments into runs of whole FNSKUs of about
    `rows_at_once` rows: each FNSKU is worked out alone, so holding every adjustment of a 5M-row
    ledger at once (about 360 MB at 200,000 adjustments) bought nothing."""
    counts = store.rows(f"SELECT fnsku, count(*) FROM ledger_events WHERE {_ADJUSTMENTS} GROUP BY fnsku ORDER BY fnsku")
    groups: list[tuple[str, list[str]]] = []
    first = last = None
    held = 0
    for fnsku, count in counts:
        if fnsku is None:
            groups.append(("fnsku IS NULL", []))
            continue
        if first is not None and held + count > rows_at_once:
            groups.append(("fnsku BETWEEN ? AND ?", [first, last]))
            first, held = None, 0
        first = fnsku if first is None else first
        last, held = fnsku, held + count
    if first is not None:
        groups.append(("fnsku BETWEEN ? AND ?", [first, last]))
    return groups


def _latest_copies(rows: list) -> list:
    """Rows whose every field but the reconciliation repeats come from re-downloads: keep the
    copies from the file imported last (identical rows within one file are separate events)."""
    groups: dict[tuple, list] = defaultdict(list)
    for row in rows:
        groups[(row["event_date"], row["event_time"], row["fnsku"], row["reference_id"], row["reason"],
                row["quantity"], row["fulfillment_center"], row["disposition"], row["country"])].append(row)
    kept = []
    for group in groups.values():
        latest = max((row["imported_at"], row["source_file"]) for row in group)
        kept += [row for row in group if (row["imported_at"], row["source_file"]) == latest]
    return sorted(kept, key=lambda row: (row["event_date"], row["event_time"], row["id"]))


def _claims_of(fnsku: str, events: list, covering: dict, catalog: dict) -> list[Found]:
    found_units = [[row, abs(row["quantity"] or 0)] for row in events if row["reason"] in FOUND]
    losses = []  # [row, kind, open units, reasons]
    for row in events:
        if row["reason"] in FOUND:
            continue
        kind = "fc_lost" if row["reason"] in LOST else "fc_damaged"
        what = (LOST | DAMAGED)[row["reason"]]
        text = (f"ledger Adjustments {row['event_date']}: {abs(row['quantity'] or 0)} units {what} (reason "
                f"{row['reason']}, Reference ID {row['reference_id'] or '-'}, {row['fulfillment_center'] or '-'}; "
                f"{where(row)})")
        if row["unreconciled_quantity"] is not None:
            units = abs(row["unreconciled_quantity"])
            reasons = [text, f"Unreconciled Quantity {units}"]
        else:
            units = abs(row["quantity"] or 0)
            reasons = [text]
            for entry in found_units:  # later found units, not yet set against an earlier loss
                if units and entry[1] and entry[0]["event_date"] >= row["event_date"]:
                    taken = min(units, entry[1])
                    entry[1] -= taken
                    units -= taken
                    reasons.append(f"{taken} found again on {entry[0]['event_date']} (reason {entry[0]['reason']})")
        losses.append([row, kind, units, reasons])
    for kind, reason in REIMBURSED_AS.items():
        for item in covering.get((fnsku, reason), ()):
            left = item.quantity
            for loss in losses:
                row, loss_kind, units, reasons = loss
                if left and units and loss_kind == kind and day(row["event_date"]) <= item.approval_date:
                    taken = min(left, units)
                    loss[2] -= taken
                    left -= taken
                    reasons.append(f"{taken} covered by {reason} reimbursement {item.reimbursement_id} "
                                   f"approved {item.approval_date}")
    claims = []
    occurrences: dict[tuple, int] = defaultdict(int)
    for row, kind, units, reasons in losses:
        identity = (fnsku, row["event_date"], row["event_time"], row["reference_id"] or "", row["reason"],
                    row["fulfillment_center"] or "", str(abs(row["quantity"] or 0)))
        occurrences[identity] += 1
        if units <= 0:
            continue
        sku, asin = row["msku"], row["asin"]
        if not sku and fnsku in catalog:
            sku, asin = catalog[fnsku][0], asin or catalog[fnsku][1]
        claims.append(Found(kind, (*identity, str(occurrences[identity])), day(row["event_date"]), units,
                            [*reasons, f"{units} units to claim"], marketplace_of_country(row["country"]),
                            sku=sku, fnsku=fnsku, asin=asin, sources=[("ledger_events", row["id"])]))
    return claims
