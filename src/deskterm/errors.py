"""Errors a user can cause and fix; the CLI turns them into a message and an exit code."""

from __future__ import annotations


class UserError(Exception):
    """A usage or configuration problem: printed without a traceback, exit status 2."""

    exit_code = 2
