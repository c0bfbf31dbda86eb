"""The TikTok Shop channel over its Open API: orders, returns and refunds, and customer-service
chats as tickets, with replies sent back through the chat."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deskterm.store import Store
from deskterm.sync.base import Progress, SyncReport, ensure_channel
from deskterm.sync.tiktok.api import TikTokApi
from deskterm.sync.tiktok.chat import pull_conversations, push_replies
from deskterm.sync.tiktok.orders import sync_orders
from deskterm.sync.web import WebApi


class TikTokConnector:
    def __init__(self, store: Store, name: str, channel: dict[str, Any], tokens_file: Path, undo_seconds: int,
                 web: WebApi | None = None) -> None:
        self.store = store
        self.name = name
        self.channel = channel
        self.undo_seconds = undo_seconds
        self.api = TikTokApi(name, channel, tokens_file, web or WebApi(name))

    def pull(self, report: SyncReport, progress: Progress = None) -> None:
        ensure_channel(self.store, self.name, "tiktok")
        sync_orders(self.store, self.name, self.channel, self.api, report, progress)
        pull_conversations(self.store, self.name, self.api, report)

    def push(self, report: SyncReport) -> None:
        push_replies(self.store, self.name, self.api, report, self.undo_seconds)
