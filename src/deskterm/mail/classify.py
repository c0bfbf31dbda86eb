"""Recognise where a message comes from and what it is about.

Amazon's buyer-message relay (`<alias>@marketplace.amazon.<tld>`: the alias is stable per
buyer, the tld gives the marketplace), Amazon's own notifications (A-to-z claim, chargeback,
return request), Shopify and TikTok Shop notification mail, and plain e-mail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deskterm import marketplaces
from deskterm.mail.parse import ParsedMail

RELAY = re.compile(r"@marketplace\.amazon\.([a-z.]+)$")
AMAZON_ORDER_ID = re.compile(r"\b(\d{3}-\d{7}-\d{7})\b")
_SHOPIFY_ORDER = re.compile(r"(?:order|bestellung|ordine|commande|pedido)?\s*#\s?(\d{3,10})\b", re.I)
_TIKTOK_ORDER = re.compile(r"\b(\d{15,20})\b")
_TIKTOK_BUYER = re.compile(r"from buyer\s+(\S+)", re.I)
_AMAZON_DOMAIN = re.compile(r"@(?:[\w-]+\.)*amazon\.([a-z.]+)$")
# The relay wraps the buyer's words between dashed marker lines, whatever the language.
_MARKER = re.compile(r"^[ \t]*-{5,}[^\n]{0,60}?-{5,}[ \t]*$", re.M)

_NOTIFICATION_KINDS = (
    ("a_to_z", ("a-to-z", "a-z guarantee", "a-bis-z", "dalla a alla z", "a à z", "de la a a la z")),
    ("chargeback", ("chargeback", "rückbuchung", "riaddebito", "rétrofacturation", "contracargo")),
    ("return_request", ("return", "rücksendung", "reso", "retour", "devolución")),
)


@dataclass
class Classified:
    channel: str                 # amazon, shopify, tiktok, email
    kind: str                    # buyer_message, a_to_z, chargeback, return_request, notification, message, reply
    direction: str               # inbound or outbound
    customer_address: str | None
    customer_name: str | None
    order_id: str | None
    marketplace: str | None
    body: str
    wrapper: str | None


def classify(mail: ParsedMail, own_addresses: set[str]) -> Classified:
    sender = mail.sender or ""
    relay_recipients = [r for r in mail.recipients if RELAY.search(r)]
    # Mail to a buyer's relay address is ours (a Sent folder, a colleague's alias) only when it comes from
    # one of our own domains; without own_addresses configured there is nothing better to go by. Anyone
    # else writing to a relay address must not look like our reply (it would stop the ticket's clock).
    own_domains = {address.rpartition("@")[2].lower() for address in own_addresses}
    outbound = sender in own_addresses or (
        not RELAY.search(sender) and bool(relay_recipients)
        and (not own_domains or sender.rpartition("@")[2] in own_domains))
    text = f"{mail.subject}\n{mail.body}"
    if outbound:
        counterpart = relay_recipients[0] if relay_recipients else (mail.recipients[0] if mail.recipients else None)
        relay = RELAY.search(counterpart or "")
        return Classified(
            channel="amazon" if relay else _channel_of(counterpart or ""),
            kind="reply", direction="outbound", customer_address=counterpart, customer_name=None,
            order_id=_order_id(text), marketplace=marketplaces.from_tld(relay.group(1)) if relay else None,
            body=mail.body, wrapper=None,
        )
    relay = RELAY.search(sender)
    if relay:
        words, wrapper = split_relay_body(mail.body)
        name = (mail.sender_name or "").removesuffix(" - Amazon Marketplace").strip() or None
        return Classified("amazon", "buyer_message", "inbound", sender, name, _order_id(text),
                          marketplaces.from_tld(relay.group(1)), words, wrapper)
    amazon = _AMAZON_DOMAIN.search(sender)
    if amazon:
        lowered = text.lower()
        kind = next((k for k, words in _NOTIFICATION_KINDS if any(w in lowered for w in words)), "notification")
        return Classified("amazon", kind, "inbound", None, None, _order_id(text),
                          marketplaces.from_tld(amazon.group(1)), mail.body, None)
    channel = _channel_of(sender)
    if channel == "shopify":
        order = _SHOPIFY_ORDER.search(text)
        return Classified("shopify", "message", "inbound", mail.reply_to or sender,
                          mail.reply_to_name or mail.sender_name, f"#{order.group(1)}" if order else None,
                          None, mail.body, None)
    if channel == "tiktok":
        order = _TIKTOK_ORDER.search(text)
        buyer = _TIKTOK_BUYER.search(mail.subject)
        address = f"tiktok:{buyer.group(1).lower()}" if buyer else (mail.reply_to or sender)
        return Classified("tiktok", "message", "inbound", address, buyer.group(1) if buyer else mail.sender_name,
                          order.group(1) if order else None, None, mail.body, None)
    return Classified("email", "message", "inbound", sender or None, mail.sender_name, _order_id(text),
                      None, mail.body, None)


def _channel_of(address: str) -> str:
    domain = address.rpartition("@")[2]
    if domain == "shopify.com" or domain.endswith(".shopify.com"):
        return "shopify"
    if "tiktok" in domain:
        return "tiktok"
    return "email"


def _order_id(text: str) -> str | None:
    found = AMAZON_ORDER_ID.search(text)
    return found.group(1) if found else None


def split_relay_body(body: str) -> tuple[str, str | None]:
    """The buyer's own words, and Amazon's wrapper text around them."""
    markers = list(_MARKER.finditer(body))
    if len(markers) < 2:
        return body, None
    start, end = markers[0], markers[1]
    words = body[start.end():end.start()].strip()
    wrapper = (body[:start.start()].rstrip() + "\n[…]\n" + body[end.end():].lstrip()).strip()
    return words, wrapper
