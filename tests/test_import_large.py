"""A report big enough to be parsed in a second process behaves exactly like a small one."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from deskterm.reports.load import PARSER_PROCESS_BYTES

HEADER = ("Date\tFNSKU\tASIN\tMSKU\tTitle\tEvent Type\tReference ID\tQuantity\tFulfillment Center\t"
          "Disposition\tReason\tCountry\tReconciled Quantity\tUnreconciled Quantity\tDate and Time\n")


def write_ledger(path: Path) -> tuple[int, int]:
    """Rows until the file passes the parser-process threshold; one bad row and one repeat inside."""
    rows = 0
    bad_line = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write(HEADER)
        line = 1
        while out.tell() < PARSER_PROCESS_BYTES + 200_000:
            line += 1
            day = 1 + rows % 28
            quantity = "many" if rows == 40_000 else "-1"
            if rows == 40_000:
                bad_line = line
            out.write(f"06/{day:02d}/2026\tX00{rows % 300:07d}\tB0TEST0001\tSKU-{rows % 300}\tPan\tShipments\t"
                      f"{rows}\t{quantity}\tLEX1\tSELLABLE\t\tUS\t\t\t2026-06-{day:02d}T10:00:00-07:00\n")
            rows += 1
        # Amazon repeats identical rows: both copies must be kept.
        out.write("06/01/2026\tX000000000\tB0TEST0001\tSKU-0\tPan\tShipments\t0\t-1\tLEX1\tSELLABLE\t\tUS\t\t\t"
                  "2026-06-01T10:00:00-07:00\n")
        rows += 1
    return rows, bad_line


def run(home: Path, path: Path) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, "-m", "deskterm", "--home", str(home), "import", str(path), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stderr
    return done.returncode, json.loads(done.stdout)


def test_large_ledger_through_the_parser_process(tmp_path: Path) -> None:
    path = tmp_path / "ledger.txt"
    rows, bad_line = write_ledger(path)
    assert path.stat().st_size >= PARSER_PROCESS_BYTES
    code, first = run(tmp_path / "ws", path)
    assert code == 1
    assert first["imported"] == {"ledger": rows - 1}
    assert first["rejected"] == [{"file": str(path), "line": bad_line,
                                  "reason": "field 'Quantity': not a number: 'many'"}]
    conn = sqlite3.connect(tmp_path / "ws" / "deskterm.db")
    assert conn.execute("SELECT count(*) FROM ledger_events WHERE reference_id = '0'").fetchone()[0] == 2
    assert conn.execute("SELECT event_time FROM ledger_events WHERE reference_id = '5'").fetchone()[0] == \
        "2026-06-06T17:00:00Z"
    code, second = run(tmp_path / "ws", path)
    assert second["imported"] == {"ledger": 0} and second["duplicates"] == {"ledger": rows - 1}
