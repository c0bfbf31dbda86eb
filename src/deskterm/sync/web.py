"""JSON over HTTPS for the channels spoken with httpx (Shopify, TikTok Shop): one request, retried
through the faults every API has.

A transport error, a 429, a 5xx, or a body that is not whole JSON (a connection cut mid-reply) is
retried after a full-jitter exponential wait, or the server's Retry-After when it sends one. Any
other status is the caller's to read (Refused). Messages name the operation, never the URL: TikTok
puts its app secret in the token URL's query.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from deskterm.sync.base import SyncFailure

MAX_ATTEMPTS = 8
BACKOFF_BASE = 1.0
BACKOFF_CAP = 60.0
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class Uncertain(Exception):
    """A call that changes something got no clear answer: it may, or may not, have happened."""


class Refused(Exception):
    """The server answered, with a status the caller must judge (401, 403, 404, 4xx)."""

    def __init__(self, status: int, document: Any) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.document = status, document


@dataclass
class WebApi:
    """An httpx client with retries; `sleep` and `clock` are injectable so tests wait for nothing."""

    name: str
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    transport: httpx.BaseTransport | None = None
    retries: int = 0
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(timeout=TIMEOUT, transport=self.transport,
                                   headers={"user-agent": "deskterm (+https://github.com/deskterm)"})

    def close(self) -> None:
        self.client.close()

    def request(self, operation: str, method: str, url: str, *, params: dict[str, Any] | None = None,
                body: bytes | None = None, headers: dict[str, str] | None = None,
                prepare: Callable[[], tuple[dict[str, Any], dict[str, str]]] | None = None,
                once: bool = False) -> Any:
        """The decoded JSON reply. `prepare`, when given, makes fresh (params, headers) for each
        attempt: a signed request carries a timestamp, and a retry must be signed again. `once` is
        for a call that must not be repeated blindly (sending a message): a fault raises Uncertain."""
        for attempt in range(1 if once else MAX_ATTEMPTS):
            if prepare is not None:
                params, headers = prepare()
            try:
                response = self.client.request(method, url, params=params, content=body, headers=headers)
            except httpx.HTTPError as exc:
                self.fault(once, attempt, None, type(exc).__name__)
                continue
            if response.status_code == 429 or response.status_code >= 500:
                self.fault(once, attempt, _retry_after(response), f"HTTP {response.status_code}")
                continue
            try:
                document = json.loads(response.content)
            except ValueError:
                self.fault(once, attempt, None, "a reply cut short")
                continue
            if response.status_code >= 400:
                raise Refused(response.status_code, document)
            return document
        raise SyncFailure(f"{self.name}: {operation} still failing after {MAX_ATTEMPTS} attempts")

    def fault(self, once: bool, attempt: int, retry_after: float | None, why: str) -> None:
        if once:
            raise Uncertain(why)
        self.retries += 1
        self.sleep(retry_after if retry_after is not None
                   else random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** attempt)))


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return min(BACKOFF_CAP, max(0.0, float(response.headers.get("retry-after", ""))))
    except ValueError:
        return None
