"""The Shopify channel over the Admin GraphQL API: orders with their lines, refunds, returns and
fulfillments. Buyers write about Shopify orders by e-mail; deskterm links that mail to the order."""

from __future__ import annotations

from typing import Any

from deskterm.store import Store
from deskterm.sync.base import Progress, SyncReport, ensure_channel
from deskterm.sync.shopify.api import ShopifyApi
from deskterm.sync.shopify.orders import sync_orders
from deskterm.sync.web import WebApi


class ShopifyConnector:
    def __init__(self, store: Store, name: str, channel: dict[str, Any], web: WebApi | None = None) -> None:
        self.store = store
        self.name = name
        self.channel = channel
        self.api = ShopifyApi(name, channel, web or WebApi(name))

    def pull(self, report: SyncReport, progress: Progress = None) -> None:
        ensure_channel(self.store, self.name, "shopify")
        sync_orders(self.store, self.name, self.channel, self.api, report, progress)

    def push(self, report: SyncReport) -> None:
        return None  # replies to Shopify buyers leave by e-mail
