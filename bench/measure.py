"""Run a command and measure it: wall seconds and the peak resident memory of its whole process tree.

deskterm starts helper processes (the report parser, two index writers), so the peak that matters is
what the tree holds at once: a sampler adds up the resident memory of the process and its descendants
every 50 ms (a spike shorter than that, or a helper process younger than half a second, can be missed).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Measured:
    seconds: float
    peak_rss_mb: float     # resident: private memory plus the pages of mapped files (Whoosh maps its segments)
    peak_anon_mb: float    # private memory alone: what the process costs the machine
    stdout: str
    stderr: str
    returncode: int


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _rss_kb(pid: int) -> tuple[int, int]:
    """(resident, resident and private) in kB."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            fields = statm.read().split()
    except OSError:
        return 0, 0
    resident, shared = int(fields[1]), int(fields[2])
    return resident * _PAGE_KB, (resident - shared) * _PAGE_KB


def descendants(root: int) -> list[int]:
    tree = _children()
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(tree.get(pid, []))
    return found


def run(command: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
        stdin: str | None = None) -> Measured:
    """Run `command` to its end; raise nothing (the caller reads returncode)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL, text=True)
    peak = peak_anon = 0
    done = threading.Event()

    def sample() -> None:
        # Reading every process's parent is what costs (on 2 cores, a tenth of one at 20 Hz), so
        # the tree is re-read every half second and the known processes sampled every 50 ms.
        nonlocal peak, peak_anon
        tree: list[int] = []
        for tick in itertools.count():
            if done.wait(0.05):
                return
            if tick % 10 == 0:
                tree = descendants(process.pid)
            sizes = [_rss_kb(pid) for pid in tree]
            peak = max(peak, sum(size[0] for size in sizes))
            peak_anon = max(peak_anon, sum(size[1] for size in sizes))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate(stdin)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return Measured(seconds, peak / 1024, peak_anon / 1024, out, err, process.returncode)
