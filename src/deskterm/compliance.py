"""The outgoing check for replies to Amazon buyers (research/helpdesk.md §2c).

Amazon blocks, and can sanction, messages with links, e-mail addresses or phone numbers; it wants
the order id in every message and takes attachments up to 10 MB. Each problem is explained in a
sentence an agent can act on; sending anyway takes `--force`.
"""

from __future__ import annotations

import re

MAX_ATTACHMENTS_BYTES = 10 * 1024 * 1024

_LINK = re.compile(r"(?i)\b(?:https?://|ftp://|www\.)\S+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|info|io|"
                   r"shop|store|co|de|it|fr|es|uk|eu|ly|me|link|app|biz)(?:/\S*)?\b")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ORDER = re.compile(r"\b\d{3}-\d{7}-\d{7}\b")
# Seven or more digits, allowing the separators people type; an Amazon order id is not a phone number.
_PHONE = re.compile(r"(?<![\w-])\+?\(?\d[\d ()./-]{5,}\d(?![\w-])")


def _phone_numbers(text: str) -> list[str]:
    found = []
    for match in _PHONE.finditer(_ORDER.sub(" ", text)):
        digits = re.sub(r"\D", "", match.group())
        if len(digits) >= 7 and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", match.group().strip()):
            found.append(match.group().strip())
    return found


def amazon_reply_problems(body: str, order_id: str | None, attachment_sizes: list[int]) -> list[str]:
    """What Amazon's messaging rules would reject in this reply (empty when it may go)."""
    problems = []
    emails = _EMAIL.findall(body)
    links = [link for link in _LINK.findall(body) if not any(link in email for email in emails)]
    if links:
        problems.append(f"it contains a link ({links[0]}); Amazon allows no links in buyer messages")
    if emails:
        problems.append(f"it contains an e-mail address ({emails[0]}); Amazon does not allow them")
    phones = _phone_numbers(_EMAIL.sub(" ", body))
    if phones:
        problems.append(f"it contains a phone number ({phones[0]}); Amazon does not allow them")
    if order_id and order_id not in body:
        problems.append(f"the order id {order_id} is missing; Amazon asks for it in every message")
    total = sum(attachment_sizes)
    if total > MAX_ATTACHMENTS_BYTES:
        problems.append(f"the attachments total {total / 1024 / 1024:.1f} MB; Amazon takes up to 10 MB")
    return problems
