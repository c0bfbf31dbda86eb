"""Claim windows: when Amazon accepts a claim of each kind, per marketplace, and since when.

Each window is a rule with the date it took effect and where that is written, so a seller can see
why a deadline is what it is, and add a rule in config.toml when Amazon changes one:

    [[claims.window]]
    kind = "return_not_received"
    marketplaces = ["UK"]          # omitted: every marketplace
    opens_after_days = 45
    deadline_days = 105
    effective = "2026-12-01"       # applies to events on or after this day
    source = "Seller Central news, 2026-11-20"

For an event, the rule that applies is the latest one in effect on the event's day for its
marketplace (a rule naming the marketplace beats one for every marketplace from the same day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

KINDS = ("fc_lost", "fc_damaged", "inbound_shortfall", "return_not_received", "return_damaged",
         "return_sellable_dispute", "reimbursement_underpaid")

# Marketplaces on Amazon's European customer-return windows (45 to 105 days after the refund).
EUROPE = ("UK", "DE", "FR", "IT", "ES", "NL", "SE", "PL", "BE", "IE")


@dataclass(frozen=True)
class Window:
    kind: str
    opens_after_days: int      # the claim may be filed from event day + this
    deadline_days: int         # ... until event day + this, inclusive (UTC)
    effective: dt.date
    source: str
    marketplaces: tuple[str, ...] = ()   # empty: every marketplace

    def opens(self, event: dt.date) -> dt.date:
        return event + dt.timedelta(days=self.opens_after_days)

    def deadline(self, event: dt.date) -> dt.date:
        return event + dt.timedelta(days=self.deadline_days)


_US_2024 = dt.date(2024, 10, 23)
_US_SOURCE = ("Amazon US Seller Forums announcement of 2024-07-24, in force 2024-10-23 "
              "(sellercentral.amazon.com/seller-forums/discussions/t/6605eede-df8e-4498-803f-cb612d95d7ce)")
_EU_SOURCE = ("Amazon Europe update on eligibility windows, reposted at "
              "seller-forum.com/t/update-on-eligibility-window-to-file-reimbursement-claims/7594 "
              "(effective date not stated; taken as the US date)")
_RETURNS = ("return_not_received", "return_damaged", "return_sellable_dispute")

DEFAULT_WINDOWS: tuple[Window, ...] = (
    Window("fc_lost", 0, 60, _US_2024, _US_SOURCE),
    Window("fc_damaged", 0, 60, _US_2024, _US_SOURCE),
    Window("inbound_shortfall", 15, 60, dt.date(2024, 9, 5),
           "Amazon AE forum post of 2024-09-05 (15 to 60 days after delivery); the US value is not "
           "published by Amazon, so the AE rule is the default"),
    *(Window(kind, 60, 120, _US_2024, _US_SOURCE + "; Amazon help page G9N934L7Y4SFWPJ4") for kind in _RETURNS),
    *(Window(kind, 45, 105, _US_2024, _EU_SOURCE, EUROPE) for kind in _RETURNS),
    Window("reimbursement_underpaid", 0, 60, _US_2024,
           "DESIGN.md default: 60 days from the approval date, like the other FC claims"),
)

DEFAULT_TOLERANCE = 0.05  # a reimbursement more than 5% under the unit value is underpaid


class Policy:
    """The windows in force: the defaults, then the seller's rules from config.toml."""

    def __init__(self, extra: list[Window] | None = None, tolerance: float = DEFAULT_TOLERANCE) -> None:
        self.windows = [*DEFAULT_WINDOWS, *(extra or [])]
        self.tolerance = tolerance

    def window(self, kind: str, marketplace: str | None, event: dt.date) -> Window:
        candidates = [w for w in self.windows if w.kind == kind
                      and (not w.marketplaces or (marketplace or "") in w.marketplaces)]
        in_force = [w for w in candidates if w.effective <= event]
        pool = in_force or [min(candidates, key=lambda w: w.effective)]  # older than every rule: the first
        return max(pool, key=lambda w: (w.effective, bool(w.marketplaces)))

    @classmethod
    def from_config(cls, claims: dict) -> "Policy":
        windows = [Window(rule["kind"], rule["opens_after_days"], rule["deadline_days"],
                          dt.date.fromisoformat(rule["effective"]), rule["source"], tuple(rule["marketplaces"]))
                   for rule in claims.get("window", [])]
        return cls(windows, claims.get("underpaid_tolerance_percent", DEFAULT_TOLERANCE * 100) / 100)
