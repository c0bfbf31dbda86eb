"""What a unit is worth, by DESIGN.md's rule.

The seller's sourcing cost for the SKU when there is one (for the marketplace, else for every
marketplace; the latest in effect on the event day, preferring the marketplace's currency);
otherwise the average unit price (line item
price ÷ quantity, averaged over lines) of the SKU's non-cancelled orders in the same marketplace
over the 90 days before the event day. Amounts are exact decimals, rounded to the cent.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from deskterm import marketplaces
from deskterm.store import Store

CENT = Decimal("0.01")
AVERAGE_DAYS = 90


@dataclass(frozen=True)
class UnitValue:
    amount: Decimal
    currency: str
    source: str        # in words, for the claim's reasons


@dataclass
class _Prices:
    """One SKU's order lines in one marketplace, by day, with running sums for window averages."""

    days: list[str]
    sums: list[Decimal]     # sums[i]: the unit prices of lines before days[i]
    currency: str


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def decimal(text: str | None) -> Decimal | None:
    try:
        return Decimal(text) if text not in (None, "") else None
    except InvalidOperation:
        return None


class UnitValues:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.costs: dict[str, list[tuple[str, str, str, Decimal]]] = {}
        for row in store.rows("SELECT sku, coalesce(marketplace, '') AS marketplace, coalesce(effective_date, '') AS "
                              "effective, currency, unit_cost FROM sourcing_costs"):
            cost = decimal(row["unit_cost"])
            if cost is not None:
                self.costs.setdefault(row["sku"], []).append(
                    (row["marketplace"], row["effective"], row["currency"], cost))
        self._prices: dict[str, dict[str, _Prices]] = {}

    def value(self, sku: str | None, marketplace: str | None, day: dt.date,
              currency: str | None = None) -> UnitValue | None:
        """None when nothing values the unit in `currency` (when given): a cost in another currency
        is never compared, and is not replaced by sale prices either (a cost basis and a price basis
        would disagree by Amazon's fees)."""
        if not sku:
            return None
        usable = [c for c in self.costs.get(sku, ()) if c[0] in ("", marketplace or "") and c[1] <= day.isoformat()]
        if usable:
            return self._cost(usable, marketplace, currency)
        return self._average(sku, marketplace, day, currency)

    @staticmethod
    def _cost(usable: list[tuple[str, str, str, Decimal]], marketplace: str | None,
              currency: str | None) -> UnitValue | None:
        wanted = currency or marketplaces.default_currency(marketplace)
        usable = [c for c in usable if currency is None or c[2] == currency]
        if not usable:
            return None
        # this marketplace's own cost first, then one in the expected currency, then the latest
        market, effective, cost_currency, cost = max(usable, key=lambda c: (c[0] != "", c[2] == wanted, c[1]))
        where = f" for {market}" if market else ""
        since = f" since {effective}" if effective else ""
        return UnitValue(cost, cost_currency, f"sourcing cost {cost} {cost_currency}{where}{since}")

    def _average(self, sku: str, marketplace: str | None, day: dt.date, currency: str | None) -> UnitValue | None:
        prices = self._prices_for(sku).get(marketplace or "")
        if prices is None or (currency and prices.currency != currency):
            return None
        start = (day - dt.timedelta(days=AVERAGE_DAYS)).isoformat()
        lo = bisect.bisect_left(prices.days, start)
        hi = bisect.bisect_left(prices.days, day.isoformat())
        if hi <= lo:
            return None
        average = money((prices.sums[hi] - prices.sums[lo]) / (hi - lo))
        return UnitValue(average, prices.currency,
                         f"average unit price {average} {prices.currency} of {hi - lo} order lines in "
                         f"{marketplace} from {start} to {(day - dt.timedelta(days=1)).isoformat()}")

    def _prices_for(self, sku: str) -> dict[str, _Prices]:
        """Every marketplace's lines of one SKU, read once (one indexed query per SKU)."""
        if sku not in self._prices:
            found: dict[str, _Prices] = {}
            for row in self.store.rows(
                    "SELECT coalesce(o.marketplace, '') AS marketplace, substr(o.purchase_date, 1, 10) AS day,"
                    " l.item_price, l.quantity, coalesce(l.currency, o.currency) AS currency"
                    " FROM order_lines l JOIN orders o ON o.order_id = l.order_id"
                    " WHERE l.sku = ? AND l.quantity > 0 AND l.item_price IS NOT NULL"
                    " AND coalesce(o.status, '') != 'Cancelled' AND coalesce(l.item_status, '') != 'Cancelled'"
                    " ORDER BY 1, 2", (sku,)):
                price = decimal(row["item_price"])
                if price is None or row["day"] is None:
                    continue
                prices = found.setdefault(row["marketplace"], _Prices([], [Decimal(0)], row["currency"] or ""))
                prices.days.append(row["day"])
                prices.sums.append(prices.sums[-1] + price / row["quantity"])
            self._prices[sku] = found
        return self._prices[sku]
