"""The one table of bench/archive.py: every measured figure at each size, its peak memory, its goal.

A figure is followed by + when it meets the goal its issue set, and by ! when it misses it. Memory
is the peak resident size of the whole process tree, and in brackets its private part: resident
size also counts the pages of files a process maps, as Whoosh maps its index segments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Row:
    label: str
    value: Callable[[dict], Any]            # results of one size -> figure (KeyError: not measured)
    show: Callable[[Any], str]
    rss: Callable[[dict], dict] | None = None   # results of one size -> {"rss_mb", "anon_mb"}
    goal: str = ""
    met: Callable[[Any, str], bool] | None = None   # (figure, size) -> goal met
    rss_goal_mb: float | None = None                  # peak RSS at most this


def rate(unit: str) -> Callable[[Any], str]:
    return lambda value: f"{value:,.0f} {unit}"


def ms_pair(value: tuple[float, float]) -> str:
    return f"{value[0]:,.1f} / {value[1]:,.1f}"


def search(engine: str, sort: str = "newest") -> Callable[[dict], tuple[float, float]]:
    return lambda r: (r["search"][f"{engine} {sort}"]["p50"], r["search"][f"{engine} {sort}"]["p95"])


def ratio(engine: str) -> Callable[[dict], tuple[float, float]]:
    return lambda r: (r["search"]["deskterm newest"]["p50"] / r["search"][f"{engine} newest"]["p50"],
                      r["search"]["deskterm newest"]["p95"] / r["search"][f"{engine} newest"]["p95"])


def p95_goal(size: str) -> float:
    """Issue 3's goal: p95 <= 50 ms at 100k messages, <= 150 ms at 1M."""
    return 50.0 if size.endswith("k") else 150.0


ROWS = [
    Row("report import (ledger rows/s)", lambda r: r["reports"]["rate"], rate("rows/s"),
        lambda r: r["reports"], ">= 50,000/s, < 300 MB", lambda v, s: v >= 50_000, 300),
    Row("  ledger rows imported", lambda r: r["reports"]["rows"], rate("")),
    Row("mail import (mbox)", lambda r: r["mail"]["rate"], rate("msg/s"), lambda r: r["mail"],
        ">= 1,000/s", lambda v, s: v >= 1_000),
    Row("IMAP sync of new mail into the archive", lambda r: r["imap"]["rate"], rate("msg/s"),
        lambda r: r["imap"], ">= 500/s", lambda v, s: v >= 500),
    Row("  messages synced", lambda r: r["imap"]["messages"], rate("")),
    Row("indexing (index rebuild)", lambda r: r["index"]["rate"], rate("msg/s"), lambda r: r["index"],
        ">= 1,500/s", lambda v, s: v >= 1_500),
    Row("  index size", lambda r: r["index"]["size_mb"], rate("MB")),
    Row("  SQLite FTS5 build", lambda r: r["index"]["fts"]["rate"], rate("msg/s"),
        lambda r: r["index"]["fts"]),
    Row("  notmuch new", lambda r: r["index"]["notmuch"]["rate"], rate("msg/s"),
        lambda r: r["index"]["notmuch"]),
    Row("search p50 / p95 ms, deskterm", search("deskterm"), ms_pair,
        lambda r: r["search"]["deskterm newest"], "p95 <= 50 (100k), <= 150 (1M)",
        lambda v, s: v[1] <= p95_goal(s)),
    Row("  SQLite FTS5", search("fts"), ms_pair, lambda r: r["search"]["fts newest"]),
    Row("  notmuch", search("notmuch"), ms_pair, lambda r: r["search"]["notmuch newest"]),
    Row("  deskterm / FTS5 (p50, p95)", ratio("fts"), lambda v: f"{v[0]:.2f}x / {v[1]:.2f}x"),
    Row("  deskterm / notmuch (p50, p95)", ratio("notmuch"), lambda v: f"{v[0]:.2f}x / {v[1]:.2f}x"),
    Row("search by relevance, deskterm", search("deskterm", "relevance"), ms_pair,
        lambda r: r["search"]["deskterm relevance"], "(same p95 goal)",
        lambda v, s: v[1] <= p95_goal(s)),
    Row("  SQLite FTS5 (bm25)", search("fts", "relevance"), ms_pair,
        lambda r: r["search"]["fts relevance"]),
    Row("queue: launch to first paint", lambda r: r["tui"]["launch to first paint s"], lambda v: f"{v:.2f} s",
        lambda r: r["tui"], "<= 0.8 s", lambda v, s: v <= 0.8),
    Row("  key to repaint: cursor p50 / max", lambda r: (r["tui"]["cursor move ms p50"], r["tui"]["cursor move ms max"]),
        ms_pair, None, "<= 30 ms", lambda v, s: v[1] <= 30),
    Row("  page down p50", lambda r: r["tui"]["page down ms p50"], lambda v: f"{v:.1f} ms", None, "<= 30 ms",
        lambda v, s: v <= 30),
    Row("  jump to end / start", lambda r: r["tui"]["jump to end / start ms"], lambda v: f"{v:.1f} ms", None,
        "<= 30 ms", lambda v, s: v <= 30),
    Row("  open a ticket p50", lambda r: r["tui"]["open ticket ms p50"], lambda v: f"{v:.1f} ms", None, "<= 30 ms",
        lambda v, s: v <= 30),
    Row("  CPU per open, close and move", lambda r: r["tui"]["CPU ms per open, close and move"],
        lambda v: f"{v:.0f} ms"),
    Row("  bytes sent per cursor move", lambda r: r["tui"]["bytes per cursor move"], rate("B")),
    Row("claims scan", lambda r: r["claims"]["seconds"], lambda v: f"{v:.1f} s", lambda r: r["claims"],
        rss_goal_mb=500),
    Row("  ledger rows scanned", lambda r: r["claims"]["ledger"], rate("")),
    Row("  ledger rows per second", lambda r: r["claims"]["ledger"] / r["claims"]["seconds"], rate("rows/s"), None,
        ">= 66,667/s (2M in 30 s), <= 500 MB", lambda v, s: v >= 2_000_000 / 30),
]


def _cell(row: Row, results: dict, size: str) -> tuple[str, str]:
    try:
        figure = row.value(results[size])
    except (KeyError, TypeError, ZeroDivisionError):
        return "-", ""
    text = row.show(figure).strip()
    if row.met is not None:
        text += " +" if row.met(figure, size) else " !"
    try:
        figures = row.rss(results[size]) if row.rss else None
        private = f" ({figures['anon_mb']:,.0f})" if figures and "anon_mb" in figures else ""
        memory = f"{figures['rss_mb']:,.0f}{private} MB" if figures else ""
        if figures and row.rss_goal_mb is not None:
            memory += " +" if figures["rss_mb"] <= row.rss_goal_mb else " !"
    except (KeyError, TypeError):
        memory = ""
    return text, memory


def render(results: dict) -> str:
    sizes = sorted(results, key=lambda size: float(size[:-1]) * (1e3 if size.endswith("k") else 1e6))
    header = ["", *[part for size in sizes for part in (size.upper(), "peak RSS (anon)")], "goal"]
    lines = [header]
    for row in ROWS:
        lines.append([row.label, *[part for size in sizes for part in _cell(row, results, size)], row.goal])
    widths = [max(len(line[n]) for line in lines) for n in range(len(header))]
    out = []
    for number, line in enumerate(lines):
        cells = [line[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(line[1:-1], widths[1:-1])]
        out.append("  ".join([*cells, line[-1]]).rstrip())
        if number == 0:
            out.append("-" * len(out[0]))
    stamps = sorted({(size, stage["commit"], stage["measured"][:10]) for size in sizes
                     for stage in results[size].values()})
    out.append("")
    out.append("measured at: " + "; ".join(f"{size} {commit} {day}" for size, commit, day in stamps))
    return "\n".join(out)
