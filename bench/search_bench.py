"""Search: deskterm's index (Whoosh) side by side with SQLite FTS5, on the same messages and queries.

Generates N realistic multilingual messages straight into a workspace store, builds deskterm's
index from it (`SearchIndex.rebuild`, the same code as `deskterm index rebuild`) and an FTS5
table over the same rows, then runs the same 200 mixed queries on both: 1-3 words, phrases,
field filters, broad words that match most messages, date filters; each sorted newest first
(deskterm's default, as notmuch's) and again by relevance.

    python bench/search_bench.py [--messages 100000] [--keep DIR]

Goals (2 cores): indexing >= 1,500 messages/s; p95 <= 50 ms at 100k and <= 150 ms at 1M.
"""

from __future__ import annotations

import argparse
import itertools
import datetime as dt
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from deskterm.clock import Clock
from deskterm.index import SearchIndex
from deskterm.store import Store

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)
WORDS = {
    "en": "order arrived broken damaged refund return where package tracking late never received item box "
          "thank you please help replacement wrong size color missing parts lid handle pan knife board".split(),
    "it": "ordine arrivato danneggiato rimborso reso dove pacco spedizione ritardo mai ricevuto prodotto scatola "
          "grazie aiuto sostituzione sbagliato misura colore mancante coperchio manico padella coltello".split(),
    "de": "Bestellung angekommen beschädigt Erstattung Rücksendung wo Paket Sendung spät nie erhalten Artikel "
          "Karton danke bitte Hilfe Ersatz falsch Größe Farbe fehlt Deckel Griff Pfanne Messer Brett".split(),
    "fr": "commande arrivé endommagé remboursement retour où colis suivi retard jamais reçu article carton "
          "merci aide remplacement mauvais taille couleur manquant couvercle poignée poêle couteau".split(),
    "es": "pedido llegó dañado reembolso devolución dónde paquete seguimiento tarde nunca recibido artículo caja "
          "gracias ayuda reemplazo equivocado talla color falta tapa mango sartén cuchillo tabla".split(),
}
FILLER = [f"w{n}" for n in range(20_000)]  # a long tail of rarer words...
FILLER_WEIGHTS = list(itertools.accumulate(1 / (rank + 1) ** 1.1 for rank in range(len(FILLER))))  # ...Zipf-shaped
CHANNELS = ["amazon", "amazon", "amazon", "shopify", "tiktok", "email"]


def generate(store: Store, count: int, rng: random.Random) -> None:
    """Tickets of 1-4 messages, bodies of 30-90 words in one language, over two years."""
    languages = list(WORDS)
    with store.write() as conn:
        message = 0
        ticket = 0
        while message < count:
            ticket += 1
            language = rng.choice(languages)
            channel = rng.choice(CHANNELS)
            order = f"{rng.randrange(100, 999)}-{rng.randrange(10**7):07d}-{rng.randrange(10**7):07d}"
            start = NOW - dt.timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
            conn.execute("INSERT INTO tickets (id, channel, order_id, subject, status, created_at, last_inbound_at)"
                         " VALUES (?, ?, ?, ?, 'open', ?, ?)", (ticket, channel, order, "x", start.isoformat(),
                                                                start.isoformat()))
            for turn in range(rng.randint(1, 4)):
                if message >= count:
                    break
                message += 1
                vocabulary = WORDS[language]
                length = rng.randint(30, 90)
                rare = rng.choices(FILLER, cum_weights=FILLER_WEIGHTS, k=length)
                body = " ".join(rng.choice(vocabulary) if rng.random() < 0.6 else rare[n] for n in range(length))
                subject = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(3, 7)))
                sent = (start + dt.timedelta(hours=turn * 5)).strftime("%Y-%m-%dT%H:%M:%SZ")
                conn.execute(
                    "INSERT INTO messages (id, message_id, ticket_id, channel, kind, direction, sender, sender_name,"
                    " recipients, subject, sent_at, body, order_id, source, content_hash)"
                    " VALUES (?, ?, ?, ?, 'message', ?, ?, ?, 'support@example.com', ?, ?, ?, ?, 'bench', ?)",
                    (message, f"<b{message}@bench>", ticket, channel, "outbound" if turn % 2 else "inbound",
                     f"buyer{ticket % 5000}@example.com", f"Buyer {ticket % 5000}", subject, sent,
                     f"{body} {order}", order, message.to_bytes(8, "big")))


def queries(rng: random.Random) -> list[tuple[str, str, str, str]]:
    """(kind, deskterm query, FTS5 MATCH, extra SQL condition) x 200, the same meaning on both sides."""
    found = []
    common = [w for words in WORDS.values() for w in words]
    for number in range(200):
        kind = ["words", "words", "phrase", "filter", "broad", "dated"][number % 6]
        if kind == "words":  # in one language, as a buyer's words are
            picked = rng.sample(WORDS[rng.choice(list(WORDS))], rng.randint(1, 3))
            picked += [rng.choice(FILLER)] if rng.random() < 0.5 else []
            found.append((kind, " ".join(picked), " ".join(f'"{w}"' for w in picked), ""))
        elif kind == "phrase":
            language = rng.choice(list(WORDS))
            pair = rng.sample(WORDS[language], 2)
            found.append((kind, f'"{pair[0]} {pair[1]}"', f'"{pair[0]} {pair[1]}"', ""))
        elif kind == "filter":
            word = rng.choice(common)
            channel = rng.choice(["shopify", "tiktok", "email"])
            found.append((kind, f"{word} channel:{channel}", f'"{word}"', f"AND m.channel = '{channel}'"))
        elif kind == "broad":
            word = rng.choice(["order", "ordine", "Bestellung", "commande", "pedido"])
            found.append((kind, word, f'"{word}"', ""))
        else:
            word = rng.choice(common)
            found.append((kind, f"{word} date:90d..", f'"{word}"',
                          f"AND m.sent_at >= '{(NOW - dt.timedelta(days=90)).strftime('%Y-%m-%dT%H:%M:%SZ')}'"))
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def fts_build(db: Path) -> float:
    conn = sqlite3.connect(db)
    started = time.perf_counter()
    conn.executescript(
        "DROP TABLE IF EXISTS bench_fts;"
        "CREATE VIRTUAL TABLE bench_fts USING fts5(subject, body, sender_name, content='messages', "
        "content_rowid='id', tokenize='unicode61 remove_diacritics 2');"
        "INSERT INTO bench_fts(bench_fts) VALUES ('rebuild');")
    conn.close()
    return time.perf_counter() - started


def fts_search(conn: sqlite3.Connection, match: str, condition: str, newest: bool) -> int:
    order = "m.sent_at DESC" if newest else "bm25(bench_fts, 2.0, 1.0, 1.0)"
    rows = conn.execute(
        f"SELECT m.id, snippet(bench_fts, 1, '**', '**', ' … ', 12) FROM bench_fts JOIN messages m "
        f"ON m.id = bench_fts.rowid WHERE bench_fts MATCH ? {condition} ORDER BY {order} LIMIT 20", (match,)).fetchall()
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--reuse-index", action="store_true", help="search the kept index; do not rebuild it")
    parser.add_argument("--sort", choices=["newest", "relevance", "both"], default="both")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="deskterm-search-"))
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(3)
    db = work / "deskterm.db"
    store = Store(db, Clock(NOW))
    if not store.scalar("SELECT count(*) FROM messages"):
        started = time.perf_counter()
        generate(store, args.messages, rng)
        print(f"generated {args.messages:,} messages in {time.perf_counter() - started:.1f} s")
    index = SearchIndex(work / "index", store)
    if not args.reuse_index:
        shutil.rmtree(work / "index", ignore_errors=True)
        started = time.perf_counter()
        index.rebuild()
        seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in (work / "index").rglob("*") if p.is_file())
        print(f"deskterm index: {args.messages / seconds:,.0f} messages/s ({seconds:.1f} s), {size / 1e6:.0f} MB")
        fts_seconds = fts_build(db)
        fts_size = sqlite3.connect(db).execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'bench_fts%'").fetchone()[0] or 0
        print(f"SQLite FTS5:    {args.messages / fts_seconds:,.0f} messages/s ({fts_seconds:.1f} s), "
              f"{fts_size / 1e6:.0f} MB")

    mixed = queries(random.Random(9))
    conn = sqlite3.connect(db)
    for order in ("newest", "relevance") if args.sort == "both" else (args.sort,):
        newest = order == "newest"
        for kind, text, match, condition in mixed[:10]:  # warm both
            index.search(text, NOW, limit=20, newest_first=newest)
            fts_search(conn, match, condition, newest)
        ours: dict[str, list[float]] = {}
        theirs: dict[str, list[float]] = {}
        for kind, text, match, condition in mixed:
            started = time.perf_counter()
            index.search(text, NOW, limit=20, newest_first=newest)
            ours.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            fts_search(conn, match, condition, newest)
            theirs.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
        print(f"\n--sort {order:<10} {'deskterm p50/p95 ms':>22} {'FTS5 p50/p95 ms':>18} {'p95 ratio':>10}")
        for kind in [*ours, "all"]:
            a = [v for vs in ours.values() for v in vs] if kind == "all" else ours[kind]
            b = [v for vs in theirs.values() for v in vs] if kind == "all" else theirs[kind]
            print(f"{kind:<17} {statistics.median(a):>10.1f} / {percentile(a, 0.95):>7.1f}   "
                  f"{statistics.median(b):>7.1f} / {percentile(b, 0.95):>6.1f}  "
                  f"{percentile(a, 0.95) / percentile(b, 0.95):>9.1f}x")

if __name__ == "__main__":
    main()
