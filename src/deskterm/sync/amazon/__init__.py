"""The Amazon channel over the Selling Partner API (python-amazon-sp-api)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deskterm.store import Store
from deskterm.sync.amazon.calls import Caller
from deskterm.sync.amazon.finances import sync_finances
from deskterm.sync.amazon.inbound import sync_inbound
from deskterm.sync.amazon.orders import sync_orders
from deskterm.sync.amazon.reports import sync_reports
from deskterm.sync.base import Progress, SyncReport, ensure_channel


class AmazonConnector:
    """Pulls orders, reports, inbound shipments and refunds; pushes nothing:
    buyer replies leave by e-mail, through the relay."""

    def __init__(self, store: Store, name: str, channel: dict[str, Any], downloads: Path,
                 caller: Caller | None = None) -> None:
        self.store = store
        self.name = name
        self.channel = channel
        self.downloads = downloads
        self.caller = caller or Caller()

    def pull(self, report: SyncReport, progress: Progress = None) -> None:
        ensure_channel(self.store, self.name, "amazon")
        sync_orders(self.store, self.name, self.channel, self.caller, report, progress)
        sync_reports(self.store, self.name, self.channel, self.caller, report, self.downloads, progress)
        sync_inbound(self.store, self.name, self.channel, self.caller, report)
        sync_finances(self.store, self.name, self.channel, self.caller, report, progress)

    def push(self, report: SyncReport) -> None:
        return None
