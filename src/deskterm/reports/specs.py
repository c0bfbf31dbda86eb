"""The report types deskterm reads, each described by its columns (research/amazon.md §1.2).

Columns are matched by normalized header name, with the aliases Amazon uses across
marketplaces and over time; unknown extra columns are ignored, so a file with more columns
than we know still imports. A type is recognised when every one of its `detect` columns is in
the header row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deskterm.values import parse_date, parse_decimal, parse_instant, parse_int


def text(value: str) -> str:
    return value.strip()


@dataclass(frozen=True)
class Column:
    """A field we keep: the store column it fills, the headers it may appear under, its parser."""

    field: str
    headers: tuple[str, ...]
    parse: Callable[[str], Any] = text
    required: bool = False   # a data row without a value is rejected
    detect: bool = False     # the header must have it for the type to be recognised


def col(field: str, *headers: str, parse: Callable[[str], Any] = text, required: bool = False,
        detect: bool = False) -> Column:
    return Column(field, headers or (field.replace("_", "-"),), parse, required, detect)


@dataclass(frozen=True)
class ReportType:
    """One kind of report file and how its rows are keyed in the store."""

    name: str                 # internal name, e.g. ledger_detail
    count_as: str             # the TYPE of `deskterm import --json`
    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # natural key fields; empty: the whole row (event reports)
    description: str = ""
    # A date field that leads the row key: files are in date order, so a batch's keys land on
    # a few neighbouring index pages instead of every page of a random-keyed index.
    key_prefix: str | None = None

    def detect_sets(self) -> list[tuple[str, ...]]:
        return [c.headers for c in self.columns if c.detect]


ORDERS = ReportType(
    "all_orders", "orders", "order_lines",
    (
        col("order_id", "amazon-order-id", "order-id", required=True, detect=True),
        col("merchant_order_id"),
        col("purchase_date", parse=parse_instant, required=True, detect=True),
        col("last_updated", "last-updated-date", parse=parse_instant),
        col("order_status", detect=True),
        col("fulfillment_channel"),
        col("sales_channel"),
        col("product_name"),
        col("sku", detect=True),
        col("asin"),
        col("item_status"),
        col("quantity", parse=parse_int, required=True, detect=True),
        col("currency"),
        col("item_price", parse=parse_decimal),
        col("item_tax", parse=parse_decimal),
        col("shipping_price", parse=parse_decimal),
        col("ship_city"),
        col("ship_state"),
        col("ship_country"),
    ),
    key=("order_id", "sku"),
    description="All Orders report (GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL)",
)

# Amazon Fulfilled Shipments: one row per shipped order item, with when it left the FC, the
# carrier, tracking and the promised arrival. The buyer's name, e-mail and address columns are
# deliberately not kept.
FULFILLED_SHIPMENTS = ReportType(
    "fulfilled_shipments", "orders", "customer_shipments",
    (
        col("order_id", "amazon-order-id", required=True, detect=True),
        col("merchant_order_id"),
        col("shipment_id"),
        col("shipment_item_id", required=True, detect=True),
        col("order_item_id", "amazon-order-item-id"),
        col("purchase_date", parse=parse_instant),
        col("shipment_date", parse=parse_instant, required=True, detect=True),
        col("sku"),
        col("quantity", "quantity-shipped", parse=parse_int, required=True),
        col("currency"),
        col("item_price", parse=parse_decimal),
        col("carrier"),
        col("tracking_number"),
        col("estimated_arrival", "estimated-arrival-date", parse=parse_instant),
        col("fulfillment_center", "fulfillment-center-id"),
        col("fulfillment_channel"),
        col("sales_channel"),
    ),
    key=("shipment_item_id",),
    description="Amazon Fulfilled Shipments (GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL)",
)

RETURNS = ReportType(
    "customer_returns", "returns", "returns",
    (
        col("return_date", parse=parse_instant, required=True, detect=True),
        col("order_id", "order-id", "amazon-order-id", required=True, detect=True),
        col("sku"),
        col("asin"),
        col("fnsku", detect=True),
        col("product_name"),
        col("quantity", parse=parse_int, required=True),
        col("fulfillment_center", "fulfillment-center-id"),
        col("disposition", "detailed-disposition", detect=True),
        col("reason"),
        col("status"),
        col("license_plate_number"),
        col("customer_comments"),
    ),
    key=("order_id", "sku", "fnsku", "license_plate_number", "return_date"),
    description="FBA customer returns (GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA)",
)

LEDGER_DETAIL = ReportType(
    "ledger_detail", "ledger", "ledger_events",
    (
        col("event_date", "date", parse=parse_date, required=True, detect=True),
        col("event_time", "date-and-time", parse=parse_instant),
        col("fnsku", required=True, detect=True),
        col("asin"),
        col("msku", "msku", "sku"),
        col("title"),
        col("event_type", required=True, detect=True),
        col("reference_id"),
        col("quantity", parse=parse_int, required=True, detect=True),
        col("fulfillment_center"),
        col("disposition"),
        col("reason"),
        col("country"),
        col("reconciled_quantity", parse=parse_int),
        col("unreconciled_quantity", parse=parse_int),
    ),
    description="Inventory ledger, detailed view (GET_LEDGER_DETAIL_VIEW_DATA)",
    key_prefix="event_date",
)

LEDGER_SUMMARY = ReportType(
    "ledger_summary", "ledger", "ledger_summary",
    (
        col("summary_date", "date", parse=parse_date, required=True, detect=True),
        col("fnsku", required=True, detect=True),
        col("msku", "msku", "sku"),
        col("disposition"),
        col("location"),
        col("starting_warehouse_balance", parse=parse_int, detect=True),
        col("ending_warehouse_balance", parse=parse_int, detect=True),
    ),
    key=("summary_date", "fnsku", "msku", "disposition", "location"),
    description="Inventory ledger, summary view (GET_LEDGER_SUMMARY_VIEW_DATA), kept for reference",
)

REIMBURSEMENTS = ReportType(
    "reimbursements", "reimbursements", "reimbursements",
    (
        col("approval_date", parse=parse_instant, required=True, detect=True),
        col("reimbursement_id", required=True, detect=True),
        col("case_id"),
        col("order_id", "amazon-order-id", "order-id"),
        col("reason", required=True),
        col("sku"),
        col("fnsku"),
        col("asin"),
        col("product_name"),
        col("condition"),
        col("currency", "currency-unit", required=True),
        col("amount_per_unit", parse=parse_decimal, required=True, detect=True),
        col("amount_total", parse=parse_decimal, required=True),
        col("quantity_cash", "quantity-reimbursed-cash", parse=parse_int),
        col("quantity_inventory", "quantity-reimbursed-inventory", parse=parse_int),
        col("quantity_total", "quantity-reimbursed-total", parse=parse_int),
        col("original_reimbursement_id"),
        col("original_reimbursement_type"),
    ),
    key=("reimbursement_id", "order_id", "sku", "fnsku"),
    description="Reimbursements (GET_FBA_REIMBURSEMENTS_DATA)",
)

SETTLEMENT = ReportType(
    "settlement_v2", "settlement", "settlement_lines",
    (
        col("settlement_id", required=True, detect=True),
        col("settlement_start", "settlement-start-date", parse=parse_instant),
        col("settlement_end", "settlement-end-date", parse=parse_instant),
        col("deposit_date", parse=parse_instant),
        col("currency"),
        col("transaction_type", detect=True),
        col("order_id"),
        col("adjustment_id"),
        col("shipment_id"),
        col("marketplace_name"),
        col("amount_type", detect=True),
        col("amount_description", detect=True),
        col("amount", parse=parse_decimal, detect=True),
        col("posted_at", "posted-date-time", "posted-date", parse=parse_instant),
        col("sku"),
        col("quantity", "quantity-purchased", parse=parse_int),
    ),
    description="Settlement report V2 flat file (GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2)",
    key_prefix="posted_at",
)

DATE_RANGE = ReportType(
    "date_range", "settlement", "transactions",
    (
        col("posted_at", "date/time", parse=parse_instant, required=True, detect=True),
        col("settlement_id", detect=True),
        col("type", detect=True),
        col("order_id", detect=True),
        col("sku"),
        col("description"),
        col("quantity", parse=parse_int),
        col("marketplace"),
        col("fulfillment"),
        col("product_sales", parse=parse_decimal),
        col("total", parse=parse_decimal, required=True, detect=True),
    ),
    description="Date Range transaction report (Seller Central, with its preamble lines)",
    key_prefix="posted_at",
)

REMOVAL_ORDERS = ReportType(
    "removal_orders", "removals", "removal_orders",
    (
        col("request_date", "request-date", "removal-date", parse=parse_instant, required=True, detect=True),
        col("order_id", "order-id", "removal-order-id", required=True, detect=True),
        col("order_type", detect=True),
        col("order_status"),
        col("last_updated", "last-updated-date", parse=parse_instant),
        col("sku"),
        col("fnsku"),
        col("disposition"),
        col("requested_quantity", parse=parse_int, detect=True),
        col("cancelled_quantity", parse=parse_int),
        col("disposed_quantity", parse=parse_int),
        col("shipped_quantity", parse=parse_int),
        col("in_process_quantity", parse=parse_int),
        col("removal_fee", parse=parse_decimal),
        col("currency"),
    ),
    key=("order_id", "sku", "fnsku", "disposition"),
    description="Removal order detail (GET_FBA_FULFILLMENT_REMOVAL_ORDER_DETAIL_DATA)",
)

REMOVAL_SHIPMENTS = ReportType(
    "removal_shipments", "removals", "removal_shipments",
    (
        col("request_date", "request-date", "removal-date", parse=parse_instant, detect=True),
        col("order_id", "order-id", "removal-order-id", required=True, detect=True),
        col("shipment_date", parse=parse_instant, detect=True),
        col("sku"),
        col("fnsku"),
        col("disposition"),
        col("shipped_quantity", "shipped-quantity", "quantity-shipped", parse=parse_int, required=True),
        col("carrier"),
        col("tracking_number", detect=True),
        col("removal_order_type"),
    ),
    description="Removal shipment detail (GET_FBA_FULFILLMENT_REMOVAL_SHIPMENT_DETAIL_DATA)",
)

COSTS = ReportType(
    "sourcing_costs", "costs", "sourcing_costs",
    (
        col("sku", required=True, detect=True),
        col("unit_cost", parse=parse_decimal, required=True, detect=True),
        col("currency", required=True, detect=True),
        col("marketplace"),
        col("effective_date", parse=parse_date),
    ),
    key=("sku", "marketplace", "effective_date"),
    description="Sourcing costs CSV (sku, unit_cost, currency[, marketplace, effective_date])",
)

INBOUND = ReportType(
    "inbound_lines", "inbound", "inbound_lines",
    (
        col("shipment_id", required=True, detect=True),
        col("shipment_name"),
        col("status"),
        col("delivered_date", parse=parse_date),
        col("sku", required=True),
        col("fnsku"),
        col("quantity_shipped", parse=parse_int, required=True, detect=True),
        col("quantity_received", parse=parse_int, required=True, detect=True),
    ),
    key=("shipment_id", "sku"),
    description="Inbound shipment lines CSV (shipment-id, shipment-name, status, delivered-date, ...)",
)

# Most specific first: the first type whose detect columns are all present wins.
REPORT_TYPES: tuple[ReportType, ...] = (
    LEDGER_DETAIL, LEDGER_SUMMARY, SETTLEMENT, DATE_RANGE, REIMBURSEMENTS, RETURNS,
    REMOVAL_SHIPMENTS, REMOVAL_ORDERS, FULFILLED_SHIPMENTS, ORDERS, INBOUND, COSTS,
)


def detect(header: list[str]) -> ReportType | None:
    present = set(header)
    for report in REPORT_TYPES:
        if all(any(h in present for h in alternatives) for alternatives in report.detect_sets()):
            return report
    return None
