"""config.toml: read with tomllib and validated strictly against one declared schema.

An unknown key or a wrong type is a configuration error (exit 2) that names the key path, so a
typo never silently turns a setting off. Secrets never live in the file: a channel names the
environment variable (`*_env`) or the 0600 file (`*_file`) that holds each one.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deskterm.errors import UserError
from deskterm.reconcile.policy import KINDS as CLAIM_KINDS


@dataclass(frozen=True)
class Key:
    """One setting: its type, its default, and the values it may take."""

    kind: type | tuple[type, ...]
    default: Any = None
    required: bool = False
    choices: tuple[Any, ...] = ()
    item: type | None = None  # element type of a list


_SECURITY = ("tls", "starttls", "none")

_NUMBER = (int, float)
_TOP: dict[str, Key] = {
    "own_addresses": Key(list, [], item=str),
    "agent": Key(str),                 # who acts; else $DESKTERM_AGENT, else the login name
    "templates_dir": Key(str),         # reply templates; else templates/ beside config.toml
    "undo_seconds": Key(int, 10),      # a queued reply can be taken back this long; sync waits as long
    "purge_after_days": Key(int, 30),  # buyers' personal data is removed this long after delivery (deskterm purge)
    "risk_rules_file": Key(str),
    "sourcing_costs_file": Key(str),
}
_TARGETS: dict[str, Key] = {
    "critical_hours": Key(_NUMBER, 2),
    "high_hours": Key(_NUMBER, 4),
    "medium_hours": Key(_NUMBER, 12),
    "low_hours": Key(_NUMBER, 24),
}
_SLA: dict[str, Key] = {
    "response_hours": Key(_NUMBER, 24),   # Amazon's limit for answering a buyer message
    **_TARGETS,
}
# [sla.channels.NAME], NAME being a ticket channel: amazon, shopify, tiktok, email.
_SLA_CHANNEL: dict[str, Key] = {
    **{key: Key(_NUMBER) for key in _TARGETS},
    "hard_limit_hours": Key(_NUMBER),
    "business_hours": Key(str),        # "mon-fri 09:00-18:00"
    "timezone": Key(str, "UTC"),
    "holidays": Key(list, [], item=str),
}
SLA_CHANNELS = ("amazon", "shopify", "tiktok", "email")
# [views.NAME]: a saved queue view (the TUI's `v` key cycles through them).
_VIEW: dict[str, Key] = {
    "scope": Key(str, "open", choices=("open", "mine", "unassigned", "all")),
    "channel": Key(str, choices=SLA_CHANNELS),
    "risk": Key(str, choices=("critical", "high", "medium")),
}
# [claims] and its [[claims.window]] rules (see reconcile/policy.py).
_CLAIMS: dict[str, Key] = {
    "underpaid_tolerance_percent": Key(_NUMBER, 5),
    "window": Key(list, [], item=dict),
}
_CLAIM_WINDOW: dict[str, Key] = {
    "kind": Key(str, required=True, choices=CLAIM_KINDS),
    "marketplaces": Key(list, [], item=str),
    "opens_after_days": Key(int, required=True),
    "deadline_days": Key(int, required=True),
    "effective": Key(str, required=True),
    "source": Key(str, required=True),
}
_CHANNEL_COMMON: dict[str, Key] = {
    "kind": Key(str, required=True, choices=("amazon", "imap", "shopify", "tiktok")),
    "enabled": Key(bool, True),
    "history_days": Key(int, 730),
    "interval_seconds": Key(int, 60),   # how often `sync run` syncs the channel
}
_CHANNEL_KINDS: dict[str, dict[str, Key]] = {
    "amazon": {
        "region": Key(str, required=True, choices=("na", "eu", "fe")),
        "marketplaces": Key(list, required=True, item=str),
        "refresh_token_env": Key(str, required=True),
        "lwa_app_id_env": Key(str, required=True),
        "lwa_client_secret_env": Key(str, required=True),
        "endpoint": Key(str),
        "lwa_token_url": Key(str),
    },
    "imap": {
        "host": Key(str, required=True),
        "port": Key(int, 993),
        "security": Key(str, "tls", choices=_SECURITY),
        "username": Key(str, required=True),
        "password_env": Key(str),
        "password_file": Key(str),
        "mailboxes": Key(list, ["INBOX"], item=str),
        "mark_seen": Key(bool, False),
        "smtp_host": Key(str),
        "smtp_port": Key(int, 587),
        "smtp_security": Key(str, "starttls", choices=_SECURITY),
        "smtp_username": Key(str),
        "smtp_password_env": Key(str),
        "smtp_password_file": Key(str),
        "from": Key(str),
    },
    "shopify": {
        "shop": Key(str, required=True),
        "access_token_env": Key(str),
        "access_token_file": Key(str),
        "api_version": Key(str, "2026-01"),   # pinned: fields change between versions
        "endpoint": Key(str),
    },
    "tiktok": {
        "shop": Key(str, required=True),      # the shop's name, id or code among those the app may use
        "app_key": Key(str),
        "app_key_env": Key(str),
        "app_secret_env": Key(str),
        "app_secret_file": Key(str),
        "refresh_token_env": Key(str),
        "refresh_token_file": Key(str),
        "endpoint": Key(str),
        "auth_endpoint": Key(str),
    },
}

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class Config:
    """The effective configuration: the file's values over the defaults."""

    own_addresses: list[str] = field(default_factory=list)
    agent: str | None = None
    templates_dir: str | None = None
    undo_seconds: int = 10
    purge_after_days: int = 30
    keys: dict[str, str] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    risk_rules_file: str | None = None
    sourcing_costs_file: str | None = None
    sla: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=lambda: _defaults(_CLAIMS))
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: Path | None = None

    def own_address_set(self) -> set[str]:
        """Every address that marks a message as ours: `own_addresses` plus each channel's `from`."""
        addresses = {a.strip().lower() for a in self.own_addresses}
        for channel in self.channels.values():
            if channel.get("from"):
                addresses.add(channel["from"].strip().lower())
        return addresses

    def masked(self) -> dict[str, Any]:
        """The configuration for display: secret references shown with whether they resolve."""
        channels = {}
        for name, channel in self.channels.items():
            shown: dict[str, Any] = {}
            for key, value in channel.items():
                if key.endswith("_env") and value:
                    shown[key] = {"env": value, "set": bool(os.environ.get(value))}
                elif key.endswith("_file") and value:
                    shown[key] = {"file": value, "exists": Path(value).expanduser().is_file()}
                else:
                    shown[key] = value
            channels[name] = shown
        return {
            "source": str(self.source) if self.source else None,
            "own_addresses": self.own_addresses,
            "agent": self.agent,
            "templates_dir": self.templates_dir,
            "undo_seconds": self.undo_seconds,
            "purge_after_days": self.purge_after_days,
            "keys": self.keys,
            "views": self.views,
            "risk_rules_file": self.risk_rules_file,
            "sourcing_costs_file": self.sourcing_costs_file,
            "sla": self.sla,
            "claims": self.claims,
            "channels": channels,
        }


def load_config(path: Path) -> Config:
    """Read and validate `path`; a missing file means every default."""
    if not path.exists():
        return Config(sla={**_defaults(_SLA), "channels": {}})
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    return _validate(raw, path)


def _validate(raw: dict[str, Any], path: Path) -> Config:
    def fail(key_path: str, problem: str) -> UserError:
        return UserError(f"{path}: {key_path}: {problem}")

    top = dict(raw)
    keys = top.pop("keys", {})
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise fail("keys", "expected a table of binding id = \"keys\" (e.g. \"conversation.reply\" = \"R\")")
    sla = top.pop("sla", {})
    views = top.pop("views", {})
    if not isinstance(views, dict) or not all(isinstance(v, dict) for v in views.values()):
        raise fail("views", "expected tables like [views.urgent] with scope, channel and risk")
    channels = top.pop("channels", {})
    claims = top.pop("claims", {})
    if not isinstance(claims, dict):
        raise fail("claims", f"expected a table, got {_type_name(claims)}")
    values = _check_table(top, _TOP, "", fail)
    if not isinstance(sla, dict):
        raise fail("sla", f"expected a table, got {_type_name(sla)}")
    sla = dict(sla)
    sla_channels = sla.pop("channels", {})
    if not isinstance(sla_channels, dict):
        raise fail("sla.channels", f"expected a table, got {_type_name(sla_channels)}")
    if not isinstance(channels, dict):
        raise fail("channels", f"expected a table, got {_type_name(channels)}")
    config = Config(
        own_addresses=values["own_addresses"],
        agent=values["agent"],
        templates_dir=values["templates_dir"],
        undo_seconds=values["undo_seconds"],
        purge_after_days=values["purge_after_days"],
        keys=dict(keys),
        views={name: _check_table(view, _VIEW, f"views.{name}.", fail) for name, view in views.items()},
        risk_rules_file=values["risk_rules_file"],
        sourcing_costs_file=values["sourcing_costs_file"],
        sla={**_check_table(sla, _SLA, "sla.", fail), "channels": {}},
        claims=_check_claims(claims, fail),
        source=path,
    )
    for name, table in sla_channels.items():
        prefix = f"sla.channels.{name}"
        if name not in SLA_CHANNELS:
            raise fail(prefix, f"unknown channel; expected one of {', '.join(SLA_CHANNELS)}")
        if not isinstance(table, dict):
            raise fail(prefix, f"expected a table, got {_type_name(table)}")
        checked = _check_table(table, _SLA_CHANNEL, prefix + ".", fail)
        if name == "amazon" and checked["business_hours"]:
            raise fail(prefix + ".business_hours", "Amazon counts weekends and holidays; business hours are "
                                                   "for other channels")
        if checked["business_hours"]:
            from deskterm.triage.sla import parse_business_hours

            try:
                parse_business_hours(checked["business_hours"], checked["timezone"], checked["holidays"], prefix)
            except UserError as exc:
                raise UserError(f"{path}: {exc}") from None
        config.sla["channels"][name] = checked
    for name, channel in channels.items():
        prefix = f"channels.{name}."
        if not isinstance(channel, dict):
            raise fail(f"channels.{name}", f"expected a table, got {_type_name(channel)}")
        kind = channel.get("kind")
        if kind not in _CHANNEL_KINDS:
            choices = ", ".join(_CHANNEL_KINDS)
            raise fail(prefix + "kind", f"expected one of {choices}, got {kind!r}")
        checked = _check_table(channel, {**_CHANNEL_COMMON, **_CHANNEL_KINDS[kind]}, prefix, fail)
        _check_transport(checked, prefix, fail)
        config.channels[name] = checked
    return config


def _check_claims(claims: dict[str, Any], fail) -> dict[str, Any]:
    from deskterm.marketplaces import MARKETPLACES

    checked = _check_table(claims, _CLAIMS, "claims.", fail)
    tolerance = checked["underpaid_tolerance_percent"]
    if not 0 <= tolerance < 100:
        raise fail("claims.underpaid_tolerance_percent", f"expected a percentage from 0 to 100, got {tolerance}")
    rules = []
    for number, rule in enumerate(checked["window"], 1):
        prefix = f"claims.window[{number}]."
        rule = _check_table(rule, _CLAIM_WINDOW, prefix, fail)
        try:
            dt.date.fromisoformat(rule["effective"])
        except ValueError:
            raise fail(prefix + "effective", f"expected a date YYYY-MM-DD, got {rule['effective']!r}") from None
        unknown = [code for code in rule["marketplaces"] if code not in MARKETPLACES]
        if unknown:
            raise fail(prefix + "marketplaces", f"unknown marketplace {unknown[0]!r}; expected codes such as US, UK, DE")
        if not 0 <= rule["opens_after_days"] <= rule["deadline_days"]:
            raise fail(prefix + "deadline_days", "the window must open on or after the event and close after it opens")
        rules.append(rule)
    checked["window"] = rules
    return checked


def _check_table(table: dict[str, Any], schema: dict[str, Key], prefix: str, fail) -> dict[str, Any]:
    for key in table:
        if key not in schema:
            raise fail(prefix + key, "unknown key")
    result: dict[str, Any] = {}
    for key, spec in schema.items():
        if key not in table:
            if spec.required:
                raise fail(prefix + key, "required key is missing")
            result[key] = list(spec.default) if isinstance(spec.default, list) else spec.default
            continue
        value = table[key]
        if not isinstance(value, spec.kind) or (spec.kind is int and isinstance(value, bool)):
            raise fail(prefix + key, f"expected {_type_name(spec.kind)}, got {_type_name(value)}")
        if spec.item is not None and not all(isinstance(v, spec.item) for v in value):
            raise fail(prefix + key, f"expected a list of {_type_name(spec.item)}")
        if spec.choices and value not in spec.choices:
            raise fail(prefix + key, f"expected one of {', '.join(map(str, spec.choices))}, got {value!r}")
        result[key] = value
    return result


def _check_transport(channel: dict[str, Any], prefix: str, fail) -> None:
    """Plain-text transport is allowed only to this machine (tests, local relays)."""
    for security_key, host_key in (("security", "host"), ("smtp_security", "smtp_host")):
        if channel.get(security_key) == "none" and channel.get(host_key) not in _LOOPBACK:
            raise fail(prefix + security_key, '"none" is only allowed with a loopback host (127.0.0.1)')


def _defaults(schema: dict[str, Key]) -> dict[str, Any]:
    return {key: spec.default for key, spec in schema.items()}


def _type_name(value: Any) -> str:
    if value == _NUMBER:
        return "number"
    kind = value if isinstance(value, (type, tuple)) else type(value)
    names = {str: "string", int: "integer", bool: "boolean", list: "array", dict: "table", float: "float"}
    return names.get(kind, getattr(kind, "__name__", str(kind)))
