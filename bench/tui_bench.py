"""TUI: launch to first painted queue, key press to repaint, and bytes sent per cursor move.

Builds (once, cached in --keep) a workspace with N open tickets of two messages each, then runs the
real App headless at 120x40. A key press is timed to the first screen update it caused (the moment
the update is ready to be written to the terminal), not to Pilot's own waiting; its size in bytes
is what a terminal would receive.

    python bench/tui_bench.py [--tickets 100000] [--keep DIR]

Goals (2 cores, 1,000,000 tickets): first paint <= 0.8 s, key to repaint <= 30 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import datetime as dt
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from deskterm.clock import Clock, iso
from deskterm.store import Store

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)
RISKS = ["low"] * 5 + ["medium"] * 3 + ["high"] * 2 + ["critical"]
OPENS = 15  # tickets opened for the median: of 5, one slow frame on this VM moved it by 10 ms


TICKET_COLUMNS = ("id, channel, order_id, marketplace, subject, created_at, risk, sla_started_at, sla_due, status_at,"
                  " last_inbound_at, last_outbound_at, status")
MESSAGE_COLUMNS = ("id, message_id, ticket_id, channel, kind, direction, sender, sender_name, subject, sent_at, body,"
                   " order_id, source, content_hash")
BODY = ("Hello, the frying pan from order {order} arrived today but the lid is cracked and the handle wobbles. "
        "I attached nothing yet; can you send a replacement or should I return it? Thank you. ") * 3


def build(home: Path, count: int) -> None:
    """`count` open tickets, each a buyer's message and a reply, written straight into the store."""
    home.mkdir(parents=True, exist_ok=True)
    store = Store(home / "deskterm.db", Clock(NOW))
    if store.scalar("SELECT count(*) FROM tickets") >= count and store.scalar("SELECT count(*) FROM messages"):
        return
    store.close()
    for old in home.glob("deskterm.db*"):  # an older or smaller build: start again
        old.unlink()
    store = Store(home / "deskterm.db", Clock(NOW))
    rng = random.Random(5)
    started = time.perf_counter()
    with store.write() as conn:
        tickets, messages = [], []
        for number in range(1, count + 1):
            created = NOW - dt.timedelta(minutes=rng.randrange(60 * 24 * 30))
            due = created + dt.timedelta(hours=rng.choice([2, 4, 12, 24]))
            order = f"111-{number:07d}-0000000"
            channel = rng.choice(["amazon", "amazon", "shopify", "email"])
            subject = f"Buyer question number {number} about the frying pan"
            replied = created + dt.timedelta(minutes=30)
            tickets.append((number, channel, order, "US", subject, iso(created), rng.choice(RISKS), iso(created),
                            iso(due), iso(created), iso(created), iso(replied)))
            buyer = f"buyer{number % 50_000}@marketplace.amazon.com"
            messages.append((2 * number - 1, f"<q{number}@bench>", number, channel, "buyer_message", "inbound", buyer,
                             f"Buyer {number}", subject, iso(created), BODY.format(order=order), order, "bench",
                             number.to_bytes(8, "big")))
            messages.append((2 * number, f"<r{number}@bench>", number, channel, "reply", "outbound",
                             "support@example.com", "Support", "Re: " + subject, iso(replied),
                             "Sorry to hear that: a replacement is on its way today.", order, "bench",
                             (-number).to_bytes(8, "big", signed=True)))
            if len(tickets) == 50_000 or number == count:
                conn.executemany(f"INSERT INTO tickets ({TICKET_COLUMNS}) VALUES ({', '.join('?' * 12)}, 'open')",
                                 tickets)
                conn.executemany(f"INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES ({', '.join('?' * 14)})",
                                 messages)
                tickets, messages = [], []
    store.close()
    print(f"built {count:,} tickets and {2 * count:,} messages in {time.perf_counter() - started:.1f} s")


async def measure(home: Path) -> dict[str, float]:
    from deskterm.app import DesktermApp
    from deskterm.cli import Session
    from deskterm.widgets.queue_list import QueueList
    from textual._compositor import CompositorUpdate

    started = time.perf_counter()
    session = Session(home=str(home), clock=Clock(NOW))
    app = DesktermApp(session)
    writes: list[tuple[float, int]] = []
    figures: dict[str, float] = {}
    original = app._display

    def display(screen, renderable) -> None:  # what a real terminal would be sent (headless sends nothing)
        if isinstance(renderable, CompositorUpdate) and not app._batch_count:
            writes.append((time.perf_counter(), len(renderable.render_segments(app.console).encode())))
        original(screen, renderable)

    app._display = display
    async with app.run_test(size=(120, 40)) as pilot:
        while not writes and time.perf_counter() - started < 30:
            await asyncio.sleep(0.001)
        await pilot.pause()
        figures["first paint s"] = (writes[0][0] if writes else time.perf_counter()) - started
        queue = app.screen.query_one(QueueList)

        async def timed(*keys: str) -> tuple[float, int]:
            """Milliseconds from the key to the first screen update it caused, and the bytes sent.
            (The first update, not the last: a count finishing in a worker later repaints too.)"""
            await asyncio.sleep(0.05)  # let earlier work (a count in a worker) land outside the window
            await pilot.pause()
            writes.clear()
            pressed = time.perf_counter()
            await pilot.press(*keys)
            await pilot.pause()
            if not writes:
                return 0.0, 0
            return (writes[0][0] - pressed) * 1000, sum(size for _at, size in writes)

        moves = [await timed("j") for _ in range(40)]
        pages = [await timed("pagedown") for _ in range(20)]
        jumps = [await timed("G"), await timed("g")]
        opens = []
        cpu = time.process_time()
        for _ in range(OPENS):
            opens.append(await timed("enter"))
            await timed("escape")
            await timed("j")
        figures["CPU ms per open, close and move"] = (time.process_time() - cpu) / OPENS * 1000
        figures["cursor move ms p50"] = statistics.median(m for m, _ in moves)
        figures["cursor move ms max"] = max(m for m, _ in moves)
        figures["bytes per cursor move"] = statistics.median(b for _, b in moves)
        figures["page down ms p50"] = statistics.median(m for m, _ in pages)
        figures["jump to end / start ms"] = max(m for m, _ in jumps)
        figures["open ticket ms p50"] = statistics.median(m for m, _ in opens)
        figures["tickets"] = queue.pager.count()
    return figures


def import_us() -> int:
    """Microseconds to import the app in a fresh interpreter, as a launch pays them (timed with a
    clock around the import: `-X importtime` adds its own cost to every module)."""
    done = subprocess.run([sys.executable, "-c", "import time; started = time.perf_counter_ns(); import deskterm.app;"
                           " print((time.perf_counter_ns() - started) // 1000)"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    home = args.keep or Path(tempfile.mkdtemp(prefix="deskterm-tui-"))
    build(home, args.tickets)
    total_us = statistics.median(import_us() for _ in range(5))
    figures = asyncio.run(measure(home))
    if args.json:
        print(json.dumps({"import deskterm.app s": total_us / 1e6, **figures}))
        return
    print(f"import deskterm.app        {total_us / 1e6:.3f} s (paid before the first paint too)")
    for name, value in figures.items():
        print(f"{name:<26} {value:,.3f}" if isinstance(value, float) else f"{name:<26} {value:,}")


if __name__ == "__main__":
    main()
