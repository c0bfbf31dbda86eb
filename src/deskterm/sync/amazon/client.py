"""python-amazon-sp-api clients for one `[channels.NAME]` of kind "amazon".

Credentials come from the environment variables the channel names (never from the file). The
library has no argument for another API host or LWA token URL; both overrides (Amazon's sandbox,
the loopback servers of the tests) go through the two hooks it does have: the client's `endpoint`
attribute, and `auth_token_client_class` (research/amazon.md §4).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from sp_api.auth.access_token_client import AccessTokenClient
from sp_api.base import Marketplaces

from deskterm.errors import UserError


def _credentials(name: str, channel: dict[str, Any]) -> dict[str, str]:
    found = {}
    for key in ("refresh_token", "lwa_app_id", "lwa_client_secret"):
        variable = channel[f"{key}_env"]
        value = os.environ.get(variable)
        if not value:
            raise UserError(f"channel {name}: the environment variable {variable} ({key}) is not set")
        found[key] = value
    return found


def _token_client(url: str) -> type[AccessTokenClient]:
    parts = urlsplit(url)

    class ConfiguredTokenClient(AccessTokenClient):
        scheme = f"{parts.scheme}://"
        host = parts.netloc
        path = parts.path or "/auth/o2/token"

    return ConfiguredTokenClient


def marketplace(name: str, marketplace_id: str) -> Marketplaces:
    for candidate in Marketplaces:
        if candidate.marketplace_id == marketplace_id:
            return candidate
    raise UserError(f"channel {name}: unknown marketplace id {marketplace_id!r}")


def make_client(api: type, name: str, channel: dict[str, Any], marketplace_id: str) -> Any:
    """An SP-API client for one marketplace of the channel, with the channel's overrides."""
    kwargs: dict[str, Any] = {"credentials": _credentials(name, channel),
                              "marketplace": marketplace(name, marketplace_id)}
    if channel.get("lwa_token_url"):
        kwargs["auth_token_client_class"] = _token_client(channel["lwa_token_url"])
    # The library lets this variable override the marketplace we pass: not here.
    saved = os.environ.pop("SP_API_DEFAULT_MARKETPLACE", None)
    try:
        client = api(**kwargs)
    finally:
        if saved is not None:
            os.environ["SP_API_DEFAULT_MARKETPLACE"] = saved
    if channel.get("endpoint"):
        client.endpoint = channel["endpoint"].rstrip("/")
    return client
