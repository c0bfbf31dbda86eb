"""deskterm: a keyboard-driven, local-first help desk for Amazon FBA sellers."""

__version__ = "0.1.0"
