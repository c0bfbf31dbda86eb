"""The Amazon channel over the Selling Partner API (python-amazon-sp-api)."""

from __future__ import annotations

from typing import Any

from deskterm.store import Store
from deskterm.sync.amazon.calls import Caller
from deskterm.sync.amazon.orders import sync_orders
from deskterm.sync.base import Progress, SyncReport, ensure_channel


class AmazonConnector:
    """Pulls orders (reports, finances and inbound shipments are still to come); pushes nothing:
    buyer replies leave by e-mail, through the relay."""

    def __init__(self, store: Store, name: str, channel: dict[str, Any], caller: Caller | None = None) -> None:
        self.store = store
        self.name = name
        self.channel = channel
        self.caller = caller or Caller()

    def pull(self, report: SyncReport, progress: Progress = None) -> None:
        ensure_channel(self.store, self.name, "amazon")
        sync_orders(self.store, self.name, self.channel, self.caller, report, progress)

    def push(self, report: SyncReport) -> None:
        return None
