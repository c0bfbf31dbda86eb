"""The mixed query set on one engine, in a process of its own: deskterm, SQLite FTS5 or notmuch.

Each engine answers the same question the same way: the 20 newest matching messages (deskterm also
by relevance, as FTS5's bm25). Ten queries warm the caches first; then each of the 200 is timed
from the call to the last row in hand. Prints JSON: per query, its kind, milliseconds and hits.

Only the standard library is imported at the top: the notmuch run uses Debian's python3, whose
notmuch2 binding is built for it, and which has no deskterm.

    python engines.py deskterm|fts|notmuch|fts-build --work DIR --queries FILE [--sort newest|relevance]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

LIMIT = 20
NOW = "2026-11-20T12:00:00+00:00"


def deskterm(work: Path, newest: bool) -> Callable[[dict], int]:
    import datetime as dt

    from deskterm.cli import Session
    from deskterm.clock import Clock

    now = dt.datetime.fromisoformat(NOW)
    index = Session(home=str(work / "ws"), clock=Clock(now)).search_index()
    return lambda query: len(index.search(query["deskterm"], now, limit=LIMIT, newest_first=newest))


def fts_build(work: Path) -> None:
    """A contentful FTS5 table over the workspace's messages, in a database of its own."""
    target = work / "fts.db"
    target.unlink(missing_ok=True)
    conn = sqlite3.connect(target)
    conn.executescript(f"""
        PRAGMA journal_mode = WAL;
        ATTACH '{work / "ws" / "deskterm.db"}' AS ws;
        CREATE TABLE meta (id INTEGER PRIMARY KEY, sender TEXT, sent_at TEXT);
        CREATE INDEX meta_sent ON meta (sent_at);
        CREATE VIRTUAL TABLE fts USING fts5(subject, body, sender_name,
                                            tokenize = 'unicode61 remove_diacritics 2');
        BEGIN;
        INSERT INTO meta SELECT id, sender, sent_at FROM ws.messages;
        INSERT INTO fts (rowid, subject, body, sender_name) SELECT id, subject, body, sender_name FROM ws.messages;
        COMMIT;
        INSERT INTO fts (fts) VALUES ('optimize');
    """)
    conn.close()


def fts(work: Path, newest: bool) -> Callable[[dict], int]:
    conn = sqlite3.connect(work / "fts.db")
    order = "m.sent_at DESC" if newest else "bm25(fts, 2.0, 1.0, 1.0)"

    def run(query: dict) -> int:
        rows = conn.execute(
            "SELECT m.id, m.sent_at, snippet(fts, 1, '', '', ' … ', 12) FROM fts JOIN meta m ON m.id = fts.rowid"
            f" WHERE fts MATCH ? {query['sql']} ORDER BY {order} LIMIT {LIMIT}", (query["fts"],)).fetchall()
        return len(rows)
    return run


def notmuch(work: Path, newest: bool) -> Callable[[dict], int]:
    import notmuch2

    db = notmuch2.Database(str(work / "data" / "maildir"), mode=notmuch2.Database.MODE.READ_ONLY,
                           config=notmuch2.Database.CONFIG.EMPTY)
    sort = notmuch2.Database.SORT.NEWEST_FIRST if newest else notmuch2.Database.SORT.UNSORTED

    def run(query: dict) -> int:
        hits = []
        for message in db.messages(query["notmuch"], sort=sort, exclude_tags=[]):
            hits.append((message.messageid, message.date))
            if len(hits) == LIMIT:
                break
        return len(hits)
    return run


ENGINES = {"deskterm": deskterm, "fts": fts, "notmuch": notmuch}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("engine", choices=[*ENGINES, "fts-build"])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--queries", type=Path)
    parser.add_argument("--sort", choices=["newest", "relevance"], default="newest")
    args = parser.parse_args()
    if args.engine == "fts-build":
        fts_build(args.work)
        return
    queries = json.loads(args.queries.read_text())
    search = ENGINES[args.engine](args.work, args.sort == "newest")
    for query in queries[:10]:
        search(query)
    timings = []
    for query in queries:
        started = time.perf_counter()
        hits = search(query)
        timings.append({"kind": query["kind"], "ms": (time.perf_counter() - started) * 1000, "hits": hits})
    print(json.dumps(timings))


if __name__ == "__main__":
    main()
