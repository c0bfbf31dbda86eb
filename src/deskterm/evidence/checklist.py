"""What each claim kind needs (research/amazon.md §3.3), ticked off against what the folder holds.

Identifiers come from the data; documents from the registry (`deskterm docs add`); photos from the
buyer's messages or the registry. A missing item says how to add it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Item:
    label: str
    ok: bool
    required: bool = True
    hint: str = ""

    def line(self) -> str:
        mark = "[x]" if self.ok else "[ ]"
        need = "" if self.required else " (recommended)"
        todo = f" — missing: {self.hint}" if not self.ok and self.hint else ""
        return f"- {mark} {self.label}{need}{todo}"


def checklist(claim: dict[str, Any], ids: dict[str, str], documents: list[dict[str, Any]],
              transcripts: dict[int, dict[str, Any]]) -> list[Item]:
    kind, sku = claim["kind"], claim["sku"] or "SKU"
    kinds = {document["kind"] for document in documents}
    invoice_hint = f"`deskterm docs add INVOICE.pdf --kind invoice --sku {sku} --date YYYY-MM-DD --qty N`"
    photos = "photo" in kinds or any(t["photos"] for t in transcripts.values())

    def has(label: str, key: str) -> Item:
        return Item(f"{label}: {ids[key]}" if key in ids else label, key in ids,
                    hint="" if key in ids else "not in the imported reports")

    if kind in ("fc_lost", "fc_damaged"):
        return [has("FNSKU", "FNSKU"), has("Ledger Reference ID (transaction item ID)", "Ledger Reference ID"),
                has("Fulfillment center", "Fulfillment center"),
                Item("Event date and quantity", True),
                Item("Supplier invoice (the sourcing cost since 2025-03-31)", "invoice" in kinds, False, invoice_hint)]
    if kind == "inbound_shortfall":
        return [has("Shipment ID", "Shipment ID"), has("FNSKU", "FNSKU"),
                has("Units shipped and received", "Units shipped / received"),
                Item("Proof of ownership: supplier invoice with date, product and quantity", "invoice" in kinds,
                     hint=invoice_hint),
                Item("Proof of delivery: carrier tracking with box weights, or the BOL signed by Amazon",
                     "pod" in kinds, hint=f"`deskterm docs add POD.pdf --kind pod --shipment {claim['shipment_id']}`")]
    if kind == "reimbursement_underpaid":
        return [has("Reimbursement ID", "Reimbursement ID"), has("FNSKU", "FNSKU"), has("ASIN", "ASIN"),
                Item("Supplier invoice or production cost breakdown", "invoice" in kinds, hint=invoice_hint)]
    items = [has("Order ID", "Order ID"), has("FNSKU", "FNSKU"), Item("Quantity", True)]
    if kind in ("return_damaged", "return_sellable_dispute"):
        items.append(has("LPN (license plate number)", "LPN"))
        items.append(Item("Photos of the damage", photos, False,
                          f"`deskterm docs add PHOTO.jpg --kind photo --order {claim['order_id']}`"))
    if kind == "return_sellable_dispute":
        items.append(Item("The buyer's report of damage (return reason, comment or conversation)", True))
    return items
