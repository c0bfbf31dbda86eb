"""Calling SP-API operations within their rate limits, and through its usual faults.

One token bucket per operation, seeded from the model's usage plan and then following the rate
Amazon sends in `x-amzn-RateLimit-Limit`. A 429 (which carries no rate header) and a 5xx or a
body cut short (which the library turns into an empty page) are retried after full-jitter
exponential waits; a 401 or 403 drops the cached
access token and retries once, since LWA tokens last an hour. An expired NextToken is raised as
ExpiredCursor: the caller re-queries an overlapping window and deduplicates on natural keys.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sp_api.auth import access_token_client
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base.exceptions import (SellingApiBadRequestException, SellingApiException, SellingApiForbiddenException,
                                    SellingApiGatewayTimeoutException, SellingApiRequestThrottledException,
                                    SellingApiServerException, SellingApiTemporarilyUnavailableException)

from deskterm.sync.base import ExpiredCursor, SyncFailure

# (requests per second, burst), from the usage plans in the models of ../shared/spapi-models/.
USAGE_PLANS = {
    "getOrders": (0.0167, 20), "getOrderItems": (0.5, 30), "listFinancialEvents": (0.5, 30),
    "createReport": (0.0167, 15), "getReport": (2.0, 15), "getReportDocument": (0.0167, 15),
    "getShipments": (2.0, 30), "getShipmentItemsByShipmentId": (2.0, 30),
}
MAX_ATTEMPTS = 8
BACKOFF_BASE = 1.0
BACKOFF_CAP = 60.0
_TRANSIENT = (SellingApiRequestThrottledException, SellingApiServerException,
              SellingApiTemporarilyUnavailableException, SellingApiGatewayTimeoutException)


@dataclass
class Bucket:
    rate: float
    burst: float
    tokens: float
    stamp: float

    def take(self, now: float) -> float:
        """Seconds to wait before the next call (and take its token)."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        wait = (1 - self.tokens) / self.rate
        self.tokens = 0.0
        self.stamp = now + wait
        return wait


@dataclass
class Caller:
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    buckets: dict[str, Bucket] = field(default_factory=dict)
    retries: int = 0          # how many calls were repeated (reported by the sync)

    def __call__(self, operation: str, call: Callable[..., Any], *, expect: str | None = None, **params: Any) -> Any:
        """`call(**params)` for `operation`; `expect` names the list the payload must hold: the
        library reads a body cut short as an empty page, which would end a listing early."""
        refreshed = False
        for attempt in range(MAX_ATTEMPTS):
            self.sleep(self._bucket(operation).take(self.clock()))
            try:
                response = call(**params)
            except AuthorizationError as exc:  # LWA refused the refresh token: only a person can fix that
                raise SyncFailure(f"{operation}: Login with Amazon refused the credentials ({_lwa_reason(exc)}); "
                                  "authorize the app again and set the new refresh token") from None
            except _TRANSIENT as exc:
                self._backoff(attempt, exc)
                continue
            except SellingApiBadRequestException as exc:
                if "NextToken" in params and "token" in (getattr(exc, "message", "") or "").lower():
                    raise ExpiredCursor(str(getattr(exc, "message", exc))) from None
                raise SyncFailure(f"{operation}: {_describe(exc)}") from None
            except SellingApiException as exc:
                unauthorized = isinstance(exc, SellingApiForbiddenException) or getattr(exc, "code", 0) == 401
                if unauthorized and not refreshed:
                    access_token_client.cache.clear()  # an expired or revoked token: ask LWA again, once
                    refreshed = True
                    self.retries += 1
                    continue
                raise SyncFailure(f"{operation}: {_describe(exc)}") from None
            if expect is not None and expect not in (response.payload or {}):
                self._backoff(attempt, ValueError(f"no {expect} in the response"))
                continue
            self._follow(operation, response)
            return response
        raise SyncFailure(f"{operation}: still failing after {MAX_ATTEMPTS} attempts")

    def _bucket(self, operation: str) -> Bucket:
        if operation not in self.buckets:
            rate, burst = USAGE_PLANS.get(operation, (1.0, 1))
            self.buckets[operation] = Bucket(rate, burst, burst, self.clock())
        return self.buckets[operation]

    def _follow(self, operation: str, response: Any) -> None:
        try:
            rate = float(getattr(response, "rate_limit", None) or 0)
        except (TypeError, ValueError):
            return
        if rate > 0:
            self._bucket(operation).rate = rate

    def _backoff(self, attempt: int, exc: Exception) -> None:
        self.retries += 1
        self.sleep(random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** attempt)))


def _lwa_reason(exc: AuthorizationError) -> str:
    """LWA's error code (invalid_grant, invalid_client, ...): its description may quote what was sent."""
    code = exc.args[0] if exc.args else None
    return str(code)[:40] if isinstance(code, str) else type(exc).__name__


def _describe(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {message}"[:200]
