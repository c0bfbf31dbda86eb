"""Shared helpers: run the real CLI in-process against a throw-away workspace."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from deskterm.cli import main

NOW = "2026-11-20T12:00:00Z"
pytest_plugins = ["mailservers"]  # the Dovecot and SMTP server fixtures


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("DESKTERM_HOME", raising=False)
    monkeypatch.delenv("DESKTERM_NOW", raising=False)
    return tmp_path / "ws"


@pytest.fixture
def cli(home: Path, capsys: pytest.CaptureFixture[str]):
    """`cli("import", path, "--json")` runs deskterm on the test workspace; returns code, out, err."""

    def run(*args: str | Path, now: str = NOW) -> Result:
        capsys.readouterr()
        try:
            main(["--home", str(home), "--now", now, *map(str, args)])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        else:  # pragma: no cover - main always exits
            code = 0
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
