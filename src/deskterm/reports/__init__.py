"""Seller Central report files: reading, type detection by header, and storing rows."""
