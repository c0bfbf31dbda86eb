"""The store's schema, created and migrated forward by code.

`PRAGMA user_version` holds the number of migrations applied. A migration is appended, never
edited: a workspace made by any earlier deskterm migrates forward on open.

Row keys: report rows carry `row_key`, a 16-byte digest of their natural key plus the row's
occurrence number among rows with the same key in one file (Amazon's ledger legitimately
repeats identical rows), and `content_hash`, so re-importing changes nothing and an updated
row (an order that shipped since) replaces its older self.
"""

from __future__ import annotations

_REPORT_ROW = """
    row_key BLOB NOT NULL UNIQUE,
    content_hash BLOB NOT NULL,
    source_file TEXT NOT NULL,
    source_line INTEGER NOT NULL,
    imported_at TEXT NOT NULL"""

V1 = f"""
CREATE TABLE channels (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE sync_state (
    channel TEXT NOT NULL REFERENCES channels(name),
    scope TEXT NOT NULL,              -- e.g. an IMAP mailbox or an API resource
    cursor TEXT,                      -- opaque resume point (UID, NextToken, timestamp)
    uidvalidity INTEGER,
    last_attempt TEXT,
    last_success TEXT,
    last_error TEXT,
    PRIMARY KEY (channel, scope)
);
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,            -- e-mail, relay alias or the channel's buyer id
    name TEXT,
    marketplace TEXT,
    UNIQUE (channel, address)
);
CREATE TABLE orders (
    order_id TEXT PRIMARY KEY,
    channel TEXT NOT NULL DEFAULT 'amazon',
    marketplace TEXT,
    sales_channel TEXT,
    merchant_order_id TEXT,
    purchase_date TEXT,
    last_updated TEXT,
    status TEXT,
    fulfillment_channel TEXT,         -- Amazon (FBA) / Merchant
    currency TEXT,
    ship_city TEXT,
    ship_state TEXT,
    ship_country TEXT,
    delivered_at TEXT,
    customer_id INTEGER REFERENCES customers(id),
    content_hash BLOB
);
CREATE TABLE order_lines ({_REPORT_ROW},
    id INTEGER PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(order_id),
    sku TEXT,
    asin TEXT,
    product_name TEXT,
    item_status TEXT,
    quantity INTEGER,
    currency TEXT,
    item_price TEXT,                  -- decimals are kept as exact text
    item_tax TEXT,
    shipping_price TEXT
);
CREATE INDEX order_lines_order ON order_lines(order_id);
CREATE INDEX order_lines_sku ON order_lines(sku);
CREATE TABLE returns ({_REPORT_ROW},
    id INTEGER PRIMARY KEY,
    return_date TEXT,
    order_id TEXT,
    sku TEXT, asin TEXT, fnsku TEXT, product_name TEXT,
    quantity INTEGER,
    fulfillment_center TEXT,
    disposition TEXT,
    reason TEXT,
    status TEXT,
    license_plate_number TEXT,
    customer_comments TEXT
);
CREATE INDEX returns_order ON returns(order_id);
CREATE TABLE refunds (
    id INTEGER PRIMARY KEY,
    refund_key BLOB NOT NULL UNIQUE,  -- order + sku + posting day: settlement and date-range agree
    order_id TEXT NOT NULL,
    sku TEXT,
    marketplace TEXT,
    refund_date TEXT NOT NULL,
    quantity INTEGER,
    amount TEXT,
    currency TEXT,
    source TEXT NOT NULL
);
CREATE INDEX refunds_order ON refunds(order_id);
CREATE TABLE reimbursements ({_REPORT_ROW},
    id INTEGER PRIMARY KEY,
    approval_date TEXT,
    reimbursement_id TEXT,
    case_id TEXT,
    order_id TEXT,
    reason TEXT,
    sku TEXT, fnsku TEXT, asin TEXT, product_name TEXT,
    condition TEXT,
    currency TEXT,
    amount_per_unit TEXT,
    amount_total TEXT,
    quantity_cash INTEGER,
    quantity_inventory INTEGER,
    quantity_total INTEGER,
    original_reimbursement_id TEXT,
    original_reimbursement_type TEXT
);
CREATE INDEX reimbursements_fnsku ON reimbursements(fnsku);
CREATE TABLE ledger_events ({_REPORT_ROW},
    id INTEGER PRIMARY KEY,
    event_date TEXT,
    event_time TEXT,
    fnsku TEXT, asin TEXT, msku TEXT, title TEXT,
    event_type TEXT,
    reference_id TEXT,
    quantity INTEGER,
    fulfillment_center TEXT,
    disposition TEXT,
    reason TEXT,
    country TEXT,
    reconciled_quantity INTEGER,
    unreconciled_quantity INTEGER
);
-- Claims look up adjustments and receipts per FNSKU; shipments (most rows) stay out of the
-- index, which keeps a million-row import fast.
CREATE INDEX ledger_events_claims ON ledger_events(fnsku, event_date)
    WHERE event_type IN ('Adjustments', 'Receipts');
CREATE TABLE ledger_summary ({_REPORT_ROW},
    id INTEGER PRIMARY KEY,
    summary_date TEXT,
    fnsku TEXT, msku TEXT, disposition TEXT, location TEXT,
    fields TEXT NOT NULL               -- the whole row as JSON, kept for reference
);
CREATE TABLE settlement_lines ({_REPORT_ROW},
    id INTEGER PRIMARY KEY,
    settlement_id TEXT,
    settlement_start TEXT, settlement_end TEXT, deposit_date TEXT,
    currency TEXT,
    transaction_type TEXT,
    order_id TEXT,
    adjustment_id TEXT,
    shipment_id TEXT,
    marketplace_name TEXT,
    amount_type TEXT,
    amount_description TEXT,
    amount TEXT,
    posted_at TEXT,
    sku TEXT,
    quantity INTEGER
);
CREATE TABLE transactions ({_REPORT_ROW},
    id INTEGER PRIMARY KEY,
    posted_at TEXT,
    settlement_id TEXT,
    type TEXT,
    order_id TEXT,
    sku TEXT,
    description TEXT,
    quantity INTEGER,
    marketplace TEXT,
    fulfillment TEXT,
    currency TEXT,
    product_sales TEXT,
    total TEXT,
    fields TEXT NOT NULL
);
CREATE TABLE inbound_shipments (
    shipment_id TEXT PRIMARY KEY,
    name TEXT,
    status TEXT,
    delivered_date TEXT
);
CREATE TABLE inbound_lines ({_REPORT_ROW},
    id INTEGER PRIMARY KEY,
    shipment_id TEXT NOT NULL REFERENCES inbound_shipments(shipment_id),
    sku TEXT, fnsku TEXT,
    quantity_shipped INTEGER,
    quantity_received INTEGER
);
CREATE TABLE removal_orders ({_REPORT_ROW},
    id INTEGER PRIMARY KEY,
    request_date TEXT,
    order_id TEXT,
    order_type TEXT,
    order_status TEXT,
    last_updated TEXT,
    sku TEXT, fnsku TEXT, disposition TEXT,
    requested_quantity INTEGER,
    cancelled_quantity INTEGER,
    disposed_quantity INTEGER,
    shipped_quantity INTEGER,
    in_process_quantity INTEGER,
    removal_fee TEXT,
    currency TEXT
);
CREATE TABLE removal_shipments ({_REPORT_ROW},
    id INTEGER PRIMARY KEY,
    request_date TEXT,
    order_id TEXT,
    shipment_date TEXT,
    sku TEXT, fnsku TEXT, disposition TEXT,
    shipped_quantity INTEGER,
    carrier TEXT,
    tracking_number TEXT,
    removal_order_type TEXT
);
CREATE TABLE sourcing_costs ({_REPORT_ROW},
    id INTEGER PRIMARY KEY,
    sku TEXT NOT NULL,
    unit_cost TEXT NOT NULL,
    currency TEXT NOT NULL,
    marketplace TEXT,
    effective_date TEXT
);
CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    customer_id INTEGER REFERENCES customers(id),
    order_id TEXT,
    marketplace TEXT,
    subject TEXT,
    status TEXT NOT NULL DEFAULT 'open',   -- open, pending, closed, nrn
    assignee TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    last_inbound_at TEXT,
    last_outbound_at TEXT,
    last_message_at TEXT
);
CREATE INDEX tickets_thread ON tickets(channel, customer_id, order_id);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,       -- RFC Message-ID, or the channel's own id
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,                    -- buyer_message, a_to_z, chargeback, return_request, ...
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    sender TEXT,
    sender_name TEXT,
    recipients TEXT,
    subject TEXT,
    sent_at TEXT,
    body TEXT,                             -- the sender's own words (Amazon's relay wrapper removed)
    wrapper TEXT,                          -- the relay's wrapper text, kept apart
    order_id TEXT,
    marketplace TEXT,
    in_reply_to TEXT,
    refs TEXT,
    source TEXT NOT NULL,
    content_hash BLOB NOT NULL
);
CREATE INDEX messages_ticket ON messages(ticket_id, sent_at);
CREATE INDEX messages_order ON messages(order_id);
CREATE TABLE attachments (
    sha256 TEXT PRIMARY KEY,              -- file at attachments/<sha[:2]>/<sha>, mode 0600
    size INTEGER NOT NULL,
    content_type TEXT
);
CREATE TABLE message_attachments (
    message_id INTEGER NOT NULL REFERENCES messages(id),
    position INTEGER NOT NULL,
    sha256 TEXT NOT NULL REFERENCES attachments(sha256),
    filename TEXT NOT NULL,               -- sanitized display text only, never a path
    PRIMARY KEY (message_id, position)
);
CREATE TABLE send_queue (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    channel TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,      -- chosen before sending, so a retry cannot duplicate
    state TEXT NOT NULL DEFAULT 'queued',  -- queued, sending, sent, failed, needs_attention
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at TEXT
);
CREATE TABLE index_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_rowid INTEGER NOT NULL,
    op TEXT NOT NULL DEFAULT 'upsert'      -- upsert or delete
);
CREATE TABLE claims (
    claim_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    marketplace TEXT,
    order_id TEXT, shipment_id TEXT, sku TEXT, fnsku TEXT, asin TEXT,
    quantity INTEGER,
    unit_value TEXT,
    amount TEXT,
    currency TEXT,
    event_date TEXT,
    window_opens TEXT,
    deadline TEXT,
    reasons TEXT NOT NULL DEFAULT '[]',
    ticket_ids TEXT NOT NULL DEFAULT '[]',
    detected_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT,
    detail TEXT                            -- never PII: ids and counts only
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TABLE quarantine (
    id INTEGER PRIMARY KEY,
    quarantine_key BLOB NOT NULL UNIQUE,  -- source + line + raw digest: re-imports add nothing
    kind TEXT NOT NULL,                   -- report, report_file, mail
    source TEXT NOT NULL,
    line INTEGER,
    reason TEXT NOT NULL,
    raw BLOB NOT NULL,
    created_at TEXT NOT NULL
);
"""

# Ticket changes that a search can filter on (status, tags, answered or not) re-queue the
# ticket's messages for the index, in the same transaction as the change.
V2 = """
CREATE TRIGGER tickets_reindex AFTER UPDATE OF status, tags, last_inbound_at, last_outbound_at ON tickets
WHEN old.status IS NOT new.status OR old.tags IS NOT new.tags
  OR (coalesce(old.last_inbound_at, '') > coalesce(old.last_outbound_at, ''))
     IS NOT (coalesce(new.last_inbound_at, '') > coalesce(new.last_outbound_at, ''))
BEGIN
  INSERT INTO index_outbox (message_rowid) SELECT id FROM messages WHERE ticket_id = new.id;
END;
"""

# Triage: risk per message and ticket, SLA clocks, agent actions (notes, snooze, views for the
# collision check), and the order facts the risk signals read.
V3 = """
ALTER TABLE messages ADD COLUMN risk TEXT;                 -- NULL until triage has read it
ALTER TABLE messages ADD COLUMN risk_reasons TEXT;         -- JSON list of {level, rule, text}
ALTER TABLE messages ADD COLUMN no_response_needed TEXT;   -- the reason, when an agent said so
ALTER TABLE messages ADD COLUMN agent TEXT;                -- who wrote it in deskterm
CREATE INDEX messages_untriaged ON messages(id) WHERE risk IS NULL;
ALTER TABLE tickets ADD COLUMN risk TEXT NOT NULL DEFAULT 'low';
ALTER TABLE tickets ADD COLUMN risk_reasons TEXT NOT NULL DEFAULT '[]';
ALTER TABLE tickets ADD COLUMN risk_rank INTEGER GENERATED ALWAYS AS
    (CASE risk WHEN 'critical' THEN 3 WHEN 'high' THEN 2 WHEN 'medium' THEN 1 ELSE 0 END) VIRTUAL;
ALTER TABLE tickets ADD COLUMN risk_override_at TEXT;      -- an agent set the level (audit-logged)
ALTER TABLE tickets ADD COLUMN risk_override_message INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN sla_started_at TEXT;
ALTER TABLE tickets ADD COLUMN sla_due TEXT;
ALTER TABLE tickets ADD COLUMN status_at TEXT;             -- when an agent last set the status
ALTER TABLE tickets ADD COLUMN status_message INTEGER NOT NULL DEFAULT 0;  -- the newest message then
ALTER TABLE tickets ADD COLUMN snoozed_until TEXT;
CREATE INDEX tickets_queue ON tickets(status, risk_rank DESC, sla_due, created_at);
ALTER TABLE orders ADD COLUMN latest_delivery_date TEXT;
ALTER TABLE orders ADD COLUMN tracking TEXT;
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    agent TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX notes_ticket ON notes(ticket_id);
CREATE TABLE ticket_views (                                -- what an agent had seen when they opened it
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    agent TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    last_message INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, agent)
);
DROP TRIGGER tickets_reindex;
CREATE TRIGGER tickets_reindex AFTER UPDATE OF status, tags, risk, last_inbound_at, last_outbound_at ON tickets
WHEN old.status IS NOT new.status OR old.tags IS NOT new.tags OR old.risk IS NOT new.risk
  OR (coalesce(old.last_inbound_at, '') > coalesce(old.last_outbound_at, ''))
     IS NOT (coalesce(new.last_inbound_at, '') > coalesce(new.last_outbound_at, ''))
BEGIN
  INSERT INTO index_outbox (message_rowid) SELECT id FROM messages WHERE ticket_id = new.id;
END;
"""

# The queue's order as one sortable key, so a screen can page through a million tickets by keyset
# (WHERE queue_key > ?) instead of OFFSET: risk first, then the SLA deadline (none last), then how
# long the buyer has waited, then the id. The index also holds what the queue filters on, so even
# counting a million-ticket queue never leaves it.
V4 = """
ALTER TABLE tickets ADD COLUMN queue_key TEXT GENERATED ALWAYS AS
    ((3 - risk_rank) || coalesce(sla_due, '~') || coalesce(sla_started_at, created_at) || printf('%012d', id))
    VIRTUAL;
DROP INDEX tickets_queue;
CREATE INDEX tickets_queue_order ON tickets(status, queue_key, snoozed_until, channel, assignee);
CREATE INDEX tickets_customer ON tickets(customer_id);
CREATE INDEX tickets_order ON tickets(order_id);
CREATE INDEX orders_latest_delivery ON orders(latest_delivery_date) WHERE latest_delivery_date IS NOT NULL;
"""

# When each FBA order left the fulfilment centre and how (Amazon Fulfilled Shipments), and the
# catalogue of seller SKUs with their FNSKUs and ASINs, learnt from every report that pairs them:
# orders name only the seller SKU, while claims and the ledger speak FNSKU.
V5 = f"""
CREATE TABLE customer_shipments ({_REPORT_ROW},
    id INTEGER PRIMARY KEY,
    order_id TEXT NOT NULL,
    shipment_id TEXT,
    shipment_item_id TEXT,
    order_item_id TEXT,
    purchase_date TEXT,
    shipment_date TEXT,
    sku TEXT,
    quantity INTEGER,
    currency TEXT,
    item_price TEXT,
    carrier TEXT,
    tracking_number TEXT,
    estimated_arrival TEXT,
    fulfillment_center TEXT,
    fulfillment_channel TEXT,
    sales_channel TEXT
);
CREATE INDEX customer_shipments_order ON customer_shipments(order_id);
ALTER TABLE orders ADD COLUMN shipped_at TEXT;
ALTER TABLE orders ADD COLUMN carrier TEXT;
CREATE TABLE skus (
    msku TEXT NOT NULL,
    fnsku TEXT NOT NULL,
    asin TEXT,
    PRIMARY KEY (msku, fnsku)
) WITHOUT ROWID;
INSERT OR IGNORE INTO skus (msku, fnsku, asin)
    SELECT msku, fnsku, max(asin) FROM ledger_events WHERE msku IS NOT NULL GROUP BY msku, fnsku;
INSERT OR IGNORE INTO skus (msku, fnsku, asin)
    SELECT sku, fnsku, max(asin) FROM returns WHERE sku IS NOT NULL AND fnsku IS NOT NULL GROUP BY sku, fnsku;
INSERT OR IGNORE INTO skus (msku, fnsku, asin)
    SELECT sku, fnsku, NULL FROM inbound_lines WHERE fnsku IS NOT NULL GROUP BY sku, fnsku;
"""

# Claims as the reconciler keeps them across rescans: the seller's own steps (filed with a case id,
# paid, dismissed) and who closed a claim (`scan` when the data resolved it, else the agent), the
# rows behind each claim for its evidence, and a badge on the tickets a claim is linked to.
V6 = """
ALTER TABLE claims ADD COLUMN case_id TEXT;
ALTER TABLE claims ADD COLUMN filed_at TEXT;
ALTER TABLE claims ADD COLUMN paid_amount TEXT;
ALTER TABLE claims ADD COLUMN paid_at TEXT;
ALTER TABLE claims ADD COLUMN closed_by TEXT;
ALTER TABLE claims ADD COLUMN closed_reason TEXT;
ALTER TABLE claims ADD COLUMN value_source TEXT;
ALTER TABLE claims ADD COLUMN sources TEXT NOT NULL DEFAULT '[]';
CREATE INDEX claims_status_deadline ON claims(status, deadline);
CREATE INDEX claims_order ON claims(order_id) WHERE order_id IS NOT NULL;
CREATE INDEX reimbursements_order ON reimbursements(order_id) WHERE order_id IS NOT NULL;
CREATE INDEX returns_order_sku ON returns(order_id, sku);
ALTER TABLE tickets ADD COLUMN claim_badge TEXT;
"""

# The original bytes of each message (zlib), for evidence folders that must carry the .eml as
# received; and the seller's own documents (supplier invoices, proofs of delivery, photos), kept by
# content like attachments and matched to claims by SKU, shipment, order and date.
V7 = """
CREATE TABLE message_sources (
    message_rowid INTEGER PRIMARY KEY REFERENCES messages(id),
    raw BLOB NOT NULL
);
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('invoice', 'pod', 'photo')),
    sha256 TEXT NOT NULL REFERENCES attachments(sha256),
    filename TEXT NOT NULL,                -- sanitized display text only
    sku TEXT,
    shipment_id TEXT,
    order_id TEXT,
    doc_date TEXT,
    quantity INTEGER,
    added_at TEXT NOT NULL,
    UNIQUE (kind, sha256)
);
CREATE INDEX documents_sku ON documents(sku);
"""

# What each IMAP message was on the server, keyed as IMAP keys it (mailbox, UIDVALIDITY, UID), and
# the events a sync raises for a person (a UIDVALIDITY change, a mailbox that lost most of its mail).
V8 = """
CREATE TABLE imap_uids (
    channel TEXT NOT NULL,
    mailbox TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    PRIMARY KEY (channel, mailbox, uidvalidity, uid)
) WITHOUT ROWID;
CREATE TABLE sync_events (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    at TEXT NOT NULL,
    text TEXT NOT NULL
);
"""

# Conversations of API channels, the merchant order id of MCF shipments, and fees and adjustments from Finances listFinancialEvents (refunds go to `refunds`): what Amazon
# charged per order line, and its inventory adjustments (WAREHOUSE_LOST, REVERSAL_REIMBURSEMENT, ...),
# often days before the Reimbursements report carries them. Keyed so a re-read window adds nothing.
V9 = """
CREATE TABLE financial_events (
    id INTEGER PRIMARY KEY,
    event_key BLOB NOT NULL UNIQUE,
    event_group TEXT NOT NULL,            -- fee | adjustment
    posted_at TEXT NOT NULL,
    order_id TEXT,
    sku TEXT,
    fnsku TEXT,
    type TEXT NOT NULL,                   -- FeeType (Commission, FBAPerUnitFulfillmentFee, ...) or AdjustmentType
    quantity INTEGER,
    amount TEXT,
    currency TEXT,
    source TEXT NOT NULL
);
CREATE INDEX financial_events_order ON financial_events(order_id);
-- A conversation kept by a channel's API (a TikTok Shop chat) and the ticket it is filed as.
CREATE TABLE channel_threads (
    channel TEXT NOT NULL,                -- the sync channel's name in config.toml
    thread_id TEXT NOT NULL,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    PRIMARY KEY (channel, thread_id)
) WITHOUT ROWID;
CREATE INDEX channel_threads_ticket ON channel_threads(ticket_id);
-- The seller's own order id on an FBA shipment: for Multi-Channel Fulfillment, the web shop's order.
ALTER TABLE customer_shipments ADD COLUMN merchant_order_id TEXT;
CREATE INDEX customer_shipments_merchant_order ON customer_shipments(merchant_order_id)
    WHERE merchant_order_id IS NOT NULL;
"""

# Append new migrations; never edit one that has shipped.
MIGRATIONS: list[str] = [V1, V2, V3, V4, V5, V6, V7, V8, V9]

SCHEMA_VERSION = len(MIGRATIONS)
