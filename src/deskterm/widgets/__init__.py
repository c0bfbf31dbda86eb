"""Focused Textual widgets; each one renders only sanitized text, never markup."""
