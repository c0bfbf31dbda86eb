"""Crash safety and concurrency with real processes, real SQLite files and real SIGKILLs.

research/reliability.md, "Tests deskterm must pass": 1 (crash-safe ingest, here through
`deskterm import`), 2 (indexer crash and index loss), 4 (multi-writer concurrency) and 5 (no
snapshot pinning). Item 12 and the IMAP sync's kill test live in tests/test_sync.py.

Nothing of deskterm is mocked: every writer is the `deskterm` CLI or a driver script calling the
same Session and Actions the CLI and the TUI call. Each test prints its figures (pytest -s shows
them; the summary line of each is also in the assertion messages where it matters).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import format_datetime
from pathlib import Path

import pytest
from test_import_large import HEADER as LEDGER_HEADER

from deskterm.attachments import attachment_path
from deskterm.index import SearchIndex
from deskterm.reports.load import PARSER_PROCESS_BYTES
from deskterm.store import Store

NOW = "2026-11-20T12:00:00Z"
NOW_DT = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)
SELLER = "support@alpinekitchen.example"
MAIL_MESSAGES = 3000          # distinct messages in the large mbox
MAIL_REPEATS = 12             # messages the mbox holds twice (real mailboxes do)
KILLS = 20                    # SIGKILLs per kill loop
RISKY = ("It arrived damaged, the lid is broken.", "Where is my order? It is late.", "Thank you, all good.",
         "I want a refund, it never arrived.", "I will open an A-to-z claim if this is not solved.",
         "Question about the size before I order again.")


# -- the workspace through the real CLI ---------------------------------------------------------

def command(home: Path, *args: str | Path) -> list[str]:
    return [sys.executable, "-m", "deskterm", "--home", str(home), "--now", NOW, *map(str, args)]


def deskterm(home: Path, *args: str | Path, codes: tuple[int, ...] = (0,), timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command(home, *args), capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in done.stderr and "database is locked" not in done.stderr, done.stderr
    assert done.returncode in codes, (args, done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    return done


class Run:
    """A deskterm run in its own process group, so whatever it leaves behind can be found. Its
    stderr goes to a file: a pipe would stay open as long as any child it left behind lives."""

    def __init__(self, home: Path, *args: str | Path) -> None:
        self.log = home.parent / f"stderr-{time.monotonic_ns()}.txt"
        with open(self.log, "wb") as err:
            self.process = subprocess.Popen(command(home, *args), stdout=subprocess.DEVNULL, stderr=err,
                                            start_new_session=True)
        self.pid = self.process.pid

    def poll(self) -> int | None:
        return self.process.poll()

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)

    def wait(self) -> int:
        return self.process.wait(timeout=300)

    def stderr(self) -> str:
        text = self.log.read_text(errors="replace")
        self.log.unlink()
        return text


def group_members(pgid: int) -> list[int]:
    """Live processes of a process group (a killed run's children keep its group)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state, _ppid, group = stat.rsplit(")", 1)[1].split()[:3]
        if int(group) == pgid and state != "Z":
            found.append(int(entry))
    return found


def reap_group(pgid: int) -> int:
    """SIGKILL what a killed run of ours left behind (by pid: only processes we started); how many."""
    left = group_members(pgid)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(left)


def query(home: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(home / "deskterm.db", timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# -- generated input ------------------------------------------------------------------------------

def mail_text(number: int, prefix: str, buyers: int = 500) -> str:
    """One message as an mbox entry: mostly Amazon buyer relay mail, some plain e-mail, a photo
    on every 50th; a buyer writes about up to three orders."""
    buyer = number % buyers
    when = format_datetime(NOW_DT - dt.timedelta(minutes=7 * number + 1))
    order = f"111-{buyer:07d}-{number % 3:07d}"
    words = f"{RISKY[number % len(RISKY)]} Parcel {number}, word{number % 97}. " + "Lorem ipsum dolor sit amet. " * 20
    if number % 7 == 3:
        sender, name = f"customer{buyer:04d}@example.com", f"Customer {buyer}"
        text = words
    else:
        sender, name = f"buyer{buyer:04d}x@marketplace.amazon.com", f"Buyer {buyer}"
        text = f"------------- Begin message -------------\n\n{words}\n\n------------- End message -------------\n"
    headers = (f"From: {name} <{sender}>\nTo: {SELLER}\nSubject: Order {order} - parcel {number}\n"
               f"Message-ID: <{prefix}{number}@test.example>\nDate: {when}\nMIME-Version: 1.0\n")
    if number % 50 == 0:
        photo = base64.encodebytes(b"\xff\xd8\xff\xe0" + number.to_bytes(4, "big") * 64).decode()
        body = (f"Content-Type: multipart/mixed; boundary=\"b{number}\"\n\n--b{number}\n"
                f"Content-Type: text/plain; charset=utf-8\n\n{text}\n--b{number}\n"
                f"Content-Type: image/jpeg\nContent-Transfer-Encoding: base64\n"
                f"Content-Disposition: attachment; filename=\"photo-{number}.jpg\"\n\n{photo}--b{number}--\n")
    else:
        body = f"Content-Type: text/plain; charset=utf-8\n\n{text}"
    return f"From MAILER-DAEMON Fri Nov 20 12:00:00 2026\n{headers}{body.rstrip()}\n\n"


def write_mbox(path: Path, numbers: list[int], prefix: str, buyers: int = 500) -> None:
    path.write_text("".join(mail_text(number, prefix, buyers) for number in numbers))


def write_ledger(path: Path) -> tuple[int, int]:
    """A detailed inventory ledger past the size that is parsed in a second process (about 75,000
    rows); every 5,000th row is repeated identically (Amazon does), one row is malformed.
    Returns (rows to store, the malformed row's line)."""
    stored = bad_line = number = 0
    line = 1  # the header
    with open(path, "w", encoding="utf-8") as out:
        out.write(LEDGER_HEADER)
        while out.tell() < PARSER_PROCESS_BYTES + 100_000:
            day = 1 + number % 28
            bad = number == 33_333
            text = (f"06/{day:02d}/2026\tX00{number % 300:07d}\tB0TEST{number % 300:04d}\tSKU-{number % 300}\tPan\t"
                    f"Shipments\t{number}\t{'lots' if bad else -1 - number % 3}\tLEX1\tSELLABLE\t\tUS\t\t\t"
                    f"2026-06-{day:02d}T10:00:00-07:00\n")
            copies = 2 if number % 5000 == 0 else 1
            for _ in range(copies):
                out.write(text)
                line += 1
            if bad:
                bad_line = line
            else:
                stored += copies
            number += 1
    return stored, bad_line


# -- what a workspace holds -----------------------------------------------------------------------

def mail_snapshot(home: Path, triaged: bool = True) -> dict[str, object]:
    """Everything about the mail that must not depend on how often the import was killed (without
    `triaged`: only what the import itself writes, not the risk and clocks triage adds after it)."""
    tickets = query(home, "SELECT t.risk, t.status, t.sla_due, group_concat(m.message_id, ' ') FROM tickets t"
                          " JOIN messages m ON m.ticket_id = t.id GROUP BY t.id")
    return {
        "messages": sorted(query(home, f"SELECT message_id, {'risk' if triaged else 'NULL'}, hex(content_hash)"
                                       " FROM messages")),
        "tickets": sorted((*(fields if triaged else ()), tuple(sorted(ids.split()))) for *fields, ids in tickets),
        "attachments": sorted(query(home, "SELECT m.message_id, a.position, a.sha256, a.filename FROM message_attachments a"
                                          " JOIN messages m ON m.id = a.message_id")),
    }


def ledger_snapshot(home: Path) -> list[tuple]:
    return query(home, "SELECT hex(row_key), hex(content_hash), source_line, quantity FROM ledger_events ORDER BY row_key")


def assert_sound(home: Path) -> None:
    assert query(home, "PRAGMA integrity_check") == [("ok",)]
    assert query(home, "PRAGMA foreign_key_check") == []


def assert_index_equals_store(home: Path) -> None:
    """`deskterm index check` passes with nothing pending, and the index's applied position is the
    outbox's last row (research item 1)."""
    deskterm(home, "search", "parcel")  # brings the index up to date, as every search does
    report = json.loads(deskterm(home, "index", "check", "--json").stdout)
    assert report["ok"] and report["pending"] == 0, report
    with Store(home / "deskterm.db") as store:
        index = SearchIndex(home / "index", store)
        assert index.engine.applied() == store.scalar("SELECT coalesce(max(seq), 0) FROM index_outbox")
        assert set(index.engine.stamps()) == {row[0] for row in store.rows("SELECT id FROM messages")}


# -- the corpus, imported once without interruption ------------------------------------------------

@dataclass
class Corpus:
    mbox: Path
    ledger: Path
    ledger_rows: int
    bad_line: int
    reference: Path               # a workspace the files were imported into without a kill
    mail_seconds: float           # how long each uninterrupted import took
    ledger_seconds: float
    mail: dict[str, object] = field(default_factory=dict)
    mail_untriaged: dict[str, object] = field(default_factory=dict)
    ledger_rows_stored: list[tuple] = field(default_factory=list)


def timed(home: Path, *args: str | Path, codes: tuple[int, ...] = (0,)) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.monotonic()
    done = deskterm(home, *args, codes=codes)
    return time.monotonic() - started, done


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    folder = tmp_path_factory.mktemp("corpus")
    numbers = list(range(MAIL_MESSAGES))
    numbers[100:100] = list(range(0, MAIL_MESSAGES, MAIL_MESSAGES // MAIL_REPEATS))[:MAIL_REPEATS]
    mbox = folder / "buyers.mbox"
    write_mbox(mbox, numbers, "m")
    ledger = folder / "ledger.txt"
    rows, bad_line = write_ledger(ledger)
    reference = folder / "reference"
    # Both at once, as the kill test runs them: the durations the kill points are drawn from.
    with ThreadPoolExecutor(2) as pool:
        mail_run = pool.submit(timed, reference, "import", mbox, "--json")
        time.sleep(0.5)  # the first creates the workspace
        ledger_run = pool.submit(timed, reference, "import", ledger, "--json", codes=(1,))
        mail_seconds, mail_done = mail_run.result()
        ledger_seconds, ledger_done = ledger_run.result()
    assert json.loads(mail_done.stdout)["imported"] == {"messages": MAIL_MESSAGES}
    assert json.loads(mail_done.stdout)["duplicates"] == {"messages": MAIL_REPEATS}
    assert json.loads(ledger_done.stdout)["imported"] == {"ledger": rows}
    print(f"\ncorpus: {MAIL_MESSAGES:,} messages ({mbox.stat().st_size / 1e6:.1f} MB mbox) imported in "
          f"{mail_seconds:.1f} s; {rows:,} ledger rows ({ledger.stat().st_size / 1e6:.1f} MB) in {ledger_seconds:.1f} s")
    return Corpus(mbox, ledger, rows, bad_line, reference, mail_seconds, ledger_seconds,
                  mail_snapshot(reference), mail_snapshot(reference, triaged=False), ledger_snapshot(reference))


# -- 1a. kill -9 during imports -----------------------------------------------------------------------

@dataclass
class KillLog:
    kills: int = 0
    finished: int = 0                                    # runs that ended before their kill time
    orphans: int = 0                                     # processes a killed run left behind
    cycles: list[list[int]] = field(default_factory=lambda: [[]])  # per workspace: what it held after each run


def kill_loop(folder: Path, args: tuple[str | Path, ...], seconds: float, seed: int, count_sql: str, complete: int,
              finished_codes: tuple[int, ...], check, settle: float = 0.0) -> tuple[KillLog, Path]:
    """Run `deskterm ARGS` on a workspace again and again, each run SIGKILLed after a random delay
    drawn from the duration of an uninterrupted run, until `KILLS` kills have landed.

    Once the workspace holds everything (`count_sql` gives `complete`), later runs would only meet
    duplicates: `check` checks it and the next kills go to a new, empty one.
    A killed run's children get `settle` seconds to go before they are counted and reaped.
    Returns the log and the last workspace, for a clean re-run."""
    rng = random.Random(seed)
    log = KillLog()
    empty = folder / "empty"
    deskterm(empty, "search", "damaged")  # an empty index: the outbox rows of every run are applied to it later
    home = folder / "cycle-0"
    shutil.copytree(empty, home)  # (no process has the database open)
    while log.kills < KILLS:
        child = Run(home, *args)
        time.sleep(rng.uniform(0, seconds))
        if child.poll() is None:
            child.kill()
            log.kills += 1
        code, text = child.wait(), child.stderr()
        if code != -signal.SIGKILL:
            assert code in finished_codes and "Traceback" not in text, (code, text[-2000:])
            assert "database is locked" not in text, text
            log.finished += 1
        time.sleep(settle)
        log.orphans += reap_group(child.pid)
        held = query(home, count_sql)[0][0]
        log.cycles[-1].append(held)
        if held == complete and log.kills < KILLS:
            assert_sound(home)
            check(home)
            shutil.rmtree(home)
            home = folder / f"cycle-{len(log.cycles)}"
            shutil.copytree(empty, home)
            log.cycles.append([])
    return log, home


def test_kill_9_during_large_imports_loses_and_doubles_nothing(corpus: Corpus, tmp_path: Path) -> None:
    """A 3,000-message mbox and a ~77,000-row ledger (parsed in a second process), each import
    SIGKILLed at 20 random points, both at once. A clean re-run then leaves exactly what one
    uninterrupted import left, and the index, fed by the outbox rows of every run, equals the store.
    (A workspace that comes to hold everything before the 20th kill is checked as it is, and the
    kills go on in a new one.)"""

    def mail_as_imported(home: Path) -> None:
        assert mail_snapshot(home, triaged=False) == corpus.mail_untriaged
        attachments_are_on_disk(home)

    def ledger_as_imported(home: Path) -> None:
        assert ledger_snapshot(home) == corpus.ledger_rows_stored

    with ThreadPoolExecutor(2) as pool:
        mail = pool.submit(kill_loop, tmp_path / "mail", ("import", corpus.mbox), corpus.mail_seconds, 1,
                           "SELECT count(*) FROM messages", MAIL_MESSAGES, (0,), mail_as_imported)
        ledger = pool.submit(kill_loop, tmp_path / "ledger", ("import", corpus.ledger), corpus.ledger_seconds, 2,
                             "SELECT count(*) FROM ledger_events", corpus.ledger_rows, (1,), ledger_as_imported,
                             settle=0.1)
        (mail_log, mail_home), (ledger_log, ledger_home) = mail.result(), ledger.result()
    print(f"\nmail import: {mail_log.kills} kills, {mail_log.finished} runs finished first; messages held after "
          f"each run, per workspace: {mail_log.cycles}")
    print(f"ledger import: {ledger_log.kills} kills, {ledger_log.finished} runs finished first, "
          f"{ledger_log.orphans} orphaned parser processes reaped; rows held after each run: {ledger_log.cycles}")
    assert mail_log.kills >= KILLS and ledger_log.kills >= KILLS

    for home, path, kind in ((mail_home, corpus.mbox, "messages"), (ledger_home, corpus.ledger, "ledger")):
        assert_sound(home)
        started = time.monotonic()
        done = deskterm(home, "import", path, "--json", codes=(0, 1))
        print(f"clean re-run of {path.name}: {time.monotonic() - started:.1f} s")
        outcome = json.loads(done.stdout)
        expected = MAIL_MESSAGES + MAIL_REPEATS if kind == "messages" else corpus.ledger_rows
        assert outcome["imported"].get(kind, 0) + outcome["duplicates"].get(kind, 0) == expected
        assert_sound(home)

    assert outcome["rejected"] == [{"file": str(corpus.ledger), "line": corpus.bad_line,
                                    "reason": "field 'Quantity': not a number: 'lots'"}]
    assert query(ledger_home, "SELECT count(*), count(DISTINCT row_key) FROM ledger_events") == [(corpus.ledger_rows,) * 2]
    assert query(ledger_home, "SELECT count(*) FROM quarantine") == [(1,)]
    assert ledger_snapshot(ledger_home) == corpus.ledger_rows_stored

    home = mail_home
    assert query(home, "SELECT count(*), count(DISTINCT message_id) FROM messages") == [(MAIL_MESSAGES, MAIL_MESSAGES)]
    assert query(home, "SELECT count(*), count(DISTINCT content_hash) FROM messages") == [(MAIL_MESSAGES, MAIL_MESSAGES)]
    assert query(home, "SELECT count(*) FROM messages WHERE risk IS NULL") == [(0,)]  # every one triaged
    assert mail_snapshot(home) == corpus.mail
    attachments_are_on_disk(home)
    assert_index_equals_store(home)


def attachments_are_on_disk(home: Path) -> None:
    """Each stored attachment row has its file (files are written before the rows that name them)."""
    for (sha,) in query(home, "SELECT DISTINCT sha256 FROM message_attachments"):
        assert attachment_path(home / "attachments", sha).is_file(), sha


def test_a_killed_import_leaves_no_parser_process_behind(corpus: Corpus, tmp_path: Path) -> None:
    home = tmp_path / "ws"
    deskterm(home, "status")
    child = Run(home, "import", corpus.ledger)
    deadline = time.monotonic() + 30
    while len(group_members(child.pid)) < 2 and time.monotonic() < deadline:  # the parser has started
        time.sleep(0.01)
    time.sleep(0.5)
    child.kill()
    child.wait()
    time.sleep(3)
    left = reap_group(child.pid)
    assert left == 0, f"{left} processes of the killed import still running 3 s later"


# -- 1b. kill -9 during index rebuilds, then a damaged and a lost index --------------------------------

REBUILD_KILLS = 20
REBUILD_MESSAGES = 1000  # each run is a whole rebuild: this many keeps 20 kills to a few seconds each


def rebuild_phase(home: Path, pid: int, before: set[str]) -> str:
    """Where the killed `index rebuild` (process `pid`) stopped, from what it left on disk;
    `before` is what the index folder held when it started."""
    fresh = home / f".index.new-{pid}"
    if fresh.is_dir():
        names = _names(fresh)
        if "_MAIN_1.toc" in names:
            return "committed, before the swap"
        if any(name.endswith(".seg") for name in names):
            return "in commit"
        return "writing documents"
    if not (home / "index").is_dir():
        return "between the renames"
    return "after the swap" if set(_names(home / "index")) != before else "starting"


def test_kill_9_during_index_rebuilds_and_a_damaged_or_lost_index(tmp_path: Path) -> None:
    """`deskterm index rebuild` SIGKILLed at 20 random points, at least 3 of them inside the commit
    (its segment written, its table of contents not yet); the index in place stays whole each time
    and the next rebuild clears what killed ones left. Then a segment is truncated and, separately,
    the TOC deleted: `index check` says so, and the next search rebuilds the index from the store."""
    home = tmp_path / "ws"
    mbox = tmp_path / "rebuild.mbox"
    write_mbox(mbox, list(range(REBUILD_MESSAGES)), "r")
    deskterm(home, "import", mbox)
    messages = query(home, "SELECT count(*) FROM messages")[0][0]
    seconds, _ = timed(home, "index", "rebuild")
    applied = query(home, "SELECT max(seq) FROM index_outbox")[0][0]
    rng = random.Random(3)
    phases: Counter[str] = Counter()
    attempts = 0
    while sum(phases.values()) < REBUILD_KILLS or phases["in commit"] < 3:
        attempts += 1
        assert attempts < 60, f"kill points reached so far: {dict(phases)}"
        before = set(_names(home / "index"))
        child = Run(home, "index", "rebuild")
        if phases["in commit"] < 3 and (attempts % 3 == 0 or sum(phases.values()) >= REBUILD_KILLS):
            # aim at the commit: within 25 ms of its segment reaching the disk
            deadline = time.monotonic() + 4 * seconds
            fresh = home / f".index.new-{child.pid}"
            while child.poll() is None and time.monotonic() < deadline and not any(
                    name.endswith(".seg") for name in _names(fresh)):
                time.sleep(0.0005)
            time.sleep(rng.uniform(0, 0.025))
        else:
            time.sleep(rng.uniform(0, seconds))
        if child.poll() is not None:
            assert child.wait() == 0, child.stderr()
            child.stderr()
            continue
        child.kill()
        child.wait()
        child.stderr()
        phases[rebuild_phase(home, child.pid, before)] += 1
        reap_group(child.pid)
        # Whatever the kill interrupted, the index in place is whole (or absent, and then rebuilt).
        if (home / "index").is_dir():
            with Store(home / "deskterm.db") as store:
                index = SearchIndex(home / "index", store)
                assert index.count() == messages and index.engine.applied() == applied
    print(f"\nindex rebuild of {messages:,} messages: {seconds:.1f} s uninterrupted ({messages / seconds:,.0f} "
          f"messages/s, start-up included); {sum(phases.values())} kills in {attempts} runs: {dict(phases)}")
    leftovers = sorted(path.name for path in home.iterdir() if path.name.startswith(".index"))
    deskterm(home, "index", "rebuild")
    assert sorted(path.name for path in home.iterdir() if path.name.startswith(".index")) == [], \
        f"killed rebuilds left {leftovers} behind, and the next rebuild did not remove them"
    assert_index_equals_store(home)
    expected = {row[0] for row in query(home, "SELECT message_id FROM messages WHERE body LIKE '%word13.%'")}

    def damage_is_detected_and_healed(what: str) -> None:
        check = deskterm(home, "index", "check", codes=(1,))
        assert "cannot be read" in check.stdout or "no index" in check.stdout, check.stdout
        started = time.monotonic()
        hits = json.loads(deskterm(home, "search", "word13", "--limit", "1000", "--json").stdout)
        print(f"{what}: detected by index check; the next search rebuilt it in {time.monotonic() - started:.1f} s")
        assert {hit["message_id"] for hit in hits} == expected and expected
        report = json.loads(deskterm(home, "index", "check", "--json").stdout)
        assert report["ok"] and report["pending"] == 0, report

    segment = rng.choice(sorted((home / "index").glob("*.seg")))
    os.truncate(segment, rng.randrange(segment.stat().st_size))
    damage_is_detected_and_healed(f"{segment.name} truncated")
    for toc in (home / "index").glob("*.toc"):
        toc.unlink()
    damage_is_detected_and_healed("TOC deleted")


def _names(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except FileNotFoundError:
        return []


# -- 2. four agents and an importer writing at once -------------------------------------------------

AGENTS = 4
ACTIONS_PER_AGENT = 2000
CLI_ACTIONS = 1000  # the agent whose every action is a whole `deskterm` command (about 8 ms each)
IMPORT_CHUNKS = 150
SEED_TICKETS = 30

AGENT_DRIVER = textwrap.dedent('''
    """One agent: ACTIONS actions on the shared tickets, each timed. Mode `api`: through one Session's
    Actions, as the TUI does; mode `cli`: each a `deskterm` command run by deskterm.cli.main in this
    process, with its own Session and connection, opened and closed, as the binary does."""
    import contextlib, io, json, random, sys, time
    from pathlib import Path
    from deskterm.cli import Session, main
    from deskterm.clock import Clock
    from deskterm.errors import UserError

    home, agent, mode, actions_wanted, out, now = sys.argv[1:7]
    session = Session(home=home, clock=Clock.from_setting(now))
    tickets = [(row[0], row[1]) for row in session.store.rows("SELECT id, order_id FROM tickets ORDER BY id")]
    if mode == "cli":
        session.close()  # no connection of ours stays open beside the commands' own
    else:
        actions = session.actions()
    counter = tickets[0][0]
    rng = random.Random(agent)
    result = {"latencies": [], "done": {}, "counted": [], "errors": []}
    bodies = Path(out).with_suffix(".bodies")
    bodies.mkdir()


    def deskterm(*args):
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            try:
                main(["--home", home, "--now", now, *map(str, args)])
            except SystemExit as exc:
                if exc.code != 0:
                    raise UserError(err.getvalue().strip() or f"exit {exc.code}") from None


    for number in range(int(actions_wanted)):
        ticket, order = rng.choice(tickets)
        kind = ("count", "tag", "note", "assign", "reply", "status")[number % 6]
        add, remove = rng.choice(["vip", "later", "wholesale"]), rng.choice(["vip", "later"])
        assignee = rng.choice([agent, "someone", None])
        text = f"Hello, about order {order}: a replacement leaves today."
        started = time.perf_counter()
        try:
            if kind == "count":  # read-then-write: the ticket's tags are read and written in one transaction
                tag = f"n-{agent}-{number}"
                actions.tag(counter, [tag]) if mode == "api" else deskterm("tag", counter, "+" + tag)
                result["counted"].append(tag)
            elif kind == "tag":
                actions.tag(ticket, [add], [remove]) if mode == "api" else deskterm("tag", ticket, "+" + add, "-" + remove)
            elif kind == "note":
                actions.note(ticket, f"note {number}") if mode == "api" else deskterm("note", ticket, "-m", f"note {number}")
            elif kind == "assign":
                if mode == "api":
                    actions.assign(ticket, assignee)
                else:
                    deskterm("assign", ticket, *([assignee] if assignee else ["--nobody"]))
            elif kind == "reply":  # opened (a write), then the reply with its collision check
                try:
                    if mode == "api":
                        actions.opened(ticket)
                        actions.reply(ticket, text)
                    else:
                        body = bodies / f"{ticket}.txt"
                        body.write_text(text)
                        deskterm("show", ticket)
                        deskterm("reply", ticket, "--body-file", body)
                except UserError as exc:  # the buyer wrote again, or a colleague replied, since it was opened
                    if "not queued" not in str(exc):
                        raise
                    kind = "refused"
            elif mode == "api":
                actions.close(ticket, force=True) if number % 2 else actions.reopen(ticket)
            else:
                deskterm("close", ticket, "--force") if number % 2 else deskterm("reopen", ticket)
        except Exception as exc:  # every failure is reported, the loop goes on
            result["errors"].append(f"{kind}: {type(exc).__name__}: {exc}")
            print(f"{kind}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        result["latencies"].append(time.perf_counter() - started)
        result["done"][kind] = result["done"].get(kind, 0) + 1
    if mode == "api":
        session.close()
    with open(out, "w") as handle:
        json.dump(result, handle)
    sys.exit(1 if result["errors"] else 0)
''')

IMPORT_DRIVER = textwrap.dedent('''
    """The importer: `deskterm import` of one small mbox after another, in this process."""
    import json, sys, time
    from deskterm.cli import main

    home, out, now, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    latencies, errors = [], []
    for path in files:
        started = time.perf_counter()
        try:
            main(["--home", home, "--now", now, "import", path])
        except SystemExit as exc:
            if exc.code != 0:
                errors.append(f"{path}: exit {exc.code}")
        latencies.append(time.perf_counter() - started)
    with open(out, "w") as handle:
        json.dump({"latencies": latencies, "errors": errors}, handle)
    sys.exit(1 if errors else 0)
''')


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def test_four_agents_and_an_importer_never_see_a_locked_database(tmp_path: Path) -> None:
    """Four agent processes (three through Actions, one through CLI commands) work the same 30
    tickets (2,000 actions each; 1,000 commands), while an importer brings 1,500 new messages in 150 imports, half of
    them into those tickets. No "database is locked" reaches anyone, the read-then-write counter
    (tags on one ticket) holds every increment, every action left exactly one audit row, and the
    p99 latency of an action stays under a second."""
    home = tmp_path / "ws"
    home.mkdir()
    (home / "config.toml").write_text(f'own_addresses = ["{SELLER}"]\n')
    seed = tmp_path / "seed.mbox"
    write_mbox(seed, list(range(SEED_TICKETS)), "seed", buyers=SEED_TICKETS)
    deskterm(home, "import", seed)
    assert query(home, "SELECT count(*) FROM tickets") == [(SEED_TICKETS,)]
    # New mail while the agents work: every other message answers a ticket they are working on.
    chunks = []
    for chunk in range(IMPORT_CHUNKS):
        path = tmp_path / f"chunk-{chunk:03d}.mbox"
        numbers = [SEED_TICKETS + chunk * 10 + n for n in range(10)]
        path.write_text("".join(mail_text(number, "new", buyers=SEED_TICKETS if number % 2 else 10_000)
                                for number in numbers))
        chunks.append(str(path))

    started = time.monotonic()
    drivers = []
    for number in range(AGENTS):
        out = tmp_path / f"agent-{number}.json"
        env = {**os.environ, "DESKTERM_AGENT": f"agent{number}"}
        mode = "cli" if number == AGENTS - 1 else "api"
        wanted = CLI_ACTIONS if mode == "cli" else ACTIONS_PER_AGENT
        drivers.append((out, subprocess.Popen([sys.executable, "-c", AGENT_DRIVER, str(home), f"agent{number}", mode,
                                               str(wanted), str(out), NOW],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)))
    out = tmp_path / "importer.json"
    drivers.append((out, subprocess.Popen([sys.executable, "-c", IMPORT_DRIVER, str(home), str(out), NOW, *chunks],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)))
    results = []
    for out, driver in drivers:
        _, err = driver.communicate(timeout=600)
        assert "database is locked" not in err and "Traceback" not in err, err[-3000:]
        assert driver.returncode == 0, err[-3000:]
        results.append(json.loads(out.read_text()))
    elapsed = time.monotonic() - started
    agents, importer = results[:AGENTS], results[AGENTS]

    done: Counter[str] = Counter()
    for result in agents:
        done.update(result["done"])
    latencies = [value for result in agents for value in result["latencies"]]
    p50, p99, worst = percentile(latencies, 0.5), percentile(latencies, 0.99), max(latencies)
    transactions = sum(done.values()) + done["reply"] + done["refused"]  # a reply is `opened`, then the reply
    print(f"\n{AGENTS} agents ({AGENTS - 1} x {ACTIONS_PER_AGENT:,} actions through Actions, {CLI_ACTIONS:,} "
          f"deskterm commands) ({dict(done)}: {transactions:,} write transactions) "
          f"and {IMPORT_CHUNKS} imports of 10 messages in {elapsed:.1f} s; agent action latency p50 "
          f"{p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {worst * 1000:.0f} ms; "
          f"import p99 {percentile(importer['latencies'], 0.99) * 1000:.0f} ms")
    assert sum(done.values()) == (AGENTS - 1) * ACTIONS_PER_AGENT + CLI_ACTIONS

    # The shared counter: every read-then-write of the tags kept every earlier one.
    counted = {tag for result in agents for tag in result["counted"]}
    tags = json.loads(query(home, "SELECT tags FROM tickets ORDER BY id LIMIT 1")[0][0])
    assert len(counted) == done["count"] and {t for t in tags if t.startswith("n-")} == counted
    # Each action is one transaction with its audit row: none lost, none doubled.
    audited = dict(query(home, "SELECT action, count(*) FROM audit_log WHERE action IN"
                               " ('note', 'tag', 'assign', 'reply', 'close', 'reopen') GROUP BY action"))
    assert audited.get("note", 0) == done["note"]
    assert audited.get("tag", 0) == done["count"] + done["tag"]
    assert audited.get("assign", 0) == done["assign"]
    assert audited.get("reply", 0) == done["reply"]
    assert audited.get("close", 0) + audited.get("reopen", 0) == done["status"]
    assert query(home, "SELECT count(*) FROM notes") == [(done["note"],)]
    assert query(home, "SELECT count(*) FROM send_queue") == [(done["reply"],)]
    assert query(home, "SELECT count(*) FROM messages") == [(SEED_TICKETS + IMPORT_CHUNKS * 10 + done["reply"],)]
    assert_sound(home)
    assert_index_equals_store(home)
    assert p99 < 1.0, f"p99 write latency {p99:.2f} s (research item 4: under 1 s)"


DAEMON_MESSAGES = 300   # delivered to the IMAP server while the agents work
DAEMON_AGENT_ACTIONS = 400


def test_the_sync_daemon_and_four_agents_at_once(tmp_path: Path, dovecot) -> None:
    """`deskterm sync run` syncing a real Dovecot every second while new mail arrives there, and
    four agents (three through Actions, one through commands) working the same tickets: no
    "database is locked" anywhere, the daemon records no error, every message arrives once, and
    the index equals the store."""
    from mailservers import PASSWORD

    home = tmp_path / "ws"
    home.mkdir()
    user = dovecot.new_user()
    (home / "config.toml").write_text(
        f'own_addresses = ["{SELLER}"]\n\n[channels.buyer-mail]\nkind = "imap"\nhost = "127.0.0.1"\n'
        f'port = {dovecot.port}\nsecurity = "none"\nusername = "{user}"\npassword_env = "T_IMAP_PASSWORD"\n'
        'interval_seconds = 1\n')
    seed = tmp_path / "seed.mbox"
    write_mbox(seed, list(range(SEED_TICKETS)), "seed", buyers=SEED_TICKETS)
    deskterm(home, "import", seed)
    env = {**os.environ, "T_IMAP_PASSWORD": PASSWORD}
    daemon = subprocess.Popen(command(home, "sync", "run"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env)
    drivers = []
    for number in range(AGENTS):
        out = tmp_path / f"agent-{number}.json"
        mode = "cli" if number == AGENTS - 1 else "api"
        drivers.append((out, subprocess.Popen(
            [sys.executable, "-c", AGENT_DRIVER, str(home), f"agent{number}", mode,
             str(DAEMON_AGENT_ACTIONS // (2 if mode == "cli" else 1)), str(out), NOW],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**env, "DESKTERM_AGENT": f"agent{number}"})))
    for chunk in range(0, DAEMON_MESSAGES, 10):  # new mail, half of it on the tickets being worked
        numbers = range(SEED_TICKETS + chunk, SEED_TICKETS + chunk + 10)
        dovecot.append(user, [mail_text(n, "imap", buyers=SEED_TICKETS if n % 2 else 10_000)
                              .split("\n", 1)[1].replace("\n", "\r\n").encode() for n in numbers])
        time.sleep(0.1)
    done: Counter[str] = Counter()
    for out, driver in drivers:
        _, err = driver.communicate(timeout=600)
        assert "database is locked" not in err and "Traceback" not in err and driver.returncode == 0, err[-3000:]
        done.update(json.loads(out.read_text())["done"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and query(home, "SELECT count(*) FROM imap_uids") != [(DAEMON_MESSAGES,)]:
        time.sleep(0.2)
    daemon.send_signal(signal.SIGTERM)
    out, err = daemon.communicate(timeout=120)
    assert daemon.returncode == 0 and "database is locked" not in out + err and "Traceback" not in err, err[-3000:]
    status = json.loads(deskterm(home, "sync", "status", "--json").stdout)["channels"]["buyer-mail"]
    assert status["last_error"] is None and status["last_success"]
    assert query(home, "SELECT count(*), count(DISTINCT message_id) FROM messages WHERE message_id LIKE '<imap%'") == [
        (DAEMON_MESSAGES, DAEMON_MESSAGES)]
    assert query(home, "SELECT count(*) FROM send_queue") == [(done["reply"],)]
    assert_sound(home)
    assert_index_equals_store(home)


OPEN_DRIVER = textwrap.dedent('''
    """Open a workspace with `deskterm status` the moment the test says go."""
    import os, sys, time
    from deskterm.cli import main

    home, ready, go = sys.argv[1:4]
    open(ready, "w").close()
    while not os.path.exists(go):
        time.sleep(0.001)
    main(["--home", home, "status"])
''')


def test_processes_opening_a_new_workspace_at_once_all_get_in(tmp_path: Path) -> None:
    """Six deskterm commands started together on a workspace that does not exist yet (cron's sync
    and the TUI on a first start; any two after an upgrade): every one creates or migrates it, or
    waits for the one that does, and none fails."""
    for trial in range(5):
        home, go = tmp_path / f"ws-{trial}", tmp_path / f"go-{trial}"
        ready = [tmp_path / f"ready-{trial}-{number}" for number in range(6)]
        openers = [subprocess.Popen([sys.executable, "-c", OPEN_DRIVER, str(home), str(flag), str(go)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for flag in ready]
        deadline = time.monotonic() + 60
        while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
            time.sleep(0.01)
        go.touch()
        for opener in openers:
            _, err = opener.communicate(timeout=120)
            assert opener.returncode == 0 and "error" not in err, err
        assert_sound(home)


# -- 2b. the WAL while a TUI stays open --------------------------------------------------------------

WAL_MESSAGES = 5000
WAL_LIMIT = 64 * 1024 * 1024


def database_bytes(home: Path) -> int:
    return query(home, "PRAGMA page_count")[0][0] * query(home, "PRAGMA page_size")[0][0]


async def test_an_idle_tui_pins_no_snapshot_while_5000_messages_arrive(tmp_path: Path) -> None:
    from deskterm.app import DesktermApp
    from deskterm.cli import Session
    from deskterm.clock import Clock
    from deskterm.screens.queue import QueueScreen
    from deskterm.widgets.queue_list import QueueList

    home = tmp_path / "ws"
    seed, big = tmp_path / "seed.mbox", tmp_path / "big.mbox"
    write_mbox(seed, list(range(40)), "seed")
    write_mbox(big, list(range(1000, 1000 + WAL_MESSAGES)), "big", buyers=2000)
    deskterm(home, "import", seed)
    session = Session(home=str(home), clock=Clock(NOW_DT))
    session.triage()
    app = DesktermApp(session)
    wal = home / "deskterm.db-wal"
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, QueueScreen)
        await pilot.press("j", "j", "enter")  # a ticket open, as an agent leaves it
        await pilot.pause()
        size_before = database_bytes(home)
        writer = subprocess.Popen(command(home, "import", big), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started = time.monotonic()
        largest = 0
        while writer.poll() is None:
            largest = max(largest, wal.stat().st_size if wal.exists() else 0)
            await pilot.pause(0.05)
        ingest = time.monotonic() - started
        assert writer.returncode == 0, writer.stderr.read()
        added = database_bytes(home) - size_before
        after = []
        for _ in range(40):  # 10 s
            after.append(wal.stat().st_size if wal.exists() else 0)
            if after[-1] < 1024 * 1024:
                break
            await pilot.pause(0.25)
        print(f"\nWAL with an idle TUI open while {WAL_MESSAGES:,} messages ({added / 1e6:.1f} MB) arrived in "
              f"{ingest:.1f} s: largest {largest / 1e6:.1f} MB, {after[-1]:,} bytes {0.25 * (len(after) - 1):.2f} s "
              "after the writer stopped")
        assert largest < WAL_LIMIT
        # A snapshot pinned from before the ingest would have kept every page it wrote in the WAL.
        assert largest < added, f"the WAL grew to {largest:,} bytes for {added:,} bytes of new data"
        assert after[-1] < 1024 * 1024, f"the WAL stayed at {after[-1]:,} bytes after the writer stopped"
        # The TUI saw the new mail and still answers keys.
        for _ in range(40):
            await pilot.pause(0.25)
            if app.screen.query_one(QueueList).pager.count() > 40:
                break
        await pilot.press("escape")
        assert app.screen.query_one(QueueList).pager.count() > 40
