from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "deskterm", *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_core_commands_do_not_import_textual(tmp_path: Path) -> None:
    code = ("import sys; from deskterm.cli import main\n"
            "try:\n main(['--home', sys.argv[1], 'status', '--json'])\n"
            "except SystemExit: pass\n"
            "assert 'textual' not in sys.modules, 'textual imported'\n")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "ws")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_json_before_and_after_the_command(tmp_path: Path) -> None:
    before = run("--home", str(tmp_path), "--json", "status")
    after = run("--home", str(tmp_path), "status", "--json")
    assert before.returncode == after.returncode == 0
    assert json.loads(before.stdout) == json.loads(after.stdout)
    assert set(json.loads(after.stdout)) == {"counts", "claims", "quarantined", "outbound_queued", "indexed", "channels"}


def test_environment_home_and_now(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "DESKTERM_HOME": str(tmp_path / "envhome"), "DESKTERM_NOW": "2026-03-01T00:00:00Z"}
    result = run("status", env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "envhome" / "deskterm.db").exists()


def test_user_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    for args in (["show", "999"], ["--now", "yesterday", "status"], ["no-such-command"], ["show", "abc"],
                 ["import"]):
        result = run("--home", str(tmp_path), *args)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr and result.stderr.strip()


def test_missing_path_is_reported_and_exit_1(tmp_path: Path) -> None:
    result = run("--home", str(tmp_path), "import", str(tmp_path / "nope.txt"), "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["rejected"] == [
        {"file": str(tmp_path / "nope.txt"), "line": None, "reason": "no such file or folder"}]


def test_version_and_module_entry_point() -> None:
    result = run("--version")
    assert result.returncode == 0 and "deskterm" in result.stdout
