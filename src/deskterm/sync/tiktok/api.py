"""TikTok Shop's Open API (version 202309): signed requests, the shop cipher, and access tokens
that refresh themselves.

Every request is signed: the query (without `sign` and `access_token`) sorted by key and joined as
key+value, prefixed by the path, followed by the body, wrapped in the app secret on both sides,
then HMAC-SHA256 keyed by the app secret (partner.tiktokshop.com, "Sign your API request"). The
timestamp is part of the signature and TikTok refuses one five minutes old, so a retry is signed
again. Access tokens last days and are refreshed with the refresh token; TikTok may hand back a
new refresh token, which is kept, with the access token, in a file readable by the user only
(never in the database or a log). The refresh token in the environment seeds that file, and
replaces it when the person puts a new one there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from deskterm.errors import UserError
from deskterm.sync.base import SyncFailure, secret
from deskterm.sync.web import Refused, WebApi

API = "https://open-api.tiktokglobalshop.com"
AUTH = "https://auth.tiktok-shops.com"
VERSION = "202309"
EXPIRED_TOKEN = 105002
INVALID_TOKEN = 36009004
REFRESH_MARGIN = 3600       # refresh an access token this many seconds before it expires


def sign(app_secret: str, path: str, query: dict[str, Any], body: bytes = b"") -> str:
    text = path + "".join(f"{key}{query[key]}" for key in sorted(query) if key not in ("sign", "access_token"))
    wrapped = (app_secret + text).encode() + body + app_secret.encode()
    return hmac.new(app_secret.encode(), wrapped, hashlib.sha256).hexdigest()


class TikTokApi:
    def __init__(self, name: str, channel: dict[str, Any], tokens_file: Path, web: WebApi) -> None:
        self.name = name
        self.channel = channel
        self.web = web
        self.base = (channel.get("endpoint") or API).rstrip("/")
        self.auth = (channel.get("auth_endpoint") or AUTH).rstrip("/")
        self.app_key = channel.get("app_key") or secret(channel, name, "app_key")
        self.app_secret = secret(channel, name, "app_secret")
        self.tokens = TokenFile(tokens_file, secret(channel, name, "refresh_token"))
        self.cipher: str | None = None

    # -- calls ---------------------------------------------------------------------------------

    def call(self, operation: str, method: str, path: str, query: dict[str, Any] | None = None,
             body: dict[str, Any] | None = None, *, shop: bool = True, retry: bool = True,
             refuse: bool = False) -> dict[str, Any]:
        """`data` of TikTok's envelope. A refused token is refreshed once; another refusal fails the
        pass, or is raised as Refused for the caller to judge (`refuse`)."""
        for attempt in range(2):
            try:
                return self._call(operation, method, path, query or {}, body, shop, retry)
            except Refused as refused:
                if attempt == 0 and refused.status == 401 and _code(refused.document) in (EXPIRED_TOKEN, INVALID_TOKEN):
                    self.refresh()
                    continue
                if refuse:
                    raise
                raise self.failure(operation, refused) from None
        raise AssertionError("unreachable")

    def failure(self, operation: str, refused: Refused) -> SyncFailure:
        return SyncFailure(f"{self.name}: {operation} refused: {_message(refused.document)}")

    def _call(self, operation: str, method: str, path: str, query: dict[str, Any], body: dict[str, Any] | None,
              shop: bool, retry: bool) -> dict[str, Any]:
        payload = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
        base_query = {**query, "app_key": self.app_key}
        if shop:
            base_query["shop_cipher"] = self.shop_cipher()

        def prepare() -> tuple[dict[str, Any], dict[str, str]]:
            signed = {**base_query, "timestamp": str(int(time.time()))}
            signed["sign"] = sign(self.app_secret, urlsplit(self.base + path).path, signed, payload)
            return signed, {"x-tts-access-token": self.access_token(), "content-type": "application/json"}

        document = self.web.request(operation, method, self.base + path, body=payload or None, prepare=prepare,
                                    once=not retry)
        if not isinstance(document, dict) or document.get("code") != 0:
            raise Refused(401 if _code(document) == EXPIRED_TOKEN else 400, document)
        return document.get("data") or {}

    def shop_cipher(self) -> str:
        """The configured shop's cipher, looked up once per pass among the shops the token may use."""
        if self.cipher is None:
            shops = self.call("GetAuthorizedShops", "GET", f"/authorization/{VERSION}/shops", shop=False).get("shops", [])
            wanted = self.channel["shop"]
            found = [s for s in shops if wanted in (s.get("name"), s.get("id"), s.get("code"))]
            if not found:
                names = ", ".join(repr(s.get("name")) for s in shops) or "none"
                raise UserError(f"channel {self.name}: shop {wanted!r} is not among the authorized shops ({names})")
            self.cipher = found[0]["cipher"]
        return self.cipher

    # -- tokens --------------------------------------------------------------------------------

    def access_token(self) -> str:
        state = self.tokens.read()
        if not state.get("access_token") or state.get("access_expires", 0) - REFRESH_MARGIN < time.time():
            state = self.refresh()
        return state["access_token"]

    def refresh(self) -> dict[str, Any]:
        state = self.tokens.read()
        query = {"app_key": self.app_key, "app_secret": self.app_secret, "refresh_token": state["refresh_token"],
                 "grant_type": "refresh_token"}
        document = self.web.request("RefreshToken", "GET", self.auth + "/api/v2/token/refresh", params=query)
        if not isinstance(document, dict) or document.get("code") != 0:
            raise SyncFailure(f"{self.name}: TikTok refused to refresh the access token ({_message(document)});"
                              " authorize the app again and put the new refresh token in the environment")
        data = document["data"]
        state = {**state, "access_token": data["access_token"], "access_expires": int(data["access_token_expire_in"]),
                 "refresh_token": data.get("refresh_token") or state["refresh_token"]}
        self.tokens.write(state)
        return state


class TokenFile:
    """The channel's live tokens, in a 0600 file beside the database."""

    def __init__(self, path: Path, seed_refresh_token: str) -> None:
        self.path = path
        self.seed = seed_refresh_token

    def read(self) -> dict[str, Any]:
        seeded = hashlib.sha256(self.seed.encode()).hexdigest()
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = {}
        if state.get("seeded_from") != seeded:  # first use, or a new refresh token in the environment
            state = {"seeded_from": seeded, "refresh_token": self.seed}
        return state

    def write(self, state: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = self.path.with_suffix(".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, self.path)


def _code(document: Any) -> int | None:
    return document.get("code") if isinstance(document, dict) else None


def _message(document: Any) -> str:
    if isinstance(document, dict):
        return f"{document.get('code')} {str(document.get('message') or '')[:160]}"
    return "no reply"
