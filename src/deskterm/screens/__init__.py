"""Textual screens of the terminal UI."""
