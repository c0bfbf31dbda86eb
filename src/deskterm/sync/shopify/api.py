"""Shopify's Admin GraphQL API over httpx, within its cost-based rate limit.

Every reply carries `extensions.cost.throttleStatus` (the bucket's size, what is left, and how fast
it refills). Before each query we wait until the bucket holds what the query is expected to cost,
so a sync rarely meets a `Throttled` reply; when it does (another app shares the bucket), it waits
for the refill and asks again. The API version is pinned in config: Shopify serves a retired
version as the oldest supported one, and we would rather say so than read changed fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from deskterm.sync.base import SyncFailure, secret
from deskterm.sync.web import Refused, WebApi

API_VERSION = "2026-01"
MAX_THROTTLED = 20


@dataclass
class Bucket:
    maximum: float = 1000.0
    available: float = 1000.0
    restore: float = 50.0
    stamp: float = 0.0


class ShopifyApi:
    def __init__(self, name: str, channel: dict[str, Any], web: WebApi) -> None:
        self.name = name
        self.web = web
        self.version = channel.get("api_version") or API_VERSION
        base = (channel.get("endpoint") or f"https://{channel['shop']}").rstrip("/")
        self.url = f"{base}/admin/api/{self.version}/graphql.json"
        self.token = secret(channel, name, "access_token")
        self.bucket = Bucket(stamp=web.clock())
        self.last_cost: float | None = None

    def query(self, operation: str, text: str, variables: dict[str, Any], expected_cost: float) -> dict[str, Any]:
        """`data` of the query; waits for the bucket first, and again after a Throttled reply."""
        body = json.dumps({"query": text, "variables": variables}).encode()
        headers = {"X-Shopify-Access-Token": self.token, "content-type": "application/json"}
        for _attempt in range(MAX_THROTTLED):
            self._wait_for(expected_cost)
            try:
                document = self.web.request(operation, "POST", self.url, body=body, headers=headers)
            except Refused as refused:
                raise SyncFailure(f"{self.name}: Shopify refused {operation} (HTTP {refused.status}): "
                                  f"{_errors(refused.document)}") from None
            self._follow(document)
            errors = document.get("errors") or []
            if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors if isinstance(e, dict)):
                expected_cost = max(expected_cost, self.last_cost or 0)
                continue
            if errors or document.get("data") is None:
                raise SyncFailure(f"{self.name}: {operation}: {_errors(errors or document)}")
            return document["data"]
        raise SyncFailure(f"{self.name}: {operation} throttled {MAX_THROTTLED} times in a row")

    def _wait_for(self, cost: float) -> None:
        """Sleep until the bucket holds `cost`, with a margin: an estimate a few points short would
        cost a Throttled reply and a second wait."""
        now = self.web.clock()
        bucket = self.bucket
        cost = min(bucket.maximum, cost * 1.1 + 10)
        bucket.available = min(bucket.maximum, bucket.available + (now - bucket.stamp) * bucket.restore)
        bucket.stamp = now
        if bucket.available < cost:
            self.web.sleep((cost - bucket.available) / bucket.restore)

    def _follow(self, document: dict[str, Any]) -> None:
        cost = (document.get("extensions") or {}).get("cost") or {}
        status = cost.get("throttleStatus") or {}
        if status:
            self.bucket = Bucket(float(status["maximumAvailable"]), float(status["currentlyAvailable"]),
                                 float(status["restoreRate"]), self.web.clock())
        if cost.get("requestedQueryCost") is not None:
            self.last_cost = float(cost["requestedQueryCost"])


def _errors(errors: Any) -> str:
    if isinstance(errors, list):
        return "; ".join(str(e.get("message") if isinstance(e, dict) else e) for e in errors)[:300]
    if isinstance(errors, dict):
        return str(errors.get("errors") or errors)[:300]
    return str(errors)[:300]
