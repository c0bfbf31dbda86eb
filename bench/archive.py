"""deskterm at archive scale, beside SQLite FTS5 and notmuch: one command, one table.

For each size (100k and 1M messages) it builds the inputs once and keeps them in bench/out/SIZE/:
the mail archive as an mbox and a Maildir (bench/dataset.py), a ledger report, the notmuch database,
a store of tickets for the queue and a store for the claims scan. Then it measures, each in a process
of its own with its whole process tree's peak memory:

    reports   `deskterm import` of a ledger report (1M rows at 100k, 5M at 1M)
    mail      `deskterm import` of the mbox into a new workspace (the archive every later stage uses)
    index     `deskterm index rebuild` of that archive; FTS5's build and `notmuch new` beside it
    search    the 200 mixed queries on deskterm, FTS5 and notmuch, newest first; relevance too
    imap      `deskterm sync once`: 20,000 new messages from Dovecot into a copy of the archive
    tui       launch to first painted queue, key to repaint, with as many open tickets as messages
    claims    `deskterm claims scan` (ledger rows, order lines and refunds in proportion)

Figures are kept in bench/out/results.json with the commit they were measured at, so `--only`
re-measures some stages and the table still shows every row.

    python bench/archive.py [--sizes 100k,1m] [--only STAGE,...] [--table]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import dataset
import measure
from import_bench import write_ledger

BENCH = Path(__file__).resolve().parent
OUT = Path(os.environ.get("DESKTERM_BENCH_OUT", BENCH / "out"))
NOW = "2026-11-20T12:00:00Z"
STAGES = ["reports", "mail", "index", "search", "imap", "tui", "claims"]
DEBIAN_PYTHON = "/usr/bin/python3"


def messages(size: str) -> int:
    """"100k" -> 100,000; "1m" -> 1,000,000 (any count with k or m works, for a quick try)."""
    return int(float(size[:-1]) * {"k": 1_000, "m": 1_000_000}[size[-1]])


def ledger_rows(size: str) -> int:
    """Ten ledger rows a message up to 1M rows, then five: 1M rows at 100k messages, 5M at 1M."""
    return min(10 * messages(size), max(1_000_000, 5 * messages(size)))


def deskterm(home: Path, *args: str, env: dict[str, str] | None = None) -> measure.Measured:
    done = measure.run([sys.executable, "-m", "deskterm", "--home", str(home), "--now", NOW, *args],
                       env={**os.environ, **(env or {})})
    if done.returncode not in (0, 1):  # 1: something was quarantined, and said so
        raise SystemExit(f"deskterm {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done


def memory(done: measure.Measured) -> dict:
    return {"rss_mb": done.peak_rss_mb, "anon_mb": done.peak_anon_mb}


def seller_config(home: Path, extra: str = "") -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'own_addresses = ["{dataset.SELLER}"]\n{extra}')


def ensure_data(size: str, folder: Path) -> None:
    if not (folder / "data" / "meta.json").exists():
        started = time.perf_counter()
        shutil.rmtree(folder / "data", ignore_errors=True)
        dataset.write(folder / "data", messages(size))
        print(f"  generated {messages(size):,} messages in {time.perf_counter() - started:.0f} s", flush=True)
    queries = folder / "queries.json"
    if not queries.exists():
        queries.write_text(json.dumps(dataset.queries(messages(size))))


def stage_reports(size: str, folder: Path) -> dict:
    ledger = folder / "ledger.txt"
    rows = ledger_rows(size)
    if not ledger.exists():
        write_ledger(folder / "ledger.part", rows, random.Random(1))
        (folder / "ledger.part").rename(ledger)
    home = folder / "ledger-ws"
    shutil.rmtree(home, ignore_errors=True)
    done = deskterm(home, "import", str(ledger), "--json")
    shutil.rmtree(home, ignore_errors=True)
    return {"rows": rows, "seconds": done.seconds, "rate": rows / done.seconds, **memory(done)}


def stage_mail(size: str, folder: Path) -> dict:
    home = folder / "ws"
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(folder / "ws-imap", ignore_errors=True)
    seller_config(home)
    done = deskterm(home, "import", str(folder / "data" / "archive.mbox"), "--json")
    imported = json.loads(done.stdout)
    count = messages(size)
    return {"messages": count, "seconds": done.seconds, "rate": count / done.seconds, **memory(done),
            "outcome": imported}


def stage_index(size: str, folder: Path) -> dict:
    count = messages(size)
    done = deskterm(folder / "ws", "index", "rebuild", "--json")
    figures = {"messages": count, "seconds": done.seconds, "rate": count / done.seconds,
               **memory(done), "size_mb": _size_mb(folder / "ws" / "index")}
    fts = measure.run([sys.executable, str(BENCH / "engines.py"), "fts-build", "--work", str(folder)])
    figures["fts"] = {"seconds": fts.seconds, "rate": count / fts.seconds, **memory(fts),
                      "size_mb": _size_mb(folder / "fts.db")}
    figures["notmuch"] = notmuch_new(folder)
    return figures


def notmuch_new(folder: Path) -> dict:
    """`notmuch new` over the Maildir, once: its database is an input, kept with its build figures."""
    record = folder / "notmuch.json"
    if record.exists():
        return json.loads(record.read_text())
    if not shutil.which("notmuch"):
        return {"missing": "apt-get install notmuch python3-notmuch2"}
    maildir = folder / "data" / "maildir"
    shutil.rmtree(maildir / ".notmuch", ignore_errors=True)
    config = folder / "notmuch-config"
    config.write_text(f"[database]\npath={maildir}\n[new]\ntags=\n[maildir]\nsynchronize_flags=false\n")
    done = measure.run(["notmuch", "new", "--quiet"], env={**os.environ, "NOTMUCH_CONFIG": str(config)})
    if done.returncode != 0:
        raise SystemExit(f"notmuch new failed:\n{done.stderr[-2000:]}")
    count = messages(folder.name)
    figures = {"seconds": done.seconds, "rate": count / done.seconds, **memory(done),
               "size_mb": _size_mb(maildir / ".notmuch")}
    record.write_text(json.dumps(figures))
    return figures


def stage_search(size: str, folder: Path) -> dict:
    figures = {}
    runs = [("deskterm", "newest", sys.executable), ("fts", "newest", sys.executable),
            ("notmuch", "newest", DEBIAN_PYTHON), ("deskterm", "relevance", sys.executable),
            ("fts", "relevance", sys.executable)]
    for engine, sort, python in runs:
        if engine == "notmuch" and "missing" in notmuch_new(folder):
            continue
        done = measure.run([python, str(BENCH / "engines.py"), engine, "--work", str(folder),
                            "--queries", str(folder / "queries.json"), "--sort", sort])
        if done.returncode != 0:
            raise SystemExit(f"{engine} search failed:\n{done.stderr[-3000:]}")
        timings = json.loads(done.stdout)
        figures[f"{engine} {sort}"] = {**memory(done), **_percentiles(timings),
                                       "by_kind": {kind: _percentiles([t for t in timings if t["kind"] == kind])
                                                   for kind in dict.fromkeys(t["kind"] for t in timings)},
                                       "hits": sum(t["hits"] for t in timings)}
    return figures


def _percentiles(timings: list[dict]) -> dict:
    values = sorted(t["ms"] for t in timings)
    return {"p50": statistics.median(values), "p95": values[min(len(values) - 1, int(0.95 * len(values)))]}


def stage_imap(size: str, folder: Path, new_mail: int = dataset.NEW_MAIL) -> dict:
    sys.path.insert(0, str(BENCH.parent / "tests"))
    from mailservers import PASSWORD, dovecot_binary, running_dovecot

    if dovecot_binary() is None:
        return {"missing": "apt-get install dovecot-imapd"}
    lines = (folder / "data" / "newmail.jsonl").read_text().splitlines()[:new_mail]
    newer = [json.loads(line).encode() for line in lines]
    home = folder / "ws-imap"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(folder / "ws", home)
    with running_dovecot() as dovecot:
        user = dovecot.new_user()
        deliver(dovecot.folder / "home", user, newer)
        client = dovecot.client(user)  # Dovecot reads the new files now, outside the measured sync
        client.select("INBOX")
        client.logout()
        seller_config(home, f'\n[channels.buyer-mail]\nkind = "imap"\nhost = "127.0.0.1"\nport = {dovecot.port}\n'
                            f'security = "none"\nusername = "{user}"\npassword_env = "DESKTERM_BENCH_IMAP_PASSWORD"\n'
                            'mailboxes = ["INBOX"]\nmark_seen = false\nsmtp_host = "127.0.0.1"\nsmtp_port = 1\n'
                            f'smtp_security = "none"\nfrom = "{dataset.SELLER}"\n')
        done = deskterm(home, "sync", "once", "buyer-mail", "--json", env={"DESKTERM_BENCH_IMAP_PASSWORD": PASSWORD})
    report = json.loads(done.stdout)["channels"]["buyer-mail"]
    shutil.rmtree(home, ignore_errors=True)
    fetched = report["fetched"].get("messages", 0)
    if report["error"] or fetched != len(newer):
        raise SystemExit(f"IMAP sync fetched {fetched} of {len(newer)}: {report['error']}")
    return {"messages": fetched, "seconds": done.seconds, "rate": fetched / done.seconds, **memory(done)}


def deliver(homes: Path, user: str, messages: list[bytes]) -> None:
    """Put messages straight into a Dovecot user's Maildir, owned as Dovecot's own files are: an
    IMAP APPEND of each took minutes, and only the sync is being measured."""
    maildir = homes / user / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    for number, raw in enumerate(messages):
        (maildir / "cur" / f"{number:07d}.bench:2,").write_bytes(raw)
    owner, group = homes.owner(), homes.group()
    for path in [homes / user, *(homes / user).rglob("*")]:
        shutil.chown(path, owner, group)


def stage_tui(size: str, folder: Path) -> dict:
    done = measure.run([sys.executable, str(BENCH / "tui_bench.py"), "--tickets", str(messages(size)),
                        "--keep", str(folder / "tui-ws"), "--json"])
    if done.returncode != 0:
        raise SystemExit(f"tui bench failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["launch to first paint s"] = figures["import deskterm.app s"] + figures["first paint s"]
    return {**figures, **memory(done)}


def stage_claims(size: str, folder: Path) -> dict:
    import reconcile_bench

    scale = messages(size) / 400_000  # 1M messages: 2.5 times the 2M ledger rows of issue 6's goal
    shape = {"ledger": int(2_000_000 * scale), "lines": int(500_000 * scale), "refunds": int(100_000 * scale)}
    built = folder / "claims-ws"
    if not (built / "ready").exists():
        shutil.rmtree(built, ignore_errors=True)
        reconcile_bench.fill(built, rng=random.Random(7), **shape)
        (built / "ready").touch()
    home = folder / "claims-run"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(built, home)
    done = measure.run([sys.executable, "-m", "deskterm", "--home", str(home), "--now", reconcile_bench.NOW,
                        "claims", "scan", "--json"])
    shutil.rmtree(home, ignore_errors=True)
    if done.returncode != 0:
        raise SystemExit(f"claims scan failed:\n{done.stderr[-3000:]}")
    return {**shape, "seconds": done.seconds, **memory(done), "found": json.loads(done.stdout)["found"]}


def _size_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BENCH, capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "../src"], cwd=BENCH, capture_output=True,
                               text=True).stdout.strip()
        return head + ("+" if dirty else "")
    except OSError:
        return "?"


def compile_deskterm() -> None:
    """Write deskterm's bytecode before measuring, as an installed copy has it. An editable
    install under PYTHONDONTWRITEBYTECODE (as in CI) would otherwise compile every changed
    module at each launch: 90 ms of the TUI's start in one run."""
    import compileall

    import deskterm

    compileall.compile_dir(Path(deskterm.__file__).parent, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100k,1m")
    parser.add_argument("--only", default=",".join(STAGES), help=f"stages, of: {', '.join(STAGES)}")
    parser.add_argument("--table", action="store_true", help="print the table of kept figures; measure nothing")
    parser.add_argument("--new-mail", type=int, default=dataset.NEW_MAIL,
                        help="messages the IMAP stage syncs (default %(default)s)")
    args = parser.parse_args()
    sizes = [s for s in args.sizes.split(",") if s]
    stages = [s for s in args.only.split(",") if s]
    unknown = {s for s in sizes if not re.fullmatch(r"\d+(\.\d+)?[km]", s)} | set(stages) - set(STAGES)
    if unknown:
        raise SystemExit(f"unknown size or stage: {', '.join(sorted(unknown))}")
    results_file = OUT / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    if not args.table:
        compile_deskterm()
        for size in sizes:
            folder = OUT / size
            folder.mkdir(parents=True, exist_ok=True)
            ensure_data(size, folder)
            for stage in STAGES:
                if stage not in stages:
                    continue
                print(f"{size} {stage} ...", flush=True)
                figures = (stage_imap(size, folder, args.new_mail) if stage == "imap"
                           else globals()[f"stage_{stage}"](size, folder))
                figures.update(commit=commit(), measured=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
                results.setdefault(size, {})[stage] = figures
                results_file.write_text(json.dumps(results, indent=1))
    from table import render

    print(render(results))


if __name__ == "__main__":
    main()
