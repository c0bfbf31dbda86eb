"""The archive-scale mail dataset: the same messages as an mbox (for `deskterm import`) and a Maildir
(for notmuch), plus a batch of newer mail for the IMAP sync, and the mixed query set on all three engines.

Conversations of 1-4 messages over two years, oldest first as an export is: Amazon's buyer-message
relay (half), shop customers writing from their own address, and the seller's replies threaded by
In-Reply-To. Bodies are in one of five languages with a Zipf-shaped tail of rarer words (from
search_bench, whose issue set the vocabulary); one message in 20 is HTML only and one inbound in 50
carries a photo. Everything comes from one seed, so a cached dataset is the same on every machine.

    python bench/dataset.py --messages 100000 --out DIR
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import random
from collections.abc import Iterator
from email.utils import format_datetime
from pathlib import Path

from search_bench import FILLER, FILLER_WEIGHTS, WORDS

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)
SELLER = "support@alpinekitchen.example"
LANGUAGES = list(WORDS)
PHOTO = base64.encodebytes(bytes(random.Random(0).randrange(256) for _ in range(3000))).decode()
NEW_MAIL = 20_000  # messages the IMAP sync brings into the archive


def buyers(count: int) -> list[tuple[str, str, bool]]:
    """(name, address, through Amazon's relay) for a pool of buyers that grows with the archive."""
    rng = random.Random(11)
    pool = []
    for n in range(max(100, count // 8)):
        relay = rng.random() < 0.5
        name = f"{rng.choice(['Anna', 'Ben', 'Chiara', 'Dieter', 'Élodie', 'Fer', 'Greta', 'Hugo'])} {n}"
        address = (f"{rng.randrange(16**12):012x}{n}@marketplace.amazon.com" if relay
                   else f"customer{n}@mail{n % 40}.example")
        pool.append((name, address, relay))
    return pool


def conversations(count: int, seed: int, start: dt.datetime, days: float) -> Iterator[tuple[str, bytes]]:
    """(file name, RFC 822 bytes) for `count` messages, oldest conversation first."""
    rng = random.Random(seed)
    pool = buyers(count)
    starts = sorted(rng.random() for _ in range(count // 2 + 1))
    message = 0
    for thread, share in enumerate(starts):
        if message >= count:
            return
        name, address, relay = rng.choice(pool)
        language = rng.choice(LANGUAGES)
        vocabulary = WORDS[language]
        order = f"{rng.randrange(111, 115)}-{rng.randrange(10**7):07d}-{rng.randrange(10**7):07d}"
        opened = start + dt.timedelta(days=days * share)
        topic = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(2, 5)))
        subject = (f"Inquiry from Amazon customer {name.split()[0]} (Order: {order})" if relay
                   else f"{topic} - order {order}")
        parent = None
        for turn in range(rng.randint(1, 4)):
            if message >= count:
                return
            inbound = turn % 2 == 0
            length = rng.randint(30, 90)
            rare = rng.choices(FILLER, cum_weights=FILLER_WEIGHTS, k=length)
            words = " ".join(rng.choice(vocabulary) if rng.random() < 0.6 else rare[n] for n in range(length))
            text = f"{topic}. {words}. {order}"
            if relay and inbound:
                text = (f"------------- Begin message -------------\n\n{text}\n\n"
                        "------------- End message -------------\n")
            message_id = f"<c{seed}.{thread}.{turn}@bench.example>"
            people = (f'From: "{name}{" - Amazon Marketplace" if relay else ""}" <{address}>\nTo: {SELLER}\n'
                      if inbound else f"From: Alpine Kitchen <{SELLER}>\nTo: {address}\n")
            head = (f"{people}Subject: {'' if inbound or turn == 0 else 'Re: '}{subject}\nMessage-ID: {message_id}\n"
                    f"Date: {format_datetime(opened + dt.timedelta(hours=5 * turn, minutes=rng.randrange(60)))}\n"
                    + (f"In-Reply-To: {parent}\n" if parent else "") + "MIME-Version: 1.0\n")
            if inbound and rng.random() < 0.02:
                body = ('Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain; charset=utf-8\n'
                        f"Content-Transfer-Encoding: 8bit\n\n{text}\n--b\nContent-Type: image/jpeg\n"
                        f'Content-Disposition: attachment; filename="photo{message}.jpg"\n'
                        f"Content-Transfer-Encoding: base64\n\n{PHOTO}--b--\n")
            elif rng.random() < 0.05:
                paragraphs = "".join(f"<p>{line}</p>" for line in text.split("\n") if line)
                body = ("Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
                        f"<html><body>{paragraphs}</body></html>\n")
            else:
                body = f"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{text}\n"
            parent = message_id
            message += 1
            yield f"{seed}.{message:07d}.bench:2,S", (head + body).encode()


def write(out: Path, count: int) -> None:
    """The archive (mbox and Maildir), the newer mail for IMAP, and meta.json last: its presence means done."""
    (out / "maildir").mkdir(parents=True, exist_ok=True)
    for sub in ("cur", "new", "tmp"):
        (out / "maildir" / sub).mkdir(exist_ok=True)
    two_years = 730.0
    first = NOW - dt.timedelta(days=two_years + 1)
    with open(out / "archive.mbox", "wb") as mbox:
        for name, raw in conversations(count, 1, first, two_years):
            mbox.write(b"From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n" + _escape_from(raw) + b"\n")
            fd = os.open(out / "maildir" / "cur" / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(fd, raw)
            os.close(fd)
    with open(out / "newmail.jsonl", "w") as newer:  # the last day's mail, for the IMAP sync
        for _name, raw in conversations(NEW_MAIL, 2, NOW - dt.timedelta(days=1), 0.9):
            newer.write(json.dumps(raw.decode()) + "\n")
    (out / "meta.json").write_text(json.dumps({"messages": count, "now": NOW.isoformat()}))


def _escape_from(raw: bytes) -> bytes:
    return raw.replace(b"\nFrom ", b"\n>From ")


def queries(count: int) -> list[dict[str, str]]:
    """200 mixed queries, each written for deskterm, SQLite FTS5 (MATCH plus an SQL condition) and notmuch.

    words (1-3 words of one language, half with a rarer word), phrases, a subject filter, a sender
    filter, broad words found in a fifth of the archive, and words within the last 90 days.
    """
    rng = random.Random(9)
    pool = buyers(count)
    since = (NOW - dt.timedelta(days=90)).date().isoformat()
    found = []
    for number in range(200):
        kind = ["words", "words", "phrase", "subject", "sender", "broad", "dated"][number % 7]
        vocabulary = WORDS[rng.choice(LANGUAGES)]
        if kind == "words":
            picked = rng.sample(vocabulary, rng.randint(1, 3)) + ([rng.choice(FILLER[:2000])] if rng.random() < 0.5
                                                                  else [])
            found.append({"kind": kind, "deskterm": " ".join(picked), "fts": " ".join(f'"{w}"' for w in picked),
                          "sql": "", "notmuch": " and ".join(picked)})
        elif kind == "phrase":
            a, b = rng.sample(vocabulary, 2)
            found.append({"kind": kind, "deskterm": f'"{a} {b}"', "fts": f'"{a} {b}"', "sql": "",
                          "notmuch": f'"{a} {b}"'})
        elif kind == "subject":
            a, b = rng.sample(vocabulary, 2)
            found.append({"kind": kind, "deskterm": f"subject:{a} {b}", "fts": f'subject:"{a}" "{b}"', "sql": "",
                          "notmuch": f"subject:{a} and {b}"})
        elif kind == "sender":
            address = rng.choice(pool)[1]
            word = rng.choice(vocabulary)
            found.append({"kind": kind, "deskterm": f"from:{address} {word}", "fts": f'"{word}"',
                          "sql": f"AND m.sender = '{address}'", "notmuch": f"from:{address} and {word}"})
        elif kind == "broad":
            word = rng.choice(["order", "ordine", "Bestellung", "commande", "pedido"])
            found.append({"kind": kind, "deskterm": word, "fts": f'"{word}"', "sql": "", "notmuch": word})
        else:
            word = rng.choice(vocabulary)
            found.append({"kind": kind, "deskterm": f"{word} date:{since}..", "fts": f'"{word}"',
                          "sql": f"AND m.sent_at >= '{since}'", "notmuch": f"{word} and date:{since}.."})
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    write(args.out, args.messages)


if __name__ == "__main__":
    main()
