"""Import throughput and memory: a 1,000,000-row ledger file and a 100,000-message mbox.

Goals on a 2-core machine: >= 50,000 report rows/s and >= 1,000 messages/s, RSS under 300 MB.
Each import runs in its own process; the peak RSS printed is that process's peak plus the peak of
the parser process it starts for large report files (an upper bound on the memory used at once).

    python bench/import_bench.py [--rows N] [--messages N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from email.utils import format_datetime
import datetime as dt
from pathlib import Path

LEDGER_HEADER = ("Date\tFNSKU\tASIN\tMSKU\tTitle\tEvent Type\tReference ID\tQuantity\tFulfillment Center\t"
                 "Disposition\tReason\tCountry\tReconciled Quantity\tUnreconciled Quantity\tDate and Time\n")


def write_ledger(path: Path, rows: int, rng: random.Random) -> None:
    fnskus = [f"X00{rng.randrange(10**7):07d}" for _ in range(200)]
    start = dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc)
    with open(path, "w", encoding="utf-8") as out:
        out.write(LEDGER_HEADER)
        for i in range(rows):
            when = start + dt.timedelta(seconds=i * 31)
            fnsku = fnskus[i % len(fnskus)]
            kind = rng.random()
            if kind < 0.8:
                fields = ("Shipments", f"{rng.randrange(10**9)}", -1, "", "")
            elif kind < 0.95:
                fields = ("CustomerReturns", f"{rng.randrange(10**9)}", 1, "", "")
            else:
                fields = ("Adjustments", f"{rng.randrange(10**9)}", -rng.randrange(1, 4), rng.choice("M5EFNP"), "")
            event, ref, qty, reason, _ = fields
            out.write(f"{when:%m/%d/%Y}\t{fnsku}\tB0{i % 997:08d}\tSKU-{i % 200}\tKitchen thing {i % 200}\t{event}\t"
                      f"{ref}\t{qty}\tLEX1\tSELLABLE\t{reason}\tUS\t\t\t{when.isoformat()}\n")


def write_mbox(path: Path, count: int, rng: random.Random) -> None:
    """Amazon relay conversations: two buyer messages then a seller reply, repeated."""
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    with open(path, "wb") as out:
        for i in range(count):
            alias = f"buyer{i % 20000:05d}@marketplace.amazon.com"
            order = f"114-{rng.randrange(10**7):07d}-{rng.randrange(10**7):07d}"
            if i % 3 == 2:
                people = f"From: Support <support@alpinekitchen.example>\nTo: {alias}\nIn-Reply-To: <m{i - 1}@bench>\n"
            else:
                people = f'From: "Buyer {i} - Amazon Marketplace" <{alias}>\nTo: support@alpinekitchen.example\n'
            words = f"Hello, my order {order} has not arrived yet. Where is it? " * 3
            message = (
                f"{people}Subject: Inquiry from Amazon customer Buyer (Order: {order})\n"
                f"Message-ID: <m{i}@bench>\nDate: {format_datetime(start + dt.timedelta(minutes=i))}\n"
                "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
                f"------------- Begin message -------------\n\n{words}\n\n------------- End message -------------\n\n"
                "For Your Information: To help arbitrate disputes we retain all messages for two years.\n"
            )
            out.write(b"From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n" + message.encode() + b"\n")


_MEASURED_IMPORT = """
import resource, sys
from deskterm.cli import main
try:
    main(["--home", sys.argv[1], "import", sys.argv[2]])
except SystemExit:
    pass
finally:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    parser = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the parser process, if any
    print(own, parser, file=sys.stderr)
"""


def timed_import(home: Path, path: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one `deskterm import`: its own peak plus its parser process's."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _MEASURED_IMPORT, str(home), str(path)],
                          check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    own, parser = map(int, done.stderr.strip().splitlines()[-1].split())
    return elapsed, (own + parser) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    rng = random.Random(1)
    work = args.keep or Path(tempfile.mkdtemp(prefix="deskterm-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    ledger, mbox = work / "ledger.txt", work / "bench.mbox"
    if not ledger.exists():
        write_ledger(ledger, args.rows, rng)
    if not mbox.exists():
        write_mbox(mbox, args.messages, rng)
    print(f"inputs: ledger {ledger.stat().st_size / 1e6:.0f} MB ({args.rows:,} rows), "
          f"mbox {mbox.stat().st_size / 1e6:.0f} MB ({args.messages:,} messages)")
    seconds, rss = timed_import(work / "ws-ledger", ledger)
    print(f"ledger:  {args.rows / seconds:>10,.0f} rows/s      {seconds:6.1f} s   peak RSS {rss:5.0f} MB")
    seconds, rss = timed_import(work / "ws-mail", mbox)
    print(f"mbox:    {args.messages / seconds:>10,.0f} messages/s  {seconds:6.1f} s   peak RSS {rss:5.0f} MB")
    seconds, _ = timed_import(work / "ws-ledger", ledger)
    print(f"ledger re-import (all duplicates): {args.rows / seconds:,.0f} rows/s")


if __name__ == "__main__":
    main()
