"""Amazon marketplaces: the country code deskterm uses, and how each one is written elsewhere."""

from __future__ import annotations

# code: (site domain, marketplace id, region, default currency)
MARKETPLACES: dict[str, tuple[str, str, str, str]] = {
    "US": ("amazon.com", "ATVPDKIKX0DER", "na", "USD"),
    "CA": ("amazon.ca", "A2EUQ1WTGCTBG2", "na", "CAD"),
    "MX": ("amazon.com.mx", "A1AM78C64UM0Y8", "na", "MXN"),
    "BR": ("amazon.com.br", "A2Q3Y263D00KWC", "na", "BRL"),
    "UK": ("amazon.co.uk", "A1F83G8C2ARO7P", "eu", "GBP"),
    "DE": ("amazon.de", "A1PA6795UKMFR9", "eu", "EUR"),
    "FR": ("amazon.fr", "A13V1IB3VIYZZH", "eu", "EUR"),
    "IT": ("amazon.it", "APJ6JRA9NG5V4", "eu", "EUR"),
    "ES": ("amazon.es", "A1RKKUPIHCS9HS", "eu", "EUR"),
    "NL": ("amazon.nl", "A1805IZSGTT6HS", "eu", "EUR"),
    "SE": ("amazon.se", "A2NODRKZP88ZB9", "eu", "SEK"),
    "PL": ("amazon.pl", "A1C3SOZRARQ6R3", "eu", "PLN"),
    "BE": ("amazon.com.be", "AMEN7PMS3EDWL", "eu", "EUR"),
    "IN": ("amazon.in", "A21TJRUUN4KGV", "eu", "INR"),
    "AE": ("amazon.ae", "A2VIGQ35RCS4UG", "eu", "AED"),
    "JP": ("amazon.co.jp", "A1VC38T7YXB528", "fe", "JPY"),
    "AU": ("amazon.com.au", "A39IBJ37TRP1C6", "fe", "AUD"),
    "SG": ("amazon.sg", "A19VAU5U5O7RUS", "fe", "SGD"),
}

_BY_DOMAIN = {domain: code for code, (domain, *_rest) in MARKETPLACES.items()}
_BY_TLD = {domain.removeprefix("amazon."): code for domain, code in _BY_DOMAIN.items()}


def from_site(text: str | None) -> str | None:
    """`Amazon.de`, `amazon.co.uk`, `www.amazon.com` -> `DE`, `UK`, `US` (None when not Amazon)."""
    if not text:
        return None
    site = text.strip().lower().removeprefix("www.")
    return _BY_DOMAIN.get(site)


def from_tld(tld: str) -> str | None:
    """The top-level part after `marketplace.amazon.` in a relay alias: `co.uk` -> `UK`."""
    return _BY_TLD.get(tld.lower())


def default_currency(code: str | None) -> str | None:
    return MARKETPLACES[code][3] if code in MARKETPLACES else None


_LANGUAGES = {"DE": "de", "FR": "fr", "BE": "fr", "IT": "it", "ES": "es", "MX": "es"}
LANGUAGES = ("en", "it", "de", "fr", "es")  # what deskterm writes templates and case texts in


def language(code: str | None) -> str:
    """The language a buyer on this marketplace reads (English where deskterm has no other)."""
    return _LANGUAGES.get((code or "").upper(), "en")
